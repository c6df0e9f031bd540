//! Criterion micro-benchmarks, one group per pipeline stage, with throughput in bytes (or
//! documents where bytes mean little). Run: `cargo bench --bench stages`.
//!
//! Input: `WIREDUP_BENCH_DOCS` (a JSONL file), else the shared dev set
//! `../shared/data/syndication-dev/docs.jsonl`, else the bundled `corpus/docs.jsonl`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use wiredup::boilerplate::{self, DocParagraphs};
use wiredup::io::{read_inputs, Document, ReadOptions};
use wiredup::lsh;
use wiredup::minhash::Signatures;
use wiredup::normalize::normalize;
use wiredup::pipeline::{self, normalize_all, shingle_all, Config};
use wiredup::shingle::{self, Scratch};
use wiredup::verify;

fn input() -> Vec<Document> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = std::env::var_os("WIREDUP_BENCH_DOCS")
        .map(PathBuf::from)
        .or_else(|| {
            Some(root.join("../shared/data/syndication-dev/docs.jsonl")).filter(|p| p.exists())
        })
        .unwrap_or_else(|| root.join("corpus/docs.jsonl"));
    let corpus = read_inputs(
        &[path.to_string_lossy().into_owned()],
        &ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("bench input {}: {e}", path.display()));
    corpus.docs
}

fn stages(c: &mut Criterion) {
    let docs = input();
    let cfg = Config::default();
    let bytes: u64 = docs.iter().map(|d| d.text.len() as u64).sum();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();

    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("all documents", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(normalize(t));
            }
        })
    });
    g.finish();

    let mut prepared = normalize_all(&texts, &cfg);
    let views: Vec<DocParagraphs<'_>> = docs
        .iter()
        .zip(&prepared)
        .map(|(d, p)| DocParagraphs {
            source: d.source.as_deref(),
            paragraphs: &p.paragraphs,
        })
        .collect();
    let mut g = c.benchmark_group("boilerplate");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function("learn", |b| {
        b.iter(|| black_box(boilerplate::learn(&views, &cfg.boilerplate)))
    });
    g.finish();
    let bp = boilerplate::learn(&views, &cfg.boilerplate);
    drop(views);

    let normalized: Vec<_> = texts.iter().map(|t| normalize(t)).collect();
    let norm_bytes: u64 = normalized.iter().map(|n| n.text.len() as u64).sum();
    let mut g = c.benchmark_group("shingle");
    g.throughput(Throughput::Bytes(norm_bytes));
    g.bench_function("word 3-grams", |b| {
        let mut scratch = Scratch::default();
        b.iter(|| {
            for n in &normalized {
                black_box(shingle::shingle_set(
                    n.paragraphs(),
                    &cfg.shingle,
                    &mut scratch,
                ));
            }
        })
    });
    g.finish();

    // Story sets: boilerplate paragraphs dropped, then the counting sort and dedup.
    let mut g = c.benchmark_group("story sets");
    g.throughput(Throughput::Elements(prepared.len() as u64));
    g.bench_function("filter, sort, dedup", |b| {
        b.iter_batched(
            || prepared.clone(),
            |mut p| {
                shingle_all(&mut p, &bp, &cfg);
                black_box(p)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    shingle_all(&mut prepared, &bp, &cfg);
    let sets: Vec<Vec<u32>> = prepared.iter().map(|p| p.shingles.clone()).collect();
    let mut g = c.benchmark_group("minhash");
    g.throughput(Throughput::Elements(sets.len() as u64));
    g.bench_function("sign 128", |b| {
        b.iter(|| black_box(Signatures::compute(&sets, &cfg.minhash)))
    });
    g.finish();

    let sigs = Signatures::compute(&sets, &cfg.minhash);
    let params = cfg.lsh_params();
    let mut g = c.benchmark_group("lsh");
    g.throughput(Throughput::Elements(sets.len() as u64));
    g.bench_function("candidates", |b| {
        b.iter(|| black_box(lsh::candidates(&sigs, &params, &cfg.buckets)))
    });
    g.finish();

    let cands = lsh::candidates(&sigs, &params, &cfg.buckets);
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(cands.len() as u64));
    g.bench_function("candidates", |b| {
        b.iter(|| black_box(verify::verify(&cands, &sets, &sigs, &cfg.verify)))
    });
    g.finish();

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("end to end (in memory)", |b| {
        b.iter_batched(
            || (),
            |_| black_box(pipeline::run(&docs, &cfg)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
