//! Stage 5: locality-sensitive hashing (banding) to propose candidate pairs.
//!
//! The signature is cut into `b` bands; two documents become a candidate pair when all rows of
//! at least one band agree. For bands of `r_1 .. r_b` rows the probability that two documents of
//! Jaccard similarity `s` become candidates is `P(s) = 1 - prod_j (1 - s^r_j)`.
//!
//! **Choosing the bands.** [`LshParams::optimal`] splits *all* `num_perm` rows into `b` bands as
//! evenly as possible (band sizes differ by at most one, so 128 rows in 20 bands are 8 bands of 7
//! and 12 of 6), and picks the `b` that minimises the weighted false-positive area
//! `∫_0^t P(s) ds` plus false-negative area `∫_t^1 (1 - P(s)) ds`, the criterion datasketch uses,
//! but over every band count rather than only the `b x r <= n` grid, so no permutation is wasted
//! and the threshold is matched more finely. Bands and rows can also be set by hand.
//!
//! **Buckets.** Band keys are hashed (xxh3 of the band's rows, seeded by the band number) and
//! sorted; equal keys form a bucket. A bucket of `m <= max_bucket` documents yields all its
//! `m (m - 1) / 2` pairs. A larger bucket (thousands of exact copies of one press release) yields
//! each member paired with the first `anchors` members only: O(m) pairs, enough for clustering to
//! connect copies, and it keeps one huge bucket from exhausting memory.
//!
//! **Repeated buckets.** Copies of one story fall into the same bucket in most bands, so the
//! same member list would give the same pairs band after band. In memory ([`candidates`]) a
//! bucket is paired only by the first band that meets its member list (a lock-free table of
//! fingerprints: see `SeenBuckets`), which cuts the pairs emitted, sorted and merged away by
//! about 85% on the generated corpus.
//!
//! **32-bit keys in memory.** [`candidates`] keeps the top 32 bits of each band key beside the
//! document number (8-byte entries, half the bytes to sort and scan: LSH stage 136 -> 123 ms
//! at 100k documents). Two documents whose keys differ only in the low bits then share a
//! bucket: about `n^2 / 2^33` such pairs per band (one per band at 100k documents, about a
//! hundred at 1M), which exact verification rejects like any other false candidate. (A bucket
//! that such a collision pushes past `max_bucket` is paired through anchors, as any large one;
//! that needs a bucket of near-copies within a few members of the limit to collide, about
//! `n / 2^32` per band for each such bucket, and its pairs come from the other bands anyway.)
//! The out-of-core run ([`candidates_by_band`]) and the index keep the whole 64-bit key.
//!
//! Invariants: the candidate list is sorted, deduplicated, with `i < j`, and does not depend on
//! the thread count (bands are processed in parallel, the results concatenated in band order and
//! sorted). Documents without a signature (empty) are never candidates.
//!
//! Cost: O(n b) expected time (band keys are hashes: each band's entries are grouped by a
//! counting sort on their top bits), 8 bytes per document per band in flight (16 out of core)
//! and 16-32 bytes per document for the table of repeated buckets (in memory only), a group
//! of bands at a time (about 16 MiB of entries, at least one band per thread). A
//! group's keys are computed document by document, so each signature's rows are read once
//! while in cache.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::hashsort;
use crate::minhash::Signatures;

/// Band layout: the number of rows in each band; bands take consecutive signature positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LshParams {
    /// Rows of each band, in signature order. Their sum is at most the signature length.
    pub rows: Vec<usize>,
}

/// Limits on how buckets turn into pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketLimits {
    /// Buckets up to this size yield all their pairs.
    pub max_bucket: usize,
    /// Larger buckets pair every member with this many anchors.
    pub anchors: usize,
}

impl Default for BucketLimits {
    fn default() -> Self {
        BucketLimits {
            max_bucket: 64,
            anchors: 16,
        }
    }
}

impl LshParams {
    /// `bands` bands covering all `num_perm` rows, sizes as even as possible (larger bands first).
    pub fn even(bands: usize, num_perm: usize) -> Self {
        let b = bands.clamp(1, num_perm.max(1));
        let base = num_perm / b;
        let extra = num_perm % b;
        LshParams {
            rows: (0..b).map(|j| base + usize::from(j < extra)).collect(),
        }
    }

    /// `bands` bands of exactly `rows` rows (the first `bands * rows` positions), by hand.
    pub fn fixed(bands: usize, rows: usize) -> Self {
        LshParams {
            rows: vec![rows.max(1); bands.max(1)],
        }
    }

    /// `(start, rows)` of each band that fits in a signature of `num_perm` values, in order:
    /// band `i` hashes `sig[start..start + rows]` (see [`band_key`]). Every user of band keys
    /// (the batch pipeline, the index, the Python bindings) goes through this one layout.
    pub fn ranges(&self, num_perm: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.rows.len());
        let mut pos = 0;
        for &r in &self.rows {
            if pos + r > num_perm {
                break;
            }
            out.push((pos, r));
            pos += r;
        }
        out
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.rows.len()
    }

    /// Signature positions used.
    pub fn rows_used(&self) -> usize {
        self.rows.iter().sum()
    }

    /// Probability that two documents of Jaccard similarity `s` become candidates.
    pub fn collision_probability(&self, s: f64) -> f64 {
        // Bands come in at most a few sizes: group them, so this is O(distinct sizes).
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &r in &self.rows {
            match sizes.iter_mut().find(|(size, _)| *size == r) {
                Some((_, count)) => *count += 1,
                None => sizes.push((r, 1)),
            }
        }
        let miss: f64 = sizes
            .iter()
            .map(|&(r, count)| (1.0 - s.powi(r as i32)).powi(count))
            .product();
        1.0 - miss
    }

    /// The Jaccard similarity at which the collision probability crosses one half.
    pub fn effective_threshold(&self) -> f64 {
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..50 {
            let mid = (lo + hi) / 2.0;
            if self.collision_probability(mid) < 0.5 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    }

    /// The band count minimising `fp_weight * FP area + fn_weight * FN area` for `threshold`,
    /// using all `num_perm` rows. Ties go to fewer bands (fewer candidates for equal error).
    pub fn optimal(threshold: f64, num_perm: usize, fp_weight: f64, fn_weight: f64) -> Self {
        let t = threshold.clamp(0.0, 1.0);
        let mut best = (f64::INFINITY, LshParams::even(1, num_perm));
        for b in 1..=num_perm.max(1) {
            let p = LshParams::even(b, num_perm);
            // `even` gives `extra` bands of `base + 1` rows and the rest of `base` rows.
            let (base, extra) = (num_perm / b, num_perm % b);
            let prob = |s: f64| {
                1.0 - (1.0 - s.powi(base as i32)).powi((b - extra) as i32)
                    * (1.0 - s.powi(base as i32 + 1)).powi(extra as i32)
            };
            let fp = integrate(prob, 0.0, t);
            let fnr = integrate(|s| 1.0 - prob(s), t, 1.0);
            let err = fp_weight * fp + fn_weight * fnr;
            if err < best.0 - 1e-12 {
                best = (err, p);
            }
        }
        best.1
    }
}

/// Simpson's rule on 200 intervals: exact enough to rank band layouts.
fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let n = 200;
    let h = (b - a) / n as f64;
    let mut sum = f(a) + f(b);
    for i in 1..n {
        let x = a + i as f64 * h;
        sum += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
    }
    sum * h / 3.0
}

/// Turns `(key, doc)` entries into candidate pairs: equal keys form a bucket. `entries` is sorted
/// in place. Pairs come out with `i < j`, unsorted, possibly repeated.
pub fn bucket_pairs(entries: &mut [(u64, u32)], limits: &BucketLimits, out: &mut Vec<(u32, u32)>) {
    bucket_pairs_in(entries, limits, out, &mut hashsort::Scratch::default());
}

/// A band key as an entry holds it: the whole 64-bit hash, or in memory its top 32 bits
/// (see [`candidates`]).
pub(crate) trait EntryKey: Copy + Ord + Default + Send + Sync {
    /// The key in the leading bits of a `u64`, ordered as the key is.
    fn leading(self) -> u64;
}

impl EntryKey for u64 {
    fn leading(self) -> u64 {
        self
    }
}

impl EntryKey for u32 {
    fn leading(self) -> u64 {
        u64::from(self) << 32
    }
}

/// [`bucket_pairs`] for entries keyed by 32 bits of a hash (see [`candidates`]).
pub(crate) fn bucket_pairs_32(
    entries: &mut [(u32, u32)],
    limits: &BucketLimits,
    out: &mut Vec<(u32, u32)>,
) {
    bucket_pairs_in(entries, limits, out, &mut hashsort::Scratch::default());
}

/// [`bucket_pairs`] with the sort's buffers in `scratch`, for callers that bucket many bands.
fn bucket_pairs_in<K: EntryKey>(
    entries: &mut [(K, u32)],
    limits: &BucketLimits,
    out: &mut Vec<(u32, u32)>,
    scratch: &mut hashsort::Scratch<(K, u32)>,
) {
    // Keys are hashes: a counting sort on their top bits beats a comparison sort.
    hashsort::par_sort_by_hash(entries, |e| e.0.leading(), scratch);
    emit_bucket_pairs(entries, &buckets_of(entries, false), limits, out);
}

/// From this many entries, [`bucket_pairs`] emits pairs on all threads.
const PARALLEL_EMIT: usize = 1 << 18;

/// Appends the pairs of one bucket (documents sharing a band key): all of them, or past
/// `max_bucket` each member with the first `anchors`.
fn emit_pairs<K: EntryKey>(bucket: &[(K, u32)], limits: &BucketLimits, out: &mut Vec<(u32, u32)>) {
    let m = bucket.len();
    let anchors = if m <= limits.max_bucket {
        m
    } else {
        limits.anchors.max(1).min(m)
    };
    for a in 0..anchors {
        for b in (a + 1)..m {
            let (x, y) = (bucket[a].1, bucket[b].1);
            if x != y {
                out.push((x.min(y), x.max(y)));
            }
        }
    }
}

/// Candidate pairs from banded signatures: sorted, deduplicated, `i < j` (buckets by 32-bit
/// keys: see the module docs).
pub fn candidates(sigs: &Signatures, params: &LshParams, limits: &BucketLimits) -> Vec<(u32, u32)> {
    let offsets = params.ranges(sigs.num_perm());
    // The documents with a signature, and their signatures.
    let live: Vec<(u32, &[u32])> = (0..sigs.len())
        .filter_map(|i| Some((i as u32, sigs.get(i)?)))
        .collect();
    let threads = rayon::current_num_threads();
    // A group's entries take 8 bytes per document per band: about 16 MiB of them at once (at
    // least one band per thread), so that every signature line is read once per group.
    let entry = std::mem::size_of::<(u32, u32)>();
    let group = (GROUP_BYTES / (entry * live.len().max(1))).clamp(threads, MAX_GROUP.max(threads));
    let seen = SeenBuckets::with_capacity(live.len());
    candidates_grouped(
        offsets.len(),
        group,
        |bands| band_entries(&live, &offsets, bands),
        limits,
        Some(&seen),
    )
}

/// Bytes of band entries held at once by [`candidates`] (see there).
const GROUP_BYTES: usize = 16 << 20;
/// More bands per group than this gain nothing: their rows already span whole cache lines.
const MAX_GROUP: usize = 16;

/// The `(key, doc)` entries of `bands` for the documents `live` (each with its signature),
/// one list per band. Document-major: each document's rows for the group are read once, while
/// in cache, instead of once per band (band-major reads touched one signature line per
/// document per band).
fn band_entries(
    live: &[(u32, &[u32])],
    offsets: &[(usize, usize)],
    bands: std::ops::Range<usize>,
) -> Vec<Vec<(u32, u32)>> {
    const CHUNK: usize = 4096;
    // The signature positions the group's bands read.
    let first = bands.clone().map(|b| offsets[b].0).min().unwrap_or(0);
    let last = bands
        .clone()
        .map(|b| offsets[b].0 + offsets[b].1)
        .max()
        .unwrap_or(0);
    let mut lists: Vec<Vec<(u32, u32)>> = bands.clone().map(|_| vec![(0, 0); live.len()]).collect();
    // Chunk c of every band's list, handed to one task together.
    let mut pieces: Vec<Vec<&mut [(u32, u32)]>> = live.chunks(CHUNK).map(|_| Vec::new()).collect();
    for list in &mut lists {
        for (c, piece) in list.chunks_mut(CHUNK).enumerate() {
            pieces[c].push(piece);
        }
    }
    pieces
        .into_par_iter()
        .zip(live.par_chunks(CHUNK))
        .for_each(|(mut out, docs)| {
            // The group's rows of a few documents are loaded first, one load per cache line,
            // back to back: their misses overlap. Hashing a document's keys takes more
            // instructions than the processor looks ahead, so loading each document's rows as
            // its keys were hashed waited out one miss per document (19 ns a key, against 13
            // band-major, where the loop is short).
            let touch = |k: usize| {
                let rows = &docs[k].1[first..last];
                let ends = rows.last().copied().unwrap_or(0);
                u64::from(rows.iter().step_by(16).fold(ends, |a, &v| a ^ v))
            };
            hashsort::touching_ahead(0..docs.len(), &touch, |k| {
                let (i, sig) = docs[k];
                for (list, band) in out.iter_mut().zip(bands.clone()) {
                    let (start, r) = offsets[band];
                    list[k] = ((band_key(&sig[start..start + r], band) >> 32) as u32, i);
                }
            });
        });
    lists
}

/// Candidate pairs from `bands` bands whose `(key, doc)` entries `entries(band)` gives (built
/// on demand, so a caller may read them from disk): sorted, deduplicated, `i < j`. At most
/// `group` bands are held at once.
pub fn candidates_by_band(
    bands: usize,
    group: usize,
    entries: impl Fn(usize) -> Vec<(u64, u32)> + Sync,
    limits: &BucketLimits,
) -> Vec<(u32, u32)> {
    candidates_grouped(
        bands,
        group,
        |range| range.into_par_iter().map(&entries).collect(),
        limits,
        None,
    )
}

/// [`candidates_by_band`] with the entries of a group of bands built together: `entries(range)`
/// gives one list per band of `range`.
fn candidates_grouped<K: EntryKey>(
    bands: usize,
    group: usize,
    entries: impl Fn(std::ops::Range<usize>) -> Vec<Vec<(K, u32)>> + Sync,
    limits: &BucketLimits,
    seen: Option<&SeenBuckets>,
) -> Vec<(u32, u32)> {
    // Bands are processed a group at a time and each group's pairs are merged into the
    // running, deduplicated result, so peak memory is the result plus one group's entries and
    // pairs: with many identical documents every band yields the same pairs, and keeping all
    // bands' lists until the end multiplied memory by the band count.
    // The sort's buffers (a copy of a band's entries) are kept for the next band: fresh ones
    // for each band faulted in their pages every time.
    let scratch = std::sync::Mutex::new(Vec::new());
    let band_pairs = |mut entries: Vec<(K, u32)>| -> Vec<(u32, u32)> {
        let mut sort: BandScratch<K> = scratch
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_default();
        hashsort::par_sort_by_hash(&mut entries, |e| e.0.leading(), &mut sort.0);
        let mut buckets = buckets_of(&entries, seen.is_some());
        if let Some(seen) = seen {
            buckets.retain(|b| seen.first_time(b.fingerprint));
        }
        let mut pairs = Vec::new();
        emit_bucket_pairs(&entries, &buckets, limits, &mut pairs);
        drop(entries);
        sort_pairs(&mut pairs, &mut sort.1);
        if let Ok(mut s) = scratch.lock() {
            s.push(sort);
        }
        pairs.dedup();
        pairs
    };
    // Each group's lists are merged pairwise in parallel (a tree), then into the result: one
    // sequential merge per group instead of one per band (at 10M documents the per-band
    // merges into a result of 20M pairs were most of the stage).
    let group = group.max(1);
    let mut all: Vec<(u32, u32)> = Vec::new();
    let mut start = 0;
    while start < bands {
        let end = (start + group).min(bands);
        let merged = entries(start..end)
            .into_par_iter()
            .map(band_pairs)
            .reduce(Vec::new, |a, b| merge_dedup(&a, &b));
        all = merge_dedup(&all, &merged);
        start = end;
    }
    all
}

/// A run of at least two equal keys in a band's sorted entries: the documents `start..end`,
/// which a band key put together, and (where repeats are skipped) the [`fingerprint`] of
/// their numbers.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    fingerprint: [u64; 2],
    start: usize,
    end: usize,
}

impl Bucket {
    fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// The buckets of sorted `entries` that hold two documents or more; with their fingerprints
/// when `fingerprints` (else those are zero).
fn buckets_of<K: EntryKey>(entries: &[(K, u32)], fingerprints: bool) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let key = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == key {
            end += 1;
        }
        if end - start >= 2 {
            let fingerprint = if fingerprints {
                fingerprint(&entries[start..end])
            } else {
                [0, 0]
            };
            out.push(Bucket {
                fingerprint,
                start,
                end,
            });
        }
        start = end;
    }
    out
}

/// Two hashes of a bucket's member list, of different kinds: a chained one (with the length)
/// and a sum of mixed document numbers.
fn fingerprint<K>(bucket: &[(K, u32)]) -> [u64; 2] {
    let mut h = bucket.len() as u64;
    let mut sum = 0u64;
    for e in bucket {
        let d = u64::from(e.1);
        h = (h ^ d).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
        let m = (d ^ 0x2545_F491_4F6C_DD1D).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        sum = sum.wrapping_add(m ^ (m >> 31));
    }
    [h, sum]
}

/// Appends the pairs of `buckets` of sorted `entries` (see [`emit_pairs`]); on all threads
/// for large inputs (a corpus's shared paragraphs, bands at scale: the pairs' order does not
/// matter, the caller sorts them).
fn emit_bucket_pairs<K: EntryKey>(
    entries: &[(K, u32)],
    buckets: &[Bucket],
    limits: &BucketLimits,
    out: &mut Vec<(u32, u32)>,
) {
    let threads = rayon::current_num_threads();
    if entries.len() < PARALLEL_EMIT || threads == 1 {
        for b in buckets {
            emit_pairs(&entries[b.range()], limits, out);
        }
        return;
    }
    let per = buckets.len().div_ceil(4 * threads).max(1);
    let parts: Vec<Vec<(u32, u32)>> = buckets
        .par_chunks(per)
        .map(|chunk| {
            let mut part = Vec::new();
            for b in chunk {
                emit_pairs(&entries[b.range()], limits, &mut part);
            }
            part
        })
        .collect();
    out.reserve(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend_from_slice(&part);
    }
}

/// The buckets already paired, by a fingerprint of their member lists, shared by the bands
/// of an in-memory run. A bucket whose members are those of a bucket of another band yields
/// no pair that one does not (entries are sorted by key, then document, so equal member lists
/// come in the same order, and an oversized bucket's anchors are the same documents too), so
/// only the first band to record a member list pairs it. Copies of one story share most of
/// their bands: at 100k generated documents the 51 bands make 730,402 buckets of 68,361
/// distinct member lists, and the 2.1M pairs they gave (each distinct pair about 20 times,
/// sorted and merged away afterwards) shrink to about 322k. LSH stage, 100k documents,
/// best of 20 runs, six alternating rounds: two threads 164-185 -> 123-154 ms, one thread
/// 239-325 -> 201-251 ms; 1M documents, two threads 2.33-2.46 -> 2.08-2.11 s; the same
/// candidates.
///
/// Which band records a list first depends on the threads; the pairs do not (they are the
/// union over the bands either way). The table is lock-free: a slot is claimed by a
/// compare-and-swap, so of two bands with one member list exactly one pairs it.
///
/// A fingerprint is 128 bits (a chained hash and a sum of mixed document numbers); the
/// table keeps 63 bits of one half and places it by the other, so two different member
/// lists are confused (and the later one's pairs lost unless another band gives them) with
/// probability about 2^-(63 + log2(slots) - 5): 2^-76 for two given lists at 100k documents
/// (2^18 slots), below 10^-13 that any two of the 68,361 lists there are.
/// A lookup that finds no free or matching slot within [`SEEN_PROBES`] keeps its bucket, so
/// an overfull table costs only repeated pairs. Memory: 8 bytes a slot, two to four slots
/// per document (2 MiB at 100k documents). The out-of-core run does not use it: its
/// candidates come a few bands at a time from disk, and the table would grow with the corpus.
struct SeenBuckets {
    /// Open addressing, linear probing; 0 is an empty slot.
    slots: Vec<AtomicU64>,
}

/// Slots a lookup probes before it gives up (and the bucket is kept).
const SEEN_PROBES: usize = 32;

impl SeenBuckets {
    /// A table for a run over `documents` documents: two to four slots each (the generated
    /// corpus has 0.68 distinct member lists per document over 51 bands, so the table stays
    /// about a quarter full; a fuller one only probes further or keeps buckets).
    fn with_capacity(documents: usize) -> Self {
        let size = (2 * documents).max(1024).next_power_of_two();
        SeenBuckets {
            slots: (0..size).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// True when no bucket with this fingerprint was seen before (it is then recorded):
    /// exactly one of the callers with one fingerprint gets true, whatever the threads do.
    /// Also true when the table is too crowded to tell: a bucket is kept on any doubt.
    fn first_time(&self, fingerprint: [u64; 2]) -> bool {
        // The slot comes from one half, the stored value from the other.
        let key = fingerprint[0] | 1;
        let mask = self.slots.len() - 1;
        let mut i = fingerprint[1] as usize & mask;
        for _ in 0..SEEN_PROBES {
            let slot = &self.slots[i];
            let mut current = slot.load(Ordering::Relaxed);
            if current == 0 {
                match slot.compare_exchange(0, key, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return true,
                    Err(other) => current = other,
                }
            }
            if current == key {
                return false;
            }
            i = (i + 1) & mask;
        }
        true
    }
}

/// The sort buffers of one band: its entries, then its pairs.
type BandScratch<K> = (hashsort::Scratch<(K, u32)>, hashsort::Scratch<(u32, u32)>);

/// Sorts pairs of document numbers as `sort_unstable` would, by a counting sort on the first
/// number's top bits: document numbers spread over `0..n` about as evenly as hashes do, and a
/// band yields tens of thousands of pairs per hundred thousand documents.
pub(crate) fn sort_pairs(pairs: &mut [(u32, u32)], scratch: &mut hashsort::Scratch<(u32, u32)>) {
    let top = pairs.iter().map(|p| p.0).max().unwrap_or(0);
    // Shifted so the largest first number fills the top bits; the shift drops only zero bits,
    // so the key orders pairs exactly as their `Ord` does.
    let shift = top.leading_zeros();
    hashsort::par_sort_by_hash(
        pairs,
        |&(a, b)| ((u64::from(a) << 32) | u64::from(b)) << shift,
        scratch,
    );
}

/// The band key: xxh3 of the band's rows as little-endian bytes, seeded by the band number.
pub fn band_key(rows: &[u32], band: usize) -> u64 {
    if (1..=4).contains(&rows.len()) {
        // Assembled in a register: a copy loop here becomes a call to memcpy.
        let mut x = 0u128;
        for (k, &v) in rows.iter().enumerate() {
            x |= u128::from(v) << (32 * k);
        }
        xxh3_short(x, 4 * rows.len(), band as u64)
    } else if rows.len() <= 64 {
        let mut buf = [[0u8; 4]; 64];
        for (b, v) in buf.iter_mut().zip(rows) {
            *b = v.to_le_bytes();
        }
        xxh3_64_with_seed(&buf.as_flattened()[..4 * rows.len()], band as u64)
    } else {
        let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        xxh3_64_with_seed(&bytes, band as u64)
    }
}

/// `xxh3_64_with_seed` of the first `len` (4 to 16) little-endian bytes of `x`: the same
/// value, from the xxh3 specification's formulas for 4-8 and 9-16 bytes, in registers. The
/// crate's entry point picks its formula by branching on the length and reads the bytes back
/// through a slice; here the bytes are already in a register. The test below checks every
/// length against the crate.
#[inline]
fn xxh3_short(x: u128, len: usize, seed: u64) -> u64 {
    // xxh3's default secret, read as little-endian words at byte offsets 8, 16, ..., 48.
    const S8: u64 = 0x1cad_21f7_2c81_017c;
    const S16: u64 = 0xdb97_9083_e96d_d4de;
    const S24: u64 = 0x1f67_b3b7_a4a4_4072;
    const S32: u64 = 0x78e5_c0cc_4ee6_79cb;
    const S40: u64 = 0x2172_ffcc_7dd0_5a82;
    const S48: u64 = 0x8e24_43f7_7446_08b8;
    debug_assert!((4..=16).contains(&len));
    let len64 = len as u64;
    if len <= 8 {
        let lo = x as u32;
        let hi = (x >> (8 * (len - 4))) as u32;
        let seed = seed ^ (u64::from((seed as u32).swap_bytes()) << 32);
        let flip = (S8 ^ S16).wrapping_sub(seed);
        let keyed = (u64::from(hi).wrapping_add(u64::from(lo) << 32)) ^ flip;
        // rrmxmx
        let mut h = keyed ^ keyed.rotate_left(49) ^ keyed.rotate_left(24);
        h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
        h ^= (h >> 35).wrapping_add(len64);
        h = h.wrapping_mul(0x9FB2_1C65_1E98_DF25);
        h ^ (h >> 28)
    } else {
        let flip1 = (S24 ^ S32).wrapping_add(seed);
        let flip2 = (S40 ^ S48).wrapping_sub(seed);
        let lo = (x as u64) ^ flip1;
        let hi = ((x >> (8 * (len - 8))) as u64) ^ flip2;
        let m = u128::from(lo) * u128::from(hi);
        let acc = len64
            .wrapping_add(lo.swap_bytes())
            .wrapping_add(hi)
            .wrapping_add((m as u64) ^ ((m >> 64) as u64));
        let mut h = acc ^ (acc >> 37);
        h = h.wrapping_mul(0x1656_6791_9E37_79F9);
        h ^ (h >> 32)
    }
}

/// Union of two sorted, deduplicated lists, sorted and deduplicated (linear merge).
pub(crate) fn merge_dedup<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::MinHashConfig;

    #[test]
    fn parallel_bucketing_gives_the_sequential_pairs() {
        // Above the parallel threshold, in a 3-thread pool: buckets of 1 to 7 documents (some
        // over max_bucket) straddle the even cut points, and every pair must come out once per
        // bucket, as pairing each run of equal keys alone gives them.
        let limits = BucketLimits {
            max_bucket: 5,
            anchors: 2,
        };
        let mut entries: Vec<(u64, u32)> = Vec::new();
        let mut doc = 0u32;
        let mut key = 0u64;
        while entries.len() < PARALLEL_EMIT + 1000 {
            key += 1;
            let size = 1 + (key % 7) as u32;
            for _ in 0..size {
                entries.push((key.wrapping_mul(0x9E37_79B9_7F4A_7C15), doc % 50_000));
                doc += 1;
            }
        }
        let mut sorted = entries.clone();
        sorted.sort_unstable();
        // The reference: each run of equal keys, paired bucket by bucket.
        let mut want = Vec::new();
        for run in sorted.chunk_by(|a, b| a.0 == b.0) {
            emit_pairs(run, &limits, &mut want);
        }
        want.sort_unstable();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        pool.install(|| bucket_pairs(&mut entries, &limits, &mut got));
        got.sort_unstable();
        assert_eq!(got, want);
        for piece in hashsort::pieces_by_key(&sorted, 12).windows(2) {
            let (a, b) = (piece[0], piece[1]);
            assert_ne!(
                a.last().map(|e| e.0),
                b.first().map(|e| e.0),
                "a bucket was cut"
            );
        }
    }

    /// At least `count` sorted sets in families (seeded by `seed`): a random base of `len`
    /// values and 1 to `copies` copies of it, each with 0 to `changes - 1` values replaced.
    fn families(seed: u64, count: usize, len: usize, copies: u32, changes: u32) -> Vec<Vec<u32>> {
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 32) as u32
        };
        let mut sets: Vec<Vec<u32>> = Vec::new();
        while sets.len() < count {
            let base: Vec<u32> = (0..len).map(|_| next()).collect();
            for _ in 0..(1 + next() % copies) {
                let mut s = base.clone();
                for v in s.iter_mut().take((next() % changes) as usize) {
                    *v = next();
                }
                s.sort_unstable();
                s.dedup();
                sets.push(s);
            }
        }
        sets
    }

    #[test]
    fn seen_buckets_say_first_once_per_fingerprint_on_any_threads() {
        // Eight threads ask about the same 5,000 fingerprints (each 3 times, in different
        // orders): each fingerprint gets exactly one `true`.
        let seen = SeenBuckets::with_capacity(5_000);
        let fps: Vec<[u64; 2]> = (0..5_000u64)
            .map(|i| {
                let a = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                [
                    a ^ (a >> 31),
                    a.rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9),
                ]
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let firsts: Vec<usize> = pool.install(|| {
            (0..24usize)
                .into_par_iter()
                .map(|t| {
                    (0..fps.len())
                        .map(|k| (k * (2 * t + 1) + t) % fps.len())
                        .filter(|&k| seen.first_time(fps[k]))
                        .collect::<Vec<usize>>()
                })
                .flatten()
                .collect()
        });
        let mut firsts = firsts;
        firsts.sort_unstable();
        assert_eq!(firsts, (0..fps.len()).collect::<Vec<_>>());
    }

    #[test]
    fn an_overfull_seen_table_keeps_every_new_bucket() {
        // 1,024 slots and 5,000 different fingerprints whose slots all collide: a new one is
        // never taken for an old one, whether or not it could be recorded.
        let seen = SeenBuckets::with_capacity(1);
        for i in 0..5_000u64 {
            assert!(seen.first_time([i.wrapping_mul(0x9E37_79B9_7F4A_7C15), 7]));
        }
        assert!(!seen.first_time([0, 7]));
    }

    #[test]
    fn skipping_repeated_buckets_keeps_every_pair() {
        // Families of near copies (shared bands, differing in a few) and exact copies (every
        // band alike), with small buckets paired through anchors: the pairs with repeated
        // buckets skipped are the pairs without, on one thread or three.
        let cfg = MinHashConfig::default();
        let sets = families(5, 3000, 40, 9, 4);
        let sigs = Signatures::compute(&sets, &cfg);
        let params = LshParams::optimal(0.5, cfg.num_perm, 0.2, 0.8);
        let offsets = params.ranges(sigs.num_perm());
        let live: Vec<(u32, &[u32])> = (0..sigs.len())
            .filter_map(|i| Some((i as u32, sigs.get(i)?)))
            .collect();
        let limits = BucketLimits {
            max_bucket: 4,
            anchors: 2,
        };
        let run = |threads: usize, skip: bool| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let seen = SeenBuckets::with_capacity(live.len());
            pool.install(|| {
                candidates_grouped(
                    offsets.len(),
                    3,
                    |bands| band_entries(&live, &offsets, bands),
                    &limits,
                    skip.then_some(&seen),
                )
            })
        };
        let want = run(1, false);
        assert!(want.len() > 3000, "{} pairs", want.len());
        assert_eq!(run(1, true), want);
        assert_eq!(run(3, true), want);
    }

    #[test]
    fn band_key_is_xxh3_of_the_rows_bytes() {
        // Every length path: in a register, on the stack, on the heap.
        let rows: Vec<u32> = (0..70u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
        for len in 0..=rows.len() {
            let bytes: Vec<u8> = rows[..len].iter().flat_map(|v| v.to_le_bytes()).collect();
            // Seeds whose low half swaps into the high one (the 4-8 byte formula) and large
            // ones (the additions and subtractions wrap).
            for band in [0usize, 7, 51, 0x1234_5678, usize::MAX] {
                assert_eq!(
                    band_key(&rows[..len], band),
                    xxh3_64_with_seed(&bytes, band as u64),
                    "{len} rows"
                );
            }
        }
        // The register path on many row values and seeds.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = 1 + (next() % 4) as usize;
            let rows: Vec<u32> = (0..len).map(|_| next() as u32).collect();
            let band = next() as usize;
            let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(
                band_key(&rows, band),
                xxh3_64_with_seed(&bytes, band as u64)
            );
        }
    }

    #[test]
    fn pairs_sort_like_sort_unstable() {
        let mut scratch = hashsort::Scratch::default();
        let mix = |i: u32| i.wrapping_mul(0x9E37_79B9) >> 5;
        let cases: Vec<Vec<(u32, u32)>> = vec![
            Vec::new(),
            vec![(3, 4)],
            // Spread over a corpus, with repeats.
            (0..5000u32)
                .map(|i| (mix(i) % 3000, mix(i + 7) % 9000))
                .collect(),
            // One document paired with everything: a single bucket.
            (0..3000u32).rev().map(|i| (0, i + 1)).collect(),
            // Numbers near the top of the range.
            (0..2000u32)
                .map(|i| (u32::MAX - mix(i) % 100, u32::MAX - i % 7))
                .collect(),
        ];
        for mut v in cases {
            let mut want = v.clone();
            want.sort_unstable();
            sort_pairs(&mut v, &mut scratch);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn merge_dedup_is_sorted_union() {
        assert_eq!(merge_dedup(&[1, 3, 5], &[2, 3, 6]), vec![1, 2, 3, 5, 6]);
        assert_eq!(merge_dedup::<u32>(&[], &[4]), vec![4]);
        assert_eq!(merge_dedup::<u32>(&[4], &[]), vec![4]);
    }

    #[test]
    fn even_split_uses_every_row() {
        let p = LshParams::even(20, 128);
        assert_eq!(p.rows_used(), 128);
        assert_eq!(p.bands(), 20);
        assert!(p.rows.iter().all(|&r| r == 6 || r == 7));
        assert_eq!(LshParams::even(500, 128).bands(), 128);
        assert_eq!(LshParams::even(0, 128).bands(), 1);
    }

    #[test]
    fn optimal_tracks_threshold() {
        let lo = LshParams::optimal(0.3, 128, 0.5, 0.5);
        let hi = LshParams::optimal(0.8, 128, 0.5, 0.5);
        assert!(lo.bands() > hi.bands());
        assert_eq!(lo.rows_used(), 128);
        for (t, p) in [(0.3, &lo), (0.8, &hi)] {
            let e = p.effective_threshold();
            assert!((e - t).abs() < 0.1, "threshold {t}: effective {e}");
        }
        // Monotone collision curve.
        let mut last = 0.0;
        for i in 0..=20 {
            let c = lo.collision_probability(i as f64 / 20.0);
            assert!(c >= last - 1e-12);
            last = c;
        }
    }

    #[test]
    fn buckets_yield_pairs_and_cap_large_ones() {
        let limits = BucketLimits {
            max_bucket: 3,
            anchors: 1,
        };
        let mut small = vec![(1, 0), (1, 2), (1, 1), (2, 5)];
        let mut out = Vec::new();
        bucket_pairs(&mut small, &limits, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![(0, 1), (0, 2), (1, 2)]);
        let mut big: Vec<(u64, u32)> = (0..10).map(|i| (9, i)).collect();
        let mut out = Vec::new();
        bucket_pairs(&mut big, &limits, &mut out);
        assert_eq!(out.len(), 9);
    }

    #[test]
    fn identical_documents_are_candidates_and_empty_ones_are_not() {
        let cfg = MinHashConfig::default();
        let a: Vec<u32> = (0..50u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) as u32)
            .collect();
        let mut a_sorted = a.clone();
        a_sorted.sort_unstable();
        let other: Vec<u32> = (1000..1050u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) as u32)
            .collect();
        let mut o = other.clone();
        o.sort_unstable();
        let sigs = Signatures::compute(&[a_sorted.clone(), vec![], a_sorted, o, vec![]], &cfg);
        let c = candidates(
            &sigs,
            &LshParams::optimal(0.5, 128, 0.5, 0.5),
            &BucketLimits::default(),
        );
        assert_eq!(c, vec![(0, 2)]);
    }

    #[test]
    fn candidates_hold_the_full_key_pairs_and_extras_share_32_bits() {
        // 2,000 documents: families of near copies (a shared base set with a few changes) and
        // unrelated ones. The reference buckets by whole 64-bit band keys; the in-memory path
        // by their top 32 bits: it must give every reference pair, and any pair more must
        // share the top 32 bits of some band's keys.
        let cfg = MinHashConfig::default();
        let sets = families(11, 2000, 60, 4, 8);
        let sigs = Signatures::compute(&sets, &cfg);
        let params = LshParams::optimal(0.6, cfg.num_perm, 0.2, 0.8);
        let limits = BucketLimits::default();
        let offsets = params.ranges(sigs.num_perm());
        let key = |i: usize, band: usize| {
            let (start, r) = offsets[band];
            sigs.get(i)
                .map(|sig| band_key(&sig[start..start + r], band))
        };
        let reference = candidates_by_band(
            offsets.len(),
            4,
            |band| {
                (0..sigs.len())
                    .filter_map(|i| Some((key(i, band)?, i as u32)))
                    .collect()
            },
            &limits,
        );
        assert!(reference.len() > 500, "{} pairs", reference.len());
        let got = candidates(&sigs, &params, &limits);
        assert!(reference.iter().all(|p| got.binary_search(p).is_ok()));
        for &(a, b) in &got {
            if reference.binary_search(&(a, b)).is_err() {
                assert!((0..offsets.len()).any(|band| {
                    key(a as usize, band).map(|k| k >> 32) == key(b as usize, band).map(|k| k >> 32)
                }));
            }
        }
    }
}
