//! Out-of-core runs: the whole pipeline with the per-document data on disk, so that memory
//! per document is small (`wiredup cluster --spill-dir DIR`).
//!
//! An in-memory run ([`crate::pipeline::run_prepared`]) holds every document's raw shingles
//! (about 4 bytes per word), its signature and its band keys at once: about 3.7 KB per news
//! article, 35 GiB at 10 million. Here each of those lives in a file for the one pass that
//! needs it, and memory holds what is indexed by document (about 90 bytes each, ids
//! included; about 360 at the peak, while boilerplate is counted: 3.5 GiB at 10 million
//! articles) plus one bounded working set at a time:
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
//! 5. **verify**: the candidate graph's connected components that fit `partition_bytes` of
//!    story sets are packed whole, in document order, into groups; the pairs of a component
//!    over the budget (at scale there is one: a paragraph shared by many stories links them
//!    all) are cut into consecutive runs whose documents fit, a document with pairs in several
//!    runs being copied into each. `prepared.bin` is read a last time and each candidate
//!    document's story set is written to the file of every group that needs it; each group
//!    is then verified exactly with its sets in memory, and the sets of documents in verified
//!    pairs are appended once to `verified.bin`.
//! 6. **cluster**: the verified pairs' connected components are packed whole, in document
//!    order, into groups of at most `partition_bytes`; `verified.bin` is routed into their
//!    files; each group is clustered (guarded union-find, representatives and their scores)
//!    in memory. Clustering never crosses a component of verified pairs, so this is the
//!    in-memory computation, restricted.
//!
//! **Invariant** (tested): the outcome equals the in-memory run's, so `wiredup cluster` writes
//! byte-identical output with or without `--spill-dir`, whatever the thread count and the
//! partition budget. Documents are renumbered inside a group in input order, and every rule
//! downstream of LSH (pair order, guarded merges, representative choice) depends on document
//! order only, never on the numbers themselves.
//!
//! **Cost.** Disk: about 0.7x the JSONL input for `prepared.bin` (4 bytes per word), 8 bytes per
//! band per document for the band files, and the candidates' story sets (with copies) for the
//! group files; each file is deleted once read for the last time, and the spill directory at
//! the end (also on error; a killed process leaves its `wiredup-spill-PID-*` directory
//! behind). I/O: `prepared.bin` is written once and read twice, sequentially. Memory:
//! the per-document tables (about 90 bytes per document, its id included), the paragraph hashes
//! until boilerplate is learned (8 bytes per distinct paragraph, plus 16 while counting), one
//! chunk of `prepared.bin` in flight, one group of bands (16 bytes per document each), the
//! candidate and verified pairs (8 and 20 bytes each), and one group's story sets at a time
//! (`partition_bytes` plus signatures; a single component of verified pairs larger than the
//! budget is one group of its own, since it cannot be split).
//!
//! `dedup` out of core ([`write_dedup`]) reads the inputs a second time and writes each record
//! as the in-memory `dedup` would: the records themselves are never kept.
//!
//! Quirk: the spilled [`Outcome`] has no `prepared` documents (they are on disk, then gone).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::boilerplate::{self, Boilerplate};
use crate::cluster::{self, RepKey, UnionFind};
use crate::hashsort;
use crate::io::{
    self as input, Corpus, Document, Duplicate, Origin, ReadError, ReadOptions, Refusal, Sink,
};
use crate::lsh;
use crate::minhash::Signatures;
use crate::output::DocIds;
use crate::pipeline::{
    self, candidate_paragraphs, story_set, Cluster, Config, Member, Outcome, PrepareScratch,
    Prepared, Stats,
};
use crate::shard::{decode_prepared, encode_prepared};
use crate::shingle::Shingle;
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
    /// Default partition budget: 1 GiB of story sets (about 1.35 GiB of memory while
    /// verifying, signatures included).
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
        if fs::metadata(parent).is_ok_and(|m| !m.is_dir()) {
            // create_dir_all would say only "File exists".
            return Err(io_err(parent)(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the spill directory exists and is not a directory",
            )));
        }
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

    /// Appends `bytes`. Fails with the writer thread's error once it has stopped.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.batch.extend_from_slice(bytes);
        if self.batch.len() < WRITE_BATCH {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(WRITE_BATCH));
        match &self.tx {
            Some(tx) if tx.send(full).is_ok() => Ok(()),
            _ => self.stop(),
        }
    }

    /// Closes the channel and waits for the writer thread; its result.
    fn stop(&mut self) -> io::Result<()> {
        self.tx.take();
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("spill writer thread panicked")),
            None => Err(io::Error::other("spill writer already stopped")),
        }
    }

    fn finish(mut self, path: &Path) -> Result<(), SpillError> {
        if let Some(tx) = &self.tx {
            let _ = tx.send(std::mem::take(&mut self.batch));
        }
        self.stop().map_err(io_err(path))
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
    ids: IdSet,
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
    out_path: PathBuf,
    scratch: Option<PrepareScratch>,
}

impl Reader {
    fn origin(&self, i: u32) -> Origin {
        let (f, line) = self.origins[i as usize];
        Origin::new(self.files[f as usize].clone(), line)
    }
}

/// The ids read so far, with an exact duplicate check that keeps no string per id beyond the
/// arena: ids are found by their hash, and an id whose hash collides with a different id's is
/// kept whole in a side map.
#[derive(Debug, Default)]
struct IdSet {
    ids: IdTable,
    index: input::IdIndex,
}

impl IdSet {
    /// Adds `id` as the next document and returns its number, or returns the number of the
    /// document that already has it.
    fn insert(&mut self, id: &str) -> Result<u32, u32> {
        let i = self.ids.len() as u32;
        let ids = &self.ids;
        self.index.insert(id, i, |j| ids.get(j as usize))?;
        self.ids.push(id);
        Ok(i)
    }
}

impl Sink<SpillPrep<'_>> for Reader {
    fn accept(
        &mut self,
        prep: &SpillPrep<'_>,
        mut doc: Document,
        record: Option<Record>,
    ) -> Result<(), Refusal> {
        if let Err(j) = self.ids.insert(&doc.id) {
            return Err(Refusal::Duplicate(Box::new(Duplicate {
                first: self.origin(j),
                doc,
            })));
        }
        let record = match record {
            Some(r) => r,
            None => {
                let scratch = self.scratch.get_or_insert_with(PrepareScratch::default);
                input::Prepare::prepare(prep, scratch, &mut doc)
            }
        };
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
        if let Err(source) = self.out.write(&record.bytes) {
            return Err(Refusal::Stop {
                what: self.out_path.display().to_string(),
                source,
            });
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
        ids: IdSet::default(),
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
        out_path: prepared_path.clone(),
        scratch: None,
    };
    let corpus = input::read_inputs_into(inputs, ropts, &SpillPrep { cfg }, &mut reader)?;
    let Reader {
        ids: IdSet { ids, index },
        files,
        origins,
        published,
        by_source: _,
        sources,
        sids,
        distinct,
        distinct_ends,
        record_ends,
        written: _,
        out,
        out_path: _,
        scratch,
    } = reader;
    // What only reading needed goes now, not at the end of the run.
    drop((index, files, origins, sources, scratch));
    out.finish(&prepared_path)?;
    let n = ids.len();
    stats.documents = n;
    lap("read+normalize", "boilerplate", &mut stats);

    // 2. boilerplate
    let bp = boilerplate::learn_distinct(
        &sids,
        |i| {
            let start = if i == 0 {
                0
            } else {
                distinct_ends[i - 1] as usize
            };
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
    lap("lsh", "verify", &mut stats);

    // 5. verification, in groups of candidate pairs whose documents' story sets fit the budget
    //    together (a document may be copied into several groups).
    let set_bytes = |d: u32| 4 * u64::from(sizes[d as usize]) + 8;
    let groups = verify_groups(n, &cands, set_bytes, spill.partition_bytes);
    let lists: Vec<&[u32]> = groups.iter().map(|g| g.members.as_slice()).collect();
    let paths: Vec<PathBuf> = (0..groups.len())
        .map(|g| dir.file(&format!("verify-{g}.bin")))
        .collect();
    scatter_sets(&prepared_path, &record_ends, &bp, n, &lists, &paths)?;
    drop(lists);
    // Every story set needed from here on is in the group files.
    let _ = fs::remove_file(&prepared_path);
    drop(record_ends);
    // The sets of documents in verified pairs are kept once, in `verified.bin`, for clustering.
    let verified_path = dir.file("verified.bin");
    let mut verified = create(&verified_path)?;
    let mut saved = vec![false; n];
    let mut pairs: Vec<PairScore> = Vec::new();
    let mut vstats = VerifyStats::default();
    for (g, path) in groups.iter().zip(&paths) {
        let (docs, sets) = load_sets(path, n)?;
        let _ = fs::remove_file(path);
        let local = local_pairs(&docs, &g.edges, path)?;
        let sigs = Signatures::compute(&sets, &cfg.minhash);
        let (found, st) = verify::verify(&local, &sets, &sigs, &cfg.verify);
        for s in &found {
            for k in [s.a, s.b] {
                let d = docs[k as usize];
                if !saved[d as usize] {
                    saved[d as usize] = true;
                    write_set(&mut verified, d, &sets[k as usize])
                        .map_err(io_err(&verified_path))?;
                }
            }
        }
        pairs.extend(found.into_iter().map(|s| renumber(&docs, s)));
        vstats.candidates += st.candidates;
        vstats.rejected_by_estimate += st.rejected_by_estimate;
        vstats.checked_exactly += st.checked_exactly;
        vstats.accepted += st.accepted;
    }
    finish(verified, &verified_path)?;
    drop((groups, cands, saved));
    stats.verify = vstats;
    // The in-memory order: by candidate, that is by (a, b).
    pairs.par_sort_unstable_by_key(|p| (p.a, p.b));
    lap("verify", "cluster", &mut stats);

    // 6. clustering, in groups of whole components of the verified pairs (clustering and the
    //    representative's scores compare any two members of a component).
    let ends: Vec<(u32, u32)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    let (part, _) = component_groups(n, &ends, set_bytes, spill.partition_bytes);
    drop(ends);
    let parts = part
        .iter()
        .filter(|&&p| p != NONE)
        .max()
        .map_or(0, |&p| p + 1) as usize;
    let paths: Vec<PathBuf> = (0..parts)
        .map(|g| dir.file(&format!("cluster-{g}.bin")))
        .collect();
    route_sets(&verified_path, n, &part, &paths)?;
    let _ = fs::remove_file(&verified_path);
    let mut part_pairs: Vec<Vec<PairScore>> = vec![Vec::new(); parts];
    for s in &pairs {
        part_pairs[part[s.a as usize] as usize].push(*s);
    }
    drop(part);
    let keys: Vec<RepKey> = published
        .iter()
        .zip(&sizes)
        .map(|(&published, &length)| RepKey { published, length })
        .collect();
    drop(published);
    let mut labels: Vec<u32> = (0..n as u32).collect();
    let mut clusters: Vec<Cluster> = Vec::new();
    for (path, pp) in paths.iter().zip(part_pairs) {
        let (docs, sets) = load_sets(path, n)?;
        let _ = fs::remove_file(path);
        let done = cluster_group(&docs, &sets, &pp, cfg, &keys, path)?;
        for (&m, &l) in docs.iter().zip(&done.0) {
            labels[m as usize] = l;
        }
        clusters.extend(done.1);
    }
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
    stats.clusters = clusters.len();
    stats.duplicates = clusters.iter().map(|c| c.members.len() - 1).sum();
    lap("cluster", "", &mut stats);

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

/// Writes `dedup`'s output for an out-of-core run (`wiredup dedup --spill-dir`): the inputs are
/// read a second time, in the same order, and each document's record goes out as
/// [`crate::output::write_dedup`] would write it, so the output is byte-identical to an
/// in-memory `dedup`. Records skipped in the first pass (`run.corpus.skipped`) are skipped
/// again. Standard input cannot be read twice: `inputs` must be files or directories.
/// `ropts` are the first pass's options (records are kept here whatever they say); `out_name`
/// names the output in errors.
///
/// # Errors
///
/// [`SpillError::Read`] when reading fails, also when an input is `-` or changed between the
/// two passes (a different document where one was read before), or writing to `w` fails.
pub fn write_dedup<W: Write + ?Sized>(
    w: &mut W,
    inputs: &[String],
    ropts: &ReadOptions,
    run: &Spilled,
    annotate: bool,
    out_name: &str,
) -> Result<crate::output::DedupCounts, SpillError> {
    if inputs.iter().any(|i| i == "-") {
        return Err(SpillError::Read(ReadError::Sink {
            what: "-".into(),
            source: io::Error::other(
                "an out-of-core dedup reads its inputs twice; save standard input to a file",
            ),
        }));
    }
    let dup = run.outcome.duplicate_of();
    let skipped: std::collections::HashSet<(&str, u64)> = run
        .corpus
        .skipped
        .iter()
        .map(|s| (s.origin.file.as_str(), s.origin.line))
        .collect();
    let mut sink = Rewriter {
        w,
        ids: &run.ids,
        dup: &dup,
        skipped: &skipped,
        next: 0,
        annotate,
        id_field: &ropts.id_field,
        text_field: &ropts.text_field,
        out_name,
        counts: crate::output::DedupCounts::default(),
    };
    let opts = ReadOptions {
        keep_records: true,
        ..ropts.clone()
    };
    input::read_inputs_into(inputs, &opts, &input::NoPrepare, &mut sink)?;
    if sink.next != run.ids.len() {
        return Err(SpillError::Read(ReadError::Sink {
            what: inputs.join(", "),
            source: io::Error::other(format!(
                "changed between the two passes: {} documents read again of {}",
                sink.next,
                run.ids.len()
            )),
        }));
    }
    Ok(sink.counts)
}

/// The second pass of [`write_dedup`].
struct Rewriter<'a, W: Write + ?Sized> {
    w: &'a mut W,
    ids: &'a IdTable,
    dup: &'a [Option<Member>],
    skipped: &'a std::collections::HashSet<(&'a str, u64)>,
    next: usize,
    annotate: bool,
    id_field: &'a str,
    text_field: &'a str,
    out_name: &'a str,
    counts: crate::output::DedupCounts,
}

impl<W: Write + ?Sized> Sink<input::NoPrepare> for Rewriter<'_, W> {
    fn accept(
        &mut self,
        _: &input::NoPrepare,
        doc: Document,
        _: Option<()>,
    ) -> Result<(), Refusal> {
        if self
            .skipped
            .contains(&(doc.origin.file.as_str(), doc.origin.line))
        {
            return Ok(());
        }
        let i = self.next;
        if i >= self.ids.len() || self.ids.get(i) != doc.id {
            return Err(Refusal::Stop {
                what: doc.origin.to_string(),
                source: io::Error::other(format!(
                    "input changed between the two passes: found id {:?} where the first pass read {:?}",
                    doc.id,
                    self.ids.get(i)
                )),
            });
        }
        self.next += 1;
        let of = self.dup[i]
            .as_ref()
            .map(|m| (self.ids.get(m.score.b as usize), m.score.similarity()));
        crate::output::write_dedup_record(
            self.w,
            &doc,
            of,
            self.annotate,
            self.id_field,
            self.text_field,
            &mut self.counts,
        )
        .map_err(|source| Refusal::Stop {
            what: format!("{}: write failed", self.out_name),
            source,
        })
    }
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
/// counted from `base`. Records for which `want(k)` is false are left empty (not decoded).
fn decode_chunk(
    bytes: &[u8],
    base: u64,
    ends: &[u64],
    path: &Path,
    want: impl Fn(usize) -> bool + Sync,
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
            if !want(k) {
                return Ok(Prepared::default());
            }
            let from = if k == 0 {
                0
            } else {
                (ends[k - 1] - base) as usize
            };
            let to = (ends[k] - base) as usize;
            match decode_prepared(&bytes[from..to]) {
                Ok((p, used)) if used == to - from => Ok(p),
                Ok(_) => Err(corrupt(format!(
                    "record {k} of a chunk has bytes left over"
                ))),
                Err(what) => Err(corrupt(what)),
            }
        })
        .collect()
}

/// Reads the chunks of `path` in order on a helper thread, handing each to `work` on this
/// one, so reading overlaps the work. Only documents `d` with `want(d)` are decoded; the others
/// come as empty [`Prepared`]s.
fn for_each_chunk(
    path: &Path,
    record_ends: &[u64],
    want: impl Fn(usize) -> bool + Sync,
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
            let docs = decode_chunk(&bytes, base, &record_ends[from..to], path, |k| {
                want(from + k)
            })?;
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
    for_each_chunk(
        prepared_path,
        record_ends,
        |_| true,
        |from, mut docs| {
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
        },
    )?;
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
        return Err(bad(format!(
            "{} bytes is not a whole number of entries",
            bytes.len()
        )));
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

/// One verification group: a range of the sorted candidate pairs, and every document they
/// name, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EdgeGroup {
    edges: std::ops::Range<usize>,
    members: Vec<u32>,
}

/// Cuts the sorted candidate pairs into consecutive ranges whose documents' story sets
/// (`bytes(doc)` each) total at most `budget`, so each range is verified with its documents in
/// memory. A document named in several ranges is copied into each; a range holds at least one
/// pair, so a single pair over the budget is a group of its own. Candidates come sorted by
/// their first document, so one group is mostly a run of consecutive documents and their
/// neighbours; copies are the cost of candidate graphs with no small components (at 10M
/// documents one component held a quarter of them).
fn edge_groups(
    n: usize,
    cands: &[(u32, u32)],
    bytes: impl Fn(u32) -> u64,
    budget: u64,
) -> Vec<EdgeGroup> {
    let mut out = Vec::new();
    // mark[d] == group: d is already in the group being built (groups count from 1).
    let mut mark = vec![0u32; n];
    let mut group = 1u32;
    let (mut start, mut used) = (0usize, 0u64);
    let mut members: Vec<u32> = Vec::new();
    for (k, &(a, b)) in cands.iter().enumerate() {
        let mut new = 0u64;
        if mark[a as usize] != group {
            new += bytes(a);
        }
        if b != a && mark[b as usize] != group {
            new += bytes(b);
        }
        if k > start && used + new > budget {
            members.sort_unstable();
            out.push(EdgeGroup {
                edges: start..k,
                members: std::mem::take(&mut members),
            });
            group += 1;
            start = k;
            used = 0;
        }
        for d in [a, b] {
            if mark[d as usize] != group {
                mark[d as usize] = group;
                used += bytes(d);
                members.push(d);
            }
        }
    }
    if start < cands.len() {
        members.sort_unstable();
        out.push(EdgeGroup {
            edges: start..cands.len(),
            members,
        });
    }
    out
}

/// Each document's group ([`NONE`] when in no pair): connected components of `pairs`, whole,
/// packed in order of their lowest document into groups of at most `budget` bytes (a larger
/// component alone in one).
fn component_groups(
    n: usize,
    pairs: &[(u32, u32)],
    bytes: impl Fn(u32) -> u64,
    budget: u64,
) -> (Vec<u32>, Vec<bool>) {
    let mut uf = UnionFind::new(n);
    let mut in_pair = vec![false; n];
    for &(a, b) in pairs {
        uf.union(a, b);
        in_pair[a as usize] = true;
        in_pair[b as usize] = true;
    }
    // Bytes per component, kept at its root (its lowest document).
    let mut total = vec![0u64; n];
    let mut root = vec![NONE; n];
    for i in 0..n {
        if in_pair[i] {
            let r = uf.find(i as u32);
            root[i] = r;
            total[r as usize] += bytes(i as u32);
        }
    }
    let mut part = vec![NONE; n];
    let mut oversized: Vec<bool> = Vec::new();
    let (mut current, mut used) = (0u32, 0u64);
    for i in 0..n {
        if root[i] == NONE {
            continue;
        }
        let r = root[i] as usize;
        if r == i {
            let b = total[i];
            if oversized.is_empty() || used + b > budget {
                if !oversized.is_empty() {
                    current += 1;
                }
                oversized.push(false);
                used = 0;
            }
            used += b;
            if let Some(o) = oversized.last_mut() {
                *o = used > budget;
            }
        }
        // A component's root comes first in document order, so it has its group already.
        part[i] = if r == i { current } else { part[r] };
    }
    (part, oversized)
}

/// One verification group: candidate pairs, and every document they name, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VerifyGroup {
    edges: Vec<(u32, u32)>,
    members: Vec<u32>,
}

/// Verification groups for the sorted candidate pairs, each holding its pairs' documents'
/// story sets (`bytes(doc)` each) within `budget` where it can: the candidate graph's
/// components that fit are packed whole (each document in one group), and the pairs of a
/// component over the budget are cut by [`edge_groups`] (documents copied where needed).
fn verify_groups(
    n: usize,
    cands: &[(u32, u32)],
    bytes: impl Fn(u32) -> u64 + Copy,
    budget: u64,
) -> Vec<VerifyGroup> {
    let (part, oversized) = component_groups(n, cands, bytes, budget);
    let mut groups: Vec<VerifyGroup> = oversized
        .iter()
        .map(|_| VerifyGroup {
            edges: Vec::new(),
            members: Vec::new(),
        })
        .collect();
    let mut big: Vec<(u32, u32)> = Vec::new();
    for &(a, b) in cands {
        let g = part[a as usize] as usize;
        if oversized[g] {
            big.push((a, b));
        } else {
            groups[g].edges.push((a, b));
        }
    }
    for (d, &g) in part.iter().enumerate() {
        if g != NONE && !oversized[g as usize] {
            groups[g as usize].members.push(d as u32);
        }
    }
    drop(part);
    groups.retain(|g| !g.edges.is_empty());
    for g in edge_groups(n, &big, bytes, budget) {
        groups.push(VerifyGroup {
            edges: big[g.edges].to_vec(),
            members: g.members,
        });
    }
    groups
}

/// Writes the story set of every document named in `members[g]` to `paths[g]` (document
/// number, set size, the set), reading `prepared.bin` once, in document order.
fn scatter_sets(
    prepared_path: &Path,
    record_ends: &[u64],
    bp: &Boilerplate,
    n: usize,
    members: &[&[u32]],
    paths: &[PathBuf],
) -> Result<(), SpillError> {
    // Which groups want each document: counts, then offsets into one flat list.
    let mut start = vec![0u64; n + 1];
    for m in members {
        for &d in m.iter() {
            start[d as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut wants = vec![0u32; start[n] as usize];
    for (g, m) in members.iter().enumerate() {
        for &d in m.iter() {
            wants[fill[d as usize] as usize] = g as u32;
            fill[d as usize] += 1;
        }
    }
    drop(fill);
    let mut outs: Vec<BufWriter<File>> =
        paths.iter().map(|p| create(p)).collect::<Result<_, _>>()?;
    let wanted = |d: usize| &wants[start[d] as usize..start[d + 1] as usize];
    let want = |d: usize| start[d] < start[d + 1];
    for_each_chunk(prepared_path, record_ends, want, |from, mut docs| {
        // Story sets and their records built in parallel; only the writes are sequential.
        let records: Vec<Vec<u8>> = docs
            .par_iter_mut()
            .enumerate()
            .map_init(hashsort::Scratch::default, |sort, (k, d)| {
                let doc = from + k;
                if !want(doc) {
                    return Vec::new();
                }
                story_set(d, bp, sort);
                let mut buf = Vec::new();
                // Writing to a vector cannot fail.
                let _ = write_set(&mut buf, doc as u32, &d.shingles);
                buf
            })
            .collect();
        drop(docs);
        for (k, rec) in records.iter().enumerate() {
            for &g in wanted(from + k) {
                outs[g as usize]
                    .write_all(rec)
                    .map_err(io_err(&paths[g as usize]))?;
            }
        }
        Ok(())
    })?;
    for (w, p) in outs.into_iter().zip(paths) {
        finish(w, p)?;
    }
    Ok(())
}

/// Appends one story-set record (document number, set size, the set) to a group file.
fn write_set<W: Write>(w: &mut W, doc: u32, set: &[Shingle]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(8 + 4 * set.len());
    buf.extend_from_slice(&doc.to_le_bytes());
    buf.extend_from_slice(&(set.len() as u32).to_le_bytes());
    for &h in set {
        buf.extend_from_slice(&h.to_le_bytes());
    }
    w.write_all(&buf)
}

/// Reads the story-set records of `path` (as [`write_set`] writes them) in file order, handing
/// each one's document, header and set bytes to `f`. Every document number and count is
/// checked against `n` and the file's length, so damage is an error.
fn each_set(
    path: &Path,
    n: usize,
    mut f: impl FnMut(u32, &[u8; 8], &[u8]) -> Result<(), SpillError>,
) -> Result<(), SpillError> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let corrupt = |what: String| SpillError::Corrupt {
        path: path.display().to_string(),
        what,
    };
    let mut body: Vec<u8> = Vec::new();
    let mut at = 0u64;
    while at < len {
        let mut head = [0u8; 8];
        r.read_exact(&mut head)
            .map_err(|_| corrupt("truncated record header".into()))?;
        let doc = crate::framed::le_u32(&head, 0);
        let count = u64::from(crate::framed::le_u32(&head, 4));
        if doc as usize >= n {
            return Err(corrupt(format!("document {doc} of {n}")));
        }
        if at + 8 + 4 * count > len {
            return Err(corrupt(format!("set of document {doc} truncated")));
        }
        body.resize(4 * count as usize, 0);
        r.read_exact(&mut body).map_err(io_err(path))?;
        f(doc, &head, &body)?;
        at += 8 + 4 * count;
    }
    Ok(())
}

/// Copies each record of the story-set file `from` to `paths[part[doc]]`, reading it once.
fn route_sets(from: &Path, n: usize, part: &[u32], paths: &[PathBuf]) -> Result<(), SpillError> {
    let mut outs: Vec<BufWriter<File>> =
        paths.iter().map(|p| create(p)).collect::<Result<_, _>>()?;
    each_set(from, n, |doc, head, body| {
        let g = part[doc as usize];
        if g == NONE {
            return Err(SpillError::Corrupt {
                path: from.display().to_string(),
                what: format!("document {doc} is in no verified pair"),
            });
        }
        let (w, path) = (&mut outs[g as usize], &paths[g as usize]);
        w.write_all(head).map_err(io_err(path))?;
        w.write_all(body).map_err(io_err(path))
    })?;
    for (w, p) in outs.into_iter().zip(paths) {
        finish(w, p)?;
    }
    Ok(())
}

/// Reads a group file of story sets: its documents (returned ascending, in whatever order the
/// file holds them) and their sets. Streamed, so memory holds the sets once, not the file
/// besides.
fn load_sets(path: &Path, n: usize) -> Result<(Vec<u32>, Vec<Vec<Shingle>>), SpillError> {
    let mut records: Vec<(u32, Vec<Shingle>)> = Vec::new();
    each_set(path, n, |doc, _, body| {
        let set = body
            .chunks_exact(4)
            .map(|c| crate::framed::le_u32(c, 0))
            .collect();
        records.push((doc, set));
        Ok(())
    })?;
    records.sort_unstable_by_key(|r| r.0);
    if records.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(SpillError::Corrupt {
            path: path.display().to_string(),
            what: "a document appears twice".into(),
        });
    }
    Ok(records.into_iter().unzip())
}

/// `pairs` renumbered to positions in `docs` (ascending document numbers).
fn local_pairs(
    docs: &[u32],
    pairs: &[(u32, u32)],
    path: &Path,
) -> Result<Vec<(u32, u32)>, SpillError> {
    let local = |d: u32| {
        docs.binary_search(&d)
            .map(|k| k as u32)
            .map_err(|_| SpillError::Corrupt {
                path: path.display().to_string(),
                what: format!("document {d} of a pair is missing"),
            })
    };
    pairs
        .iter()
        .map(|&(a, b)| Ok((local(a)?, local(b)?)))
        .collect()
}

/// A pair's scores with positions in `docs` turned back into document numbers.
fn renumber(docs: &[u32], s: PairScore) -> PairScore {
    PairScore {
        a: docs[s.a as usize],
        b: docs[s.b as usize],
        ..s
    }
}

/// Step 6 on one group of whole components: the in-memory clustering and representative
/// scores on its documents renumbered `0..m` in document order, then numbered back. Returns
/// each document's label (lowest member of its cluster) and the clusters (ids unset).
fn cluster_group(
    docs: &[u32],
    sets: &[Vec<Shingle>],
    pairs: &[PairScore],
    cfg: &Config,
    keys: &[RepKey],
    path: &Path,
) -> Result<(Vec<u32>, Vec<Cluster>), SpillError> {
    let ends: Vec<(u32, u32)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    let local: Vec<PairScore> = local_pairs(docs, &ends, path)?
        .into_iter()
        .zip(pairs)
        .map(|((a, b), s)| PairScore { a, b, ..*s })
        .collect();
    let sizes: Vec<u32> = sets.iter().map(|s| s.len() as u32).collect();
    let link = cfg.link_config();
    let labels = cluster::cluster(docs.len(), &local, &sizes, &cfg.cluster, |x, y| {
        PairScore::exact(x, y, &sets[x as usize], &sets[y as usize]).passes(&link)
    });
    let local_keys: Vec<RepKey> = docs.iter().map(|&m| keys[m as usize]).collect();
    let clusters: Vec<Cluster> = cluster::groups(&labels)
        .par_iter()
        .filter(|g| g.len() >= 2)
        .filter_map(|g| {
            let (rep, ms) = pipeline::score_group(g, &local_keys, sets)?;
            Some(Cluster {
                id: 0,
                representative: docs[rep as usize],
                members: ms
                    .into_iter()
                    .map(|m| Member {
                        doc: docs[m.doc as usize],
                        score: renumber(docs, m.score),
                    })
                    .collect(),
            })
        })
        .collect();
    let labels = labels.iter().map(|&l| docs[l as usize]).collect();
    Ok((labels, clusters))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group file of story sets, as `scatter_sets` and `route_sets` write them.
    fn group_file(records: &[(u32, &[Shingle])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (doc, set) in records {
            write_set(&mut out, *doc, set).unwrap_or_else(|e| panic!("{e}"));
        }
        out
    }

    #[test]
    fn group_files_read_back_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("g.bin");
        let good = group_file(&[(1, &[5, 9]), (4, &[]), (7, &[3])]);
        fs::write(&path, &good).unwrap_or_else(|e| panic!("{e}"));
        let (docs, sets) = load_sets(&path, 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs, vec![1, 4, 7]);
        assert_eq!(sets, vec![vec![5, 9], vec![], vec![3]]);
        // Cut anywhere, a document twice, or past the end: an error, no panic.
        for cut in 1..good.len() {
            fs::write(&path, &good[..cut]).unwrap_or_else(|e| panic!("{e}"));
            if let Ok((d, _)) = load_sets(&path, 8) {
                assert!(d.len() < 3 && cut % 8 == 0, "cut at {cut} read as whole");
            }
        }
        for bad in [
            group_file(&[(9, &[1])]),
            group_file(&[(2, &[1]), (2, &[1])]),
            group_file(&[(5, &[1]), (2, &[1]), (5, &[3])]),
        ] {
            fs::write(&path, &bad).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(
                load_sets(&path, 8),
                Err(SpillError::Corrupt { .. })
            ));
        }
        // Records in any order come back in document order, each with its own set.
        fs::write(&path, group_file(&[(6, &[1, 2]), (0, &[]), (3, &[7])]))
            .unwrap_or_else(|e| panic!("{e}"));
        let (docs, sets) = load_sets(&path, 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(docs, vec![0, 3, 6]);
        assert_eq!(sets, vec![vec![], vec![7], vec![1, 2]]);
    }

    #[test]
    fn damaged_prepared_chunks_are_errors() {
        let p = Prepared {
            paragraphs: vec![11, 12],
            paragraph_meta: vec![
                crate::pipeline::ParagraphMeta {
                    words: 3,
                    shingle_end: 1,
                },
                crate::pipeline::ParagraphMeta {
                    words: 4,
                    shingle_end: 2,
                },
            ],
            shingles: vec![100, 200],
            all_boilerplate: false,
            published: None,
        };
        let mut bytes = Vec::new();
        encode_prepared(&p.paragraphs, &p.paragraph_meta, &p.shingles, &mut bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        let len = bytes.len() as u64;
        let path = Path::new("prepared.bin");
        let back =
            decode_chunk(&bytes, 0, &[len], path, |_| true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back[0].shingles, p.shingles);
        assert_eq!(back[0].paragraphs, p.paragraphs);
        // Wrong lengths, flipped counts: errors.
        assert!(decode_chunk(&bytes, 0, &[len - 1], path, |_| true).is_err());
        assert!(decode_chunk(&bytes[..bytes.len() - 1], 0, &[len - 1], path, |_| true).is_err());
        let mut flipped = bytes.clone();
        flipped[0] ^= 0x40;
        assert!(decode_chunk(&flipped, 0, &[len], path, |_| true).is_err());
        // Unwanted records are not decoded at all.
        let skipped =
            decode_chunk(&flipped, 0, &[len], path, |_| false).unwrap_or_else(|e| panic!("{e}"));
        assert!(skipped[0].shingles.is_empty());
    }

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
    fn id_set_numbers_ids_and_finds_repeats() {
        let mut s = IdSet::default();
        assert_eq!(s.insert("a"), Ok(0));
        assert_eq!(s.insert("b"), Ok(1));
        assert_eq!(s.insert("a"), Err(0));
        assert_eq!(s.insert("b"), Err(1));
        assert_eq!(s.insert("c"), Ok(2));
        assert_eq!(
            (0..3).map(|i| s.ids.get(i)).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
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
    fn component_groups_keep_components_whole_and_respect_the_budget() {
        // Components {0, 3}, {1, 4, 5}, {6, 7}; 2 has no pairs. Sets of 10 bytes.
        let pairs = [(0, 3), (1, 4), (4, 5), (6, 7)];
        let ten = |_| 10u64;
        let part = component_groups(8, &pairs, ten, 30);
        assert_eq!(part, (vec![0, 1, NONE, 0, 1, 1, 2, 2], vec![false; 3]));
        // A budget below one component still keeps it whole, one per group (over budget).
        let tiny = component_groups(8, &pairs, ten, 1);
        assert_eq!(tiny, (vec![0, 1, NONE, 0, 1, 1, 2, 2], vec![true; 3]));
        let all = component_groups(8, &pairs, ten, u64::MAX);
        assert_eq!(all, (vec![0, 0, NONE, 0, 0, 0, 0, 0], vec![false]));
        assert_eq!(component_groups(3, &[], ten, 30), (vec![NONE; 3], vec![]));
    }

    #[test]
    fn edge_groups_cover_every_pair_with_both_documents_within_budget() {
        // A star around 0 and a chain: one component, larger than the budget.
        let mut cands: Vec<(u32, u32)> = (1..20).map(|b| (0, b)).collect();
        cands.extend((20..40).map(|a| (a, a + 1)));
        cands.sort_unstable();
        let ten = |_| 10u64;
        let groups = edge_groups(41, &cands, ten, 50);
        assert!(groups.len() > 1);
        let mut next = 0usize;
        for g in &groups {
            assert_eq!(g.edges.start, next, "ranges are consecutive");
            next = g.edges.end;
            assert!(!g.edges.is_empty());
            assert!(g.members.windows(2).all(|w| w[0] < w[1]));
            assert!(g.members.len() as u64 * 10 <= 50, "{g:?}");
            for &(a, b) in &cands[g.edges.clone()] {
                assert!(g.members.binary_search(&a).is_ok() && g.members.binary_search(&b).is_ok());
            }
        }
        assert_eq!(next, cands.len());
        // One pair over the budget is a group of its own.
        let big = edge_groups(4, &[(0, 1), (2, 3)], |_| 100, 50);
        assert_eq!(big.len(), 2);
        assert!(edge_groups(0, &[], ten, 50).is_empty());
    }

    #[test]
    fn verify_groups_keep_small_components_whole_and_cut_large_ones() {
        // A large component (a star around 0 and a chain 20..40) and two small ones.
        let mut cands: Vec<(u32, u32)> = (1..20).map(|b| (0, b)).collect();
        cands.extend((20..40).map(|a| (a, a + 1)));
        cands.extend([(41, 42), (43, 44), (43, 45)]);
        cands.push((0, 20));
        cands.sort_unstable();
        let ten = |_| 10u64;
        let groups = verify_groups(46, &cands, ten, 50);
        let mut seen: Vec<(u32, u32)> = Vec::new();
        for g in &groups {
            assert!(!g.edges.is_empty());
            assert!(g.members.windows(2).all(|w| w[0] < w[1]));
            assert!(g.members.len() as u64 * 10 <= 50, "{g:?}");
            for &(a, b) in &g.edges {
                assert!(g.members.binary_search(&a).is_ok() && g.members.binary_search(&b).is_ok());
            }
            seen.extend(&g.edges);
        }
        seen.sort_unstable();
        assert_eq!(seen, cands, "every pair in exactly one group");
        // The small components share one group, whole, with no copies.
        let small = groups
            .iter()
            .find(|g| g.members.contains(&41))
            .expect("a group");
        assert_eq!(small.members, vec![41, 42, 43, 44, 45]);
        let copies = groups.iter().filter(|g| g.members.contains(&43)).count();
        assert_eq!(copies, 1);
    }
}
