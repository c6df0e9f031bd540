//! The `wiredup` binary: a thin layer over the library. Parses flags (see `cli`), reads inputs,
//! runs the pipeline, writes output, and prints a summary on standard error.
//!
//! Exit codes: 0 success; 1 error (unreadable input, malformed record without --skip-bad,
//! unwritable output); 2 usage error (bad flags).

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use cli::{Cli, Command, DetectArgs};
use wiredup::io::{self, Corpus, ReadOptions};
use wiredup::output::{self, AtomicFile};
use wiredup::pipeline::{self, Config, Outcome};

/// Exit status of a run that completed but skipped records under `--strict`.
const EXIT_STRICT: i32 = 3;

fn main() {
    let cli = Cli::parse();
    match run(cli) {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wiredup: error: {}", error_chain(&e));
            std::process::exit(1);
        }
    }
}

/// The exit status for a completed run: `EXIT_STRICT` when `--strict` and records were skipped.
fn strict_status(strict: bool, corpus: &Corpus) -> i32 {
    if strict && !corpus.skipped.is_empty() {
        eprintln!(
            "wiredup: --strict: {} malformed record(s) were skipped; exiting with status {EXIT_STRICT}",
            corpus.skipped.len()
        );
        EXIT_STRICT
    } else {
        0
    }
}

/// The error and its causes, `outer: inner`, skipping a cause whose text the message before it
/// already ends with (library errors that quote their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if out.ends_with(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Cluster {
            input,
            detect,
            format,
            output,
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            let mut corpus = read(&input.inputs, &input.read.to_options(false))?;
            let out = detect_all(&mut corpus, &cfg, detect.quiet, true);
            match output {
                Some(path) => {
                    let mut f = AtomicFile::create(&path)
                        .with_context(|| format!("{}: cannot create", path.display()))?;
                    output::write_clusters(f.writer(), &corpus.docs, &out, format.into())
                        .with_context(|| format!("{}: write failed", path.display()))?;
                    f.commit()
                        .with_context(|| format!("{}: write failed", path.display()))?;
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    output::write_clusters(&mut w, &corpus.docs, &out, format.into())
                        .context("writing to standard output")?;
                    w.flush().context("writing to standard output")?;
                }
            }
            if !detect.quiet {
                summary(&corpus, &out, started.elapsed(), None);
            }
            return Ok(strict_status(input.read.strict, &corpus));
        }
        Command::Dedup {
            input,
            detect,
            output,
            annotate,
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            let ropts = input.read.to_options(true);
            let mut corpus = read(&input.inputs, &ropts)?;
            // Texts of JSONL records are not needed again (records are written verbatim);
            // those of .txt/.html documents are.
            let free = corpus.docs.iter().all(|d| d.record.is_some());
            let out = detect_all(&mut corpus, &cfg, detect.quiet, free);
            let counts = if output.as_os_str() == "-" {
                let stdout = std::io::stdout();
                let mut w = std::io::BufWriter::new(stdout.lock());
                let c = output::write_dedup(
                    &mut w,
                    &corpus.docs,
                    &out,
                    annotate,
                    &ropts.id_field,
                    &ropts.text_field,
                )
                .context("writing to standard output")?;
                w.flush().context("writing to standard output")?;
                c
            } else {
                let mut f = AtomicFile::create(&output)
                    .with_context(|| format!("{}: cannot create", output.display()))?;
                let c = output::write_dedup(
                    f.writer(),
                    &corpus.docs,
                    &out,
                    annotate,
                    &ropts.id_field,
                    &ropts.text_field,
                )
                .with_context(|| format!("{}: write failed", output.display()))?;
                f.commit()
                    .with_context(|| format!("{}: write failed", output.display()))?;
                c
            };
            if !detect.quiet {
                summary(
                    &corpus,
                    &out,
                    started.elapsed(),
                    Some((counts.kept, counts.duplicates, annotate)),
                );
            }
            return Ok(strict_status(input.read.strict, &corpus));
        }
        Command::Compare {
            a,
            b,
            inputs,
            json,
            read: rargs,
            detect,
        } => {
            let cfg = setup(&detect)?;
            let ropts = rargs.to_options(false);
            let (corpus, ia, ib) = if inputs.is_empty() {
                let one = |p: &str| -> Result<io::Document> {
                    let c = read(std::slice::from_ref(&p.to_string()), &ropts)?;
                    match c.docs.len() {
                        1 => Ok(c.docs.into_iter().next().context("unreachable: one document")?),
                        n => bail!("{p}: expected one document, found {n} (use --input FILE to compare by id)"),
                    }
                };
                let (da, db) = (one(&a)?, one(&b)?);
                (
                    Corpus {
                        docs: vec![da, db],
                        ..Corpus::default()
                    },
                    0,
                    1,
                )
            } else {
                let corpus = read(&inputs, &ropts)?;
                let find = |id: &str| {
                    corpus
                        .docs
                        .iter()
                        .position(|d| d.id == id)
                        .with_context(|| format!("no document with id {id:?} in the inputs"))
                };
                let (ia, ib) = (find(&a)?, find(&b)?);
                (corpus, ia, ib)
            };
            let out = pipeline::run(&corpus.docs, &cfg);
            let c = wiredup::compare::compare(
                &out.prepared[ia],
                &out.prepared[ib],
                &corpus.docs[ia].text,
                &corpus.docs[ib].text,
                &cfg,
            );
            print_comparison(&a, &b, &c, json)?;
        }
        Command::Eval { pred, labels, json } => {
            let p = wiredup::eval::read_assignments(&pred)?;
            let l = wiredup::eval::read_assignments(&labels)?;
            let s = wiredup::eval::score(&p, &l);
            if json {
                println!("{}", serde_json::to_string(&s)?);
            } else {
                println!("{s}");
            }
        }
    }
    Ok(0)
}

/// Validates flags, sets the thread count and builds the library configuration.
fn setup(detect: &DetectArgs) -> Result<Config> {
    let cfg = detect.to_config().unwrap_or_else(|e| e.exit());
    if let Some(n) = detect.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    Ok(cfg)
}

fn read(inputs: &[String], opts: &ReadOptions) -> Result<Corpus> {
    Ok(io::read_inputs(inputs, opts)?)
}

/// Runs the pipeline, with a spinner naming the stage when standard error is a terminal.
/// With `free_texts`, document texts are released once normalized (they are the largest part
/// of memory and no output needs them).
fn detect_all(corpus: &mut Corpus, cfg: &Config, quiet: bool, free_texts: bool) -> Outcome {
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let n = corpus.docs.len();
    let on_stage = |stage: &str| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{stage} ({n} documents)"));
        }
    };
    on_stage("normalize");
    let started = Instant::now();
    let texts: Vec<&str> = corpus.docs.iter().map(|d| d.text.as_str()).collect();
    let prepared = pipeline::normalize_all(&texts, cfg);
    drop(texts);
    if free_texts {
        for d in &mut corpus.docs {
            d.text = String::new();
        }
    }
    let out = pipeline::run_prepared(&corpus.docs, prepared, started.elapsed(), cfg, &on_stage);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    out
}

fn summary(corpus: &Corpus, out: &Outcome, elapsed: Duration, dedup: Option<(usize, usize, bool)>) {
    let s = &out.stats;
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mb = corpus.bytes_read as f64 / 1e6;
    let mut e = std::io::stderr().lock();
    let _ = writeln!(
        e,
        "wiredup: read {} records ({:.1} MB) = {} documents + {} malformed records skipped; {} documents = {} kept (representatives and singletons) + {} duplicates",
        s.documents + corpus.skipped.len(),
        mb,
        s.documents,
        corpus.skipped.len(),
        s.documents,
        s.documents - s.duplicates,
        s.duplicates,
    );
    for sk in corpus.skipped.iter().take(20) {
        let _ = writeln!(
            e,
            "  skipped {}:{}: {}",
            sk.origin.file, sk.origin.line, sk.reason
        );
    }
    if corpus.skipped.len() > 20 {
        let _ = writeln!(e, "  ... and {} more", corpus.skipped.len() - 20);
    }
    let _ = writeln!(
        e,
        "wiredup: {} documents -> {} clusters of copies holding {} duplicates; {} singletons ({} empty, {} all boilerplate)",
        s.documents,
        s.clusters,
        s.duplicates,
        s.documents - s.clusters - s.duplicates,
        s.empty,
        s.all_boilerplate,
    );
    let _ = writeln!(
        e,
        "wiredup: {} boilerplate paragraphs learned; {} bands; {} candidate pairs ({} from LSH, {} from shared paragraphs), {} verified",
        s.boilerplate_paragraphs,
        s.bands,
        s.verify.candidates,
        s.lsh_candidates,
        s.paragraph_candidates,
        s.verify.accepted
    );
    if let Some((kept, dups, annotate)) = dedup {
        if annotate {
            let _ = writeln!(
                e,
                "wiredup: wrote {} records, {} annotated as duplicates",
                kept + dups,
                dups
            );
        } else {
            let _ = writeln!(e, "wiredup: kept {kept} records, dropped {dups} duplicates");
        }
    }
    // Reading is what the run took beyond the pipeline stages (and output).
    let staged: f64 = s.timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let stages: Vec<String> =
        std::iter::once(format!("read+write {:.2}s", (secs - staged).max(0.0)))
            .chain(
                s.timings
                    .iter()
                    .map(|(n, d)| format!("{n} {:.2}s", d.as_secs_f64())),
            )
            .collect();
    let _ = writeln!(
        e,
        "wiredup: {:.2}s, {:.0} documents/s, {:.1} MB/s ({})",
        secs,
        s.documents as f64 / secs,
        mb / secs,
        stages.join(", ")
    );
}

fn print_comparison(a: &str, b: &str, c: &wiredup::compare::Comparison, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(c)?);
        return Ok(());
    }
    let name = |s: &str| {
        Path::new(s)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| s.to_string())
    };
    let (na, nb) = (name(a), name(b));
    println!("A: {a}\nB: {b}");
    println!("verdict:         {}", c.verdict);
    println!(
        "similarity:      {:.4}  (shared share of the longer story text)",
        c.similarity
    );
    println!("jaccard:         {:.4}", c.jaccard);
    println!(
        "A inside B:      {:.4}  ({} shingles in A)",
        c.containment_a_in_b, c.shingles_a
    );
    println!(
        "B inside A:      {:.4}  ({} shingles in B)",
        c.containment_b_in_a, c.shingles_b
    );
    for (label, paras) in [
        (format!("only in A ({na})"), &c.only_in_a),
        (format!("only in B ({nb})"), &c.only_in_b),
    ] {
        println!("\n{label}: {} paragraph(s)", paras.len());
        for p in paras {
            let short: String = p.chars().take(160).collect();
            let more = if p.chars().count() > 160 { "..." } else { "" };
            println!("  - {short}{more}");
        }
    }
    Ok(())
}
