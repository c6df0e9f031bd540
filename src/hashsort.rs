//! Sorting of values keyed by uniformly distributed hashes (32-bit shingle sets, LSH band
//! entries keyed by 64-bit hashes).
//!
//! Shingle hashes and band keys are outputs of strong hash functions, so their top bits spread
//! evenly. One counting pass on the top `log2(n) + 1` bits puts every value in its final
//! neighbourhood (at most one value per bucket on average), and one insertion sort over the
//! whole array finishes it: each value moves only past the others of its bucket, so the sort's
//! inner loop rarely runs and its branch is well predicted. (Finishing bucket by bucket costs a
//! mispredicted branch per bucket, which made that version no faster than `sort_unstable` on
//! story sets.) That is O(n) expected up to 2^16 values (the counter array stops growing at
//! 2^16 buckets; beyond, buckets hold more values each and are comparison-sorted, which still
//! beats one comparison sort of everything), against O(n log n) for a comparison sort.
//!
//! The result is exactly what `sort_unstable` gives (the values' own `Ord` decides within a
//! bucket; the bucket order agrees with it because the key is the leading field). Inputs that
//! defeat the spread (an adversary choosing words whose shingle hashes share their top bits) only
//! fill some buckets; when a bucket holds over [`SMALL`] values each bucket is sorted with
//! `sort_unstable` instead, so the worst case stays O(n log n).
//!
//! Cost: two passes over the values, one copy, `2^bits` counters (at most 2^16: 256 KiB; a
//! second set for arrays of up to 4,096 values), all in caller-owned scratch buffers
//! ([`Scratch`]), so sorting many sets allocates nothing once warm.
//!
//! Large arrays (boilerplate keys, a corpus's paragraph entries, LSH bands at scale) go through
//! [`par_sort_by_hash`]: the same counting idea spread over the threads, with the same result.

/// Below this many values a comparison sort is faster than counting.
const MIN_COUNTING: usize = 48;

/// When no bucket is larger than this, one insertion sort finishes the whole array.
const SMALL: usize = 24;

/// At most `2^MAX_BITS` buckets.
const MAX_BITS: u32 = 16;

/// Reusable buffers for [`sort_by_hash`].
#[derive(Debug, Default)]
pub struct Scratch<T> {
    copy: Vec<T>,
    /// Per bucket, the counters; for small arrays, those of the first half, and `counts2`
    /// those of the second (see [`sort_by_hash`]).
    counts: Vec<u32>,
    counts2: Vec<u32>,
}

/// Sorts `v` (as `sort_unstable` would) where `key(x)` is a uniformly distributed hash that
/// orders values the way their `Ord` does on its leading bits (the key is the value, or its
/// first field).
///
/// Up to 4,096 values, the two halves of `v` are counted and scattered side by side, each
/// with its own counters (a bucket's values from the first half go before those from the
/// second): a counter is loaded, stored and loaded again for each value, and one stream of
/// such updates waits whenever the processor cannot tell that consecutive ones touch
/// different counters. Two independent streams in one loop, one thread: random sets of
/// 150-750 values in cache 8.1-9.0 -> 6.9-7.4 ns per value; the story sets of 20,000
/// generated documents (filtered, sorted, deduplicated, from memory) 6.0-6.6 -> 5.6-5.8 ns
/// per shingle with [`dedup_sorted`]. Larger arrays take one stream (see
/// [`TWO_CHAINS_MAX_BUCKETS`]).
pub fn sort_by_hash<T: Copy + Ord + Default>(
    v: &mut [T],
    key: impl Fn(&T) -> u64,
    scratch: &mut Scratch<T>,
) {
    let n = v.len();
    if n < MIN_COUNTING || n > u32::MAX as usize {
        v.sort_unstable();
        return;
    }
    // At most one value per bucket on average (n / 2^bits is in (1/2, 1]), so that few values
    // share a bucket and the insertion sort below seldom moves anything.
    let bits = (usize::BITS - (n - 1).leading_zeros()).min(MAX_BITS);
    let shift = 64 - bits;
    let buckets = 1usize << bits;
    let bucket = |x: &T| (key(x) >> shift) as usize;
    let Scratch {
        copy,
        counts: first,
        counts2: second,
    } = scratch;
    first.clear();
    first.resize(buckets, 0);
    copy.clear();
    copy.extend_from_slice(v);
    // Afterwards, where each bucket ends; and the largest bucket.
    let (ends, largest): (&[u32], u32) = if buckets > TWO_CHAINS_MAX_BUCKETS {
        // Counters past the first-level cache: a second set would only add misses (LSH over
        // 50,000 documents, whose bands are sorted here, took 5-9% longer with two).
        for x in v.iter() {
            first[bucket(x)] += 1;
        }
        // Each bucket starts at the running total (kept in a register: a `counts[b] +=
        // counts[b - 1]` loop waits on its own store every step).
        let mut total = 0u32;
        let mut largest = 0u32;
        for c in first.iter_mut() {
            let n = *c;
            largest = largest.max(n);
            *c = total;
            total += n;
        }
        for x in copy.iter() {
            let b = bucket(x);
            let p = first[b];
            v[p as usize] = *x;
            first[b] = p + 1;
        }
        (first, largest)
    } else {
        second.clear();
        second.resize(buckets, 0);
        // The second half is the longer one when `n` is odd: its last value is taken alone.
        let half = n / 2;
        let (a, b) = copy.split_at(half);
        for (x, y) in a.iter().zip(b) {
            first[bucket(x)] += 1;
            second[bucket(y)] += 1;
        }
        let odd = b.last().filter(|_| b.len() > a.len());
        if let Some(y) = odd {
            second[bucket(y)] += 1;
        }
        // As above; a bucket's second-half values start after its first-half ones.
        let mut total = 0u32;
        let mut largest = 0u32;
        for (c1, c2) in first.iter_mut().zip(second.iter_mut()) {
            let (n1, n2) = (*c1, *c2);
            largest = largest.max(n1 + n2);
            *c1 = total;
            *c2 = total + n1;
            total += n1 + n2;
        }
        for (x, y) in a.iter().zip(b) {
            let (bx, by) = (bucket(x), bucket(y));
            let px = first[bx];
            v[px as usize] = *x;
            first[bx] = px + 1;
            let py = second[by];
            v[py as usize] = *y;
            second[by] = py + 1;
        }
        if let Some(y) = odd {
            let by = bucket(y);
            v[second[by] as usize] = *y;
            second[by] += 1;
        }
        (second, largest)
    };
    if largest as usize <= SMALL {
        // Every value is at most SMALL - 1 places from where it belongs.
        insertion_sort(v);
        return;
    }
    let mut start = 0usize;
    for &end in ends {
        let end = end as usize;
        v[start..end].sort_unstable();
        start = end;
    }
}

/// Up to this many buckets (arrays of up to 4,096 values), [`sort_by_hash`] counts and
/// scatters the two halves side by side (see there): the two sets of counters stay in the
/// first-level cache.
const TWO_CHAINS_MAX_BUCKETS: usize = 1 << 12;

/// Above this many values, [`par_sort_by_hash`] spreads the sort over the threads (two
/// threads, fresh buffers: 131k values 2.0 ms on one thread against 2.2 ms on two; 300k 5.9
/// against 4.5 ms).
const PARALLEL: usize = 1 << 18;

/// Up to this many values, [`par_sort_by_hash`] sorts by a parallel counting pass, which needs
/// a copy of the values; above, by `par_sort_unstable`, in place, so that a sort of billions of
/// bytes does not double them.
const PARALLEL_COUNTING_MAX: usize = 1 << 25;

/// Bits of the key that the parallel counting pass splits on (1,024 buckets: many more than
/// threads, so the buckets balance the work; few enough that the per-chunk counters stay small).
const PARALLEL_BITS: u32 = 10;

/// [`sort_by_hash`] for arrays of any size, in parallel above 2^18 values (below, one thread
/// is as fast on two cores): the same result. Chunks of the array are counting-sorted by the
/// top 10 bits of their keys side by side into a copy, then each of the 1,024 buckets gathers
/// its pieces from every chunk into its final place and is finished by [`sort_by_hash`] on the
/// next bits, buckets side by side. O(n) expected, three passes over the values; a copy of them
/// (n values) while it runs, up to 2^25 values, and `par_sort_unstable` in place beyond.
pub fn par_sort_by_hash<T: Copy + Ord + Default + Send + Sync>(
    v: &mut [T],
    key: impl Fn(&T) -> u64 + Sync,
    scratch: &mut Scratch<T>,
) {
    use rayon::prelude::*;
    let n = v.len();
    let threads = rayon::current_num_threads();
    if n <= PARALLEL || threads <= 1 {
        sort_by_hash(v, key, scratch);
        return;
    }
    if n > PARALLEL_COUNTING_MAX {
        v.par_sort_unstable();
        return;
    }
    let buckets = 1usize << PARALLEL_BITS;
    let shift = 64 - PARALLEL_BITS;
    let bucket = |x: &T| (key(x) >> shift) as usize;
    // A few chunks per thread, so that a slow thread does not hold up the rest.
    let chunk = n.div_ceil(4 * threads);
    let copy = &mut scratch.copy;
    // Only sized here: the counting pass below writes every value. Filled on all threads,
    // so that a fresh buffer's pages are faulted in side by side (a serial copy of a
    // million boilerplate keys, 16 MB, was 16-21 ms with the other core idle).
    copy.clear();
    copy.par_extend(v.par_iter().copied());
    // starts[c][b]..starts[c][b + 1]: bucket b's values from chunk c, inside chunk c of `copy`.
    let starts: Vec<Vec<u32>> = v
        .par_chunks(chunk)
        .zip(copy.par_chunks_mut(chunk))
        .map(|(src, dst)| {
            let mut counts = vec![0u32; buckets + 1];
            for x in src {
                counts[bucket(x) + 1] += 1;
            }
            let mut total = 0u32;
            for c in counts.iter_mut() {
                total += *c;
                *c = total;
            }
            let mut next = counts.clone();
            for x in src {
                let b = bucket(x);
                dst[next[b] as usize] = *x;
                next[b] += 1;
            }
            counts
        })
        .collect();
    // Each bucket's final place in `v`: the buckets in order, each as long as its pieces.
    let mut places: Vec<(usize, &mut [T])> = Vec::with_capacity(buckets);
    let mut rest = v;
    for b in 0..buckets {
        let len: usize = starts.iter().map(|s| (s[b + 1] - s[b]) as usize).sum();
        let (here, tail) = std::mem::take(&mut rest).split_at_mut(len);
        places.push((b, here));
        rest = tail;
    }
    let copy = &*copy;
    places
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, (b, place)| {
            let mut at = 0;
            for (c, s) in starts.iter().enumerate() {
                let piece = &copy[c * chunk + s[b] as usize..c * chunk + s[b + 1] as usize];
                place[at..at + piece.len()].copy_from_slice(piece);
                at += piece.len();
            }
            // Every key here shares its top bits: the bucket sorts on the ones after them.
            sort_by_hash(place, |x| key(x) << PARALLEL_BITS, scratch);
        });
}

/// Sorts and deduplicates a vector of 32-bit hashes (a shingle set).
pub fn sort_dedup_hashes(v: &mut Vec<u32>, scratch: &mut Scratch<u32>) {
    sort_by_hash(v, |&x| u64::from(x) << 32, scratch);
    dedup_sorted(v);
}

/// `v.dedup()` for a sorted vector without a branch per value: each value is written after
/// the last one kept and counted only if it differs (whether a shingle repeats is a coin
/// toss for the branch predictor): random sets with 5% repeats, sorted and deduplicated in
/// cache, 6.9-7.1 -> 6.6-6.7 ns per value.
fn dedup_sorted(v: &mut Vec<u32>) {
    let Some(&first) = v.first() else {
        return;
    };
    let mut last = first;
    let mut kept = 1usize;
    for i in 1..v.len() {
        let x = v[i];
        v[kept] = x;
        kept += usize::from(x != last);
        last = x;
    }
    v.truncate(kept);
}

/// Insertion sort for an array whose values are each at most a few places from where they
/// belong (after the counting pass, out of order only within a bucket). The common step, a
/// value either after its predecessor or just before it, is a min and a max with no branch
/// (which of two hashes in one bucket is smaller is a coin toss for the branch predictor); only a
/// value that belongs two or more places back takes the loop, a branch that is seldom taken.
fn insertion_sort<T: Copy + Ord>(v: &mut [T]) {
    if v.len() < 2 {
        return;
    }
    // The last two values of the sorted prefix, kept in registers: reading them back from `v`
    // would wait on the stores just made.
    let (mut second, mut last) = (v[0].min(v[1]), v[0].max(v[1]));
    v[0] = second;
    v[1] = last;
    for i in 2..v.len() {
        let x = v[i];
        let (low, high) = (last.min(x), last.max(x));
        v[i - 1] = low;
        v[i] = high;
        if second > low {
            // `low` belongs further back; `second` moves up to i - 1 and stays the
            // second-largest value.
            let mut j = i - 1;
            while j > 0 && v[j - 1] > low {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = low;
        } else {
            second = low;
        }
        last = high;
    }
}

/// Sorts one document's `(hash, slot)` keys and sets the slot of every repeat of a hash to
/// `drop`, so a caller can drop them: a document counts each hash once. Where equal keys have
/// different slots (folded hashes: a boilerplate paragraph, slot `drop`, folding like a story
/// one), the lowest slot is the one kept.
pub(crate) fn mark_repeats<K: Copy + Ord>(keys: &mut [(K, u32)], drop: u32) {
    keys.sort_unstable();
    for j in 1..keys.len() {
        if keys[j].0 == keys[j - 1].0 {
            keys[j].1 = drop;
        }
    }
}

/// About `count` consecutive pieces of `entries` (sorted by their first field), each cut
/// where that field changes, so that no run of equal keys is split: for processing runs in
/// parallel (LSH buckets, boilerplate counts).
pub(crate) fn pieces_by_key<K: PartialEq, V>(entries: &[(K, V)], count: usize) -> Vec<&[(K, V)]> {
    let target = entries.len().div_ceil(count.max(1)).max(1);
    let mut pieces = Vec::with_capacity(count + 1);
    let mut rest = entries;
    while !rest.is_empty() {
        let mut cut = target.min(rest.len());
        while cut < rest.len() && rest[cut].0 == rest[cut - 1].0 {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Documents per task of [`gather`].
const GATHER_BLOCK: usize = 1024;

/// Documents whose memory [`gather`] touches before it reads them (see there); the other
/// touch-ahead loops (the JSONL reader's duplicate-id check) use the same block.
pub(crate) const AHEAD: usize = 16;

/// Calls `each(i)` for every `i` of `docs` in order, having first called `touch` on the next
/// [`AHEAD`] of them at a time: `touch(i)` loads (and returns any mix of) the first value of
/// each cache line `each(i)` will read, so that the misses of a few documents overlap where
/// one document's work is too long for the processor to reach the next one's loads.
pub(crate) fn touching_ahead(
    docs: std::ops::Range<usize>,
    touch: &impl Fn(usize) -> u64,
    mut each: impl FnMut(usize),
) {
    let mut i = docs.start;
    while i < docs.end {
        let end = (i + AHEAD).min(docs.end);
        let touched = (i..end).fold(0, |acc, j| acc ^ touch(j));
        std::hint::black_box(touched);
        (i..end).for_each(&mut each);
        i = end;
    }
}

/// The concatenation of `fill(i, ..)` over documents `0..n`, where document `i` writes
/// exactly `len(i)` items into the slice it is given: built in parallel straight into one
/// vector of the final size: how the arrays these sorts take are built (boilerplate keys,
/// shared-paragraph entries). A `flat_map_iter(..).collect()` grows a vector per task and
/// concatenates them, copying every item two or three times; it was most of boilerplate
/// learning.
///
/// `touch(i)` loads (and returns any mix of) a value from each cache line that `len(i)` and
/// `fill(i, ..)` read first, typically the first and last items of the document's vectors.
/// It is called for a few documents at a time before they are read: each document's vectors
/// are a miss of their own, and one document's work is too long for the processor to reach
/// the next document's loads while the first miss is pending, so without it every document
/// waited out its misses one after the other (75% of the count pass's samples were on its
/// first load).
pub(crate) fn gather<T: Copy + Default + Send>(
    n: usize,
    touch: impl Fn(usize) -> u64 + Sync,
    len: impl Fn(usize) -> usize + Sync,
    fill: impl Fn(usize, &mut [T]) + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    let block_docs = |b: usize| b * GATHER_BLOCK..((b + 1) * GATHER_BLOCK).min(n);
    let blocks: Vec<usize> = (0..n.div_ceil(GATHER_BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut size = 0;
            touching_ahead(block_docs(b), &touch, |i| size += len(i));
            size
        })
        .collect();
    // Filled with defaults on all threads (`fill` overwrites them below), so that a fresh
    // vector's pages are faulted in side by side: `vec!` did it on one thread, 5-9 ms for a
    // million boilerplate keys with the other core idle.
    let total = blocks.iter().sum();
    let mut out = Vec::with_capacity(total);
    out.par_extend(rayon::iter::repeat_n(T::default(), total));
    let mut pieces: Vec<(usize, &mut [T])> = Vec::with_capacity(blocks.len());
    let mut rest: &mut [T] = &mut out;
    for (b, &size) in blocks.iter().enumerate() {
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(size);
        pieces.push((b, piece));
        rest = tail;
    }
    pieces.into_par_iter().for_each(|(b, piece)| {
        let mut at = 0usize;
        touching_ahead(block_docs(b), &touch, |i| {
            let k = len(i);
            fill(i, &mut piece[at..at + k]);
            at += k;
        });
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn sorts_hashes_like_sort_unstable() {
        let mut scratch = Scratch::default();
        for n in [0, 1, 2, 47, 48, 49, 100, 1000, 70_000, 200_000] {
            let v: Vec<u32> = (0..n as u64)
                .map(|i| mix(i % 997 + n as u64) as u32)
                .collect();
            let mut want = v.clone();
            want.sort_unstable();
            want.dedup();
            let mut got = v;
            sort_dedup_hashes(&mut got, &mut scratch);
            assert_eq!(got, want, "n = {n}");
        }
    }

    #[test]
    fn skewed_keys_still_sort() {
        // Every key shares its top 20 bits: one bucket holds everything.
        let mut scratch = Scratch::default();
        let mut v: Vec<u64> = (0..5000u64).map(|i| mix(i) >> 20).collect();
        let mut want = v.clone();
        want.sort_unstable();
        sort_by_hash(&mut v, |&x| x, &mut scratch);
        assert_eq!(v, want);
    }

    #[test]
    fn pairs_sort_by_key_then_value() {
        let mut scratch = Scratch::default();
        let mut v: Vec<(u64, u32)> = (0..3000u32)
            .map(|i| (mix(u64::from(i % 50)), 3000 - i))
            .collect();
        let mut want = v.clone();
        want.sort_unstable();
        sort_by_hash(&mut v, |e| e.0, &mut scratch);
        assert_eq!(v, want);
    }

    #[test]
    fn parallel_sort_matches_sort_unstable() {
        // Above the parallel threshold, in a pool of 3 threads (chunks of uneven length), with
        // repeated keys, pairs ordered by their second field within a key, and one chunk's worth
        // of keys crowded into a single top-bits bucket.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let n = PARALLEL + 12_345;
        let mut v: Vec<(u64, u32)> = (0..n as u64)
            .map(|i| {
                let k = mix(i % (n as u64 / 3));
                let k = if i % 7 == 0 { k >> 12 } else { k };
                (k, (i * 2_654_435_761 % 1000) as u32)
            })
            .collect();
        let mut want = v.clone();
        want.sort_unstable();
        pool.install(|| par_sort_by_hash(&mut v, |e| e.0, &mut Scratch::default()));
        assert_eq!(v, want);
    }

    proptest! {
        #[test]
        fn any_input_sorts(v in proptest::collection::vec(any::<u64>(), 0..400), small in any::<bool>()) {
            // Arbitrary (not only uniform) keys: small values all land in bucket 0.
            let v: Vec<u64> = if small { v.iter().map(|x| x % 1000).collect() } else { v };
            let mut want = v.clone();
            want.sort_unstable();
            let mut got = v;
            sort_by_hash(&mut got, |&x| x, &mut Scratch::default());
            prop_assert_eq!(got, want);
        }

        #[test]
        fn sort_dedup_matches_sort_then_dedup(
            v in proptest::collection::vec(any::<u32>(), 0..400),
            pool in prop_oneof![Just(0u32), 1u32..50],
        ) {
            // Shingle sets with repeats: drawn from `pool` values, runs of equal values (or all
            // distinct with pool 0); the length odd or even, below and above the counting sort.
            let v: Vec<u32> = if pool == 0 {
                v
            } else {
                v.iter().map(|x| mix(u64::from(x % pool)) as u32).collect()
            };
            let mut want = v.clone();
            want.sort_unstable();
            want.dedup();
            let mut got = v;
            sort_dedup_hashes(&mut got, &mut Scratch::default());
            prop_assert_eq!(got, want);
        }

        #[test]
        fn insertion_sort_sorts_anything(v in proptest::collection::vec(0u8..12, 0..60)) {
            // Not only nearly sorted input: runs of equal values, values many places from home
            // (the loop path), and the two-value min/max step everywhere else.
            let mut want = v.clone();
            want.sort_unstable();
            let mut got = v;
            insertion_sort(&mut got);
            prop_assert_eq!(got, want);
        }
    }
}
