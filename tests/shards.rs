//! The sharded route (`wiredup sketch` per shard, then `wiredup cluster-shards`) gives the same
//! output as `wiredup cluster` on the same inputs, byte for byte: on the bundled corpus split in
//! three, and on the shared dev set split in two with different thread counts per shard. And
//! shard files of every format version (`tests/fixtures/shard-v*.wds`) still read as written.

use std::path::{Path, PathBuf};

mod common;
use common::{ok, run};
use wiredup::io::{read_inputs, ReadOptions};
use wiredup::pipeline::{prepare, Config, PrepareScratch};
use wiredup::shard;
use wiredup::shingle::{ShingleConfig, ShingleHash};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/docs.jsonl");

/// Splits a JSONL file into `parts` files of consecutive lines.
fn split(src: &Path, parts: usize, dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let lines: Vec<&str> = text.lines().collect();
    let per = lines.len().div_ceil(parts);
    lines
        .chunks(per)
        .enumerate()
        .map(|(i, chunk)| {
            let p = dir.join(format!("part{i}.jsonl"));
            std::fs::write(&p, chunk.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
            p
        })
        .collect()
}

/// Sketches each part (with the given thread counts, cycled) and clusters the shards; returns
/// the shards' output and `cluster`'s output on the parts, in `format`.
fn both(parts: &[PathBuf], dir: &Path, threads: &[&str], format: &str) -> (Vec<u8>, Vec<u8>) {
    let mut shards = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let shard = dir.join(format!("part{i}.wds"));
        let j = threads[i % threads.len()];
        ok(&[
            "sketch",
            &p.to_string_lossy(),
            "-o",
            &shard.to_string_lossy(),
            "-j",
            j,
            "-q",
        ]);
        shards.push(shard.to_string_lossy().into_owned());
    }
    let mut args = vec!["cluster-shards", "-q", "--format", format];
    args.extend(shards.iter().map(String::as_str));
    let from_shards = ok(&args).stdout;
    let mut args = vec!["cluster", "-q", "--format", format];
    let names: Vec<String> = parts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let direct = ok(&args).stdout;
    (from_shards, direct)
}

#[test]
fn shards_of_the_bundled_corpus_cluster_like_the_whole() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let parts = split(Path::new(CORPUS), 3, dir.path());
    for format in ["clusters", "assignments", "pairs"] {
        let (a, b) = both(&parts, dir.path(), &["1", "2"], format);
        assert!(!a.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{format}"
        );
    }
}

#[test]
fn shards_of_the_dev_set_cluster_like_the_whole() {
    let docs = common::dev_docs();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let parts = split(&docs, 2, dir.path());
    let (a, b) = both(&parts, dir.path(), &["2", "1"], "assignments");
    assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 1645);
    assert!(
        a == b,
        "shard clustering differs from cluster on the dev set"
    );
}

#[test]
fn shard_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shard = dir.path().join("c.wds");
    ok(&["sketch", CORPUS, "-o", &shard.to_string_lossy(), "-q"]);
    let s = shard.to_string_lossy().into_owned();
    // Another shingle length than the shard was sketched with.
    let o = run(&["cluster-shards", &s, "-k", "5"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("c.wds") && e.contains("-k 3"), "{e}");
    // The same shard twice: duplicate ids.
    let o = run(&["cluster-shards", &s, &s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("duplicate id"));
    // Not a shard.
    let o = run(&["cluster-shards", CORPUS]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a wiredup shard"));
    // A damaged shard.
    let mut bytes = std::fs::read(&shard).unwrap_or_else(|e| panic!("{e}"));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&shard, bytes).unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["cluster-shards", &s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("corrupt shard"));
}

/// The input of the shard fixtures: the bundled corpus's first 12 records (two copy clusters,
/// a single, a lone story and three scraper shorts that only share their site's boilerplate).
const FIXTURE_INPUT: &str = "tests/fixtures/shard-input.jsonl";

/// Shard files of every format version this build reads, each written by the `wiredup sketch`
/// of its time from [`FIXTURE_INPUT`], run from the repository root as
/// `wiredup sketch tests/fixtures/shard-input.jsonl -o tests/fixtures/shard-vN.wds`: version 1
/// (64-bit shingles, xxh3 word hash) by commit ee3c850, version 2 (32-bit shingles, xxh3) by
/// c793cf4, version 3 (the word hash recorded; `Fold32`) by 2f3097f. Kept so that a later
/// format is tested to still read them; regenerate none of them.
const SHARD_FIXTURES: [(u32, &str, ShingleHash); 3] = [
    (1, "tests/fixtures/shard-v1.wds", ShingleHash::Xxh3),
    (2, "tests/fixtures/shard-v2.wds", ShingleHash::Xxh3),
    (3, "tests/fixtures/shard-v3.wds", ShingleHash::Fold32),
];

fn in_repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn shard_fixtures_of_every_version_cluster_like_their_input() {
    let input = in_repo(FIXTURE_INPUT).to_string_lossy().into_owned();
    for format in ["clusters", "assignments"] {
        let direct = ok(&["cluster", "-q", "--format", format, &input]).stdout;
        for (version, path, _) in SHARD_FIXTURES {
            let shard = in_repo(path).to_string_lossy().into_owned();
            let from_shard = ok(&["cluster-shards", "-q", "--format", format, &shard]).stdout;
            assert_eq!(
                String::from_utf8_lossy(&from_shard),
                String::from_utf8_lossy(&direct),
                "version {version}, {format}"
            );
        }
    }
}

#[test]
fn shard_fixtures_hold_what_this_build_prepares_with_their_word_hash() {
    let input = in_repo(FIXTURE_INPUT).to_string_lossy().into_owned();
    let corpus = read_inputs(&[input], &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(corpus.docs.len(), 12);
    for (version, path, hash) in SHARD_FIXTURES {
        let file = in_repo(path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            bytes[8..12],
            version.to_le_bytes(),
            "{path}: header version"
        );
        let (shingle, shards) = shard::read(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shingle.hash, hash, "{path}");
        let cfg = Config {
            shingle: ShingleConfig {
                hash,
                ..ShingleConfig::default()
            },
            ..Config::default()
        };
        assert_eq!(shingle, cfg.shingle, "{path}");
        assert_eq!(shards.docs.len(), corpus.docs.len(), "{path}");
        let mut scratch = PrepareScratch::default();
        for ((got, prepared), want) in shards.docs.iter().zip(&shards.prepared).zip(&corpus.docs) {
            assert_eq!(got.id, want.id, "{path}");
            assert_eq!(got.source, want.source, "{path}: {}", want.id);
            assert_eq!(got.published, want.published, "{path}: {}", want.id);
            assert_eq!(got.origin.line, want.origin.line, "{path}: {}", want.id);
            assert_eq!(
                got.origin.file.as_str(),
                FIXTURE_INPUT,
                "{path}: {}",
                want.id
            );
            // A version-1 file's 64-bit shingles are read narrowed to what this build keeps.
            let now = prepare(&want.text, &cfg, &mut scratch);
            assert_eq!(prepared.paragraphs, now.paragraphs, "{path}: {}", want.id);
            assert_eq!(
                prepared.paragraph_meta, now.paragraph_meta,
                "{path}: {}",
                want.id
            );
            assert_eq!(prepared.shingles, now.shingles, "{path}: {}", want.id);
        }
    }
}

#[test]
fn sketch_writes_the_version_3_fixture_byte_for_byte() {
    // While this build writes version 3, it must write what the version-3 fixture holds: the
    // format did not change without a version bump (then add a fixture for the new version).
    assert_eq!(shard::FORMAT_VERSION, 3);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("again.wds");
    // Run from the repository root with the same relative path: the path is part of the file.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_wiredup"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["sketch", FIXTURE_INPUT, "-o", &out.to_string_lossy(), "-q"])
        .output()
        .unwrap_or_else(|e| panic!("spawn wiredup: {e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    let fixture = std::fs::read(in_repo(SHARD_FIXTURES[2].1)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        again == fixture,
        "sketch no longer writes shard-v3.wds byte for byte"
    );
}
