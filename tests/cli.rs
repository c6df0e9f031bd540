//! End-to-end tests of the `wiredup` binary: every subcommand run as a real process on the
//! bundled corpus (`corpus/docs.jsonl`, hand-checked labels in `corpus/labels.jsonl`) and on
//! small invented inputs written to temporary directories.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_wiredup");
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/docs.jsonl");
const LABELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/labels.jsonl");

/// Runs the binary with `args`, feeding `stdin` (or nothing) to it, in `cwd` if given.
fn run_in(cwd: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().expect("spawn wiredup");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        let bytes = bytes.to_vec();
        // Write from a thread so a full stdout pipe cannot deadlock us.
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("wait for wiredup");
        writer.join().expect("stdin writer thread");
        return out;
    }
    child.wait_with_output().expect("wait for wiredup")
}

fn run(args: &[&str]) -> Output {
    run_in(None, args, None)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Asserts exit code 0 and returns stdout.
#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "expected success; stderr:\n{}",
        stderr(o)
    );
    stdout(o)
}

/// Runs and asserts success, returning stdout.
#[track_caller]
fn run_ok(args: &[&str]) -> String {
    ok(&run(args))
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key:?} missing or not a string in {v}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{key:?} missing or not a number in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{key:?} missing or not an unsigned integer in {v}"))
}

#[track_caller]
fn assert_unit(x: f64, what: &str) {
    assert!((0.0..=1.0).contains(&x), "{what} = {x} is outside [0, 1]");
}

/// The corpus lines (non-blank), exactly as in the file.
fn corpus_lines() -> Vec<String> {
    fs::read_to_string(CORPUS)
        .expect("read corpus")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn corpus_records() -> Vec<Value> {
    parse_lines(&corpus_lines().join("\n"))
}

fn corpus_ids() -> Vec<String> {
    corpus_records()
        .iter()
        .map(|r| s(r, "id").to_owned())
        .collect()
}

/// id -> published, for the corpus.
fn corpus_published() -> HashMap<String, String> {
    corpus_records()
        .iter()
        .map(|r| (s(r, "id").to_owned(), s(r, "published").to_owned()))
        .collect()
}

/// Parses `--format assignments` output into (id, cluster) in output order, checking the shape.
fn parse_assignments(text: &str) -> Vec<(String, u64)> {
    parse_lines(text)
        .iter()
        .map(|v| {
            let obj = v.as_object().expect("assignment line is an object");
            assert_eq!(obj.len(), 2, "assignment has exactly id and cluster: {v}");
            (s(v, "id").to_owned(), u(v, "cluster"))
        })
        .collect()
}

/// The partition (set of sets of ids) described by assignments.
fn partition(assign: &[(String, u64)]) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for (id, c) in assign {
        groups.entry(*c).or_default().insert(id.clone());
    }
    groups.into_values().collect()
}

/// The partition of the hand-checked labels.
fn label_partition() -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in parse_lines(&fs::read_to_string(LABELS).expect("read labels")) {
        let c = match v.get("cluster") {
            Some(Value::String(x)) => x.clone(),
            Some(other) => other.to_string(),
            None => panic!("label without cluster: {v}"),
        };
        groups.entry(c).or_default().insert(s(&v, "id").to_owned());
    }
    groups.into_values().collect()
}

/// representative -> sorted member ids, from `--format clusters` output.
fn rep_map(text: &str) -> BTreeMap<String, Vec<String>> {
    parse_lines(text)
        .iter()
        .map(|v| {
            let mut members: Vec<String> = v["members"]
                .as_array()
                .expect("members array")
                .iter()
                .map(|m| s(m, "id").to_owned())
                .collect();
            members.sort();
            (s(v, "representative").to_owned(), members)
        })
        .collect()
}

/// Deterministic Fisher-Yates shuffle with a small xorshift generator.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = (x % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> String {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dir");
    }
    fs::write(path, bytes).expect("write file");
    path.to_str().expect("UTF-8 temp path").to_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

fn dir_entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn assignments_of(args: &[&str]) -> Vec<(String, u64)> {
    let mut all = vec!["cluster", "--format", "assignments", "-q"];
    all.extend_from_slice(args);
    parse_assignments(&run_ok(&all))
}

// ---------------------------------------------------------------------------------------------
// Invented texts
// ---------------------------------------------------------------------------------------------

const FERRY_TITLE: &str = "Hollow Fen volunteers bring century-old rope ferry back to life";

const FERRY_PARAS: [&str; 3] = [
    "Volunteers in the village of Hollow Fen have finished restoring a hand-pulled rope ferry \
     that carried farmers, schoolchildren and the occasional runaway goat across the Brisk River \
     for more than a hundred years before it sank during a spring flood six years ago.",
    "The group of twelve retired boatbuilders, led by former lock keeper Mirela Stanko, spent \
     three winters replacing the rotten oak deck, splicing a new hemp cable and repainting the \
     hull in its original shade of faded bottle green.",
    "On Sunday the ferry made its first crossing since the flood, carrying the mayor, a brass \
     band of nine players and a basket of cardamom buns baked by pupils of the village school. \
     Stanko said the ferry would run every weekend from May until October, free of charge for \
     anyone willing to help pull the rope.",
];

const OBSERVATORY: &str = "Crane Hill observatory dome to reopen after gear repair\n\n\
     The municipal observatory on Crane Hill will reopen its telescope dome to visitors next \
     month after engineers replaced a seized bronze gear that had kept the roof shut since \
     last autumn.\n\n\
     Astronomy club chair Tobiah Lindqvist said volunteers had used the closure to clean the \
     mirror, rewire the control desk and paint a scale model of the solar system along the \
     footpath. Public viewing nights will be held on the first Friday of each month, weather \
     permitting, and tickets for children will cost two marks.";

fn ferry_txt() -> String {
    format!("{FERRY_TITLE}\n\n{}\n", FERRY_PARAS.join("\n\n"))
}

/// The same story as a web page: `<p>` paragraphs, `&nbsp;` between some words.
fn ferry_html() -> String {
    let paras: Vec<String> = FERRY_PARAS
        .iter()
        .map(|para| format!("<p>{}</p>", para.replacen(' ', "&nbsp;", 3)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><style>p {{ margin: 0; }}</style></head>\n<body>\n<h1>{FERRY_TITLE}</h1>\n{}\n</body></html>\n",
        paras.join("\n")
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Assignments on the corpus, scored against the labels
// ---------------------------------------------------------------------------------------------

#[test]
fn corpus_assignments_match_hand_checked_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("assign.jsonl");
    let o = run(&["cluster", CORPUS, "--format", "assignments", "-o", p(&out)]);
    let printed = ok(&o);
    assert!(
        printed.is_empty(),
        "with -o nothing goes to stdout, got {printed:?}"
    );
    // The summary goes to standard error.
    assert!(
        stderr(&o).contains("44 documents"),
        "summary: {}",
        stderr(&o)
    );

    let text = fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let assign = parse_assignments(&text);
    let ids: Vec<String> = assign.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, corpus_ids(), "one line per document, in input order");
    assert_eq!(ids.len(), 44);

    // The clustering is exactly the hand-checked one.
    assert_eq!(partition(&assign), label_partition());

    let o = run(&["eval", "--pred", p(&out), "--labels", LABELS, "--json"]);
    let v: Value = serde_json::from_str(ok(&o).trim()).expect("eval --json prints JSON");
    assert_eq!(f(&v, "f1"), 1.0, "{v}");
    assert_eq!(f(&v, "ari"), 1.0, "{v}");
    assert_eq!(f(&v, "precision"), 1.0, "{v}");
    assert_eq!(f(&v, "recall"), 1.0, "{v}");
    assert_eq!(u(&v, "documents"), 44, "{v}");

    // Eval is not a rubber stamp: a prediction that merges two stories scores below 1.
    let merged: String = assign
        .iter()
        .map(|(id, c)| {
            let c = if id == "rail-orig" || id == "meridia-morning-rail" || id == "scrape3-rail" {
                assign.iter().find(|(i, _)| i == "canal-orig").unwrap().1
            } else {
                *c
            };
            format!("{{\"id\":{},\"cluster\":{c}}}\n", Value::from(id.as_str()))
        })
        .collect();
    let bad = write_file(&dir.path().join("merged.jsonl"), merged.as_bytes());
    let v: Value = serde_json::from_str(
        run_ok(&["eval", "--pred", &bad, "--labels", LABELS, "--json"]).trim(),
    )
    .unwrap();
    assert!(f(&v, "f1") < 1.0 && f(&v, "ari") < 1.0, "{v}");

    // The text form of eval works too.
    assert!(!run_ok(&["eval", "--pred", p(&out), "--labels", LABELS])
        .trim()
        .is_empty());
}

// ---------------------------------------------------------------------------------------------
// 2. Clusters format
// ---------------------------------------------------------------------------------------------

#[test]
fn clusters_format_shape_and_representatives() {
    let text = run_ok(&["cluster", CORPUS]);
    check_clusters(CORPUS, &text);
    // The known originals.
    let reps: BTreeSet<String> = rep_map(&text).into_keys().collect();
    for orig in [
        "quake-orig",
        "museum-orig",
        "rates-orig",
        "canal-orig",
        "storm-a-orig",
    ] {
        assert!(reps.contains(orig), "{orig} is a representative: {reps:?}");
    }

    // In the corpus file each original comes first in its story, so check again with the
    // lines reversed: the representative must follow `published`, not input position.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = corpus_lines();
    lines.reverse();
    let path = write_file(
        &dir.path().join("reversed.jsonl"),
        (lines.join("\n") + "\n").as_bytes(),
    );
    let text = run_ok(&["cluster", &path, "-q"]);
    check_clusters(&path, &text);
}

/// Checks `--format clusters` output `text` of a run on `input` (a permutation of the corpus).
fn check_clusters(input: &str, text: &str) {
    let published = corpus_published();
    let lines = parse_lines(text);
    assert!(!lines.is_empty());

    let assign = assignments_of(&[input]);
    let cluster_of: HashMap<&str, u64> = assign.iter().map(|(i, c)| (i.as_str(), *c)).collect();
    let position: HashMap<&str, usize> = assign
        .iter()
        .enumerate()
        .map(|(k, (i, _))| (i.as_str(), k))
        .collect();

    let mut seen: HashSet<String> = HashSet::new();
    let mut multi: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    let mut last_first = None;
    for v in &lines {
        let obj = v.as_object().unwrap();
        for key in ["cluster", "representative", "size", "members"] {
            assert!(obj.contains_key(key), "{key} missing in {v}");
        }
        let cluster = u(v, "cluster");
        let rep = s(v, "representative");
        let members = v["members"].as_array().expect("members is an array");
        let size = u(v, "size") as usize;
        assert_eq!(size, members.len(), "{v}");
        assert!(size >= 2, "clusters output holds only clusters of 2+: {v}");

        let ids: Vec<&str> = members.iter().map(|m| s(m, "id")).collect();
        assert!(
            ids.contains(&rep),
            "representative {rep} is one of the members: {v}"
        );
        for m in members {
            for key in ["similarity", "jaccard", "containment"] {
                assert_unit(f(m, key), key);
            }
            // Scores are against the representative, so the representative scores 1 with itself.
            if s(m, "id") == rep {
                assert_eq!(f(m, "similarity"), 1.0, "{v}");
                assert_eq!(f(m, "jaccard"), 1.0, "{v}");
            }
            assert!(f(m, "jaccard") <= f(m, "similarity"), "{m}");
        }
        // Members in input order, disjoint across clusters, and the cluster number is the one
        // the assignments give.
        let pos: Vec<usize> = ids.iter().map(|i| position[i]).collect();
        assert!(
            pos.windows(2).all(|w| w[0] < w[1]),
            "members in input order: {v}"
        );
        for id in &ids {
            assert!(seen.insert(id.to_string()), "{id} is in two clusters");
            assert_eq!(
                cluster_of[id], cluster,
                "cluster number of {id} agrees with assignments"
            );
        }
        // Clusters come in order of their first member.
        if let Some(prev) = last_first {
            assert!(pos[0] > prev, "clusters in order of first member");
        }
        last_first = Some(pos[0]);

        // The representative is the original: the earliest `published` among the members.
        let earliest = ids.iter().map(|i| published[*i].as_str()).min().unwrap();
        for i in &ids {
            let t = &published[*i];
            assert!(
                t.len() == 20 && t.ends_with('Z'),
                "corpus times are uniform RFC 3339: {t}"
            );
        }
        assert_eq!(
            published[rep], earliest,
            "representative of {ids:?} is the earliest published"
        );
        let n_earliest = ids.iter().filter(|i| published[**i] == earliest).count();
        assert_eq!(
            n_earliest, 1,
            "no ties in the corpus, so the choice is unambiguous"
        );

        multi.insert(ids.iter().map(|i| i.to_string()).collect());
    }
    // The clusters are exactly the labelled stories with two or more documents.
    let expected: BTreeSet<BTreeSet<String>> = label_partition()
        .into_iter()
        .filter(|g| g.len() >= 2)
        .collect();
    assert_eq!(multi, expected);
}

// ---------------------------------------------------------------------------------------------
// 3. Pairs format
// ---------------------------------------------------------------------------------------------

#[test]
fn pairs_format_ids_and_scores() {
    let text = run_ok(&["cluster", CORPUS, "--format", "pairs", "-q"]);
    let position: HashMap<String, usize> = corpus_ids()
        .into_iter()
        .enumerate()
        .map(|(k, i)| (i, k))
        .collect();
    let lines = parse_lines(&text);
    assert!(
        !lines.is_empty(),
        "the corpus has copies, so there are verified pairs"
    );
    let mut seen = HashSet::new();
    let mut prev: Option<(usize, usize)> = None;
    for v in &lines {
        let (a, b) = (s(v, "a"), s(v, "b"));
        assert!(
            position.contains_key(a),
            "pair id {a} is a document of the input"
        );
        assert!(
            position.contains_key(b),
            "pair id {b} is a document of the input"
        );
        assert_ne!(a, b);
        assert!(
            seen.insert((a.to_owned(), b.to_owned())),
            "pair listed twice: {v}"
        );
        let (sim, jac, ca, cb) = (
            f(v, "similarity"),
            f(v, "jaccard"),
            f(v, "containment_a"),
            f(v, "containment_b"),
        );
        for (x, name) in [
            (sim, "similarity"),
            (jac, "jaccard"),
            (ca, "containment_a"),
            (cb, "containment_b"),
        ] {
            assert_unit(x, name);
        }
        // similarity = |A∩B| / max(|A|,|B|) = min of the containments; jaccard is at most that.
        assert_eq!(sim, ca.min(cb), "{v}");
        assert!(jac <= sim, "{v}");
        // Sorted by input position.
        let key = (position[a], position[b]);
        if let Some(pk) = prev {
            assert!(pk < key, "pairs sorted by input position");
        }
        prev = Some(key);
    }
    // The scraper repost of the quake story is verified against the wire original.
    assert!(
        seen.contains(&("quake-orig".to_owned(), "scrape1-quake".to_owned())),
        "{seen:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Determinism across thread counts
// ---------------------------------------------------------------------------------------------

#[test]
fn output_does_not_depend_on_threads() {
    for format in ["clusters", "assignments", "pairs"] {
        let outputs: Vec<Vec<u8>> = ["1", "2", "4"]
            .iter()
            .map(|j| {
                let o = run(&["cluster", CORPUS, "--format", format, "-q", "-j", j]);
                ok(&o);
                o.stdout
            })
            .collect();
        assert!(!outputs[0].is_empty(), "{format}: empty output");
        assert_eq!(outputs[0], outputs[1], "{format}: -j 1 and -j 2 differ");
        assert_eq!(outputs[0], outputs[2], "{format}: -j 1 and -j 4 differ");
        // The default (all cores) gives the same bytes too.
        let default = run(&["cluster", CORPUS, "--format", format, "-q"]);
        ok(&default);
        assert_eq!(
            outputs[0], default.stdout,
            "{format}: -j 1 and default differ"
        );
    }
    // Zero threads is refused.
    let o = run(&["cluster", CORPUS, "-q", "-j", "0"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("threads"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// 5. Input order independence
// ---------------------------------------------------------------------------------------------

#[test]
fn result_does_not_depend_on_input_order() {
    let base_assign = assignments_of(&[CORPUS]);
    let base_part = partition(&base_assign);
    let base_reps = rep_map(&run_ok(&["cluster", CORPUS, "-q"]));
    assert!(!base_reps.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let lines = corpus_lines();
    let mut reversed = lines.clone();
    reversed.reverse();
    let mut shuffled = lines.clone();
    shuffle(&mut shuffled, 0x5eed_2025);
    assert_ne!(shuffled, lines, "the shuffle changed the order");
    let mut shuffled2 = lines.clone();
    shuffle(&mut shuffled2, 977);

    for (name, order) in [
        ("reversed", reversed),
        ("shuffled", shuffled),
        ("shuffled2", shuffled2),
    ] {
        let path = write_file(
            &dir.path().join(format!("{name}.jsonl")),
            (order.join("\n") + "\n").as_bytes(),
        );
        let assign = assignments_of(&[&path]);
        // Assignments follow the new input order.
        let expect_ids: Vec<String> = parse_lines(&order.join("\n"))
            .iter()
            .map(|v| s(v, "id").to_owned())
            .collect();
        let ids: Vec<String> = assign.iter().map(|(i, _)| i.clone()).collect();
        assert_eq!(ids, expect_ids, "{name}: assignments in input order");
        assert_eq!(partition(&assign), base_part, "{name}: partition changed");
        let reps = rep_map(&run_ok(&["cluster", &path, "-q"]));
        assert_eq!(
            reps, base_reps,
            "{name}: representatives or members changed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Dedup
// ---------------------------------------------------------------------------------------------

#[test]
fn dedup_keeps_representatives_and_singletons() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus_lines();
    let input_set: HashSet<&str> = input.iter().map(String::as_str).collect();
    let reps = rep_map(&run_ok(&["cluster", CORPUS, "-q"]));
    let duplicates: usize = reps.values().map(|m| m.len() - 1).sum();
    assert!(duplicates > 0);
    let dup_ids: HashSet<String> = reps
        .iter()
        .flat_map(|(rep, ms)| ms.iter().filter(move |m| *m != rep).cloned())
        .collect();
    assert_eq!(dup_ids.len(), duplicates);

    let out = dir.path().join("dedup.jsonl");
    let o = run(&["dedup", CORPUS, "-o", p(&out)]);
    assert!(ok(&o).is_empty());
    assert!(
        stderr(&o).contains(&format!("dropped {duplicates} duplicates")),
        "{}",
        stderr(&o)
    );
    let text = fs::read_to_string(&out).unwrap();
    let kept: Vec<&str> = text.lines().collect();
    for line in &kept {
        assert!(
            input_set.contains(line),
            "output line is not byte-identical to an input line: {line}"
        );
    }
    assert_eq!(
        kept.len() + duplicates,
        input.len(),
        "kept + duplicates = input"
    );
    // Exactly the non-duplicates are kept, in input order.
    let expect: Vec<&str> = input
        .iter()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            !dup_ids.contains(s(&v, "id"))
        })
        .map(String::as_str)
        .collect();
    assert_eq!(kept, expect);
    assert_eq!(
        dir_entries(dir.path()),
        BTreeSet::from(["dedup.jsonl".to_owned()]),
        "no temp files left"
    );

    // `-o -` writes the same bytes to standard output.
    let to_stdout = run_ok(&["dedup", CORPUS, "-o", "-", "-q"]);
    assert_eq!(to_stdout, text);
}

#[test]
fn dedup_annotate_marks_exactly_the_duplicates() {
    let input = corpus_lines();
    let records = corpus_records();
    let reps = rep_map(&run_ok(&["cluster", CORPUS, "-q"]));
    // member -> representative, for duplicates only.
    let rep_of: HashMap<String, String> = reps
        .iter()
        .flat_map(|(rep, ms)| {
            ms.iter()
                .filter(move |m| *m != rep)
                .map(move |m| (m.clone(), rep.clone()))
        })
        .collect();
    let assign = assignments_of(&[CORPUS]);
    let cluster_of: HashMap<String, u64> = assign.into_iter().collect();

    let text = run_ok(&["dedup", CORPUS, "--annotate", "-o", "-", "-q"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), input.len(), "--annotate writes every record");
    let mut annotated = 0;
    for ((line, orig_line), orig) in lines.iter().zip(&input).zip(&records) {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = s(&v, "id");
        assert_eq!(id, s(orig, "id"), "same ids in the same order");
        match rep_of.get(id) {
            None => {
                assert!(
                    v.get("dup_of").is_none() && v.get("similarity").is_none(),
                    "{id} is not a duplicate"
                );
                assert_eq!(line, orig_line, "non-duplicates are written byte for byte");
            }
            Some(rep) => {
                annotated += 1;
                let dup_of = s(&v, "dup_of");
                assert_eq!(dup_of, rep, "{id}: dup_of is its cluster's representative");
                assert_eq!(
                    cluster_of[dup_of], cluster_of[id],
                    "{id}: dup_of is in the same cluster"
                );
                assert_ne!(dup_of, id);
                assert_unit(f(&v, "similarity"), "similarity");
                // All original fields preserved, unchanged.
                let mut stripped = v.as_object().unwrap().clone();
                stripped.remove("dup_of");
                stripped.remove("similarity");
                assert_eq!(
                    &Value::Object(stripped),
                    orig,
                    "{id}: original fields preserved"
                );
                assert!(v.get("source").is_some() && v.get("published").is_some());
            }
        }
    }
    assert_eq!(annotated, rep_of.len());
    assert!(annotated > 0);
}

// ---------------------------------------------------------------------------------------------
// 7. Bad input
// ---------------------------------------------------------------------------------------------

/// Five corpus records with a truncated record as line 3.
fn bad_third_line() -> (Vec<u8>, Vec<String>) {
    let lines = corpus_lines();
    let good: Vec<String> = lines[..4].to_vec();
    let mut bytes = Vec::new();
    for (k, l) in good.iter().enumerate() {
        if k == 2 {
            bytes.extend_from_slice(b"{\"id\": \"x\", \"text\": \n");
        }
        bytes.extend_from_slice(l.as_bytes());
        bytes.push(b'\n');
    }
    let ids = good
        .iter()
        .map(|l| s(&serde_json::from_str::<Value>(l).unwrap(), "id").to_owned())
        .collect();
    (bytes, ids)
}

#[test]
fn malformed_line_fails_without_writing_output() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = bad_third_line();
    write_file(&dir.path().join("bad.jsonl"), &bytes);
    let outdir = dir.path().join("out");
    fs::create_dir(&outdir).unwrap();

    // Paths relative to the working directory, so the message must show the path as given.
    for (sub, extra) in [
        ("cluster", &["--format", "assignments"][..]),
        ("dedup", &[][..]),
    ] {
        let mut args = vec![sub, "bad.jsonl", "-o", "out/result.jsonl"];
        args.extend_from_slice(extra);
        let o = run_in(Some(dir.path()), &args, None);
        assert_eq!(o.status.code(), Some(1), "{sub}: stderr: {}", stderr(&o));
        assert!(stderr(&o).contains("bad.jsonl:3:"), "{sub}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(
            !outdir.join("result.jsonl").exists(),
            "{sub}: no output file on failure"
        );
        assert!(
            dir_entries(&outdir).is_empty(),
            "{sub}: temp files left: {:?}",
            dir_entries(&outdir)
        );
    }

    // An existing output file is left untouched by a failed run.
    fs::write(outdir.join("result.jsonl"), "previous\n").unwrap();
    let o = run_in(
        Some(dir.path()),
        &["cluster", "bad.jsonl", "-o", "out/result.jsonl"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(outdir.join("result.jsonl")).unwrap(),
        "previous\n"
    );
    assert_eq!(
        dir_entries(&outdir),
        BTreeSet::from(["result.jsonl".to_owned()])
    );

    // An absolute path is shown as given too.
    let abs = dir.path().join("bad.jsonl");
    let o = run(&["cluster", p(&abs), "-q"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("{}:3:", p(&abs))),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "nothing written to stdout on failure");
}

#[test]
fn skip_bad_reports_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, good_ids) = bad_third_line();
    let input = write_file(&dir.path().join("bad.jsonl"), &bytes);
    let out = dir.path().join("assign.jsonl");
    let o = run(&[
        "cluster",
        &input,
        "--skip-bad",
        "--format",
        "assignments",
        "-o",
        p(&out),
    ]);
    ok(&o);
    let err = stderr(&o);
    assert!(err.contains(":3:") && err.contains("skipped"), "{err}");
    assert!(err.contains(&format!("{input}:3:")), "{err}");
    let assign = parse_assignments(&fs::read_to_string(&out).unwrap());
    let ids: Vec<String> = assign.into_iter().map(|(i, _)| i).collect();
    assert_eq!(ids, good_ids, "one line per good record");
    assert!(!ids.iter().any(|i| i == "x"));

    // Dedup with --skip-bad writes only good records.
    let text = run_ok(&["dedup", &input, "--skip-bad", "-o", "-", "--annotate", "-q"]);
    assert_eq!(text.lines().count(), good_ids.len());
}

#[test]
fn each_kind_of_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let good1 = br#"{"id":"g1","text":"The lighthouse keeper counted forty gulls on the northern rocks this morning."}"#;
    let good2 = br#"{"id":"g2","text":"A marching band rehearsed in the empty car park behind the old cannery."}"#;
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "missing-text",
            br#"{"id":"b","body":"no text field here"}"#,
            "text",
        ),
        (
            "duplicate-id",
            br#"{"id":"g1","text":"A second record reusing an id already read."}"#,
            "duplicate",
        ),
        (
            "bad-utf8",
            b"{\"id\":\"b\",\"text\":\"broken \xff\xfe bytes\"}",
            "UTF-8",
        ),
        ("not-object", b"[1, 2, 3]", ""),
        ("numeric-text", br#"{"id":"b","text":12}"#, ""),
    ];
    for (name, bad, needle) in cases {
        let mut bytes = Vec::new();
        for line in [&good1[..], &good2[..], bad] {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        let path = write_file(&dir.path().join(format!("{name}.jsonl")), &bytes);

        let o = run(&["cluster", &path, "--format", "assignments", "-q"]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&format!("{path}:3:")), "{name}: {err}");
        assert!(err.contains(needle), "{name}: expected {needle:?} in {err}");
        assert!(o.stdout.is_empty(), "{name}: no output on failure");

        let o = run(&["cluster", &path, "--format", "assignments", "--skip-bad"]);
        let ids: Vec<String> = parse_assignments(&ok(&o))
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(ids, ["g1", "g2"], "{name}");
        assert!(stderr(&o).contains("skipped"), "{name}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{path}:3:")),
            "{name}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn empty_text_is_a_singleton() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = corpus_lines()[..6].to_vec();
    lines.insert(2, r#"{"id":"blank-page","text":""}"#.to_owned());
    lines.push(r#"{"id":"blank-page-2","text":"   "}"#.to_owned());
    let path = write_file(
        &dir.path().join("with-empty.jsonl"),
        (lines.join("\n") + "\n").as_bytes(),
    );
    let assign = assignments_of(&[&path]);
    assert_eq!(assign.len(), lines.len());
    assert_eq!(assign[2].0, "blank-page");
    for id in ["blank-page", "blank-page-2"] {
        let c = assign.iter().find(|(i, _)| i == id).unwrap().1;
        let size = assign.iter().filter(|(_, k)| *k == c).count();
        assert_eq!(size, 1, "{id} is a singleton");
    }
    // Not in any cluster of the clusters output either.
    let text = run_ok(&["cluster", &path, "-q"]);
    assert!(!text.contains("blank-page"), "{text}");
}

#[test]
fn nonexistent_input_and_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file.jsonl");
    let o = run(&["cluster", p(&missing)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(p(&missing)), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let empty = write_file(&dir.path().join("empty.jsonl"), b"");
    for format in ["clusters", "assignments", "pairs"] {
        let text = run_ok(&["cluster", &empty, "--format", format, "-q"]);
        assert!(text.is_empty(), "{format}: {text:?}");
    }
    let out = dir.path().join("empty-out.jsonl");
    ok(&run(&[
        "cluster",
        &empty,
        "--format",
        "assignments",
        "-q",
        "-o",
        p(&out),
    ]));
    assert_eq!(fs::read(&out).unwrap(), b"");
    assert!(run_ok(&["dedup", &empty, "-o", "-", "-q"]).is_empty());
    // Blank lines only: no documents either.
    let blank = write_file(&dir.path().join("blank.jsonl"), b"\n  \n\n");
    assert!(run_ok(&["cluster", &blank, "--format", "assignments", "-q"]).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 8. Input kinds
// ---------------------------------------------------------------------------------------------

#[test]
fn directory_of_text_and_html_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("news");
    write_file(&root.join("ferry.txt"), ferry_txt().as_bytes());
    write_file(
        &root.join("mirror/ferry-copy.html"),
        ferry_html().as_bytes(),
    );
    write_file(&root.join("observatory.txt"), OBSERVATORY.as_bytes());
    write_file(
        &root.join("notes.md"),
        b"ignored: not a document kind read from directories",
    );

    let assign = assignments_of(&[p(&root)]);
    let ids: Vec<&str> = assign.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(
        ids,
        ["ferry.txt", "mirror/ferry-copy.html", "observatory.txt"],
        "ids are relative paths, sorted"
    );
    assert_eq!(assign[0].1, assign[1].1, "the two copies are one cluster");
    assert_ne!(assign[0].1, assign[2].1, "the unrelated story is apart");

    let clusters = parse_lines(&run_ok(&["cluster", p(&root), "-q"]));
    assert_eq!(clusters.len(), 1);
    assert_eq!(u(&clusters[0], "size"), 2);
    // Without times, the representative is the longer clean text; either way it's a member.
    let rep = s(&clusters[0], "representative");
    assert!(
        rep == "ferry.txt" || rep == "mirror/ferry-copy.html",
        "{rep}"
    );

    // Dedup of whole-file documents writes {"id","text"} records, one per story.
    let text = run_ok(&["dedup", p(&root), "-o", "-", "-q"]);
    let recs = parse_lines(&text);
    assert_eq!(recs.len(), 2);
    assert!(recs
        .iter()
        .any(|r| s(r, "id") == "observatory.txt" && s(r, "text") == OBSERVATORY));
}

#[test]
fn gzip_input_matches_plain() {
    let dir = tempfile::tempdir().unwrap();
    let plain = fs::read(CORPUS).unwrap();
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&plain).unwrap();
    let gz = write_file(&dir.path().join("docs.jsonl.gz"), &enc.finish().unwrap());
    let a = run_ok(&["cluster", CORPUS, "--format", "assignments", "-q"]);
    let b = run_ok(&["cluster", &gz, "--format", "assignments", "-q"]);
    assert_eq!(a.lines().count(), 44);
    assert_eq!(a, b);
    let a = run_ok(&["cluster", CORPUS, "-q"]);
    let b = run_ok(&["cluster", &gz, "-q"]);
    assert_eq!(a, b);

    // A truncated gzip stream is an error, even with --skip-bad.
    let bytes = fs::read(&gz).unwrap();
    let cut = write_file(&dir.path().join("cut.jsonl.gz"), &bytes[..bytes.len() / 2]);
    let o = run(&["cluster", &cut, "--skip-bad", "-q"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&cut), "{}", stderr(&o));
}

#[test]
fn stdin_input() {
    let plain = fs::read(CORPUS).unwrap();
    let expected = run_ok(&["cluster", CORPUS, "--format", "assignments", "-q"]);
    let o = run_in(
        None,
        &["cluster", "-", "--format", "assignments", "-q"],
        Some(&plain),
    );
    assert_eq!(ok(&o), expected);
    let o = run_in(None, &["dedup", "-", "-o", "-", "-q"], Some(&plain));
    assert_eq!(ok(&o), run_ok(&["dedup", CORPUS, "-o", "-", "-q"]));
    // Standard input can be read only once.
    let o = run_in(None, &["cluster", "-", "-", "-q"], Some(&plain));
    assert_eq!(o.status.code(), Some(1));
}

// ---------------------------------------------------------------------------------------------
// 9. Field names
// ---------------------------------------------------------------------------------------------

#[test]
fn custom_id_and_text_fields() {
    let dir = tempfile::tempdir().unwrap();
    let renamed: Vec<String> = corpus_records()
        .into_iter()
        .map(|mut v| {
            let obj = v.as_object_mut().unwrap();
            let id = obj.remove("id").unwrap();
            let text = obj.remove("text").unwrap();
            obj.insert("doc_id".into(), id);
            obj.insert("body".into(), text);
            v.to_string()
        })
        .collect();
    let path = write_file(
        &dir.path().join("renamed.jsonl"),
        (renamed.join("\n") + "\n").as_bytes(),
    );

    let expected = run_ok(&["cluster", CORPUS, "--format", "assignments", "-q"]);
    let got = run_ok(&[
        "cluster",
        &path,
        "--format",
        "assignments",
        "-q",
        "--id-field",
        "doc_id",
        "--text-field",
        "body",
    ]);
    assert_eq!(got, expected);

    // Without the flags the records lack "id": an error at line 1.
    let o = run(&["cluster", &path, "-q"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!("{path}:1:")), "{}", stderr(&o));

    // Dedup writes the renamed records back byte for byte.
    let text = run_ok(&[
        "dedup",
        &path,
        "--id-field",
        "doc_id",
        "--text-field",
        "body",
        "-o",
        "-",
        "-q",
    ]);
    let set: HashSet<&str> = renamed.iter().map(String::as_str).collect();
    assert!(text.lines().all(|l| set.contains(l)));
    assert_eq!(
        text.lines().count(),
        run_ok(&["dedup", CORPUS, "-o", "-", "-q"]).lines().count()
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Compare
// ---------------------------------------------------------------------------------------------

#[test]
fn compare_files_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_file(&dir.path().join("ferry.txt"), ferry_txt().as_bytes());
    let b = write_file(&dir.path().join("ferry-copy.html"), ferry_html().as_bytes());
    let c = write_file(&dir.path().join("observatory.txt"), OBSERVATORY.as_bytes());

    let text = run_ok(&["compare", &a, &b]);
    let verdict = text
        .lines()
        .find(|l| l.starts_with("verdict:"))
        .unwrap_or_else(|| panic!("no verdict: {text}"));
    assert!(
        verdict.contains("copy") && !verdict.contains("not a copy"),
        "{verdict}"
    );

    let json: Value = serde_json::from_str(&run_ok(&["compare", &a, &b, "--json"]))
        .expect("compare --json is JSON");
    for key in [
        "containment_a_in_b",
        "containment_b_in_a",
        "similarity",
        "jaccard",
    ] {
        assert_unit(f(&json, key), key);
    }
    // Tags, `&nbsp;` and the style sheet are not story text: after normalization the two
    // copies are the same words.
    assert_eq!(f(&json, "similarity"), 1.0, "{json}");
    assert_eq!(json["only_in_a"], Value::Array(vec![]), "{json}");
    assert_eq!(json["only_in_b"], Value::Array(vec![]), "{json}");
    assert!(s(&json, "verdict").starts_with("copy"), "{json}");
    assert!(u(&json, "shingles_a") > 0 && u(&json, "shingles_b") > 0);

    // An unrelated story is not a copy.
    let text = run_ok(&["compare", &a, &c]);
    let verdict = text.lines().find(|l| l.starts_with("verdict:")).unwrap();
    assert!(verdict.contains("not a copy"), "{verdict}");
    let json: Value = serde_json::from_str(&run_ok(&["compare", &a, &c, "--json"])).unwrap();
    assert!(f(&json, "similarity") < 0.1, "{json}");

    // By id in the corpus.
    let json: Value = serde_json::from_str(&run_ok(&[
        "compare",
        "--input",
        CORPUS,
        "quake-orig",
        "halmstrand-gazette-quake",
        "--json",
    ]))
    .unwrap();
    assert!(s(&json, "verdict").starts_with("copy"), "{json}");
    // The trimmed outlet copy is contained in the original.
    assert!(f(&json, "containment_b_in_a") >= 0.8, "{json}");
    let text = run_ok(&["compare", "--input", CORPUS, "quake-orig", "scrape1-quake"]);
    assert!(text.contains("verdict:") && text.contains("copy"), "{text}");
    let text = run_ok(&["compare", "--input", CORPUS, "quake-orig", "quake-followup"]);
    assert!(
        text.contains("not a copy"),
        "a follow-up quoting one paragraph is not a copy: {text}"
    );

    // An unknown id is an error naming it.
    let o = run(&["compare", "--input", CORPUS, "quake-orig", "no-such-story"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-story"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------------
// 11-12. Usage errors and help
// ---------------------------------------------------------------------------------------------

#[test]
fn usage_errors() {
    let o = run(&["cluster", CORPUS, "--threshold", "1.5"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an out-of-range value is a usage error"
    );
    assert!(stderr(&o).contains("threshold"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let o = run(&["cluster", CORPUS, "--containment", "-0.1"]);
    assert_eq!(o.status.code(), Some(2));
    for bad in [
        &["-j", "0"][..],
        &["-k", "0"],
        &["--num-perm", "0"],
        &["--bands", "20", "--rows", "10"],
    ] {
        let mut args = vec!["cluster", CORPUS];
        args.extend_from_slice(bad);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }

    let o = run(&["frobnicate"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "unknown subcommand is a usage error"
    );
    assert!(stderr(&o).contains("frobnicate"));

    let o = run(&["cluster", CORPUS, "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));

    let o = run(&["cluster", CORPUS, "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));

    // An input is required.
    let o = run(&["cluster"]);
    assert_eq!(o.status.code(), Some(2));
    // dedup needs -o.
    let o = run(&["dedup", CORPUS]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_lists_flags() {
    let text = run_ok(&["cluster", "--help"]);
    for flag in [
        "--threshold",
        "--skip-bad",
        "--format",
        "--output",
        "--id-field",
        "--text-field",
        "--threads",
    ] {
        assert!(text.contains(flag), "{flag} missing from help:\n{text}");
    }
    // With help text, not just names.
    assert!(text.contains("Skip malformed records"), "{text}");
    assert!(text.contains("Copy threshold"), "{text}");

    let top = run_ok(&["--help"]);
    for sub in ["cluster", "dedup", "compare", "eval"] {
        assert!(
            top.contains(sub),
            "{sub} missing from top-level help:\n{top}"
        );
    }
}

#[test]
fn strict_turns_skips_into_exit_status_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mixed.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"text\":\"ferry service resumes after the storm\"}\nnot json\n",
    )
    .expect("write input");
    let p = path.to_string_lossy().into_owned();
    let out = dir.path().join("out.jsonl");
    let o = run(&[
        "cluster",
        &p,
        "--skip-bad",
        "--strict",
        "--format",
        "assignments",
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("--strict"));
    // The output is still written, with the good record.
    let written = std::fs::read_to_string(&out).expect("output written");
    assert_eq!(written.lines().count(), 1);
    // Without skips, --strict changes nothing.
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, "{\"id\":\"a\",\"text\":\"x\"}\n").expect("write");
    let o = run(&[
        "cluster",
        &good.to_string_lossy(),
        "--skip-bad",
        "--strict",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    // The summary accounts for every record.
    let o = run(&["cluster", &p, "--skip-bad"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("read 2 records"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("= 1 documents + 1 malformed records skipped"),
        "{}",
        stderr(&o)
    );
}

/// Makes a FIFO at `path` with the system's `mkfifo`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// `-o` naming something that is not a regular file (`/dev/null`, a FIFO) writes through it:
/// renaming a finished temporary file over it, as for a regular file, would replace the device
/// (as root, `/dev/null` itself). A FIFO stands in for `/dev/null` here, which a test must not
/// risk. A directory is an error.
#[cfg(unix)]
#[test]
fn output_to_a_fifo_is_written_through_it() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let want = run_ok(&["cluster", CORPUS, "--format", "assignments", "-q"]);
    let fifo = dir.path().join("out");
    mkfifo(&fifo);
    // Opened for reading and writing: never blocks, and gives wiredup a reader to write to.
    let mut reader = fs::File::options()
        .read(true)
        .write(true)
        .open(&fifo)
        .expect("open fifo");
    let o = run(&[
        "cluster",
        CORPUS,
        "--format",
        "assignments",
        "-q",
        "-o",
        p(&fifo),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let kind = fs::symlink_metadata(&fifo).expect("stat").file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
    assert_eq!(dir_entries(dir.path()), BTreeSet::from(["out".to_string()]));
    // The output is far below a pipe's buffer; an end marker of our own keeps reads bounded.
    reader.write_all(b"END\n").expect("write marker");
    let mut got = vec![0u8; want.len() + 4];
    reader.read_exact(&mut got).expect("read the output back");
    assert_eq!(String::from_utf8_lossy(&got), format!("{want}END\n"));

    let o = run(&["cluster", CORPUS, "-q", "-o", p(dir.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}

/// `-o -` is standard output for every command that writes lines (a file named `-` in the
/// working directory before), and a usage error for the files written whole and renamed
/// (shards, indexes), which cannot go to standard output.
#[test]
fn dash_output_is_standard_output_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ok(&run(&["cluster", CORPUS, "-q", "--format", "assignments"]));
    assert_eq!(plain.lines().count(), 44);
    let shard = dir.path().join("c.wds");
    ok(&run(&["sketch", CORPUS, "-q", "-o", p(&shard)]));
    for input in [("cluster", CORPUS), ("cluster-shards", p(&shard))] {
        let args = [input.0, input.1, "-q", "--format", "assignments", "-o", "-"];
        assert_eq!(
            ok(&run_in(Some(dir.path()), &args, None)),
            plain,
            "{args:?}"
        );
    }
    let index = dir.path().join("c.wdx");
    ok(&run(&["index", "build", CORPUS, "-q", "-o", p(&index)]));
    let o = run_in(
        Some(dir.path()),
        &["index", "query", p(&index), CORPUS, "-q", "-o", "-"],
        None,
    );
    assert_eq!(ok(&o).lines().count(), 44);
    for args in [
        vec!["sketch", CORPUS, "-q", "-o", "-"],
        vec!["index", "build", CORPUS, "-q", "-o", "-"],
    ] {
        let o = run_in(Some(dir.path()), &args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("not `-`"), "{}", stderr(&o));
    }
    assert!(!dir.path().join("-").exists(), "a file named - was written");
}
