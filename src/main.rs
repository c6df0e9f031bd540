//! The `wiredup` binary: a thin layer over the library. Parses flags (see `cli`), reads inputs,
//! runs the pipeline, writes output, and prints a summary on standard error.
//!
//! Exit codes: 0 success; 1 error (unreadable input, malformed record without --skip-bad,
//! unwritable output); 2 usage error (bad flags); 3 the run completed but skipped bad records
//! under `--skip-bad --strict`.

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use cli::{Cli, ClusterOutArgs, Command, DetectArgs, IndexCommand, IndexOptionArgs, StreamArgs};
use wiredup::index::{Index, IndexError};
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

/// The binary's allocator: mimalloc, which asks the kernel for transparent huge pages (2 MiB)
/// for its heap memory where the system allows it (`madvise` mode, the common default).
///
/// A 100k-document run allocates about 300 MiB, in many blocks of a few kilobytes (each
/// document's paragraph hashes and shingles), and with glibc's malloc every 4 KiB page of it
/// was a page fault: 80,000 faults, the largest single item of the kernel's fifth of the
/// profile. On huge pages the same run takes 500-3,900 faults; its system time fell by about
/// half in four batches of nine and rose in the busiest ones, where a 2 MiB fault cost the
/// virtual machine more, and its wall time fell in seven of them (BENCHMARKS.md, "huge
/// pages"). Only the binary chooses: the library allocates through whatever global allocator
/// its user sets. Without the default feature `mimalloc`, the binary uses the system's
/// allocator, untuned (`MIMALLOC_ALLOW_THP=0` in the environment keeps mimalloc but turns the
/// huge pages off, for small jobs where their 2 MiB steps of memory matter).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `write` on a file at `path`, written atomically (a temporary file renamed when
/// complete), or for `None` or `-` on standard output; `write` adds its own error context.
fn write_output<T>(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    match stdout_dash(path) {
        Some(path) => {
            let mut f = AtomicFile::create(path)
                .with_context(|| format!("{}: cannot create", path.display()))?;
            let t = write(f.writer())?;
            f.commit()
                .with_context(|| format!("{}: write failed", path.display()))?;
            Ok(t)
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let t = write(&mut w)?;
            w.flush().context("writing to standard output")?;
            Ok(t)
        }
    }
}

/// `path`, or `None` (standard output) for `-`, as every `-o` takes it.
fn stdout_dash(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| p.as_os_str() != "-")
}

/// The name of an output in messages: the path, or "standard output".
fn output_name(path: Option<&Path>) -> String {
    stdout_dash(path).map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    )
}

/// Writes `cluster`'s output to `path` (atomically) or to standard output.
fn write_cluster_output<D: output::DocIds + Sync + ?Sized>(
    path: Option<&Path>,
    docs: &D,
    out: &Outcome,
    format: output::Format,
) -> Result<()> {
    let name = output_name(path);
    write_output(path, |mut w| {
        output::write_clusters(&mut w, docs, out, format)
            .with_context(|| format!("{name}: write failed"))
    })
}

/// Lets the process exit without freeing `data` piece by piece: the corpus and the outcome are
/// hundreds of thousands of allocations, and releasing them one by one took about 5% of a
/// 100k-document run, for memory the operating system reclaims at exit anyway. Only for plain
/// memory (no files, locks or buffered output inside), and only on the way out of `main`.
fn exit_without_freeing<T>(data: T) {
    std::mem::forget(data);
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
            out: ClusterOutArgs { format, output },
            spill,
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            let ropts = input.read.to_options(false);
            if let Some(spill) = spill.to_config() {
                let run = run_spilled(&input.inputs, &ropts, &cfg, &spill, detect.quiet)?;
                write_cluster_output(output.as_deref(), &run.ids, &run.outcome, format.into())?;
                if !detect.quiet {
                    summary(&run.corpus, &run.outcome, started.elapsed(), None);
                }
                let status = strict_status(input.read.strict, &run.corpus);
                exit_without_freeing(run);
                return Ok(status);
            }
            // No output of `cluster` needs the texts.
            let (corpus, out) =
                read_and_detect(&input.inputs, &ropts, &cfg, detect.quiet, |_| true)?;
            write_cluster_output(output.as_deref(), &corpus.docs, &out, format.into())?;
            if !detect.quiet {
                summary(&corpus, &out, started.elapsed(), None);
            }
            let status = strict_status(input.read.strict, &corpus);
            exit_without_freeing((corpus, out));
            return Ok(status);
        }
        Command::Sketch {
            input,
            shingles,
            output,
            threads,
            quiet,
        } => {
            set_threads(threads)?;
            let (shingle, k) = shingles.options();
            let cfg = pipeline::Options {
                shingle,
                k,
                ..pipeline::Options::default()
            }
            .to_config()
            .map_err(anyhow::Error::msg)?;
            let started = Instant::now();
            let ropts = input.read.to_options(false);
            let prep = pipeline::Preparer {
                cfg: &cfg,
                free_text: |_| true,
            };
            let (corpus, prepared) = io::read_inputs_with(&input.inputs, &ropts, &prep)?;
            wiredup::shard::write(&output, &cfg.shingle, &corpus.docs, &prepared)?;
            if !quiet {
                eprintln!(
                    "wiredup: read {} records ({:.1} MB) = {} documents + {} malformed records skipped; wrote {} in {:.2}s",
                    corpus.docs.len() + corpus.skipped.len(),
                    corpus.bytes_read as f64 / 1e6,
                    corpus.docs.len(),
                    corpus.skipped.len(),
                    output.display(),
                    started.elapsed().as_secs_f64()
                );
                report_skipped(&corpus.skipped);
            }
            let status = strict_status(input.read.strict, &corpus);
            exit_without_freeing((corpus, prepared));
            return Ok(status);
        }
        Command::ClusterShards {
            shards,
            detect,
            out: ClusterOutArgs { format, output },
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            let read = wiredup::shard::read_all(&shards, &cfg.shingle)?;
            let read_time = started.elapsed();
            let cfg = Config {
                sort_all_sets: false,
                ..cfg
            };
            let mut out = pipeline::run_prepared(&read.docs, read.prepared, None, &cfg, &|_| {});
            out.stats
                .timings
                .insert(0, ("read shards".to_string(), read_time));
            // The summary's MB and MB/s are of the shard files read.
            let bytes_read = shards
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
            let corpus = Corpus {
                docs: read.docs,
                bytes_read,
                ..Corpus::default()
            };
            write_cluster_output(output.as_deref(), &corpus.docs, &out, format.into())?;
            if !detect.quiet {
                summary(&corpus, &out, started.elapsed(), None);
            }
            exit_without_freeing((corpus, out));
            return Ok(0);
        }
        Command::Dedup {
            input,
            detect,
            output,
            annotate,
            spill,
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            if let Some(spill) = spill.to_config() {
                return dedup_spilled(&input, &detect, &cfg, &spill, &output, annotate, started);
            }
            let ropts = input.read.to_options(true);
            // Texts of JSONL records are not needed again (records are written verbatim);
            // those of .txt/.html documents are.
            let (corpus, out) = read_and_detect(&input.inputs, &ropts, &cfg, detect.quiet, |d| {
                d.record.is_some()
            })?;
            let path = stdout_dash(Some(output.as_path()));
            let name = output_name(path);
            let counts = write_output(path, |mut w| {
                output::write_dedup(
                    &mut w,
                    &corpus.docs,
                    &out,
                    annotate,
                    &ropts.id_field,
                    &ropts.text_field,
                )
                .with_context(|| format!("{name}: write failed"))
            })?;
            if !detect.quiet {
                summary(
                    &corpus,
                    &out,
                    started.elapsed(),
                    Some((counts.kept, counts.duplicates, annotate)),
                );
            }
            let status = strict_status(input.read.strict, &corpus);
            exit_without_freeing((corpus, out));
            return Ok(status);
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
        Command::Index { command } => return index_command(command),
        Command::Stream(args) => return stream_command(&args),
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

/// Sets the thread count for the index commands.
fn set_threads(threads: Option<u32>) -> Result<()> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .context("cannot start the thread pool")?;
    }
    Ok(())
}

/// Exit status when the flags ask for options other than the index's.
const EXIT_USAGE: i32 = 2;

/// Opens an index and checks the flags given against its options. `Ok(None)`: refused (the
/// message is printed).
fn open_checked(path: &Path, opts: &IndexOptionArgs) -> Result<Option<Index>> {
    let index = match Index::open(path) {
        Ok(i) => i,
        Err(IndexError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "{}: no such index (create it with `wiredup index build INPUT... -o {}`)",
                path.display(),
                path.display()
            )
        }
        Err(e) => return Err(e.into()),
    };
    let requested = opts.apply(index.config()).unwrap_or_else(|e| e.exit());
    if let Err(e) = index.check_config(&requested) {
        eprintln!("wiredup: error: {}: {e}", path.display());
        return Ok(None);
    }
    Ok(Some(index))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn fmt_time(t: Option<i64>) -> String {
    match t {
        None => "-".into(),
        Some(t) => {
            // Civil from days (Howard Hinnant's algorithm).
            let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
            let z = days + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = doy - (153 * mp + 2) / 5 + 1;
            let m = if mp < 10 { mp + 3 } else { mp - 9 };
            let y = yoe + era * 400 + i64::from(m <= 2);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            )
        }
    }
}

#[derive(serde::Serialize)]
struct MatchOut<'a> {
    id: &'a str,
    similarity: f64,
    jaccard: f64,
    containment_query_in_match: f64,
    containment_match_in_query: f64,
}

#[derive(serde::Serialize)]
struct QueryOut<'a> {
    id: &'a str,
    matches: Vec<MatchOut<'a>>,
}

fn write_query_results<W: Write + ?Sized>(
    w: &mut W,
    results: &[wiredup::index::QueryResult],
    top: Option<usize>,
) -> std::io::Result<()> {
    for r in results {
        let rec = QueryOut {
            id: &r.id,
            matches: r
                .matches
                .iter()
                .take(top.unwrap_or(usize::MAX))
                .map(|m| MatchOut {
                    id: &m.id,
                    similarity: output::round4(m.similarity),
                    jaccard: output::round4(m.jaccard),
                    containment_query_in_match: output::round4(m.containment_query_in_match),
                    containment_match_in_query: output::round4(m.containment_match_in_query),
                })
                .collect(),
        };
        serde_json::to_writer(&mut *w, &rec).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads the inputs of an index command and removes documents whose id is already in the
/// index: skipped (reported) with --skip-bad, else an error.
fn read_new(index: &Index, input: &cli::InputArgs) -> Result<Corpus> {
    let mut corpus = read(&input.inputs, &input.read.to_options(false))?;
    let mut docs = Vec::with_capacity(corpus.docs.len());
    for d in std::mem::take(&mut corpus.docs) {
        if index.contains(&d.id) {
            let reason = format!("duplicate id {:?} (already in the index)", d.id);
            if !input.read.skip_bad {
                bail!("{}: {reason}", d.origin);
            }
            corpus.skipped.push(io::Skipped {
                origin: d.origin.clone(),
                reason,
            });
        } else {
            docs.push(d);
        }
    }
    corpus.docs = docs;
    Ok(corpus)
}

/// Lists the first 20 skipped records on standard error, and how many more there were.
fn report_skipped(skipped: &[io::Skipped]) {
    let mut e = std::io::stderr().lock();
    for sk in skipped.iter().take(20) {
        let _ = writeln!(e, "  skipped {sk}");
    }
    if skipped.len() > 20 {
        let _ = writeln!(e, "  ... and {} more", skipped.len() - 20);
    }
}

fn index_command(command: IndexCommand) -> Result<i32> {
    match command {
        IndexCommand::Build {
            input,
            detect,
            output,
        } => {
            let cfg = setup(&detect)?;
            let started = Instant::now();
            let corpus = read(&input.inputs, &input.read.to_options(false))?;
            let mut index = Index::build(&corpus.docs, &cfg)?;
            let built = started.elapsed();
            index.save(&output)?;
            if !detect.quiet {
                let s = index.stats();
                eprintln!(
                    "wiredup: indexed {} documents ({} copies of earlier stories, {} without story text, {} boilerplate paragraphs, {} malformed records skipped) into {} ({:.1} MiB) in {:.2}s (build {:.2}s)",
                    s.documents,
                    s.duplicates,
                    s.empty,
                    s.boilerplate_paragraphs,
                    corpus.skipped.len(),
                    output.display(),
                    mib(file_size(&output)),
                    started.elapsed().as_secs_f64(),
                    built.as_secs_f64(),
                );
                report_skipped(&corpus.skipped);
            }
            Ok(strict_status(input.read.strict, &corpus))
        }
        IndexCommand::Add {
            index: path,
            input,
            opts,
        } => {
            set_threads(opts.threads)?;
            let started = Instant::now();
            let Some(mut index) = open_checked(&path, &opts)? else {
                return Ok(EXIT_USAGE);
            };
            let corpus = read_new(&index, &input)?;
            let decisions = index.add(&corpus.docs)?;
            index.save(&path)?;
            if !opts.quiet {
                let dups = decisions.iter().filter(|d| d.dup_of.is_some()).count();
                eprintln!(
                    "wiredup: added {} documents ({} copies of indexed stories, {} malformed records skipped); {} now holds {} documents ({:.1} MiB); {:.2}s",
                    corpus.docs.len(),
                    dups,
                    corpus.skipped.len(),
                    path.display(),
                    index.len(),
                    mib(file_size(&path)),
                    started.elapsed().as_secs_f64(),
                );
                report_skipped(&corpus.skipped);
            }
            Ok(strict_status(input.read.strict, &corpus))
        }
        IndexCommand::Prune {
            index: path,
            before,
            quiet,
        } => {
            let mut index = Index::open(&path)?;
            let dropped = index.prune_before(before);
            if dropped > 0 {
                index.save(&path)?;
            }
            if !quiet {
                eprintln!(
                    "wiredup: pruned {dropped} documents published before {}; {} remain",
                    fmt_time(Some(before)),
                    index.len()
                );
            }
            Ok(0)
        }
        IndexCommand::Stats { index: path, json } => {
            let opened = Instant::now();
            let index = Index::open(&path)?;
            let open_time = opened.elapsed();
            let s = index.stats();
            let size = file_size(&path);
            let cfg = index.config();
            if json {
                let v = serde_json::json!({
                    "path": path.display().to_string(),
                    "format_version": index.file_version(),
                    "file_bytes": size,
                    "stats": s,
                    "options": cfg,
                });
                println!("{v}");
            } else {
                let p = cfg.lsh_params();
                println!(
                    "index:        {} (format {}, {:.1} MiB, {:.0} bytes per document, opened in {:.2}s)",
                    path.display(),
                    index.file_version(),
                    mib(size),
                    size as f64 / s.documents.max(1) as f64,
                    open_time.as_secs_f64()
                );
                println!(
                    "documents:    {} ({} copies of earlier documents, {} without story text)",
                    s.documents, s.duplicates, s.empty
                );
                println!(
                    "published:    {} to {}",
                    fmt_time(s.oldest),
                    fmt_time(s.newest)
                );
                println!(
                    "word hash:    {}",
                    match cfg.shingle.hash {
                        wiredup::shingle::ShingleHash::Xxh3 =>
                            "xxh3 (as in indexes of format 1 and 2)",
                        wiredup::shingle::ShingleHash::Fold =>
                            "fold, windows mixed in 64 bits (as in indexes written before fold32)",
                        wiredup::shingle::ShingleHash::Fold32 => "fold32",
                    }
                );
                println!("sources:      {}", s.sources);
                println!("boilerplate:  {} paragraphs", s.boilerplate_paragraphs);
                println!(
                    "stored:       {} paragraphs, {} shingles, {} band entries, {} postings",
                    s.paragraphs, s.shingles, s.band_entries, s.postings
                );
                println!(
                    "memory:       about {:.1} MiB when open",
                    mib(s.memory_bytes as u64)
                );
                println!(
                    "options:      --shingle {} -k {} --num-perm {} --seed {} --sketch {} --bands {} (rows {:?}) --threshold {} --containment {} --boilerplate-per-source {} --boilerplate-docs {}",
                    match cfg.shingle.kind { wiredup::shingle::ShingleKind::Words => "words", wiredup::shingle::ShingleKind::Chars => "chars" },
                    cfg.shingle.k,
                    cfg.minhash.num_perm,
                    cfg.minhash.seed,
                    format!("{:?}", cfg.minhash.scheme).to_lowercase(),
                    p.bands(),
                    p.rows,
                    cfg.verify.threshold,
                    cfg.verify.containment,
                    cfg.boilerplate.min_source_docs,
                    cfg.boilerplate.min_corpus_docs.map_or("auto".to_string(), |n| n.to_string()),
                );
            }
            Ok(0)
        }
        IndexCommand::Query {
            index: path,
            input,
            opts,
            top,
            latency,
            output,
        } => {
            set_threads(opts.threads)?;
            let started = Instant::now();
            let Some(index) = open_checked(&path, &opts)? else {
                return Ok(EXIT_USAGE);
            };
            let open_time = started.elapsed();
            let corpus = read(&input.inputs, &input.read.to_options(false))?;
            let queried = Instant::now();
            let results = if latency {
                let (results, mut times) = one_at_a_time(&index, &corpus.docs);
                times.sort_unstable();
                let pct = |p: f64| {
                    let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len().max(1));
                    times.get(i - 1).map_or(0.0, |d| d.as_secs_f64() * 1e3)
                };
                eprintln!(
                    "wiredup: per-document query latency over {} documents, one at a time: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                    times.len(),
                    pct(0.5),
                    pct(0.9),
                    pct(0.99),
                    pct(1.0)
                );
                results
            } else {
                index.query(&corpus.docs)
            };
            let query_time = queried.elapsed();
            let name = output_name(output.as_deref());
            write_output(output.as_deref(), |w| {
                write_query_results(w, &results, top)
                    .with_context(|| format!("{name}: write failed"))
            })?;
            if !opts.quiet {
                let with = results.iter().filter(|r| !r.matches.is_empty()).count();
                eprintln!(
                    "wiredup: {} documents queried against {} indexed, {} with matches ({} malformed records skipped); open {:.2}s, query {:.2}s ({:.0} documents/s)",
                    results.len(),
                    index.len(),
                    with,
                    corpus.skipped.len(),
                    open_time.as_secs_f64(),
                    query_time.as_secs_f64(),
                    results.len() as f64 / query_time.as_secs_f64().max(1e-9),
                );
                report_skipped(&corpus.skipped);
            }
            Ok(strict_status(input.read.strict, &corpus))
        }
    }
}

/// Queries documents one after the other (normalization included), timing each.
fn one_at_a_time(
    index: &Index,
    docs: &[io::Document],
) -> (Vec<wiredup::index::QueryResult>, Vec<Duration>) {
    // On a pool thread, so that one-document parallel steps run in place.
    rayon::scope(|_| {
        let mut results = Vec::with_capacity(docs.len());
        let mut times = Vec::with_capacity(docs.len());
        for d in docs {
            let t = Instant::now();
            let p = index
                .prepare(&[d.text.as_str()])
                .into_iter()
                .next()
                .unwrap_or_default();
            let matches = index.query_prepared(p, None);
            times.push(t.elapsed());
            results.push(wiredup::index::QueryResult {
                id: d.id.clone(),
                matches,
            });
        }
        (results, times)
    })
}

fn stream_command(args: &StreamArgs) -> Result<i32> {
    set_threads(args.opts.threads)?;
    let started = Instant::now();
    let path = &args.index;
    let mut index = if path.exists() {
        match open_checked(path, &args.opts)? {
            Some(i) => i,
            None => return Ok(EXIT_USAGE),
        }
    } else {
        let cfg = args
            .opts
            .apply(&Config::default())
            .unwrap_or_else(|e| e.exit());
        let mut index = Index::new(&cfg)?;
        index.save(path)?;
        index
    };
    let open_time = started.elapsed();
    let opts = wiredup::stream::StreamOptions {
        read: args.read.to_options(true),
        window: args.window.map(|d| (d * 86_400.0).round() as i64),
        checkpoint_every: args.checkpoint_every,
        index_path: Some(path.clone()),
    };
    // Unlocked handles (they are `Send`: the stream runs on a pool thread).
    let mut input = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let summary = wiredup::stream::run(&mut index, &mut input, &mut out, &opts)?;
    if !args.opts.quiet {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let streaming =
            (secs - open_time.as_secs_f64() - summary.save_time.as_secs_f64()).max(1e-9);
        eprintln!(
            "wiredup: streamed {} records = {} documents + {} malformed records skipped; {} copies of earlier documents; {} pruned out of the window; {} now holds {} documents",
            summary.records,
            summary.added,
            summary.skipped.len(),
            summary.duplicates,
            summary.pruned,
            path.display(),
            index.len(),
        );
        eprintln!(
            "wiredup: {:.2}s = open {:.2}s + streaming {:.2}s ({:.0} documents/s) + {} saves {:.2}s",
            secs,
            open_time.as_secs_f64(),
            streaming,
            summary.added as f64 / streaming,
            summary.saves,
            summary.save_time.as_secs_f64(),
        );
        report_skipped(&summary.skipped);
    }
    if args.read.strict && !summary.skipped.is_empty() {
        eprintln!(
            "wiredup: --strict: {} malformed record(s) were skipped; exiting with status {EXIT_STRICT}",
            summary.skipped.len()
        );
        return Ok(EXIT_STRICT);
    }
    Ok(0)
}

fn read(inputs: &[String], opts: &ReadOptions) -> Result<Corpus> {
    Ok(io::read_inputs(inputs, opts)?)
}

/// The out-of-core pipeline, with a spinner naming the stage.
fn run_spilled(
    inputs: &[String],
    ropts: &ReadOptions,
    cfg: &Config,
    spill: &wiredup::spill::SpillConfig,
    quiet: bool,
) -> Result<wiredup::spill::Spilled> {
    let bar = spinner(quiet);
    let on_stage = |stage: &str| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{stage} (out of core)"));
        }
    };
    let run = wiredup::spill::run(inputs, ropts, cfg, spill, &on_stage);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(run?)
}

/// `dedup --spill-dir`: the out-of-core pipeline, then a second read of the inputs that writes
/// the kept (or annotated) records, atomically to a file or to standard output.
fn dedup_spilled(
    input: &cli::InputArgs,
    detect: &DetectArgs,
    cfg: &Config,
    spill: &wiredup::spill::SpillConfig,
    output: &Path,
    annotate: bool,
    started: Instant,
) -> Result<i32> {
    if input.inputs.iter().any(|i| i == "-") {
        bail!("dedup --spill-dir reads its inputs twice, and standard input only once: save it to a file first");
    }
    let ropts = input.read.to_options(false);
    let run = run_spilled(&input.inputs, &ropts, cfg, spill, detect.quiet)?;
    let path = stdout_dash(Some(output));
    let name = output_name(path);
    let counts = write_output(path, |w| {
        Ok(wiredup::spill::write_dedup(
            w,
            &input.inputs,
            &ropts,
            &run,
            annotate,
            &name,
        )?)
    })?;
    if !detect.quiet {
        summary(
            &run.corpus,
            &run.outcome,
            started.elapsed(),
            Some((counts.kept, counts.duplicates, annotate)),
        );
    }
    let status = strict_status(input.read.strict, &run.corpus);
    exit_without_freeing(run);
    Ok(status)
}

/// A spinner naming the stage, when standard error is a terminal and not `quiet`.
fn spinner(quiet: bool) -> Option<indicatif::ProgressBar> {
    (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    })
}

/// Reads the inputs, preparing each document as it is read (texts for which `free_text` is
/// true are released at once), then runs the rest of the pipeline; with a spinner naming the
/// stage when standard error is a terminal.
fn read_and_detect(
    inputs: &[String],
    ropts: &ReadOptions,
    cfg: &Config,
    quiet: bool,
    free_text: fn(&io::Document) -> bool,
) -> Result<(Corpus, Outcome)> {
    let bar = spinner(quiet);
    if let Some(bar) = &bar {
        bar.set_message("read+normalize");
    }
    let started = Instant::now();
    let prep = pipeline::Preparer { cfg, free_text };
    let (corpus, prepared) = io::read_inputs_with(inputs, ropts, &prep)?;
    let read_time = started.elapsed();
    let n = corpus.docs.len();
    let on_stage = |stage: &str| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{stage} ({n} documents)"));
        }
    };
    // The commands that call this write clusters or kept records, never the story sets.
    let cfg = Config {
        sort_all_sets: false,
        ..cfg.clone()
    };
    let mut out = pipeline::run_prepared(&corpus.docs, prepared, None, &cfg, &on_stage);
    out.stats
        .timings
        .insert(0, ("read+normalize".to_string(), read_time));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok((corpus, out))
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
    report_skipped(&corpus.skipped);
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
    // Writing is what the run took beyond reading and the pipeline stages.
    let staged: f64 = s.timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let stages: Vec<String> = s
        .timings
        .iter()
        .map(|(n, d)| format!("{n} {:.2}s", d.as_secs_f64()))
        .chain(std::iter::once(format!(
            "write {:.2}s",
            (secs - staged).max(0.0)
        )))
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
