//! The feed index and the stream, end to end: the format-1 fixture, the `wiredup index` and
//! `wiredup stream` commands as real processes, the quality bar of streaming on the
//! development set (bar 1) and crash safety under SIGKILL (bar 2).
//!
//! `tests/fixtures/index-v1.wdx` is an index of format version 1 built from
//! [`fixture_docs`]; it is kept so that later format versions are tested to still read it.
//! Regenerate it only when that is intended:
//! `cargo test --release --test index -- --ignored write_fixture_v1`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

mod common;
use wiredup::index::{Index, FORMAT_VERSION};
use wiredup::io::{Document, Origin};
use wiredup::pipeline::{parse_time, Config};
use wiredup::shingle::{ShingleConfig, ShingleHash};

const BIN: &str = env!("CARGO_BIN_EXE_wiredup");
/// An index written by a version-1 writer (64-bit shingles), kept to test that it still opens.
const FIXTURE_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/index-v1.wdx");
/// The same documents written by a version-2 writer (32-bit shingles).
const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/index-v2.wdx");
/// The same documents written by a version-3 writer (the shingle hash recorded; the fold hash).
const FIXTURE_V3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/index-v3.wdx");
/// Version 3 with the word hash of indexes written since 2026-11-27 (`Fold32`); `FIXTURE_V3`
/// holds the fold hash with 64-bit window mixing, which version 3 wrote before.
const FIXTURE_V3_FOLD32: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/index-v3-fold32.wdx"
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn wiredup: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child
            .stdin
            .take()
            .unwrap_or_else(|| panic!("no stdin pipe"));
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait: {e}"));
        let _ = writer.join();
        return out;
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"))
}

fn ok(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let o = run(args, stdin);
    assert!(
        o.status.success(),
        "wiredup {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 temp path"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"))
}

fn doc(id: &str, source: &str, published: &str, text: &str) -> Document {
    Document {
        id: id.to_string(),
        text: text.to_string(),
        source: (!source.is_empty()).then(|| source.to_string()),
        published: (!published.is_empty()).then(|| published.to_string()),
        origin: Origin::new("fixture", 0),
        record: None,
    }
}

fn jsonl(docs: &[Document]) -> String {
    docs.iter()
        .map(|d| {
            let mut v = serde_json::json!({"id": d.id, "text": d.text});
            if let Some(s) = &d.source {
                v["source"] = Value::from(s.as_str());
            }
            if let Some(p) = &d.published {
                v["published"] = Value::from(p.as_str());
            }
            v.to_string() + "\n"
        })
        .collect()
}

/// Seeded xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `n` generated news-like documents (ids `PREFIX-i`): stories of 3 to 6 paragraphs, a third of
/// them followed by a copy with one paragraph dropped.
fn generated(prefix: &str, n: usize, seed: u64) -> Vec<Document> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut docs: Vec<Document> = Vec::with_capacity(n);
    while docs.len() < n {
        let paras: Vec<String> = (0..3 + rng.below(4))
            .map(|_| {
                (0..20 + rng.below(20))
                    .map(|_| format!("w{}", rng.below(20_000)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let i = docs.len();
        docs.push(doc(
            &format!("{prefix}-{i}"),
            &format!("site{}", rng.below(20)),
            "2024-02-01T00:00:00Z",
            &paras.join("\n\n"),
        ));
        if rng.below(3) == 0 && docs.len() < n {
            let i = docs.len();
            docs.push(doc(
                &format!("{prefix}-{i}"),
                &format!("site{}", rng.below(20)),
                "2024-02-01T06:00:00Z",
                &paras[1..].join("\n\n"),
            ));
        }
    }
    docs
}

// ---------------------------------------------------------------------------------------------
// The format-1 fixture
// ---------------------------------------------------------------------------------------------

const STORY_A: [&str; 4] = [
    "Harbour council votes to rebuild the old stone pier",
    "PORTMARSH, June 1 (Coastwire) - The harbour council voted on Saturday to rebuild the old stone pier that was damaged in the spring storms, ending a year of debate about the future of the waterfront.",
    "Councillors approved a budget of four million crowns for the work, which will begin in August and is expected to take eighteen months, the council said in a statement after the vote.",
    "Fishermen who use the pier every morning welcomed the decision but said they still worried about where to moor their boats while the builders were at work on the structure.",
];

const STORY_B: [&str; 4] = [
    "Night trains return to the northern valley line",
    "ELDERBY, June 1 (Coastwire) - Night trains will run again on the northern valley line from next month after the railway company reached an agreement with the regional government on sharing the cost.",
    "The service was cut three years ago when passenger numbers fell, and residents of the valley towns have campaigned since then for its return, collecting more than twenty thousand signatures.",
    "The first train will leave the capital at eleven in the evening and reach the last station of the valley shortly after five the next morning, stopping at nine towns on the way.",
];

const STORY_C: [&str; 4] = [
    "Museum opens a hall of forgotten maps",
    "KESTON, June 2 (Coastwire) - The city museum opened a new hall on Sunday devoted to maps drawn by travelling merchants in the seventeenth century, most of them never shown to the public before.",
    "The collection was found in the attic of a merchant house during renovation work two years ago and has since been restored by a team of conservators working with the national library.",
    "Visitors can follow the routes of the merchants across the mountains on a large floor map at the centre of the hall, which the curators built from the original drawings.",
];

const SITE_HEADER: &str = "Share this story with your friends on every network";
const SITE_FOOTER: &str = "All rights reserved by the team of scrapes example who bring you the best news from around the world every single day of the year";

fn fixture_docs() -> Vec<Document> {
    let scrape = |story: &[&str]| {
        let mut v = vec![SITE_HEADER.to_string()];
        v.extend(story.iter().map(|s| s.to_string()));
        v.push(SITE_FOOTER.to_string());
        v.join("\n\n")
    };
    let outlet_a = STORY_A
        .iter()
        .map(|p| p.replace("four million crowns", "4 million crowns"))
        .collect::<Vec<_>>()
        .join("\n\n");
    vec![
        doc("wire-a", "coastwire", "2024-06-01T08:00:00Z", &STORY_A.join("\n\n")),
        doc("wire-b", "coastwire", "2024-06-01T09:00:00Z", &STORY_B.join("\n\n")),
        doc("outlet-a", "daily.example", "2024-06-01T12:00:00Z", &outlet_a),
        doc("scrape-a", "scrapes.example", "2024-06-01T20:00:00Z", &scrape(&STORY_A)),
        doc("wire-c", "coastwire", "2024-06-02T10:00:00Z", &STORY_C.join("\n\n")),
        doc("scrape-b", "scrapes.example", "2024-06-02T01:00:00Z", &scrape(&STORY_B)),
        doc(
            "scrape-x",
            "scrapes.example",
            "2024-06-02T03:00:00Z",
            &scrape(&["A small dog was rescued from a drain by the fire brigade on Sunday afternoon and returned to its owner unharmed"]),
        ),
        doc("excerpt-c", "digest.example", "2024-06-03T07:00:00Z", &STORY_C[..3].join("\n\n")),
        doc("empty", "", "", " -- "),
    ]
}

#[test]
#[ignore = "writes tests/fixtures/index-v3*.wdx; run only to regenerate the fixtures on purpose"]
fn write_fixture_v3() {
    assert_eq!(
        FORMAT_VERSION, 3,
        "the v3 fixture must be written by a version-3 writer"
    );
    for (hash, path) in [
        (ShingleHash::Fold, FIXTURE_V3),
        (ShingleHash::Fold32, FIXTURE_V3_FOLD32),
    ] {
        let mut index =
            Index::build(&fixture_docs(), &with_hash(hash)).unwrap_or_else(|e| panic!("{e}"));
        if let Some(dir) = Path::new(path).parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        }
        index
            .save(Path::new(path))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The default options with another word hash (that of files of format 1 and 2).
fn with_hash(hash: ShingleHash) -> Config {
    Config {
        shingle: ShingleConfig {
            hash,
            ..ShingleConfig::default()
        },
        ..Config::default()
    }
}

/// The contents every fixture must open with, whatever version wrote it (`hash`: the word
/// hash that version used).
fn check_fixture(index: &Index, hash: ShingleHash) {
    assert_eq!(index.config().shingle.hash, hash);
    let want: Vec<String> = fixture_docs().into_iter().map(|d| d.id).collect();
    assert_eq!(index.ids().collect::<Vec<_>>(), want);
    assert_eq!(index.config().minhash.num_perm, 128);
    assert_eq!(index.config().shingle.k, 3);
    assert_eq!(index.config().minhash.seed, 42);
    assert_eq!(index.config().lsh_params(), Config::default().lsh_params());
    assert!(index.check_config(&Config::default()).is_ok());
    for (id, of) in [
        ("wire-a", None),
        ("outlet-a", Some("wire-a")),
        ("scrape-a", Some("wire-a")),
        ("wire-b", None),
        ("scrape-b", Some("wire-b")),
        ("wire-c", None),
        ("excerpt-c", Some("wire-c")),
        ("scrape-x", None),
        ("empty", None),
    ] {
        assert_eq!(index.dup_of(id), Some(of), "{id}");
    }
    // The site's header and footer were learned as boilerplate (three pages of one source).
    assert_eq!(index.boilerplate().len(), 2);
    let st = index.stats();
    assert_eq!((st.documents, st.empty, st.sources), (9, 1, 4));
    assert_eq!(st.oldest, parse_time("2024-06-01T08:00:00Z"));
    assert_eq!(st.newest, parse_time("2024-06-03T07:00:00Z"));

    // Queries: a new repost of A wrapped in another site's text, an excerpt of B, a stranger.
    let wrapped = format!(
        "Breaking from our partners\n\n{}\n\nRead more stories like this on the example network, where every reader gets the headlines first",
        STORY_A.join("\n\n")
    );
    let q = vec![
        doc("q-wrapped", "other.example", "", &wrapped),
        doc("q-excerpt", "", "", &STORY_B[1..3].join("\n\n")),
        doc("q-none", "", "", "Completely unrelated words about a chess tournament held in the mountains last winter with many players"),
    ];
    let r = index.query(&q);
    let ids = |i: usize| -> Vec<&str> { r[i].matches.iter().map(|m| m.id.as_str()).collect() };
    assert_eq!(ids(0), ["wire-a", "scrape-a", "outlet-a"]);
    let best = &r[0].matches[0];
    assert_eq!(best.containment_match_in_query, 1.0);
    assert!(best.containment_query_in_match > 0.75 && best.containment_query_in_match < 1.0);
    assert_eq!(ids(1), ["wire-b", "scrape-b"]);
    assert_eq!(r[1].matches[0].containment_query_in_match, 1.0);
    assert!(r[2].matches.is_empty());

    // What was read is what this build would build from the same documents: the story sets,
    // signatures and stats (a version-1 file's 64-bit shingles are narrowed and re-signed).
    let built = Index::build(&fixture_docs(), &with_hash(hash)).unwrap_or_else(|e| panic!("{e}"));
    for id in &want {
        assert_eq!(index.story_set(id), built.story_set(id), "{id}");
        assert_eq!(index.signature(id), built.signature(id), "{id}");
    }
    assert_eq!(index.stats(), built.stats());
}

#[test]
fn fixture_v1_opens_with_its_contents() {
    let index = Index::open(Path::new(FIXTURE_V1)).unwrap_or_else(|e| panic!("{e}"));
    check_fixture(&index, ShingleHash::Xxh3);
}

#[test]
fn fixture_v2_opens_with_its_contents() {
    let index = Index::open(Path::new(FIXTURE_V2)).unwrap_or_else(|e| panic!("{e}"));
    check_fixture(&index, ShingleHash::Xxh3);
}

#[test]
fn fixture_v3_opens_with_its_contents() {
    let index = Index::open(Path::new(FIXTURE_V3)).unwrap_or_else(|e| {
        panic!("{e} (regenerate with: cargo test --release --test index -- --ignored write_fixture_v3)")
    });
    check_fixture(&index, ShingleHash::Fold);
    same_bytes_when_saved(&index, FIXTURE_V3);
}

#[test]
fn fixture_v3_fold32_opens_with_its_contents() {
    let index = Index::open(Path::new(FIXTURE_V3_FOLD32)).unwrap_or_else(|e| {
        panic!("{e} (regenerate with: cargo test --release --test index -- --ignored write_fixture_v3)")
    });
    check_fixture(&index, ShingleHash::Fold32);
    // The default: this build writes what the fixture holds.
    assert_eq!(Config::default().shingle.hash, ShingleHash::Fold32);
    same_bytes_when_saved(&index, FIXTURE_V3_FOLD32);
}

/// Saving what was read from a version-3 fixture gives the same bytes while this build writes
/// version 3: the format did not change without a version bump.
fn same_bytes_when_saved(index: &Index, fixture: &str) {
    if FORMAT_VERSION == 3 {
        let dir = tempdir();
        let copy = dir.path().join("copy.wdx");
        let mut again = index.clone();
        again.save(&copy).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            fs::read(&copy).ok(),
            fs::read(fixture).ok(),
            "format-3 bytes changed: bump FORMAT_VERSION and keep reading version 3"
        );
    }
}

#[test]
fn documents_added_to_a_fold_index_are_mixed_in_64_bits() {
    // Indexes written before `Fold32` mixed word windows in 64 bits: a copy added to one must
    // be shingled the same way to be seen as a copy, and saving keeps that hash.
    let mut index = Index::open(Path::new(FIXTURE_V3)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.config().shingle.hash, ShingleHash::Fold);
    let mut copy = fixture_docs().remove(0);
    copy.id = "copy-of-a".to_owned();
    index.add(&[copy]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.dup_of("copy-of-a"), Some(Some("wire-a")));
    assert_eq!(index.story_set("copy-of-a"), index.story_set("wire-a"));
    let dir = tempdir();
    let path = dir.path().join("again.wdx");
    index.save(&path).unwrap_or_else(|e| panic!("{e}"));
    let again = Index::open(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.config().shingle.hash, ShingleHash::Fold);
    assert_eq!(again.story_set("copy-of-a"), again.story_set("wire-a"));
}

#[test]
fn documents_added_to_an_older_index_are_hashed_as_its_own() {
    // A version-2 index hashed words with xxh3: a copy added to it must be hashed the same
    // way to be seen as a copy (with the fold hash it would share no shingle), and the index
    // saved again (as version 3) must say so.
    let mut index = Index::open(Path::new(FIXTURE_V2)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.file_version(), 2);
    let mut copy = fixture_docs().remove(0);
    copy.id = "copy-of-a".to_owned();
    let decisions = index.add(&[copy]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decisions.len(), 1);
    assert_eq!(index.dup_of("copy-of-a"), Some(Some("wire-a")));
    let dir = tempdir();
    let path = dir.path().join("again.wdx");
    index.save(&path).unwrap_or_else(|e| panic!("{e}"));
    let again = Index::open(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.file_version(), FORMAT_VERSION);
    assert_eq!(again.config().shingle.hash, ShingleHash::Xxh3);
    assert_eq!(again.story_set("copy-of-a"), index.story_set("wire-a"));
}

// ---------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------

#[test]
fn index_commands_round_trip() {
    let dir = tempdir();
    let docs = fixture_docs();
    let first = dir.path().join("first.jsonl");
    let rest = dir.path().join("rest.jsonl");
    fs::write(&first, jsonl(&docs[..5])).unwrap_or_else(|e| panic!("{e}"));
    fs::write(&rest, jsonl(&docs[5..])).unwrap_or_else(|e| panic!("{e}"));
    let idx = dir.path().join("feed.wdx");

    ok(&["index", "build", s(&first), "-o", s(&idx)], None);
    let o = ok(&["index", "add", s(&idx), s(&rest), "-j", "1"], None);
    assert!(err(&o).contains("added 4 documents"), "{}", err(&o));

    // Adding the same documents again is refused, and leaves the index as it was.
    let o = run(&["index", "add", s(&idx), s(&rest)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("already in the index"), "{}", err(&o));
    let o = ok(&["index", "add", s(&idx), s(&rest), "--skip-bad"], None);
    assert!(err(&o).contains("added 0 documents"), "{}", err(&o));

    let o = ok(&["index", "stats", s(&idx), "--json"], None);
    let v: Value = serde_json::from_str(text(&o).trim()).unwrap_or_default();
    assert_eq!(v["stats"]["documents"], 9);
    assert_eq!(v["stats"]["duplicates"], 4);
    assert_eq!(v["format_version"], FORMAT_VERSION);
    assert_eq!(v["options"]["shingle"]["hash"], "fold32");
    let o = ok(&["index", "stats", s(&idx)], None);
    assert!(text(&o).contains("documents:    9"), "{}", text(&o));
    assert!(text(&o).contains("word hash:    fold32\n"), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("(format {FORMAT_VERSION}, ")),
        "{}",
        text(&o)
    );
    // An index of format 2 says it hashes words with xxh3.
    let o = ok(&["index", "stats", FIXTURE_V2, "--json"], None);
    let v: Value = serde_json::from_str(text(&o).trim()).unwrap_or_default();
    assert_eq!(v["options"]["shingle"]["hash"], "xxh3");
    assert_eq!(v["format_version"], 2);

    // Query: JSON lines, best first, all four scores.
    let q = dir.path().join("q.jsonl");
    fs::write(
        &q,
        jsonl(&[
            doc("q1", "", "", &STORY_C[1..].join("\n\n")),
            doc("q2", "", "", "nothing to see here at all"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = ok(&["index", "query", s(&idx), s(&q)], None);
    let lines: Vec<Value> = text(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_default())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "q1");
    assert_eq!(lines[0]["matches"][0]["id"], "wire-c");
    for key in [
        "similarity",
        "jaccard",
        "containment_query_in_match",
        "containment_match_in_query",
    ] {
        assert!(lines[0]["matches"][0][key].is_number(), "{key}");
    }
    assert_eq!(lines[0]["matches"][0]["containment_query_in_match"], 1.0);
    assert_eq!(lines[1]["matches"], serde_json::json!([]));
    let o = ok(&["index", "query", s(&idx), s(&q), "--top", "1"], None);
    let first_line: Value =
        serde_json::from_str(text(&o).lines().next().unwrap_or("")).unwrap_or_default();
    assert_eq!(first_line["matches"].as_array().map(Vec::len), Some(1));

    // Other options are refused, naming the difference.
    let o = run(
        &["index", "query", s(&idx), s(&q), "-k", "5", "--seed", "1"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("k: index 3, requested 5"), "{}", err(&o));
    assert!(
        err(&o).contains("seed: index 42, requested 1"),
        "{}",
        err(&o)
    );
    // The same options are accepted.
    ok(
        &[
            "index",
            "query",
            s(&idx),
            s(&q),
            "-k",
            "3",
            "--num-perm",
            "128",
        ],
        None,
    );

    // Prune: everything published before June 2nd goes; the undated document stays.
    let o = ok(&["index", "prune", s(&idx), "--before", "2024-06-02"], None);
    assert!(err(&o).contains("pruned 4 documents"), "{}", err(&o));
    let index = Index::open(&idx).unwrap_or_else(|e| panic!("{e}"));
    let mut ids: Vec<&str> = index.ids().collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["empty", "excerpt-c", "scrape-b", "scrape-x", "wire-c"]
    );
    let o = run(
        &["index", "prune", s(&idx), "--before", "last tuesday"],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn damaged_or_missing_indexes_are_clear_errors() {
    let dir = tempdir();
    let idx = dir.path().join("feed.wdx");
    let input = dir.path().join("in.jsonl");
    fs::write(&input, jsonl(&fixture_docs())).unwrap_or_else(|e| panic!("{e}"));
    ok(&["index", "build", s(&input), "-o", s(&idx)], None);
    let good = fs::read(&idx).unwrap_or_default();

    let missing = dir.path().join("nope.wdx");
    let o = run(&["index", "query", s(&missing), s(&input)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("nope.wdx: no such index"), "{}", err(&o));

    fs::write(&idx, &good[..good.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["index", "stats", s(&idx)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("feed.wdx: corrupt index: truncated"),
        "{}",
        err(&o)
    );
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    fs::write(&idx, &flipped).unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["index", "add", s(&idx), s(&input)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("checksum mismatch"), "{}", err(&o));
    // Nothing was written over the damaged file.
    assert_eq!(fs::read(&idx).ok(), Some(flipped));
    fs::write(&idx, b"{\"id\": 1}\n").unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["stream", "--index", s(&idx)], Some(b""));
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("not a wiredup index"), "{}", err(&o));
    assert!(!err(&o).contains("panicked"));
}

/// An index is written whole and renamed over its path, so a path that is a device or FIFO
/// (`/dev/null`; a FIFO stands in for it here) is refused, not replaced by a regular file.
#[cfg(unix)]
#[test]
fn an_index_is_not_renamed_over_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempdir();
    let input = dir.path().join("in.jsonl");
    fs::write(&input, jsonl(&fixture_docs())).unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.path().join("feed.wdx");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success());
    let o = run(&["index", "build", s(&input), "-o", s(&fifo)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("feed.wdx: exists and is not a regular file"),
        "{}",
        err(&o)
    );
    let kind = fs::symlink_metadata(&fifo)
        .unwrap_or_else(|e| panic!("{e}"))
        .file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
}

#[test]
fn stream_answers_each_line_before_the_next_arrives() {
    let dir = tempdir();
    let idx = dir.path().join("live.wdx");
    let docs = fixture_docs();
    let mut child = Command::new(BIN)
        .args(["stream", "--index", s(&idx), "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    for d in &docs {
        stdin
            .write_all(jsonl(std::slice::from_ref(d)).as_bytes())
            .unwrap_or_else(|e| panic!("write: {e}"));
        stdin.flush().unwrap_or_else(|e| panic!("flush: {e}"));
        // The answer comes while the input is still open.
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no output for {} before the next record", d.id));
        got.push(serde_json::from_str::<Value>(&line).unwrap_or_default());
    }
    drop(stdin);
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    let _ = reader.join();
    assert!(status.success());
    let dup: HashMap<&str, Option<&str>> = got
        .iter()
        .map(|v| (v["id"].as_str().unwrap_or(""), v["dup_of"].as_str()))
        .collect();
    assert_eq!(dup["outlet-a"], Some("wire-a"));
    assert_eq!(dup["scrape-a"], Some("wire-a"));
    assert_eq!(dup["scrape-b"], Some("wire-b"));
    assert_eq!(dup["excerpt-c"], Some("wire-c"));
    assert_eq!(dup["scrape-x"], None);
    assert_eq!(dup["wire-c"], None);
    assert!(got[2]["similarity"].as_f64().unwrap_or(0.0) > 0.9);
    // The stream created the index and saved it at the end.
    let index = Index::open(&idx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.len(), docs.len());
    // A second run continues from it: a repeated story is a copy of the first run's original.
    let again = jsonl(&[doc("wire-a-again", "", "", &STORY_A.join("\n\n"))]);
    let o = ok(
        &["stream", "--index", s(&idx), "-q"],
        Some(again.as_bytes()),
    );
    let v: Value = serde_json::from_str(text(&o).trim()).unwrap_or_default();
    assert_eq!(v["dup_of"], "wire-a");
    assert_eq!(v["similarity"], 1.0);
    // Options other than the index's are refused.
    let o = run(
        &["stream", "--index", s(&idx), "--num-perm", "64"],
        Some(b""),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("num_perm: index 128, requested 64"),
        "{}",
        err(&o)
    );
}

#[test]
fn stream_checkpoints_and_window() {
    let dir = tempdir();
    let idx = dir.path().join("w.wdx");
    let mut input = String::new();
    let mut rng = Rng(7);
    for day in 1..=20u32 {
        for j in 0..30 {
            let t = (0..60)
                .map(|_| format!("x{}", rng.below(50_000)))
                .collect::<Vec<_>>()
                .join(" ");
            input += &serde_json::json!({"id": format!("{day}-{j}"), "text": t, "published": format!("2024-01-{day:02}T12:00:00Z")}).to_string();
            input.push('\n');
        }
    }
    let o = ok(
        &[
            "stream",
            "--index",
            s(&idx),
            "--window",
            "2",
            "--checkpoint-every",
            "100",
            // One pool thread: parsing must not wait on the pool from inside it (a deadlock).
            "-j",
            "1",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(text(&o).lines().count(), 600);
    assert!(err(&o).contains("7 saves"), "{}", err(&o));
    let index = Index::open(&idx).unwrap_or_else(|e| panic!("{e}"));
    // Days 18, 19 and 20 (two days before the newest) remain.
    assert_eq!(index.len(), 90, "{}", err(&o));
    assert_eq!(index.oldest(), parse_time("2024-01-18T12:00:00Z"));
}

// ---------------------------------------------------------------------------------------------
// Bar 1: streaming the second half of the dev set against an index of the first half
// ---------------------------------------------------------------------------------------------

#[test]
fn streaming_the_second_half_matches_the_labels() {
    let docs_path = common::dev_docs();
    let raw = fs::read_to_string(&docs_path).unwrap_or_else(|e| panic!("{e}"));
    let mut recs: Vec<(i64, String, String)> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("dev set: {e}"));
            let t = v["published"]
                .as_str()
                .and_then(parse_time)
                .unwrap_or(i64::MIN);
            (t, v["id"].as_str().unwrap_or("").to_string(), l.to_string())
        })
        .collect();
    recs.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let half = recs.len() / 2;
    let join = |r: &[(i64, String, String)]| -> String {
        r.iter().map(|(_, _, l)| format!("{l}\n")).collect()
    };
    let dir = tempdir();
    let (first, idx, assign) = (
        dir.path().join("first.jsonl"),
        dir.path().join("dev.wdx"),
        dir.path().join("first.assign.jsonl"),
    );
    fs::write(&first, join(&recs[..half])).unwrap_or_else(|e| panic!("{e}"));
    ok(&["index", "build", s(&first), "-o", s(&idx), "-q"], None);
    ok(
        &[
            "cluster",
            s(&first),
            "--format",
            "assignments",
            "-o",
            s(&assign),
            "-q",
        ],
        None,
    );
    let second = join(&recs[half..]);
    let o = ok(&["stream", "--index", s(&idx)], Some(second.as_bytes()));

    // First half: clusters of `wiredup cluster` on it; second half: the dup_of root, or itself.
    let mut pred: HashMap<String, String> = HashMap::new();
    let assigned = fs::read_to_string(&assign).unwrap_or_default();
    for l in assigned.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_default();
        pred.insert(
            v["id"].as_str().unwrap_or("").to_string(),
            format!("first:{}", v["cluster"]),
        );
    }
    let streamed = text(&o);
    assert_eq!(streamed.lines().count(), recs.len() - half);
    for l in streamed.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_default();
        let id = v["id"].as_str().unwrap_or("").to_string();
        let label = match v["dup_of"].as_str() {
            Some(of) => pred
                .get(of)
                .cloned()
                .unwrap_or_else(|| format!("second:{of}")),
            None => format!("second:{id}"),
        };
        pred.insert(id, label);
    }
    let labels = wiredup::eval::read_assignments(&docs_path.with_file_name("labels.jsonl"))
        .unwrap_or_else(|e| panic!("labels: {e}"));
    let sc = wiredup::eval::score(&pred, &labels);
    eprintln!("bar 1 (stream second half against an index of the first): {sc}");
    assert_eq!(sc.missing_in_pred, 0);
    assert!(sc.f1 >= 0.98, "pairwise F1 {:.4} below 0.98", sc.f1);
}

// ---------------------------------------------------------------------------------------------
// Bar 2: SIGKILL during `index add` never damages the index nor loses saved documents
// ---------------------------------------------------------------------------------------------

#[test]
fn killing_index_add_never_damages_the_index() {
    let dir = tempdir();
    let idx = dir.path().join("k.wdx");
    let base = dir.path().join("base.jsonl");
    let base_docs = generated("base", 300, 1);
    fs::write(&base, jsonl(&base_docs)).unwrap_or_else(|e| panic!("{e}"));
    ok(&["index", "build", s(&base), "-o", s(&idx), "-q"], None);

    let mut rng = Rng(0x5EED_2024);
    let mut batches: Vec<Vec<String>> = Vec::new();
    // Per batch: whether it was in the index after the last check.
    let mut saved: Vec<bool> = Vec::new();
    let (mut killed, mut completed, mut mid_save) = (0, 0, 0);
    for round in 0..20 {
        // Batch sizes from tiny (the add finishes before the kill) to a few thousand documents
        // (it is killed while adding or while saving).
        let n = [20, 200, 1500, 3000][rng.below(4) as usize];
        let docs = generated(&format!("b{round}"), n, 100 + round as u64);
        let file = dir.path().join(format!("b{round}.jsonl"));
        fs::write(&file, jsonl(&docs)).unwrap_or_else(|e| panic!("{e}"));
        batches.push(docs.iter().map(|d| d.id.clone()).collect());
        saved.push(false);

        let mut child = Command::new(BIN)
            .args(["index", "add", s(&idx), s(&file), "-q"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        std::thread::sleep(Duration::from_millis(rng.below(51)));
        let _ = child.kill(); // SIGKILL; an error means it had already exited.
        let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
        if status.success() {
            completed += 1;
        } else {
            killed += 1;
        }
        let done = status.success();
        // A temporary file beside the index: the add was killed while saving.
        for entry in fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".k.wdx.tmp-")
            {
                mid_save += 1;
                let _ = fs::remove_file(entry.path());
            }
        }

        let index = Index::open(&idx).unwrap_or_else(|e| {
            panic!("round {round}: the index does not open after kill -9: {e}")
        });
        let ids: HashSet<&str> = index.ids().collect();
        assert!(base_docs.iter().all(|d| ids.contains(d.id.as_str())));
        let mut expected = base_docs.len();
        for (b, batch) in batches.iter().enumerate() {
            let present = batch.iter().filter(|id| ids.contains(id.as_str())).count();
            // A batch is in the index completely or not at all; completed ones always are.
            assert!(
                present == 0 || present == batch.len(),
                "round {round}: batch {b} is partly in the index ({present} of {})",
                batch.len()
            );
            if b == round && done {
                assert_eq!(
                    present,
                    batch.len(),
                    "round {round}: completed batch missing"
                );
            }
            // What an earlier save held is never lost.
            if saved[b] {
                assert_eq!(present, batch.len(), "round {round}: saved batch {b} lost");
            }
            saved[b] = present > 0;
            expected += present;
        }
        assert_eq!(index.len(), expected);
    }
    eprintln!("bar 2: {killed} adds killed ({mid_save} while saving), {completed} completed");
    assert!(
        killed > 0,
        "no add was interrupted: make the batches bigger"
    );
    // The index is still usable: one more add completes.
    let last = dir.path().join("last.jsonl");
    fs::write(&last, jsonl(&generated("last", 50, 9))).unwrap_or_else(|e| panic!("{e}"));
    ok(&["index", "add", s(&idx), s(&last), "-q"], None);
}
