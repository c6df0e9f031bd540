//! The sharded route (`wiredup sketch` per shard, then `wiredup cluster-shards`) gives the same
//! output as `wiredup cluster` on the same inputs, byte for byte: on the bundled corpus split in
//! three, and on the shared dev set split in two with different thread counts per shard.

use std::path::{Path, PathBuf};

mod common;
use common::{ok, run};

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
