//! Output formats: what `wiredup cluster` and `wiredup dedup` write, and atomic file writing.
//!
//! All formats are JSON lines, one object per line, in a deterministic order (clusters in order of
//! their first member in the input, members and documents in input order). Scores are rounded
//! to 4 decimals so that output is stable and diffable.
//!
//! - **clusters**: one line per cluster of two or more documents:
//!   `{"cluster": 3, "representative": "ID", "size": 2, "members": [{"id": "ID", "similarity":
//!   1.0, "jaccard": 1.0, "containment": 1.0}, ...]}`. A member's scores are against the
//!   representative; `containment` is the share of the member's story text found in the
//!   representative.
//! - **assignments**: exactly one line per input document, singletons included:
//!   `{"id": "ID", "cluster": 3}`.
//! - **pairs**: one line per verified pair: `{"a": "ID", "b": "ID", "similarity": ..., "jaccard":
//!   ..., "containment_a": ..., "containment_b": ...}`.
//! - **dedup**: the input records themselves (byte for byte for JSONL input), keeping one per
//!   cluster (the representative) and every singleton; with `annotate`, every record, with
//!   `dup_of` and `similarity` added to duplicates.
//!
//! Files are written to a temporary file in the target directory and renamed over the target
//! when complete, so an interrupted run never leaves a truncated file that looks complete. A
//! target that exists and is not a regular file (`/dev/null`, a FIFO, a terminal) is written in
//! place instead: renaming over it would replace the device with a plain file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::io::Document;
use crate::pipeline::Outcome;
use crate::verify::PairScore;

/// Which output `wiredup cluster` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    Clusters,
    Assignments,
    Pairs,
}

/// Rounds a score to 4 decimals.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[derive(Serialize)]
struct MemberOut<'a> {
    id: &'a str,
    similarity: f64,
    jaccard: f64,
    containment: f64,
}

#[derive(Serialize)]
struct ClusterOut<'a> {
    cluster: u32,
    representative: &'a str,
    size: usize,
    members: Vec<MemberOut<'a>>,
}

#[derive(Serialize)]
struct AssignmentOut<'a> {
    id: &'a str,
    cluster: u32,
}

#[derive(Serialize)]
struct PairOut<'a> {
    a: &'a str,
    b: &'a str,
    similarity: f64,
    jaccard: f64,
    containment_a: f64,
    containment_b: f64,
}

fn line<W: Write + ?Sized, T: Serialize>(w: &mut W, v: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Document ids by index: the documents of an in-memory run, or the id table of an
/// out-of-core one ([`crate::spill::IdTable`]).
pub trait DocIds {
    /// The id of document `i` (`i` below the number of documents).
    fn doc_id(&self, i: u32) -> &str;

    /// Loads (and returns) the first byte of id `i`, so that a few ids' cache misses can be
    /// started together before they are written (as the writer's touch-ahead loop does). Ids
    /// stored side by side need nothing of the kind: the default loads nothing.
    fn touch_id(&self, _i: u32) -> u64 {
        0
    }
}

impl DocIds for [Document] {
    fn doc_id(&self, i: u32) -> &str {
        &self[i as usize].id
    }

    // Each id is an allocation of its own, last read when the documents were parsed: writing
    // the assignments waited out one miss per line (nine tenths of its samples on the first
    // byte of the id).
    fn touch_id(&self, i: u32) -> u64 {
        self.get(i as usize)
            .and_then(|d| d.id.as_bytes().first())
            .map_or(0, |&b| u64::from(b))
    }
}

impl DocIds for Vec<Document> {
    fn doc_id(&self, i: u32) -> &str {
        &self[i as usize].id
    }

    fn touch_id(&self, i: u32) -> u64 {
        self.as_slice().touch_id(i)
    }
}

/// Writes the result of `wiredup cluster` in `format`. Lines are formatted in parallel, a
/// window of chunks at a time, and written in order.
pub fn write_clusters<W: Write, D: DocIds + Sync + ?Sized>(
    w: &mut W,
    docs: &D,
    out: &Outcome,
    format: Format,
) -> io::Result<()> {
    match format {
        Format::Clusters => write_lines(
            w,
            out.clusters.len(),
            |i| {
                let c = &out.clusters[i];
                let rep = docs.touch_id(c.representative);
                c.members.iter().fold(rep, |a, m| a ^ docs.touch_id(m.doc))
            },
            |b, i| {
                let c = &out.clusters[i];
                let rec = ClusterOut {
                    cluster: c.id,
                    representative: docs.doc_id(c.representative),
                    size: c.members.len(),
                    members: c
                        .members
                        .iter()
                        .map(|m| MemberOut {
                            id: docs.doc_id(m.doc),
                            similarity: round4(m.score.similarity()),
                            jaccard: round4(m.score.jaccard()),
                            containment: round4(m.score.containment_a()),
                        })
                        .collect(),
                };
                line(b, &rec)
            },
        ),
        Format::Assignments => write_lines(
            w,
            out.cluster_ids.len(),
            |i| docs.touch_id(i as u32),
            |b, i| {
                line(
                    b,
                    &AssignmentOut {
                        id: docs.doc_id(i as u32),
                        cluster: out.cluster_ids[i],
                    },
                )
            },
        ),
        Format::Pairs => {
            let mut pairs: Vec<&PairScore> = out.pairs.iter().collect();
            pairs.sort_by_key(|p| (p.a, p.b));
            write_lines(
                w,
                pairs.len(),
                |_| 0,
                |b, i| {
                    let p = pairs[i];
                    line(
                        b,
                        &PairOut {
                            a: docs.doc_id(p.a),
                            b: docs.doc_id(p.b),
                            similarity: round4(p.similarity()),
                            jaccard: round4(p.jaccard()),
                            containment_a: round4(p.containment_a()),
                            containment_b: round4(p.containment_b()),
                        },
                    )
                },
            )
        }
    }
}

/// Lines formatted per chunk in parallel, written in input order.
const LINES_PER_CHUNK: usize = 4096;
/// Chunks formatted before they are written: bounds the memory held to about 64 x 4,096 lines.
const CHUNKS_PER_WINDOW: usize = 64;

/// Writes lines `0..count` (`render(buf, i)` appends line i), formatting chunks of lines side
/// by side (serializing dominated the output stage) and writing them in order, so the bytes
/// are those of a sequential loop. `touch(i)` loads what line i reads first (see
/// [`crate::hashsort::touching_ahead`]); it is called a few lines ahead.
fn write_lines<W: Write + ?Sized>(
    w: &mut W,
    count: usize,
    touch: impl Fn(usize) -> u64 + Sync,
    render: impl Fn(&mut Vec<u8>, usize) -> io::Result<()> + Sync,
) -> io::Result<()> {
    use rayon::prelude::*;
    let window = LINES_PER_CHUNK * CHUNKS_PER_WINDOW;
    for from in (0..count).step_by(window) {
        let to = count.min(from + window);
        let starts: Vec<usize> = (from..to).step_by(LINES_PER_CHUNK).collect();
        let chunks: Vec<io::Result<Vec<u8>>> = starts
            .par_iter()
            .map(|&start| {
                let mut buf = Vec::new();
                let mut done = Ok(());
                let lines = start..to.min(start + LINES_PER_CHUNK);
                crate::hashsort::touching_ahead(lines, &touch, |i| {
                    if done.is_ok() {
                        done = render(&mut buf, i);
                    }
                });
                done.map(|()| buf)
            })
            .collect();
        for chunk in chunks {
            w.write_all(&chunk?)?;
        }
    }
    Ok(())
}

/// What `write_dedup` wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DedupCounts {
    pub kept: usize,
    pub duplicates: usize,
}

/// Writes deduplicated records (see module docs). Records of documents read from `.txt`/`.html`
/// files are written as `{"id": ..., "text": ...}` (with the configured field names).
pub fn write_dedup<W: Write>(
    w: &mut W,
    docs: &[Document],
    out: &Outcome,
    annotate: bool,
    id_field: &str,
    text_field: &str,
) -> io::Result<DedupCounts> {
    let dup = out.duplicate_of();
    let mut counts = DedupCounts::default();
    for (d, dup) in docs.iter().zip(&dup) {
        let of = dup
            .as_ref()
            .map(|m| (docs[m.score.b as usize].id.as_str(), m.score.similarity()));
        write_dedup_record(w, d, of, annotate, id_field, text_field, &mut counts)?;
    }
    Ok(counts)
}

/// Writes one document's line of [`write_dedup`]'s output (nothing for a duplicate unless
/// `annotate`) and counts it; `dup_of` is the representative's id and the similarity to it.
pub fn write_dedup_record<W: Write + ?Sized>(
    w: &mut W,
    d: &Document,
    dup_of: Option<(&str, f64)>,
    annotate: bool,
    id_field: &str,
    text_field: &str,
    counts: &mut DedupCounts,
) -> io::Result<()> {
    match dup_of {
        None => counts.kept += 1,
        Some(_) => counts.duplicates += 1,
    }
    if dup_of.is_some() && !annotate {
        return Ok(());
    }
    let annotation = dup_of.map(|(of, sim)| (of, round4(sim)));
    match (&d.record, annotation) {
        (Some(raw), None) => {
            w.write_all(raw.as_bytes())?;
            w.write_all(b"\n")?;
        }
        (Some(raw), Some((of, sim))) => {
            w.write_all(annotate_record(raw, of, sim)?.as_bytes())?;
            w.write_all(b"\n")?;
        }
        (None, ann) => {
            let mut obj = Map::new();
            obj.insert(id_field.to_string(), Value::String(d.id.clone()));
            obj.insert(text_field.to_string(), Value::String(d.text.clone()));
            if let Some((of, sim)) = ann {
                obj.insert("dup_of".into(), Value::String(of.to_string()));
                obj.insert("similarity".into(), Value::from(sim));
            }
            line(w, &obj)?;
        }
    }
    Ok(())
}

/// Adds `dup_of` and `similarity` to a JSON object record. The fields are inserted as text
/// before the closing brace, so the rest of the record stays byte for byte as read (numbers
/// such as `1e400` or deep nesting, which a JSON value type would reject or alter, pass
/// through). A record that already has either field is rewritten through a JSON map instead,
/// so the new values replace the old ones rather than duplicating keys.
pub fn annotate_record(raw: &str, dup_of: &str, similarity: f64) -> io::Result<String> {
    let fields = format!(
        "\"dup_of\":{},\"similarity\":{}",
        Value::String(dup_of.to_string()),
        Value::from(similarity)
    );
    if raw.contains("\"dup_of\"") || raw.contains("\"similarity\"") {
        let mut obj: Map<String, Value> = serde_json::from_str(raw).map_err(io::Error::other)?;
        obj.insert("dup_of".into(), Value::String(dup_of.to_string()));
        obj.insert("similarity".into(), Value::from(similarity));
        return serde_json::to_string(&obj).map_err(io::Error::other);
    }
    let body = raw.trim_end();
    let Some(open) = body.strip_suffix('}') else {
        return Err(io::Error::other("record is not a JSON object"));
    };
    let empty = open.trim_end().ends_with('{');
    Ok(format!("{open}{}{fields}}}", if empty { "" } else { "," }))
}

/// A file being written: a temporary file beside the target, renamed over it by `commit`.
/// Dropped without `commit`, the temporary file is removed and the target is untouched.
///
/// A target that already exists and is not a regular file (a character device such as
/// `/dev/null`, a FIFO, a socket) is opened and written directly, with no temporary file and no
/// rename: a rename would put a regular file where the device was (for `/dev/null`, as root,
/// breaking every later program that writes to or reads from it). A directory is an error.
pub struct AtomicFile {
    target: PathBuf,
    /// The temporary file renamed over `target` on commit; `None` when writing in place.
    tmp: Option<PathBuf>,
    writer: BufWriter<File>,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file next to `target` (same directory, so the rename is atomic),
    /// or opens `target` itself when it exists and is not a regular file. A symbolic link is
    /// written through: the file it names is the one replaced, and the link stays.
    pub fn create(target: &Path) -> io::Result<Self> {
        let target = &crate::framed::write_target(target);
        // Follows symbolic links: `/dev/stdout` is a link to whatever standard output is.
        if let Ok(meta) = std::fs::metadata(target) {
            if meta.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a directory, not a file",
                ));
            }
            if !meta.is_file() {
                let file = File::options().write(true).open(target)?;
                return Ok(AtomicFile {
                    target: target.to_path_buf(),
                    tmp: None,
                    writer: BufWriter::new(file),
                    committed: false,
                });
            }
        }
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp: Some(tmp),
            writer: BufWriter::new(file),
            committed: false,
        })
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// Flushes, syncs and renames the temporary file over the target (for a target written in
    /// place, only flushes: a device or FIFO has nothing to sync or rename).
    pub fn commit(mut self) -> io::Result<()> {
        self.writer.flush()?;
        let Some(tmp) = &self.tmp else {
            self.committed = true;
            return Ok(());
        };
        self.writer.get_ref().sync_all()?;
        std::fs::rename(tmp, &self.target)?;
        self.committed = true;
        // Make the rename itself durable (best effort: not every platform can open a directory).
        let dir = self
            .target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let (false, Some(tmp)) = (self.committed, &self.tmp) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_lines_come_out_in_order() {
        // More than one window of chunks, the last chunk partial, in a 3-thread pool.
        let items: Vec<u32> = (0..(LINES_PER_CHUNK * CHUNKS_PER_WINDOW + 5_000) as u32).collect();
        let mut want = Vec::new();
        for i in &items {
            line(
                &mut want,
                &AssignmentOut {
                    id: "d",
                    cluster: *i,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        pool.install(|| {
            write_lines(
                &mut got,
                items.len(),
                |i| u64::from(items[i]),
                |b, i| {
                    line(
                        b,
                        &AssignmentOut {
                            id: "d",
                            cluster: items[i],
                        },
                    )
                },
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want);
    }

    #[test]
    fn atomic_file_replaces_only_on_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("out.jsonl");
        std::fs::write(&target, "old\n").ok();
        {
            let mut f = AtomicFile::create(&target).expect("create temp file");
            f.writer().write_all(b"half").expect("write");
            // Dropped without commit.
        }
        assert_eq!(
            std::fs::read_to_string(&target).ok().as_deref(),
            Some("old\n")
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|d| d.count()).ok(),
            Some(1)
        );
        let mut f = AtomicFile::create(&target).expect("create temp file");
        f.writer().write_all(b"new\n").expect("write");
        f.commit().expect("commit");
        assert_eq!(
            std::fs::read_to_string(&target).ok().as_deref(),
            Some("new\n")
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|d| d.count()).ok(),
            Some(1)
        );
    }

    /// A symbolic link is written through: the file it names gets the output (through a chain
    /// of links, and also when that file does not exist yet), and the links stay links.
    #[cfg(unix)]
    #[test]
    fn atomic_file_writes_through_symbolic_links() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, "old\n").expect("write");
        let link = dir.path().join("link");
        let chain = dir.path().join("chain");
        std::os::unix::fs::symlink("real.jsonl", &link).expect("symlink");
        std::os::unix::fs::symlink(&link, &chain).expect("symlink");
        let mut f = AtomicFile::create(&chain).expect("create");
        f.writer().write_all(b"new\n").expect("write");
        f.commit().expect("commit");
        assert_eq!(
            std::fs::read_to_string(&real).ok().as_deref(),
            Some("new\n")
        );
        for l in [&link, &chain] {
            let kind = std::fs::symlink_metadata(l).expect("stat").file_type();
            assert!(
                kind.is_symlink(),
                "{} was replaced by {kind:?}",
                l.display()
            );
        }
        // A link to a file not there yet: the file is created where the link points.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("later.jsonl", &dangling).expect("symlink");
        let mut f = AtomicFile::create(&dangling).expect("create");
        f.writer().write_all(b"made\n").expect("write");
        f.commit().expect("commit");
        let made = dir.path().join("later.jsonl");
        assert_eq!(
            std::fs::read_to_string(made).ok().as_deref(),
            Some("made\n")
        );
        assert!(std::fs::symlink_metadata(&dangling)
            .expect("stat")
            .file_type()
            .is_symlink());
    }

    /// A FIFO standing in for `/dev/null` (a test must not risk the real one): it is written
    /// through, and still a FIFO afterwards.
    #[cfg(unix)]
    #[test]
    fn atomic_file_writes_through_a_fifo_and_refuses_a_directory() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        // Read and write: opening a FIFO so never blocks, and keeps a reader for the writer.
        let mut reader = File::options()
            .read(true)
            .write(true)
            .open(&fifo)
            .expect("open fifo");
        let mut f = AtomicFile::create(&fifo).expect("open the fifo for writing");
        f.writer().write_all(b"through\n").expect("write");
        f.commit().expect("commit");
        let kind = std::fs::symlink_metadata(&fifo).expect("stat").file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
        let mut got = [0u8; 8];
        reader.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"through\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|d| d.count()).ok(),
            Some(1)
        );
        let err = AtomicFile::create(dir.path())
            .err()
            .expect("a directory is refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn annotation_keeps_the_record_verbatim() {
        let got =
            annotate_record(r#"{"id":"a","x":1e400,"n":[[[]]]}"#, "b", 0.75).expect("annotate");
        assert_eq!(
            got,
            r#"{"id":"a","x":1e400,"n":[[[]]],"dup_of":"b","similarity":0.75}"#
        );
        let got = annotate_record("{ }  ", "q\"x", 1.0).expect("annotate");
        assert_eq!(got, r#"{ "dup_of":"q\"x","similarity":1.0}"#);
        let parsed: Value = serde_json::from_str(&got).expect("valid JSON");
        assert_eq!(parsed["dup_of"], "q\"x");
        // Existing fields are replaced, not duplicated.
        let got = annotate_record(r#"{"id":"a","dup_of":"old"}"#, "new", 0.5).expect("annotate");
        let parsed: Value = serde_json::from_str(&got).expect("valid JSON");
        assert_eq!(parsed["dup_of"], "new");
        assert_eq!(got.matches("dup_of").count(), 1);
    }

    #[test]
    fn round4_rounds() {
        assert_eq!(round4(0.123_456), 0.1235);
        assert_eq!(round4(1.0), 1.0);
    }
}
