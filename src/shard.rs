//! Shards: the prepared form of part of a corpus, so that a run can be split across machines
//! that share nothing (Slurm arrays, plain batch jobs).
//!
//! `wiredup sketch` reads one shard of the input, normalizes and shingles it (the costly, per
//! document half of the pipeline: about two thirds of a run's CPU time) and writes a shard
//! file. `wiredup cluster-shards` reads any number of shard files and runs the rest:
//! boilerplate learning, story sets, MinHash, LSH, verification and clustering. Boilerplate is
//! a property of the whole corpus (a paragraph is boilerplate when many documents carry it),
//! which is why the per-document signatures cannot be final in a shard; what a shard carries
//! is everything those stages need: per document its id, source, publication time, origin,
//! paragraph hashes and word counts, and its raw shingles by paragraph.
//!
//! Invariant (tested): `cluster-shards A.wds B.wds` gives byte-identical output to
//! `wiredup cluster a.jsonl b.jsonl` with the same options, whatever the thread counts (for
//! shards of this build: those of format 1 and 2 hashed words with xxh3, so their output is
//! that of a run with that word hash).
//!
//! The file is a framed file (`src/framed.rs`: magic `\x89WDS\r\n\x1a\n`, version, checksum,
//! written atomically), specified in FORMAT.md. Size: 4 bytes per raw shingle plus 16 per
//! paragraph, so roughly 1.7 KB per news article (version 1 stored 8 bytes per shingle: 323 MB
//! for 100,000 generated articles of 262 MB of JSON; version 1 files are still read, their
//! shingles narrowed as [`crate::shingle::narrow`] does). Reading checks every count against
//! the bytes left and every paragraph's shingle range, so a damaged or hostile file is an
//! error, never a panic.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use crate::framed::{self, bad, le_u32, le_u64, BodyReader, BodyWriter, OpenError, ReadFail};
use crate::io::{Document, Origin};
use crate::pipeline::{ParagraphMeta, Prepared};
use crate::shingle::{narrow, Shingle, ShingleConfig, ShingleHash, ShingleKind};

/// Format version written by this build (and the newest it reads). Version 3 records the
/// shingle hash ([`ShingleHash`]); versions 1 and 2 hashed words with xxh3, version 1 stored
/// shingles in 64 bits.
pub const FORMAT_VERSION: u32 = 3;

/// Magic number of shard files: a non-ASCII byte, `WDS`, CR LF, Ctrl-Z, LF.
pub const MAGIC: [u8; 8] = *b"\x89WDS\r\n\x1a\n";

/// What went wrong with a shard file.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The file does not start with the shard magic number.
    #[error("{path}: not a wiredup shard (bad magic number)")]
    NotAShard { path: String },
    /// A format version this build cannot read.
    #[error("{path}: shard format version {found} is not supported (this build reads version 1 to {FORMAT_VERSION}); sketch it again")]
    Version { path: String, found: u32 },
    /// Truncated, damaged or inconsistent.
    #[error("{path}: corrupt shard: {what}")]
    Corrupt { path: String, what: String },
    /// Shards made with other shingle options than requested (or than each other).
    #[error("{path}: sketched with {found}, but this run uses {wanted}; {remedy}")]
    OptionsMismatch {
        path: String,
        found: String,
        wanted: String,
        /// What to do about it.
        remedy: &'static str,
    },
    /// The same document id in two shards (or twice in one).
    #[error("{path}: duplicate id {id:?} (first seen in {first})")]
    DuplicateId {
        path: String,
        id: String,
        first: String,
    },
}

/// The documents of one or more shards, in order, with their prepared forms.
#[derive(Debug, Default)]
pub struct Shards {
    /// Documents (ids, sources, times, origins; texts are not kept).
    pub docs: Vec<Document>,
    /// `prepared[i]` belongs to `docs[i]`.
    pub prepared: Vec<Prepared>,
}

/// Writes a shard file atomically: `docs[i]` prepared as `prepared[i]` with `shingle`.
///
/// # Errors
///
/// [`ShardError::Io`] when the file cannot be written (nothing is left at `path` then).
pub fn write(
    path: &Path,
    shingle: &ShingleConfig,
    docs: &[Document],
    prepared: &[Prepared],
) -> Result<(), ShardError> {
    let io_err = |source| ShardError::Io {
        path: path.display().to_string(),
        source,
    };
    if docs.len() != prepared.len() {
        return Err(io_err(io::Error::other(
            "documents and prepared forms differ in number",
        )));
    }
    framed::save_atomic(path, &MAGIC, FORMAT_VERSION, |w| {
        write_body(w, shingle, docs, prepared)
    })
    .map_err(io_err)
}

fn write_body<W: Write>(
    w: &mut BodyWriter<W>,
    shingle: &ShingleConfig,
    docs: &[Document],
    prepared: &[Prepared],
) -> io::Result<()> {
    w.put(&[
        match shingle.kind {
            ShingleKind::Words => 0,
            ShingleKind::Chars => 1,
        },
        shingle.hash.byte(),
    ])?;
    w.u32(u32::try_from(shingle.k).map_err(|_| io::Error::other("k over 2^32"))?)?;
    w.u64(shingle.seed)?;
    w.u64(docs.len() as u64)?;
    let mut buf: Vec<u8> = Vec::new();
    for (d, p) in docs.iter().zip(prepared) {
        w.str(&d.id)?;
        let flags = u8::from(d.source.is_some()) | (u8::from(d.published.is_some()) << 1);
        w.put(&[flags])?;
        if let Some(s) = &d.source {
            w.str(s)?;
        }
        if let Some(s) = &d.published {
            w.str(s)?;
        }
        w.str(&d.origin.file)?;
        w.u64(d.origin.line)?;
        buf.clear();
        encode_prepared(&p.paragraphs, &p.paragraph_meta, &p.shingles, &mut buf)?;
        w.put(&buf)?;
    }
    Ok(())
}

/// Appends a prepared document in the shard layout (also the record of an out-of-core run's
/// spill file): paragraph count (u32), per paragraph its hash (u64), word count and shingle
/// end (u32 each), shingle count (u32), the shingles (u32 each); little-endian.
pub(crate) fn encode_prepared(
    paragraphs: &[u64],
    meta: &[ParagraphMeta],
    shingles: &[Shingle],
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let count = |n: usize| u32::try_from(n).map_err(|_| io::Error::other("count over 2^32"));
    buf.reserve(8 + 16 * paragraphs.len() + 4 * shingles.len());
    buf.extend_from_slice(&count(paragraphs.len())?.to_le_bytes());
    for (&h, m) in paragraphs.iter().zip(meta) {
        buf.extend_from_slice(&h.to_le_bytes());
        buf.extend_from_slice(&m.words.to_le_bytes());
        buf.extend_from_slice(&m.shingle_end.to_le_bytes());
    }
    buf.extend_from_slice(&count(shingles.len())?.to_le_bytes());
    for &s in shingles {
        buf.extend_from_slice(&s.to_le_bytes());
    }
    Ok(())
}

/// Paragraphs from `np * 16` bytes of [`encode_prepared`]'s layout.
fn decode_paragraphs(b: &[u8]) -> (Vec<u64>, Vec<ParagraphMeta>) {
    b.chunks_exact(16)
        .map(|c| {
            let meta = ParagraphMeta {
                words: le_u32(c, 8),
                shingle_end: le_u32(c, 12),
            };
            (le_u64(c, 0), meta)
        })
        .unzip()
}

/// Paragraph shingle ranges must be ordered and end at the shingle count: later stages slice
/// the shingles by them.
fn check_ranges(meta: &[ParagraphMeta], ns: usize) -> Result<(), String> {
    let mut prev = 0u32;
    for m in meta {
        if m.shingle_end < prev || m.shingle_end as usize > ns {
            return Err(format!(
                "paragraph shingle ranges out of order or past the {ns} shingles"
            ));
        }
        prev = m.shingle_end;
    }
    if prev as usize != ns && !(meta.is_empty() && ns == 0) {
        return Err(format!("paragraphs cover {prev} of its {ns} shingles"));
    }
    Ok(())
}

/// Decodes one [`encode_prepared`] record from the start of `b`: the document and the bytes
/// it took. Every count is checked against the bytes there, so damage is an error.
pub(crate) fn decode_prepared(b: &[u8]) -> Result<(Prepared, usize), String> {
    let u32_at = |at: usize| -> Result<usize, String> {
        b.get(at..at + 4)
            .map(|c| le_u32(c, 0) as usize)
            .ok_or_else(|| "record truncated".to_string())
    };
    let np = u32_at(0)?;
    let para_end = 4 + np.checked_mul(16).ok_or("paragraph count too large")?;
    let pb = b.get(4..para_end).ok_or("record truncated in paragraphs")?;
    let (paragraphs, paragraph_meta) = decode_paragraphs(pb);
    let ns = u32_at(para_end)?;
    let end = para_end + 4 + ns.checked_mul(4).ok_or("shingle count too large")?;
    let sb = b
        .get(para_end + 4..end)
        .ok_or("record truncated in shingles")?;
    check_ranges(&paragraph_meta, ns)?;
    let shingles = sb.chunks_exact(4).map(|c| le_u32(c, 0)).collect();
    let p = Prepared {
        paragraphs,
        paragraph_meta,
        shingles,
        all_boilerplate: false,
        published: None,
    };
    Ok((p, end))
}

/// Reads one shard file.
///
/// # Errors
///
/// A [`ShardError`] naming the path and the problem for a missing, foreign, truncated or
/// damaged file.
pub fn read(path: &Path) -> Result<(ShingleConfig, Shards), ShardError> {
    let p = || path.display().to_string();
    framed::open(path, &MAGIC, FORMAT_VERSION, parse_body).map_err(|e| match e {
        OpenError::Io(source) => ShardError::Io { path: p(), source },
        OpenError::BadMagic => ShardError::NotAShard { path: p() },
        OpenError::Version(found) => ShardError::Version { path: p(), found },
        OpenError::Corrupt(what) => ShardError::Corrupt { path: p(), what },
    })
}

fn parse_body(
    r: &mut BodyReader<BufReader<std::fs::File>>,
    version: u32,
) -> Result<(ShingleConfig, Shards), ReadFail> {
    // Bytes per stored shingle: version 1 kept the whole 64-bit hash.
    let width = if version == 1 { 8 } else { 4 };
    let kind = match r.u8()? {
        0 => ShingleKind::Words,
        1 => ShingleKind::Chars,
        v => return bad(format!("unknown shingle kind {v}")),
    };
    let hash = ShingleHash::of_file(version, || r.u8())?;
    let k = r.u32()? as usize;
    if k == 0 {
        return bad("shingle length k = 0");
    }
    let seed = r.u64()?;
    let n = r.u64()?;
    // Each document takes at least 25 bytes (empty id, flags, empty origin, line, counts).
    let n = r.fits(n, 25, "documents")?;
    // A document in memory is ten times its smallest encoding: reserve for a bounded number
    // and let the vectors grow, so a hostile count cannot reserve more than the file holds.
    let mut out = Shards {
        docs: Vec::with_capacity(n.min(1 << 16)),
        prepared: Vec::with_capacity(n.min(1 << 16)),
    };
    let mut buf: Vec<u8> = Vec::new();
    for _ in 0..n {
        let id = r.string("id")?;
        let flags = r.u8()?;
        if flags > 3 {
            return bad(format!("document {id:?}: unknown flags {flags:#x}"));
        }
        let source = if flags & 1 != 0 {
            Some(r.string("source")?)
        } else {
            None
        };
        let published = if flags & 2 != 0 {
            Some(r.string("published")?)
        } else {
            None
        };
        let file = r.string("origin file")?;
        let line = r.u64()?;
        let np = r.u32()?;
        let np = r.fits(u64::from(np), 16, "paragraphs")?;
        read_exact_into(r, &mut buf, np * 16)?;
        let (paragraphs, paragraph_meta) = decode_paragraphs(&buf);
        let ns = r.u32()?;
        let ns = r.fits(u64::from(ns), width as u64, "shingles")?;
        if let Err(what) = check_ranges(&paragraph_meta, ns) {
            return bad(format!("document {id:?}: {what}"));
        }
        read_exact_into(r, &mut buf, ns * width)?;
        let shingles: Vec<Shingle> = if width == 8 {
            buf.chunks_exact(8).map(|c| narrow(le_u64(c, 0))).collect()
        } else {
            buf.chunks_exact(4).map(|c| le_u32(c, 0)).collect()
        };
        out.docs.push(Document {
            id,
            text: String::new(),
            source,
            published,
            origin: Origin::new(file, line),
            record: None,
        });
        out.prepared.push(Prepared {
            paragraphs,
            paragraph_meta,
            shingles,
            all_boilerplate: false,
            published: None,
        });
    }
    Ok((
        ShingleConfig {
            kind,
            k,
            seed,
            hash,
        },
        out,
    ))
}

fn read_exact_into<R: Read>(
    r: &mut BodyReader<R>,
    buf: &mut Vec<u8>,
    n: usize,
) -> Result<(), ReadFail> {
    buf.clear();
    buf.resize(n, 0);
    r.fill(buf)
}

/// `--shingle` and `-k` as a user would write them.
fn describe(c: &ShingleConfig) -> String {
    let unit = match c.kind {
        ShingleKind::Words => "words",
        ShingleKind::Chars => "chars",
    };
    let mut d = format!("--shingle {unit} -k {}", c.k);
    if c.seed != ShingleConfig::default().seed {
        d += &format!(" (shingle seed {:#x})", c.seed);
    }
    match c.hash {
        ShingleHash::Xxh3 => d += " and xxh3 word hashes (shard format 1 or 2)",
        ShingleHash::Fold => d += " and word windows mixed in 64 bits (written before fold32)",
        ShingleHash::Fold32 => {}
    }
    d
}

/// Reads shard files in order and concatenates them, checking that each was sketched with
/// `shingle`'s kind, length and seed and with the same word hash as the first (shards of
/// format 1 and 2 hashed words with xxh3: they still work together, not with newer ones), and
/// that no id appears twice.
///
/// # Errors
///
/// The first [`ShardError`] met, naming its file.
pub fn read_all(paths: &[impl AsRef<Path>], shingle: &ShingleConfig) -> Result<Shards, ShardError> {
    let mut all = Shards::default();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut hash = None;
    for path in paths {
        let path = path.as_ref();
        let (cfg, shard) = read(path)?;
        let wanted = ShingleConfig {
            hash: *hash.get_or_insert(cfg.hash),
            ..*shingle
        };
        if cfg != wanted {
            return Err(ShardError::OptionsMismatch {
                path: path.display().to_string(),
                found: describe(&cfg),
                wanted: describe(&wanted),
                remedy: if cfg.hash == wanted.hash {
                    "pass the same --shingle and -k as to `wiredup sketch`"
                } else {
                    "sketch the shards of format 1 or 2 again with this build"
                },
            });
        }
        for d in &shard.docs {
            let at = format!("{}", d.origin);
            if let Some(first) = seen.insert(d.id.clone(), at) {
                return Err(ShardError::DuplicateId {
                    path: path.display().to_string(),
                    id: d.id.clone(),
                    first,
                });
            }
        }
        all.docs.extend(shard.docs);
        all.prepared.extend(shard.prepared);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{normalize_all, Config};

    fn docs(texts: &[(&str, &str)]) -> (Vec<Document>, Vec<Prepared>) {
        let cfg = Config::default();
        let ds: Vec<Document> = texts
            .iter()
            .enumerate()
            .map(|(i, (id, t))| Document {
                id: (*id).to_owned(),
                text: (*t).to_owned(),
                source: (i % 2 == 0).then(|| "site".to_owned()),
                published: (i == 1).then(|| "2024-01-02T03:04:05Z".to_owned()),
                origin: Origin::new("in.jsonl", i as u64 + 1),
                record: None,
            })
            .collect();
        let t: Vec<&str> = ds.iter().map(|d| d.text.as_str()).collect();
        let p = normalize_all(&t, &cfg);
        (ds, p)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wds");
        let (ds, ps) = docs(&[
            ("a", "One two three four.\n\nFive six seven eight nine."),
            ("b", ""),
            ("c", "<p>Spread the love</p> word"),
        ]);
        let shingle = ShingleConfig::default();
        write(&path, &shingle, &ds, &ps).unwrap();
        let (cfg, got) = read(&path).unwrap();
        assert_eq!(cfg, shingle);
        assert_eq!(got.docs.len(), 3);
        for (a, b) in got.docs.iter().zip(&ds) {
            assert_eq!(
                (&a.id, &a.source, &a.published, &a.origin),
                (&b.id, &b.source, &b.published, &b.origin)
            );
        }
        for (a, b) in got.prepared.iter().zip(&ps) {
            assert_eq!(a.paragraphs, b.paragraphs);
            assert_eq!(a.paragraph_meta, b.paragraph_meta);
            assert_eq!(a.shingles, b.shingles);
        }
    }

    /// Writes a one-document shard as format `version` (1 or 2) laid it out: no hash byte,
    /// shingles of 8 bytes (version 1) or 4, and reads it back; it must say xxh3.
    fn read_legacy(version: u32, shingles: &[u64]) -> Shards {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.wds");
        framed::save_atomic(&path, &MAGIC, version, |w| {
            w.put(&[0])?;
            w.u32(3)?;
            w.u64(ShingleConfig::default().seed)?;
            w.u64(1)?;
            w.str("a")?;
            w.put(&[0])?;
            w.str("in.jsonl")?;
            w.u64(1)?;
            w.u32(1)?;
            w.u64(5)?;
            w.u32(3)?;
            w.u32(2)?;
            w.u32(shingles.len() as u32)?;
            for &x in shingles {
                if version == 1 {
                    w.u64(x)?;
                } else {
                    w.u32(x as u32)?;
                }
            }
            Ok(())
        })
        .unwrap();
        let (cfg, got) = read(&path).unwrap();
        let legacy = ShingleConfig {
            hash: ShingleHash::Xxh3,
            ..ShingleConfig::default()
        };
        assert_eq!(cfg, legacy);
        assert_eq!(got.docs[0].id, "a");
        assert_eq!(got.prepared[0].paragraphs, vec![5]);
        got
    }

    #[test]
    fn version_1_shingles_are_read_narrowed() {
        // 64-bit shingles, narrowed as `narrow` does.
        let wide: [u64; 2] = [0x1_0000_0007, 0xFFFF_FFFF_0000_0009];
        let got = read_legacy(1, &wide);
        assert_eq!(
            got.prepared[0].shingles,
            vec![narrow(wide[0]), narrow(wide[1])]
        );
        assert_eq!(got.prepared[0].shingles, vec![7, 9]);
    }

    #[test]
    fn version_2_shards_are_read_as_xxh3() {
        // No hash byte after the kind; 32-bit shingles.
        let got = read_legacy(2, &[7, 9]);
        assert_eq!(got.prepared[0].shingles, vec![7, 9]);
    }

    #[test]
    fn damage_and_mismatches_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wds");
        let (ds, ps) = docs(&[
            ("a", "alpha beta gamma delta"),
            ("b", "epsilon zeta eta theta"),
        ]);
        write(&path, &ShingleConfig::default(), &ds, &ps).unwrap();
        let good = std::fs::read(&path).unwrap();
        // Every single-byte flip and every truncation is reported, never a panic.
        for pos in 0..good.len() {
            let mut b = good.clone();
            b[pos] ^= 0x20;
            let bad = dir.path().join("bad.wds");
            std::fs::write(&bad, &b).unwrap();
            assert!(read(&bad).is_err(), "flip at {pos} went unnoticed");
            std::fs::write(&bad, &good[..pos]).unwrap();
            assert!(read(&bad).is_err(), "truncation at {pos} went unnoticed");
        }
        let other = ShingleConfig {
            k: 5,
            ..ShingleConfig::default()
        };
        let e = read_all(&[&path], &other).unwrap_err().to_string();
        assert!(e.contains("sketched with --shingle words -k 3"), "{e}");
        assert!(e.contains("pass the same --shingle and -k"), "{e}");
        let e = read_all(&[&path, &path], &ShingleConfig::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate id \"a\""), "{e}");
        // Shards of the xxh3 word hash go together, not with those of the fold hash, whichever
        // the run's default.
        let old = dir.path().join("old.wds");
        let legacy = ShingleConfig {
            hash: ShingleHash::Xxh3,
            ..ShingleConfig::default()
        };
        let (od, op) = docs(&[("c", "iota kappa lambda mu")]);
        write(&old, &legacy, &od, &op).unwrap();
        assert_eq!(
            read_all(&[&old], &ShingleConfig::default())
                .unwrap()
                .docs
                .len(),
            1
        );
        let e = read_all(&[&path, &old], &ShingleConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sketch the shards of format 1 or 2 again"),
            "{e}"
        );
        assert!(
            e.contains("old.wds: sketched with --shingle words -k 3 and xxh3 word hashes"),
            "{e}"
        );
        let e = read(&dir.path().join("missing.wds"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.wds"), "{e}");
    }
}
