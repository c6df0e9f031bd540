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
//! tokenized in one pass, eight bytes at a time inside ASCII words; HTML takes one more pass per
//! kind of markup. A [`Normalizer`] reuses its buffers, so normalizing many documents allocates
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
        std::str::from_utf8(self.text).unwrap_or_default()
    }

    /// Paragraphs in order; none is empty.
    pub fn paragraphs(&self) -> impl Iterator<Item = Paragraph<'a>> + 'a {
        let text = self.text();
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
        canonical_words(src, word, &mut t);
        t.finish();
        NormalizedRef {
            text: out,
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
fn canonical_words(s: &str, word: &mut String, t: &mut Tokenizer<'_>) {
    let bytes = s.as_bytes();
    let n = bytes.len();
    t.out.reserve(n);
    let mut i = 0;
    'outer: while i < n {
        let b = bytes[i];
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
                    Some(&[b' ', next]) if LOWER[next as usize] != 0 => i += 1,
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
    } else {
        c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
    }
}

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
