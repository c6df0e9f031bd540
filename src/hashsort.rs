//! Sorting of values keyed by uniformly distributed 64-bit hashes (shingle sets, LSH band
//! entries).
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
//! Cost: two passes over the values, one copy, `2^bits` counters (at most 2^16: 256 KiB), all in
//! caller-owned scratch buffers ([`Scratch`]), so sorting many sets allocates nothing once warm.

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
    counts: Vec<u32>,
}

/// Sorts `v` (as `sort_unstable` would) where `key(x)` is a uniformly distributed hash that
/// orders values the way their `Ord` does on its leading bits (the key is the value, or its
/// first field).
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
    let Scratch { copy, counts } = scratch;
    counts.clear();
    counts.resize(buckets + 1, 0);
    for x in v.iter() {
        counts[bucket(x) + 1] += 1;
    }
    // Prefix sums with the running total in a register (a `counts[b] += counts[b - 1]` loop
    // waits on its own store every step).
    let mut total = 0u32;
    let mut largest = 0u32;
    for c in counts.iter_mut() {
        largest = largest.max(*c);
        total += *c;
        *c = total;
    }
    // counts[b] is now where bucket b starts; it is advanced as the bucket fills, so afterwards
    // it is where bucket b ends.
    copy.clear();
    copy.extend_from_slice(v);
    for x in copy.iter() {
        let b = bucket(x);
        v[counts[b] as usize] = *x;
        counts[b] += 1;
    }
    if largest as usize <= SMALL {
        // Every value is at most SMALL - 1 places from where it belongs.
        insertion_sort(v);
        return;
    }
    let mut start = 0usize;
    for &end in &counts[..buckets] {
        let end = end as usize;
        v[start..end].sort_unstable();
        start = end;
    }
}

/// Sorts and deduplicates a vector of hashes (a shingle set).
pub fn sort_dedup_hashes(v: &mut Vec<u64>, scratch: &mut Scratch<u64>) {
    sort_by_hash(v, |&x| x, scratch);
    v.dedup();
}

fn insertion_sort<T: Copy + Ord>(v: &mut [T]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
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
            let v: Vec<u64> = (0..n as u64).map(|i| mix(i % 997 + n as u64)).collect();
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
    }
}
