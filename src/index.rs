//! A persistent, incrementally updated index of documents, for feeds: build it once, add to it,
//! query it, prune old documents, and keep it on disk between runs.
//!
//! [`Index`] holds everything `wiredup cluster` needs to decide whether a new document copies an
//! old one, without the old texts: per document its id, source, time, paragraph hashes, the
//! shingles of each paragraph, its MinHash signature and its LSH band keys; for the corpus the
//! per-(paragraph, source) document counts that boilerplate learning needs, and the options it
//! was built with. It is saved to one file ([`Index::save`], format in `FORMAT.md`) and read back
//! with [`Index::open`].
//!
//! ```no_run
//! use wiredup::index::Index;
//! use wiredup::io::{read_inputs, ReadOptions};
//! use wiredup::pipeline::Config;
//!
//! let old = read_inputs(&["archive.jsonl".into()], &ReadOptions::default())?;
//! let mut index = Index::build(&old.docs, &Config::default())?;
//! index.save("feed.wdx".as_ref())?;
//!
//! let mut index = Index::open("feed.wdx".as_ref())?;
//! let new = read_inputs(&["today.jsonl".into()], &ReadOptions::default())?;
//! for r in index.query(&new.docs) {
//!     for m in &r.matches {
//!         println!("{} copies {} (similarity {:.2})", r.id, m.id, m.similarity);
//!     }
//! }
//! for d in index.add(&new.docs)? {
//!     if let Some(of) = d.dup_of { println!("duplicate of {of}"); }
//! }
//! index.save("feed.wdx".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Matching: the same rules as `wiredup cluster`
//!
//! Documents are prepared with [`pipeline::normalize_all`]; the story text of a document is its
//! shingles minus those of boilerplate paragraphs, exactly as [`pipeline::shingle_all`] computes
//! it; candidates come from the LSH band tables ([`Config::lsh_params`], band keys as in
//! [`crate::lsh`]: xxh3-64 of the band's rows as little-endian `u32`, seeded by the band number)
//! and from the shared-paragraph index (non-boilerplate paragraphs of at least
//! `min_paragraph_words` words), with the same bucket caps; every candidate is verified on the
//! exact shingle sets with [`PairScore::exact`] and [`PairScore::passes`], after the same
//! signature pre-filter as [`crate::verify`]. Matches are ordered best first: by similarity, then
//! containment, then age (older first), with exact integer comparisons
//! ([`cluster::sort_pairs`]).
//!
//! Boilerplate is learned incrementally with the rules of [`crate::boilerplate::learn`]: a
//! paragraph in at least `min_source_docs` documents of one source, or in at least
//! [`BoilerplateConfig::corpus_threshold`]`(n)` of the `n` documents in the index. The index
//! keeps the counts (as the paragraph postings: one entry per distinct (paragraph, source,
//! document)), so when a paragraph becomes boilerplate (or stops being boilerplate, after a prune
//! or because the automatic corpus threshold grew with `n`), the story text, signature and band
//! keys of every document holding it are recomputed from its stored per-paragraph shingles.
//!
//! ## Invariants
//!
//! After every public operation (build, add, prune, open):
//! - the boilerplate set equals `boilerplate::learn` over the documents in the index;
//! - every document's story set, signature and band keys are those `wiredup cluster` computes
//!   for it with that boilerplate (tested against [`pipeline::run`]);
//! - ids are unique; every band entry or posting refers to a document in the index (band entries
//!   whose key no longer matches their document's signature are skipped and dropped at the next
//!   merge).
//!
//! What is *not* revised: a document's `dup_of`, decided when it was added (or, for
//! [`Index::build`], by the clustering of `wiredup cluster` on the build input). Later documents
//! never re-cluster earlier ones; a streamed document joins the cluster of its best match
//! (`dup_of` = that match's `dup_of`, or the match itself when it has none).
//!
//! Queries ([`Index::query`]) are read-only: a query document's own paragraphs do not count
//! towards boilerplate, and its story text is computed with the index's boilerplate.
//!
//! ## Cost
//!
//! - build: the cost of `wiredup cluster` on the input, plus O(n log n) to sort the tables;
//! - add / stream, per document: normalization O(bytes); O(paragraphs) table lookups for the
//!   boilerplate counts and O(bands) for LSH candidates (each lookup reads a directory slot and
//!   a few entries of the sorted tables, or one hash-map bucket of recent entries);
//!   O(|A| + |B|) per verified candidate; plus re-signing the documents that hold a paragraph
//!   that changes boilerplate status (rare: a new site's third page, or a widely shared
//!   paragraph crossing the corpus threshold). New table entries go to an in-memory delta merged
//!   into the sorted tables when it exceeds a quarter of them (amortized O(log n) per entry);
//! - query: the same as add without the updates; parallel over query documents;
//! - prune: O(index size) (tables are rewritten without the dropped documents);
//! - save / open: O(index size), one sequential pass; open also re-sorts the postings.
//!
//! ## Memory per document
//!
//! In memory and on disk, for news text with the default options (`num_perm` = 128, 51 bands;
//! ~15 paragraphs and ~400 words per document): 4 bytes per distinct shingle of each paragraph
//! (~1.5 KB; 32-bit shingles, see [`crate::shingle`]), the signature (`4 x num_perm` = 512
//! bytes), 16 bytes per band entry (~0.8 KB), 16 bytes per paragraph for its hash, length and
//! shingle range (~0.25 KB), and the id, source and `dup_of`. In memory add 16 bytes per posting
//! (~0.25 KB), about 1 byte per table entry of lookup directory, and ~150 bytes of bookkeeping.
//! Measured on generated news (100,000 documents): 3.0 KB per document on disk (1.15 times the
//! JSONL; 4.5 KB with format version 1's 64-bit shingles), 3.6 KB of resident memory per
//! document with the index open (was 5.1 KB). The texts themselves are not kept.
//!
//! ## Quirks
//!
//! - A record without a parseable `published` time is never pruned by [`Index::prune_before`]
//!   (streams can stamp it with the newest time seen, see [`InsertOptions::time`]).
//! - An empty `source` counts as no source (as in boilerplate learning).
//! - A stored document whose id equals a query document's id is still a match for it.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::io::{self, Read, Write};
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::boilerplate::{Boilerplate, BoilerplateConfig, PrehashedKey};
use crate::cluster::{self, ClusterConfig};
use crate::framed::{self, bad, le_u32, le_u64, BodyReader, BodyWriter, OpenError, ReadFail};
use crate::io::Document;
use crate::lsh::{BucketLimits, LshParams};
use crate::minhash::{Hasher, MinHashConfig, Scheme};
use crate::pipeline::{self, Banding, Config, ParagraphMeta, Prepared};
use crate::shingle::{narrow, Shingle, ShingleConfig, ShingleHash, ShingleKind};
use crate::verify::{PairScore, VerifyConfig};

/// The index file format version this build writes (and the newest it reads). Version 3
/// records the shingle hash ([`ShingleHash`]); versions 1 and 2 (xxh3 word hashes; version 1
/// stored shingles in 64 bits) are still read, and keep their hash when documents are added.
pub const FORMAT_VERSION: u32 = 3;

/// The first 8 bytes of every index file.
pub const MAGIC: [u8; 8] = *b"\x89WDX\r\n\x1a\n";

/// `source` of a document without one.
const NO_SOURCE: u32 = u32::MAX;

/// `time` of a document without one, on disk.
const NO_TIME: i64 = i64::MIN;

/// Largest signature accepted (the CLI allows 4096).
const MAX_PERM: usize = 1 << 16;

/// Deltas smaller than this are never merged (merging small tables often is wasteful).
const MIN_DELTA: usize = 1 << 16;

/// `a` of the scores of a query document (the stored document is `b`).
const QUERY: u32 = u32::MAX;

type Fast = BuildHasherDefault<PrehashedKey>;
type Set64 = HashSet<u64, Fast>;
/// A document's paragraphs and per-paragraph shingles, as stored.
type StoredForm = (Box<[Para]>, Box<[Shingle]>);

/// What went wrong with an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The file does not start with the index magic number.
    #[error("{path}: not a wiredup index (bad magic number)")]
    NotAnIndex { path: String },
    /// The file is an index of a format version this build cannot read.
    #[error("{path}: index format version {found} is not supported (this build reads version 1 to {FORMAT_VERSION}); rebuild the index")]
    Version { path: String, found: u32 },
    /// The file is truncated, damaged, or not consistent.
    #[error("{path}: corrupt index: {what}")]
    Corrupt { path: String, what: String },
    /// A request used options other than those the index was built with.
    #[error("the index was built with other options: {}; drop those flags or rebuild the index", .0.join(", "))]
    OptionsMismatch(Vec<String>),
    /// The options cannot make an index.
    #[error("invalid index options: {0}")]
    InvalidOptions(String),
    /// A document's id is already in the index (or twice in one batch).
    #[error("duplicate id {0:?}: already in the index")]
    DuplicateId(String),
    /// A document cannot be indexed (empty id).
    #[error("invalid document: {0}")]
    InvalidDocument(String),
    /// The index holds as many documents as it can address.
    #[error("the index is full ({0} documents)")]
    Full(usize),
}

impl IndexError {
    fn io(path: &Path, source: io::Error) -> Self {
        IndexError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    fn corrupt(path: &Path, what: impl Into<String>) -> Self {
        IndexError::Corrupt {
            path: path.display().to_string(),
            what: what.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tables: a sorted base plus a hashed delta of recent entries
// ---------------------------------------------------------------------------------------------

/// One LSH band table entry: document `doc` has `key` in band `band`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct BandEntry {
    key: u64,
    band: u32,
    doc: u32,
}

/// One posting: document `doc` (of source `source`) holds paragraph `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Posting {
    hash: u64,
    source: u32,
    doc: u32,
}

trait Keyed: Copy + Ord + Send + Sync {
    fn key(&self) -> u64;
}

impl Keyed for BandEntry {
    fn key(&self) -> u64 {
        self.key
    }
}

impl Keyed for Posting {
    fn key(&self) -> u64 {
        self.hash
    }
}

/// A multimap from a 64-bit key: a sorted `base` (what is saved and loaded) and a hashed `delta`
/// of entries added since the last merge.
///
/// Keys are uniform hashes, so the base has a directory on their top bits (`dir[i]` = first
/// entry whose key's top `bits` bits are at least `i`, about one slot per four entries): a
/// lookup reads one slot and searches a handful of entries instead of binary-searching millions
/// (two cache misses instead of twenty).
#[derive(Debug, Clone)]
struct Table<E> {
    base: Vec<E>,
    dir: Vec<u32>,
    bits: u32,
    delta: HashMap<u64, Vec<E>, Fast>,
    delta_len: usize,
}

impl<E> Default for Table<E> {
    fn default() -> Self {
        Table {
            base: Vec::new(),
            dir: Vec::new(),
            bits: 0,
            delta: HashMap::default(),
            delta_len: 0,
        }
    }
}

impl<E: Keyed> Table<E> {
    fn from_sorted(base: Vec<E>) -> Self {
        let mut t = Table {
            base,
            ..Table::default()
        };
        t.index_base();
        t
    }

    /// Rebuilds the directory of the base.
    fn index_base(&mut self) {
        let n = self.base.len();
        self.dir = Vec::new();
        self.bits = 0;
        if n < 64 || n > u32::MAX as usize {
            return;
        }
        let bits = (usize::BITS - 1 - n.leading_zeros())
            .saturating_sub(2)
            .min(28);
        let slots = 1usize << bits;
        let mut dir = Vec::with_capacity(slots + 1);
        let mut i = 0usize;
        for slot in 0..slots as u64 {
            while i < n && (self.base[i].key() >> (64 - bits)) < slot {
                i += 1;
            }
            dir.push(i as u32);
        }
        dir.push(n as u32);
        self.dir = dir;
        self.bits = bits;
    }

    fn len(&self) -> usize {
        self.base.len() + self.delta_len
    }

    /// Entries with `key`: a slice of the base and one of the delta.
    fn get(&self, key: u64) -> (&[E], &[E]) {
        let (start, end) = if self.bits == 0 {
            (0, self.base.len())
        } else {
            let slot = (key >> (64 - self.bits)) as usize;
            match (self.dir.get(slot), self.dir.get(slot + 1)) {
                (Some(&a), Some(&b)) => (a as usize, b as usize),
                _ => (0, self.base.len()),
            }
        };
        let window = self.base.get(start..end).unwrap_or(&[]);
        let lo = window.partition_point(|e| e.key() < key);
        let rest = window.get(lo..).unwrap_or(&[]);
        let hi = rest.partition_point(|e| e.key() <= key);
        let d = self.delta.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        (rest.get(..hi).unwrap_or(&[]), d)
    }

    fn insert(&mut self, e: E) {
        self.delta.entry(e.key()).or_default().push(e);
        self.delta_len += 1;
    }

    fn wants_merge(&self) -> bool {
        self.delta_len > MIN_DELTA.max(self.base.len() / 4)
    }

    /// Merges the delta into the base (nothing to do when it is empty).
    fn flush(&mut self) {
        if self.delta_len > 0 {
            self.merge(|_| true);
        }
    }

    /// Merges the delta into the base, keeping only entries that pass `keep`.
    fn merge(&mut self, keep: impl Fn(&E) -> bool + Sync) {
        let mut d: Vec<E> = std::mem::take(&mut self.delta)
            .into_values()
            .flatten()
            .filter(|e| keep(e))
            .collect();
        self.delta_len = 0;
        d.par_sort_unstable();
        let base: Vec<E> = std::mem::take(&mut self.base)
            .into_par_iter()
            .filter(|e| keep(e))
            .collect();
        let mut out = Vec::with_capacity(base.len() + d.len());
        let mut extra = d.into_iter().peekable();
        for e in base {
            while let Some(x) = extra.next_if(|x| *x < e) {
                out.push(x);
            }
            out.push(e);
        }
        out.extend(extra);
        out.dedup();
        self.base = out;
        self.index_base();
    }

    /// Rewrites every entry with `f` (dropping those it maps to `None`), then re-sorts.
    fn map_all(&mut self, f: impl Fn(&E) -> Option<E> + Sync) {
        self.flush();
        let mut v: Vec<E> = std::mem::take(&mut self.base)
            .par_iter()
            .filter_map(&f)
            .collect();
        v.par_sort_unstable();
        v.dedup();
        self.base = v;
        self.index_base();
    }
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/// One paragraph of a stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Para {
    hash: u64,
    words: u32,
    /// End of this paragraph's shingles in the document's shingle list.
    end: u32,
}

/// A stored document.
#[derive(Debug, Clone)]
struct Doc {
    id: String,
    dup_of: Option<String>,
    source: u32,
    time: Option<i64>,
    paras: Box<[Para]>,
    /// Per paragraph, its distinct shingles (sorted), concatenated in paragraph order.
    shingles: Box<[Shingle]>,
    sig: Option<Box<[u32]>>,
    /// Size of the story-text shingle set.
    set_len: u32,
}

impl Doc {
    /// The document's story-text shingle set under `bp` (sorted, distinct), as
    /// [`pipeline::shingle_all`] computes it.
    fn story_set(&self, bp: &Set64, out: &mut Vec<Shingle>) {
        story_set(&self.paras, &self.shingles, bp, out);
    }

    fn distinct_hashes(&self) -> Vec<u64> {
        let mut h: Vec<u64> = self.paras.iter().map(|p| p.hash).collect();
        h.sort_unstable();
        h.dedup();
        h
    }
}

fn story_set(paras: &[Para], shingles: &[Shingle], bp: &Set64, out: &mut Vec<Shingle>) {
    out.clear();
    out.extend_from_slice(shingles);
    let paragraphs = paras.iter().map(|p| (p.hash, p.end as usize));
    pipeline::keep_story_shingles(paragraphs, |h| bp.contains(&h), out);
    out.sort_unstable();
    out.dedup();
}

/// Paragraphs and per-paragraph distinct shingles from a prepared (not yet shingled) document.
fn stored_form(p: Prepared) -> StoredForm {
    let mut shingles = p.shingles;
    let mut paras = Vec::with_capacity(p.paragraphs.len());
    let mut out = 0usize;
    let mut start = 0usize;
    for (&hash, m) in p.paragraphs.iter().zip(&p.paragraph_meta) {
        let end = (m.shingle_end as usize).clamp(start, shingles.len());
        let seg = &mut shingles[start..end];
        seg.sort_unstable();
        let mut last = None;
        for i in start..end {
            let v = shingles[i];
            if last != Some(v) {
                shingles[out] = v;
                out += 1;
                last = Some(v);
            }
        }
        paras.push(Para {
            hash,
            words: m.words,
            end: out as u32,
        });
        start = end;
    }
    shingles.truncate(out);
    (paras.into_boxed_slice(), shingles.into_boxed_slice())
}

use crate::lsh::band_key;

/// Whether a band entry is current: its document exists and still has that key in that band.
fn entry_valid(docs: &[Doc], offsets: &[(usize, usize)], e: &BandEntry) -> bool {
    let Some(doc) = docs.get(e.doc as usize) else {
        return false;
    };
    let (Some(sig), Some(&(start, r))) = (doc.sig.as_deref(), offsets.get(e.band as usize)) else {
        return false;
    };
    sig.get(start..start + r)
        .is_some_and(|rows| band_key(rows, e.band as usize) == e.key)
}

use crate::verify::{estimated_intersection_upper, passes as passes_f};

// ---------------------------------------------------------------------------------------------
// Public result types
// ---------------------------------------------------------------------------------------------

/// One stored document matching a query document, with exact scores on the story texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// Id of the stored document.
    pub id: String,
    /// Shared share of the longer story text.
    pub similarity: f64,
    pub jaccard: f64,
    /// Share of the query's story text found in the stored document.
    pub containment_query_in_match: f64,
    /// Share of the stored document's story text found in the query.
    pub containment_match_in_query: f64,
    /// The scores themselves (`a` = the query, `b` = the stored document's position).
    #[serde(skip)]
    pub score: PairScore,
}

impl Match {
    fn new(id: &str, score: PairScore) -> Self {
        Match {
            id: id.to_string(),
            similarity: score.similarity(),
            jaccard: score.jaccard(),
            containment_query_in_match: score.containment_a(),
            containment_match_in_query: score.containment_b(),
            score,
        }
    }
}

/// The matches of one query document, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    pub id: String,
    pub matches: Vec<Match>,
}

/// What adding a document decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The id of the representative of the cluster the document joined (the root of its best
    /// match), or `None` when it matched nothing and starts a cluster of its own.
    pub dup_of: Option<String>,
    /// Its matches among the documents already in the index, best first.
    pub matches: Vec<Match>,
}

impl Decision {
    /// The best match, if any.
    pub fn best(&self) -> Option<&Match> {
        self.matches.first()
    }
}

/// How [`Index::insert`] treats one document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOptions {
    /// The document's time (seconds since the Unix epoch) if not its `published` field.
    pub time: Option<i64>,
    /// Ignore stored documents with a time before this (a feed window); documents without a
    /// time are never ignored.
    pub not_before: Option<i64>,
}

/// Counts describing an index.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexStats {
    pub documents: usize,
    /// Documents with a `dup_of` (copies of an earlier document).
    pub duplicates: usize,
    /// Documents without story text (no signature; they never match).
    pub empty: usize,
    pub sources: usize,
    pub boilerplate_paragraphs: usize,
    pub paragraphs: usize,
    /// Stored shingles (distinct per paragraph).
    pub shingles: usize,
    pub bands: usize,
    pub num_perm: usize,
    pub band_entries: usize,
    pub postings: usize,
    /// Earliest and latest document times, seconds since the Unix epoch.
    pub oldest: Option<i64>,
    pub newest: Option<i64>,
    /// Approximate bytes of memory held.
    pub memory_bytes: usize,
}

// ---------------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------------

/// A persistent near-duplicate index (see the module docs).
#[derive(Debug, Clone)]
pub struct Index {
    cfg: Config,
    /// Band layout: (first row, rows) per band.
    offsets: Vec<(usize, usize)>,
    hasher: Hasher,
    docs: Vec<Doc>,
    ids: HashMap<String, u32>,
    sources: Vec<String>,
    source_ids: HashMap<String, u32>,
    bands: Table<BandEntry>,
    postings: Table<Posting>,
    /// Current boilerplate paragraphs.
    bp: Set64,
    /// Paragraphs in `min_source_docs` documents of one source.
    source_rule: Set64,
    /// With the automatic corpus threshold: paragraphs in at least `corpus_threshold(0)`
    /// documents (the only ones a change of the threshold can affect).
    frequent: Set64,
    /// The corpus threshold the boilerplate set was derived with.
    corpus_t: usize,
    /// Band entries left behind by re-signed documents (dropped by the next filtering merge).
    stale: usize,
    oldest: Option<i64>,
    newest: Option<i64>,
    /// The format version of the file the index was opened from ([`FORMAT_VERSION`] for one
    /// built in memory or saved since).
    file_version: u32,
}

fn config_problems(cfg: &Config) -> Result<LshParams, IndexError> {
    let bad = |m: String| Err(IndexError::InvalidOptions(m));
    if cfg.shingle.k == 0 || cfg.shingle.k > u32::MAX as usize {
        return bad(format!("shingle length k = {}", cfg.shingle.k));
    }
    let p = cfg.minhash.num_perm;
    if p == 0 || p > MAX_PERM {
        return bad(format!("num_perm = {p} (1 to {MAX_PERM})"));
    }
    let params = cfg.lsh_params();
    if params.rows.is_empty() || params.rows.contains(&0) {
        return bad("empty LSH band".into());
    }
    if params.rows.iter().any(|&r| r > p) || params.rows.len() > p {
        return bad(format!(
            "{} bands, more than num_perm ({p}) rows",
            params.bands()
        ));
    }
    if params.rows_used() > p {
        return bad(format!(
            "bands use {} rows, more than num_perm ({p})",
            params.rows_used()
        ));
    }
    for (name, v) in [
        ("threshold", cfg.verify.threshold),
        ("containment", cfg.verify.containment),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return bad(format!("{name} = {v} (0 to 1)"));
        }
    }
    let small = |v: usize| v > u32::MAX as usize;
    if small(cfg.buckets.max_bucket)
        || small(cfg.buckets.anchors)
        || small(cfg.boilerplate.min_source_docs)
        || small(cfg.verify.min_containment_shingles)
        || small(cfg.min_paragraph_words)
        || small(cfg.cluster.core_size)
    {
        return bad("a count is over 2^32".into());
    }
    Ok(params)
}

/// The option differences between two configurations, as `name: index X, requested Y`.
///
/// The word hash (`shingle.hash`) is not compared: no request sets it, and the index hashes
/// what it adds with its own.
pub fn config_differences(index: &Config, requested: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut diff = |name: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{name}: index {a}, requested {b}"));
        }
    };
    let kind = |k: ShingleKind| match k {
        ShingleKind::Words => "words".to_string(),
        ShingleKind::Chars => "chars".to_string(),
    };
    diff(
        "shingle kind",
        kind(index.shingle.kind),
        kind(requested.shingle.kind),
    );
    diff(
        "k",
        index.shingle.k.to_string(),
        requested.shingle.k.to_string(),
    );
    diff(
        "shingle seed",
        index.shingle.seed.to_string(),
        requested.shingle.seed.to_string(),
    );
    diff(
        "num_perm",
        index.minhash.num_perm.to_string(),
        requested.minhash.num_perm.to_string(),
    );
    diff(
        "seed",
        index.minhash.seed.to_string(),
        requested.minhash.seed.to_string(),
    );
    diff(
        "sketch",
        format!("{:?}", index.minhash.scheme).to_lowercase(),
        format!("{:?}", requested.minhash.scheme).to_lowercase(),
    );
    let rows = |c: &Config| {
        let p = c.lsh_params();
        format!("{} bands {:?}", p.bands(), p.rows)
    };
    diff("bands", rows(index), rows(requested));
    diff(
        "threshold",
        index.verify.threshold.to_string(),
        requested.verify.threshold.to_string(),
    );
    diff(
        "containment",
        index.verify.containment.to_string(),
        requested.verify.containment.to_string(),
    );
    diff(
        "min containment shingles",
        index.verify.min_containment_shingles.to_string(),
        requested.verify.min_containment_shingles.to_string(),
    );
    diff(
        "boilerplate per source",
        index.boilerplate.min_source_docs.to_string(),
        requested.boilerplate.min_source_docs.to_string(),
    );
    let corpus = |c: &Config| match c.boilerplate.min_corpus_docs {
        None => "auto".to_string(),
        Some(n) => n.to_string(),
    };
    diff("boilerplate docs", corpus(index), corpus(requested));
    diff(
        "bucket limits",
        format!("{:?}", index.buckets),
        format!("{:?}", requested.buckets),
    );
    diff(
        "paragraph candidates",
        index.paragraph_candidates.to_string(),
        requested.paragraph_candidates.to_string(),
    );
    diff(
        "min paragraph words",
        index.min_paragraph_words.to_string(),
        requested.min_paragraph_words.to_string(),
    );
    out
}

impl Index {
    /// An empty index with these options. The band layout is fixed now
    /// ([`Config::lsh_params`]) and stored.
    pub fn new(cfg: &Config) -> Result<Index, IndexError> {
        let params = config_problems(cfg)?;
        let mut cfg = cfg.clone();
        cfg.banding = Banding::Manual(params.clone());
        // config_problems checked that the bands fit in the signature.
        let offsets = params.ranges(cfg.minhash.num_perm);
        let hasher = Hasher::new(&cfg.minhash);
        let corpus_t = cfg.boilerplate.corpus_threshold(0);
        Ok(Index {
            cfg,
            offsets,
            hasher,
            docs: Vec::new(),
            ids: HashMap::new(),
            sources: Vec::new(),
            source_ids: HashMap::new(),
            bands: Table::default(),
            postings: Table::default(),
            bp: Set64::default(),
            source_rule: Set64::default(),
            frequent: Set64::default(),
            corpus_t,
            stale: 0,
            oldest: None,
            newest: None,
            file_version: FORMAT_VERSION,
        })
    }

    /// The format version of the file this index was opened from, or [`FORMAT_VERSION`] for
    /// one built in memory or saved since (saving always writes [`FORMAT_VERSION`]).
    pub fn file_version(&self) -> u32 {
        self.file_version
    }

    /// Builds an index of `docs`. Each document's `dup_of` is the representative of its cluster
    /// in `wiredup cluster`'s clustering of `docs` ([`pipeline::run`]).
    pub fn build(docs: &[Document], cfg: &Config) -> Result<Index, IndexError> {
        let mut index = Index::new(cfg)?;
        index.check_ids(docs)?;
        if docs.len() >= u32::MAX as usize {
            return Err(IndexError::Full(docs.len()));
        }
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let prepared = pipeline::normalize_all(&texts, &index.cfg);
        drop(texts);
        // Only the clusters are read from the run, not its story sets.
        let run_cfg = Config {
            sort_all_sets: false,
            ..index.cfg.clone()
        };
        let out = pipeline::run_prepared(docs, prepared.clone(), None, &run_cfg, &|_| {});
        let mut dup_of: Vec<Option<String>> = vec![None; docs.len()];
        for c in &out.clusters {
            for m in &c.members {
                if m.doc != c.representative {
                    if let (Some(slot), Some(rep)) = (
                        dup_of.get_mut(m.doc as usize),
                        docs.get(c.representative as usize),
                    ) {
                        *slot = Some(rep.id.clone());
                    }
                }
            }
        }
        drop(out);
        let stored: Vec<StoredForm> = prepared.into_par_iter().map(stored_form).collect();
        for ((d, (paras, shingles)), dup) in docs.iter().zip(stored).zip(dup_of) {
            let source = index.intern_source(d.source.as_deref());
            let slot = index.docs.len() as u32;
            index.ids.insert(d.id.clone(), slot);
            index.docs.push(Doc {
                id: d.id.clone(),
                dup_of: dup,
                source,
                time: d.published.as_deref().and_then(pipeline::parse_time),
                paras,
                shingles,
                sig: None,
                set_len: 0,
            });
        }
        index.rebuild_postings();
        index.derive_boilerplate_from_scratch();
        index.resign_all();
        index.rebuild_bands();
        index.recompute_times();
        Ok(index)
    }

    /// The options the index was built with (the band layout as `Banding::Manual`).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Refuses `requested` unless it equals the index's options (see [`config_differences`]).
    pub fn check_config(&self, requested: &Config) -> Result<(), IndexError> {
        let d = config_differences(&self.cfg, requested);
        if d.is_empty() {
            Ok(())
        } else {
            Err(IndexError::OptionsMismatch(d))
        }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Whether a document with this id is in the index.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// The ids, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.docs.iter().map(|d| d.id.as_str())
    }

    /// The `dup_of` recorded for a document: `Some(None)` for a representative or singleton,
    /// `None` when the id is not in the index.
    pub fn dup_of(&self, id: &str) -> Option<Option<&str>> {
        let d = self.docs.get(*self.ids.get(id)? as usize)?;
        Some(d.dup_of.as_deref())
    }

    /// A document's time (seconds since the Unix epoch), if it has one.
    pub fn time_of(&self, id: &str) -> Option<i64> {
        self.docs.get(*self.ids.get(id)? as usize)?.time
    }

    /// The representative of a document's cluster: its `dup_of`, or itself.
    pub fn root_of(&self, id: &str) -> Option<&str> {
        let d = self.docs.get(*self.ids.get(id)? as usize)?;
        Some(d.dup_of.as_deref().unwrap_or(&d.id))
    }

    /// The current boilerplate paragraphs.
    pub fn boilerplate(&self) -> Boilerplate {
        Boilerplate::from_hashes(self.bp.iter().copied())
    }

    /// A document's story-text shingle set (sorted), as `wiredup cluster` would compute it with
    /// the index's boilerplate.
    pub fn story_set(&self, id: &str) -> Option<Vec<Shingle>> {
        let d = self.docs.get(*self.ids.get(id)? as usize)?;
        let mut out = Vec::new();
        d.story_set(&self.bp, &mut out);
        Some(out)
    }

    /// A document's signature (`None` for a document without story text).
    pub fn signature(&self, id: &str) -> Option<&[u32]> {
        self.docs.get(*self.ids.get(id)? as usize)?.sig.as_deref()
    }

    /// Counts describing the index.
    pub fn stats(&self) -> IndexStats {
        let paragraphs: usize = self.docs.iter().map(|d| d.paras.len()).sum();
        let shingles: usize = self.docs.iter().map(|d| d.shingles.len()).sum();
        let p = self.cfg.minhash.num_perm;
        let with_sig = self.docs.iter().filter(|d| d.sig.is_some()).count();
        let text: usize = self
            .docs
            .iter()
            .map(|d| 2 * d.id.len() + d.dup_of.as_ref().map_or(0, |s| s.len()))
            .sum();
        let memory_bytes = self.docs.len() * (std::mem::size_of::<Doc>() + 48 + 40)
            + paragraphs * 16
            + shingles * 4
            + with_sig * 4 * p
            + text
            + self.bands.len() * 16
            + self.postings.len() * 16
            + (self.bp.len() + self.source_rule.len() + self.frequent.len()) * 16;
        IndexStats {
            documents: self.docs.len(),
            duplicates: self.docs.iter().filter(|d| d.dup_of.is_some()).count(),
            empty: self.docs.len() - with_sig,
            sources: self.sources.len(),
            boilerplate_paragraphs: self.bp.len(),
            paragraphs,
            shingles,
            bands: self.offsets.len(),
            num_perm: p,
            band_entries: self.bands.len(),
            postings: self.postings.len(),
            oldest: self.oldest,
            newest: self.newest,
            memory_bytes,
        }
    }

    /// Latest document time in the index.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// Earliest document time in the index.
    pub fn oldest(&self) -> Option<i64> {
        self.oldest
    }

    // -- queries ------------------------------------------------------------------------------

    /// Normalizes documents for [`Index::query_prepared`] / [`Index::insert_prepared`]
    /// (parallel; order kept).
    pub fn prepare(&self, texts: &[&str]) -> Vec<Prepared> {
        pipeline::normalize_all(texts, &self.cfg)
    }

    /// The matches of each document in the index, best first (read-only; parallel over the
    /// documents).
    pub fn query(&self, docs: &[Document]) -> Vec<QueryResult> {
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let prepared = self.prepare(&texts);
        docs.par_iter()
            .zip(prepared.into_par_iter())
            .map(|(d, p)| QueryResult {
                id: d.id.clone(),
                matches: self.query_prepared(p, None),
            })
            .collect()
    }

    /// The matches of one prepared document, best first, ignoring stored documents with a time
    /// before `not_before`.
    pub fn query_prepared(&self, prepared: Prepared, not_before: Option<i64>) -> Vec<Match> {
        let (paras, shingles) = stored_form(prepared);
        let mut set = Vec::new();
        story_set(&paras, &shingles, &self.bp, &mut set);
        let sig = self.hasher.sign(&set);
        let scores = self.find(&set, sig.as_deref(), &paras, None, not_before);
        self.to_matches(&scores)
    }

    fn to_matches(&self, scores: &[PairScore]) -> Vec<Match> {
        scores
            .iter()
            .filter_map(|s| Some(Match::new(&self.docs.get(s.b as usize)?.id, *s)))
            .collect()
    }

    /// Verified matches of a story set, best first.
    fn find(
        &self,
        set: &[Shingle],
        sig: Option<&[u32]>,
        paras: &[Para],
        exclude: Option<u32>,
        not_before: Option<i64>,
    ) -> Vec<PairScore> {
        let mut cands = Vec::new();
        self.candidates(sig, paras, exclude, not_before, &mut cands);
        let vcfg = &self.cfg.verify;
        let mut scratch = Vec::new();
        let mut out = Vec::new();
        let na = set.len() as u32;
        for &c in &cands {
            let Some(doc) = self.docs.get(c as usize) else {
                continue;
            };
            if let (Some(a), Some(b)) = (sig, doc.sig.as_deref()) {
                let upper = estimated_intersection_upper(a, b, na, doc.set_len);
                if !passes_f(upper, na, doc.set_len, vcfg) {
                    continue;
                }
            }
            doc.story_set(&self.bp, &mut scratch);
            let s = PairScore::exact(QUERY, c, set, &scratch);
            if s.passes(vcfg) {
                out.push(s);
            }
        }
        cluster::sort_pairs(&mut out);
        out
    }

    /// Candidate documents from the band tables and the shared-paragraph index.
    fn candidates(
        &self,
        sig: Option<&[u32]>,
        paras: &[Para],
        exclude: Option<u32>,
        not_before: Option<i64>,
        out: &mut Vec<u32>,
    ) {
        let ok = |d: u32| {
            Some(d) != exclude
                && self
                    .docs
                    .get(d as usize)
                    .is_some_and(|doc| match (not_before, doc.time) {
                        (Some(nb), Some(t)) => t >= nb,
                        _ => true,
                    })
        };
        let mut bucket: Vec<u32> = Vec::new();
        if let Some(sig) = sig {
            for (band, &(start, r)) in self.offsets.iter().enumerate() {
                let Some(rows) = sig.get(start..start + r) else {
                    continue;
                };
                let key = band_key(rows, band);
                let (a, b) = self.bands.get(key);
                bucket.clear();
                for e in a.iter().chain(b) {
                    if e.band == band as u32
                        && ok(e.doc)
                        && entry_valid(&self.docs, &self.offsets, e)
                    {
                        bucket.push(e.doc);
                    }
                }
                self.take_bucket(&mut bucket, out);
            }
        }
        if self.cfg.paragraph_candidates {
            let min_words = self.cfg.min_paragraph_words.max(1) as u32;
            let mut keys: Vec<u64> = paras
                .iter()
                .filter(|p| p.words >= min_words && !self.bp.contains(&p.hash))
                .map(|p| p.hash)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for h in keys {
                let (a, b) = self.postings.get(h);
                bucket.clear();
                bucket.extend(a.iter().chain(b).map(|p| p.doc).filter(|&d| ok(d)));
                self.take_bucket(&mut bucket, out);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Adds the documents of one bucket the query would be paired with, as
    /// `lsh::bucket_pairs` pairs the newest member of a bucket: all of them while the bucket
    /// (query included) has at most `max_bucket` members, else the first `anchors`.
    fn take_bucket(&self, bucket: &mut Vec<u32>, out: &mut Vec<u32>) {
        bucket.sort_unstable();
        bucket.dedup();
        let limits = &self.cfg.buckets;
        let take = if bucket.len() < limits.max_bucket {
            bucket.len()
        } else {
            limits.anchors.max(1).min(bucket.len())
        };
        out.extend_from_slice(&bucket[..take]);
    }

    // -- updates ------------------------------------------------------------------------------

    fn check_ids(&self, docs: &[Document]) -> Result<(), IndexError> {
        let mut seen: HashSet<&str> = HashSet::with_capacity(docs.len());
        for d in docs {
            if d.id.is_empty() {
                return Err(IndexError::InvalidDocument("empty id".into()));
            }
            if self.ids.contains_key(&d.id) || !seen.insert(&d.id) {
                return Err(IndexError::DuplicateId(d.id.clone()));
            }
        }
        Ok(())
    }

    fn intern_source(&mut self, source: Option<&str>) -> u32 {
        match source.filter(|s| !s.is_empty()) {
            None => NO_SOURCE,
            Some(s) => {
                if let Some(&id) = self.source_ids.get(s) {
                    return id;
                }
                let id = self.sources.len() as u32;
                self.sources.push(s.to_string());
                self.source_ids.insert(s.to_string(), id);
                id
            }
        }
    }

    /// Adds documents one after the other: each is matched against the index and the documents
    /// added before it, then added. Checked first: nothing is added when an id is empty, already
    /// in the index, or repeated in `docs`.
    pub fn add(&mut self, docs: &[Document]) -> Result<Vec<Decision>, IndexError> {
        self.check_ids(docs)?;
        if self.docs.len() + docs.len() >= u32::MAX as usize {
            return Err(IndexError::Full(self.docs.len()));
        }
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        let prepared = self.prepare(&texts);
        drop(texts);
        // The loop runs on a pool thread, so that the small parallel steps of each insertion
        // do not wait for a pool thread to pick them up.
        rayon::scope(|_| {
            let mut out = Vec::with_capacity(docs.len());
            for (d, p) in docs.iter().zip(prepared) {
                out.push(self.insert_prepared(d, p, &InsertOptions::default())?);
            }
            Ok(out)
        })
    }

    /// Adds one document (see [`Index::add`]).
    pub fn insert(&mut self, doc: &Document, opts: &InsertOptions) -> Result<Decision, IndexError> {
        let p = self
            .prepare(&[doc.text.as_str()])
            .into_iter()
            .next()
            .unwrap_or_default();
        self.insert_prepared(doc, p, opts)
    }

    /// Adds one document prepared by [`Index::prepare`] from `doc.text`.
    pub fn insert_prepared(
        &mut self,
        doc: &Document,
        prepared: Prepared,
        opts: &InsertOptions,
    ) -> Result<Decision, IndexError> {
        if doc.id.is_empty() {
            return Err(IndexError::InvalidDocument("empty id".into()));
        }
        if self.ids.contains_key(&doc.id) {
            return Err(IndexError::DuplicateId(doc.id.clone()));
        }
        if self.docs.len() >= u32::MAX as usize - 1 {
            return Err(IndexError::Full(self.docs.len()));
        }
        let time = opts
            .time
            .or_else(|| doc.published.as_deref().and_then(pipeline::parse_time));
        let (paras, shingles) = stored_form(prepared);
        let source = self.intern_source(doc.source.as_deref());
        let slot = self.docs.len() as u32;
        self.ids.insert(doc.id.clone(), slot);
        self.docs.push(Doc {
            id: doc.id.clone(),
            dup_of: None,
            source,
            time,
            paras,
            shingles,
            sig: None,
            set_len: 0,
        });
        let hashes = self.docs[slot as usize].distinct_hashes();
        for &hash in &hashes {
            self.postings.insert(Posting {
                hash,
                source,
                doc: slot,
            });
        }
        let flips = self.note_added(&hashes, source);
        if !flips.is_empty() {
            self.apply_flips(&flips, Some(slot));
        }

        let mut set = Vec::new();
        self.docs[slot as usize].story_set(&self.bp, &mut set);
        let sig = self.hasher.sign(&set);
        let scores = {
            let d = &self.docs[slot as usize];
            self.find(&set, sig.as_deref(), &d.paras, Some(slot), opts.not_before)
        };
        let matches = self.to_matches(&scores);
        let dup_of = scores.first().and_then(|s| {
            let m = self.docs.get(s.b as usize)?;
            Some(m.dup_of.clone().unwrap_or_else(|| m.id.clone()))
        });
        if let Some(sig) = &sig {
            for (band, &(start, r)) in self.offsets.iter().enumerate() {
                if let Some(rows) = sig.get(start..start + r) {
                    self.bands.insert(BandEntry {
                        key: band_key(rows, band),
                        band: band as u32,
                        doc: slot,
                    });
                }
            }
        }
        let d = &mut self.docs[slot as usize];
        d.set_len = set.len() as u32;
        d.sig = sig.map(Vec::into_boxed_slice);
        d.dup_of = dup_of.clone();
        if let Some(t) = time {
            self.oldest = Some(self.oldest.map_or(t, |o| o.min(t)));
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
        self.maybe_merge();
        Ok(Decision { dup_of, matches })
    }

    fn maybe_merge(&mut self) {
        if self.bands.wants_merge() {
            self.merge_bands();
        }
        if self.postings.wants_merge() {
            self.postings.flush();
        }
    }

    /// Merges the band delta, dropping stale entries if there are any.
    fn merge_bands(&mut self) {
        if self.stale > 0 {
            let (docs, offsets) = (&self.docs, &self.offsets);
            self.bands.merge(|e| entry_valid(docs, offsets, e));
            self.stale = 0;
        } else {
            self.bands.flush();
        }
    }

    /// Documents holding paragraph `hash`.
    fn count(&self, hash: u64) -> usize {
        let (a, b) = self.postings.get(hash);
        a.len() + b.len()
    }

    /// Documents of `source` holding paragraph `hash`.
    fn count_source(&self, hash: u64, source: u32) -> usize {
        let (a, b) = self.postings.get(hash);
        let lo = a.partition_point(|p| p.source < source);
        let rest = a.get(lo..).unwrap_or(&[]);
        let hi = rest.partition_point(|p| p.source <= source);
        hi + b.iter().filter(|p| p.source == source).count()
    }

    fn auto_corpus(&self) -> bool {
        self.cfg.boilerplate.min_corpus_docs.is_none()
    }

    /// Updates the boilerplate rules for a document just added with these distinct paragraph
    /// hashes; returns the paragraphs whose boilerplate status must flip.
    fn note_added(&mut self, hashes: &[u64], source: u32) -> Vec<u64> {
        let bcfg = self.cfg.boilerplate;
        let t = bcfg.corpus_threshold(self.docs.len());
        let freq_min = bcfg.corpus_threshold(0);
        let auto = self.auto_corpus();
        let mut flips = Vec::new();
        for &h in hashes {
            if source != NO_SOURCE
                && bcfg.min_source_docs > 0
                && !self.source_rule.contains(&h)
                && self.count_source(h, source) >= bcfg.min_source_docs
            {
                self.source_rule.insert(h);
            }
            let c = self.count(h);
            if auto && c >= freq_min {
                self.frequent.insert(h);
            }
            let now = self.source_rule.contains(&h) || c >= t;
            if now != self.bp.contains(&h) {
                flips.push(h);
            }
        }
        if t != self.corpus_t {
            for &h in &self.frequent {
                let now = self.source_rule.contains(&h) || self.count(h) >= t;
                if now != self.bp.contains(&h) {
                    flips.push(h);
                }
            }
            self.corpus_t = t;
        }
        flips.sort_unstable();
        flips.dedup();
        flips
    }

    /// Toggles the boilerplate status of `flips` and re-signs every document holding one of
    /// them (but `skip`, not yet signed).
    fn apply_flips(&mut self, flips: &[u64], skip: Option<u32>) {
        for &h in flips {
            if !self.bp.remove(&h) {
                self.bp.insert(h);
            }
        }
        let mut affected: Vec<u32> = Vec::new();
        for &h in flips {
            let (a, b) = self.postings.get(h);
            affected.extend(a.iter().chain(b).map(|p| p.doc));
        }
        affected.sort_unstable();
        affected.dedup();
        affected.retain(|&d| Some(d) != skip);
        let (docs, bp, hasher) = (&self.docs, &self.bp, &self.hasher);
        let signed: Vec<(u32, u32, Option<Vec<u32>>)> = affected
            .par_iter()
            .filter_map(|&d| {
                let doc = docs.get(d as usize)?;
                let mut set = Vec::new();
                doc.story_set(bp, &mut set);
                Some((d, set.len() as u32, hasher.sign(&set)))
            })
            .collect();
        for (d, len, sig) in signed {
            let Some(doc) = self.docs.get_mut(d as usize) else {
                continue;
            };
            doc.set_len = len;
            if doc.sig.as_deref() == sig.as_deref() {
                continue;
            }
            if doc.sig.is_some() {
                self.stale += self.offsets.len();
            }
            doc.sig = sig.map(Vec::into_boxed_slice);
            if let Some(sig) = doc.sig.as_deref() {
                for (band, &(start, r)) in self.offsets.iter().enumerate() {
                    if let Some(rows) = sig.get(start..start + r) {
                        self.bands.insert(BandEntry {
                            key: band_key(rows, band),
                            band: band as u32,
                            doc: d,
                        });
                    }
                }
            }
        }
    }

    /// Drops every document with a time before `before` (seconds since the Unix epoch); returns
    /// how many were dropped. Documents without a time are kept. Boilerplate is re-derived from
    /// the documents that remain.
    pub fn prune_before(&mut self, before: i64) -> usize {
        let dead = |d: &Doc| d.time.is_some_and(|t| t < before);
        let n_dead = self.docs.iter().filter(|d| dead(d)).count();
        if n_dead == 0 {
            return 0;
        }
        let mut remap = vec![u32::MAX; self.docs.len()];
        let mut next = 0u32;
        for (i, d) in self.docs.iter().enumerate() {
            if !dead(d) {
                remap[i] = next;
                next += 1;
            }
        }
        let mut used = vec![false; self.sources.len()];
        for d in self.docs.iter().filter(|d| !dead(d)) {
            if let Some(u) = used.get_mut(d.source as usize) {
                *u = true;
            }
        }
        let mut source_map = vec![NO_SOURCE; self.sources.len()];
        let mut kept_sources = Vec::new();
        for (i, s) in std::mem::take(&mut self.sources).into_iter().enumerate() {
            if used[i] {
                source_map[i] = kept_sources.len() as u32;
                kept_sources.push(s);
            }
        }
        let map_source = |s: u32| -> u32 {
            if s == NO_SOURCE {
                NO_SOURCE
            } else {
                source_map.get(s as usize).copied().unwrap_or(NO_SOURCE)
            }
        };
        {
            let (docs, offsets) = (&self.docs, &self.offsets);
            self.bands.merge(|e| entry_valid(docs, offsets, e));
            self.stale = 0;
        }
        self.bands.map_all(|e| {
            let doc = *remap.get(e.doc as usize)?;
            (doc != u32::MAX).then_some(BandEntry { doc, ..*e })
        });
        self.postings.map_all(|p| {
            let doc = *remap.get(p.doc as usize)?;
            (doc != u32::MAX).then(|| Posting {
                doc,
                source: map_source(p.source),
                hash: p.hash,
            })
        });
        let docs = std::mem::take(&mut self.docs);
        self.docs = docs
            .into_iter()
            .filter(|d| !dead(d))
            .map(|mut d| {
                d.source = map_source(d.source);
                d
            })
            .collect();
        self.sources = kept_sources;
        self.source_ids = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        self.ids = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i as u32))
            .collect();
        let old = self.bp.clone();
        self.derive_boilerplate_from_scratch();
        let new = std::mem::replace(&mut self.bp, old);
        let mut flips: Vec<u64> = new.symmetric_difference(&self.bp).copied().collect();
        flips.sort_unstable();
        if !flips.is_empty() {
            self.apply_flips(&flips, None);
        }
        self.recompute_times();
        n_dead
    }

    fn recompute_times(&mut self) {
        self.oldest = self.docs.iter().filter_map(|d| d.time).min();
        self.newest = self.docs.iter().filter_map(|d| d.time).max();
    }

    /// Postings of every document, from scratch.
    fn rebuild_postings(&mut self) {
        let mut v: Vec<Posting> = self
            .docs
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, d)| {
                let source = d.source;
                d.distinct_hashes().into_iter().map(move |hash| Posting {
                    hash,
                    source,
                    doc: i as u32,
                })
            })
            .collect();
        v.par_sort_unstable();
        self.postings = Table::from_sorted(v);
    }

    /// Band entries of every document, from scratch (from the signatures).
    fn rebuild_bands(&mut self) {
        let offsets = &self.offsets;
        let mut v: Vec<BandEntry> = self
            .docs
            .par_iter()
            .enumerate()
            .flat_map_iter(|(i, d)| {
                let sig = d.sig.as_deref();
                offsets
                    .iter()
                    .enumerate()
                    .filter_map(move |(band, &(start, r))| {
                        let rows = sig?.get(start..start + r)?;
                        Some(BandEntry {
                            key: band_key(rows, band),
                            band: band as u32,
                            doc: i as u32,
                        })
                    })
            })
            .collect();
        v.par_sort_unstable();
        v.dedup();
        self.bands = Table::from_sorted(v);
    }

    /// Story sets and signatures of every document under the current boilerplate.
    fn resign_all(&mut self) {
        let (bp, hasher) = (&self.bp, &self.hasher);
        self.docs.par_iter_mut().for_each_init(Vec::new, |set, d| {
            d.story_set(bp, set);
            d.set_len = set.len() as u32;
            d.sig = hasher.sign(set).map(Vec::into_boxed_slice);
        });
    }

    /// The boilerplate rules and set from the postings alone (the rules of
    /// `boilerplate::learn`).
    fn derive_boilerplate_from_scratch(&mut self) {
        self.postings.flush();
        let bcfg = self.cfg.boilerplate;
        let t = bcfg.corpus_threshold(self.docs.len());
        let freq_min = bcfg.corpus_threshold(0);
        let auto = self.auto_corpus();
        let (mut bp, mut source_rule, mut frequent) =
            (Set64::default(), Set64::default(), Set64::default());
        let base = &self.postings.base;
        let mut i = 0;
        while i < base.len() {
            let h = base[i].hash;
            let mut j = i;
            let mut by_source = false;
            while j < base.len() && base[j].hash == h {
                let s = base[j].source;
                let mut k = j;
                while k < base.len() && base[k].hash == h && base[k].source == s {
                    k += 1;
                }
                if s != NO_SOURCE && bcfg.min_source_docs > 0 && k - j >= bcfg.min_source_docs {
                    by_source = true;
                }
                j = k;
            }
            let total = j - i;
            if by_source {
                source_rule.insert(h);
            }
            if auto && total >= freq_min {
                frequent.insert(h);
            }
            if by_source || total >= t {
                bp.insert(h);
            }
            i = j;
        }
        self.bp = bp;
        self.source_rule = source_rule;
        self.frequent = frequent;
        self.corpus_t = t;
    }

    // -- persistence --------------------------------------------------------------------------

    /// Writes the index to `path` atomically: to a temporary file in the same directory, synced,
    /// then renamed over `path` (and the directory synced), so a crash at any point leaves
    /// either the previous file or the new one, never a mix.
    pub fn save(&mut self, path: &Path) -> Result<(), IndexError> {
        self.merge_bands();
        self.postings.flush();
        framed::save_atomic(path, &MAGIC, FORMAT_VERSION, |w| self.write_body(w))
            .map_err(|e| IndexError::io(path, e))?;
        self.file_version = FORMAT_VERSION;
        Ok(())
    }

    fn write_body<W: Write>(&self, w: &mut BodyWriter<W>) -> io::Result<()> {
        let c = &self.cfg;
        w.put(&[
            match c.shingle.kind {
                ShingleKind::Words => 0,
                ShingleKind::Chars => 1,
            },
            match c.minhash.scheme {
                Scheme::Oph => 0,
                Scheme::Classic => 1,
            },
            u8::from(c.paragraph_candidates),
            u8::from(c.cluster.guard),
            c.shingle.hash.byte(),
        ])?;
        w.u32(c.shingle.k as u32)?;
        w.u64(c.shingle.seed)?;
        w.u32(c.minhash.num_perm as u32)?;
        w.u32(self.offsets.len() as u32)?;
        w.u64(c.minhash.seed)?;
        w.u32(c.buckets.max_bucket as u32)?;
        w.u32(c.buckets.anchors as u32)?;
        w.u32(c.boilerplate.min_source_docs as u32)?;
        w.u32(c.min_paragraph_words as u32)?;
        w.u64(c.boilerplate.min_corpus_docs.map_or(u64::MAX, |v| v as u64))?;
        w.u64(c.verify.threshold.to_bits())?;
        w.u64(c.verify.containment.to_bits())?;
        w.u32(c.verify.min_containment_shingles as u32)?;
        w.u32(c.cluster.core_size as u32)?;
        for &(_, r) in &self.offsets {
            w.u32(r as u32)?;
        }
        let paragraphs: usize = self.docs.iter().map(|d| d.paras.len()).sum();
        let shingles: usize = self.docs.iter().map(|d| d.shingles.len()).sum();
        w.u64(self.docs.len() as u64)?;
        w.u64(self.sources.len() as u64)?;
        w.u64(paragraphs as u64)?;
        w.u64(shingles as u64)?;
        w.u64(self.bands.base.len() as u64)?;
        for s in &self.sources {
            w.str(s)?;
        }
        let mut buf: Vec<u8> = Vec::new();
        for d in &self.docs {
            w.str(&d.id)?;
            w.str(d.dup_of.as_deref().unwrap_or(""))?;
            buf.clear();
            buf.extend_from_slice(&d.source.to_le_bytes());
            buf.extend_from_slice(&d.time.unwrap_or(NO_TIME).to_le_bytes());
            buf.extend_from_slice(&(d.paras.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(d.shingles.len() as u32).to_le_bytes());
            buf.extend_from_slice(&d.set_len.to_le_bytes());
            buf.push(u8::from(d.sig.is_some()));
            for p in d.paras.iter() {
                buf.extend_from_slice(&p.hash.to_le_bytes());
                buf.extend_from_slice(&p.words.to_le_bytes());
                buf.extend_from_slice(&p.end.to_le_bytes());
            }
            for s in d.shingles.iter() {
                buf.extend_from_slice(&s.to_le_bytes());
            }
            if let Some(sig) = d.sig.as_deref() {
                for v in sig {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
            }
            w.put(&buf)?;
        }
        for chunk in self.bands.base.chunks(4096) {
            buf.clear();
            for e in chunk {
                buf.extend_from_slice(&e.key.to_le_bytes());
                buf.extend_from_slice(&e.band.to_le_bytes());
                buf.extend_from_slice(&e.doc.to_le_bytes());
            }
            w.put(&buf)?;
        }
        Ok(())
    }

    /// Opens an index written by [`Index::save`]. A missing, truncated, damaged or foreign file
    /// is an error naming the path and the problem; it never panics and never returns an index
    /// that differs from what was saved.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        framed::open(path, &MAGIC, FORMAT_VERSION, parse_body).map_err(|e| match e {
            OpenError::Io(e) => IndexError::io(path, e),
            OpenError::BadMagic => IndexError::NotAnIndex {
                path: path.display().to_string(),
            },
            OpenError::Version(found) => IndexError::Version {
                path: path.display().to_string(),
                found,
            },
            OpenError::Corrupt(what) => IndexError::corrupt(path, what),
        })
    }
}

fn to_usize(v: u32, what: &str) -> Result<usize, ReadFail> {
    usize::try_from(v).or_else(|_| bad(format!("{what} too large")))
}

fn parse_body<R: Read>(r: &mut BodyReader<R>, version: u32) -> Result<Index, ReadFail> {
    // Bytes per stored shingle: version 1 kept the whole 64-bit hash. Its shingles are
    // narrowed as `shingle::narrow` does, each paragraph's sorted again, and the signatures
    // and band keys computed again from the narrowed sets (below): the index then holds what
    // this build would have built from the same documents.
    let width: usize = if version == 1 { 8 } else { 4 };
    // Options.
    let kind = match r.u8()? {
        0 => ShingleKind::Words,
        1 => ShingleKind::Chars,
        v => return bad(format!("unknown shingle kind {v}")),
    };
    let scheme = match r.u8()? {
        0 => Scheme::Oph,
        1 => Scheme::Classic,
        v => return bad(format!("unknown sketch {v}")),
    };
    let flag = |v: u8, what: &str| match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => bad(format!("{what} flag is {v}, not 0 or 1")),
    };
    let paragraph_candidates = flag(r.u8()?, "paragraph candidates")?;
    let guard = flag(r.u8()?, "cluster guard")?;
    let hash = ShingleHash::of_file(version, || r.u8())?;
    let k = to_usize(r.u32()?, "k")?;
    let shingle_seed = r.u64()?;
    let num_perm = to_usize(r.u32()?, "num_perm")?;
    let bands = r.u32()? as u64;
    let minhash_seed = r.u64()?;
    let max_bucket = to_usize(r.u32()?, "max_bucket")?;
    let anchors = to_usize(r.u32()?, "anchors")?;
    let min_source_docs = to_usize(r.u32()?, "min_source_docs")?;
    let min_paragraph_words = to_usize(r.u32()?, "min_paragraph_words")?;
    let min_corpus_docs = match r.u64()? {
        u64::MAX => None,
        v => Some(usize::try_from(v).or_else(|_| bad("min_corpus_docs too large"))?),
    };
    let threshold = f64::from_bits(r.u64()?);
    let containment = f64::from_bits(r.u64()?);
    let min_containment_shingles = to_usize(r.u32()?, "min_containment_shingles")?;
    let core_size = to_usize(r.u32()?, "core_size")?;
    let n_bands = r.fits(bands, 4, "band layout")?;
    if n_bands == 0 {
        return bad("no LSH bands");
    }
    let mut rows = Vec::with_capacity(n_bands);
    for _ in 0..n_bands {
        rows.push(to_usize(r.u32()?, "band rows")?);
    }
    let cfg = Config {
        shingle: ShingleConfig {
            kind,
            k,
            seed: shingle_seed,
            hash,
        },
        minhash: MinHashConfig {
            num_perm,
            seed: minhash_seed,
            scheme,
        },
        banding: Banding::Manual(LshParams { rows }),
        buckets: BucketLimits {
            max_bucket,
            anchors,
        },
        boilerplate: BoilerplateConfig {
            min_source_docs,
            min_corpus_docs,
        },
        verify: VerifyConfig {
            threshold,
            containment,
            min_containment_shingles,
        },
        cluster: ClusterConfig { guard, core_size },
        paragraph_candidates,
        min_paragraph_words,
        // Not stored: it says what a run returns, not how documents are compared.
        sort_all_sets: true,
    };
    let mut index = match Index::new(&cfg) {
        Ok(i) => i,
        Err(e) => return bad(format!("options: {e}")),
    };
    index.file_version = version;

    // Counts.
    let n_docs = r.u64()?;
    let n_sources = r.u64()?;
    let n_paragraphs = r.u64()?;
    let n_shingles = r.u64()?;
    let n_entries = r.u64()?;
    if n_docs >= u32::MAX as u64 {
        return bad(format!("{n_docs} documents, more than an index can hold"));
    }
    let n_docs = r.fits(n_docs, 34, "documents")?;
    let n_sources = r.fits(n_sources, 4, "sources")?;
    r.fits(n_paragraphs, 16, "paragraphs")?;
    r.fits(n_shingles, width as u64, "shingles")?;
    let n_entries = r.fits(n_entries, 16, "band entries")?;

    for i in 0..n_sources {
        let s = r.string("a source name")?;
        if s.is_empty() || index.source_ids.contains_key(&s) {
            return bad(format!("source {i} is empty or repeated"));
        }
        index.source_ids.insert(s.clone(), i as u32);
        index.sources.push(s);
    }

    let p = num_perm;
    // One buffer for the raw bytes of every document's arrays.
    let mut raw: Vec<u8> = Vec::new();
    let (mut total_p, mut total_s) = (0u64, 0u64);
    index.docs.reserve(n_docs);
    for i in 0..n_docs {
        let id = r.string("a document id")?;
        if id.is_empty() {
            return bad(format!("document {i} has an empty id"));
        }
        let dup = r.string("a dup_of id")?;
        let mut fixed = [0u8; 25];
        r.fill(&mut fixed)?;
        let source = le_u32(&fixed, 0);
        let time = le_u64(&fixed, 4) as i64;
        let np = le_u32(&fixed, 12);
        let ns = le_u32(&fixed, 16);
        let set_len = le_u32(&fixed, 20);
        let has_sig = flag(fixed[24], "signature")?;
        if source != NO_SOURCE && source as usize >= n_sources {
            return bad(format!("document {id:?}: source {source} out of range"));
        }
        let np = r.fits(np as u64, 16, "paragraphs")?;
        raw.resize(np * 16, 0);
        r.fill(&mut raw)?;
        let mut paras = Vec::with_capacity(np);
        let mut last = 0u32;
        for c in raw.chunks_exact(16) {
            let para = Para {
                hash: le_u64(c, 0),
                words: le_u32(c, 8),
                end: le_u32(c, 12),
            };
            if para.end < last || para.end > ns {
                return bad(format!(
                    "document {id:?}: paragraph shingle ranges out of order"
                ));
            }
            last = para.end;
            paras.push(para);
        }
        if last != ns {
            return bad(format!(
                "document {id:?}: paragraphs cover {last} of {ns} shingles"
            ));
        }
        let ns = r.fits(ns as u64, width as u64, "shingles")?;
        raw.resize(ns * width, 0);
        r.fill(&mut raw)?;
        let shingles: Vec<Shingle> = if width == 8 {
            raw.chunks_exact(8).map(|c| narrow(le_u64(c, 0))).collect()
        } else {
            raw.chunks_exact(4).map(|c| le_u32(c, 0)).collect()
        };
        // A story set holds at most the document's distinct shingles, plus the identity values
        // of a tiny one (at most `TINY_SET` shingles).
        let most = ns.max(ns.min(pipeline::TINY_SET) + pipeline::IDENTITY_VALUES);
        if (ns == 0 && set_len > 0) || set_len as usize > most || has_sig != (set_len > 0) {
            return bad(format!(
                "document {id:?}: story set size {set_len} is inconsistent"
            ));
        }
        let sig = if has_sig {
            let n = r.fits(p as u64, 4, "signature")?;
            raw.resize(n * 4, 0);
            r.fill(&mut raw)?;
            Some(
                raw.chunks_exact(4)
                    .map(|c| le_u32(c, 0))
                    .collect::<Vec<u32>>()
                    .into_boxed_slice(),
            )
        } else {
            None
        };
        total_p += paras.len() as u64;
        total_s += shingles.len() as u64;
        let (paras, shingles) = if width == 8 {
            // Narrowing keeps neither each paragraph's order nor (rarely) its distinctness.
            stored_form(Prepared {
                paragraph_meta: paras
                    .iter()
                    .map(|p| ParagraphMeta {
                        words: p.words,
                        shingle_end: p.end,
                    })
                    .collect(),
                paragraphs: paras.iter().map(|p| p.hash).collect(),
                shingles,
                all_boilerplate: false,
                published: None,
            })
        } else {
            (paras.into_boxed_slice(), shingles.into_boxed_slice())
        };
        if index.ids.insert(id.clone(), i as u32).is_some() {
            return bad(format!("duplicate document id {id:?}"));
        }
        index.docs.push(Doc {
            id,
            dup_of: (!dup.is_empty()).then_some(dup),
            source,
            time: (time != NO_TIME).then_some(time),
            paras,
            shingles,
            sig,
            set_len,
        });
    }
    if total_p != n_paragraphs || total_s != n_shingles {
        return bad(format!(
            "documents hold {total_p} paragraphs and {total_s} shingles, the counts say {n_paragraphs} and {n_shingles}"
        ));
    }

    let mut entries = Vec::with_capacity(n_entries);
    let mut buf = vec![0u8; 16 * 4096];
    let mut left = n_entries;
    let mut prev: Option<BandEntry> = None;
    while left > 0 {
        let take = left.min(4096);
        let chunk = &mut buf[..take * 16];
        r.fill(chunk)?;
        for c in chunk.chunks_exact(16) {
            let e = BandEntry {
                key: le_u64(c, 0),
                band: le_u32(c, 8),
                doc: le_u32(c, 12),
            };
            if e.band as usize >= index.offsets.len() || e.doc as usize >= n_docs {
                return bad(format!("band entry {e:?} out of range"));
            }
            if prev.is_some_and(|p| p >= e) {
                return bad("band entries are not sorted");
            }
            prev = Some(e);
            entries.push(e);
        }
        left -= take;
    }
    index.bands = Table::from_sorted(entries);
    index.rebuild_postings();
    index.derive_boilerplate_from_scratch();
    if width == 8 {
        index.resign_all();
        index.rebuild_bands();
    }
    index.recompute_times();
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framed::HEADER_LEN;
    use crate::io::Origin;
    use crate::minhash::Signatures;
    use std::fs;

    pub(crate) fn doc(id: &str, source: Option<&str>, published: &str, text: &str) -> Document {
        Document {
            id: id.to_string(),
            text: text.to_string(),
            source: source.map(str::to_string),
            published: (!published.is_empty()).then(|| published.to_string()),
            origin: Origin::new("test", 0),
            record: None,
        }
    }

    /// Deterministic pseudo-random words.
    fn words(seed: u64, n: usize) -> String {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            out.push(format!("w{}", s % 5000));
        }
        out.join(" ")
    }

    fn story(seed: u64, paragraphs: usize) -> Vec<String> {
        (0..paragraphs)
            .map(|i| words(seed * 100 + i as u64, 25))
            .collect()
    }

    /// A small corpus with sources, boilerplate, copies, excerpts and unrelated stories.
    fn corpus() -> Vec<Document> {
        let mut docs = Vec::new();
        let footer = |site: usize| {
            format!(
                "{}\n\nsubscribe to site {site} for more news every day of the week and share it",
                words(9000 + site as u64, 12)
            )
        };
        for s in 0..12u64 {
            let st = story(s, 6);
            let day = 1 + s;
            docs.push(doc(
                &format!("orig{s}"),
                Some("wire"),
                &format!("2024-03-{day:02}T00:00:00Z"),
                &st.join("\n\n"),
            ));
            if s % 2 == 0 {
                let site = (s % 3) as usize;
                let mut text = vec![format!("site {site} header line")];
                text.extend(st.iter().take(5).cloned());
                text.push(footer(site));
                docs.push(doc(
                    &format!("scrape{s}"),
                    Some(&format!("site{site}.example")),
                    &format!("2024-03-{day:02}T05:00:00Z"),
                    &text.join("\n\n"),
                ));
            }
            if s % 3 == 0 {
                docs.push(doc(
                    &format!("excerpt{s}"),
                    Some("digest"),
                    &format!("2024-03-{day:02}T09:00:00Z"),
                    &st[..2].join("\n\n"),
                ));
            }
        }
        // Tiny texts (story sets of one or two shingles, which carry identity values): two
        // equal ones, a different one, and one that is all boilerplate (its site's header,
        // now on three pages of that site).
        docs.push(doc("tiny0", None, "2024-03-25T00:00:00Z", "hello world"));
        docs.push(doc("tiny1", None, "2024-03-25T01:00:00Z", "Hello, World!"));
        docs.push(doc(
            "tiny2",
            None,
            "2024-03-25T02:00:00Z",
            "hello world again",
        ));
        docs.push(doc(
            "tinyhdr",
            Some("site1.example"),
            "2024-03-25T03:00:00Z",
            "site 1 header line",
        ));
        // Short different stories on one site: boilerplate must not make them copies.
        for s in 0..4u64 {
            docs.push(doc(
                &format!("short{s}"),
                Some("site1.example"),
                &format!("2024-03-2{s}T00:00:00Z"),
                &format!("{}\n\n{}", words(5000 + s, 30), footer(1)),
            ));
        }
        docs.push(doc("empty", None, "", "  ...  "));
        docs
    }

    fn pipeline_sets(docs: &[Document], cfg: &Config) -> (Vec<Vec<Shingle>>, Boilerplate) {
        let out = pipeline::run(docs, cfg);
        let sets = out.prepared.iter().map(|p| p.shingles.clone()).collect();
        (sets, out.boilerplate)
    }

    /// The invariant of the module docs: boilerplate, story sets, signatures and band entries
    /// are what the pipeline computes on the documents in the index.
    fn check_invariant(index: &Index, docs: &[Document]) {
        let present: Vec<Document> = index
            .ids()
            .filter_map(|id| docs.iter().find(|d| d.id == id).cloned())
            .collect();
        assert_eq!(present.len(), index.len());
        let (sets, bp) = pipeline_sets(&present, &index.cfg);
        assert_eq!(index.boilerplate().sorted_hashes(), bp.sorted_hashes());
        let sigs = Signatures::compute(&sets, &index.cfg.minhash);
        for (i, d) in present.iter().enumerate() {
            assert_eq!(index.story_set(&d.id).as_ref(), Some(&sets[i]), "{}", d.id);
            assert_eq!(index.signature(&d.id), sigs.get(i), "{}", d.id);
            assert_eq!(index.docs[i].set_len as usize, sets[i].len());
        }
        // Every current band key is in the tables.
        for (i, d) in index.docs.iter().enumerate() {
            let Some(sig) = d.sig.as_deref() else {
                continue;
            };
            for (band, &(start, r)) in index.offsets.iter().enumerate() {
                let key = band_key(&sig[start..start + r], band);
                let (a, b) = index.bands.get(key);
                assert!(
                    a.iter()
                        .chain(b)
                        .any(|e| e.doc == i as u32 && e.band == band as u32),
                    "{} band {band}",
                    d.id
                );
            }
        }
    }

    #[test]
    fn random_adds_and_prunes_keep_the_invariant() {
        // Paragraphs drawn from a small pool, few sources: boilerplate flips both ways often.
        let (mut grew, mut shrank) = (0, 0);
        for (round, corpus_docs) in [(0u64, Some(4)), (1, None), (2, Some(0)), (3, Some(2))] {
            let cfg = Config {
                boilerplate: BoilerplateConfig {
                    min_source_docs: 2 + (round as usize % 2),
                    min_corpus_docs: corpus_docs,
                },
                ..Config::default()
            };
            let mut rng = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n
            };
            let pool: Vec<String> = (0..14u64)
                .map(|i| words(round * 1000 + i, 6 + (i as usize % 3) * 6))
                .collect();
            let mut all = Vec::new();
            let mut index = Index::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
            for step in 0..12 {
                let before = index.boilerplate().len();
                if step % 4 == 3 {
                    let cut = format!("2024-01-{:02}T00:00:00Z", 1 + next(20));
                    index.prune_before(pipeline::parse_time(&cut).unwrap_or(0));
                } else {
                    let batch: Vec<Document> = (0..1 + next(8))
                        .map(|_| {
                            let n = all.len();
                            let paras: Vec<&str> = (0..1 + next(5))
                                .map(|_| pool[next(14) as usize].as_str())
                                .collect();
                            let source = ["a", "b", "", "c"][next(4) as usize];
                            let d = doc(
                                &format!("d{n}"),
                                (!source.is_empty()).then_some(source),
                                &format!("2024-01-{:02}T00:00:00Z", 1 + next(25)),
                                &paras.join("\n\n"),
                            );
                            all.push(d.clone());
                            d
                        })
                        .collect();
                    index.add(&batch).unwrap_or_else(|e| panic!("{e}"));
                }
                check_invariant(&index, &all);
                let after = index.boilerplate().len();
                grew += usize::from(after > before);
                shrank += usize::from(after < before);
            }
        }
        assert!(grew > 0 && shrank > 0, "grew {grew}, shrank {shrank}");
    }

    #[test]
    fn band_keys_match_lsh() {
        // Two documents share a band key here iff lsh::candidates pairs them (it buckets by
        // the keys' top 32 bits: among 40 documents no two keys differ only below them).
        let cfg = Config::default();
        let sets: Vec<Vec<Shingle>> = (0..40u64)
            .map(|i| {
                let mut v: Vec<Shingle> = (0..60u64)
                    .map(|j| {
                        narrow(
                            (j + (i / 2) * 1000 + (i % 2) * (j % 3))
                                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
                        )
                    })
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            })
            .collect();
        let sigs = Signatures::compute(&sets, &cfg.minhash);
        let params = cfg.lsh_params();
        let want = crate::lsh::candidates(&sigs, &params, &cfg.buckets);
        let index = Index::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                let (Some(a), Some(b)) = (sigs.get(i), sigs.get(j)) else {
                    continue;
                };
                if index.offsets.iter().enumerate().any(|(band, &(s, r))| {
                    band_key(&a[s..s + r], band) == band_key(&b[s..s + r], band)
                }) {
                    got.push((i as u32, j as u32));
                }
            }
        }
        assert_eq!(got, want);
        assert!(!want.is_empty());
    }

    #[test]
    fn build_matches_the_pipeline() {
        let docs = corpus();
        let cfg = Config::default();
        let index = Index::build(&docs, &cfg).unwrap_or_else(|e| panic!("{e}"));
        check_invariant(&index, &docs);
        let out = pipeline::run(&docs, &cfg);
        for c in &out.clusters {
            let rep = &docs[c.representative as usize].id;
            for m in &c.members {
                let id = &docs[m.doc as usize].id;
                let want = (id != rep).then_some(rep.as_str());
                assert_eq!(index.dup_of(id), Some(want));
            }
        }
        assert!(index.stats().duplicates > 5);
        assert!(index.stats().boilerplate_paragraphs >= 2);
    }

    #[test]
    fn adding_one_by_one_keeps_the_invariant() {
        let docs = corpus();
        let cfg = Config {
            boilerplate: BoilerplateConfig {
                min_source_docs: 3,
                min_corpus_docs: Some(6),
            },
            ..Config::default()
        };
        let mut index = Index::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
        for d in &docs {
            index
                .insert(d, &InsertOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        check_invariant(&index, &docs);
        // A batch build of the same documents has the same boilerplate and signatures.
        let built = Index::build(&docs, &cfg).unwrap_or_else(|e| panic!("{e}"));
        for d in &docs {
            assert_eq!(index.signature(&d.id), built.signature(&d.id));
        }
        // Boilerplate flips left stale band entries; a save drops them.
        assert!(index.stale > 0);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("i.wdx");
        index.save(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.stale, 0);
        let st = Index::open(&path).unwrap_or_else(|e| panic!("{e}")).stats();
        assert_eq!(st.band_entries, (st.documents - st.empty) * st.bands);
        // Copies found their original.
        assert_eq!(index.dup_of("scrape0"), Some(Some("orig0")));
        assert_eq!(index.dup_of("excerpt3"), Some(Some("orig3")));
        assert_eq!(index.dup_of("orig1"), Some(None));
        for s in 0..4 {
            assert_eq!(index.dup_of(&format!("short{s}")), Some(None), "short{s}");
        }
    }

    #[test]
    fn automatic_corpus_threshold_flips_both_ways() {
        // 40 sourceless documents share one paragraph: boilerplate at 32 documents (automatic
        // threshold), then no longer once the corpus grows past 50 x 40 documents.
        let cfg = Config::default();
        let mut index = Index::new(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let shared = words(77, 20);
        let mut docs = Vec::new();
        for i in 0..40u64 {
            docs.push(doc(
                &format!("s{i}"),
                None,
                "",
                &format!("{}\n\n{shared}", words(1000 + i, 30)),
            ));
        }
        for d in &docs {
            index
                .insert(d, &InsertOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(index.boilerplate().len(), 1);
        check_invariant(&index, &docs);
        for i in 0..2020u64 {
            let d = doc(&format!("f{i}"), None, "", &words(50_000 + i, 4));
            docs.push(d);
        }
        let tail: Vec<Document> = docs[40..].to_vec();
        index.add(&tail).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.len(), 2060);
        assert_eq!(index.boilerplate().len(), 0);
        check_invariant(&index, &docs);
    }

    #[test]
    fn prune_rederives_boilerplate() {
        let docs = corpus();
        let cfg = Config::default();
        let mut index = Index::build(&docs, &cfg).unwrap_or_else(|e| panic!("{e}"));
        let before = index.len();
        let cut = pipeline::parse_time("2024-03-07T00:00:00Z").unwrap_or(0);
        let dropped = index.prune_before(cut);
        assert!(dropped > 0);
        assert_eq!(index.len(), before - dropped);
        assert!(index.contains("empty"));
        assert!(!index.contains("orig0"));
        check_invariant(&index, &docs);
        assert_eq!(index.prune_before(cut), 0);
    }

    #[test]
    fn queries_find_wrapped_copies_and_excerpts() {
        let docs = corpus();
        let index = Index::build(&docs, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let st = story(5, 6);
        let wrapped = format!(
            "{}\n\n{}\n\n{}",
            words(123, 200),
            st.join("\n\n"),
            words(321, 150)
        );
        let excerpt = st[2..4].join("\n\n");
        let q = vec![
            doc("wrapped", Some("new.example"), "", &wrapped),
            doc("excerpt", None, "", &excerpt),
            doc("nothing", None, "", &words(999, 200)),
        ];
        let r = index.query(&q);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].matches.first().map(|m| m.id.as_str()), Some("orig5"));
        let m = &r[0].matches[0];
        assert!(m.containment_match_in_query > 0.99);
        assert!(m.containment_query_in_match < 0.5);
        assert_eq!(r[1].matches.first().map(|m| m.id.as_str()), Some("orig5"));
        assert!(r[1].matches[0].containment_query_in_match > 0.99);
        assert!(r[2].matches.is_empty());
        // Best first.
        for res in &r {
            for w in res.matches.windows(2) {
                assert!(w[0].similarity >= w[1].similarity);
            }
        }
    }

    #[test]
    fn save_and_open_round_trip() {
        let docs = corpus();
        let mut index = Index::build(&docs, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("i.wdx");
        index.save(&path).unwrap_or_else(|e| panic!("{e}"));
        let back = Index::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.stats(), index.stats());
        assert_eq!(back.cfg, index.cfg);
        check_invariant(&back, &docs);
        let q = &docs[..6];
        assert_eq!(back.query(q), index.query(q));
        let mut again = back.clone();
        let path2 = dir.path().join("j.wdx");
        again.save(&path2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fs::read(&path).ok(), fs::read(&path2).ok());
        // Only the index files remain (temporary files are renamed).
        assert_eq!(fs::read_dir(dir.path()).map(|d| d.count()).ok(), Some(2));
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let docs = corpus();
        let mut index =
            Index::build(&docs[..8], &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("i.wdx");
        index.save(&path).unwrap_or_else(|e| panic!("{e}"));
        let good = fs::read(&path).unwrap_or_default();
        let bad = dir.path().join("bad.wdx");
        let open_bytes = |bytes: &[u8]| {
            fs::write(&bad, bytes).unwrap_or_else(|e| panic!("{e}"));
            Index::open(&bad)
        };
        // Every truncation.
        let step = (good.len() / 300).max(1);
        for cut in (0..good.len()).step_by(step) {
            let e = open_bytes(&good[..cut]).err().map(|e| e.to_string());
            let e = e.unwrap_or_else(|| panic!("truncated at {cut} opened"));
            assert!(e.contains("bad.wdx"), "{e}");
        }
        // Bit flips anywhere.
        for pos in (0..good.len()).step_by(step) {
            let mut b = good.clone();
            b[pos] ^= 0x10;
            let e = open_bytes(&b).err().map(|e| e.to_string());
            assert!(e.is_some(), "flip at {pos} opened");
        }
        // Flips with a recomputed checksum: structural checks, never a panic.
        let mut bad_structure = 0;
        for pos in (HEADER_LEN as usize..good.len()).step_by(step) {
            let mut b = good.clone();
            b[pos] = b[pos].wrapping_add(0x41);
            let sum = xxhash_rust::xxh3::xxh3_64(&b[HEADER_LEN as usize..]);
            b[24..32].copy_from_slice(&sum.to_le_bytes());
            if open_bytes(&b).is_err() {
                bad_structure += 1;
            }
        }
        assert!(bad_structure > 0);
        // Extreme values over 4-byte fields, checksum recomputed: errors or indexes, never a
        // panic or an allocation the file cannot back.
        for pos in (HEADER_LEN as usize..good.len().saturating_sub(4)).step_by(step.max(3)) {
            for v in [u32::MAX, 0x8000_0000, 0] {
                let mut b = good.clone();
                b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
                let sum = xxhash_rust::xxh3::xxh3_64(&b[HEADER_LEN as usize..]);
                b[24..32].copy_from_slice(&sum.to_le_bytes());
                if let Ok(mut i) = open_bytes(&b) {
                    // Whatever opened is usable.
                    let _ = i.query(&docs[..2]);
                    let _ = i.stats();
                    let _ = i.add(&[doc("zz-new", None, "", "a few more words here")]);
                }
            }
        }
        // Specific messages.
        let e = open_bytes(b"hello")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("not a wiredup index"), "{e}");
        let mut v = good.clone();
        v[8] = 9;
        let e = open_bytes(&v)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("version 9"), "{e}");
        let e = open_bytes(&good[..good.len() - 3])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("truncated"), "{e}");
        let mut v = good.clone();
        let last = v.len() - 1;
        v[last] ^= 1;
        let e = open_bytes(&v)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("checksum mismatch"), "{e}");
        let e = Index::open(&dir.path().join("missing.wdx"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("missing.wdx"), "{e}");
        let e = Index::open(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!e.is_empty());
    }

    #[test]
    fn options_mismatch_is_refused() {
        let index = Index::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(index.check_config(&Config::default()).is_ok());
        let mut other = Config::default();
        other.shingle.k = 5;
        other.minhash.seed = 7;
        let e = index
            .check_config(&other)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("k: index 3, requested 5"), "{e}");
        assert!(e.contains("seed: index 42, requested 7"), "{e}");
    }

    #[test]
    fn duplicate_and_empty_ids_are_refused_atomically() {
        let docs = corpus();
        let mut index =
            Index::build(&docs[..3], &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let batch = vec![doc("new1", None, "", "a b c d"), docs[0].clone()];
        assert!(matches!(index.add(&batch), Err(IndexError::DuplicateId(_))));
        assert_eq!(index.len(), 3);
        assert!(index.add(&[doc("", None, "", "x")]).is_err());
        let twice = vec![doc("n", None, "", "a"), doc("n", None, "", "b")];
        assert!(index.add(&twice).is_err());
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn window_ignores_old_documents() {
        let docs = corpus();
        let mut index = Index::build(&docs, &Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let copy = doc("copy0", None, "", &story(0, 6).join("\n\n"));
        let late = pipeline::parse_time("2024-03-05T00:00:00Z");
        let d = index
            .insert(
                &copy,
                &InsertOptions {
                    time: late,
                    not_before: late,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // orig0 is from March 1st, outside the window; only its in-window copies could match.
        assert!(d.matches.iter().all(|m| m.id != "orig0"));
        let copy = doc("copy1", None, "", &story(0, 6).join("\n\n"));
        let d = index
            .insert(&copy, &InsertOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.dup_of.as_deref(), Some("orig0"));
    }
}
