//! The fast path for the common JSONL record: one flat object whose values are strings,
//! integers, booleans or null, without escapes in its keys.
//!
//! serde_json is the reference: it decides what is valid and words every error message. This
//! parser only has to agree with it on the records it accepts; on anything else (nesting,
//! fractions and exponents, escaped keys, lone surrogates, control characters, any syntax
//! error) it returns `None` and the record goes to serde_json. A differential property test
//! holds the two to the same fields on generated records, valid and not.
//!
//! Why it exists: serde_json parses a record into a fresh scratch buffer per deserializer that
//! grows by doubling, and the field visitor then copies the string out again; for a 2.6 KB
//! article that is a dozen reallocations and two copies. Here each string is scanned sixteen
//! bytes at a time (SSE2 on x86-64; eight in a machine word elsewhere and for the tail) for
//! the three bytes that end a plain stretch (`"`, `\`, control characters) and copied once
//! into a string of the right size.
//!
//! Cost: O(bytes) per record, one allocation per kept string field except the text, which the
//! reader unescapes into the buffer of the last text its thread released.

use super::{FieldValue, Fields};

/// Parses `line` (one record, already valid UTF-8) into its interesting fields, or `None` when
/// the record needs serde_json (see the module docs).
#[cfg(test)]
pub(super) fn parse_fields(line: &str, id_field: &str, text_field: &str) -> Option<Fields> {
    parse_fields_reusing(line, id_field, text_field, &mut String::new())
}

/// [`parse_fields`], unescaping the text field into `spare`'s buffer (taken; its capacity is
/// reused) when the text key has no other role.
pub(super) fn parse_fields_reusing(
    line: &str,
    id_field: &str,
    text_field: &str,
    spare: &mut String,
) -> Option<Fields> {
    let mut p = Parser {
        s: line,
        b: line.as_bytes(),
        i: 0,
    };
    p.ws();
    p.eat(b'{')?;
    let mut fields = Fields::default();
    p.ws();
    if p.peek() == Some(b'}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            p.eat(b'"')?;
            let key = p.plain_key()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let roles = super::roles_of(key, id_field, text_field);
            if roles == 0 {
                p.skip_value()?;
            } else if roles == super::ROLE_TEXT && p.peek() == Some(b'"') {
                p.i += 1;
                let text = p.string_reusing(std::mem::take(spare))?;
                super::assign(&mut fields, roles, FieldValue::Str(text));
            } else {
                let value = p.value()?;
                super::assign(&mut fields, roles, value);
            }
            p.ws();
            match p.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(fields)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// JSON whitespace, as serde_json reads it.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A key after its opening quote, when it has no escape.
    fn plain_key(&mut self) -> Option<&'a str> {
        let start = self.i;
        let end = find_special(self.b, start)?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        self.s.get(start..end)
    }

    /// A string after its opening quote, unescaped into `out`.
    fn string_into(&mut self, out: &mut String) -> Option<()> {
        loop {
            let end = find_special(self.b, self.i)?;
            out.push_str(self.s.get(self.i..end)?);
            self.i = end + 1;
            match self.b[end] {
                b'"' => return Some(()),
                b'\\' => {}
                // A raw control character: invalid JSON.
                _ => return None,
            }
            let c = match self.next()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    if (0xDC00..0xE000).contains(&hi) {
                        return None;
                    }
                    if (0xD800..0xDC00).contains(&hi) {
                        // Only a complete surrogate pair; serde_json words the rest.
                        self.eat(b'\\')?;
                        self.eat(b'u')?;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                    } else {
                        char::from_u32(hi)?
                    }
                }
                _ => return None,
            };
            out.push(c);
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.b.get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// A string field's value, in a string of the raw length (an upper bound of the
    /// unescaped one, so it never grows).
    fn string(&mut self) -> Option<String> {
        self.string_reusing(String::new())
    }

    /// [`Parser::string`] into `out`'s buffer (cleared first).
    fn string_reusing(&mut self, mut out: String) -> Option<String> {
        // Up to the next quote: the length of the string unless it holds an escaped quote.
        let end = memchr::memchr(b'"', &self.b[self.i..]).unwrap_or(0);
        out.clear();
        out.reserve(end);
        self.string_into(&mut out)?;
        Some(out)
    }

    /// An integer that serde_json reads as one and prints back the same: no fraction or
    /// exponent, no leading zero, no `-0`, at most 18 digits (so it fits either way).
    fn integer(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let n = self.i - digits;
        if n == 0 || n > 18 || (self.b[digits] == b'0' && (n > 1 || digits > start)) {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.s.get(start..self.i)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self) -> Option<FieldValue> {
        Some(match self.peek()? {
            b'"' => {
                self.i += 1;
                FieldValue::Str(self.string()?)
            }
            b'-' | b'0'..=b'9' => FieldValue::Int(self.integer()?.to_owned()),
            b't' => {
                self.literal(b"true")?;
                FieldValue::Other("boolean")
            }
            b'f' => {
                self.literal(b"false")?;
                FieldValue::Other("boolean")
            }
            b'n' => {
                self.literal(b"null")?;
                FieldValue::Other("null")
            }
            _ => return None,
        })
    }

    /// A value of a field nobody reads: checked as [`Parser::value`] would, nothing kept.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                // Most such strings have no escape: check them without copying.
                let end = find_special(self.b, self.i)?;
                if self.b[end] == b'"' {
                    self.i = end + 1;
                } else {
                    self.string_into(&mut String::new())?;
                }
            }
            b'-' | b'0'..=b'9' => {
                self.integer()?;
            }
            _ => {
                self.value()?;
            }
        }
        Some(())
    }
}

/// The first position at or after `i` holding `"`, `\` or a control character (below 0x20):
/// sixteen bytes at a time with SSE2 (part of every x86-64 CPU), then [`find_special_words`].
#[cfg(target_arch = "x86_64")]
fn find_special(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(Ok(chunk)) = b.get(i..i + 16).map(<[u8; 16]>::try_from) {
        // SAFETY: SSE2 is part of the x86-64 baseline; the function only computes on values.
        let hits = unsafe { special_mask(chunk) };
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize);
        }
        i += 16;
    }
    find_special_words(b, i)
}

#[cfg(not(target_arch = "x86_64"))]
fn find_special(b: &[u8], i: usize) -> Option<usize> {
    find_special_words(b, i)
}

/// One bit per byte of `chunk`: set for `"`, `\` and bytes below 0x20.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn special_mask(chunk: [u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&chunk[..8]);
    hi.copy_from_slice(&chunk[8..]);
    let v = _mm_set_epi64x(i64::from_le_bytes(hi), i64::from_le_bytes(lo));
    let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
    let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
    // Unsigned "below 0x20": the byte equals its minimum with 0x1F.
    let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
}

/// [`find_special`] eight bytes at a time in a machine word, on any target.
fn find_special_words(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Exact per-byte tests: every add is on 7-bit values, so no carry crosses a byte.
    let equal = |w: u64, c: u8| {
        let z = w ^ (ONES * u64::from(c));
        !(((z & !HIGH) + ONES * 0x7F) | z) & HIGH
    };
    while let Some(chunk) = b.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let w = u64::from_le_bytes(bytes);
        let control = !((w & !HIGH) + ONES * (0x80 - 0x20)) & !w & HIGH;
        let hit = equal(w, b'"') | equal(w, b'\\') | control;
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_fields(line: &str, id: &str, text: &str) -> Option<Fields> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_str(line);
        let seed = super::super::RecordSeed {
            id_field: id,
            text_field: text,
        };
        let parsed = seed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        match parsed {
            super::super::Parsed::Object(f) => Some(f),
            super::super::Parsed::NotObject(_) => None,
        }
    }

    /// The fast path accepts only what serde_json accepts, with the same fields.
    fn agrees(line: &str, id: &str, text: &str) -> Result<(), TestCaseError> {
        // A reused text buffer holding an earlier record's text changes nothing.
        let mut spare = String::from("an earlier record's text, longer than most generated ones");
        let reused = parse_fields_reusing(line, id, text, &mut spare);
        prop_assert_eq!(&reused, &parse_fields(line, id, text), "{:?}", line);
        if let Some(fast) = reused {
            let slow = serde_fields(line, id, text);
            prop_assert!(
                slow.is_some(),
                "fast path accepted what serde_json rejects: {line:?}"
            );
            prop_assert_eq!(Some(fast), slow, "{:?}", line);
        }
        Ok(())
    }

    #[test]
    fn plain_records() {
        let line = r#"{"id":"a1","text":"Hello\n\n\"world\" \u00e9\ud83d\ude00 \/ \\ \t","source":"x.com","published":"2025-01-01T00:00:00Z","extra":[1,2]}"#;
        // The array in an unread field sends the record to serde_json.
        assert!(parse_fields(line, "id", "text").is_none());
        let line = r#" { "id" : 42 , "text" : "Hello\n\n\"world\" \u00e9\ud83d\ude00 \/ \\ \t" , "n": -7, "ok": true, "z": null, "s": "x\"y" } "#;
        let f = parse_fields(line, "id", "text").expect("fast path");
        assert_eq!(f.id, Some(FieldValue::Int("42".into())));
        assert_eq!(
            f.text,
            Some(FieldValue::Str("Hello\n\n\"world\" é😀 / \\ \t".into()))
        );
        assert_eq!(Some(f), serde_fields(line, "id", "text"));
        assert!(parse_fields("{}", "id", "text").is_some());
    }

    #[test]
    fn hands_over_what_it_does_not_handle() {
        for line in [
            r#"{"id":1.5,"text":"a"}"#,
            r#"{"id":1e3,"text":"a"}"#,
            r#"{"id":-0,"text":"a"}"#,
            r#"{"id":0123,"text":"a"}"#,
            r#"{"id":12345678901234567890,"text":"a"}"#,
            r#"{"i\u0064":"x","text":"a"}"#,
            r#"{"id":"x","text":"\ud800"}"#,
            r#"{"id":"x","text":"\udc00"}"#,
            r#"{"id":"x","text":"\ud800\u0041"}"#,
            r#"{"id":"x","text":"\x"}"#,
            "{\"id\":\"x\",\"text\":\"a\u{1}b\"}",
            r#"{"id":"x","text":"a"} x"#,
            r#"{"id":"x","text":"a",}"#,
            r#"{"id":"x" "text":"a"}"#,
            r#"{"id":"x","text":{"a":1}}"#,
            r#"["id"]"#,
            r#"{"id":"x","text":"a"#,
            r#"{"id":tru,"text":"a"}"#,
        ] {
            assert!(parse_fields(line, "id", "text").is_none(), "{line}");
        }
    }

    #[test]
    fn keys_may_share_roles_and_the_last_duplicate_wins() {
        let line = r#"{"id":"a","source":"s","id":"b","text":"t"}"#;
        let f = parse_fields(line, "source", "id").expect("fast path");
        assert_eq!(Some(&f), serde_fields(line, "source", "id").as_ref());
        assert_eq!(f.text, Some(FieldValue::Str("b".into())));
    }

    #[test]
    fn find_special_matches_a_byte_loop() {
        // Every byte value at every position of a 16-byte load, an 8-byte word and the tail.
        for b in 0..=255u8 {
            for pos in 0..40 {
                let mut v = vec![b'a'; 40];
                v[pos] = b;
                for start in 0..=pos {
                    let want =
                        (start..v.len()).find(|&k| v[k] == b'"' || v[k] == b'\\' || v[k] < 0x20);
                    assert_eq!(find_special(&v, start), want, "byte {b:#x} at {pos}");
                    assert_eq!(find_special_words(&v, start), want, "byte {b:#x} at {pos}");
                }
            }
        }
    }

    /// Pieces of records: mostly well-formed, with every kind of thing the fast path must
    /// hand over, at random places.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#""id""#.to_string()),
            Just(r#""text""#.to_string()),
            Just(r#""source""#.to_string()),
            Just(r#""published""#.to_string()),
            Just(r#""other""#.to_string()),
            "\"[a-z \\\\\"/bfnrtu0-9A-Fé😀\u{1}]{0,12}\"",
            "-?[0-9]{1,21}",
            "-?[0-9]\\.[0-9]e?",
            Just("true".into()),
            Just("false".into()),
            Just("null".into()),
            Just("[1, \"x\"]".into()),
            Just("{\"a\": {}}".into()),
            Just(r#""\ud83d\ude00""#.into()),
            Just(r#""\ud83d""#.into()),
            Just(":".into()),
            Just(",".into()),
            Just(" ".into()),
            Just("\t".into()),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(pieces in proptest::collection::vec(piece(), 0..14), close in any::<bool>()) {
            let mut line = String::from("{");
            line.push_str(&pieces.concat());
            if close {
                line.push('}');
            }
            agrees(&line, "id", "text")?;
            agrees(&line, "source", "id")?;
        }

        /// About a fifth of these are valid JSON, and the fast path takes nine in ten of those.
        #[test]
        fn agrees_on_well_formed_records(
            fields in proptest::collection::vec((piece(), piece()), 0..6),
        ) {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let line = format!("{{{}}}", body.join(","));
            agrees(&line, "id", "text")?;
        }
    }
}
