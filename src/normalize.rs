//! Stage 1: text normalization.
//!
//! Turns raw article text (plain text or HTML, as scraped) into a canonical form in which two
//! copies of one story differ only where their words differ:
//!
//! 1. HTML character references are decoded (`&nbsp;`, `&amp;`, `&#8217;`, all HTML5 names).
//! 2. Tags and tag debris are removed: `<p>`, `< p>`, `</ p >`, `<br />`, `<&nbsp;p>` (an entity
//!    inside a broken tag decodes to a space first), comments, and the content of `<script>` and
//!    `<style>`. Block-level tags (`p`, `br`, `div`, `h1`..`h6`, `li`, `tr`, ...) end a paragraph.
//! 3. Unicode NFKC, then lower-casing (full Unicode `to_lowercase`, which for news text is the
//!    same as case folding).
//! 4. Curly quotes, primes and apostrophes are dropped inside words (`don’t` = `don't` = `dont`),
//!    dashes and all other punctuation separate words.
//! 5. Whitespace is collapsed: words are separated by one space and paragraphs by one `\n`. A
//!    paragraph ends at a blank line (two or more line breaks with nothing but whitespace or
//!    punctuation between them) or at a block-level tag; a single line break is a space, so
//!    hard-wrapped text is not cut into pieces.
//!
//! Invariants (tested below): the output contains only lower-case alphanumeric words, single
//! spaces and single `\n`; it never starts or ends with a separator; `normalize` is idempotent
//! on its own output; the result does not depend on which quote or dash style, entity spelling
//! or tag debris the input used.
//!
//! Cost: O(bytes) per document. Plain text (no `&`, `<` or U+0001: one SIMD scan tells) is
//! tokenized in one pass; stretches of ASCII words and separators (most of any news text) go
//! 32 bytes at a time (AVX2 where the CPU has it, with each block's word ends packed by
//! AVX-512 VBMI2 where that is there too, else SSE2 on x86-64, which every x86-64 CPU has;
//! byte by byte elsewhere),
//! with one well-predicted branch per block instead of several per word; HTML takes one more
//! pass per kind of markup. A [`Normalizer`] reuses its buffers, so normalizing many documents allocates
//! nothing once warm (except for the rare word that needs NFKC); the tokenizer records where
//! each word and paragraph ends, so shingling never scans for separators again.

use unicode_normalization::UnicodeNormalization;

/// A normalized document: words separated by `' '`, paragraphs by `'\n'`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The canonical text.
    pub text: String,
}

impl Normalized {
    /// Paragraphs of the canonical text, each a run of words separated by single spaces.
    pub fn paragraphs(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n').filter(|p| !p.is_empty())
    }

    /// Number of words in the canonical text.
    pub fn word_count(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.text
                .bytes()
                .filter(|&b| b == b' ' || b == b'\n')
                .count()
                + 1
        }
    }
}

/// Zero bytes after the canonical text in a normalizer's buffer (see
/// [`Paragraph::word_spans`]).
pub const PAD: usize = 16;

/// Marks a paragraph break in the tag-stripped intermediate text (a U+0001 in the input is
/// replaced by a space before, so only block tags produce it).
const BREAK: char = '\u{1}';

/// Normalizes `raw` (plain text or HTML) into canonical words and paragraphs.
///
/// Allocates its result; to normalize many documents, reuse one [`Normalizer`].
pub fn normalize(raw: &str) -> Normalized {
    let mut n = Normalizer::default();
    Normalized {
        text: n.run(raw).text().to_owned(),
    }
}

/// Reusable buffers for normalizing many documents: once they have grown to the largest
/// document seen, [`Normalizer::run`] allocates nothing (except for the rare non-ASCII word
/// that needs NFKC, and inputs that contain U+0001).
#[derive(Debug, Default)]
pub struct Normalizer {
    decoded: String,
    stripped: String,
    word: String,
    out: Vec<u8>,
    word_ends: Vec<usize>,
    para_ends: Vec<usize>,
}

/// The result of [`Normalizer::run`], borrowed from its buffers: the canonical text and where
/// each word and paragraph ends in it, so later stages need not scan for separators again.
#[derive(Debug, Clone, Copy)]
pub struct NormalizedRef<'a> {
    text: &'a [u8],
    /// `text` followed by [`PAD`] zero bytes, so a word can be loaded sixteen bytes at once.
    padded: &'a [u8],
    /// Byte offset in `text` after each word.
    word_ends: &'a [usize],
    /// Per paragraph: the index in `word_ends` after its last word.
    para_ends: &'a [usize],
}

/// One paragraph of a [`NormalizedRef`]: its text (words separated by single spaces) and the
/// word boundaries in it.
#[derive(Debug, Clone, Copy)]
pub struct Paragraph<'a> {
    /// The paragraph's canonical text.
    pub text: &'a str,
    /// The whole document's canonical text followed by [`PAD`] zero bytes.
    padded: &'a [u8],
    /// Byte offset of `text` in the whole document's canonical text.
    base: usize,
    /// Offsets after each word, in the whole document's text (subtract `base`).
    word_ends: &'a [usize],
}

impl<'a> Paragraph<'a> {
    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.word_ends.len()
    }

    /// The words as `(start, len)` in [`Paragraph::padded`], in order. At least [`PAD`] bytes
    /// of that buffer follow each word's start, so a word of up to sixteen bytes can be read
    /// with one fixed-size load and its tail masked off.
    pub fn word_spans(&self) -> impl Iterator<Item = (usize, usize)> + 'a {
        let mut start = self.base;
        self.word_ends.iter().map(move |&e| {
            let span = (start, e - start);
            start = e + 1;
            span
        })
    }

    /// The document's canonical text followed by [`PAD`] zero bytes (see
    /// [`Paragraph::word_spans`]).
    pub fn padded(&self) -> &'a [u8] {
        self.padded
    }

    /// The words, in order (each a non-empty slice of `text`).
    pub fn words(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let bytes = self.text.as_bytes();
        let base = self.base;
        let mut start = 0usize;
        self.word_ends.iter().map(move |&e| {
            let end = e - base;
            let w = &bytes[start..end];
            start = end + 1;
            w
        })
    }
}

impl<'a> NormalizedRef<'a> {
    /// The canonical text (see [`Normalized::text`]).
    pub fn text(&self) -> &'a str {
        // Every byte was pushed as ASCII or as a whole encoded character.
        simdutf8::basic::from_utf8(self.text).unwrap_or_default()
    }

    /// Paragraphs in order; none is empty.
    pub fn paragraphs(&self) -> impl Iterator<Item = Paragraph<'a>> + 'a {
        let text = self.text();
        let padded = self.padded;
        let word_ends = self.word_ends;
        let mut first_word = 0usize;
        self.para_ends.iter().map(move |&pe| {
            let base = if first_word == 0 {
                0
            } else {
                word_ends[first_word - 1] + 1
            };
            let end = word_ends[pe - 1];
            let p = Paragraph {
                text: &text[base..end],
                padded,
                base,
                word_ends: &word_ends[first_word..pe],
            };
            first_word = pe;
            p
        })
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.word_ends.len()
    }
}

impl Normalizer {
    /// Normalizes `raw` (plain text or HTML) into canonical words and paragraphs, in this
    /// normalizer's buffers (the previous result is overwritten).
    pub fn run(&mut self, raw: &str) -> NormalizedRef<'_> {
        #[cfg(target_arch = "x86_64")]
        if v4_available() {
            // SAFETY: the CPU has every feature `run_v4` is compiled for (checked just above).
            return unsafe { self.run_v4(raw) };
        }
        #[cfg(target_arch = "x86_64")]
        if v3_available() {
            // SAFETY: the CPU has every feature `run_v3` is compiled for (checked just above).
            return unsafe { self.run_v3(raw) };
        }
        self.run_with::<true, false, false>(raw)
    }

    /// [`Normalizer::run`] compiled for x86-64-v3 CPUs (AVX2, BMI1/2, LZCNT, POPCNT): the same
    /// code, with the hot loops inlined into it, gets native bit counts and shifts and VEX
    /// encoding: about 10% more throughput than the baseline build (BENCHMARKS.md).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx,avx2,bmi1,bmi2,lzcnt,popcnt")]
    fn run_v3(&mut self, raw: &str) -> NormalizedRef<'_> {
        self.run_with::<true, true, false>(raw)
    }

    /// [`Normalizer::run_v3`] for CPUs that also have AVX-512 with byte compression
    /// (AVX-512 F, VL, BW and VBMI2): a block's word ends come from one `vpcompressb` of the
    /// byte positions under its separator mask, widened and offset in one vector and stored
    /// at once, instead of a bit-clearing chain of eight steps ([`write_word_slots_v4`]).
    /// The text of 20,000 generated documents, one thread, best of 25 interleaved rounds:
    /// 0.76-0.81 -> 0.83-0.90 GB/s.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(
        enable = "avx,avx2,bmi1,bmi2,lzcnt,popcnt,avx512f,avx512vl,avx512bw,avx512vbmi2"
    )]
    fn run_v4(&mut self, raw: &str) -> NormalizedRef<'_> {
        self.run_with::<true, true, true>(raw)
    }

    /// [`Normalizer::run`]; with `RUNS` false, without the block-at-a-time path (the
    /// reference it is tested against); with `V3`, whose caller has checked
    /// [`v3_available`], the blocks are classified with AVX2; with `V4` as well (the caller
    /// has checked [`v4_available`]), their word ends are written with AVX-512.
    #[inline(always)]
    fn run_with<const RUNS: bool, const V3: bool, const V4: bool>(
        &mut self,
        raw: &str,
    ) -> NormalizedRef<'_> {
        let Normalizer {
            decoded,
            stripped,
            word,
            out,
            word_ends,
            para_ends,
        } = self;
        let replaced;
        let mut src = raw;
        // Plain text has none of the three bytes that need a pass of their own: one SIMD scan
        // for all three settles that, before any per-byte work.
        if memchr::memchr3(BREAK as u8, b'&', b'<', src.as_bytes()).is_some() {
            // The internal paragraph-break marker must not come from the input itself.
            if src.contains(BREAK) {
                replaced = src.replace(BREAK, " ");
                src = &replaced;
            }
            // Entities first, so that debris such as `<&nbsp;p>` becomes `< p>` and is then
            // seen as a tag.
            if memchr::memchr(b'&', src.as_bytes()).is_some() {
                decoded.clear();
                html_escape::decode_html_entities_to_string(src, decoded);
                src = decoded;
            }
            if memchr::memchr(b'<', src.as_bytes()).is_some() {
                strip_tags(src, stripped);
                src = stripped;
            }
        }
        out.clear();
        word_ends.clear();
        para_ends.clear();
        let mut t = Tokenizer {
            out,
            word_ends,
            para_ends,
            newlines: 0,
            hard_break: false,
            in_word: false,
        };
        canonical_words::<RUNS, V3, V4>(src, word, &mut t);
        t.finish();
        let len = out.len();
        out.extend_from_slice(&[0; PAD]);
        let (text, padded) = (&out[..len], &out[..]);
        NormalizedRef {
            text,
            padded,
            word_ends,
            para_ends,
        }
    }
}

/// Tags whose end (or start) closes a paragraph.
fn is_block_tag(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "table"
            | "blockquote"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "hr"
            | "pre"
            | "title"
            | "body"
            | "html"
            | "head"
            | "nav"
            | "aside"
            | "main"
    )
}

/// Longest tag we accept as a tag; a `<` followed by more than this many characters before `>`
/// is text (for example a mathematical "a < b"), which bounds the scan and keeps it linear.
const MAX_TAG_LEN: usize = 1024;

/// Removes tags, comments and script/style bodies, replacing block tags by a paragraph break.
fn strip_tags(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    out.clear();
    let mut i = 0;
    let mut copied_to = 0;
    while let Some(off) = memchr_lt(&bytes[i..]) {
        let lt = i + off;
        if let Some((end, kind)) = parse_tag(bytes, lt) {
            out.push_str(&s[copied_to..lt]);
            match kind {
                TagKind::Block => {
                    out.push(BREAK);
                }
                TagKind::Inline => out.push(' '),
                TagKind::RawText(close) => {
                    // Skip to the matching close tag (or the end of the document).
                    let rest = &s[end..];
                    let skip = find_ascii_case_insensitive(rest, close).unwrap_or(rest.len());
                    let after = end + skip;
                    let close_end = match bytes[after..].iter().position(|&b| b == b'>') {
                        Some(p) if skip < rest.len() => after + p + 1,
                        _ => s.len(),
                    };
                    out.push(' ');
                    i = close_end;
                    copied_to = close_end;
                    continue;
                }
            }
            i = end;
            copied_to = end;
        } else {
            i = lt + 1;
        }
    }
    out.push_str(&s[copied_to..]);
}

fn memchr_lt(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'<', b)
}

fn find_ascii_case_insensitive(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

enum TagKind {
    Block,
    Inline,
    /// `<script>` or `<style>`: skip everything up to this closing tag name.
    RawText(&'static str),
}

/// Recognises a tag starting at `lt` (which holds `<`). Returns the index after `>` and its kind.
/// Accepts the debris scrapers leave: whitespace after `<` or `/`, and a missing name (`< >`).
fn parse_tag(b: &[u8], lt: usize) -> Option<(usize, TagKind)> {
    let n = b.len();
    let mut j = lt + 1;
    if j < n && b[j] == b'!' {
        // Comment or doctype.
        if b[j..].starts_with(b"!--") {
            let body = &b[j + 3..];
            let end = body
                .windows(3)
                .position(|w| w == b"-->")
                .map(|p| j + 3 + p + 3)
                .unwrap_or(n);
            return Some((end, TagKind::Inline));
        }
        let end = b[j..].iter().take(MAX_TAG_LEN).position(|&c| c == b'>')?;
        return Some((j + end + 1, TagKind::Inline));
    }
    let skip_space = |mut j: usize| {
        loop {
            if j < n && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            } else if j + 1 < n && b[j] == 0xC2 && b[j + 1] == 0xA0 {
                // A decoded `&nbsp;` inside tag debris.
                j += 2;
            } else {
                return j;
            }
        }
    };
    j = skip_space(j);
    let mut loose = j > lt + 1;
    let closing = j < n && b[j] == b'/';
    if closing {
        j += 1;
        let k = skip_space(j);
        loose |= k > j;
        j = k;
    }
    let name_start = j;
    while j < n && (b[j].is_ascii_alphanumeric()) {
        j += 1;
    }
    let name = &b[name_start..j];
    if name.is_empty() || !name[0].is_ascii_alphabetic() {
        return None;
    }
    // The name must end at whitespace, `/` or `>`: `<p>` and `<br/>` are tags, `<3` and `<pi` are not.
    if j < n && !matches!(b[j], b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>') {
        return None;
    }
    let gt = b[j..]
        .iter()
        .take(MAX_TAG_LEN)
        .position(|&c| c == b'>' || c == b'<')?;
    if b[j + gt] != b'>' {
        return None;
    }
    // Debris with stray spaces (`< p>`, `</ br >`) is a tag only without attributes, so that
    // text such as "a < b and c > d" is kept.
    if loose
        && !b[j..j + gt]
            .iter()
            .all(|&c| matches!(c, b' ' | b'\t' | b'/'))
    {
        return None;
    }
    let end = j + gt + 1;
    let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
    let kind = if !closing && (lname == "script" || lname == "style") {
        TagKind::RawText(if lname == "script" {
            "</script"
        } else {
            "</style"
        })
    } else if is_block_tag(&lname) {
        TagKind::Block
    } else {
        TagKind::Inline
    };
    Some((end, kind))
}

/// Characters dropped inside words: apostrophes, primes and their look-alikes.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' | '`' | '\u{00B4}'
    )
}

/// NFKC + lower-case + tokenization into the canonical word/paragraph form.
///
/// NFKC is applied word by word, and only to words that are not already in NFKC: composition
/// never crosses a word break (combining marks are kept inside words here), and characters that
/// end a word (spaces, punctuation, `&nbsp;`, `…`) need no normalization because they are
/// separators either way. Pure-ASCII words, the vast majority, skip Unicode tables entirely.
#[inline(always)]
fn canonical_words<const RUNS: bool, const V3: bool, const V4: bool>(
    s: &str,
    word: &mut String,
    t: &mut Tokenizer<'_>,
) {
    let bytes = s.as_bytes();
    let n = bytes.len();
    t.out.reserve(n);
    let mut i = 0;
    // Set when the run below gave a word back: it is redone by the per-word path.
    let mut word_path = false;
    'outer: while i < n {
        let b = bytes[i];
        if RUNS && !word_path && LOWER[b as usize] != 0 {
            match ascii_run::<V3, V4>(bytes, i, t) {
                RunEnd::At(j) => {
                    i = j;
                    continue;
                }
                RunEnd::Word(start) => {
                    i = start;
                    word_path = true;
                    continue;
                }
            }
        }
        word_path = false;
        if LOWER[b as usize] != 0 {
            // Fast path: scan ASCII words (apostrophes inside are dropped) for as long as they
            // are separated by single spaces, the common case, without going back through the
            // dispatch above. If a word runs into a non-ASCII byte, it may continue with
            // letters or combining marks: redo it on the character path.
            loop {
                let mut j = skip_ascii_alnum(bytes, i + 1);
                let mut apostrophes = false;
                while j < n && (bytes[j] == b'\'' || bytes[j] == b'`') {
                    apostrophes = true;
                    j = skip_ascii_alnum(bytes, j + 1);
                }
                if j < n && bytes[j] >= 0x80 {
                    i = char_word(s, i, word, t);
                    continue 'outer;
                }
                t.start_word();
                if apostrophes {
                    t.out.extend(
                        bytes[i..j]
                            .iter()
                            .map(|&c| LOWER[c as usize])
                            .filter(|&c| c != 0),
                    );
                } else {
                    // Setting bit 5 lower-cases an ASCII letter and leaves a digit as it is.
                    t.out.extend(bytes[i..j].iter().map(|&c| c | 0x20));
                }
                t.in_word = false;
                i = j;
                // A single space only separates (`separator(' ')` would change nothing).
                match bytes.get(i..i + 2) {
                    // With runs, the next word goes back to them.
                    Some(&[b' ', next]) if !RUNS && LOWER[next as usize] != 0 => i += 1,
                    _ => break,
                }
            }
        } else if b < 0x80 {
            t.separator(b as char);
            i += 1;
        } else {
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            if is_word_char(c) {
                i = char_word(s, i, word, t);
            } else {
                t.separator(c);
                i += c.len_utf8();
            }
        }
    }
}

/// Where [`ascii_run`] stopped.
enum RunEnd {
    /// Everything before this byte is emitted; the tokenizer is between words.
    At(usize),
    /// The word starting at this byte needs the per-word path (it goes on with an apostrophe
    /// or a non-ASCII byte); everything before it is emitted and the tokenizer is as it was
    /// before that word's separator.
    Word(usize),
}

/// The tokenizer's state between two words, to give a word back.
#[derive(Clone, Copy)]
struct Mark {
    out: usize,
    word_ends: usize,
    para_ends: usize,
    newlines: usize,
    hard_break: bool,
    in_word: bool,
}

impl Tokenizer<'_> {
    fn mark(&self) -> Mark {
        Mark {
            out: self.out.len(),
            word_ends: self.word_ends.len(),
            para_ends: self.para_ends.len(),
            newlines: self.newlines,
            hard_break: self.hard_break,
            in_word: self.in_word,
        }
    }

    fn restore(&mut self, m: Mark) {
        self.out.truncate(m.out);
        self.word_ends.truncate(m.word_ends);
        self.para_ends.truncate(m.para_ends);
        self.newlines = m.newlines;
        self.hard_break = m.hard_break;
        self.in_word = m.in_word;
    }
}

/// Bytes per block of [`ascii_run`].
const BLOCK: usize = 32;

/// One bit per byte of a block (bit j for byte j): where the letters and digits are, where a
/// run must stop (non-ASCII, apostrophes, line breaks, the paragraph-break marker), and the
/// block as a run writes it (letters and digits with bit 5 set, every other byte a space).
#[derive(Debug, PartialEq, Eq)]
struct Classes {
    alnum: u32,
    stopper: u32,
    low: [u8; BLOCK],
}

/// Whether this CPU has the x86-64-v3 features [`Normalizer::run`]'s fast copy is compiled for
/// (the standard library caches the answer).
#[cfg(target_arch = "x86_64")]
#[inline]
fn v3_available() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("bmi1")
        && is_x86_feature_detected!("bmi2")
        && is_x86_feature_detected!("lzcnt")
        && is_x86_feature_detected!("popcnt")
}

/// Whether this CPU also has the AVX-512 features of [`Normalizer::run_v4`] (the standard
/// library caches the answers).
#[cfg(target_arch = "x86_64")]
#[inline]
fn v4_available() -> bool {
    v3_available()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vbmi2")
}

/// Writes the first [`WORD_SLOTS`] word ends of a block, `base + j` for the lowest set bits
/// `j` of `ends` in order, to `dst[..WORD_SLOTS]` (slots past the block's count are cut off
/// or overwritten, as the scalar loop's are). `vpcompressb` packs the positions of the set
/// bits, which are then widened to eight words and offset at once: the scalar loop took each
/// bit with a count of trailing zeros and cleared it, eight dependent steps per block (with
/// their widening, the largest part of the normalizer's samples).
///
/// # Safety
/// The CPU must have AVX-512 F, VL, BW and VBMI2, and `dst` must be valid for writing
/// [`WORD_SLOTS`] `usize`s.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512vbmi2")]
#[inline]
unsafe fn write_word_slots_v4(ends: u32, base: usize, dst: *mut usize) {
    use std::arch::x86_64::*;
    const _: () = assert!(WORD_SLOTS == 8 && BLOCK == 32);
    let positions = _mm256_setr_epi8(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31,
    );
    let packed = _mm256_maskz_compress_epi8(ends, positions);
    let words = _mm512_add_epi64(
        _mm512_cvtepu8_epi64(_mm256_castsi256_si128(packed)),
        _mm512_set1_epi64(base as i64),
    );
    // SAFETY: `dst` holds eight writable `usize`s (the caller's contract); the store is
    // unaligned.
    unsafe { _mm512_storeu_si512(dst.cast(), words) };
}

/// [`Classes`] of a block, byte by byte: the definition [`classify`] is tested against, and
/// the code on targets without a vector version.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_bytes(block: &[u8; BLOCK]) -> Classes {
    let mut c = Classes {
        alnum: 0,
        stopper: 0,
        low: [b' '; BLOCK],
    };
    for (j, &b) in block.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            c.alnum |= 1 << j;
            c.low[j] = b | 0x20;
        }
        if b >= 0x80 || matches!(b, b'\'' | b'`' | b'\n' | 0x01) {
            c.stopper |= 1 << j;
        }
    }
    c
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn classify(block: &[u8; BLOCK]) -> Classes {
    classify_bytes(block)
}

/// [`classify_bytes`] with SSE2 (part of every x86-64 CPU), sixteen bytes per instruction.
#[cfg(target_arch = "x86_64")]
#[inline]
fn classify(block: &[u8; BLOCK]) -> Classes {
    // SAFETY: SSE2 is part of the x86-64 baseline, so the instructions exist on every CPU this
    // code can run on; the function only computes on values (it reads and writes no memory
    // through pointers).
    let (a0, s0, l0) = unsafe { classify_half(&block[..16]) };
    let (a1, s1, l1) = unsafe { classify_half(&block[16..]) };
    let mut low = [0u8; BLOCK];
    low[..16].copy_from_slice(&l0);
    low[16..].copy_from_slice(&l1);
    Classes {
        alnum: a0 | a1 << 16,
        stopper: s0 | s1 << 16,
        low,
    }
}

/// [`classify`] of sixteen bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify_half(b: &[u8]) -> (u32, u32, [u8; 16]) {
    use std::arch::x86_64::*;
    // SSE2 compares bytes as signed: shifting a range to start at -128 makes "below the end
    // of the range" one signed compare. Bytes of 0x80 and up never land in either range.
    {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&b[..8]);
        hi.copy_from_slice(&b[8..16]);
        let v = _mm_set_epi64x(i64::from_le_bytes(hi), i64::from_le_bytes(lo));
        let digit = _mm_cmplt_epi8(
            _mm_add_epi8(v, _mm_set1_epi8((0x80u8 - b'0') as i8)),
            _mm_set1_epi8(-128 + 10),
        );
        let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let letter = _mm_cmplt_epi8(
            _mm_add_epi8(folded, _mm_set1_epi8((0x80u8 - b'a') as i8)),
            _mm_set1_epi8(-128 + 26),
        );
        let alnum = _mm_or_si128(digit, letter);
        let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        let special = _mm_or_si128(
            _mm_or_si128(eq(b'\''), eq(b'`')),
            _mm_or_si128(eq(b'\n'), eq(0x01)),
        );
        // Letters and digits keep their bits (bit 5 set), everything else becomes 0x20.
        let low = _mm_or_si128(_mm_and_si128(v, alnum), _mm_set1_epi8(0x20));
        let mut out = [0u8; 16];
        let lo = _mm_cvtsi128_si64(low) as u64;
        let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(low, low)) as u64;
        out[..8].copy_from_slice(&lo.to_le_bytes());
        out[8..].copy_from_slice(&hi.to_le_bytes());
        // The sign bit of each byte: set for non-ASCII bytes and for every compare result.
        let alnum = _mm_movemask_epi8(alnum) as u32;
        let stopper = _mm_movemask_epi8(_mm_or_si128(v, special)) as u32;
        (alnum, stopper, out)
    }
}

/// [`classify_bytes`] with AVX2, for [`Normalizer::run`]'s x86-64-v3 copy: the whole block in
/// one vector, loaded where it lies in the text (the SSE2 version takes two halves of a copy
/// on the stack). Normalizing the text of 20,000 generated documents, one thread, best of 7,
/// alternating builds: 79-81 -> 72-73 ms (Zen 3 EPYC).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn classify_avx2(block: &[u8; BLOCK]) -> Classes {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the 32 bytes of `block` (unaligned loads accept any address).
    let v = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
    // As in `classify_half`: each range shifted to start at -128, one signed compare.
    let digit = _mm256_cmpgt_epi8(
        _mm256_set1_epi8(-128 + 10),
        _mm256_add_epi8(v, _mm256_set1_epi8((0x80u8 - b'0') as i8)),
    );
    let folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    let letter = _mm256_cmpgt_epi8(
        _mm256_set1_epi8(-128 + 26),
        _mm256_add_epi8(folded, _mm256_set1_epi8((0x80u8 - b'a') as i8)),
    );
    let alnum = _mm256_or_si256(digit, letter);
    let eq = |b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
    let special = _mm256_or_si256(
        _mm256_or_si256(eq(b'\''), eq(b'`')),
        _mm256_or_si256(eq(b'\n'), eq(0x01)),
    );
    let low = _mm256_or_si256(_mm256_and_si256(v, alnum), _mm256_set1_epi8(0x20));
    let mut out = [0u8; BLOCK];
    // SAFETY: the store writes the 32 bytes of `out`.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), low) };
    Classes {
        alnum: _mm256_movemask_epi8(alnum) as u32,
        stopper: _mm256_movemask_epi8(_mm256_or_si256(v, special)) as u32,
        low: out,
    }
}

/// ASCII bytes that only separate words: every ASCII byte but letters, digits, apostrophes
/// (which join a word), the line break (which counts towards a paragraph break) and the
/// internal paragraph-break marker.
#[inline]
fn soft_separator(b: u8) -> bool {
    b < 0x80 && LOWER[b as usize] == 0 && !matches!(b, b'\'' | b'`' | b'\n' | 0x01)
}

/// Whether `b[i..]` starts with one of the non-ASCII separators news text has most, in UTF-8:
/// the en and em dashes, the curly double quotes and the ellipsis (U+2013, U+2014, U+201C,
/// U+201D, U+2026; none is a letter, digit, mark or apostrophe, so the per-character path
/// takes each as a plain separator).
#[inline]
fn wide_separator(b: &[u8], i: usize) -> bool {
    matches!(
        b.get(i..i + 3),
        Some(&[0xE2, 0x80, 0x93 | 0x94 | 0x9C | 0x9D | 0xA6])
    )
}

/// Word ends written unconditionally per block by [`ascii_run`].
const WORD_SLOTS: usize = 8;

/// Emits ASCII words starting at the letter or digit `bytes[i]`, a [`BLOCK`] of 32 bytes at a
/// time, for as long as the text is letters, digits and separators that need nothing but a
/// word break (spaces, commas, full stops, hyphens, ASCII quotes, ...). In such a run the
/// canonical text is the input with each letter lower-cased (bit 5 set) and each separator
/// byte turned into a space, so a block is classified with a few vector operations
/// ([`classify`]; [`classify_avx2`] when `V3`) and stored at once; where two or more
/// separators follow each other (`, `), the block ends there and the extra ones are skipped.
/// That costs one well-predicted branch per block instead of several per word. Line breaks
/// and [`wide_separator`]s (with separators around them) before a word become one separator,
/// a `\n` when the line breaks make a paragraph break. A run ends at any other non-ASCII
/// byte, an apostrophe, the paragraph-break marker, line breaks or wide separators not
/// followed by a word, or the end; the per-character path then takes over with the tokenizer
/// in exactly the state it would have reached itself.
#[inline(always)]
fn ascii_run<const V3: bool, const V4: bool>(
    bytes: &[u8],
    mut i: usize,
    t: &mut Tokenizer<'_>,
) -> RunEnd {
    let n = bytes.len();
    // The state before the first word's separator: where to go back to if that word is given
    // back. For later words it is the state at their separator, the last one emitted.
    let first = t.mark();
    let first_start = i;
    // Input position of the last separator emitted, and the line breaks it stood for (a
    // paragraph break when two or more).
    let mut last_sep: Option<usize> = None;
    let mut last_newlines = 0usize;
    t.start_word();
    // Whether the byte before the current block was a separator.
    let mut after_sep = false;
    // The block loop writes through raw pointers with its lengths in registers: with the
    // vectors' lengths and capacities read and written back in every block (a store and a
    // load on the path from one block to the next), the loop spilled and waited on them. Room
    // for the whole run is reserved first: a run keeps no more bytes, and no more word ends,
    // than it consumes, and each block's fixed-size stores reach at most a block (and
    // [`WORD_SLOTS`] ends) past what it keeps.
    let rest = n - i;
    t.out.reserve(rest + BLOCK);
    t.word_ends.reserve(rest + WORD_SLOTS);
    let out_ptr = t.out.as_mut_ptr();
    let mut out_len = t.out.len();
    let ends_ptr = t.word_ends.as_mut_ptr();
    let mut ends_len = t.word_ends.len();
    loop {
        let whole = bytes.get(i..i + BLOCK).map(<&[u8; BLOCK]>::try_from);
        let (classes, avail) = match whole {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `V3` is set only on the path that checked `v3_available`, so the CPU has
            // AVX2.
            Some(Ok(block)) if V3 => (unsafe { classify_avx2(block) }, BLOCK),
            Some(Ok(block)) => (classify(block), BLOCK),
            _ => {
                let mut block = [0u8; BLOCK];
                block[..n - i].copy_from_slice(&bytes[i..]);
                (classify(&block), n - i)
            }
        };
        let Classes {
            alnum,
            mut stopper,
            low,
        } = classes;
        if avail < BLOCK {
            stopper |= u32::MAX << avail;
        }
        let sep = !alnum & !stopper;
        let more_sep = sep & ((sep << 1) | u32::from(after_sep));
        let stop = stopper | more_sep;
        let k = stop.trailing_zeros() as usize;
        // Letters and digits with bit 5 set, separators as spaces; the whole block is stored
        // (one fixed-size store), and only its first `k` bytes kept.
        let base = out_len;
        // SAFETY: the bytes kept since the run started are at most the bytes it consumed,
        // and those are fewer than `rest` (the block starts inside the input), so
        // `base + BLOCK` is within the `rest + BLOCK` bytes reserved past the starting length.
        unsafe { out_ptr.add(base).cast::<[u8; BLOCK]>().write_unaligned(low) };
        out_len = base + k;
        let mut ends = if k == BLOCK {
            sep
        } else {
            sep & ((1u32 << k) - 1)
        };
        if ends != 0 {
            last_sep = Some(i + (31 - ends.leading_zeros() as usize));
            last_newlines = 0;
        }
        // Each separator ends a word. A block of news text ends a few words (about one per
        // six bytes): eight slots are written whether used or not and the count cut back, so
        // the common block takes no branch per word and no capacity check per push.
        // The slots are filled in registers and stored with one fixed-size copy: growing the
        // vector by `resize` first zeroed them through a call to memset in every block.
        let count = ends.count_ones() as usize;
        #[cfg(target_arch = "x86_64")]
        if V4 {
            // SAFETY: `V4` is set only on the path that checked `v4_available`; the slots
            // written are those of the scalar branch below (same room; the same values in
            // the first `count`, and the slots past them, never counted, hold `base`).
            unsafe { write_word_slots_v4(ends, base, ends_ptr.add(ends_len)) };
            // The ends past the first eight, left for the loop below.
            ends = if count > WORD_SLOTS {
                // SAFETY: BMI2 is part of what `v4_available` checked.
                ends & !unsafe { std::arch::x86_64::_pdep_u32(0xFF, ends) }
            } else {
                0
            };
        }
        if !V4 {
            let mut slots = [0usize; WORD_SLOTS];
            for slot in &mut slots {
                *slot = base + ends.trailing_zeros() as usize;
                ends &= ends.wrapping_sub(1);
            }
            // SAFETY: at most one word end per byte consumed since the run started: the ends
            // kept so far, this block's slots and its ends past them fit in the
            // `rest + WORD_SLOTS` reserved then.
            unsafe {
                ends_ptr
                    .add(ends_len)
                    .cast::<[usize; WORD_SLOTS]>()
                    .write_unaligned(slots)
            };
        }
        let mut extra = ends_len + WORD_SLOTS;
        while ends != 0 {
            // SAFETY: as above.
            unsafe {
                ends_ptr
                    .add(extra)
                    .write(base + ends.trailing_zeros() as usize)
            };
            extra += 1;
            ends &= ends - 1;
        }
        ends_len += count;
        i += k;
        if k == BLOCK && i < n {
            after_sep = sep >> 31 != 0;
            continue;
        }
        if i < n && (more_sep >> k) & 1 != 0 {
            // More separators after one already emitted as a space: skip them; the run goes
            // on if a word follows.
            while i < n && soft_separator(bytes[i]) {
                i += 1;
            }
            if i < n && LOWER[bytes[i] as usize] != 0 {
                // The next word starts after the skipped separators.
                last_sep = Some(i - 1);
                last_newlines = 0;
                after_sep = false;
                continue;
            }
        }
        if i < n && (bytes[i] == b'\n' || wide_separator(bytes, i)) {
            // Line breaks (a paragraph break when two or more) and curly quotes or dashes, with
            // separators around them: when a word follows, they become one separator, as the
            // per-character path would make them, and the run goes on (most runs of news text
            // used to end at each paragraph break or quotation mark and start again after it).
            let mut j = i;
            let mut newlines = 0usize;
            while j < n {
                if bytes[j] == b'\n' {
                    newlines += 1;
                } else if wide_separator(bytes, j) {
                    j += 2;
                } else if !soft_separator(bytes[j]) {
                    break;
                }
                j += 1;
            }
            if j < n && LOWER[bytes[j] as usize] != 0 {
                let byte = if newlines >= 2 { b'\n' } else { b' ' };
                // Whether the last byte kept is a separator (its word end is then recorded).
                let after = if k > 0 {
                    (sep >> (k - 1)) & 1 != 0
                } else {
                    after_sep
                };
                if after {
                    // SAFETY: a separator was kept, so `out_len >= 1`; it is rewritten in
                    // place.
                    unsafe { out_ptr.add(out_len - 1).write(byte) };
                } else {
                    // SAFETY: one byte and one word end for the line break consumed, within
                    // the room reserved for the run (see above).
                    unsafe {
                        out_ptr.add(out_len).write(byte);
                        ends_ptr.add(ends_len).write(out_len);
                    }
                    out_len += 1;
                    ends_len += 1;
                }
                if newlines >= 2 {
                    t.para_ends.push(ends_len);
                }
                last_sep = Some(j - 1);
                last_newlines = newlines;
                after_sep = false;
                i = j;
                continue;
            }
        }
        break;
    }
    // SAFETY: the first `out_len` bytes and `ends_len` word ends were written (each block's
    // kept part, and every end counted), within the capacity reserved above.
    unsafe {
        t.out.set_len(out_len);
        t.word_ends.set_len(ends_len);
    }
    let (word, word_start) = match last_sep {
        None => (first, first_start),
        Some(sep) => {
            let end = t.word_ends.last().copied().unwrap_or_default();
            // Before the previous word's end and its separator; a paragraph break is asked
            // again of the line breaks counted.
            let mark = Mark {
                out: end,
                word_ends: t.word_ends.len() - 1,
                para_ends: t.para_ends.len() - usize::from(last_newlines >= 2),
                newlines: last_newlines,
                hard_break: false,
                in_word: false,
            };
            (mark, sep + 1)
        }
    };
    // `i` is the first byte not taken.
    if t.out.last() == Some(&b' ') {
        // A separator the next word would have emitted, but no word followed in the run: take
        // it back; the per-character path sees what follows.
        t.restore(word);
        return RunEnd::At(i);
    }
    let gives_back = match bytes.get(i) {
        Some(b'\'' | b'`') => true,
        Some(&b) if b >= 0x80 => {
            // The word may go on with a non-ASCII letter, mark or apostrophe.
            let c = std::str::from_utf8(&bytes[i..(i + 4).min(n)])
                .or_else(|e| std::str::from_utf8(&bytes[i..i + e.valid_up_to()]))
                .ok()
                .and_then(|s| s.chars().next());
            c.is_none_or(|c| is_word_char(c) || is_apostrophe(c))
        }
        _ => false,
    };
    if gives_back {
        t.restore(word);
        RunEnd::Word(word_start)
    } else {
        t.in_word = false;
        RunEnd::At(i)
    }
}

/// The first index at or after `i` whose byte is not an ASCII letter or digit (or `b.len()`).
///
/// Eight bytes at a time: each byte's class comes from carry-free range tests on the word
/// (every byte is first cut to 7 bits, so adding a bias below 0x80 cannot carry into the next
/// byte), and the first failing byte is found with one `trailing_zeros`. Words in news text
/// average about six bytes, so most words end inside the first load, without a branch per
/// byte.
#[inline]
fn skip_ascii_alnum(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// Per byte: the high bit set where `x >= lo` (for `x < 0x80`, `1 <= lo <= 0x80`).
    #[inline(always)]
    fn at_least(x: u64, lo: u8) -> u64 {
        x + ONES * u64::from(0x80 - lo)
    }
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let x = w & !HIGH;
        let digit = at_least(x, b'0') & !at_least(x, b'9' + 1);
        let y = x | (ONES * 0x20);
        let letter = at_least(y, b'a') & !at_least(y, b'z' + 1);
        // Non-ASCII bytes (high bit set in `w`) are never alphanumeric here.
        let stop = (!(digit | letter) & HIGH) | (w & HIGH);
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && LOWER[b[i] as usize] != 0 {
        i += 1;
    }
    i
}

/// `LOWER[b]`: the lower-case form of an ASCII letter or digit, 0 for every other byte.
const LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// NFKC and lower-case of a non-ASCII word, repeated to a fixed point: lower-casing after NFKC
/// can leave text that NFKC changes again (Greek with iota subscripts, found by fuzzing), and
/// the canonical form must be stable under renormalization. Two rounds settle every case seen;
/// the cap keeps the cost bounded regardless.
fn fold_word(w: &str) -> String {
    let mut cur: String = if unicode_normalization::is_nfkc_quick(w.chars())
        == unicode_normalization::IsNormalized::Yes
    {
        w.to_string()
    } else {
        w.nfkc().collect()
    };
    for _ in 0..4 {
        let lowered: String = cur.chars().flat_map(char::to_lowercase).collect();
        let next: String = if unicode_normalization::is_nfkc_quick(lowered.chars())
            == unicode_normalization::IsNormalized::Yes
        {
            lowered
        } else {
            lowered.nfkc().collect()
        };
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// Characters that belong to a word before NFKC: letters, digits and combining marks.
#[inline]
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if GENERAL_PUNCTUATION.contains(&c) {
        // Curly quotes, dashes, ellipses and special spaces, the non-ASCII characters news
        // text has most: none is a letter, digit or mark (a test checks the whole block), and
        // the Unicode tables' slow lookup is skipped.
        false
    } else {
        c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
    }
}

/// The General Punctuation block.
const GENERAL_PUNCTUATION: std::ops::RangeInclusive<char> = '\u{2000}'..='\u{206F}';

/// Reads one word starting at byte `start` on the character path, emits it, and returns the
/// byte position after it (the separator that ends it is left for the caller).
fn char_word(s: &str, start: usize, word: &mut String, t: &mut Tokenizer<'_>) -> usize {
    word.clear();
    let mut ascii = true;
    let mut end = s.len();
    for (off, c) in s[start..].char_indices() {
        if is_word_char(c) {
            word.push(c);
            ascii &= c.is_ascii();
        } else if is_apostrophe(c) && !word.is_empty() {
            // `don’t` stays one word; a quote that closes a word is just dropped.
        } else {
            end = start + off;
            break;
        }
    }
    t.word(word, ascii);
    end
}

/// Writes canonical words into the [`Normalizer`]'s buffers, recording where each word and
/// paragraph ends as it goes.
struct Tokenizer<'a> {
    /// UTF-8 bytes: ASCII is pushed byte by byte, other characters encoded; always valid.
    out: &'a mut Vec<u8>,
    word_ends: &'a mut Vec<usize>,
    para_ends: &'a mut Vec<usize>,
    /// Line breaks seen since the last word; two or more (or a block tag) make a paragraph break.
    newlines: usize,
    hard_break: bool,
    in_word: bool,
}

impl Tokenizer<'_> {
    #[inline]
    fn start_word(&mut self) {
        if !self.in_word {
            if !self.out.is_empty() {
                // The previous word ends here; a paragraph too, if a break came since.
                self.word_ends.push(self.out.len());
                if self.hard_break || self.newlines >= 2 {
                    self.para_ends.push(self.word_ends.len());
                    self.out.push(b'\n');
                } else {
                    self.out.push(b' ');
                }
            }
            self.newlines = 0;
            self.hard_break = false;
            self.in_word = true;
        }
    }

    /// Closes the last word and paragraph.
    fn finish(&mut self) {
        if !self.out.is_empty() {
            self.word_ends.push(self.out.len());
            self.para_ends.push(self.word_ends.len());
        }
    }

    #[inline]
    fn separator(&mut self, c: char) {
        self.in_word = false;
        if c == '\n' {
            self.newlines += 1;
        } else if c == BREAK {
            self.hard_break = true;
        }
    }

    /// Emits one raw word: NFKC where needed, lower-cased; characters that NFKC turns into
    /// non-alphanumerics (`½` gives a fraction slash) split it.
    fn word(&mut self, w: &str, ascii: bool) {
        if w.is_empty() {
            return;
        }
        if ascii {
            self.start_word();
            self.out.extend(w.bytes().map(|b| b.to_ascii_lowercase()));
        } else {
            for c in fold_word(w).chars() {
                self.normalized_char(c);
            }
        }
        self.in_word = false;
    }

    #[inline]
    fn normalized_char(&mut self, c: char) {
        if c.is_ascii_alphanumeric() {
            self.start_word();
            self.out.push(c.to_ascii_lowercase() as u8);
        } else if c.is_alphanumeric() {
            self.start_word();
            // A few letters lower-case to a letter plus a combining mark (`İ`); keep the
            // letters only, so the output stays alphanumeric.
            for l in c.to_lowercase().filter(|l| l.is_alphanumeric()) {
                let mut buf = [0u8; 4];
                self.out
                    .extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
            }
        } else {
            // A combining mark left uncomposed, or a non-alphanumeric from NFKC: a word break.
            self.in_word = false;
        }
    }
}

/// Returns the number of words in `text` after normalization, without keeping the result.
pub fn count_words(raw: &str) -> usize {
    normalize(raw).word_count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> String {
        normalize(s).text
    }

    #[test]
    fn strips_tag_debris_and_entities() {
        assert_eq!(n("< p>Hello&nbsp;world<br />again"), "hello world\nagain");
        assert_eq!(n("<&nbsp;p>The Round"), "the round");
        assert_eq!(n("Tom &amp; Jerry</ p >"), "tom jerry");
        assert_eq!(n("a<b>bold</b>c"), "a bold c");
        assert_eq!(n("x <!-- hidden --> y"), "x y");
        assert_eq!(n("<script>var a = '<p>';</script>Story"), "story");
        assert_eq!(n("<STYLE>p{}</STYLE>Story"), "story");
    }

    #[test]
    fn keeps_text_that_only_looks_like_tags() {
        assert_eq!(n("a < b and c > d"), "a b and c d");
        assert_eq!(n("I <3 news"), "i 3 news");
    }

    #[test]
    fn folds_quotes_dashes_and_case() {
        assert_eq!(n("Don’t “Quote” — It"), n("don't \"quote\" - it"));
        assert_eq!(n("ＦＵＬＬ width"), "full width");
        assert_eq!(n("ÉCOLE"), "école");
    }

    #[test]
    fn paragraphs_split_on_blank_lines_only() {
        assert_eq!(n("one\ntwo\n\nthree"), "one two\nthree");
        assert_eq!(n("one\r\n\r\ntwo"), "one\ntwo");
        assert_eq!(n("one\n \n\t\ntwo"), "one\ntwo");
        assert_eq!(n("\n\n  lead  \n\n"), "lead");
        assert_eq!(normalize("a b\n\nc").paragraphs().count(), 2);
    }

    #[test]
    fn empty_and_punctuation_only() {
        assert_eq!(n(""), "");
        assert_eq!(n("  ...  \n\n -- "), "");
        assert_eq!(normalize("").word_count(), 0);
        assert_eq!(normalize("a b\nc").word_count(), 3);
    }

    #[test]
    fn found_by_fuzzing() {
        // Lower-casing after NFKC left text that NFKC changes again.
        let once = n("\u{38F}\u{345}");
        assert_eq!(n(&once), once);
        // U+0001 in the input is not a paragraph break (it is the internal marker).
        assert_eq!(n("a\u{1}b"), "a b");
        assert_eq!(n("a\u{2}b"), "a b");
    }

    #[test]
    fn runs_hand_back_exactly() {
        // A word given back to the per-word path after a paragraph break (found by the
        // property test below): the break must be taken back with it.
        for s in [
            "0\n\n0'",
            "a, b. c",
            "a  b",
            "end. ",
            "x\u{2019}s y",
            "café au lait",
            "l’école",
            "“Quote,” he said.",
            "He said: “Yes.”\n\n“No” – maybe… “José”—then\n“l’école”",
            "abcdefghijklmnopqrstuvwxyz0123456789 abcdefghijklmnopqrstuvwxyz0123456789, ok",
            // More words ending in one 32-byte block than the slots written unconditionally.
            "a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 0",
            "I, a b. c d e; f g h i j k-l m n o p",
        ] {
            let mut fast = Normalizer::default();
            let mut slow = Normalizer::default();
            let mut dispatched = Normalizer::default();
            let a = fast.run_with::<true, false, false>(s);
            let b = slow.run_with::<false, false, false>(s);
            // `run` takes the AVX2 blocks where the CPU has them (and AVX-512 word ends).
            let c = dispatched.run(s);
            assert_eq!(a.text(), b.text(), "{s:?}");
            assert_eq!(a.word_ends, b.word_ends, "{s:?}");
            assert_eq!(a.para_ends, b.para_ends, "{s:?}");
            assert_eq!(c.text(), b.text(), "{s:?}");
            assert_eq!(c.word_ends, b.word_ends, "{s:?}");
            assert_eq!(c.para_ends, b.para_ends, "{s:?}");
        }
        assert_eq!(n("0\n\n0'"), "0\n0");
        assert_eq!(n("Tuesday, dickpou. Then"), "tuesday dickpou then");
    }

    #[test]
    fn classify_matches_the_definition() {
        // Every byte value in every lane.
        for b in 0..=255u8 {
            for lane in 0..BLOCK {
                let mut block = [b'a'; BLOCK];
                block[lane] = b;
                block[(lane + 7) % BLOCK] = 255 - b;
                assert_eq!(
                    classify(&block),
                    classify_bytes(&block),
                    "byte {b:#x} in lane {lane}"
                );
                #[cfg(target_arch = "x86_64")]
                if v3_available() {
                    // SAFETY: the CPU has AVX2 (checked just above).
                    let wide = unsafe { classify_avx2(&block) };
                    assert_eq!(wide, classify_bytes(&block), "byte {b:#x} in lane {lane}");
                }
            }
        }
    }

    #[test]
    fn general_punctuation_has_no_word_characters() {
        for c in GENERAL_PUNCTUATION {
            assert!(
                !c.is_alphanumeric() && !unicode_normalization::char::is_combining_mark(c),
                "{c:?}"
            );
        }
    }

    #[test]
    fn unclosed_script_drops_rest() {
        assert_eq!(n("keep <script> never closed"), "keep");
    }

    /// Words and paragraphs as the canonical text spells them.
    fn split(text: &str) -> Vec<Vec<String>> {
        text.split('\n')
            .filter(|p| !p.is_empty())
            .map(|p| p.split(' ').map(str::to_owned).collect())
            .collect()
    }

    /// Words and paragraphs as the recorded boundaries give them.
    fn recorded(r: &NormalizedRef<'_>) -> Vec<Vec<String>> {
        r.paragraphs()
            .map(|p| {
                p.words()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn skip_ascii_alnum_matches_the_table() {
        // Every byte value at every position of a 8-byte load, and the tail.
        for b in 0..=255u8 {
            for pos in 0..12 {
                let mut v = vec![b'a'; 12];
                v[pos] = b;
                for start in 0..=pos {
                    let got = skip_ascii_alnum(&v, start);
                    let want = (start..v.len())
                        .find(|&k| LOWER[v[k] as usize] == 0)
                        .unwrap_or(v.len());
                    assert_eq!(got, want, "byte {b:#x} at {pos}, from {start}");
                }
            }
        }
    }

    #[test]
    fn boundaries_match_the_text() {
        let mut nz = Normalizer::default();
        let r = nz.run("<p>Don’t stop</p>&nbsp;ÉCOLE ½ ﬁne\n\nlast-one");
        assert_eq!(r.text(), "dont stop\nécole 1 2 fine\nlast one");
        assert_eq!(recorded(&r), split(r.text()));
        assert_eq!(r.word_count(), 8);
        let texts: Vec<&str> = r.paragraphs().map(|p| p.text).collect();
        assert_eq!(texts, ["dont stop", "école 1 2 fine", "last one"]);
        assert_eq!(nz.run("").paragraphs().count(), 0);
        assert_eq!(nz.run(" ... ").word_count(), 0);
    }

    proptest! {
        #[test]
        fn recorded_boundaries_are_the_separators(s in "\\PC{0,200}", t in "[a-z <>&;\n]{0,80}") {
            // One normalizer over several documents: nothing leaks from one to the next.
            let mut nz = Normalizer::default();
            for doc in [s.as_str(), t.as_str(), s.as_str()] {
                let r = nz.run(doc);
                prop_assert_eq!(r.text(), n(doc));
                prop_assert_eq!(recorded(&r), split(r.text()));
                prop_assert_eq!(r.word_count(), normalize(doc).word_count());
            }
        }

        #[test]
        fn runs_change_nothing(s in "([a-zA-Z0-9]{1,12}[ ,.'`\n]{0,3}|[a-z0-9]{1,2} |[ ]{1,3}|[éÉ\u{301}’—½ﬁ“”–…©]|[-\"()?!\r\t&<>]){0,60}") {
            // Text made mostly of ASCII words and single spaces, with every kind of byte that
            // ends a run at every position: the run path and the per-word path agree exactly,
            // and so does `run`, which takes the x86-64-v3 copy of the run path where it can
            // (the AVX-512 one where the CPU has it).
            let mut fast = Normalizer::default();
            let mut slow = Normalizer::default();
            let mut dispatched = Normalizer::default();
            let a = fast.run_with::<true, false, false>(&s);
            let b = slow.run_with::<false, false, false>(&s);
            let c = dispatched.run(&s);
            prop_assert_eq!(a.text(), b.text());
            prop_assert_eq!(a.word_ends, b.word_ends);
            prop_assert_eq!(a.para_ends, b.para_ends);
            prop_assert_eq!(c.text(), b.text());
            prop_assert_eq!(c.word_ends, b.word_ends);
            prop_assert_eq!(c.para_ends, b.para_ends);
        }

        #[test]
        fn output_is_canonical(s in "\\PC{0,200}") {
            let t = n(&s);
            prop_assert!(!t.starts_with(' ') && !t.starts_with('\n'));
            prop_assert!(!t.ends_with(' ') && !t.ends_with('\n'));
            prop_assert!(!t.contains("  ") && !t.contains("\n\n") && !t.contains(" \n") && !t.contains("\n "));
            prop_assert!(t.chars().all(|c| c == ' ' || c == '\n' || c.is_alphanumeric()));
        }

        #[test]
        fn idempotent(s in "\\PC{0,200}") {
            let once = n(&s);
            // Paragraph breaks in the canonical form are single `\n`; re-normalizing the text
            // with those breaks written as blank lines must give the same form back.
            let again = n(&once.replace('\n', "\n\n"));
            prop_assert_eq!(once, again);
        }

        #[test]
        fn markup_does_not_change_words(words in proptest::collection::vec("[a-z]{1,8}", 1..20)) {
            let plain = words.join(" ");
            let html = words.iter().map(|w| format!("<span class=\"x\">{w}</span>&nbsp;")).collect::<String>();
            prop_assert_eq!(n(&plain), n(&html));
        }
    }
}
