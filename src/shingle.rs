//! Stage 3: shingling.
//!
//! Splits each normalized paragraph into overlapping k-grams (word k-grams by default, character
//! k-grams for text without spaces or with heavy OCR noise) and hashes each one once, kept as
//! its low 32 bits (a [`Shingle`]). A document becomes a sorted, deduplicated
//! `Vec<u32>` of shingle hashes: the set that MinHash sketches and that verification intersects
//! exactly.
//!
//! **Why 32 bits.** The sets are most of the memory of a run (about 360 shingles per generated
//! news article) and are read cold by the sketch, the sort and verification. Two shingles of
//! two compared documents share a 32-bit hash by accident with probability about
//! `|A| |B| / 2^32` per pair (3e-5 for two 400-shingle articles): a rounding error on a
//! similarity, never a match. So by default ([`ShingleHash::Fold32`]) a word window is mixed in
//! 32 bits from the low 32 bits of its word hashes ([`combine32`]): the same chance of two
//! windows sharing a value, and native 32-bit vector multiplies. Indexes and shards written
//! before that mixed windows in 64 bits and narrowed the result ([`ShingleHash::Fold`]); they
//! keep their own hash.
//!
//! Shingles never cross a paragraph break. Scrapers insert repeated headlines, photo captions and
//! ads *between* paragraphs; with paragraph-bounded shingles such an insertion adds its own
//! shingles but destroys none of the story's. A paragraph shorter than k words is one shingle.
//!
//! Each word is hashed once; a word shingle's hash is an order-sensitive mix of its k word
//! hashes, so the bytes of a paragraph are read once whatever k is, and no string is built per
//! shingle. Character shingles hash their byte slice in place. The hashes are seeded and fixed
//! (not per-process random), so shingle sets and everything derived from them are reproducible
//! across runs and machines.
//!
//! **The word hash** ([`ShingleHash`]) is by default [`fold_hash`]: a word of up to sixteen
//! bytes (all but a handful in a million in news text) is read as two zero-padded `u64` halves
//! (from the normalizer's padded buffer: one sixteen-byte load and a mask), multiplied once into
//! 128 bits and finalized, with no branch on its length. Seeded xxh3-64, which index and shard
//! files of format 1 and 2 used and which stays selectable for them, has three formulas for
//! inputs up to sixteen bytes; word lengths in running text defeat the branch predictor, and on
//! the generated benchmark corpus the fold hash takes 2.0 ns a word against xxh3's 5.0 (one
//! thread, words of 1,000 articles in cache), 9% of a whole run's CPU time.
//!
//! Cost: O(bytes) per document; buffers reused across paragraphs and documents (a
//! [`Scratch`]); with the word ends the normalizer recorded
//! ([`shingle_normalized_paragraph`]), words are hashed in place without a second scan. The
//! pipeline sorts each story set once, by a counting sort on the hashes' top bits. The 32-bit
//! mix takes sixteen windows per vector with AVX-512 (F and DQ) and eight with AVX2 (detected
//! at run time), each multiply one instruction; with AVX2 on a Zen 3 EPYC (no AVX-512) a
//! 100k-document run took 3.7% fewer instructions and 2.7% fewer cycles than with the 64-bit
//! mix (median of 7 alternating runs), whose four lanes build each 64-bit product from three
//! 32-bit ones. The 64-bit mix (older files) takes
//! eight windows at once with AVX-512 (F and DQ), four with AVX2; the same values as its scalar
//! form, as the 32-bit kernel gives [`combine32`]'s. Verification
//! counts the common shingles of two story sets by vector compares of blocks of sixteen (AVX-512)
//! or eight (AVX2) values instead of a merge whose every step waits on the last compare: on the
//! same Zen 3, 4.4% -> 2.3% of the run's cycles.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::normalize::Paragraph;

/// What a shingle is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShingleKind {
    /// k consecutive words.
    Words,
    /// k consecutive characters (spaces included), for unsegmented scripts and OCR-damaged text.
    Chars,
}

/// How the bytes of a word (or of a character shingle) are hashed. Part of what a saved
/// index or shard was built with: a document added to one must be hashed as its documents
/// were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShingleHash {
    /// Seeded xxh3-64 of the bytes. What index and shard files of format 1 and 2 hold.
    Xxh3,
    /// [`fold_hash`]: up to sixteen bytes, one 64 x 64 -> 128-bit multiply of the two
    /// zero-padded halves, folded and finalized; longer inputs, xxh3-64. About 2.5 times
    /// faster than xxh3 on words, which branches on the length (three formulas for up to
    /// sixteen bytes) and so mispredicts on most words of running text. Word windows are mixed
    /// in 64 bits. What index and shard files written before `Fold32` hold.
    Fold,
    /// Words hashed as by `Fold`, kept as their low 32 bits, and word windows mixed in 32 bits
    /// ([`combine32`]): a stored shingle is 32 bits either way, and 32-bit lanes take native
    /// vector multiplies (eight windows per AVX2 instruction, where 64-bit products need three
    /// 32-bit ones for four). Character shingles are hashed exactly as by `Fold`.
    #[default]
    Fold32,
}

/// How documents are cut into shingles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShingleConfig {
    pub kind: ShingleKind,
    /// Shingle length in words or characters (at least 1).
    pub k: usize,
    /// Seed of the shingle hash.
    pub seed: u64,
    /// The hash of a word's (or a character shingle's) bytes.
    pub hash: ShingleHash,
}

impl Default for ShingleConfig {
    fn default() -> Self {
        ShingleConfig {
            kind: ShingleKind::Words,
            k: 3,
            seed: 0x5749_5245_4455_5031, // "WIREDUP1"
            hash: ShingleHash::default(),
        }
    }
}

impl ShingleHash {
    /// Its byte in index and shard files (format 3 on).
    pub(crate) fn byte(self) -> u8 {
        match self {
            ShingleHash::Xxh3 => 0,
            ShingleHash::Fold => 1,
            ShingleHash::Fold32 => 2,
        }
    }

    /// The hash an index or shard file of format `version` was written with: versions 1 and 2
    /// hashed words with xxh3 and have no byte for it; later ones store [`ShingleHash::byte`],
    /// which `next` reads.
    pub(crate) fn of_file(
        version: u32,
        next: impl FnOnce() -> Result<u8, crate::framed::ReadFail>,
    ) -> Result<ShingleHash, crate::framed::ReadFail> {
        if version < 3 {
            return Ok(ShingleHash::Xxh3);
        }
        match next()? {
            0 => Ok(ShingleHash::Xxh3),
            1 => Ok(ShingleHash::Fold),
            2 => Ok(ShingleHash::Fold32),
            v => crate::framed::bad(format!("unknown shingle hash {v}")),
        }
    }
}

impl ShingleConfig {
    /// The hash of a word's (or a character shingle's) bytes under this configuration.
    #[inline]
    pub fn hash_bytes(&self, bytes: &[u8]) -> u64 {
        match self.hash {
            ShingleHash::Xxh3 => xxh3_64_with_seed(bytes, self.seed),
            ShingleHash::Fold | ShingleHash::Fold32 => fold_hash(bytes, self.seed),
        }
    }

    /// The 32-bit seed of [`combine32`]: both halves of the 64-bit seed, folded.
    fn seed32(&self) -> u32 {
        (self.seed ^ (self.seed >> 32)) as u32
    }
}

/// The [`ShingleHash::Fold`] hash of `bytes`: inputs of up to sixteen bytes are read as two
/// little-endian `u64` halves, zero-padded, each xor'd with a key (the first with the seed,
/// the second with the length, so trailing zero bytes still count), multiplied into 128 bits,
/// the halves of the product xor'd (as wyhash's short-input path does) and the result
/// finalized with a xor-shift-multiply; longer inputs take seeded xxh3-64. One multiply and no
/// branch on the length for every word of ordinary text.
///
/// Quirk (as with wyhash): a half equal to its key zeroes the product, so all inputs sharing
/// that half would share a hash. With the default seed the first half's key starts with byte
/// 0x89, a UTF-8 continuation byte, which no word of normalized (valid UTF-8) text starts with;
/// and no second half of a UTF-8 word equals its key mixed with the length (checked for every
/// length: that value has a nonzero byte where the half is zero-padded, or at 16 bytes a 0xFF
/// byte). A seed chosen by hand could make one 8-byte word prefix such a half: words with that
/// prefix would then look alike.
#[inline]
pub fn fold_hash(bytes: &[u8], seed: u64) -> u64 {
    if bytes.len() > 16 {
        return xxh3_64_with_seed(bytes, seed);
    }
    let (lo, hi) = load16(bytes);
    fold16(lo, hi, bytes.len(), seed)
}

/// [`fold_hash`] of `buf[start..start + len]` where at least sixteen bytes of `buf` follow
/// `start` (a normalizer's padded text, [`crate::normalize::Paragraph::padded`]): one
/// fixed-size load, the bytes past `len` masked off.
#[inline]
pub fn fold_hash_padded(buf: &[u8], start: usize, len: usize, seed: u64) -> u64 {
    match buf.get(start..start + 16) {
        Some(b) if len <= 16 => {
            let (lo, hi) = b.split_at(8);
            let lo = u64::from_le_bytes(lo.try_into().unwrap_or_default()) & LOW_MASK[len];
            let hi = u64::from_le_bytes(hi.try_into().unwrap_or_default()) & HIGH_MASK[len];
            fold16(lo, hi, len, seed)
        }
        _ => fold_hash(&buf[start..start + len], seed),
    }
}

/// The two little-endian halves of up to sixteen bytes, zero-padded, read without a copy
/// (overlapping loads, as xxh3 reads short inputs).
#[inline]
fn load16(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    match n {
        0 => (0, 0),
        // The middle byte or the last one may be the first: or-ing a byte into its own
        // place twice changes nothing.
        1..=3 => {
            let v = u64::from(b[0])
                | u64::from(b[n / 2]) << (8 * (n / 2))
                | u64::from(b[n - 1]) << (8 * (n - 1));
            (v, 0)
        }
        4..=8 => (u32_at(0) | u32_at(n - 4) << (8 * (n - 4)), 0),
        _ => (u64_at(0), u64_at(n - 8) >> (8 * (16 - n))),
    }
}

/// The keys and finalizer of [`fold_hash`] (the first two xxh3's default secret's opening
/// words; any odd-looking constants would do).
const FOLD_KEY_LO: u64 = 0xBE4B_A423_396C_FEB8;
const FOLD_KEY_HI: u64 = 0x1CAD_21F7_2C81_017C;

#[inline]
fn fold16(lo: u64, hi: u64, len: usize, seed: u64) -> u64 {
    let a = lo ^ FOLD_KEY_LO ^ seed;
    let b = hi ^ HIGH_KEY[len];
    let p = u128::from(a) * u128::from(b);
    let h = (p as u64) ^ ((p >> 64) as u64);
    let h = (h ^ (h >> 29)).wrapping_mul(FINAL_2);
    h ^ (h >> 32)
}

/// The second half's key of [`fold16`] by length, `FOLD_KEY_HI ^ len * MIX`: a load instead
/// of a multiply per word (2.4% fewer instructions preparing the generated news corpus).
const HIGH_KEY: [u64; 17] = {
    let mut k = [0u64; 17];
    let mut len = 0;
    while len <= 16 {
        k[len] = FOLD_KEY_HI ^ (len as u64).wrapping_mul(MIX);
        len += 1;
    }
    k
};

/// Byte masks of the first and second eight bytes of a sixteen-byte load, by length.
const LOW_MASK: [u64; 17] = masks(0);
const HIGH_MASK: [u64; 17] = masks(8);

const fn masks(skip: usize) -> [u64; 17] {
    let mut m = [0u64; 17];
    let mut len = 0;
    while len <= 16 {
        let bytes = if len <= skip {
            0
        } else if len - skip >= 8 {
            8
        } else {
            len - skip
        };
        m[len] = if bytes == 0 {
            0
        } else {
            u64::MAX >> (64 - 8 * bytes)
        };
        len += 1;
    }
    m
}

/// A shingle as stored in sets: the low 32 bits of its 64-bit hash (see the module docs).
pub type Shingle = u32;

/// The stored form of a 64-bit shingle hash. Also how a 64-bit set of an older index or shard
/// is read.
#[inline]
pub fn narrow(h: u64) -> Shingle {
    h as u32
}

/// Reusable buffers, so shingling a document allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Scratch {
    offsets: Vec<u32>,
    word_hashes: Vec<u64>,
    /// The words' hashes under [`ShingleHash::Fold32`].
    word_hashes32: Vec<u32>,
}

/// Order-sensitive mix of word hashes into one shingle hash (a multiply-rotate chain closed by
/// a 64-bit finalizer), so `a b c` and `c b a` differ.
#[inline]
fn combine(words: &[u64], seed: u64) -> u64 {
    let mut acc = seed;
    for &w in words {
        acc = (acc ^ w).wrapping_mul(MIX).rotate_left(27);
    }
    acc ^= acc >> 31;
    acc = acc.wrapping_mul(FINAL_1);
    acc ^= acc >> 29;
    acc = acc.wrapping_mul(FINAL_2);
    acc ^ (acc >> 32)
}

/// The multipliers of [`combine`]: the chain's, then the finalizer's two.
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
const FINAL_1: u64 = 0xBF58_476D_1CE4_E5B9;
const FINAL_2: u64 = 0x94D0_49BB_1331_11EB;

/// The 64-bit word-window mix (`combine`) in 32 bits, for [`ShingleHash::Fold32`]: the same
/// order-sensitive multiply-rotate chain over 32-bit word hashes (MurmurHash3's block step),
/// closed by MurmurHash3's 32-bit finalizer. Each step is a bijection of the state for a given
/// word, so two windows that differ only in their last word never collide; otherwise two
/// windows share a value with probability about 2^-32, as their 64-bit mixes narrowed to 32
/// bits did.
#[inline]
pub fn combine32(words: &[u32], seed: u32) -> u32 {
    let mut acc = seed;
    for &w in words {
        acc = (acc ^ w).wrapping_mul(MIX32).rotate_left(ROT32);
    }
    fmix32(acc)
}

/// MurmurHash3's 32-bit finalizer (every input bit affects every output bit).
#[inline]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(FMIX32_1);
    h ^= h >> 13;
    h = h.wrapping_mul(FMIX32_2);
    h ^ (h >> 16)
}

/// The constants of [`combine32`]: MurmurHash3's block multiplier and rotation, and its
/// finalizer's two multipliers.
const MIX32: u32 = 0xCC9E_2D51;
const ROT32: u32 = 15;
const FMIX32_1: u32 = 0x85EB_CA6B;
const FMIX32_2: u32 = 0xC2B2_AE35;

/// Hash of a whole normalized paragraph, used for boilerplate learning and exact-paragraph
/// candidate generation. Independent of the shingle hash by construction (different seed).
pub fn paragraph_hash(paragraph: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(paragraph.as_bytes(), seed ^ 0x9E37_79B9_7F4A_7C15)
}

/// What shingling learned about a paragraph on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParagraphFacts {
    /// Words in the paragraph.
    pub words: u32,
    /// Hash of the whole paragraph (equal paragraphs, equal hashes), seeded independently of
    /// the shingle hashes. Same value as [`paragraph_hash`].
    pub hash: u64,
}

/// Appends the shingle hashes of one normalized paragraph to `out` (unsorted, may repeat) and
/// returns its word count and hash, computed in the same pass.
pub fn shingle_paragraph_facts(
    para: &str,
    cfg: &ShingleConfig,
    scratch: &mut Scratch,
    out: &mut Vec<Shingle>,
) -> ParagraphFacts {
    shingle_paragraph(para, cfg, scratch, out);
    // Counted from the text, whatever the shingles were made of (this is not the hot path).
    let words = if para.is_empty() {
        0
    } else {
        memchr::memchr_iter(b' ', para.as_bytes()).count() as u32 + 1
    };
    ParagraphFacts {
        words,
        hash: paragraph_hash(para, cfg.seed),
    }
}

/// [`shingle_paragraph_facts`] for a paragraph whose word boundaries the normalizer already
/// recorded: word shingles hash the words in place without scanning for spaces. Same hashes,
/// same facts.
pub fn shingle_normalized_paragraph(
    para: &Paragraph<'_>,
    cfg: &ShingleConfig,
    scratch: &mut Scratch,
    out: &mut Vec<Shingle>,
) -> ParagraphFacts {
    if cfg.kind != ShingleKind::Words {
        return shingle_paragraph_facts(para.text, cfg, scratch, out);
    }
    let buf = para.padded();
    let count = if cfg.hash == ShingleHash::Fold32 {
        let words = &mut scratch.word_hashes32;
        words.clear();
        let hash = |(start, len)| narrow(fold_hash_padded(buf, start, len, cfg.seed));
        words.extend(para.word_spans().map(hash));
        push_word_shingles32(words, cfg, out);
        words.len()
    } else {
        let words = &mut scratch.word_hashes;
        words.clear();
        if cfg.hash == ShingleHash::Xxh3 {
            words.extend(para.words().map(|w| xxh3_64_with_seed(w, cfg.seed)));
        } else {
            let hash = |(start, len)| fold_hash_padded(buf, start, len, cfg.seed);
            words.extend(para.word_spans().map(hash));
        }
        push_word_shingles(words, cfg, out);
        words.len()
    };
    ParagraphFacts {
        words: count as u32,
        hash: paragraph_hash(para.text, cfg.seed),
    }
}

/// [`push_word_shingles`] for [`ShingleHash::Fold32`]: 32-bit word hashes, [`combine32`].
#[inline]
fn push_word_shingles32(words: &[u32], cfg: &ShingleConfig, out: &mut Vec<Shingle>) {
    let k = cfg.k.max(1);
    let seed = cfg.seed32();
    if words.is_empty() {
        return;
    }
    if words.len() <= k {
        out.push(combine32(words, seed));
        return;
    }
    let start = out.len();
    out.resize(start + words.len() - k + 1, 0);
    let windows = &mut out[start..];
    #[cfg(target_arch = "x86_64")]
    let done = if windows.len() >= wide::LANES32_AVX512 && wide::available() {
        wide::combine32_avx512(words, k, seed, windows)
    } else if windows.len() >= wide::LANES32 && wide::avx2() {
        wide::combine32_avx2(words, k, seed, windows)
    } else {
        0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (i, o) in windows.iter_mut().enumerate().skip(done) {
        *o = combine32(&words[i..i + k], seed);
    }
}

/// Appends the shingles of one paragraph's word hashes: its k-word windows, or one shingle
/// when it has at most k words.
#[inline]
fn push_word_shingles(words: &[u64], cfg: &ShingleConfig, out: &mut Vec<Shingle>) {
    let k = cfg.k.max(1);
    if words.is_empty() {
        return;
    }
    if words.len() <= k {
        out.push(narrow(combine(words, cfg.seed)));
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(kernel) = wide::combine_kernel(words.len() - k + 1) {
        let start = out.len();
        out.resize(start + words.len() - k + 1, 0);
        let windows = &mut out[start..];
        let done = kernel(words, k, cfg.seed, windows);
        for (i, o) in windows.iter_mut().enumerate().skip(done) {
            *o = narrow(combine(&words[i..i + k], cfg.seed));
        }
        return;
    }
    out.extend(words.windows(k).map(|w| narrow(combine(w, cfg.seed))));
}

/// Vector kernels for x86-64, each chosen at run time where the CPU has its features: with
/// AVX-512, [`combine`] for eight windows at a time (64-bit multiplies in vector lanes),
/// [`combine32`] for sixteen, and the sixteen-value intersection blocks; with AVX2 only, four
/// and eight windows and eight-value blocks.
///
/// In the window mix, window `i`'s word `j` is `words[i + j]`, so the j-th words of eight
/// consecutive windows are eight consecutive word hashes: one unaligned load, no gather. The
/// mix is a chain of k multiplies per shingle; eight chains run side by side where the scalar
/// loop has only the out-of-order window to overlap them. Same values, bit for bit (tested
/// against the scalar `combine`).
#[cfg(target_arch = "x86_64")]
pub(crate) mod wide {
    use std::arch::x86_64::*;

    /// Windows per vector.
    pub const LANES: usize = 8;
    /// Set values per block of [`intersect_blocks`] (32-bit shingles).
    pub const BLOCK: usize = 16;

    /// Whether this CPU has AVX-512F and AVX-512DQ, which [`combine_windows`] (and the sketch's
    /// vector rounds) use; cached by the standard library.
    #[inline]
    pub(crate) fn available() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq")
    }

    /// A window-mix kernel: writes the first windows' shingle hashes, returns how many.
    pub type CombineKernel = fn(&[u64], usize, u64, &mut [u32]) -> usize;

    /// The fastest window-mix kernel this CPU has for `windows` windows, if any fills a
    /// vector: eight lanes with AVX-512, else four with AVX2.
    #[inline]
    pub fn combine_kernel(windows: usize) -> Option<CombineKernel> {
        if windows >= LANES && available() {
            Some(combine_windows)
        } else if windows >= 4 && avx2() {
            Some(combine_windows_avx2)
        } else {
            None
        }
    }

    /// A block-intersection kernel: the count over the blocks it walked, and where it stopped.
    pub type IntersectKernel = fn(&[u32], &[u32]) -> (usize, usize, usize);

    /// The fastest block-intersection kernel this CPU has for sets whose smaller one holds
    /// `len` values, if the sets are long enough for blocks to pay: sixteen-value blocks with
    /// AVX-512, else eight with AVX2.
    #[inline]
    pub fn intersect_kernel(len: usize) -> Option<IntersectKernel> {
        if len >= 2 * BLOCK && available() {
            Some(intersect_blocks)
        } else if len >= 2 * BLOCK_AVX2 && avx2() {
            Some(intersect_blocks_avx2)
        } else {
            None
        }
    }

    /// Writes the shingle hashes of windows `0..8m` (`m = out.len() / 8`) of `words` into
    /// `out`; returns `8m`. Needs `out.len() == words.len() - k + 1` and [`available`].
    pub fn combine_windows(words: &[u64], k: usize, seed: u64, out: &mut [u32]) -> usize {
        assert!(available() && k >= 1 && out.len() + k == words.len() + 1);
        // SAFETY: the CPU has AVX-512F and AVX-512DQ (asserted just above).
        unsafe { combine_windows_avx512(words, k, seed, out) }
    }

    /// Counts the common values of two sorted, deduplicated sets sixteen by sixteen: a block of
    /// `a` against each value of the current block of `b` (sixteen compares into one mask), then
    /// the block with the smaller last value moves on (both when equal). A common value sits in
    /// one block of each set, and those two blocks are current together exactly once, so it is
    /// counted once. Returns where the blocks stopped and the count so far; the caller merges
    /// the rest.
    pub fn intersect_blocks(a: &[u32], b: &[u32]) -> (usize, usize, usize) {
        assert!(available());
        // SAFETY: the CPU has AVX-512F and AVX-512DQ (asserted just above).
        unsafe { intersect_blocks_avx512(a, b) }
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    fn intersect_blocks_avx512(a: &[u32], b: &[u32]) -> (usize, usize, usize) {
        let (mut i, mut j, mut n) = (0usize, 0usize, 0usize);
        while i + BLOCK <= a.len() && j + BLOCK <= b.len() {
            let (ba, bb) = (&a[i..i + BLOCK], &b[j..j + BLOCK]);
            // SAFETY: `ba` is sixteen u32s; the load is unaligned.
            let va = unsafe { _mm512_loadu_epi32(ba.as_ptr().cast()) };
            let mut hit: __mmask16 = 0;
            for &y in bb {
                hit |= _mm512_cmpeq_epu32_mask(va, _mm512_set1_epi32(y as i32));
            }
            n += hit.count_ones() as usize;
            let (la, lb) = (ba[BLOCK - 1], bb[BLOCK - 1]);
            i += usize::from(la <= lb) * BLOCK;
            j += usize::from(lb <= la) * BLOCK;
        }
        (i, j, n)
    }

    /// Set values per block of [`intersect_blocks_avx2`].
    pub const BLOCK_AVX2: usize = 8;

    /// Whether this CPU has AVX2 (x86-64 server CPUs since 2013 have it, many of them without
    /// AVX-512), for the kernels of CPUs without AVX-512; cached by the standard library.
    #[inline]
    pub(crate) fn avx2() -> bool {
        is_x86_feature_detected!("avx2")
    }

    /// [`intersect_blocks`] eight by eight with AVX2, for CPUs without AVX-512: the same walk,
    /// a block of `a` against the eight values of the current block of `b` (each broadcast
    /// and compared; the lane mask counted).
    pub fn intersect_blocks_avx2(a: &[u32], b: &[u32]) -> (usize, usize, usize) {
        assert!(avx2());
        // SAFETY: the CPU has AVX2 (asserted just above).
        unsafe { intersect_blocks_avx2_impl(a, b) }
    }

    #[target_feature(enable = "avx2")]
    fn intersect_blocks_avx2_impl(a: &[u32], b: &[u32]) -> (usize, usize, usize) {
        const B: usize = BLOCK_AVX2;
        let (mut i, mut j, mut n) = (0usize, 0usize, 0usize);
        while i + B <= a.len() && j + B <= b.len() {
            let (ba, bb) = (&a[i..i + B], &b[j..j + B]);
            // SAFETY: `ba` is eight u32s; the load is unaligned.
            let va = unsafe { _mm256_loadu_si256(ba.as_ptr().cast()) };
            let mut hit = _mm256_setzero_si256();
            for &y in bb {
                hit = _mm256_or_si256(hit, _mm256_cmpeq_epi32(va, _mm256_set1_epi32(y as i32)));
            }
            n += _mm256_movemask_ps(_mm256_castsi256_ps(hit)).count_ones() as usize;
            let (la, lb) = (ba[B - 1], bb[B - 1]);
            i += usize::from(la <= lb) * B;
            j += usize::from(lb <= la) * B;
        }
        (i, j, n)
    }

    /// [`combine_windows`] four windows at a time with AVX2, for CPUs without AVX-512; AVX2
    /// has no 64-bit lane multiply, so each is built from three 32 x 32 -> 64-bit products.
    /// Writes windows `0..4m` (`m = out.len() / 4`) and returns `4m`. Needs
    /// `out.len() == words.len() - k + 1` and [`avx2`].
    pub fn combine_windows_avx2(words: &[u64], k: usize, seed: u64, out: &mut [u32]) -> usize {
        assert!(avx2() && k >= 1 && out.len() + k == words.len() + 1);
        // SAFETY: the CPU has AVX2 (asserted just above).
        unsafe { combine_windows_avx2_impl(words, k, seed, out) }
    }

    /// `a * c mod 2^64` per 64-bit lane for a constant `c`, from its halves `(lo(c), hi(c))`
    /// in every lane: `lo(a) lo(c) + (hi(a) lo(c) + lo(a) hi(c)) << 32`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mullo64_avx2(a: __m256i, c: (__m256i, __m256i)) -> __m256i {
        let low = _mm256_mul_epu32(a, c.0);
        let cross = _mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), c.0),
            _mm256_mul_epu32(a, c.1),
        );
        _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
    }

    /// A constant as the operand of [`mullo64_avx2`].
    #[inline]
    #[target_feature(enable = "avx2")]
    fn halves(c: u64) -> (__m256i, __m256i) {
        (
            _mm256_set1_epi64x((c & 0xFFFF_FFFF) as i64),
            _mm256_set1_epi64x((c >> 32) as i64),
        )
    }

    /// Windows per vector of [`combine32_avx2`].
    pub const LANES32: usize = 8;

    /// [`super::combine32`] for every window of `words`, eight windows per vector (32-bit
    /// lanes: native multiplies); returns `out.len()`. A last, partial vector is the last eight
    /// windows, overlapping ones already written (they are written again with the same
    /// values): the scalar loop that finished up to seven windows per paragraph was 1.6% of a
    /// 100k-document run's samples. Needs `out.len() == words.len() - k + 1 >= 8` and
    /// [`avx2`].
    pub fn combine32_avx2(words: &[u32], k: usize, seed: u32, out: &mut [u32]) -> usize {
        assert!(avx2() && k >= 1 && out.len() + k == words.len() + 1 && out.len() >= LANES32);
        // SAFETY: the CPU has AVX2 (asserted just above).
        unsafe { combine32_avx2_impl(words, k, seed, out) }
    }

    #[target_feature(enable = "avx2")]
    fn combine32_avx2_impl(words: &[u32], k: usize, seed: u32, out: &mut [u32]) -> usize {
        const L: usize = LANES32;
        let full = out.len() / L * L;
        let c = _mm256_set1_epi32(super::MIX32 as i32);
        let (f1, f2) = (
            _mm256_set1_epi32(super::FMIX32_1 as i32),
            _mm256_set1_epi32(super::FMIX32_2 as i32),
        );
        const R: i32 = super::ROT32 as i32;
        let starts = (0..full)
            .step_by(L)
            .chain((full < out.len()).then(|| out.len() - L));
        for i in starts {
            let dst = &mut out[i..i + L];
            let mut acc = _mm256_set1_epi32(seed as i32);
            for j in 0..k {
                // Word j of windows i..i + 8; in bounds: i + 7 is a window, so i + 7 + j < len.
                let w = &words[i + j..i + j + L];
                // SAFETY: `w` is eight initialized u32s; the load is unaligned.
                let w = unsafe { _mm256_loadu_si256(w.as_ptr().cast()) };
                let m = _mm256_mullo_epi32(_mm256_xor_si256(acc, w), c);
                acc = _mm256_or_si256(
                    _mm256_slli_epi32::<R>(m),
                    _mm256_srli_epi32::<{ 32 - R }>(m),
                );
            }
            acc = _mm256_xor_si256(acc, _mm256_srli_epi32::<16>(acc));
            acc = _mm256_mullo_epi32(acc, f1);
            acc = _mm256_xor_si256(acc, _mm256_srli_epi32::<13>(acc));
            acc = _mm256_mullo_epi32(acc, f2);
            acc = _mm256_xor_si256(acc, _mm256_srli_epi32::<16>(acc));
            // SAFETY: `dst` is eight u32s to write; the store is unaligned.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), acc) };
        }
        out.len()
    }

    /// Windows per vector of [`combine32_avx512`].
    pub const LANES32_AVX512: usize = 16;

    /// [`combine32_avx2`] sixteen windows per vector, with AVX-512's lane rotate: the same
    /// values, the same overlapping last vector. Paragraphs of 21-50 random words, one thread,
    /// best of 30 interleaved rounds: 1.49-1.59 -> 0.86-0.91 ns per window (the eight-lane
    /// kernel was 3.2% of a 100k-document run's samples on that CPU). Needs
    /// `out.len() == words.len() - k + 1 >= 16` and [`available`].
    pub fn combine32_avx512(words: &[u32], k: usize, seed: u32, out: &mut [u32]) -> usize {
        assert!(
            available()
                && k >= 1
                && out.len() + k == words.len() + 1
                && out.len() >= LANES32_AVX512
        );
        // SAFETY: the CPU has AVX-512F (asserted just above).
        unsafe { combine32_avx512_impl(words, k, seed, out) }
    }

    #[target_feature(enable = "avx512f")]
    fn combine32_avx512_impl(words: &[u32], k: usize, seed: u32, out: &mut [u32]) -> usize {
        const L: usize = LANES32_AVX512;
        let full = out.len() / L * L;
        let c = _mm512_set1_epi32(super::MIX32 as i32);
        let (f1, f2) = (
            _mm512_set1_epi32(super::FMIX32_1 as i32),
            _mm512_set1_epi32(super::FMIX32_2 as i32),
        );
        const R: u32 = super::ROT32;
        let starts = (0..full)
            .step_by(L)
            .chain((full < out.len()).then(|| out.len() - L));
        for i in starts {
            let dst = &mut out[i..i + L];
            let mut acc = _mm512_set1_epi32(seed as i32);
            for j in 0..k {
                // Word j of windows i..i + 16; in bounds: i + 15 is a window.
                let w = &words[i + j..i + j + L];
                // SAFETY: `w` is sixteen initialized u32s; the load is unaligned.
                let w = unsafe { _mm512_loadu_epi32(w.as_ptr().cast()) };
                let m = _mm512_mullo_epi32(_mm512_xor_si512(acc, w), c);
                acc = _mm512_rol_epi32::<{ R as i32 }>(m);
            }
            acc = _mm512_xor_si512(acc, _mm512_srli_epi32::<16>(acc));
            acc = _mm512_mullo_epi32(acc, f1);
            acc = _mm512_xor_si512(acc, _mm512_srli_epi32::<13>(acc));
            acc = _mm512_mullo_epi32(acc, f2);
            acc = _mm512_xor_si512(acc, _mm512_srli_epi32::<16>(acc));
            // SAFETY: `dst` is sixteen u32s to write; the store is unaligned.
            unsafe { _mm512_storeu_epi32(dst.as_mut_ptr().cast(), acc) };
        }
        out.len()
    }

    #[target_feature(enable = "avx2")]
    fn combine_windows_avx2_impl(words: &[u64], k: usize, seed: u64, out: &mut [u32]) -> usize {
        const L: usize = 4;
        let full = out.len() / L * L;
        let (c, f1, f2) = (
            halves(super::MIX),
            halves(super::FINAL_1),
            halves(super::FINAL_2),
        );
        for (b, dst) in out[..full].chunks_exact_mut(L).enumerate() {
            let i = b * L;
            let mut acc = _mm256_set1_epi64x(seed as i64);
            for j in 0..k {
                // Word j of windows i..i + 4; in bounds: i + 3 is a window, so i + 3 + j < len.
                let w = &words[i + j..i + j + L];
                // SAFETY: `w` is four initialized u64s; the load is unaligned.
                let w = unsafe { _mm256_loadu_si256(w.as_ptr().cast()) };
                let m = mullo64_avx2(_mm256_xor_si256(acc, w), c);
                acc = _mm256_or_si256(_mm256_slli_epi64::<27>(m), _mm256_srli_epi64::<37>(m));
            }
            acc = _mm256_xor_si256(acc, _mm256_srli_epi64::<31>(acc));
            acc = mullo64_avx2(acc, f1);
            acc = _mm256_xor_si256(acc, _mm256_srli_epi64::<29>(acc));
            acc = mullo64_avx2(acc, f2);
            acc = _mm256_xor_si256(acc, _mm256_srli_epi64::<32>(acc));
            // The low 32 bits of each lane, as `narrow` keeps them: the even 32-bit lanes.
            let narrow =
                _mm256_permutevar8x32_epi32(acc, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
            // SAFETY: `dst` is four u32s to write; the store is unaligned.
            unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm256_castsi256_si128(narrow)) };
        }
        full
    }

    #[target_feature(enable = "avx512f,avx512dq")]
    fn combine_windows_avx512(words: &[u64], k: usize, seed: u64, out: &mut [u32]) -> usize {
        let full = out.len() / LANES * LANES;
        let c = _mm512_set1_epi64(super::MIX as i64);
        let f1 = _mm512_set1_epi64(super::FINAL_1 as i64);
        let f2 = _mm512_set1_epi64(super::FINAL_2 as i64);
        for (b, dst) in out[..full].chunks_exact_mut(LANES).enumerate() {
            let i = b * LANES;
            let mut acc = _mm512_set1_epi64(seed as i64);
            for j in 0..k {
                // Word j of windows i..i + 8; in bounds: i + 7 is a window, so i + 7 + j < len.
                let w = &words[i + j..i + j + LANES];
                // SAFETY: `w` is eight initialized u64s; the load is unaligned.
                let w = unsafe { _mm512_loadu_epi64(w.as_ptr().cast()) };
                acc = _mm512_rol_epi64::<27>(_mm512_mullo_epi64(_mm512_xor_si512(acc, w), c));
            }
            acc = _mm512_xor_si512(acc, _mm512_srli_epi64::<31>(acc));
            acc = _mm512_mullo_epi64(acc, f1);
            acc = _mm512_xor_si512(acc, _mm512_srli_epi64::<29>(acc));
            acc = _mm512_mullo_epi64(acc, f2);
            acc = _mm512_xor_si512(acc, _mm512_srli_epi64::<32>(acc));
            // The low 32 bits of each lane, as `narrow` keeps them.
            let narrow = _mm512_cvtepi64_epi32(acc);
            // SAFETY: `dst` is eight u32s to write; the store is unaligned.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), narrow) };
        }
        full
    }
}

/// Appends the shingle hashes of one normalized paragraph to `out` (unsorted, may repeat).
pub fn shingle_paragraph(
    para: &str,
    cfg: &ShingleConfig,
    scratch: &mut Scratch,
    out: &mut Vec<Shingle>,
) {
    scratch.word_hashes.clear();
    if para.is_empty() {
        return;
    }
    let k = cfg.k.max(1);
    let bytes = para.as_bytes();
    let offsets = &mut scratch.offsets;
    offsets.clear();
    match cfg.kind {
        ShingleKind::Words => {
            // Each word is hashed once; a shingle's hash mixes its k word hashes in order.
            let words = bytes.split(|&b| b == b' ');
            if cfg.hash == ShingleHash::Fold32 {
                let hashes = &mut scratch.word_hashes32;
                hashes.clear();
                hashes.extend(words.map(|w| narrow(cfg.hash_bytes(w))));
                push_word_shingles32(hashes, cfg, out);
            } else {
                let hashes = &mut scratch.word_hashes;
                hashes.clear();
                hashes.extend(words.map(|w| cfg.hash_bytes(w)));
                push_word_shingles(hashes, cfg, out);
            }
        }
        ShingleKind::Chars => {
            offsets.extend(para.char_indices().map(|(i, _)| i as u32));
            let n = offsets.len();
            if n <= k {
                out.push(narrow(cfg.hash_bytes(bytes)));
                return;
            }
            for i in 0..=n - k {
                let start = offsets[i] as usize;
                let end = if i + k < n {
                    offsets[i + k] as usize
                } else {
                    bytes.len()
                };
                out.push(narrow(cfg.hash_bytes(&bytes[start..end])));
            }
        }
    }
}

/// Sorts and deduplicates a shingle buffer into a set.
pub fn into_set(mut v: Vec<Shingle>) -> Vec<Shingle> {
    v.sort_unstable();
    v.dedup();
    v
}

/// The shingle set of a sequence of normalized paragraphs.
pub fn shingle_set<'a>(
    paragraphs: impl Iterator<Item = &'a str>,
    cfg: &ShingleConfig,
    scratch: &mut Scratch,
) -> Vec<Shingle> {
    let mut out = Vec::new();
    for p in paragraphs {
        shingle_paragraph(p, cfg, scratch, &mut out);
    }
    into_set(out)
}

/// Size of the intersection of two sorted, deduplicated sets (linear merge; on CPUs with
/// AVX-512, blocks of sixteen compared at once first, the merge finishing).
///
/// Branch-free steps: which side advances depends on data the branch predictor cannot guess
/// (about half the steps go each way), so both indices advance by comparison results instead.
pub fn intersection_size(a: &[Shingle], b: &[Shingle]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Some(kernel) = wide::intersect_kernel(a.len().min(b.len())) {
        let (i, j, n) = kernel(a, b);
        return n + merge_count(&a[i..], &b[j..]);
    }
    merge_count(a, b)
}

/// [`intersection_size`] by the scalar merge.
fn merge_count(a: &[Shingle], b: &[Shingle]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(k: usize) -> ShingleConfig {
        ShingleConfig {
            kind: ShingleKind::Words,
            k,
            seed: 7,
            hash: ShingleHash::Fold,
        }
    }

    fn set(paras: &[&str], cfg: &ShingleConfig) -> Vec<Shingle> {
        shingle_set(paras.iter().copied(), cfg, &mut Scratch::default())
    }

    fn word_hash(w: &str) -> u64 {
        fold_hash(w.as_bytes(), 7)
    }

    #[test]
    fn word_shingles_are_the_kgrams() {
        let cfg = words(2);
        let got = set(&["a b c"], &cfg);
        let want = into_set(vec![
            narrow(combine(&[word_hash("a"), word_hash("b")], 7)),
            narrow(combine(&[word_hash("b"), word_hash("c")], 7)),
        ]);
        assert_eq!(got, want);
        // Order matters.
        assert_ne!(set(&["a b"], &cfg), set(&["b a"], &cfg));
        // The files of format 1 and 2 hashed words with xxh3.
        let legacy = ShingleConfig {
            hash: ShingleHash::Xxh3,
            ..cfg
        };
        let xxh3 = |w: &str| xxh3_64_with_seed(w.as_bytes(), 7);
        let want = into_set(vec![
            narrow(combine(&[xxh3("a"), xxh3("b")], 7)),
            narrow(combine(&[xxh3("b"), xxh3("c")], 7)),
        ]);
        assert_eq!(set(&["a b c"], &legacy), want);
        // The default: 32-bit word hashes mixed in 32 bits.
        let fold32 = ShingleConfig {
            hash: ShingleHash::Fold32,
            ..cfg
        };
        let w32 = |w: &str| narrow(word_hash(w));
        let want = into_set(vec![
            combine32(&[w32("a"), w32("b")], 7),
            combine32(&[w32("b"), w32("c")], 7),
        ]);
        assert_eq!(set(&["a b c"], &fold32), want);
        assert_ne!(set(&["a b"], &fold32), set(&["b a"], &fold32));
        assert_ne!(set(&["a b c"], &fold32), set(&["a b c"], &cfg));
        // Character shingles: the fold hash, as under `Fold`.
        let chars = |hash| ShingleConfig {
            kind: ShingleKind::Chars,
            hash,
            ..cfg
        };
        assert_eq!(
            set(&["abcdef"], &chars(ShingleHash::Fold32)),
            set(&["abcdef"], &chars(ShingleHash::Fold))
        );
    }

    /// Values of [`combine32`] with the default seed over pinned fold hashes, checked against
    /// an independent computation of its formula (Python integers, in the commit that
    /// introduced it): files written with `Fold32` depend on them never changing.
    #[test]
    fn combine32_values_are_pinned() {
        let cfg = ShingleConfig::default();
        assert_eq!(cfg.hash, ShingleHash::Fold32);
        let seed = cfg.seed32();
        assert_eq!(seed, 0x131c_0274);
        let (news, syndication, empty) = (
            narrow(FOLD_NEWS),
            narrow(FOLD_SYNDICATION),
            narrow(FOLD_EMPTY),
        );
        assert_eq!(combine32(&[news, syndication, empty], seed), 0xd3a2_bc0c);
        assert_eq!(combine32(&[news], seed), 0x8748_0fed);
        assert_eq!(combine32(&[], seed), 0xcd90_0cfa);
        // The same through the shingler: "news syndication" is one window of up to 3 words.
        let mut out = Vec::new();
        shingle_paragraph("news syndication", &cfg, &mut Scratch::default(), &mut out);
        assert_eq!(out, vec![combine32(&[news, syndication], seed)]);
    }

    #[test]
    fn shingle_hash_bytes_round_trip() {
        for h in [ShingleHash::Xxh3, ShingleHash::Fold, ShingleHash::Fold32] {
            assert_eq!(ShingleHash::of_file(3, || Ok(h.byte())).ok(), Some(h));
        }
        assert_eq!(
            ShingleHash::of_file(2, || Ok(9)).ok(),
            Some(ShingleHash::Xxh3)
        );
        assert!(ShingleHash::of_file(3, || Ok(3)).is_err());
    }

    /// Values of the fold hash, checked against an independent computation of its formula
    /// (Python big integers, in the commit that introduced it): files of format 3 depend on
    /// them never changing.
    const FOLD_EMPTY: u64 = 0x6b6c_884e_1c8f_a8c1;
    const FOLD_NEWS: u64 = 0x237d_fcd4_6ef1_5714;
    const FOLD_SYNDICATION: u64 = 0x8171_1209_fcba_c112;

    #[test]
    fn fold_hash_values_are_pinned() {
        let seed = ShingleConfig::default().seed;
        assert_eq!(fold_hash(b"", seed), FOLD_EMPTY);
        assert_eq!(fold_hash(b"news", seed), FOLD_NEWS);
        assert_eq!(fold_hash(b"syndication", seed), FOLD_SYNDICATION);
        assert_eq!(
            fold_hash(b"internationalisation", seed),
            xxh3_64_with_seed(b"internationalisation", seed)
        );
    }

    #[test]
    fn default_seed_keeps_the_product_away_from_zero() {
        // The quirk in `fold_hash`'s docs: no half of a UTF-8 word can equal its key.
        let seed = ShingleConfig::default().seed;
        let first = (FOLD_KEY_LO ^ seed) as u8;
        assert!(
            (0x80..0xC0).contains(&first),
            "{first:#x} could start a word"
        );
        for len in 0..=16usize {
            let key = FOLD_KEY_HI ^ (len as u64).wrapping_mul(MIX);
            let zero_padded = 8 * len.saturating_sub(8).min(8);
            if len < 16 {
                // The half's bytes past the word are zero; the key's are not all zero there.
                assert_ne!(
                    key.checked_shr(zero_padded as u32).unwrap_or(0),
                    0,
                    "length {len}"
                );
            } else {
                assert!(key.to_le_bytes().contains(&0xFF), "length 16");
            }
        }
    }

    #[test]
    fn fold_hash_separates_and_spreads() {
        // 300,000 distinct short strings (every length up to 16, trailing zero bytes
        // included): no two share a 64-bit hash, and each output bit is set about half the
        // time.
        let mut seen = std::collections::HashSet::new();
        let mut ones = [0u32; 64];
        let mut n = 0u32;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..300_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (i % 17) as usize;
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&x.to_le_bytes());
            b[8..].copy_from_slice(&i.wrapping_mul(0x9E37_79B9).to_le_bytes().repeat(2));
            // Low-entropy inputs too: lower-case letters, and the same bytes with a zero tail.
            if i % 3 == 0 {
                for c in &mut b {
                    *c = b'a' + *c % 26;
                }
            }
            if i % 5 == 0 && len > 0 {
                b[len - 1] = 0;
            }
            if !seen.insert(b[..len].to_vec()) {
                continue;
            }
            let h = fold_hash(&b[..len], 7);
            assert!(
                seen.insert(h.to_le_bytes().repeat(3)),
                "collision at input {i}"
            );
            for (bit, o) in ones.iter_mut().enumerate() {
                *o += ((h >> bit) & 1) as u32;
            }
            n += 1;
        }
        for (bit, &o) in ones.iter().enumerate() {
            let share = f64::from(o) / f64::from(n);
            assert!(
                (0.49..0.51).contains(&share),
                "bit {bit} set in {share:.3} of hashes"
            );
        }
    }

    #[test]
    fn short_paragraph_is_one_shingle() {
        let cfg = words(5);
        let want = narrow(combine(
            &[word_hash("spread"), word_hash("the"), word_hash("love")],
            7,
        ));
        assert_eq!(set(&["spread the love"], &cfg), vec![want]);
        assert!(set(&[], &cfg).is_empty());
        assert!(set(&[""], &cfg).is_empty());
    }

    #[test]
    fn shingles_do_not_cross_paragraphs() {
        let cfg = words(3);
        let joined = set(&["a b c d e f"], &cfg);
        let split = set(&["a b c", "d e f"], &cfg);
        assert_eq!(joined.len(), 4);
        assert_eq!(split.len(), 2);
        assert_eq!(intersection_size(&joined, &split), 2);
    }

    #[test]
    fn inserted_paragraph_destroys_no_shingle() {
        let cfg = words(3);
        let story = set(&["one two three four", "five six seven eight"], &cfg);
        let repost = set(
            &[
                "one two three four",
                "headline again",
                "five six seven eight",
            ],
            &cfg,
        );
        assert_eq!(intersection_size(&story, &repost), story.len());
    }

    #[test]
    fn char_shingles_handle_multibyte() {
        let cfg = ShingleConfig {
            kind: ShingleKind::Chars,
            k: 2,
            seed: 1,
            hash: ShingleHash::Fold,
        };
        let s = set(&["日本語"], &cfg);
        assert_eq!(s.len(), 2);
        // Character shingles follow the configured hash too.
        let grams = |h: fn(&[u8], u64) -> u64| -> Vec<Shingle> {
            into_set(
                ["日本", "本語"]
                    .iter()
                    .map(|g| narrow(h(g.as_bytes(), 1)))
                    .collect(),
            )
        };
        assert_eq!(s, grams(fold_hash));
        let legacy = ShingleConfig {
            hash: ShingleHash::Xxh3,
            ..cfg
        };
        assert_eq!(set(&["日本語"], &legacy), grams(xxh3_64_with_seed));
    }

    proptest! {
        #[test]
        fn vector_mix_matches_the_scalar_one(
            words in proptest::collection::vec(any::<u64>(), 0..80),
            k in 1usize..10,
            seed in any::<u64>(),
            before in 0usize..3,
        ) {
            // On a CPU with AVX-512 this runs the eight-lane path for every paragraph of at
            // least k + 7 words (with AVX2 only, the four-lane one from k + 3 words), and the
            // scalar tail after it; `out` may already hold shingles.
            let cfg = ShingleConfig { kind: ShingleKind::Words, k, seed, hash: ShingleHash::Fold };
            let mut out = vec![1u32; before];
            push_word_shingles(&words, &cfg, &mut out);
            let mut want = vec![1u32; before];
            if words.len() <= k {
                if !words.is_empty() {
                    want.push(narrow(combine(&words, seed)));
                }
            } else {
                want.extend(words.windows(k).map(|w| narrow(combine(w, seed))));
            }
            prop_assert_eq!(&out, &want);
            // The AVX2 kernel too, on a CPU that has it (the path of CPUs without AVX-512).
            #[cfg(target_arch = "x86_64")]
            if wide::avx2() && words.len() > k {
                let mut lanes = vec![0u32; words.len() - k + 1];
                let done = wide::combine_windows_avx2(&words, k, seed, &mut lanes);
                prop_assert_eq!(done, lanes.len() / 4 * 4);
                prop_assert_eq!(&lanes[..done], &want[before..before + done]);
            }
        }

        #[test]
        fn vector_mix32_matches_the_scalar_one(
            words in proptest::collection::vec(any::<u32>(), 0..80),
            k in 1usize..10,
            seed in any::<u64>(),
            before in 0usize..3,
        ) {
            // With AVX-512 the sixteen-lane path takes every paragraph of at least k + 15
            // words, with AVX2 the eight-lane one those of at least k + 7 (the last vector
            // overlapping the one before), the scalar loop the shorter ones; `out` may already
            // hold shingles.
            let cfg = ShingleConfig { kind: ShingleKind::Words, k, seed, hash: ShingleHash::Fold32 };
            let mut out = vec![1u32; before];
            push_word_shingles32(&words, &cfg, &mut out);
            let seed = cfg.seed32();
            let mut want = vec![1u32; before];
            if words.len() <= k {
                if !words.is_empty() {
                    want.push(combine32(&words, seed));
                }
            } else {
                want.extend(words.windows(k).map(|w| combine32(w, seed)));
            }
            prop_assert_eq!(&out, &want);
            #[cfg(target_arch = "x86_64")]
            if wide::avx2() && words.len() >= k + 7 {
                let mut lanes = vec![0u32; words.len() - k + 1];
                let done = wide::combine32_avx2(&words, k, seed, &mut lanes);
                prop_assert_eq!(done, lanes.len());
                prop_assert_eq!(&lanes[..], &want[before..]);
            }
            #[cfg(target_arch = "x86_64")]
            if wide::available() && words.len() >= k + 15 {
                let mut lanes = vec![0u32; words.len() - k + 1];
                let done = wide::combine32_avx512(&words, k, seed, &mut lanes);
                prop_assert_eq!(done, lanes.len());
                prop_assert_eq!(&lanes[..], &want[before..]);
            }
        }

        #[test]
        fn recorded_boundaries_give_the_same_shingles(raw in "[a-zé ,.\n<>p/]{0,120}", k in 1usize..6, chars in any::<bool>(), hash in 0u8..3) {
            let hash = [ShingleHash::Xxh3, ShingleHash::Fold, ShingleHash::Fold32][usize::from(hash)];
            let cfg = ShingleConfig {
                kind: if chars { ShingleKind::Chars } else { ShingleKind::Words },
                k,
                seed: 3,
                hash,
            };
            let mut nz = crate::normalize::Normalizer::default();
            let r = nz.run(&raw);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut scratch = Scratch::default();
            for p in r.paragraphs() {
                let fa = shingle_normalized_paragraph(&p, &cfg, &mut scratch, &mut a);
                let fb = shingle_paragraph_facts(p.text, &cfg, &mut scratch, &mut b);
                prop_assert_eq!(fa, fb);
                prop_assert_eq!(&a, &b);
            }
        }

        #[test]
        fn padded_and_overlapping_loads_agree(
            bytes in proptest::collection::vec(any::<u8>(), 0..60),
            start in 0usize..60,
            len in 0usize..24,
            seed in any::<u64>(),
        ) {
            // The sixteen-byte load with a mask, the overlapping loads, and the zero-padded
            // halves by definition all read the same value.
            let start = start.min(bytes.len());
            let len = len.min(bytes.len() - start);
            let word = &bytes[start..start + len];
            let mut padded = bytes.clone();
            padded.extend_from_slice(&[0xAA; 16]);
            prop_assert_eq!(fold_hash_padded(&padded, start, len, seed), fold_hash(word, seed));
            if len <= 16 {
                let mut b = [0u8; 16];
                b[..len].copy_from_slice(word);
                let want = (u64::from_le_bytes(b[..8].try_into().unwrap()), u64::from_le_bytes(b[8..].try_into().unwrap()));
                prop_assert_eq!(load16(word), want);
                prop_assert_eq!(fold_hash(word, seed), fold16(want.0, want.1, len, seed));
            } else {
                prop_assert_eq!(fold_hash(word, seed), xxh3_64_with_seed(word, seed));
            }
        }

        #[test]
        fn set_is_sorted_unique_and_order_free(ws in proptest::collection::vec("[a-c]{1,2}", 0..40), k in 1usize..6) {
            let cfg = words(k);
            let p = ws.join(" ");
            let s = set(&[p.as_str()], &cfg);
            prop_assert!(s.windows(2).all(|w| w[0] < w[1]));
            let n = ws.len();
            let expect_max = if n == 0 { 0 } else if n <= k { 1 } else { n - k + 1 };
            prop_assert!(s.len() <= expect_max);
            // Paragraph order does not change the set.
            let q = "x y z";
            let ab = set(&[p.as_str(), q], &cfg);
            let ba = set(&[q, p.as_str()], &cfg);
            prop_assert_eq!(ab, ba);
        }

        #[test]
        fn block_intersection_matches_the_merge(
            a in proptest::collection::btree_set(0u32..400, 0..200),
            b in proptest::collection::btree_set(0u32..400, 0..200),
        ) {
            // Dense values, so blocks overlap in every way; on a CPU with AVX-512 sets of 32
            // or more take the block path, then the merge finishes.
            let av: Vec<u32> = a.iter().copied().collect();
            let bv: Vec<u32> = b.iter().copied().collect();
            prop_assert_eq!(intersection_size(&av, &bv), a.intersection(&b).count());
            prop_assert_eq!(intersection_size(&av, &bv), merge_count(&av, &bv));
            // The AVX2 blocks too, on a CPU that has them (the path of CPUs without AVX-512).
            #[cfg(target_arch = "x86_64")]
            if wide::avx2() {
                let (i, j, n) = wide::intersect_blocks_avx2(&av, &bv);
                prop_assert_eq!(n + merge_count(&av[i..], &bv[j..]), a.intersection(&b).count());
            }
        }

        #[test]
        fn intersection_matches_naive(a in proptest::collection::btree_set(0u32..50, 0..30), b in proptest::collection::btree_set(0u32..50, 0..30)) {
            let av: Vec<u32> = a.iter().copied().collect();
            let bv: Vec<u32> = b.iter().copied().collect();
            prop_assert_eq!(intersection_size(&av, &bv), a.intersection(&b).count());
        }
    }
}
