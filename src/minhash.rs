//! Stage 4: MinHash signatures.
//!
//! Each shingle set is sketched into `num_perm` 32-bit values; the fraction of positions where
//! two signatures agree estimates the Jaccard similarity of the two sets, with standard error
//! about `sqrt(J (1 - J) / num_perm)` (0.044 at J = 0.5 with 128 positions).
//!
//! Two schemes, chosen by [`Scheme`]:
//!
//! - **One-permutation hashing, filled by rounds** (default): one-permutation hashing (Li, Owen &
//!   Zhang 2012, "One Permutation Hashing", NIPS) hashes each shingle once into one of `num_perm`
//!   bins and keeps each bin's minimum. Short documents leave bins empty; instead of borrowing
//!   neighbours' values (densification, Shrivastava 2017), which correlates bins and made LSH
//!   miss copies of short documents in our measurements, empty bins are filled as in fast
//!   similarity sketching (Dahlgaard, Knudsen & Thorup 2017, "Fast Similarity Sketching",
//!   FOCS): the set is rehashed in further rounds, a value carries its round in its top 12 bits,
//!   so each bin's minimum is its earliest hit, and the sketch stops after the round that fills
//!   the last bin. Every bin is then the minimum of an independent random ordering of the set,
//!   so agreement is an unbiased Jaccard estimate per bin. Cost: O(shingles x rounds +
//!   num_perm), about `num_perm ln(num_perm) / shingles` rounds: one to three for news articles,
//!   against `num_perm` hash evaluations per shingle for classic MinHash. On x86-64 CPUs with
//!   AVX-512 (F and DQ, detected at run time) a round hashes eight shingles at a time in vector
//!   lanes, with the same values: 5.0 -> 2.3 ns per shingle for generated news articles; a
//!   later round (a few of 128 bins still empty) tests the lanes' bins against a bitmap of the
//!   open bins and applies only the hits, packed without a branch (the sketch: 8.7% -> 7.5% of
//!   a 100k-document run's CPU). Elsewhere, signatures of 64, 128 or 256 positions take scalar
//!   rounds compiled for that bin count (constant shift, no bounds checks, emptiness tested
//!   once per round, the set's two halves into two sets of bins side by side, merged after
//!   each round), the same values again.
//!   (Past 4,094 rounds, only reachable with thousands of bins and a handful of shingles,
//!   remaining bins borrow from a seeded probe sequence.)
//! - **Classic MinHash**: `num_perm` multiply-shift hash functions
//!   `h_i(x) = (a_i * x + b_i) mod 2^64, top 32 bits`, odd `a_i` (Dietzfelbinger et al. 1997);
//!   the arithmetic is *meant* to wrap: the modulus is the word size, so nothing overflows before
//!   its modulus. Cost: O(shingles x num_perm) per document (the inner loop vectorises).
//!
//! The choice was measured (see BENCHMARKS.md): on the dev set both give the same clusters,
//! because every candidate is verified on the exact sets; OPH signs 10-20x faster.
//!
//! All parameters derive from the seed by SplitMix64, so signatures are identical across runs,
//! processes and machines and can be saved. An empty set has **no** signature (`None`), never an
//! all-zero or all-max one: otherwise every empty document would "match" every other.
//!
//! Signatures are stored flat: one `Vec<u32>` of `n * num_perm` values, document `i` at
//! `[i * num_perm .. (i + 1) * num_perm]`. Signing runs in parallel with rayon, one document per
//! task; the result does not depend on the thread count. 4 x num_perm bytes per document.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// MinHash parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinHashConfig {
    /// Signature length (hash functions, or bins for one-permutation hashing).
    pub num_perm: usize,
    /// Seed of the hash family.
    pub seed: u64,
    /// How the signature is computed.
    pub scheme: Scheme,
}

/// Sketching scheme (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// One-permutation hashing, empty bins filled by rehash rounds: O(shingles + num_perm log num_perm).
    Oph,
    /// Classic MinHash, one hash function per position: O(shingles x num_perm).
    Classic,
}

impl Default for MinHashConfig {
    fn default() -> Self {
        MinHashConfig {
            num_perm: 128,
            seed: 42,
            scheme: Scheme::Oph,
        }
    }
}

/// A seeded signer: the hash family and, for OPH, the densification probe table.
#[derive(Debug, Clone)]
pub struct Hasher {
    scheme: Scheme,
    num_perm: usize,
    /// Classic: multipliers and offsets, one pair per position.
    a: Vec<u64>,
    b: Vec<u64>,
    /// OPH: the seed of the per-shingle rehash.
    mix_seed: u64,
    /// OPH: for bin `i`, its donor probe sequence is `probes[i * PROBES ..][..PROBES]`, then a
    /// deterministic linear scan if all probes hit empty bins.
    probes: Vec<u32>,
}

/// Probes stored per bin for the densification fallback; the linear scan after them keeps the
/// result defined regardless.
const PROBES: usize = 16;

/// Low bits of a bin value that hold the hash; the bits above hold the round.
const VALUE_BITS: u32 = 20;
/// Last round tried before falling back to densification (the round must fit above the value
/// bits and stay below [`EMPTY`]).
const MAX_ROUND: u64 = (1 << (32 - VALUE_BITS)) - 2;
/// Marks an empty bin; larger than any value of a round up to [`MAX_ROUND`].
const EMPTY: u32 = u32::MAX;

/// 64-bit finalizer (Stafford's mix 13, as in SplitMix64): a bijection, so distinct shingle
/// hashes stay distinct.
#[inline]
pub(crate) fn fmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(FMIX_1);
    z = (z ^ (z >> 27)).wrapping_mul(FMIX_2);
    z ^ (z >> 31)
}

/// The multipliers of [`fmix64`] (SplitMix64's finalizer), and the golden-ratio multiplier.
const FMIX_1: u64 = 0xBF58_476D_1CE4_E5B9;
const FMIX_2: u64 = 0x94D0_49BB_1331_11EB;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// One round of [`Hasher::sign_oph`] over `set`, one shingle at a time: each shingle's hash
/// picks a bin and gives a value carrying the round's `tag`. Returns how many bins it filled for
/// the first time. With `SHIFT` and a power-of-two number of bins (128 by default) the bin is
/// the hash's top bits, a shift instead of the multiply: `((h >> 32) * 2^b) >> 32` is exactly
/// `h >> (64 - b)`, so the values are the same (the reference, `SHIFT` false, always
/// multiplies). On a Zen 3 EPYC, without AVX-512, signing went from 8.2-8.7 to 6.8-7.6 ns per
/// shingle.
fn scalar_round<const SHIFT: bool>(
    set: &[u32],
    salt: u64,
    first: bool,
    tag: u32,
    out: &mut [u32],
) -> usize {
    let n = out.len() as u64;
    if SHIFT && n >= 2 && n.is_power_of_two() {
        let shift = 64 - n.trailing_zeros();
        round_by(set, salt, first, tag, out, |h| h >> shift)
    } else {
        round_by(set, salt, first, tag, out, |h| ((h >> 32) * n) >> 32)
    }
}

/// [`scalar_round`] with the bin of a hash given by `bin`.
#[inline(always)]
fn round_by(
    set: &[u32],
    salt: u64,
    first: bool,
    tag: u32,
    out: &mut [u32],
    bin: impl Fn(u64) -> u64,
) -> usize {
    let mut filled = 0;
    for &x in set {
        let h = round_hash(x, salt, first);
        filled += hit(out, bin(h), round_value(h, tag));
    }
    filled
}

/// A shingle's hash in a round. Shingle hashes are already uniform 32-bit values (narrowed
/// finalized mixes), so the first round only salts them and multiplies by a 64-bit odd
/// constant (multiplicative hashing: the product's high bits, which pick the bin, depend on
/// every bit of the shingle); later rounds need a full rehash to be independent of the first.
#[inline(always)]
fn round_hash(x: u32, salt: u64, first: bool) -> u64 {
    let x = u64::from(x);
    if first {
        (x ^ salt).wrapping_mul(GOLDEN)
    } else {
        fmix64(x ^ salt)
    }
}

/// The bin value of a round's hash: the round's tag above the hash's top value bits.
#[inline(always)]
fn round_value(h: u64, tag: u32) -> u32 {
    tag | ((h as u32) >> (32 - VALUE_BITS))
}

/// Keeps the smaller of bin `bin`'s value and `v`; returns 1 when the bin was empty. Branch-free:
/// which of a bin's hits is smallest is a coin toss for the branch predictor. `v` is always
/// below EMPTY (the round tag stops short of the top value), so a bin found EMPTY is filled
/// now, and stays filled.
#[inline]
fn hit(out: &mut [u32], bin: u64, v: u32) -> usize {
    let o = &mut out[bin as usize];
    let old = *o;
    *o = old.min(v);
    usize::from(old == EMPTY)
}

/// One round of [`Hasher::sign_oph`] with AVX-512 (where `crate::shingle::wide::available`):
/// the hashes, bins and values of eight shingles at a time in vector lanes (the round's
/// multiplies were most of its cost), the bins' minima updated one by one as in the scalar
/// loop. Same values, bit for bit (tested against the scalar round).
#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{hit, scalar_round, FMIX_1, FMIX_2, GOLDEN, VALUE_BITS};
    use std::arch::x86_64::*;

    /// Shingles per vector.
    pub const LANES: usize = 8;

    /// Runs one round over `set` into `out`; returns how many bins it filled for the first time.
    pub fn oph_round(set: &[u32], salt: u64, first: bool, tag: u32, out: &mut [u32]) -> usize {
        assert!(crate::shingle::wide::available() && u32::try_from(out.len()).is_ok());
        // SAFETY: the CPU has AVX-512F and AVX-512DQ (asserted just above).
        unsafe { oph_round_avx512(set, salt, first, tag, out) }
    }

    /// One round's constants in vector registers, and the hashing both vector rounds share.
    #[derive(Clone, Copy)]
    struct Round {
        salt: __m512i,
        golden: __m512i,
        m1: __m512i,
        m2: __m512i,
        bins: __m512i,
        low32: __m512i,
        tag: __m512i,
        first: bool,
    }

    impl Round {
        #[target_feature(enable = "avx512f,avx512dq")]
        fn new(salt: u64, first: bool, tag: u32, bins: usize) -> Round {
            Round {
                salt: _mm512_set1_epi64(salt as i64),
                golden: _mm512_set1_epi64(GOLDEN as i64),
                m1: _mm512_set1_epi64(FMIX_1 as i64),
                m2: _mm512_set1_epi64(FMIX_2 as i64),
                bins: _mm512_set1_epi64(bins as i64),
                low32: _mm512_set1_epi64(0xFFFF_FFFF),
                tag: _mm512_set1_epi64(i64::from(tag)),
                first,
            }
        }

        /// The bins of eight shingles and their `bin << 32 | value` lanes: what
        /// `scalar_round` computes for each.
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq")]
        fn lanes(&self, chunk: &[u32; LANES]) -> (__m512i, __m512i) {
            // SAFETY: `chunk` is eight initialized u32s; the load is unaligned.
            let x = _mm512_cvtepu32_epi64(unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) });
            let z = _mm512_xor_si512(x, self.salt);
            let h = if self.first {
                _mm512_mullo_epi64(z, self.golden)
            } else {
                let z = _mm512_xor_si512(z, _mm512_srli_epi64::<30>(z));
                let z = _mm512_mullo_epi64(z, self.m1);
                let z =
                    _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64::<27>(z)), self.m2);
                _mm512_xor_si512(z, _mm512_srli_epi64::<31>(z))
            };
            // bin = ((h >> 32) * n) >> 32, a 32 x 32 -> 64-bit product per lane.
            let bin =
                _mm512_srli_epi64::<32>(_mm512_mul_epu32(_mm512_srli_epi64::<32>(h), self.bins));
            let v = _mm512_or_si512(
                self.tag,
                _mm512_srli_epi64::<{ 32 - VALUE_BITS }>(_mm512_and_si512(h, self.low32)),
            );
            (bin, _mm512_or_si512(_mm512_slli_epi64::<32>(bin), v))
        }
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    fn oph_round_avx512(set: &[u32], salt: u64, first: bool, tag: u32, out: &mut [u32]) -> usize {
        let round = Round::new(salt, first, tag, out.len());
        let mut filled = 0usize;
        let (chunks, rest) = set.as_chunks::<LANES>();
        // Each vector's (bin << 32 | value) lanes are stored, and applied one chunk later:
        // reading a lane back right after the wide store stalls (the store cannot be forwarded
        // to the narrow loads), one chunk later it is an ordinary cached load.
        let mut pending: Option<[u64; LANES]> = None;
        for chunk in chunks {
            let (_, packed) = round.lanes(chunk);
            for p in pending.into_iter().flatten() {
                filled += hit(out, p >> 32, p as u32);
            }
            let mut lanes = [0u64; LANES];
            // SAFETY: `lanes` is eight u64s to write; the store is unaligned.
            unsafe { _mm512_storeu_epi64(lanes.as_mut_ptr().cast(), packed) };
            pending = Some(lanes);
        }
        for p in pending.into_iter().flatten() {
            filled += hit(out, p >> 32, p as u32);
        }
        filled + scalar_round::<true>(rest, salt, first, tag, out)
    }

    /// Most bins [`oph_round_open`] handles: its bitmap of open bins is one vector.
    pub const MAX_OPEN_BINS: usize = 512;

    /// A later round (not the first) of [`oph_round`], for at most [`MAX_OPEN_BINS`] bins.
    /// Only bins still empty when the round starts can change: a bin filled in an earlier round
    /// holds a smaller round tag than any value of this one. After the first round of a news
    /// article a few bins of 128 are open, so the lanes are tested against a bitmap of the
    /// open bins (one vector, indexed by `bin / 64`) and only the rare hits are applied: the
    /// round costs its hashing, not 8 scalar updates per vector. Same values, bit for bit.
    pub fn oph_round_open(set: &[u32], salt: u64, tag: u32, out: &mut [u32]) -> usize {
        assert!(crate::shingle::wide::available() && out.len() <= MAX_OPEN_BINS);
        // SAFETY: the CPU has AVX-512F and AVX-512DQ (asserted just above).
        let open = unsafe { open_bins_avx512(out) };
        // SAFETY: as above.
        unsafe { oph_round_open_avx512(set, salt, tag, &open, out) }
    }

    /// The bitmap of the empty bins (bit `i % 64` of word `i / 64` for bin `i`), sixteen bins
    /// per compare. Built bin by bin in baseline code (the compiler's SSE2 version shifting one
    /// bit per bin) it was most of the time signing spent outside the rounds: 93 -> 12 ns per
    /// 128-bin bitmap, one per later round (signing the story sets of 20,000 generated
    /// documents, one thread, best of six runs each: 4.75 -> 4.26 ns per shingle).
    #[target_feature(enable = "avx512f,avx512dq")]
    fn open_bins_avx512(out: &[u32]) -> [u64; MAX_OPEN_BINS / 64] {
        let mut open = [0u64; MAX_OPEN_BINS / 64];
        let empty = _mm512_set1_epi32(super::EMPTY as i32);
        let (chunks, rest) = out.as_chunks::<16>();
        for (c, chunk) in chunks.iter().enumerate() {
            // SAFETY: `chunk` is sixteen u32s; the load is unaligned.
            let bins = unsafe { _mm512_loadu_epi32(chunk.as_ptr().cast()) };
            let hits = u64::from(_mm512_cmpeq_epi32_mask(bins, empty));
            open[c / 4] |= hits << (16 * (c % 4));
        }
        let done = chunks.len() * 16;
        for (k, &v) in rest.iter().enumerate() {
            let i = done + k;
            open[i / 64] |= u64::from(v == super::EMPTY) << (i % 64);
        }
        open
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    fn oph_round_open_avx512(
        set: &[u32],
        salt: u64,
        tag: u32,
        open: &[u64; MAX_OPEN_BINS / 64],
        out: &mut [u32],
    ) -> usize {
        let round = Round::new(salt, false, tag, out.len());
        let mut filled = 0usize;
        let low6 = _mm512_set1_epi64(63);
        let one = _mm512_set1_epi64(1);
        // SAFETY: `open` is eight u64s; the load is unaligned.
        let table = unsafe { _mm512_loadu_epi64(open.as_ptr().cast()) };
        const FOUND: usize = 256;
        let mut found = [0u64; FOUND];
        let mut count = 0usize;
        let (chunks, rest) = set.as_chunks::<LANES>();
        for chunk in chunks {
            let (bin, packed) = round.lanes(chunk);
            // The bin's bit: word bin / 64 of the bitmap (a lane permute), shifted by bin % 64.
            let word = _mm512_permutexvar_epi64(_mm512_srli_epi64::<6>(bin), table);
            let bit = _mm512_srlv_epi64(word, _mm512_and_si512(bin, low6));
            let hits = _mm512_test_epi64_mask(bit, one);
            // The hit lanes, packed to the front and stored past the hits so far (a full-width
            // store; the next one overwrites the lanes beyond the hits): no branch on the rare,
            // unpredictable hit.
            let front = _mm512_maskz_compress_epi64(hits, packed);
            // SAFETY: `found` has room for eight lanes past `count` (checked below).
            unsafe { _mm512_storeu_epi64(found.as_mut_ptr().add(count).cast(), front) };
            count += hits.count_ones() as usize;
            if count > FOUND - LANES {
                for &p in &found[..count] {
                    filled += hit(out, p >> 32, p as u32);
                }
                count = 0;
            }
        }
        for &p in &found[..count] {
            filled += hit(out, p >> 32, p as u32);
        }
        filled + scalar_round::<true>(rest, salt, false, tag, out)
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Hasher {
    /// The hash family for a configuration.
    pub fn new(cfg: &MinHashConfig) -> Self {
        let mut state = cfg.seed;
        let n = cfg.num_perm.max(1);
        match cfg.scheme {
            Scheme::Classic => {
                let mut a = Vec::with_capacity(n);
                let mut b = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(splitmix64(&mut state) | 1);
                    b.push(splitmix64(&mut state));
                }
                Hasher {
                    scheme: Scheme::Classic,
                    num_perm: n,
                    a,
                    b,
                    mix_seed: 0,
                    probes: Vec::new(),
                }
            }
            Scheme::Oph => {
                let mix_seed = splitmix64(&mut state);
                let probes = (0..n * PROBES)
                    .map(|_| (((splitmix64(&mut state) >> 32) * n as u64) >> 32) as u32)
                    .collect();
                Hasher {
                    scheme: Scheme::Oph,
                    num_perm: n,
                    a: Vec::new(),
                    b: Vec::new(),
                    mix_seed,
                    probes,
                }
            }
        }
    }

    /// Signature length.
    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    /// Writes the signature of `set` into `out` (`out.len() == num_perm`). Returns false and
    /// leaves `out` untouched for an empty set.
    ///
    /// # Panics
    /// If `out.len()` is not [`Hasher::num_perm`] (a caller's bug, as with
    /// `copy_from_slice`: a shorter or longer signature would be silently wrong).
    pub fn sign_into(&self, set: &[u32], out: &mut [u32]) -> bool {
        assert_eq!(
            out.len(),
            self.num_perm,
            "sign_into: the output holds {} values, the signature {}",
            out.len(),
            self.num_perm
        );
        if set.is_empty() {
            return false;
        }
        match self.scheme {
            Scheme::Classic => self.sign_classic(set, out),
            Scheme::Oph => self.sign_oph(set, out),
        }
        true
    }

    fn sign_oph(&self, set: &[u32], out: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        let vector = set.len() >= wide::LANES && crate::shingle::wide::available();
        #[cfg(not(target_arch = "x86_64"))]
        let vector = false;
        if !vector {
            // The common signature lengths get rounds compiled for their bin count.
            if let Ok(out) = <&mut [u32; 128]>::try_from(&mut *out) {
                return self.sign_oph_fixed(set, out);
            }
            if let Ok(out) = <&mut [u32; 64]>::try_from(&mut *out) {
                return self.sign_oph_fixed(set, out);
            }
            if let Ok(out) = <&mut [u32; 256]>::try_from(&mut *out) {
                return self.sign_oph_fixed(set, out);
            }
        }
        self.sign_oph_with::<true>(set, out);
    }

    /// [`Hasher::sign_oph`] in scalar rounds for `N` bins, `N` a power of two known at compile
    /// time: a bin is the hash's top `log2 N` bits by a constant shift, indexes no bounds check
    /// needs to guard, and each round's updates count nothing; whether a bin is still empty is
    /// asked once per round, over the whole signature (vectorised). Same values, bit for bit,
    /// as the reference rounds. On a Zen 3 EPYC (no AVX-512), one thread, 20,000 random sets
    /// of 150-650 values (2.55 rounds per set), 20 interleaved runs: median 8.2 -> 5.4 ns per
    /// shingle; the 100k pipeline's shingle+minhash stage 0.155 -> 0.135 s.
    fn sign_oph_fixed<const N: usize>(&self, set: &[u32], out: &mut [u32; N]) {
        const { assert!(N >= 2 && N.is_power_of_two() && N <= 1 << 10) };
        let shift = 64 - N.trailing_zeros();
        out.fill(EMPTY);
        // The set's two halves update bins of their own side by side, merged after each
        // round: a bin is loaded, lowered and stored for every shingle, and one stream of such
        // updates waits whenever the processor cannot tell that the next one touches another
        // bin. The minima are the same. Story sets of 20,000 generated documents, one thread,
        // best of 20: 5.1-5.2 -> 4.4-4.9 ns per shingle (four streams: 5.7-5.8).
        let mut other = [EMPTY; N];
        let (a, b) = set.split_at(set.len() / 2);
        let odd = b.last().filter(|_| b.len() > a.len());
        let mut round: u64 = 0;
        loop {
            let salt = self.mix_seed.wrapping_add(round.wrapping_mul(GOLDEN));
            let tag = (round as u32) << VALUE_BITS;
            let update = |bins: &mut [u32; N], h: u64| {
                let o = &mut bins[(h >> shift) as usize];
                *o = (*o).min(round_value(h, tag));
            };
            // One loop per kind of round, so that neither tests `first` per shingle.
            if round == 0 {
                for (&x, &y) in a.iter().zip(b) {
                    update(out, round_hash(x, salt, true));
                    update(&mut other, round_hash(y, salt, true));
                }
                if let Some(&y) = odd {
                    update(&mut other, round_hash(y, salt, true));
                }
            } else {
                for (&x, &y) in a.iter().zip(b) {
                    update(out, round_hash(x, salt, false));
                    update(&mut other, round_hash(y, salt, false));
                }
                if let Some(&y) = odd {
                    update(&mut other, round_hash(y, salt, false));
                }
            }
            // `other` keeps its values into the next round: they are in `out` already.
            for (o, &t) in out.iter_mut().zip(other.iter()) {
                *o = (*o).min(t);
            }
            round += 1;
            if !out.iter().fold(false, |any, &v| any | (v == EMPTY)) {
                return;
            }
            if round > MAX_ROUND {
                break;
            }
        }
        self.borrow_for_empty(out);
    }

    /// [`Hasher::sign_oph`]; with `WIDE` false, always the scalar rounds (the reference the
    /// vector rounds are tested against).
    fn sign_oph_with<const WIDE: bool>(&self, set: &[u32], out: &mut [u32]) {
        out.fill(EMPTY);
        let mut empty = out.len();
        let mut round: u64 = 0;
        // Round r rehashes every shingle into a bin; values carry the round in their top bits, so
        // a bin's minimum is its earliest hit. Stopping after the round that fills the last bin
        // gives the same minima as running forever: later rounds only hold larger values.
        while empty > 0 && round <= MAX_ROUND {
            let salt = self.mix_seed.wrapping_add(round.wrapping_mul(GOLDEN));
            let tag = (round as u32) << VALUE_BITS;
            let first = round == 0;
            #[cfg(target_arch = "x86_64")]
            if WIDE && set.len() >= wide::LANES && crate::shingle::wide::available() {
                empty -= if first || out.len() > wide::MAX_OPEN_BINS {
                    wide::oph_round(set, salt, first, tag, out)
                } else {
                    wide::oph_round_open(set, salt, tag, out)
                };
                round += 1;
                continue;
            }
            empty -= scalar_round::<WIDE>(set, salt, first, tag, out);
            round += 1;
        }
        if empty > 0 {
            self.borrow_for_empty(out);
        }
    }

    /// Fills the bins still empty after the last round: only for tiny sets with huge
    /// signatures (thousands of bins, a handful of shingles), which borrow from the seeded
    /// probe sequence, as in optimal densification.
    fn borrow_for_empty(&self, out: &mut [u32]) {
        let filled: Vec<bool> = out.iter().map(|&v| v != EMPTY).collect();
        for i in 0..out.len() {
            if filled[i] {
                continue;
            }
            let probes = &self.probes[i * PROBES..(i + 1) * PROBES];
            let donor = probes
                .iter()
                .map(|&j| j as usize)
                .find(|&j| filled[j])
                .or_else(|| {
                    (1..out.len())
                        .map(|d| (i + d) % out.len())
                        .find(|&j| filled[j])
                });
            if let Some(j) = donor {
                out[i] = out[j];
            }
        }
    }

    fn sign_classic(&self, set: &[u32], out: &mut [u32]) {
        out.fill(u32::MAX);
        for &x in set {
            let x = u64::from(x);
            for ((o, &a), &b) in out.iter_mut().zip(&self.a).zip(&self.b) {
                let h = (a.wrapping_mul(x).wrapping_add(b) >> 32) as u32;
                *o = (*o).min(h);
            }
        }
    }

    /// The signature of one set, or `None` for an empty set.
    pub fn sign(&self, set: &[u32]) -> Option<Vec<u32>> {
        let mut out = vec![0u32; self.num_perm()];
        self.sign_into(set, &mut out).then_some(out)
    }
}

/// `vec![0u32; len]`, its pages written (and so faulted in) by every thread rather than by
/// the caller alone. The signatures of 100k documents are 51 MB of fresh memory: zeroed on
/// the calling thread they took about 80 ms with the other core idle (a time-bucketed
/// profile: only the main thread running, in the kernel's page clearing and in `memset`).
fn zeroed_in_parallel(len: usize) -> Vec<u32> {
    let mut v = Vec::with_capacity(len);
    v.par_extend((0..len).into_par_iter().map(|_| 0u32));
    v
}

/// Signatures of a batch of documents, stored flat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatures {
    num_perm: usize,
    data: Vec<u32>,
    /// `present[i]` is false for documents with an empty shingle set (no signature).
    present: Vec<bool>,
}

impl Signatures {
    /// Signs every set in parallel.
    pub fn compute(sets: &[Vec<u32>], cfg: &MinHashConfig) -> Self {
        let hasher = Hasher::new(cfg);
        let p = hasher.num_perm();
        let mut data = zeroed_in_parallel(sets.len() * p);
        let present: Vec<bool> = data
            .par_chunks_mut(p)
            .zip(sets.par_iter())
            .map(|(out, set)| hasher.sign_into(set, out))
            .collect();
        Signatures {
            num_perm: p,
            data,
            present,
        }
    }

    /// Signs every item in parallel, calling `prepare` on each item first, on the same thread
    /// and just before signing, so that whatever `prepare` builds (the item's shingle set,
    /// which `set` then returns) is signed while it is still in cache. `init` makes one
    /// scratch state per worker for `prepare`.
    pub fn compute_prepared<T: Send, S>(
        items: &mut [T],
        cfg: &MinHashConfig,
        init: impl Fn() -> S + Sync + Send,
        prepare: impl Fn(&mut S, &mut T) + Sync + Send,
        set: impl Fn(&T) -> &[u32] + Sync + Send,
    ) -> Self {
        let hasher = Hasher::new(cfg);
        let p = hasher.num_perm();
        let mut data = zeroed_in_parallel(items.len() * p);
        let present: Vec<bool> = data
            .par_chunks_mut(p)
            .zip(items.par_iter_mut())
            .map_init(init, |scratch, (out, item)| {
                prepare(scratch, item);
                hasher.sign_into(set(item), out)
            })
            .collect();
        Signatures {
            num_perm: p,
            data,
            present,
        }
    }

    /// Signature length.
    pub fn num_perm(&self) -> usize {
        self.num_perm
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.present.len()
    }

    /// True when there are no documents.
    pub fn is_empty(&self) -> bool {
        self.present.is_empty()
    }

    /// Signature of document `i`, `None` when its set was empty or `i` is out of range.
    pub fn get(&self, i: usize) -> Option<&[u32]> {
        if *self.present.get(i)? {
            Some(&self.data[i * self.num_perm..(i + 1) * self.num_perm])
        } else {
            None
        }
    }
}

/// Estimated Jaccard similarity: the fraction of agreeing positions.
pub fn estimate_jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
    eq as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set_of(range: std::ops::Range<u64>) -> Vec<u32> {
        // Spread keys like narrowed xxh3 would, so the hash families see uniform inputs.
        let mut v: Vec<u32> = range
            .map(|i| {
                let mut s = i;
                splitmix64(&mut s) as u32
            })
            .collect();
        v.sort_unstable();
        v
    }

    proptest! {
        #[test]
        fn vector_rounds_match_the_scalar_ones(
            n in 0usize..700,
            start in 0u64..1_000_000,
            num_perm in prop_oneof![Just(1usize), Just(16), Just(64), Just(128), Just(256), Just(300), Just(512), Just(600)],
            seed in any::<u64>(),
        ) {
            // On a CPU with AVX-512, every round of sets of 8 or more shingles (and the tail
            // after the last full vector) takes the vector path; small sets with many bins run
            // many rounds, both kinds of hash.
            let h = Hasher::new(&MinHashConfig {
                num_perm,
                seed,
                ..MinHashConfig::default()
            });
            let set = set_of(start..start + n as u64);
            let (mut wide, mut scalar) = (vec![0u32; num_perm], vec![0u32; num_perm]);
            h.sign_oph_with::<true>(&set, &mut wide);
            h.sign_oph_with::<false>(&set, &mut scalar);
            prop_assert_eq!(&wide, &scalar);
            // What `sign_into` runs (fixed-length rounds where the vector path is not taken).
            prop_assert_eq!(h.sign(&set), (n > 0).then_some(scalar));
        }

        /// The fixed-length rounds, called directly (so also on CPUs whose sets of eight or
        /// more shingles take the vector rounds), against the reference rounds; small sets
        /// with 256 bins run many rounds.
        #[test]
        fn fixed_length_rounds_match_the_reference(
            n in 1usize..500,
            start in 0u64..1_000_000,
            seed in any::<u64>(),
        ) {
            let set = set_of(start..start + n as u64);
            for num_perm in [64usize, 128, 256] {
                let h = Hasher::new(&MinHashConfig { num_perm, seed, ..MinHashConfig::default() });
                let mut reference = vec![0u32; num_perm];
                h.sign_oph_with::<false>(&set, &mut reference);
                let mut got = vec![0u32; num_perm];
                match num_perm {
                    64 => h.sign_oph_fixed::<64>(&set, got.as_mut_slice().try_into().expect("64")),
                    128 => h.sign_oph_fixed::<128>(&set, got.as_mut_slice().try_into().expect("128")),
                    _ => h.sign_oph_fixed::<256>(&set, got.as_mut_slice().try_into().expect("256")),
                }
                prop_assert_eq!(got, reference, "{} bins", num_perm);
            }
        }
    }

    #[test]
    fn empty_set_has_no_signature() {
        let h = Hasher::new(&MinHashConfig::default());
        assert!(h.sign(&[]).is_none());
        let sigs = Signatures::compute(&[vec![], set_of(0..10)], &MinHashConfig::default());
        assert!(sigs.get(0).is_none());
        assert!(sigs.get(1).is_some());
        assert!(sigs.get(2).is_none());
    }

    #[test]
    #[should_panic(expected = "the output holds 127 values, the signature 128")]
    fn sign_into_refuses_an_output_of_another_length() {
        // With a longer output the densification fallback read past its probe table; with a
        // shorter one the bins would be cut: a contract violation, reported as one.
        let h = Hasher::new(&MinHashConfig::default());
        let mut out = vec![0u32; 127];
        h.sign_into(&set_of(0..3), &mut out);
    }

    #[test]
    fn identical_sets_agree_everywhere() {
        let h = Hasher::new(&MinHashConfig::default());
        let s = set_of(0..100);
        let a = h.sign(&s);
        assert_eq!(a, h.sign(&s));
        let a = a.unwrap_or_default();
        assert_eq!(estimate_jaccard(&a, &a), 1.0);
    }

    #[test]
    fn fixed_seed_gives_fixed_values() {
        // Persisted signatures depend on this: the family must never change silently.
        let h = Hasher::new(&MinHashConfig {
            num_perm: 4,
            seed: 42,
            ..MinHashConfig::default()
        });
        let sig = h.sign(&[1, 2, 3]).unwrap_or_default();
        let again = Hasher::new(&MinHashConfig {
            num_perm: 4,
            seed: 42,
            ..MinHashConfig::default()
        })
        .sign(&[3, 2, 1]);
        assert_eq!(Some(sig.clone()), again);
        let other = Hasher::new(&MinHashConfig {
            num_perm: 4,
            seed: 43,
            ..MinHashConfig::default()
        })
        .sign(&[1, 2, 3]);
        assert_ne!(Some(sig), other);
    }

    #[test]
    fn parallel_equals_sequential() {
        for scheme in SCHEMES {
            let cfg = MinHashConfig {
                scheme,
                ..MinHashConfig::default()
            };
            let sets: Vec<Vec<u32>> = (0..200u64).map(|i| set_of(i..i + 50)).collect();
            let par = Signatures::compute(&sets, &cfg);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build();
            if let Ok(pool) = pool {
                let seq = pool.install(|| Signatures::compute(&sets, &cfg));
                assert_eq!(par, seq);
            }
        }
    }

    const SCHEMES: [Scheme; 2] = [Scheme::Oph, Scheme::Classic];

    #[test]
    fn estimate_error_is_within_bound_on_average() {
        for scheme in SCHEMES {
            // J = 1/3 exactly: sets of 200 sharing 100.
            let cfg = MinHashConfig {
                num_perm: 256,
                seed: 9,
                scheme,
            };
            let mut total_err = 0.0;
            let trials = 40;
            for t in 0..trials {
                let base = t * 1000;
                let a = set_of(base..base + 200);
                let b = set_of(base + 100..base + 300);
                let h = Hasher::new(&cfg);
                let (sa, sb) = (
                    h.sign(&a).unwrap_or_default(),
                    h.sign(&b).unwrap_or_default(),
                );
                total_err += (estimate_jaccard(&sa, &sb) - 1.0 / 3.0).abs();
            }
            // Mean absolute error of an unbiased estimate with sd 0.0295 is about 0.0235.
            let mean = total_err / trials as f64;
            assert!(mean < 0.035, "{scheme:?}: mean abs error {mean}");
        }
    }

    #[test]
    fn oph_fills_short_documents_consistently() {
        // 5 shingles into 128 bins: most bins come from later rounds; equal sets still agree
        // everywhere, and disjoint sets agree (almost) nowhere.
        let h = Hasher::new(&MinHashConfig::default());
        let a = set_of(0..5);
        let b = set_of(100..105);
        let (sa, sb) = (
            h.sign(&a).unwrap_or_default(),
            h.sign(&b).unwrap_or_default(),
        );
        assert_eq!(sa.len(), 128);
        assert_eq!(Some(sa.clone()), h.sign(&a));
        assert!(estimate_jaccard(&sa, &sb) < 0.1);
        // One shingle: every bin holds that shingle's earliest hit, all different rounds.
        let one = h.sign(&set_of(7..8)).unwrap_or_default();
        assert!(one.iter().all(|&v| v != EMPTY));
        // Thousands of bins and one shingle run past the round cap and use the fallback.
        let big = Hasher::new(&MinHashConfig {
            num_perm: 4096,
            ..MinHashConfig::default()
        });
        let sig = big.sign(&set_of(7..8)).unwrap_or_default();
        assert!(sig.iter().all(|&v| v != EMPTY));
        assert_eq!(Some(sig), big.sign(&set_of(7..8)));
    }

    proptest! {
        #[test]
        fn estimate_within_five_sigma(overlap in 0u64..200, seed in 0u64..1000, classic in any::<bool>()) {
            let scheme = if classic { Scheme::Classic } else { Scheme::Oph };
            let cfg = MinHashConfig { num_perm: 128, seed, scheme };
            let a = set_of(0..200);
            let b = set_of(200 - overlap..400 - overlap);
            let j = overlap as f64 / (400 - overlap) as f64;
            let h = Hasher::new(&cfg);
            let est = estimate_jaccard(&h.sign(&a).unwrap_or_default(), &h.sign(&b).unwrap_or_default());
            let sd = (j * (1.0 - j) / 128.0).sqrt();
            prop_assert!((est - j).abs() <= 5.0 * sd + 1.0 / 128.0, "j={} est={}", j, est);
        }

        #[test]
        fn order_of_shingles_is_irrelevant(mut v in proptest::collection::vec(any::<u32>(), 1..100)) {
            let h = Hasher::new(&MinHashConfig::default());
            let a = h.sign(&v);
            v.reverse();
            prop_assert_eq!(a, h.sign(&v));
        }
    }
}
