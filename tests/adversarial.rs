//! Adversarial inputs, end to end through the real binary: each ends with a result or a clear
//! error, never a panic. Exit codes: 0, or 1 with `FILE:LINE:` (or the file's name) on
//! standard error. Also replays every saved fuzz input (`fuzz/regressions/`, `fuzz/corpus-seed/`)
//! through the fuzz targets' checks (`fuzz/checks.rs`), without libfuzzer.
//!
//! The two heavy cases (a 200 MB document, a million documents) run only in release builds
//! (`cargo test --release`, what CI runs); see HARDENING.md for their measured time and memory.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

#[path = "../fuzz/checks.rs"]
mod checks;

const BIN: &str = env!("CARGO_BIN_EXE_wiredup");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run wiredup")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 0, no panic; returns stdout.
#[track_caller]
fn ok(o: &Output) -> String {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert_eq!(o.status.code(), Some(0), "expected exit 0; stderr:\n{err}");
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Exit 1 with `wiredup: error: ` and `what` (e.g. `FILE:LINE: ...`) on stderr, no panic.
#[track_caller]
fn fails_with(o: &Output, what: &str) -> String {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert_eq!(o.status.code(), Some(1), "expected exit 1; stderr:\n{err}");
    assert!(err.starts_with("wiredup: error: "), "{err}");
    assert!(err.contains(what), "expected {what:?} in stderr:\n{err}");
    err
}

/// Number of `  skipped FILE:LINE: reason` lines in the summary on stderr.
fn skipped_lines(err: &str) -> usize {
    err.lines().filter(|l| l.starts_with("  skipped ")).count()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// `--format assignments` output as (id, cluster) in order.
fn assignments(out: &str) -> Vec<(String, u64)> {
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            (
                v["id"].as_str().expect("id").to_string(),
                v["cluster"].as_u64().expect("cluster"),
            )
        })
        .collect()
}

fn cluster_of(a: &[(String, u64)], id: &str) -> u64 {
    a.iter()
        .find(|(i, _)| i == id)
        .map(|(_, c)| *c)
        .expect("id assigned")
}

/// Pseudo-random news-like words, `bytes` long (at least), deterministic.
fn words(bytes: usize, seed: u64) -> String {
    const W: &[&str] = &[
        "the",
        "bank",
        "rate",
        "said",
        "minister",
        "on",
        "tuesday",
        "markets",
        "inflation",
        "vote",
        "storm",
        "river",
        "court",
        "of",
        "a",
        "trade",
        "deal",
        "oil",
        "price",
        "city",
        "police",
        "union",
        "strike",
        "power",
        "grid",
        "budget",
        "talks",
        "peace",
        "border",
        "health",
    ];
    let mut s = String::with_capacity(bytes + 16);
    let mut x = seed | 1;
    while s.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(W[(x % W.len() as u64) as usize]);
        s.push(' ');
    }
    s
}

const STORY: &str = "The central bank raised its key interest rate by a quarter point on Tuesday, \
citing persistent inflation in services and a tight labour market, and signalled further moves.";

/// Replays every saved input under `fuzz/regressions/<target>/` and `fuzz/corpus-seed/<target>/`
/// through the fuzz target's checks (no libfuzzer needed), so past crashes stay fixed. Files
/// named `open-*` are known bugs outside `src/io.rs` that are reported but not fixed yet: they
/// are replayed (the panic message is printed) without failing the test.
#[test]
fn replay_fuzz_regressions_and_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for kind in ["regressions", "corpus-seed"] {
        let Ok(dirs) = std::fs::read_dir(root.join(kind)) else {
            continue;
        };
        let mut dirs: Vec<_> = dirs.map(|e| e.expect("dir entry").path()).collect();
        dirs.sort();
        for dir in dirs.into_iter().filter(|p| p.is_dir()) {
            let target = dir.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                checks::TARGETS.contains(&target.as_str()),
                "unknown target dir {dir:?}"
            );
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("read target dir")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).expect("read input");
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                let r = std::panic::catch_unwind(|| checks::check(&target, &data));
                if name.starts_with("open-") {
                    // A known bug outside the reader, reported and not fixed yet: replayed, but
                    // not fatal. Drop the `open-` prefix once it is fixed.
                    if r.is_ok() {
                        eprintln!(
                            "note: {} now passes; rename it without `open-`",
                            f.display()
                        );
                    } else {
                        eprintln!("note: {} still fails (known open bug)", f.display());
                    }
                } else {
                    assert!(r.is_ok(), "{target}: replay of {} failed", f.display());
                }
                replayed += 1;
            }
        }
    }
    assert!(
        replayed > 0,
        "no fuzz inputs found under {}",
        root.display()
    );
}

// ---------------------------------------------------------------------------------------------
// Huge inputs (release builds only)
// ---------------------------------------------------------------------------------------------

/// True (and a note on stderr) when a heavy test should not run: debug builds.
fn heavy_skipped(name: &str) -> bool {
    if cfg!(debug_assertions) {
        eprintln!("{name}: skipped in debug builds (run `cargo test --release`)");
        return true;
    }
    false
}

/// One 200 MB document: over the default `--max-doc-bytes` (16 MiB), so a bad record (its line
/// is even over the line cap, 8 x 16 MiB + 1 MiB, and is never stored); skipped with
/// `--skip-bad`; processed to the end with `--max-doc-bytes 256 MiB`.
#[test]
fn huge_single_document() {
    if heavy_skipped("huge_single_document") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("big.jsonl");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&p).expect("create"));
        f.write_all(b"{\"id\":\"big\",\"text\":\"").unwrap();
        f.write_all(words(200_000_000, 7).as_bytes()).unwrap();
        f.write_all(b"\"}\n").unwrap();
        writeln!(f, "{}", serde_json::json!({"id": "small", "text": STORY})).unwrap();
        f.flush().unwrap();
    }
    let ps = path_str(&p);

    fails_with(&run(&["cluster", ps, "-q"]), &format!("{ps}:1: line is "));

    let o = run(&["cluster", ps, "--skip-bad", "--format", "assignments"]);
    let a = assignments(&ok(&o));
    assert_eq!(a, vec![("small".to_string(), 0)]);
    let err = stderr(&o);
    assert_eq!(skipped_lines(&err), 1, "{err}");
    assert!(err.contains(&format!("skipped {ps}:1: line is ")), "{err}");

    let o = run(&[
        "cluster",
        ps,
        "--max-doc-bytes",
        "268435456",
        "--format",
        "assignments",
        "-q",
    ]);
    let a = assignments(&ok(&o));
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].0, "big");
    assert_ne!(
        a[0].1, a[1].1,
        "the story is not a copy of 200 MB of other words"
    );
}

/// Writes `n` one-word documents `{"id":N,"text":...}`, runs `cluster --format assignments`,
/// checks exit 0 and that every document is assigned exactly once, in order; returns the
/// cluster of each document.
fn tiny_documents(n: usize, text: impl Fn(usize) -> String) -> Vec<u64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("tiny.jsonl");
    let out = dir.path().join("out.jsonl");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&p).expect("create"));
        for i in 0..n {
            writeln!(f, "{{\"id\":{i},\"text\":\"{}\"}}", text(i)).unwrap();
        }
        f.flush().unwrap();
    }
    ok(&run(&[
        "cluster",
        path_str(&p),
        "--format",
        "assignments",
        "-o",
        path_str(&out),
        "-q",
    ]));
    let text = fs::read_to_string(&out).expect("read output");
    let mut clusters = Vec::with_capacity(n);
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["id"].as_str(), Some(i.to_string().as_str()), "line {i}");
        clusters.push(v["cluster"].as_u64().expect("cluster"));
    }
    assert_eq!(clusters.len(), n, "every document assigned exactly once");
    clusters
}

/// A million tiny distinct documents: completes, every document assigned, all singletons.
#[test]
fn million_tiny_documents() {
    if heavy_skipped("million_tiny_documents") {
        return;
    }
    let c = tiny_documents(1_000_000, |i| format!("w{i}"));
    assert!(
        c.iter().enumerate().all(|(i, &c)| c == i as u64),
        "all singletons, numbered in order"
    );
}

/// 50,000 identical one-word documents (`"text":"w"`): one cluster. (The paragraph is in every
/// document, so it is boilerplate and each page is compared on its whole text.)
#[test]
fn identical_tiny_documents() {
    if heavy_skipped("identical_tiny_documents") {
        return;
    }
    let c = tiny_documents(50_000, |_| "w".to_string());
    assert!(
        c.iter().all(|&c| c == 0),
        "identical documents form one cluster"
    );
}

/// The same with a million identical documents. Opt-in (`WIREDUP_HEAVY=1`): about 15 s and
/// 1.9 GB peak RSS on 2 cores (39 s and 8.2 GB before LSH merged bands as they finished; see
/// HARDENING.md), too long for every CI run.
#[test]
fn million_identical_tiny_documents() {
    if heavy_skipped("million_identical_tiny_documents") {
        return;
    }
    if std::env::var_os("WIREDUP_HEAVY").is_none() {
        eprintln!("million_identical_tiny_documents: opt-in, set WIREDUP_HEAVY=1");
        return;
    }
    let c = tiny_documents(1_000_000, |_| "w".to_string());
    assert!(
        c.iter().all(|&c| c == 0),
        "identical documents form one cluster"
    );
}

// ---------------------------------------------------------------------------------------------
// Degenerate texts
// ---------------------------------------------------------------------------------------------

/// "news " a million times is one paragraph whose only word 3-gram is "news news news": it
/// completes. Its story set is tiny (one shingle), and a tiny story text is a copy only of the
/// same text (see `pipeline`'s module docs): "News, news. NEWS!" and "news news news" are copies
/// of each other, the million-word page is a copy of neither, and nothing is a copy of the
/// story.
#[test]
fn one_repeated_word() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("rep.jsonl");
    let mut s = String::new();
    for (id, text) in [
        ("rep", "news ".repeat(1_000_000)),
        ("short", "News, news. NEWS!".to_string()),
        ("plain", "news news news".to_string()),
        ("story", STORY.to_string()),
    ] {
        s.push_str(&serde_json::json!({"id": id, "text": text}).to_string());
        s.push('\n');
    }
    fs::write(&p, s).unwrap();
    let a = assignments(&ok(&run(&[
        "cluster",
        path_str(&p),
        "--format",
        "assignments",
        "-q",
    ])));
    assert_eq!(a.len(), 4);
    assert_eq!(cluster_of(&a, "short"), cluster_of(&a, "plain"));
    assert_ne!(cluster_of(&a, "rep"), cluster_of(&a, "short"));
    assert_ne!(cluster_of(&a, "rep"), cluster_of(&a, "story"));
    assert_ne!(cluster_of(&a, "short"), cluster_of(&a, "story"));
}

/// NUL: escaped in a JSON string it is text (a word separator); raw inside a JSON string it is
/// invalid JSON (a bad record); in a .txt file it is text.
#[test]
fn nul_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("nul.jsonl");
    let nul_story = STORY.replace(' ', "\u{0}");
    let lines = [
        serde_json::json!({"id": "plain", "text": STORY}).to_string(),
        serde_json::json!({"id": "nul", "text": nul_story}).to_string(),
        serde_json::json!({"id": "only-nul", "text": "\u{0}\u{0}\u{0}"}).to_string(),
    ];
    assert!(lines[1].contains("\\u0000"));
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    let o = run(&["cluster", path_str(&p), "--format", "assignments"]);
    let a = assignments(&ok(&o));
    assert_eq!(a.len(), 3);
    assert_eq!(
        cluster_of(&a, "plain"),
        cluster_of(&a, "nul"),
        "NUL separates words"
    );
    assert!(stderr(&o).contains("(1 empty"), "{}", stderr(&o));

    // A raw NUL byte inside a JSON string: not JSON.
    let raw = dir.path().join("raw.jsonl");
    let mut bytes = format!("{}\n", lines[0]).into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"r\",\"text\":\"a\0b\"}\n");
    fs::write(&raw, &bytes).unwrap();
    let rs = path_str(&raw);
    fails_with(
        &run(&["cluster", rs, "-q"]),
        &format!("{rs}:2: invalid JSON: control character"),
    );
    let a = assignments(&ok(&run(&[
        "cluster",
        rs,
        "--skip-bad",
        "--format",
        "assignments",
        "-q",
    ])));
    assert_eq!(a, vec![("plain".to_string(), 0)]);

    // A .txt file with NUL bytes is a document.
    let txt = dir.path().join("nul.txt");
    fs::write(&txt, nul_story.as_bytes()).unwrap();
    let a = assignments(&ok(&run(&[
        "cluster",
        path_str(&p),
        path_str(&txt),
        "--format",
        "assignments",
        "-q",
    ])));
    assert_eq!(cluster_of(&a, "plain"), cluster_of(&a, path_str(&txt)));
}

/// Invalid UTF-8 on a line is a bad record at that line with the byte offset.
#[test]
fn invalid_utf8_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.jsonl");
    let ps = path_str(&p);
    let good = serde_json::json!({"id": "good", "text": STORY}).to_string();
    let mut bytes = format!("{good}\n").into_bytes();
    let bad_lines: [&[u8]; 4] = [
        b"{\"id\":\"latin1\",\"text\":\"caf\xe9\"}", // Latin-1, not UTF-8
        b"\xff\xfe{\"id\":\"bom16\",\"text\":\"x\"}", // UTF-16 BOM
        b"{\"id\":\"surrogate\",\"text\":\"\xed\xa0\x80\"}", // encoded surrogate
        b"{\"id\":\"overlong\",\"text\":\"\xc0\xaf\"}", // overlong '/'
    ];
    for l in bad_lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    fs::write(&p, &bytes).unwrap();
    let at = bad_lines[0].iter().position(|&b| b == 0xe9).unwrap();
    fails_with(
        &run(&["cluster", ps, "-q"]),
        &format!("{ps}:2: invalid UTF-8 at byte {at}"),
    );
    let o = run(&["cluster", ps, "--skip-bad", "--format", "assignments"]);
    assert_eq!(assignments(&ok(&o)), vec![("good".to_string(), 0)]);
    let err = stderr(&o);
    assert_eq!(skipped_lines(&err), 4, "{err}");
    for line in 2..=5 {
        assert!(
            err.contains(&format!("skipped {ps}:{line}: invalid UTF-8 at byte")),
            "{err}"
        );
    }

    // A whole .txt file: the file name, no line.
    let txt = dir.path().join("bad.txt");
    fs::write(&txt, b"caf\xe9 au lait").unwrap();
    let ts = path_str(&txt);
    fails_with(
        &run(&["cluster", ts, "-q"]),
        &format!("{ts}: invalid UTF-8 at byte 3"),
    );
}

/// `<div>` x 100,000 around a story (and other runaway markup) completes; the markup is gone,
/// so the wrapped story is a copy of the plain one. A JSON line nested 100,000 deep is a bad
/// record, not a stack overflow.
#[test]
fn deeply_nested_html_and_json() {
    let deep = format!(
        "{}{STORY}{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    assert_eq!(
        wiredup::normalize::normalize(&deep).text,
        wiredup::normalize::normalize(STORY).text
    );
    assert_eq!(
        wiredup::normalize::normalize(&"<div>".repeat(100_000)).text,
        ""
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("html.jsonl");
    let mut s = String::new();
    for (id, text) in [
        ("plain", STORY.to_string()),
        ("divs", deep),
        ("open-divs", "<div".repeat(100_000)),
        ("comments", "<!--".repeat(100_000)),
        ("scripts", "<script>".repeat(100_000)),
        ("lts", format!("{}{STORY}", "< ".repeat(100_000))),
        ("entities", "&amp;&nbsp;&#8217;&bogus;".repeat(50_000)),
    ] {
        s.push_str(&serde_json::json!({"id": id, "text": text}).to_string());
        s.push('\n');
    }
    fs::write(&p, s).unwrap();
    let a = assignments(&ok(&run(&[
        "cluster",
        path_str(&p),
        "--format",
        "assignments",
        "-q",
    ])));
    assert_eq!(a.len(), 7);
    assert_eq!(cluster_of(&a, "plain"), cluster_of(&a, "divs"));
    assert_eq!(cluster_of(&a, "plain"), cluster_of(&a, "lts"));

    let j = dir.path().join("deep.jsonl");
    let js = path_str(&j);
    let nest = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let lines = [
        serde_json::json!({"id": "ok", "text": STORY}).to_string(),
        nest.clone(),
        format!("{{\"id\":\"deep-field\",\"text\":\"x\",\"extra\":{nest}}}"),
        "{\"a\":".repeat(100_000),
    ];
    fs::write(&j, lines.join("\n") + "\n").unwrap();
    fails_with(
        &run(&["cluster", js, "-q"]),
        &format!("{js}:2: record is not a JSON object (found array)"),
    );
    let o = run(&["cluster", js, "--skip-bad", "--format", "assignments"]);
    let a = assignments(&ok(&o));
    // An ignored field may nest arbitrarily deep (it is skipped without recursion).
    assert_eq!(
        a.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
        ["ok", "deep-field"]
    );
    assert!(
        stderr(&o).contains(&format!("skipped {js}:4: invalid JSON")),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Broken files and records
// ---------------------------------------------------------------------------------------------

/// A gzip or zstd file cut short is an error naming the file, exit 1, even with --skip-bad.
#[test]
fn compressed_file_cut_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut jsonl = Vec::new();
    for i in 0..2000 {
        writeln!(
            jsonl,
            "{}",
            serde_json::json!({"id": i, "text": words(400, i)})
        )
        .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&jsonl).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&jsonl[..], 1).unwrap();
    for (name, bytes, format) in [
        ("cut.jsonl.gz", &gz, "gzip"),
        ("cut.jsonl.zst", &zst, "zstd"),
    ] {
        let p = dir.path().join(name);
        let ps = path_str(&p);
        // Whole: fine.
        fs::write(&p, bytes).unwrap();
        let a = assignments(&ok(&run(&["cluster", ps, "--format", "assignments", "-q"])));
        assert_eq!(a.len(), 2000);
        for cut in [bytes.len() / 2, bytes.len() - 1, 10, 0] {
            fs::write(&p, &bytes[..cut]).unwrap();
            let what = format!("{ps}: {format} stream is truncated or corrupt");
            fails_with(&run(&["cluster", ps, "-q"]), &what);
            fails_with(&run(&["cluster", ps, "-q", "--skip-bad"]), &what);
        }
    }
    // Not compressed at all, but named .gz.
    let p = dir.path().join("plain.jsonl.gz");
    fs::write(&p, &jsonl[..1000]).unwrap();
    let ps = path_str(&p);
    fails_with(
        &run(&["cluster", ps, "-q", "--skip-bad"]),
        &format!("{ps}: gzip stream is truncated or corrupt"),
    );
}

/// A 10 MB string id is a bad record (ids are at most 1 KiB).
#[test]
fn ten_megabyte_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("id.jsonl");
    let ps = path_str(&p);
    let id = "i".repeat(10 * 1024 * 1024);
    let lines = [
        serde_json::json!({"id": id, "text": STORY}).to_string(),
        serde_json::json!({"id": "ok", "text": STORY}).to_string(),
    ];
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    fails_with(
        &run(&["cluster", ps, "-q"]),
        &format!("{ps}:1: id is 10485760 bytes, over the limit of 1024"),
    );
    let o = run(&["dedup", ps, "-o", "-", "--skip-bad"]);
    let out = ok(&o);
    assert_eq!(out, format!("{}\n", lines[1]));
    assert_eq!(skipped_lines(&stderr(&o)), 1, "{}", stderr(&o));
}

/// Duplicate ids: the later record is bad (the first is kept), within a file and across files;
/// an integer id equals its decimal string.
#[test]
fn duplicate_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("dup.jsonl");
    let ps = path_str(&p);
    let lines = [
        serde_json::json!({"id": "x", "text": STORY}).to_string(),
        serde_json::json!({"id": "y", "text": "another story entirely"}).to_string(),
        serde_json::json!({"id": "x", "text": "a different text under the same id"}).to_string(),
        serde_json::json!({"id": 7, "text": "seven"}).to_string(),
        serde_json::json!({"id": "7", "text": "seven as a string"}).to_string(),
    ];
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    fails_with(
        &run(&["cluster", ps, "-q"]),
        &format!("{ps}:3: duplicate id \"x\" (first seen at {ps}:1)"),
    );
    let o = run(&["dedup", ps, "-o", "-", "--skip-bad"]);
    let out = ok(&o);
    assert_eq!(
        out,
        format!("{}\n{}\n{}\n", lines[0], lines[1], lines[3]),
        "first of each id kept, byte for byte"
    );
    let err = stderr(&o);
    assert_eq!(skipped_lines(&err), 2, "{err}");
    assert!(
        err.contains(&format!(
            "skipped {ps}:5: duplicate id \"7\" (first seen at {ps}:4)"
        )),
        "{err}"
    );

    let q = dir.path().join("other.jsonl");
    let qs = path_str(&q);
    fs::write(&q, format!("{}\n", lines[0])).unwrap();
    let o = run(&["cluster", ps, qs, "--skip-bad", "--format", "assignments"]);
    assert_eq!(assignments(&ok(&o)).len(), 3);
    assert!(
        stderr(&o).contains(&format!(
            "skipped {qs}:1: duplicate id \"x\" (first seen at {ps}:1)"
        )),
        "{}",
        stderr(&o)
    );
    let two = dir.path().join("first.jsonl");
    fs::write(&two, format!("{}\n", lines[1])).unwrap();
    fails_with(
        &run(&["cluster", path_str(&two), ps, "-q"]),
        &format!(
            "{ps}:2: duplicate id \"y\" (first seen at {}:1)",
            path_str(&two)
        ),
    );
}

/// Text over `--max-doc-bytes` (but under the line cap) is a bad record naming the limit.
#[test]
fn text_over_max_doc_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("long.jsonl");
    let ps = path_str(&p);
    let long = words(2_000_000, 3);
    let lines = [
        serde_json::json!({"id": "long", "text": long}).to_string(),
        serde_json::json!({"id": "ok", "text": STORY}).to_string(),
    ];
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    fails_with(
        &run(&["cluster", ps, "-q", "--max-doc-bytes", "1000000"]),
        &format!(
            "{ps}:1: text is {} bytes, over the limit of 1000000 (--max-doc-bytes)",
            long.len()
        ),
    );
    let a = assignments(&ok(&run(&["cluster", ps, "-q", "--format", "assignments"])));
    assert_eq!(a.len(), 2);
}

/// Was HARDENING.md's bug 3: `dedup --annotate` re-parsed duplicate records with serde_json's
/// `Map`, which refuses numbers out of f64 range and nesting over 128 that the reader accepts
/// (it skips fields it does not read). Annotations are now inserted as text.
#[test]
fn annotate_keeps_every_record_the_reader_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("odd.jsonl");
    let nest = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let lines = [
        serde_json::json!({"id": "a", "text": STORY}).to_string(),
        format!(
            "{{\"id\":\"b\",\"text\":{},\"x\":1e400}}",
            serde_json::json!(STORY)
        ),
        format!(
            "{{\"id\":\"c\",\"text\":{},\"x\":{nest}}}",
            serde_json::json!(STORY)
        ),
    ];
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    let ps = path_str(&p);
    // Plain dedup is fine: b and c are copies of a.
    assert_eq!(
        ok(&run(&["dedup", ps, "-o", "-", "-q"])),
        format!("{}\n", lines[0])
    );
    // --annotate must write all three records.
    let out = ok(&run(&["dedup", ps, "-o", "-", "-q", "--annotate"]));
    assert_eq!(out.lines().count(), 3, "{out}");
}
