//! Out-of-core runs (`wiredup cluster --spill-dir DIR`) give the same output as in-memory runs,
//! byte for byte, in every format, whatever the partition budget and thread count; they
//! account for bad records the same way; and they leave nothing behind in the spill directory.

use std::path::Path;
use std::process::Command;

mod common;
use common::{dev_docs, ok, run};

const GEN: &str = env!("CARGO_BIN_EXE_wiredup-gen");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/docs.jsonl");

/// The spill directory holds nothing once a run is over.
fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// The bundled corpus with two bad records after it, a broken line and a repeated id, written
/// to `bad.jsonl` in `dir`: its path and its number of lines.
fn with_bad_records(dir: &Path) -> (String, usize) {
    let bad = dir.join("bad.jsonl");
    let mut text = std::fs::read_to_string(CORPUS).unwrap_or_else(|e| panic!("{e}"));
    let first = text.lines().next().unwrap_or_default().to_string();
    text.push_str("{\"id\": \"broken\", \"text\": \n");
    text.push_str(&first);
    text.push('\n');
    std::fs::write(&bad, &text).unwrap_or_else(|e| panic!("{e}"));
    (bad.to_string_lossy().into_owned(), text.lines().count())
}

/// `cluster` on `inputs` in memory and with `--spill-dir` under each budget and thread count:
/// identical standard output in each format.
fn same_as_in_memory(inputs: &[&str], budgets: &[&str], threads: &[&str]) {
    let spill = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = spill.path().to_string_lossy().into_owned();
    for format in ["clusters", "assignments", "pairs"] {
        let mut args = vec!["cluster", "-q", "--format", format];
        args.extend_from_slice(inputs);
        let memory = ok(&args).stdout;
        assert!(!memory.is_empty(), "{format}: empty output");
        for (k, budget) in budgets.iter().enumerate() {
            let j = threads[k % threads.len()];
            let mut s = args.clone();
            s.extend_from_slice(&["--spill-dir", &dir, "--partition-mib", budget, "-j", j]);
            let spilled = ok(&s).stdout;
            assert!(
                spilled == memory,
                "{format}: --spill-dir (--partition-mib {budget}, -j {j}) differs from the in-memory run"
            );
            assert_empty(spill.path());
        }
    }
}

#[test]
fn spilled_runs_match_in_memory_on_the_bundled_corpus() {
    same_as_in_memory(&[CORPUS], &["1", "1024"], &["1", "2"]);
}

#[test]
fn spilled_runs_match_in_memory_on_the_dev_set() {
    let docs = dev_docs();
    same_as_in_memory(&[&docs.to_string_lossy()], &["1", "1024"], &["2", "1"]);
}

#[test]
fn spilled_runs_match_in_memory_on_generated_news_in_many_partitions() {
    // 20,000 generated articles (51 MB): a 1 MiB budget makes dozens of partitions.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("gen");
    let o = Command::new(GEN)
        .args(["--docs", "20000", "--seed", "7", "--out"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("spawn wiredup-gen: {e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let docs = out.join("docs.jsonl").to_string_lossy().into_owned();
    same_as_in_memory(&[&docs], &["1", "16"], &["2"]);
}

#[test]
fn whole_files_and_several_inputs_spill_like_memory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let texts = dir.path().join("texts");
    std::fs::create_dir(&texts).unwrap_or_else(|e| panic!("{e}"));
    let story = "The ferry left the harbour at dawn carrying four hundred passengers and crew. \
                 Officials said the crossing was calm and the vessel arrived on schedule.\n\n\
                 The operator plans two more sailings this week as demand rises before the holiday.";
    std::fs::write(texts.join("a.txt"), story).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        texts.join("b.html"),
        format!("<p>Spread the love</p><p>{story}</p>"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = texts.to_string_lossy().into_owned();
    same_as_in_memory(&[CORPUS, &t], &["1"], &["2"]);
}

#[test]
fn bad_records_are_reported_and_accounted_as_in_memory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spill = dir.path().join("spill");
    let s = spill.to_string_lossy().into_owned();
    let (b, lines) = with_bad_records(dir.path());

    // Without --skip-bad: the first bad record stops the run, named by file and line.
    let o = run(&["cluster", &b, "--spill-dir", &s]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains(&format!("bad.jsonl:{}", lines - 1)), "{e}");
    assert_empty(&spill);

    // With it: both bad records (the broken line, the repeated id) reported; the summary
    // accounts for every line; output as in memory.
    let mem = ok(&["cluster", &b, "--skip-bad", "--format", "assignments"]);
    let spl = ok(&[
        "cluster",
        &b,
        "--skip-bad",
        "--format",
        "assignments",
        "--spill-dir",
        &s,
    ]);
    assert!(spl.stdout == mem.stdout);
    let e = String::from_utf8_lossy(&spl.stderr);
    assert!(
        e.contains(&format!("read {lines} records"))
            && e.contains(&format!(
                "{} documents + 2 malformed records skipped",
                lines - 2
            )),
        "{e}"
    );
    assert!(
        e.contains("duplicate id") && e.contains("(first seen at ") && e.contains("bad.jsonl:1)"),
        "{e}"
    );
    assert_eq!(
        String::from_utf8_lossy(&mem.stderr).contains("duplicate id"),
        e.contains("duplicate id")
    );
    assert_empty(&spill);
}

#[test]
fn an_unusable_spill_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A file where the directory should be.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["cluster", CORPUS, "--spill-dir", &file.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("wiredup: error:") && e.contains("not-a-dir"),
        "{e}"
    );
    // --partition-mib needs --spill-dir, and is at least 1.
    assert_eq!(
        run(&["cluster", CORPUS, "--partition-mib", "8"])
            .status
            .code(),
        Some(2)
    );
    let s = dir.path().to_string_lossy().into_owned();
    let o = run(&["cluster", CORPUS, "--spill-dir", &s, "--partition-mib", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn spilled_dedup_writes_the_same_records_as_in_memory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spill = dir.path().join("spill");
    let s = spill.to_string_lossy().into_owned();
    // The bundled corpus, a broken line and a repeated id (skipped), and whole text files.
    let (b, _) = with_bad_records(dir.path());
    let texts = dir.path().join("texts");
    std::fs::create_dir(&texts).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        texts.join("a.txt"),
        "A ferry left the harbour at dawn with four hundred passengers aboard and arrived on time.",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = texts.to_string_lossy().into_owned();
    for annotate in [false, true] {
        let out_m = dir.path().join("m.jsonl");
        let out_s = dir.path().join("s.jsonl");
        let mut args = vec!["dedup", "-q", "--skip-bad", &b, &t];
        if annotate {
            args.push("--annotate");
        }
        let (m, sp) = (out_m.to_string_lossy(), out_s.to_string_lossy());
        let mut mem = args.clone();
        mem.extend_from_slice(&["-o", &m]);
        ok(&mem);
        let mut spl = args.clone();
        spl.extend_from_slice(&["-o", &sp, "--spill-dir", &s, "--partition-mib", "1"]);
        ok(&spl);
        let (x, y) = (
            std::fs::read(&out_m).unwrap_or_else(|e| panic!("{e}")),
            std::fs::read(&out_s).unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(!x.is_empty());
        assert!(x == y, "dedup --spill-dir (annotate: {annotate}) differs");
        assert_empty(&spill);
    }
    // Standard input cannot be read twice.
    let o = run(&["dedup", "-", "-o", "-", "--spill-dir", &s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard input"));
}

#[test]
fn a_spill_dir_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    let f = file.to_string_lossy().into_owned();
    let o = run(&["cluster", CORPUS, "-q", "--spill-dir", &f]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("not-a-dir: the spill directory exists and is not a directory"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("x"));
}
