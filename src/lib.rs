//! # wiredup: find every copy of a wire story
//!
//! The same agency story (AFP, AP, Reuters) is republished by many outlets with light edits, and
//! scraped by repost sites that wrap it in their own header, byline, author bio, photo captions,
//! copyright line and HTML debris. `wiredup` reads a pile of articles and says which ones are
//! copies of the same story, which copy is the original, and how similar each copy is.
//!
//! ## Overview
//!
//! One module per stage; data flows one way, each stage takes plain data and returns plain data:
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | read | [`io`] | JSONL (plain, gzip, zstd), `.txt`/`.html` files and directories, stdin |
//! | normalize | [`normalize`] | tags, entities, NFKC, case, quotes, whitespace; paragraphs |
//! | shingle | [`shingle`] | paragraph-bounded word (or char) k-grams, each word hashed once (seeded, branch-free for words up to 16 bytes) |
//! | boilerplate | [`boilerplate`] | learns paragraphs that recur within a source (headers, bios); a document's story set is the shingles of its other paragraphs |
//! | minhash | [`minhash`] | signatures in parallel with rayon |
//! | lsh | [`lsh`] | banding tuned to the threshold; candidate pairs |
//! | verify | [`verify`] | exact similarity and containment of every candidate |
//! | cluster | [`cluster`] | guarded union-find, representative = the original |
//! | output | [`output`] | clusters, assignments, pairs, deduplicated records |
//!
//! [`pipeline`] wires the stages under one [`pipeline::Config`]; [`compare`] explains one pair;
//! [`eval`] scores a clustering against labels. For feeds, [`index`] keeps a persistent,
//! incrementally updated index (build, add, query, prune, save, open) and [`stream`] dedups
//! JSON lines against it as they arrive. For runs split across machines, [`shard`] holds the
//! prepared form of one shard of a corpus (`wiredup sketch`), and `wiredup cluster-shards`
//! finishes the run from many shards with the same result as one `wiredup cluster`.
//!
//! ```no_run
//! use wiredup::io::{read_inputs, ReadOptions};
//! use wiredup::pipeline::{run, Config};
//!
//! let corpus = read_inputs(&["articles.jsonl".to_string()], &ReadOptions::default())?;
//! let out = run(&corpus.docs, &Config::default());
//! for c in &out.clusters {
//!     let rep = &corpus.docs[c.representative as usize].id;
//!     for m in &c.members {
//!         println!("{} copies {rep} (similarity {:.2})", corpus.docs[m.doc as usize].id, m.score.similarity());
//!     }
//! }
//! # Ok::<(), wiredup::io::ReadError>(())
//! ```
//!
//! ## What counts as a copy
//!
//! After boilerplate is removed, two documents are copies when the text they share covers at
//! least `threshold` (0.4) of the longer one, or when at least `containment` (0.8) of the
//! shorter one is inside the longer one. The first rule finds reposts and outlet copies, the
//! second truncated copies and excerpts. A follow-up story that quotes one paragraph of an
//! earlier one passes neither. See [`verify`].
//!
//! ## Memory use
//!
//! Everything is in memory except the texts, which the command line frees as soon as each
//! document is normalized (a library caller decides with [`io::read_inputs_with`]): 4 bytes per
//! shingle (about 4 bytes per input word: shingles are kept as 32-bit hashes, see [`shingle`]),
//! paragraph hashes, `4 x num_perm` bytes of signature per document and 8 bytes per candidate
//! pair. For news articles that is about 3.7 KB per document, 1.4 times the input size: 100,000
//! generated articles (262 MB of JSONL) peak at 359 MiB (498 MiB with 64-bit shingles).
//!
//! Past memory, [`spill::run`] (`wiredup cluster --spill-dir`) keeps the per-document data in
//! files, each read in the one pass that needs it (band keys one band at a time, candidate
//! documents one bounded group at a time): peak memory about 360 bytes per document (3.5 GiB
//! for 10 million news articles), with the same outcome as the in-memory run.
//!
//! ## Determinism
//!
//! Hash functions are seeded and fixed (never per-process random), every parallel step writes by
//! document index and every sort is total, so the same input and options give byte-identical
//! output whatever the number of threads.
//!
//! ## Speed and the CPU
//!
//! The hot loops have vector forms, each chosen at run time: SSE2 (every x86-64) in normalization
//! and JSON scanning, the normalizer compiled for AVX2 (x86-64-v3) where the CPU has it (and its
//! word ends written with AVX-512 VBMI2 where that is there too), AVX-512 (F and DQ) in the shingle
//! mixes, the sketch's rounds and set intersections, and AVX2 forms of the shingle mixes and set
//! intersections for CPUs without AVX-512. Each computes exactly what its scalar form does
//! (property tests hold them together), so output never depends on the CPU; only the time does. The
//! AVX-512 forms were measured on an AMD EPYC (about 10% of a 100k-document run); Intel parts that
//! lower their clock for 512-bit multiplies may gain less (on a 2-core Intel Xeon, later AVX-512
//! forms took 43% off the 32-bit mix, about 10% off the normalizer and about 10% off signing). The
//! AVX2 forms were measured on a Zen 3 EPYC (about 4% of the run's cycles together); there an AVX2
//! form of the sketch's rounds was no faster than the scalar one, so the sketch runs scalar on CPUs
//! without AVX-512, in rounds compiled for the common signature lengths (64, 128 and 256
//! positions).
//!
//! ## Quirks
//!
//! - Boilerplate is learned from the input, so it needs several documents per source (3 by
//!   default) or many documents overall; run small batches together with older articles.
//! - A document with no words is a singleton and never matches; a page that is all
//!   boilerplate is compared on its whole text.
//! - The representative is the earliest `published` time; without times, the longest text.
//! - Shingles never span paragraphs, so text without blank lines is one paragraph.
//! - Shingles are stored as 32-bit hashes, so a story text of at most two shingles (a few
//!   words) is a copy only of the same story text (see [`pipeline`]): "the cat sat" and "the
//!   cat sat down" share a shingle but are not copies.

pub mod boilerplate;
pub mod cluster;
pub mod compare;
pub mod eval;
mod framed;
mod hashsort;
pub mod index;
pub mod io;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod shard;
pub mod shingle;
pub mod spill;
pub mod stream;
pub mod verify;
