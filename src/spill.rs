//! Out-of-core runs: the whole pipeline with the per-document data on disk, so that memory
//! stays bounded whatever the corpus size (`wiredup cluster --spill-dir DIR`).
//!
//! An in-memory run ([`crate::pipeline::run_prepared`]) holds every document's raw shingles
//! (about 8 bytes per word), its signature and its band keys at once: about 4.8 KB per news
//! article, 45 GiB at 10 million. Here each of those lives in a file for the one pass that
//! needs it, and memory holds only what is indexed by document (about 90 bytes each, ids
//! included) plus one bounded working set at a time:
//!
//! 1. **read** (one pass over the input): each document is normalized and shingled on the
//!    parsing threads as usual, then its prepared form (paragraph hashes and raw shingles, the
//!    shard record layout of [`crate::shard`]) is appended to `prepared.bin`. Memory keeps its
//!    id (one string arena), publication time, source number, and its distinct paragraph
//!    hashes for the next step.
//! 2. **boilerplate**: learned from the paragraph hashes alone
//!    ([`crate::boilerplate::learn_distinct`]); they are dropped afterwards.
//! 3. **shingle+minhash** (`prepared.bin` read once, in chunks, overlapped with the work):
//!    story sets and signatures per chunk; each band's keys are appended to that band's file
//!    and each story paragraph's hash to `paragraphs.bin`. Only the story-set sizes are kept.
//! 4. **lsh**: one band file at a time (a few in parallel) is loaded, bucketed by a sort and
//!    turned into candidate pairs, merged into the sorted result; then the paragraph entries.
//!    This is LSH by external sort: band keys written in runs per band, grouped one band at a
//!    time.
//! 5. **partition**: the candidate graph's connected components are packed, in document order,
//!    into partitions of at most `partition_bytes` of records, and `prepared.bin` is read once
//!    more to scatter each candidate document's record into its partition's file.
//! 6. **verify+cluster**: partitions one at a time: story sets and signatures again, exact
//!    verification, guarded clustering and representative scores, all in memory for that
//!    partition only. Verification and clustering never cross a component, so this is the
//!    in-memory computation, restricted.
//!
//! **Invariant** (tested): the outcome equals the in-memory run's, so `wiredup cluster` writes
//! byte-identical output with or without `--spill-dir`, whatever the thread count and the
//! partition budget. Documents are renumbered inside a partition in input order, and every
//! rule downstream of LSH (pair order, guarded merges, representative choice) depends on
//! document order only, never on the numbers themselves.
//!
//! **Cost.** Disk: about 1.3x the JSONL input for `prepared.bin` (8 bytes per word), 8 bytes per
//! band per document for the band files, and up to the candidates' share of `prepared.bin`
//! again for the partitions; everything is deleted as soon as it is read for the last time,
//! and the spill directory at the end (also on error). I/O: `prepared.bin` is written once and
//! read twice, sequentially. Memory: the per-document tables (about 90 bytes per document plus
//! its id), the paragraph hashes until boilerplate is learned (8 bytes per distinct paragraph,
//! plus 16 while counting), one chunk of `prepared.bin` in flight, one group of bands (16 bytes
//! per document each), the candidate pairs (8 bytes each), and one partition at a time (about
//! twice `partition_bytes`; a single component larger than the budget is one partition of its
//! own, since it cannot be split).
//!
//! Quirk: the spilled [`Outcome`] has no `prepared` documents (they are on disk, then gone).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use crate::boilerplate::{self, Boilerplate, PrehashedKey};
use crate::cluster::{self, RepKey, UnionFind};
use crate::hashsort;
use crate::io::{self as input, Corpus, Document, Duplicate, Origin, ReadError, ReadOptions, Sink};
use crate::lsh;
use crate::minhash::Signatures;
use crate::output::DocIds;
use crate::pipeline::{
    self, candidate_paragraphs, story_set, Cluster, Config, Member, Outcome, PrepareScratch,
    Prepared, Stats,
};
use crate::shard::{decode_prepared, encode_prepared, record_len};
use crate::verify::{self, PairScore, VerifyStats};

/// Where and how an out-of-core run keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillConfig {
    /// Directory under which the run makes (and at the end removes) its own subdirectory.
    pub dir: PathBuf,
    /// Most bytes of prepared records verified and clustered at once (see module docs).
    pub partition_bytes: u64,
}

impl SpillConfig {
    /// Default partition budget: 1 GiB of records (about 2 GiB of memory while verifying).
    pub const DEFAULT_PARTITION_BYTES: u64 = 1 << 30;
}

/// Why an out-of-core run failed.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// Reading the input failed (a bad record, unless skipped, among others).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Making, writing or reading a spill file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A spill file did not read back as written (disk damage, or another process).
    #[error("{path}: spill file damaged: {what}")]
    Corrupt { path: String, what: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpillError + '_ {
    move |source| SpillError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Document ids in one string arena: two allocations for any number of documents.
#[derive(Debug, Clone, Default)]
pub struct IdTable {
    bytes: String,
    ends: Vec<u64>,
}

impl IdTable {
    /// Appends an id; its index is the previous length.
    pub fn push(&mut self, id: &str) {
        self.bytes.push_str(id);
        self.ends.push(self.bytes.len() as u64);
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Id `i`, or `""` past the end.
    pub fn get(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(0, |&e| e as usize),
        };
        let end = self.ends.get(i).map_or(start, |&e| e as usize);
        self.bytes.get(start..end).unwrap_or("")
    }
}

impl DocIds for IdTable {
    fn doc_id(&self, i: u32) -> &str {
        self.get(i as usize)
    }
}

/// What an out-of-core run returns.
#[derive(Debug)]
pub struct Spilled {
    /// Every document's id, by input index.
    pub ids: IdTable,
    /// The outcome, as [`pipeline::run_prepared`] would give it, without `prepared`.
    pub outcome: Outcome,
    /// Skipped records and bytes read; `docs` is empty.
    pub corpus: Corpus,
}

/// The run's own directory under [`SpillConfig::dir`], removed when dropped.
struct SpillDir {
    path: PathBuf,
}

impl SpillDir {
    fn create(parent: &Path) -> Result<Self, SpillError> {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("wiredup-spill-{}-{nanos:09}", std::process::id()));
        fs::create_dir(&path).map_err(io_err(&path))?;
        Ok(SpillDir { path })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn create(path: &Path) -> Result<BufWriter<File>, SpillError> {
    let f = File::create(path).map_err(io_err(path))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

fn finish(w: BufWriter<File>, path: &Path) -> Result<(), SpillError> {
    w.into_inner()
        .map_err(|e| e.into_error())
        .map_err(io_err(path))?;
    Ok(())
}

/// Step 1's per-document work, on the parsing threads: prepare, then encode the record and
/// the distinct paragraph hashes, so the reading thread only appends bytes.
struct SpillPrep<'c> {
    cfg: &'c Config,
}

/// One document's record for `prepared.bin` and its distinct paragraph hashes.
struct Record {
    bytes: Vec<u8>,
    distinct: Vec<u64>,
}

impl input::Prepare for SpillPrep<'_> {
    type Scratch = PrepareScratch;
    type Output = Record;

    fn scratch(&self) -> PrepareScratch {
        PrepareScratch::default()
    }

    fn prepare(&self, scratch: &mut PrepareScratch, doc: &mut Document) -> Record {
        let (paragraphs, meta, shingles) = pipeline::prepare_in(&doc.text, self.cfg, scratch);
        doc.text = String::new();
        let mut bytes = Vec::new();
        // Counts over 2^32 cannot come from a text under --max-doc-bytes (16 MiB default);
        // an empty record would then be caught as damage when read back.
        let _ = encode_prepared(paragraphs, meta, shingles, &mut bytes);
        let mut distinct = paragraphs.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        Record { bytes, distinct }
    }
}

/// Bytes gathered before a write is handed to the writer thread.
const WRITE_BATCH: usize = 8 << 20;

/// Appends to a file on its own thread, so that the reading thread does not wait on writes.
struct Writer {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
    batch: Vec<u8>,
}

impl Writer {
    fn new(path: &Path) -> Result<Self, SpillError> {
        let mut file = File::create(path).map_err(io_err(path))?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let thread = std::thread::spawn(move || -> io::Result<()> {
            for buf in rx {
                file.write_all(&buf)?;
            }
            file.flush()
        });
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            batch: Vec::with_capacity(WRITE_BATCH),
        })
    }

    /// Appends `bytes`; false when the writer thread has stopped (its error comes from
    /// [`Writer::finish`]).
    fn write(&mut self, bytes: &[u8]) -> bool {
        self.batch.extend_from_slice(bytes);
        if self.batch.len() < WRITE_BATCH {
            return true;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(WRITE_BATCH));
        self.tx.as_ref().is_some_and(|tx| tx.send(full).is_ok())
    }

    fn finish(mut self, path: &Path) -> Result<(), SpillError> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
        let done = match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("spill writer thread panicked")),
            None => Ok(()),
        };
        done.map_err(io_err(path))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // On an error path: stop the thread (the channel closes) and wait for it.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Step 1's sink: appends each document's record to `prepared.bin` and keeps the small
/// per-document tables.
struct Reader {
    ids: IdTable,
    /// Id hash -> first document with it; ids whose hash collides with a different id's go to
    /// `id_overflow`, so the duplicate check is exact.
    id_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<PrehashedKey>>,
    id_overflow: HashMap<String, u32>,
    files: Vec<String>,
    origins: Vec<(u32, u64)>,
    published: Vec<Option<i64>>,
    by_source: bool,
    sources: HashMap<String, u32>,
    sids: Vec<u32>,
    distinct: Vec<u64>,
    distinct_ends: Vec<u64>,
    record_ends: Vec<u64>,
    written: u64,
    out: Writer,
    scratch: Option<PrepareScratch>,
    /// Set when the writer thread stopped; its error is reported once reading ends.
    failed: bool,
}

impl Reader {
    fn origin(&self, i: u32) -> Origin {
        let (f, line) = self.origins[i as usize];
        Origin::new(self.files[f as usize].clone(), line)
    }

    /// The document already accepted with this id, if any.
    fn find(&self, id: &str, h: u64) -> Option<u32> {
        match self.id_hash.get(&h) {
            Some(&j) if self.ids.get(j as usize) == id => Some(j),
            Some(_) => self.id_overflow.get(id).copied(),
            None => None,
        }
    }
}

impl Sink<SpillPrep<'_>> for Reader {
    fn accept(
        &mut self,
        prep: &SpillPrep<'_>,
        mut doc: Document,
        record: Option<Record>,
    ) -> Result<(), Duplicate> {
        let h = xxh3_64(doc.id.as_bytes());
        if let Some(j) = self.find(&doc.id, h) {
            return Err(Duplicate {
                first: self.origin(j),
                doc,
            });
        }
        let i = self.ids.len() as u32;
        if self.id_hash.contains_key(&h) {
            self.id_overflow.insert(doc.id.clone(), i);
        } else {
            self.id_hash.insert(h, i);
        }
        let record = match record {
            Some(r) => r,
            None => {
                let scratch = self.scratch.get_or_insert_with(PrepareScratch::default);
                input::Prepare::prepare(prep, scratch, &mut doc)
            }
        };
        self.ids.push(&doc.id);
        if self.files.last() != Some(&doc.origin.file) {
            self.files.push(doc.origin.file);
        }
        self.origins
            .push(((self.files.len() - 1) as u32, doc.origin.line));
        self.published
            .push(doc.published.as_deref().and_then(pipeline::parse_time));
        let sid = match doc.source.filter(|s| !s.is_empty()) {
            Some(s) if self.by_source => {
                let next = self.sources.len() as u32;
                *self.sources.entry(s).or_insert(next)
            }
            _ => u32::MAX,
        };
        self.sids.push(sid);
        self.distinct.extend_from_slice(&record.distinct);
        self.distinct_ends.push(self.distinct.len() as u64);
        if !self.failed && !self.out.write(&record.bytes) {
            self.failed = true;
        }
        self.written += record.bytes.len() as u64;
        self.record_ends.push(self.written);
        Ok(())
    }
}

/// Runs the pipeline on `inputs` out of core (see the module docs); `on_stage` is called with
/// each stage's name as it starts.
///
/// # Errors
///
/// [`SpillError::Read`] as [`crate::io::read_inputs`] fails; [`SpillError::Io`] when a spill
/// file cannot be made, written or read (a full disk, say); [`SpillError::Corrupt`] when one
/// reads back damaged.
pub fn run(
    inputs: &[String],
    ropts: &ReadOptions,
    cfg: &Config,
    spill: &SpillConfig,
    on_stage: &dyn Fn(&str),
) -> Result<Spilled, SpillError> {
    let dir = SpillDir::create(&spill.dir)?;
    let mut stats = Stats::default();
    let mut clock = Instant::now();
    let mut lap = |name: &str, next: &str, stats: &mut Stats| {
        let now = Instant::now();
        stats.timings.push((name.to_string(), now - clock));
        clock = now;
        if !next.is_empty() {
            on_stage(next);
        }
    };

    // 1. read
    on_stage("read+normalize");
    let prepared_path = dir.file("prepared.bin");
    let mut reader = Reader {
        ids: IdTable::default(),
        id_hash: HashMap::default(),
        id_overflow: HashMap::new(),
        files: Vec::new(),
        origins: Vec::new(),
        published: Vec::new(),
        by_source: cfg.boilerplate.min_source_docs > 0,
        sources: HashMap::new(),
        sids: Vec::new(),
        distinct: Vec::new(),
        distinct_ends: Vec::new(),
        record_ends: Vec::new(),
        written: 0,
        out: Writer::new(&prepared_path)?,
        scratch: None,
        failed: false,
    };
    let corpus = input::read_inputs_into(inputs, ropts, &SpillPrep { cfg }, &mut reader)?;
    let Reader {
        ids,
        published,
        sids,
        distinct,
        distinct_ends,
        record_ends,
        out,
        ..
    } = reader;
    out.finish(&prepared_path)?;
    let n = ids.len();
    stats.documents = n;
    lap("read+normalize", "boilerplate", &mut stats);

    // 2. boilerplate
    let bp = boilerplate::learn_distinct(
        &sids,
        |i| {
            let start = if i == 0 { 0 } else { distinct_ends[i - 1] as usize };
            &distinct[start..distinct_ends[i] as usize]
        },
        &cfg.boilerplate,
    );
    drop((distinct, distinct_ends, sids));
    stats.boilerplate_paragraphs = bp.len();
    lap("boilerplate", "shingle+minhash", &mut stats);

    // 3. story sets, signatures, band keys
    let params = cfg.lsh_params();
    let ranges = params.ranges(cfg.minhash.num_perm);
    stats.bands = ranges.len();
    let band_paths: Vec<PathBuf> = (0..ranges.len())
        .map(|b| dir.file(&format!("band-{b}.bin")))
        .collect();
    let para_path = dir.file("paragraphs.bin");
    let sizes = sign_pass(
        &prepared_path,
        &record_ends,
        &bp,
        cfg,
        &ranges,
        &band_paths,
        &para_path,
        &mut stats,
    )?;
    lap("shingle+minhash", "lsh", &mut stats);

    // 4. LSH, one band file at a time (a few at once), then the shared paragraphs.
    let failure: Mutex<Option<SpillError>> = Mutex::new(None);
    let group = rayon::current_num_threads().clamp(1, 4);
    let mut cands = lsh::candidates_by_band(
        ranges.len(),
        group,
        |b| match read_band(&band_paths[b], &sizes) {
            Ok(entries) => {
                let _ = fs::remove_file(&band_paths[b]);
                entries
            }
            Err(e) => {
                if let Ok(mut f) = failure.lock() {
                    f.get_or_insert(e);
                }
                Vec::new()
            }
        },
        &cfg.buckets,
    );
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    stats.lsh_candidates = cands.len();
    if cfg.paragraph_candidates {
        let mut entries = read_paragraph_entries(&para_path, n)?;
        let mut extra = Vec::new();
        lsh::bucket_pairs(&mut entries, &cfg.buckets, &mut extra);
        drop(entries);
        extra.par_sort_unstable();
        extra.dedup();
        stats.paragraph_candidates = extra.len();
        cands.extend(extra);
        cands.par_sort_unstable();
        cands.dedup();
    }
    let _ = fs::remove_file(&para_path);
    lap("lsh", "partition", &mut stats);

    // 5. partitions of whole components, and each candidate document's record in its file.
    let part = partition(n, &cands, &record_ends, spill.partition_bytes);
    let parts = part.iter().filter(|&&p| p != NONE).max().map_or(0, |&p| p + 1) as usize;
    let part_paths: Vec<PathBuf> = (0..parts)
        .map(|p| dir.file(&format!("part-{p}.bin")))
        .collect();
    scatter(&prepared_path, &record_ends, &part, &part_paths)?;
    let _ = fs::remove_file(&prepared_path);
    drop(record_ends);
    let mut part_cands: Vec<Vec<(u32, u32)>> = vec![Vec::new(); parts];
    for (a, b) in cands {
        part_cands[part[a as usize] as usize].push((a, b));
    }
    lap("partition", "verify+cluster", &mut stats);

    // 6. verify and cluster one partition at a time.
    let keys: Vec<RepKey> = published
        .iter()
        .zip(&sizes)
        .map(|(&published, &length)| RepKey { published, length })
        .collect();
    drop(published);
    let mut labels: Vec<u32> = (0..n as u32).collect();
    let mut pairs: Vec<PairScore> = Vec::new();
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut vstats = VerifyStats::default();
    for (p, (path, pc)) in part_paths.iter().zip(part_cands).enumerate() {
        let done = verify_partition(path, p as u32, &pc, &bp, cfg, &keys)?;
        let _ = fs::remove_file(path);
        for (&m, &l) in done.members.iter().zip(&done.labels) {
            labels[m as usize] = l;
        }
        pairs.extend(done.pairs);
        clusters.extend(done.clusters);
        vstats.candidates += done.stats.candidates;
        vstats.rejected_by_estimate += done.stats.rejected_by_estimate;
        vstats.checked_exactly += done.stats.checked_exactly;
        vstats.accepted += done.stats.accepted;
    }
    stats.verify = vstats;
    // Cluster ids: positions among all clusters (singletons included) in order of their
    // lowest member, as `cluster::groups` numbers them.
    let mut cluster_ids = vec![0u32; n];
    let mut next = 0u32;
    for i in 0..n {
        let l = labels[i] as usize;
        if l == i {
            cluster_ids[i] = next;
            next += 1;
        } else {
            cluster_ids[i] = cluster_ids[l];
        }
    }
    for c in &mut clusters {
        c.id = cluster_ids[c.representative as usize];
    }
    clusters.sort_unstable_by_key(|c| c.id);
    pairs.sort_unstable_by_key(|p| (p.a, p.b));
    stats.clusters = clusters.len();
    stats.duplicates = clusters.iter().map(|c| c.members.len() - 1).sum();
    lap("verify+cluster", "", &mut stats);

    Ok(Spilled {
        ids,
        outcome: Outcome {
            labels,
            cluster_ids,
            clusters,
            pairs,
            prepared: Vec::new(),
            boilerplate: bp,
            stats,
        },
        corpus,
    })
}

/// No partition (a document without candidates).
const NONE: u32 = u32::MAX;

/// Bytes of `prepared.bin` read and worked on at once in step 3.
const CHUNK_BYTES: u64 = 64 << 20;

/// Document ranges `[from, to)` of at most about [`CHUNK_BYTES`] of records each.
fn chunks(record_ends: &[u64]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0usize;
    while from < record_ends.len() {
        let base = if from == 0 { 0 } else { record_ends[from - 1] };
        let limit = base + CHUNK_BYTES;
        // At least one document per chunk, however large.
        let to = (from + 1).max(record_ends.partition_point(|&e| e <= limit));
        out.push((from, to));
        from = to;
    }
    out
}

/// Decodes the records in `bytes` (one chunk) in parallel; `ends[k]` is where record `k` ends,
/// counted from `base`.
fn decode_chunk(
    bytes: &[u8],
    base: u64,
    ends: &[u64],
    path: &Path,
) -> Result<Vec<Prepared>, SpillError> {
    let corrupt = |what: String| SpillError::Corrupt {
        path: path.display().to_string(),
        what,
    };
    if ends.last().map_or(0, |&e| e - base) != bytes.len() as u64 {
        return Err(corrupt("chunk length differs from its records".into()));
    }
    (0..ends.len())
        .into_par_iter()
        .map(|k| {
            let from = if k == 0 { 0 } else { (ends[k - 1] - base) as usize };
            let to = (ends[k] - base) as usize;
            match decode_prepared(&bytes[from..to]) {
                Ok((p, used)) if used == to - from => Ok(p),
                Ok(_) => Err(corrupt(format!("record {k} of a chunk has bytes left over"))),
                Err(what) => Err(corrupt(what)),
            }
        })
        .collect()
}

/// Reads the chunks of `path` in order on a helper thread, handing each to `work` on this
/// one, so reading overlaps the work.
fn for_each_chunk(
    path: &Path,
    record_ends: &[u64],
    mut work: impl FnMut(usize, Vec<Prepared>) -> Result<(), SpillError>,
) -> Result<(), SpillError> {
    let ranges = chunks(record_ends);
    let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err(path))?);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(usize, Vec<u8>), SpillError>>(1);
        let ranges_ref = &ranges;
        scope.spawn(move || {
            for &(from, to) in ranges_ref {
                let base = if from == 0 { 0 } else { record_ends[from - 1] };
                let mut bytes = vec![0u8; (record_ends[to - 1] - base) as usize];
                let got = file.read_exact(&mut bytes).map_err(io_err(path));
                let stop = got.is_err();
                if tx.send(got.map(|()| (from, bytes))).is_err() || stop {
                    return;
                }
            }
        });
        for (k, msg) in rx.iter().enumerate() {
            let (from, bytes) = msg?;
            let to = ranges[k].1;
            let base = if from == 0 { 0 } else { record_ends[from - 1] };
            let docs = decode_chunk(&bytes, base, &record_ends[from..to], path)?;
            drop(bytes);
            work(from, docs)?;
        }
        Ok(())
    })
}

/// Step 3: story sets, signatures and band keys of every document, chunk by chunk. Returns
/// each document's story-set size; fills in `stats.empty` and `stats.all_boilerplate`.
#[allow(clippy::too_many_arguments)]
fn sign_pass(
    prepared_path: &Path,
    record_ends: &[u64],
    bp: &Boilerplate,
    cfg: &Config,
    ranges: &[(usize, usize)],
    band_paths: &[PathBuf],
    para_path: &Path,
    stats: &mut Stats,
) -> Result<Vec<u32>, SpillError> {
    let mut bands: Vec<BufWriter<File>> = band_paths
        .iter()
        .map(|p| create(p))
        .collect::<Result<_, _>>()?;
    let mut paras = create(para_path)?;
    let min_words = cfg.min_paragraph_words.max(1) as u32;
    let mut sizes: Vec<u32> = Vec::with_capacity(record_ends.len());
    let mut keys: Vec<u64> = Vec::new();
    let mut entry_bytes: Vec<u8> = Vec::new();
    for_each_chunk(prepared_path, record_ends, |from, mut docs| {
        let sigs = Signatures::compute_prepared(
            &mut docs,
            &cfg.minhash,
            hashsort::Scratch::default,
            |sort, d| story_set(d, bp, sort),
            |d| &d.shingles,
        );
        let m = docs.len();
        // Keys band-major, so each band's run is one write.
        keys.clear();
        keys.resize(m * ranges.len(), 0);
        keys.par_chunks_mut(m.max(1))
            .enumerate()
            .for_each(|(b, out)| {
                let (start, r) = ranges[b];
                for (i, k) in out.iter_mut().enumerate() {
                    if let Some(sig) = sigs.get(i) {
                        *k = lsh::band_key(&sig[start..start + r], b);
                    }
                }
            });
        for (b, w) in bands.iter_mut().enumerate() {
            let run: Vec<u8> = keys[b * m..(b + 1) * m]
                .iter()
                .flat_map(|k| k.to_le_bytes())
                .collect();
            w.write_all(&run).map_err(io_err(&band_paths[b]))?;
        }
        let story: Vec<Vec<u64>> = docs
            .par_iter()
            .map(|d| {
                let mut v = Vec::new();
                if cfg.paragraph_candidates {
                    candidate_paragraphs(d, bp, min_words, &mut v);
                }
                v
            })
            .collect();
        entry_bytes.clear();
        for (k, hs) in story.iter().enumerate() {
            let doc = (from + k) as u32;
            for &h in hs {
                entry_bytes.extend_from_slice(&h.to_le_bytes());
                entry_bytes.extend_from_slice(&doc.to_le_bytes());
            }
        }
        paras.write_all(&entry_bytes).map_err(io_err(para_path))?;
        for d in &docs {
            sizes.push(d.shingles.len() as u32);
            stats.empty += usize::from(d.shingles.is_empty());
            stats.all_boilerplate += usize::from(d.all_boilerplate);
        }
        Ok(())
    })?;
    for (w, p) in bands.into_iter().zip(band_paths) {
        finish(w, p)?;
    }
    finish(paras, para_path)?;
    Ok(sizes)
}

/// One band's `(key, doc)` entries, for documents with a signature (non-empty story set).
fn read_band(path: &Path, sizes: &[u32]) -> Result<Vec<(u64, u32)>, SpillError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    if bytes.len() != sizes.len() * 8 {
        return Err(SpillError::Corrupt {
            path: path.display().to_string(),
            what: format!("{} bytes for {} documents", bytes.len(), sizes.len()),
        });
    }
    Ok(bytes
        .chunks_exact(8)
        .zip(sizes)
        .enumerate()
        .filter(|(_, (_, &s))| s > 0)
        .map(|(i, (c, _))| (crate::framed::le_u64(c, 0), i as u32))
        .collect())
}

/// The `(paragraph hash, doc)` entries of step 3.
fn read_paragraph_entries(path: &Path, n: usize) -> Result<Vec<(u64, u32)>, SpillError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let bad = |what: String| SpillError::Corrupt {
        path: path.display().to_string(),
        what,
    };
    if bytes.len() % 12 != 0 {
        return Err(bad(format!("{} bytes is not a whole number of entries", bytes.len())));
    }
    bytes
        .chunks_exact(12)
        .map(|c| {
            let doc = crate::framed::le_u32(c, 8);
            if doc as usize >= n {
                return Err(bad(format!("document {doc} of {n}")));
            }
            Ok((crate::framed::le_u64(c, 0), doc))
        })
        .collect()
}

/// Each document's partition ([`NONE`] without candidates): connected components of the
/// candidate graph, whole, packed in order of their lowest document into partitions of at most
/// `budget` record bytes (a larger component alone in one).
fn partition(n: usize, cands: &[(u32, u32)], record_ends: &[u64], budget: u64) -> Vec<u32> {
    let mut uf = UnionFind::new(n);
    let mut in_pair = vec![false; n];
    for &(a, b) in cands {
        uf.union(a, b);
        in_pair[a as usize] = true;
        in_pair[b as usize] = true;
    }
    let size = |i: usize| record_ends[i] - if i == 0 { 0 } else { record_ends[i - 1] };
    // Bytes per component, kept at its root (its lowest document).
    let mut bytes = vec![0u64; n];
    let mut root = vec![NONE; n];
    for i in 0..n {
        if in_pair[i] {
            let r = uf.find(i as u32);
            root[i] = r;
            bytes[r as usize] += size(i);
        }
    }
    let mut part = vec![NONE; n];
    let (mut current, mut used) = (0u32, 0u64);
    let mut any = false;
    for i in 0..n {
        if root[i] == NONE {
            continue;
        }
        let r = root[i] as usize;
        if r == i {
            let b = bytes[i];
            if any && used + b > budget {
                current += 1;
                used = 0;
            }
            used += b;
            any = true;
        }
        // A component's root comes first in document order, so it has its partition already.
        part[i] = if r == i { current } else { part[r] };
    }
    part
}

/// Step 5: copies each candidate document's record (behind its document number) from
/// `prepared.bin` into its partition's file, in document order.
fn scatter(
    prepared_path: &Path,
    record_ends: &[u64],
    part: &[u32],
    part_paths: &[PathBuf],
) -> Result<(), SpillError> {
    let mut outs: Vec<BufWriter<File>> = part_paths
        .iter()
        .map(|p| create(p))
        .collect::<Result<_, _>>()?;
    let mut file = BufReader::with_capacity(
        1 << 20,
        File::open(prepared_path).map_err(io_err(prepared_path))?,
    );
    let mut buf: Vec<u8> = Vec::new();
    let mut prev = 0u64;
    for (i, (&end, &p)) in record_ends.iter().zip(part).enumerate() {
        let len = (end - prev) as usize;
        prev = end;
        if p == NONE {
            io::copy(&mut (&mut file).take(len as u64), &mut io::sink())
                .map_err(io_err(prepared_path))?;
            continue;
        }
        buf.clear();
        buf.resize(len, 0);
        file.read_exact(&mut buf).map_err(io_err(prepared_path))?;
        let w = &mut outs[p as usize];
        let path = &part_paths[p as usize];
        w.write_all(&(i as u32).to_le_bytes()).map_err(io_err(path))?;
        w.write_all(&buf).map_err(io_err(path))?;
    }
    for (w, p) in outs.into_iter().zip(part_paths) {
        finish(w, p)?;
    }
    Ok(())
}

/// What one partition contributes.
struct PartitionResult {
    /// Its documents, ascending, and their cluster labels (lowest member, document numbers).
    members: Vec<u32>,
    labels: Vec<u32>,
    pairs: Vec<PairScore>,
    clusters: Vec<Cluster>,
    stats: VerifyStats,
}

/// Step 6 on one partition: the in-memory stages after LSH, on its documents renumbered
/// `0..m` in document order, then numbered back.
fn verify_partition(
    path: &Path,
    p: u32,
    cands: &[(u32, u32)],
    bp: &Boilerplate,
    cfg: &Config,
    keys: &[RepKey],
) -> Result<PartitionResult, SpillError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let corrupt = |what: String| SpillError::Corrupt {
        path: path.display().to_string(),
        what,
    };
    // Record boundaries first (a scan of the counts), then decoding in parallel.
    let mut members: Vec<u32> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let doc = bytes
            .get(at..at + 4)
            .map(|c| crate::framed::le_u32(c, 0))
            .ok_or_else(|| corrupt("truncated document number".into()))?;
        if members.last().is_some_and(|&l| l >= doc) || doc as usize >= keys.len() {
            return Err(corrupt(format!("document {doc} out of order")));
        }
        let len = record_len(&bytes[at + 4..])
            .ok_or_else(|| corrupt(format!("record of document {doc} truncated")))?;
        members.push(doc);
        spans.push((at + 4, at + 4 + len));
        at += 4 + len;
    }
    let mut docs: Vec<Prepared> = spans
        .par_iter()
        .map(|&(from, to)| decode_prepared(&bytes[from..to]).map(|(d, _)| d))
        .collect::<Result<_, String>>()
        .map_err(corrupt)?;
    drop(bytes);
    let local = |d: u32| -> Result<u32, SpillError> {
        members
            .binary_search(&d)
            .map(|k| k as u32)
            .map_err(|_| corrupt(format!("candidate document {d} missing from partition {p}")))
    };
    let local_cands: Vec<(u32, u32)> = cands
        .iter()
        .map(|&(a, b)| Ok((local(a)?, local(b)?)))
        .collect::<Result<_, SpillError>>()?;
    let sigs = Signatures::compute_prepared(
        &mut docs,
        &cfg.minhash,
        hashsort::Scratch::default,
        |sort, d| story_set(d, bp, sort),
        |d| &d.shingles,
    );
    let sets: Vec<Vec<u64>> = docs.into_iter().map(|d| d.shingles).collect();
    let (local_pairs, stats) = verify::verify(&local_cands, &sets, &sigs, &cfg.verify);
    drop(sigs);
    let sizes: Vec<u32> = sets.iter().map(|s| s.len() as u32).collect();
    let link = cfg.link_config();
    let local_labels = cluster::cluster(members.len(), &local_pairs, &sizes, &cfg.cluster, |x, y| {
        PairScore::exact(x, y, &sets[x as usize], &sets[y as usize]).passes(&link)
    });
    let local_keys: Vec<RepKey> = members.iter().map(|&m| keys[m as usize]).collect();
    let global = |k: u32| members[k as usize];
    let renumber = |s: PairScore| PairScore {
        a: global(s.a),
        b: global(s.b),
        ..s
    };
    let clusters: Vec<Cluster> = cluster::groups(&local_labels)
        .par_iter()
        .filter(|g| g.len() >= 2)
        .filter_map(|g| {
            let (rep, ms) = pipeline::score_group(g, &local_keys, &sets)?;
            Some(Cluster {
                id: 0,
                representative: global(rep),
                members: ms
                    .into_iter()
                    .map(|m| Member {
                        doc: global(m.doc),
                        score: renumber(m.score),
                    })
                    .collect(),
            })
        })
        .collect();
    let labels = local_labels.iter().map(|&l| global(l)).collect();
    let pairs = local_pairs.into_iter().map(renumber).collect();
    Ok(PartitionResult {
        members,
        labels,
        pairs,
        clusters,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_table_round_trips() {
        let mut t = IdTable::default();
        for id in ["a", "", "ünï", "long-id-42"] {
            t.push(id);
        }
        assert_eq!(t.len(), 4);
        assert_eq!(
            (0..4).map(|i| t.get(i)).collect::<Vec<_>>(),
            ["a", "", "ünï", "long-id-42"]
        );
        assert_eq!(t.get(9), "");
    }

    #[test]
    fn chunks_cover_every_document_once() {
        let ends: Vec<u64> = (1..=10).map(|i| i * (CHUNK_BYTES / 3)).collect();
        let c = chunks(&ends);
        assert_eq!(c.first().map(|r| r.0), Some(0));
        assert_eq!(c.last().map(|r| r.1), Some(10));
        assert!(c.windows(2).all(|w| w[0].1 == w[1].0));
        // A record larger than a chunk is a chunk of its own.
        assert_eq!(chunks(&[CHUNK_BYTES * 3]), vec![(0, 1)]);
    }

    #[test]
    fn partitions_keep_components_whole_and_respect_the_budget() {
        // Components {0, 3}, {1, 4, 5}, {6, 7}; 2 has no candidates. Records of 10 bytes.
        let cands = [(0, 3), (1, 4), (4, 5), (6, 7)];
        let ends: Vec<u64> = (1..=8).map(|i| i * 10).collect();
        let part = partition(8, &cands, &ends, 30);
        assert_eq!(part, vec![0, 1, NONE, 0, 1, 1, 2, 2]);
        // A budget below one component still keeps it whole, one per partition.
        let tiny = partition(8, &cands, &ends, 1);
        assert_eq!(tiny, vec![0, 1, NONE, 0, 1, 1, 2, 2]);
        let all = partition(8, &cands, &ends, u64::MAX);
        assert_eq!(all, vec![0, 0, NONE, 0, 0, 0, 0, 0]);
    }
}
