//! Bench-only peer for `benches/compare.sh`: near-duplicate clustering with
//! gaoya 0.2.2 (MinHash + banded LSH), written the way gaoya's docs suggest.
//!
//! Usage: gaoya-bench DOCS.jsonl OUT.jsonl [--container vec|hashset]
//!
//! Pipeline (all of it is inside the process wall time that compare.sh measures):
//!  1. read the JSONL (`id`, `text`), parsing lines in parallel (rayon);
//!  2. per document: lowercase, split into `\w+` words (alphanumeric or `_`,
//!     as Python's `re.findall(r"\w+", text.lower())` in peers.py), word 5-gram
//!     shingles joined with single spaces (a document of 1..4 words is one
//!     shingle; a document with no words gets no signature and stays alone);
//!  3. `MinHasher32::new(128)` signatures (gaoya's default FNV token hash);
//!  4. `MinHashIndex` with 16 bands x 8 rows and threshold 0.5, built with
//!     `par_bulk_insert` (parallel over bands). gaoya's `VecContainer` is used
//!     for band buckets: its docs call it the faster choice when no removals
//!     are needed;
//!  5. every document queried in parallel (`query_by_id_owned`, which is what
//!     `par_bulk_query` runs per signature, without first copying all
//!     signatures); gaoya's query keeps only candidates whose estimated
//!     Jaccard from the signatures is >= the index threshold (0.5);
//!  6. union-find over the returned pairs (connected components), then one
//!     `{"id": ..., "cluster": ...}` line per document, in input order.
//!
//! Threads: rayon's global pool; compare.sh sets RAYON_NUM_THREADS=2.

use std::fs;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use gaoya::minhash::{
    HashSetContainer, IdContainer, MinHashIndex, MinHasher, MinHasher32, VecContainer,
};
use rayon::prelude::*;

const NUM_BANDS: usize = 16;
const BAND_WIDTH: usize = 8;
const NUM_PERM: usize = NUM_BANDS * BAND_WIDTH; // 128
const THRESHOLD: f64 = 0.5;
const K: usize = 5;

/// Lowercased `\w+` words joined by single spaces, plus the byte offset where
/// each word starts, so that every shingle is a plain `&str` slice (no
/// allocation per shingle; hashes the same bytes as the Python peers' shingles).
fn normalize(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut starts = Vec::new();
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            if !in_word {
                if !out.is_empty() {
                    out.push(' ');
                }
                starts.push(out.len());
                in_word = true;
            }
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            in_word = false;
        }
    }
    (out, starts)
}

/// Signature of one document, or None when it has no words.
fn signature(hasher: &MinHasher32<fnv::FnvBuildHasher>, text: &str) -> Option<Vec<u32>> {
    let (norm, starts) = normalize(text);
    let n = starts.len();
    if n == 0 {
        return None;
    }
    if n <= K {
        return Some(hasher.create_signature(std::iter::once(norm.as_str())));
    }
    // Shingle i spans words i..i+K: from starts[i] to the end of word i+K-1,
    // which is one byte before starts[i+K] (the separating space) or the end.
    let shingles = (0..=n - K).map(|i| {
        let end = if i + K < n { starts[i + K] - 1 } else { norm.len() };
        &norm[starts[i]..end]
    });
    Some(hasher.create_signature(shingles))
}

#[derive(serde::Deserialize)]
struct Doc {
    id: serde_json::Value,
    #[serde(default)]
    text: String,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[parent[x as usize] as usize];
        parent[x as usize] = p;
        x = p;
    }
    x
}

fn run_with<C: IdContainer<u32>>(
    mut index: MinHashIndex<u32, u32, C>,
    ids: &[u32],
    sigs: Vec<Vec<u32>>,
) -> Vec<(u32, u32)> {
    index.par_bulk_insert(ids.to_vec(), sigs);
    ids.par_iter()
        .map(|&id| {
            index
                .query_by_id_owned(&id)
                .into_iter()
                .filter(|&other| other > id)
                .map(|other| (id, other))
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: gaoya-bench DOCS.jsonl OUT.jsonl [--container vec|hashset]");
        return ExitCode::from(2);
    }
    let container = match args.get(3).map(String::as_str) {
        None => "vec".to_string(),
        Some("--container") => args.get(4).cloned().unwrap_or_default(),
        Some(other) => {
            eprintln!("gaoya-bench: unknown argument {other}");
            return ExitCode::from(2);
        }
    };
    let data = match fs::read_to_string(&args[1]) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("gaoya-bench: cannot read {}: {e}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let lines: Vec<&str> = data.lines().filter(|l| !l.trim().is_empty()).collect();
    let hasher = MinHasher32::new(NUM_PERM);

    // Parse + shingle + sign, in parallel over documents.
    let parsed: Result<Vec<(serde_json::Value, Option<Vec<u32>>)>, String> = lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let doc: Doc = serde_json::from_str(line)
                .map_err(|e| format!("line {}: bad JSON: {e}", i + 1))?;
            let sig = signature(&hasher, &doc.text);
            Ok((doc.id, sig))
        })
        .collect();
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gaoya-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    drop(lines);
    drop(data);

    let n = parsed.len();
    let mut doc_ids = Vec::with_capacity(n);
    let mut idx = Vec::with_capacity(n);
    let mut sigs = Vec::with_capacity(n);
    for (i, (id, sig)) in parsed.into_iter().enumerate() {
        doc_ids.push(id);
        if let Some(s) = sig {
            idx.push(i as u32);
            sigs.push(s);
        }
    }

    let pairs = match container.as_str() {
        "vec" => {
            let index = MinHashIndex::<u32, u32, VecContainer<u32>>::new_with_capacity(
                NUM_BANDS, BAND_WIDTH, THRESHOLD, n, 0.0,
            );
            run_with(index, &idx, sigs)
        }
        "hashset" => {
            let index = MinHashIndex::<u32, u32, HashSetContainer<u32>>::new_with_capacity(
                NUM_BANDS, BAND_WIDTH, THRESHOLD, n, 0.0,
            );
            run_with(index, &idx, sigs)
        }
        other => {
            eprintln!("gaoya-bench: unknown container {other:?} (vec or hashset)");
            return ExitCode::from(2);
        }
    };

    let mut parent: Vec<u32> = (0..n as u32).collect();
    for &(a, b) in &pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            parent[hi as usize] = lo;
        }
    }

    let out = match fs::File::create(&args[2]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gaoya-bench: cannot write {}: {e}", args[2]);
            return ExitCode::FAILURE;
        }
    };
    let mut w = BufWriter::new(out);
    for (i, id) in doc_ids.iter().enumerate() {
        let root = find(&mut parent, i as u32);
        if writeln!(w, "{{\"id\":{},\"cluster\":{}}}", id, root).is_err() {
            eprintln!("gaoya-bench: write failed");
            return ExitCode::FAILURE;
        }
    }
    if w.flush().is_err() {
        eprintln!("gaoya-bench: write failed");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "gaoya-bench: {n} documents, {} candidate pairs kept, container {container}",
        pairs.len()
    );
    ExitCode::SUCCESS
}
