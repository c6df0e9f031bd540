//! Reading input documents.
//!
//! # Input kinds
//!
//! [`read_inputs`] takes a list of inputs (paths as strings) and reads them in
//! the order given. The kind of each input is chosen from its path:
//!
//! | input                              | read as                                         |
//! |------------------------------------|-------------------------------------------------|
//! | `-`                                | JSONL from standard input (uncompressed)        |
//! | a directory                        | walked recursively, see below                   |
//! | `*.txt`, `*.html`, `*.htm`         | one document: the whole file                    |
//! | `*.gz`                             | gzip-compressed JSONL (concatenated members ok) |
//! | `*.zst`                            | zstd-compressed JSONL (concatenated frames ok)  |
//! | anything else                      | JSONL                                           |
//!
//! Suffixes are matched ASCII-case-insensitively (`A.TXT` is a text file).
//!
//! A **directory** is walked recursively. Inside it only files ending in
//! `.txt`, `.html`, `.htm` (one document each), `.jsonl`, `.jsonl.gz` and
//! `.jsonl.zst` (JSONL) are read; everything else is ignored silently. Files
//! are read in order of their path relative to the directory, compared
//! component by component (so the order does not depend on the file system).
//! Symbolic links to files are followed; symbolic links to directories are
//! not (this rules out cycles). The id of a whole-file document found in a
//! directory is its path relative to the directory, with `/` separators
//! (file names that are not valid UTF-8 are converted lossily). The display
//! name ([`Origin::file`]) of a file inside a directory is the directory as
//! given, a `/`, and the relative path, e.g. `corpus/2024/a.txt`.
//!
//! A whole-file document given directly on the command line has the path as
//! given for both its id and its display name. Whole-file documents have line
//! 0 in their [`Origin`], no `source`/`published`, and no `record`. A leading
//! UTF-8 byte order mark is dropped from the text.
//!
//! # JSONL
//!
//! One JSON object per line, lines separated by `\n` (a `\r` before it is
//! dropped too). Lines that contain only ASCII whitespace are ignored (they are
//! not documents, but they do count for line numbers). A UTF-8 byte order mark
//! at the start of the stream is ignored. Per record:
//!
//! * the id field (`ReadOptions::id_field`, default `"id"`) must be a string
//!   or an integer; an integer is converted to its decimal string. It must be
//!   non-empty and at most [`MAX_ID_BYTES`] bytes;
//! * the text field (`ReadOptions::text_field`, default `"text"`) must be a
//!   string of at most `ReadOptions::max_doc_bytes` bytes (UTF-8). An empty
//!   text is *not* an error: the document is kept;
//! * `source` and `published` are taken when they are strings (`published` is
//!   kept verbatim, not parsed) and ignored otherwise;
//! * all other fields are skipped without being stored. If a key occurs more
//!   than once in an object, the last occurrence wins.
//!
//! A record that breaks any of these rules is a **bad record**: a line that is
//! not valid UTF-8, not valid JSON, not an object, lacks the id or the text,
//! has them of the wrong type, is too long, or repeats an id already read
//! (from any input, including whole-file documents). Without
//! `ReadOptions::skip_bad` the first bad record ends reading with
//! [`ReadError::BadRecord`]; with it, each bad record is recorded in
//! [`Corpus::skipped`] (with the same message) and reading goes on. For a
//! duplicate id, the *first* document is kept and the later ones are bad.
//!
//! Line numbers are 1-based and count every `\n`-terminated line, including
//! blank ones. Byte positions in "invalid UTF-8 at byte N" messages are 0-based
//! offsets from the start of the line (or of the file, for whole-file
//! documents). JSON error columns are `serde_json`'s 1-based columns.
//!
//! # Failures that are not bad records
//!
//! I/O errors (missing file, unreadable directory, ...) are returned as
//! [`ReadError::Io`]. A gzip or zstd stream that is truncated or corrupt
//! (including a zstd content checksum mismatch) is returned as
//! [`ReadError::Decompress`], **even with `skip_bad`**: the rest of the stream
//! cannot be trusted, and the documents decoded before the damage are left in
//! the partially filled corpus, which `read_inputs` drops because it returns
//! the error. A 0-byte `.gz`/`.zst` file is such an error too (even an empty
//! payload has a header). Giving `-` more than once is [`ReadError::StdinRepeated`] (checked
//! before anything is read).
//!
//! # Cost
//!
//! Time is linear in the uncompressed input size: each line is UTF-8 checked
//! once and parsed once, by a fast path for flat records (`io::record`, each
//! kept string copied once) or else by a streaming serde_json deserializer;
//! either materializes only the id, text, `source` and `published` fields.
//! Lines are read in batches of 8 MiB (the first of a stream 512 KiB, each
//! next one twice as large, so parsing starts early), in 256 KiB chunks straight into the
//! batch's buffer (no copy through a reader's buffer), and cut where they lie;
//! while a helper thread has batch n
//! parsed (in parallel), the reading thread accepts the batches before it in
//! input order and reads ahead, at most two batches in flight. The parsing jobs'
//! scratch buffers are kept from batch to batch, so they grow once per stream.
//! Compressed input is decompressed on the reading thread, so one stream
//! decompresses on one core while the others parse: gzip by `flate2` on the
//! zlib-rs backend, zstd by libzstd (the `zstd` crate). With the pure-Rust
//! decoders used before (miniz_oxide, ruzstd), a zstd stream decompressed at a
//! third of libzstd's speed and bounded the whole read (100k documents, 2
//! threads: 3.1-3.7 against 2.0-2.2 s end to end; gzip 2.95-3.25 against
//! 2.6-2.8 s).
//! Memory is the documents kept (their text, plus the whole record line when
//! `keep_records` is set), an id index (a 64-bit hash and a document number
//! per document; ids are compared against the stored documents), and two
//! batches with their parsed records. Files are never read whole, except
//! whole-file documents, which are read up to `max_doc_bytes` (+ BOM) and no
//! further.
//! A single JSONL line is kept in memory only up to [`line_limit`] bytes
//! (`8 * max_doc_bytes + 1 MiB`, enough for a text at the limit written with
//! `\uXXXX` escapes); a longer line is consumed without being stored and is a
//! bad record. Directory listings are collected and sorted before any file is
//! read (memory proportional to the number of entries).

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

mod record;

/// Default for [`ReadOptions::max_doc_bytes`]: 16 MiB.
pub const DEFAULT_MAX_DOC_BYTES: usize = 16 * 1024 * 1024;

/// Longest id accepted, in bytes (UTF-8).
pub const MAX_ID_BYTES: usize = 1024;

/// Capacity of the buffered readers used on files, stdin and decoders.
const READ_BUF_BYTES: usize = 256 * 1024;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a document came from, for error messages and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Display name: the path as given, `-` for stdin, or for a file found in
    /// a directory, the directory as given joined with the relative path.
    pub file: String,
    /// 1-based line for JSONL, 0 for whole files.
    pub line: u64,
}

impl Origin {
    /// Makes an origin.
    pub fn new(file: impl Into<String>, line: u64) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    /// `file:line`, or just `file` when the line is 0 (whole-file documents).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_location(f, &self.file, self.line)
    }
}

fn fmt_location(f: &mut fmt::Formatter<'_>, file: &str, line: u64) -> fmt::Result {
    if line == 0 {
        write!(f, "{file}")
    } else {
        write!(f, "{file}:{line}")
    }
}

/// `file:line`, or `file` for line 0 (used by [`ReadError`]'s messages).
fn location(file: &str, line: &u64) -> String {
    if *line == 0 {
        file.to_owned()
    } else {
        format!("{file}:{line}")
    }
}

/// One input document.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub text: String,
    /// The `source` field, if present and a string.
    pub source: Option<String>,
    /// The `published` field, if present and a string (kept verbatim).
    pub published: Option<String>,
    pub origin: Origin,
    /// The original JSON record line (exact text of the line, without the
    /// line terminator and without a leading byte order mark) when
    /// [`ReadOptions::keep_records`] is set and the input is JSONL; for
    /// `.txt`/`.html` files, `None`.
    pub record: Option<String>,
}

/// How to read inputs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Name of the id field in JSONL records (default `"id"`).
    pub id_field: String,
    /// Name of the text field in JSONL records (default `"text"`).
    pub text_field: String,
    /// Skip malformed records (recorded in [`Corpus::skipped`]) instead of
    /// failing on the first one.
    pub skip_bad: bool,
    /// Keep each JSONL record's line in [`Document::record`].
    pub keep_records: bool,
    /// Texts longer than this many bytes are bad records (default 16 MiB).
    pub max_doc_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            id_field: "id".to_owned(),
            text_field: "text".to_owned(),
            skip_bad: false,
            keep_records: false,
            max_doc_bytes: DEFAULT_MAX_DOC_BYTES,
        }
    }
}

/// A bad record that was skipped because [`ReadOptions::skip_bad`] was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub origin: Origin,
    pub reason: String,
}

impl fmt::Display for Skipped {
    /// `file:line: reason` (or `file: reason` for whole files), the same text
    /// the corresponding [`ReadError::BadRecord`] would have shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Documents in input order.
    pub docs: Vec<Document>,
    /// Bad records skipped (only with [`ReadOptions::skip_bad`]), in order.
    pub skipped: Vec<Skipped>,
    /// Total uncompressed bytes of input consumed (including line
    /// terminators, blank lines and bad records).
    pub bytes_read: u64,
}

/// Why reading the inputs failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading an input failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A malformed record (see the module docs); `line` is 0 for whole files,
    /// in which case the message reads `file: message`.
    #[error("{}: {message}", location(.file, .line))]
    BadRecord {
        file: String,
        line: u64,
        message: String,
    },
    /// A gzip or zstd stream is truncated or corrupt. Returned even with
    /// `skip_bad`.
    #[error("{path}: {format} stream is truncated or corrupt: {source}")]
    Decompress {
        path: String,
        /// `"gzip"` or `"zstd"`.
        format: &'static str,
        #[source]
        source: io::Error,
    },
    /// `-` was given more than once; standard input can only be read once.
    #[error("\"-\" (standard input) was given more than once")]
    StdinRepeated,
    /// The [`Sink`] receiving the documents failed (an out-of-core run's spill file, say).
    #[error("{what}: {source}")]
    Sink {
        what: String,
        #[source]
        source: io::Error,
    },
}

/// How a JSONL stream is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Plain,
    Gzip,
    Zstd,
}

/// What to do with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The whole file is one document.
    Whole,
    Jsonl(Codec),
}

fn ends_with_ci(name: &str, suffix: &str) -> bool {
    name.len() >= suffix.len()
        && name
            .as_bytes()
            .get(name.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

fn is_whole_file_name(name: &str) -> bool {
    [".txt", ".html", ".htm"]
        .iter()
        .any(|s| ends_with_ci(name, s))
}

/// Kind of an input named directly (not found in a directory).
fn kind_of_input(name: &str) -> Kind {
    if is_whole_file_name(name) {
        Kind::Whole
    } else if ends_with_ci(name, ".gz") {
        Kind::Jsonl(Codec::Gzip)
    } else if ends_with_ci(name, ".zst") {
        Kind::Jsonl(Codec::Zstd)
    } else {
        Kind::Jsonl(Codec::Plain)
    }
}

/// Kind of a file found while walking a directory; `None` means "ignore".
fn kind_in_dir(name: &str) -> Option<Kind> {
    if is_whole_file_name(name) {
        Some(Kind::Whole)
    } else if ends_with_ci(name, ".jsonl") {
        Some(Kind::Jsonl(Codec::Plain))
    } else if ends_with_ci(name, ".jsonl.gz") {
        Some(Kind::Jsonl(Codec::Gzip))
    } else if ends_with_ci(name, ".jsonl.zst") {
        Some(Kind::Jsonl(Codec::Zstd))
    } else {
        None
    }
}

/// The longest JSONL line (without its terminator) kept in memory for the
/// given options: `8 * max_doc_bytes + 1 MiB`, saturating. A text at the
/// limit needs at most 6 bytes per byte when written with `\u00XX` escapes;
/// the rest leaves room for the id and other fields. Longer lines are bad
/// records.
#[must_use]
pub fn line_limit(opts: &ReadOptions) -> usize {
    opts.max_doc_bytes
        .saturating_mul(8)
        .saturating_add(1024 * 1024)
}

/// Reads every input in order. `inputs` are paths as strings; `-` means
/// stdin (read once). See the module docs for the formats and rules.
///
/// # Errors
///
/// [`ReadError::Io`] when an input cannot be opened or read,
/// [`ReadError::Decompress`] for a damaged gzip/zstd stream,
/// [`ReadError::BadRecord`] for the first bad record unless
/// `opts.skip_bad`, and [`ReadError::StdinRepeated`] when `-` appears twice.
pub fn read_inputs(inputs: &[String], opts: &ReadOptions) -> Result<Corpus, ReadError> {
    read_inputs_with(inputs, opts, &NoPrepare).map(|(corpus, _)| corpus)
}

/// Work done on each document while the inputs are read: on the threads that parse JSONL
/// records, right after a record is parsed (its text is then still in cache), overlapped with
/// reading the next records. See [`read_inputs_with`].
pub trait Prepare: Sync {
    /// Reusable per-thread state (buffers).
    type Scratch: Send;
    /// What is kept for each document, beside it.
    type Output: Send;
    /// A fresh scratch state.
    fn scratch(&self) -> Self::Scratch;
    /// Prepares one well-formed document. It may take fields out of `doc` (its text, say) to
    /// free them early; what it leaves is what [`Corpus::docs`] holds. A text it empties
    /// (`doc.text.clear()`) is released: a JSONL reader reuses its buffer for the next record
    /// on that thread, other paths free it. It is also called for
    /// records later rejected as duplicate ids (their output is dropped).
    fn prepare(&self, scratch: &mut Self::Scratch, doc: &mut Document) -> Self::Output;
}

/// The [`Prepare`] that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrepare;

impl Prepare for NoPrepare {
    type Scratch = ();
    type Output = ();
    fn scratch(&self) {}
    fn prepare(&self, _: &mut (), _: &mut Document) {}
}

/// Reads every input in order, as [`read_inputs`] does, and prepares each document with
/// `prep` as it goes. Returns the corpus and, aligned with `corpus.docs`, each document's
/// output. JSONL records are prepared in parallel as they are parsed; whole `.txt`/`.html`
/// files after reading, in parallel too.
///
/// # Errors
///
/// As [`read_inputs`].
pub fn read_inputs_with<P: Prepare>(
    inputs: &[String],
    opts: &ReadOptions,
    prep: &P,
) -> Result<(Corpus, Vec<P::Output>), ReadError> {
    let mut sink = Collect::default();
    let mut out = read_inputs_into(inputs, opts, prep, &mut sink)?;
    let items = sink.finish(prep, &mut out.docs);
    Ok((out, items))
}

/// A document rejected by a [`Sink`] because its id was taken.
#[derive(Debug, Clone)]
pub struct Duplicate {
    /// The rejected document.
    pub doc: Document,
    /// Where the first document with this id was read.
    pub first: Origin,
}

/// Where [`read_inputs_into`] delivers documents: each well-formed document, in input order,
/// on the reading thread. A sink owns the duplicate-id check, so that one that keeps little
/// per document (an out-of-core run) can keep little for it too.
pub trait Sink<P: Prepare> {
    /// Takes one document and its prepared output; `None` for a whole-file document, which
    /// the sink prepares with `prep` (now or later). Refuses it with [`Refusal::Duplicate`]
    /// when a document with the same id was accepted before (it is then reported as a bad
    /// record), or stops the reading with [`Refusal::Stop`].
    fn accept(
        &mut self,
        prep: &P,
        doc: Document,
        prepared: Option<P::Output>,
    ) -> Result<(), Refusal>;
}

/// Why a [`Sink`] did not take a document.
#[derive(Debug)]
pub enum Refusal {
    /// Its id was taken: the document is reported as a bad record.
    Duplicate(Box<Duplicate>),
    /// The sink cannot go on; reading stops with [`ReadError::Sink`].
    Stop { what: String, source: io::Error },
}

/// Reads every input in order, as [`read_inputs_with`] does, handing each well-formed document
/// to `sink`. The returned corpus holds the skipped records and the bytes read; its `docs` are
/// empty (they went to the sink).
///
/// # Errors
///
/// As [`read_inputs`].
pub fn read_inputs_into<P: Prepare, S: Sink<P>>(
    inputs: &[String],
    opts: &ReadOptions,
    prep: &P,
    sink: &mut S,
) -> Result<Corpus, ReadError> {
    let mut out = Corpus::default();
    // Checked before reading anything, so nothing is read in vain.
    if inputs.iter().filter(|i| i.as_str() == "-").count() > 1 {
        return Err(ReadError::StdinRepeated);
    }
    for input in inputs {
        if input == "-" {
            let stdin = io::stdin();
            let reader = BufReader::with_capacity(READ_BUF_BYTES, stdin.lock());
            read_jsonl_inner(reader, "-", Codec::Plain, opts, &mut out, prep, sink)?;
            continue;
        }
        let path = Path::new(input);
        let meta = fs::metadata(path).map_err(|e| io_error(input, e))?;
        if meta.is_dir() {
            read_dir_input(path, input, opts, &mut out, prep, sink)?;
        } else {
            let kind = kind_of_input(input);
            read_file(path, input, input, kind, opts, &mut out, prep, sink)?;
        }
    }
    Ok(out)
}

/// The in-memory [`Sink`]: keeps every document and its output; whole-file documents are
/// prepared at the end, in parallel.
struct Collect<O> {
    docs: Vec<Document>,
    items: Vec<Option<O>>,
    seen: IdIndex,
}

impl<O> Default for Collect<O> {
    fn default() -> Self {
        Collect {
            docs: Vec::new(),
            items: Vec::new(),
            seen: IdIndex::default(),
        }
    }
}

impl<P: Prepare> Sink<P> for Collect<P::Output> {
    fn accept(&mut self, _: &P, doc: Document, prepared: Option<P::Output>) -> Result<(), Refusal> {
        let docs = &self.docs;
        let next = docs.len() as u32;
        if let Err(j) = self.seen.insert(&doc.id, next, |j| &docs[j as usize].id) {
            return Err(Refusal::Duplicate(Box::new(Duplicate {
                first: self.docs[j as usize].origin.clone(),
                doc,
            })));
        }
        self.docs.push(doc);
        self.items.push(prepared);
        Ok(())
    }
}

/// Which document holds each id, for the exact duplicate-id check, without a copy of each id:
/// ids are found by their 64-bit hash, and the caller's `id_of` gives the stored id to compare;
/// an id whose hash collides with a different id's is kept whole in a side map.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    by_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<crate::boilerplate::PrehashedKey>>,
    overflow: HashMap<String, u32>,
}

impl IdIndex {
    /// Records `id` as document `next`, or returns the number of the document that has it
    /// already. `id_of(j)` is the id of document `j` (one recorded before).
    pub(crate) fn insert<'a>(
        &mut self,
        id: &str,
        next: u32,
        id_of: impl Fn(u32) -> &'a str,
    ) -> Result<(), u32> {
        self.insert_hashed(id, xxhash_rust::xxh3::xxh3_64(id.as_bytes()), next, id_of)
    }

    /// [`IdIndex::insert`] with the id's hash given (tests force collisions with it).
    fn insert_hashed<'a>(
        &mut self,
        id: &str,
        h: u64,
        next: u32,
        id_of: impl Fn(u32) -> &'a str,
    ) -> Result<(), u32> {
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let j = *e.get();
                if id_of(j) == id {
                    return Err(j);
                }
                if let Some(&j) = self.overflow.get(id) {
                    return Err(j);
                }
                self.overflow.insert(id.to_owned(), next);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(next);
            }
        }
        Ok(())
    }
}

impl<O: Send> Collect<O> {
    /// Moves the documents into `docs` (after any already there), prepares what was left for
    /// the end, in parallel, and returns the outputs of the moved documents in order.
    fn finish<P: Prepare<Output = O>>(self, prep: &P, docs: &mut Vec<Document>) -> Vec<O> {
        use rayon::prelude::*;
        let from = docs.len();
        docs.extend(self.docs);
        self.items
            .into_par_iter()
            .zip(docs[from..].par_iter_mut())
            .map_init(
                || prep.scratch(),
                |scratch, (item, doc)| match item {
                    Some(o) => o,
                    None => {
                        let o = prep.prepare(scratch, doc);
                        // No reader takes an emptied text back here: free it.
                        if doc.text.is_empty() {
                            doc.text = String::new();
                        }
                        o
                    }
                },
            )
            .collect()
    }
}

/// Reads JSONL from any reader (used for stdin and tests); `name` is the
/// display name for errors and [`Origin::file`]. Documents and skipped
/// records are appended to `out`, and `out.bytes_read` grows by the bytes
/// consumed. Ids already in `out.docs` count as seen for the duplicate check
/// (this costs one pass over `out.docs` per call). Read errors are reported
/// as [`ReadError::Io`].
///
/// # Errors
///
/// [`ReadError::Io`] when reading fails, [`ReadError::BadRecord`] for the
/// first bad record unless `opts.skip_bad`. On error, what was read before
/// stays in `out`.
pub fn read_jsonl<R: BufRead>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
    out: &mut Corpus,
) -> Result<(), ReadError> {
    let mut sink = Collect::default();
    // The documents already there join the sink (and come back, first and in order), so that
    // their ids count as seen.
    for doc in std::mem::take(&mut out.docs) {
        let docs = &sink.docs;
        // Duplicates among them were let through before; the first keeps the id.
        let _ = sink
            .seen
            .insert(&doc.id, docs.len() as u32, |j| &docs[j as usize].id);
        sink.docs.push(doc);
        sink.items.push(Some(()));
    }
    let res = read_jsonl_inner(reader, name, Codec::Plain, opts, out, &NoPrepare, &mut sink);
    sink.finish(&NoPrepare, &mut out.docs);
    res
}

fn io_error(path: &str, source: io::Error) -> ReadError {
    ReadError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Maps an error from reading a (possibly decompressed) stream.
fn stream_error(codec: Codec, name: &str, e: io::Error) -> ReadError {
    let format = match codec {
        Codec::Plain => return io_error(name, e),
        Codec::Gzip => "gzip",
        Codec::Zstd => "zstd",
    };
    match e.kind() {
        // What the decoders report for bad or missing data. Anything else
        // (permission denied, ...) comes from the file underneath.
        io::ErrorKind::InvalidData
        | io::ErrorKind::InvalidInput
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::Other => ReadError::Decompress {
            path: name.to_owned(),
            format,
            source: e,
        },
        _ => io_error(name, e),
    }
}

/// Records a bad record: an error, or an entry in `out.skipped`.
fn reject(
    opts: &ReadOptions,
    out: &mut Corpus,
    file: &str,
    line: u64,
    message: String,
) -> Result<(), ReadError> {
    if opts.skip_bad {
        out.skipped.push(Skipped {
            origin: Origin::new(file, line),
            reason: message,
        });
        Ok(())
    } else {
        Err(ReadError::BadRecord {
            file: file.to_owned(),
            line,
            message,
        })
    }
}

/// Adds a well-formed document unless its id was seen before.
fn accept<P: Prepare, S: Sink<P>>(
    doc: Document,
    prepared: Option<P::Output>,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    match sink.accept(prep, doc, prepared) {
        Ok(()) => Ok(()),
        Err(Refusal::Duplicate(dup)) => {
            let Duplicate { doc, first } = *dup;
            let message = format!("duplicate id {:?} (first seen at {first})", doc.id);
            reject(opts, out, &doc.origin.file, doc.origin.line, message)
        }
        Err(Refusal::Stop { what, source }) => Err(ReadError::Sink { what, source }),
    }
}

/// Reads one file of a known kind.
#[allow(clippy::too_many_arguments)]
fn read_file<P: Prepare, S: Sink<P>>(
    path: &Path,
    display: &str,
    whole_id: &str,
    kind: Kind,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    match kind {
        Kind::Whole => read_whole_file(path, display, whole_id, opts, out, prep, sink),
        Kind::Jsonl(codec) => {
            let file = File::open(path).map_err(|e| io_error(display, e))?;
            let file = BufReader::with_capacity(READ_BUF_BYTES, file);
            match codec {
                Codec::Plain => read_jsonl_inner(file, display, codec, opts, out, prep, sink),
                Codec::Gzip => {
                    let dec = flate2::bufread::MultiGzDecoder::new(file);
                    let reader = BufReader::with_capacity(READ_BUF_BYTES, dec);
                    read_jsonl_inner(reader, display, codec, opts, out, prep, sink)
                }
                Codec::Zstd => {
                    let dec = ZstdReader::new(file);
                    let reader = BufReader::with_capacity(READ_BUF_BYTES, dec);
                    read_jsonl_inner(reader, display, codec, opts, out, prep, sink)
                }
            }
        }
    }
}

/// Reads a `.txt`/`.html`/`.htm` file as one document.
fn read_whole_file<P: Prepare, S: Sink<P>>(
    path: &Path,
    display: &str,
    id: &str,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    let file = File::open(path).map_err(|e| io_error(display, e))?;
    // Read at most max_doc_bytes + BOM + 1 bytes: enough to tell "too long".
    let limit = opts.max_doc_bytes.saturating_add(BOM.len());
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    (&file)
        .take(take)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(display, e))?;
    out.bytes_read = out
        .bytes_read
        .saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));

    let bom_len = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    if bytes.len() - bom_len > opts.max_doc_bytes {
        let size = file
            .metadata()
            .ok()
            .map(|m| m.len())
            .filter(|&n| n > u64::try_from(opts.max_doc_bytes).unwrap_or(u64::MAX));
        let message = match size {
            Some(n) => format!(
                "text is {n} bytes, over the limit of {} (--max-doc-bytes)",
                opts.max_doc_bytes
            ),
            None => format!(
                "text is over the limit of {} bytes (--max-doc-bytes)",
                opts.max_doc_bytes
            ),
        };
        return reject(opts, out, display, 0, message);
    }
    if bom_len > 0 {
        bytes.drain(..bom_len);
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to() + bom_len;
            return reject(opts, out, display, 0, format!("invalid UTF-8 at byte {at}"));
        }
    };
    let doc = Document {
        id: id.to_owned(),
        text,
        source: None,
        published: None,
        origin: Origin::new(display, 0),
        record: None,
    };
    accept(doc, None, opts, out, prep, sink)
}

/// Walks a directory and reads the files in it (see the module docs).
fn read_dir_input<P: Prepare, S: Sink<P>>(
    root: &Path,
    display_root: &str,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    let files = list_dir(root, display_root)?;
    let prefix = display_root.trim_end_matches('/');
    for (rel, kind) in files {
        let rel_str = rel_to_string(&rel);
        let display = format!("{prefix}/{rel_str}");
        read_file(
            &root.join(&rel),
            &display,
            &rel_str,
            kind,
            opts,
            out,
            prep,
            sink,
        )?;
    }
    Ok(())
}

/// `a/b/c.txt` with `/` separators, whatever the platform.
fn rel_to_string(rel: &Path) -> String {
    let mut s = String::new();
    for comp in rel.components() {
        if !s.is_empty() {
            s.push('/');
        }
        s.push_str(&comp.as_os_str().to_string_lossy());
    }
    s
}

/// All readable files under `root` (relative paths), sorted component-wise.
/// Iterative, so deep trees cannot overflow the stack.
fn list_dir(root: &Path, display_root: &str) -> Result<Vec<(PathBuf, Kind)>, ReadError> {
    let prefix = display_root.trim_end_matches('/');
    let shown = |rel: &Path| {
        if rel.as_os_str().is_empty() {
            display_root.to_owned()
        } else {
            format!("{prefix}/{}", rel_to_string(rel))
        }
    };
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel_dir) = pending.pop() {
        let dir = root.join(&rel_dir);
        let entries = fs::read_dir(&dir).map_err(|e| io_error(&shown(&rel_dir), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&shown(&rel_dir), e))?;
            let rel = rel_dir.join(entry.file_name());
            let file_type = entry.file_type().map_err(|e| io_error(&shown(&rel), e))?;
            let is_dir = if file_type.is_symlink() {
                // Follow links to files, never into directories (no cycles).
                // A dangling link is treated as a file and fails when opened.
                if fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                    continue;
                }
                false
            } else {
                file_type.is_dir()
            };
            if is_dir {
                pending.push(rel);
            } else if let Some(kind) = kind_in_dir(&entry.file_name().to_string_lossy()) {
                files.push((rel, kind));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// One line read by [`read_line_capped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfo {
    /// Bytes consumed from the reader, terminator included.
    pub consumed: usize,
    /// The line was longer than the cap; `buf` holds only its start.
    pub overflow: bool,
    /// The line ended with `\n` (rather than at the end of the stream).
    pub terminated: bool,
}

/// Position of the first `\n` in `bytes` (SIMD where the CPU has it). The line reader spends
/// most of its time here, and it runs on the reading thread, which nothing else overlaps.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Reads one line through `\n` (or to EOF), appending it to `buf` (where it starts at
/// `start`), storing at most
/// `cap` bytes of it plus the terminator; the rest of an over-long line is
/// consumed and dropped. Returns `None` at EOF.
pub fn read_line_capped<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    start: usize,
    cap: usize,
) -> io::Result<Option<LineInfo>> {
    let mut consumed = 0usize;
    let mut overflow = false;
    let mut terminated = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let (chunk_len, done) = match find_newline(available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let chunk = &available[..chunk_len];
        // Room for `cap` content bytes plus one terminator byte.
        let room = cap.saturating_add(1).saturating_sub(buf.len() - start);
        if chunk.len() <= room {
            buf.extend_from_slice(chunk);
        } else {
            buf.extend_from_slice(&chunk[..room]);
            overflow = true;
        }
        consumed = consumed.saturating_add(chunk_len);
        reader.consume(chunk_len);
        if done {
            terminated = true;
            break;
        }
    }
    if consumed == 0 {
        return Ok(None);
    }
    // Content of cap + 1 bytes with no terminator fits in `buf` but is still
    // over the cap.
    let content_len = consumed - usize::from(terminated);
    if content_len > cap {
        overflow = true;
    }
    Ok(Some(LineInfo {
        consumed,
        overflow,
        terminated,
    }))
}

/// The JSONL reader shared by every input kind.
fn read_jsonl_inner<R: BufRead, P: Prepare, S: Sink<P>>(
    mut reader: R,
    name: &str,
    codec: Codec,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    let mut state = ReadState::new(line_limit(opts));
    let read_err = if rayon::current_thread_index().is_some() {
        // Called from a rayon worker: a helper thread blocking this worker while it waits
        // for the pool could deadlock a one-thread pool, so do it all here, in turn.
        let mut batch = Batch::default();
        let pool = ScratchPool::new();
        loop {
            let res = state.fill(&mut reader, &mut batch);
            let parsed = batch.parse(name, opts, prep, &pool);
            accept_all(Some(parsed), name, opts, out, prep, sink)?;
            out.bytes_read = out
                .bytes_read
                .saturating_add(std::mem::take(&mut state.bytes));
            match res {
                Err(e) => break Some(e),
                Ok(()) if state.eof => break None,
                Ok(()) => {}
            }
        }
    } else {
        read_ahead(&mut reader, &mut state, name, opts, out, prep, sink)?
    };
    match read_err {
        // Records before the damage were checked first, as a sequential reader would.
        Some(e) => Err(stream_error(codec, name, e)),
        None => Ok(()),
    }
}

/// Batches sent to be parsed and not yet accepted, at most (see [`read_ahead`]).
const IN_FLIGHT: usize = 2;

/// Reads batches on this thread while a helper thread parses them (in parallel inside, on
/// the pool), one after the other, and accepts the parsed batches here, strictly in input
/// order, so errors, skips and duplicate ids come out as a sequential reader gives them.
/// Returns the read error that ended the stream, if one did, once every batch before it was
/// accepted.
///
/// At most [`IN_FLIGHT`] batches are sent and not yet accepted. Reading only the next batch
/// while one was parsed, and joining both before going on, left the pool idle whenever its
/// parse finished first (the reading and accepting thread shares the cores with the pool);
/// with the queue, read+normalize of 100k documents on two threads went from 0.470 to 0.450 s
/// (BENCHMARKS.md). The reader stays on this thread because it need not be `Send` (standard
/// input's lock is not).
fn read_ahead<R: BufRead, P: Prepare, S: Sink<P>>(
    reader: &mut R,
    state: &mut ReadState,
    name: &str,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<Option<io::Error>, ReadError> {
    use std::sync::mpsc;
    type Parsed<O> = (Batch, Vec<LineResult<O>>);
    std::thread::scope(|scope| {
        let (to_parse, parse_queue) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let (parsed_tx, parsed) = mpsc::channel::<Parsed<P::Output>>();
        let parser = scope.spawn(move || {
            let pool = ScratchPool::new();
            for batch in parse_queue {
                let results = batch.parse(name, opts, prep, &pool);
                if parsed_tx.send((batch, results)).is_err() {
                    break;
                }
            }
        });
        // Emptied batches, to be filled again: a batch's buffer has grown to a batch's size,
        // and a fresh one would fault in those pages anew.
        let mut spare: Vec<Batch> = Vec::new();
        let mut in_flight = 0usize;
        let mut read_err = None;
        let mut ended = false;
        let mut run = || -> Result<(), ReadError> {
            loop {
                let done = match parsed.try_recv() {
                    Ok(p) => Some(p),
                    Err(_) if in_flight > 0 && (ended || in_flight >= IN_FLIGHT) => {
                        match parsed.recv() {
                            Ok(p) => Some(p),
                            // The parser stopped early: it panicked (raised below).
                            Err(_) => return Ok(()),
                        }
                    }
                    Err(_) => None,
                };
                if let Some((batch, results)) = done {
                    in_flight -= 1;
                    accept_all(Some(results), name, opts, out, prep, sink)?;
                    out.bytes_read = out.bytes_read.saturating_add(batch.bytes);
                    spare.push(batch);
                    continue;
                }
                if ended {
                    return Ok(());
                }
                let mut next = spare.pop().unwrap_or_default();
                let res = state.fill(reader, &mut next);
                next.bytes = std::mem::take(&mut state.bytes);
                match res {
                    Err(e) => {
                        read_err = Some(e);
                        ended = true;
                    }
                    Ok(()) => ended = state.eof,
                }
                if next.lines.is_empty() {
                    out.bytes_read = out.bytes_read.saturating_add(next.bytes);
                    spare.push(next);
                } else if to_parse.send(next).is_ok() {
                    in_flight += 1;
                } else {
                    // The parser stopped early: it panicked (raised below).
                    return Ok(());
                }
            }
        };
        let accepted = run();
        // On an error, stop the parser at its next batch; then surface a panic in it (a bug)
        // on this thread.
        drop(to_parse);
        drop(parsed);
        if let Err(p) = parser.join() {
            std::panic::resume_unwind(p);
        }
        accepted.map(|()| read_err)
    })
}

/// Accepts (or rejects) one parsed batch's results, in order.
fn accept_all<P: Prepare, S: Sink<P>>(
    parsed: Option<Vec<LineResult<P::Output>>>,
    name: &str,
    opts: &ReadOptions,
    out: &mut Corpus,
    prep: &P,
    sink: &mut S,
) -> Result<(), ReadError> {
    // Each id is an allocation of its own, written by a parsing thread: the duplicate-id
    // check's first read of it missed the cache, one document after the other. The next few
    // documents' ids are touched first, so that their misses overlap (as in
    // `hashsort::touching_ahead`, which takes indices, not a vector to move out of).
    use crate::hashsort::AHEAD;
    let touch = |r: &LineResult<P::Output>| match r {
        LineResult::Doc(doc, _) => doc.id.as_bytes().first().map_or(0, |&b| u64::from(b)),
        _ => 0,
    };
    let mut rest = parsed.unwrap_or_default().into_iter();
    while rest.len() > 0 {
        let touched = rest.as_slice()[..AHEAD.min(rest.len())]
            .iter()
            .fold(0, |a, r| a ^ touch(r));
        std::hint::black_box(touched);
        for p in rest.by_ref().take(AHEAD) {
            match p {
                LineResult::Blank => {}
                LineResult::Doc(doc, prepared) => {
                    accept(doc, Some(prepared), opts, out, prep, sink)?
                }
                LineResult::Bad(line_no, message) => reject(opts, out, name, line_no, message)?,
            }
        }
    }
    Ok(())
}

/// Lines are parsed in parallel batches of about this many bytes (or lines); results are then
/// accepted in input order, so errors, skips and duplicate ids come out exactly as a
/// sequential reader would give them.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The first batch of a stream takes about this many bytes, and each next one twice as many
/// up to [`BATCH_BYTES`]: nothing is parsed until the first batch is read, into memory that
/// is faulted in as it is written, and at 8 MiB that left the pool idle for about 40 ms at
/// the start of a run (a time-bucketed profile of the 100k corpus).
const FIRST_BATCH_BYTES: usize = 512 * 1024;
const BATCH_LINES: usize = 16 * 1024;

/// Bytes asked of the reader at a time by [`ReadState::fill`]: the capacity of the
/// `BufReader` around every input, so that it hands each such read straight to the file,
/// decoder or pipe beneath, into the batch's buffer, without a copy through its own.
const READ_CHUNK: usize = READ_BUF_BYTES;

/// Position of the line reader in one stream.
struct ReadState {
    cap: usize,
    /// Bytes the next batch takes (see [`FIRST_BATCH_BYTES`]).
    batch_bytes: usize,
    line_no: u64,
    /// Bytes consumed since last collected.
    bytes: u64,
    eof: bool,
    /// Input read past the last line a full batch took: the start of the next batch.
    carry: Vec<u8>,
    /// Bytes so far of a line over the cap whose rest is being read and dropped.
    skipping: Option<usize>,
}

impl ReadState {
    /// The state at the start of a stream whose lines are kept up to `cap` bytes.
    fn new(cap: usize) -> Self {
        ReadState {
            cap,
            batch_bytes: FIRST_BATCH_BYTES,
            line_no: 0,
            bytes: 0,
            eof: false,
            carry: Vec::new(),
            skipping: None,
        }
    }

    /// Reads lines into `batch` until it is full or the stream ends. On error the lines read
    /// before it stay in the batch.
    ///
    /// The input is read in chunks straight into the batch's buffer and cut into lines where
    /// it lies (reading line by line through a `BufReader` copied every byte once more: 1.3%
    /// of a 100k-document run's cycles). The buffer keeps its length from batch to batch, so
    /// a reused batch's bytes are not zeroed again before each read; only its first
    /// `filled` bytes hold input. What a full batch read past its last line waits in `carry`.
    fn fill<R: Read>(&mut self, reader: &mut R, batch: &mut Batch) -> io::Result<()> {
        batch.lines.clear();
        let data = &mut batch.data;
        // A batch's bytes, the chunk read past them and one more: allocated once, at that
        // size, rather than grown by doubling as the chunks came (at 100k documents that
        // took 4,200 more pages: the reallocations' copies touched both old and new blocks).
        let room = BATCH_BYTES + 2 * READ_CHUNK;
        if data.capacity() < room {
            data.reserve_exact(room - data.len());
        }
        let mut filled = self.carry.len();
        if data.len() < filled {
            data.resize(filled, 0);
        }
        data[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        // The first byte of the line being read, and how far it is known to hold no line
        // break (a long line is read in many chunks: each is searched once, not the whole
        // line again after every chunk).
        let mut start = 0;
        let mut searched = 0;
        loop {
            if let Some(skipped) = self.skipping {
                // The rest of a line over the cap: counted up to its end, not kept.
                match memchr::memchr(b'\n', &data[start..filled]) {
                    Some(nl) => {
                        self.skipping = None;
                        self.over_cap(&mut batch.lines, skipped + nl, skipped + nl + 1);
                        start += nl + 1;
                    }
                    None => {
                        self.skipping = Some(skipped + (filled - start));
                        filled = start;
                        searched = start;
                    }
                }
            }
            while self.skipping.is_none() {
                let from = searched.max(start);
                let Some(nl) = memchr::memchr(b'\n', &data[from..filled]) else {
                    searched = filled;
                    break;
                };
                let end = from + nl + 1;
                self.take_line(data, &mut batch.lines, start, end, true);
                start = end;
                if start >= self.batch_bytes || batch.lines.len() >= BATCH_LINES {
                    self.carry.extend_from_slice(&data[start..filled]);
                    self.batch_bytes = (self.batch_bytes * 2).min(BATCH_BYTES);
                    return Ok(());
                }
            }
            if self.skipping.is_none() && filled - start > self.cap {
                // More than the cap without a line break: over the cap whatever follows.
                self.skipping = Some(filled - start);
                filled = start;
                searched = start;
            }
            if self.eof {
                if let Some(skipped) = self.skipping.take() {
                    self.over_cap(&mut batch.lines, skipped, skipped);
                } else if filled > start {
                    self.take_line(data, &mut batch.lines, start, filled, false);
                }
                return Ok(());
            }
            if data.len() < filled + READ_CHUNK {
                data.resize(filled + READ_CHUNK, 0);
            }
            match reader.read(&mut data[filled..filled + READ_CHUNK]) {
                Ok(0) => self.eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes the line `data[start..end]` (`terminated`: it ends with `\n`) into `lines`.
    fn take_line(
        &mut self,
        data: &[u8],
        lines: &mut Vec<BatchLine>,
        start: usize,
        end: usize,
        terminated: bool,
    ) {
        let content = end - start - usize::from(terminated);
        if content > self.cap {
            self.over_cap(lines, content, end - start);
            return;
        }
        self.line_no += 1;
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(end - start).unwrap_or(u64::MAX));
        let mut end = start + content;
        if data[start..end].ends_with(b"\r") {
            end -= 1;
        }
        let mut from = start;
        let mut bom_len = 0;
        if self.line_no == 1 && data[start..end].starts_with(BOM) {
            from += BOM.len();
            bom_len = BOM.len();
        }
        lines.push(BatchLine::Raw {
            line_no: self.line_no,
            start: from,
            end,
            bom_len,
        });
    }

    /// Records a line of `len` bytes (terminator not counted), `consumed` with it, as over the
    /// cap.
    fn over_cap(&mut self, lines: &mut Vec<BatchLine>, len: usize, consumed: usize) {
        self.line_no += 1;
        self.bytes = self
            .bytes
            .saturating_add(u64::try_from(consumed).unwrap_or(u64::MAX));
        let message = format!(
            "line is {len} bytes, over the limit of {} (8 x --max-doc-bytes + 1 MiB)",
            self.cap
        );
        lines.push(BatchLine::Bad(self.line_no, message));
    }
}

enum BatchLine {
    /// A line's bytes in `Batch::data`, without terminator or BOM.
    Raw {
        line_no: u64,
        start: usize,
        end: usize,
        bom_len: usize,
    },
    /// A line already known to be bad (over the length cap).
    Bad(u64, String),
}

enum LineResult<O> {
    Blank,
    Doc(Document, O),
    Bad(u64, String),
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    lines: Vec<BatchLine>,
    /// Input bytes its lines took (with terminators, and lines over the cap whole).
    bytes: u64,
}

/// A parsing job's reusable state: the preparer's scratch and the buffer of the last text it
/// released (the next record's text is unescaped into it, so a job allocates, and the kernel
/// faults in, one text buffer, not one per record).
type JobScratch<P> = (<P as Prepare>::Scratch, String);

/// Scratch states kept from one parsing job to the next, for one stream. Rayon starts a job
/// (and asks for a fresh state) for each piece it splits a batch into: about 900 of them for
/// 100k documents on two threads, each then growing its buffers to the largest documents it
/// met, in fresh pages (the reallocations and page faults were about 4% of the run's cycles).
/// A job takes a state from here and gives it back when it ends. The pool holds as many
/// states as jobs ran at once (about one per thread), each keeping the capacity its largest
/// document needed until the stream ends.
struct ScratchPool<S>(std::sync::Mutex<Vec<S>>);

impl<S> ScratchPool<S> {
    fn new() -> Self {
        ScratchPool(std::sync::Mutex::new(Vec::new()))
    }

    /// A state from the pool, or a new one from `make`; returned to the pool when dropped.
    fn lease(&self, make: impl FnOnce() -> S) -> Lease<'_, S> {
        // A poisoned lock only means a job panicked; the states in it are still whole.
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Lease {
            pool: self,
            state: Some(kept.unwrap_or_else(make)),
        }
    }
}

/// A state borrowed from a [`ScratchPool`].
struct Lease<'p, S> {
    pool: &'p ScratchPool<S>,
    /// Always `Some` until dropped.
    state: Option<S>,
}

impl<S> std::ops::Deref for Lease<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        match &self.state {
            Some(s) => s,
            None => unreachable!("a lease holds its state until dropped"),
        }
    }
}

impl<S> std::ops::DerefMut for Lease<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        match &mut self.state {
            Some(s) => s,
            None => unreachable!("a lease holds its state until dropped"),
        }
    }
}

impl<S> Drop for Lease<'_, S> {
    fn drop(&mut self) {
        if let Some(s) = self.state.take() {
            self.pool
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(s);
        }
    }
}

impl Batch {
    /// Parses (and prepares) every line in parallel, results in line order. Each job's
    /// scratch state comes from `pool`.
    fn parse<P: Prepare>(
        &self,
        name: &str,
        opts: &ReadOptions,
        prep: &P,
        pool: &ScratchPool<JobScratch<P>>,
    ) -> Vec<LineResult<P::Output>> {
        use rayon::prelude::*;
        let data = &self.data;
        self.lines
            .par_iter()
            .map_init(
                || pool.lease(|| (prep.scratch(), String::new())),
                |lease, l| match l {
                    BatchLine::Bad(line_no, message) => LineResult::Bad(*line_no, message.clone()),
                    BatchLine::Raw {
                        line_no,
                        start,
                        end,
                        bom_len,
                    } => {
                        let (scratch, spare) = &mut **lease;
                        match parse_line(&data[*start..*end], *line_no, *bom_len, name, opts, spare)
                        {
                            Ok(Some(mut doc)) => {
                                let o = prep.prepare(scratch, &mut doc);
                                if doc.text.is_empty() {
                                    *spare = std::mem::take(&mut doc.text);
                                }
                                LineResult::Doc(doc, o)
                            }
                            Ok(None) => LineResult::Blank,
                            Err((line_no, message)) => LineResult::Bad(line_no, message),
                        }
                    }
                },
            )
            .collect()
    }
}

/// Checks and parses one line (no terminator, no BOM): a document, `None` for a blank line,
/// or the line number and what is wrong.
fn parse_line(
    line: &[u8],
    line_no: u64,
    bom_len: usize,
    name: &str,
    opts: &ReadOptions,
    spare: &mut String,
) -> Result<Option<Document>, (u64, String)> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    // SIMD validation; the `compat` flavour also says where the first bad byte is.
    let text = match simdutf8::compat::from_utf8(line) {
        Ok(text) => text,
        Err(e) => {
            let at = e.valid_up_to() + bom_len;
            return Err((line_no, format!("invalid UTF-8 at byte {at}")));
        }
    };
    match parse_record_reusing(text, opts, spare) {
        Ok(rec) => Ok(Some(Document {
            id: rec.id,
            text: rec.text,
            source: rec.source,
            published: rec.published,
            origin: Origin::new(name, line_no),
            record: opts.keep_records.then(|| text.to_owned()),
        })),
        Err(message) => Err((line_no, message)),
    }
}

/// The fields of a well-formed record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    id: String,
    text: String,
    source: Option<String>,
    published: Option<String>,
}

/// Parses and checks one JSONL line (already UTF-8, without terminator or
/// BOM). The error is the bad-record message.
#[cfg(test)]
fn parse_record(line: &str, opts: &ReadOptions) -> Result<Record, String> {
    parse_record_reusing(line, opts, &mut String::new())
}

/// [`parse_record`], the text unescaped into `spare`'s buffer where the fast path can (see
/// [`Batch::parse`]).
fn parse_record_reusing(
    line: &str,
    opts: &ReadOptions,
    spare: &mut String,
) -> Result<Record, String> {
    let parsed = match record::parse_fields_reusing(line, &opts.id_field, &opts.text_field, spare) {
        Some(fields) => Parsed::Object(fields),
        None => {
            let mut de = serde_json::Deserializer::from_str(line);
            let seed = RecordSeed {
                id_field: &opts.id_field,
                text_field: &opts.text_field,
            };
            let parsed = seed.deserialize(&mut de).map_err(json_message)?;
            de.end().map_err(json_message)?;
            parsed
        }
    };
    let fields = match parsed {
        Parsed::Object(fields) => fields,
        Parsed::NotObject(kind) => {
            return Err(format!("record is not a JSON object (found {kind})"));
        }
    };

    let id = match fields.id {
        None => return Err(format!("missing field {:?}", opts.id_field)),
        Some(FieldValue::Str(s) | FieldValue::Int(s)) => s,
        Some(FieldValue::Other(kind)) => {
            return Err(format!(
                "field {:?} must be a string or integer, found {kind}",
                opts.id_field
            ));
        }
    };
    if id.is_empty() {
        return Err(format!("field {:?} is empty", opts.id_field));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(format!(
            "id is {} bytes, over the limit of {MAX_ID_BYTES}",
            id.len()
        ));
    }

    let text = match fields.text {
        None => return Err(format!("missing field {:?}", opts.text_field)),
        Some(FieldValue::Str(s)) => s,
        Some(FieldValue::Int(_)) => {
            return Err(format!(
                "field {:?} must be a string, found integer",
                opts.text_field
            ));
        }
        Some(FieldValue::Other(kind)) => {
            return Err(format!(
                "field {:?} must be a string, found {kind}",
                opts.text_field
            ));
        }
    };
    if text.len() > opts.max_doc_bytes {
        return Err(format!(
            "text is {} bytes, over the limit of {} (--max-doc-bytes)",
            text.len(),
            opts.max_doc_bytes
        ));
    }

    let string_only = |v: Option<FieldValue>| match v {
        Some(FieldValue::Str(s)) => Some(s),
        _ => None,
    };
    Ok(Record {
        id,
        text,
        source: string_only(fields.source),
        published: string_only(fields.published),
    })
}

/// `invalid JSON: <serde_json message> at column N`.
fn json_message(e: serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&suffix) {
        Some(msg) if e.line() != 0 => format!("invalid JSON: {msg} at column {}", e.column()),
        _ => format!("invalid JSON: {full}"),
    }
}

// ---------------------------------------------------------------------------
// Streaming extraction of the interesting fields.

const ROLE_ID: u8 = 1;
const ROLE_TEXT: u8 = 2;
const ROLE_SOURCE: u8 = 4;
const ROLE_PUBLISHED: u8 = 8;

/// A field value, reduced to what the checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FieldValue {
    Str(String),
    /// An integer, as its decimal string.
    Int(String),
    /// Any other JSON value; the name of its type, for messages.
    Other(&'static str),
}

impl<'de> de::Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Other("non-integer number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Other("boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Other("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Other("object"))
    }
}

/// Classifies an object key into roles (a bit set; 0 = not interesting).
struct KeySeed<'a> {
    id_field: &'a str,
    text_field: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = u8;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u8, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = u8;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<u8, E> {
        Ok(roles_of(key, self.id_field, self.text_field))
    }
}

/// The roles of an object key (a bit set; 0 = not interesting).
fn roles_of(key: &str, id_field: &str, text_field: &str) -> u8 {
    let mut roles = 0;
    if key == id_field {
        roles |= ROLE_ID;
    }
    if key == text_field {
        roles |= ROLE_TEXT;
    }
    if key == "source" {
        roles |= ROLE_SOURCE;
    }
    if key == "published" {
        roles |= ROLE_PUBLISHED;
    }
    roles
}

/// Stores a field's value in each slot its key has a role in (a later duplicate key wins).
fn assign(fields: &mut Fields, roles: u8, value: FieldValue) {
    // A key can have several roles (e.g. --id-field source).
    let slots = [
        (ROLE_ID, &mut fields.id),
        (ROLE_TEXT, &mut fields.text),
        (ROLE_SOURCE, &mut fields.source),
        (ROLE_PUBLISHED, &mut fields.published),
    ];
    let mut value = Some(value);
    let last = slots
        .iter()
        .rposition(|(role, _)| roles & role != 0)
        .unwrap_or(0);
    for (i, (role, slot)) in slots.into_iter().enumerate() {
        if roles & role != 0 {
            *slot = if i == last {
                value.take()
            } else {
                value.clone()
            };
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    id: Option<FieldValue>,
    text: Option<FieldValue>,
    source: Option<FieldValue>,
    published: Option<FieldValue>,
}

#[derive(Debug)]
enum Parsed {
    Object(Fields),
    /// The record is valid JSON but not an object; the name of its type.
    NotObject(&'static str),
}

struct RecordSeed<'a> {
    id_field: &'a str,
    text_field: &'a str,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Parsed;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut fields = Fields::default();
        let key_seed = || KeySeed {
            id_field: self.id_field,
            text_field: self.text_field,
        };
        while let Some(roles) = map.next_key_seed(key_seed())? {
            if roles == 0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: FieldValue = map.next_value()?;
            assign(&mut fields, roles, value);
        }
        Ok(Parsed::Object(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Parsed::NotObject("array"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("string"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::NotObject("null"))
    }
}

// ---------------------------------------------------------------------------
// zstd

/// A streaming zstd decoder (libzstd, through the `zstd` crate) over any number of
/// concatenated frames: skippable frames are skipped and content checksums checked by libzstd;
/// a stream cut inside a frame is an error. An input with no frame at all (a 0-byte file) is an
/// error too, as it is for gzip.
struct ZstdReader<R: BufRead> {
    /// The source until the first read has seen that it is not empty.
    source: Option<R>,
    decoder: Option<zstd::stream::read::Decoder<'static, R>>,
}

impl<R: BufRead> ZstdReader<R> {
    fn new(source: R) -> Self {
        ZstdReader {
            source: Some(source),
            decoder: None,
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The source is taken only once it is known to hold something, so an empty input
        // stays an error on every read (not an error, then a clean end).
        if let Some(source) = self.source.as_mut() {
            let empty = loop {
                match source.fill_buf() {
                    Ok(b) => break b.is_empty(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if empty {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "empty input, no zstd frame",
                ));
            }
            if let Some(source) = self.source.take() {
                // The source is already buffered: libzstd reads straight from its buffer.
                self.decoder = Some(zstd::stream::read::Decoder::with_buffer(source)?);
            }
        }
        match &mut self.decoder {
            Some(decoder) => decoder.read(buf),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ReadOptions {
        ReadOptions::default()
    }

    fn parse(line: &str) -> Result<Record, String> {
        parse_record(line, &opts())
    }

    #[test]
    fn scratch_pool_hands_back_what_a_job_returned() {
        let pool = ScratchPool::new();
        let mut made = 0;
        {
            let mut a = pool.lease(|| {
                made += 1;
                String::with_capacity(1000)
            });
            a.push_str("grown");
            let _b = pool.lease(String::new);
        }
        // Both states are back; the next two leases take them (last returned first), and
        // neither calls `make`.
        let first = pool.lease(|| unreachable!("the pool holds two states"));
        let second = pool.lease(|| unreachable!("the pool holds two states"));
        assert_eq!(made, 1);
        let grown = [&*first, &*second]
            .into_iter()
            .find(|s| s.as_str() == "grown");
        assert!(grown.is_some_and(|s| s.capacity() >= 1000));
        drop((first, second));
        assert_eq!(pool.0.lock().map(|v| v.len()).unwrap_or(0), 2);
    }

    fn read_str(input: &[u8], opts: &ReadOptions) -> Result<Corpus, ReadError> {
        let mut out = Corpus::default();
        read_jsonl(input, "t.jsonl", opts, &mut out)?;
        Ok(out)
    }

    #[test]
    fn parses_basic_record() {
        let r = parse(r#"{"id":"a","text":"hello","source":"AP","published":"2024-01-02T03:04:05Z","x":[1,{"y":2}]}"#)
            .unwrap();
        assert_eq!(r.id, "a");
        assert_eq!(r.text, "hello");
        assert_eq!(r.source.as_deref(), Some("AP"));
        assert_eq!(r.published.as_deref(), Some("2024-01-02T03:04:05Z"));
    }

    #[test]
    fn integer_ids_become_decimal_strings() {
        assert_eq!(parse(r#"{"id":42,"text":"x"}"#).unwrap().id, "42");
        assert_eq!(parse(r#"{"id":-7,"text":"x"}"#).unwrap().id, "-7");
        assert_eq!(
            parse(r#"{"id":18446744073709551615,"text":"x"}"#)
                .unwrap()
                .id,
            "18446744073709551615"
        );
    }

    #[test]
    fn wrong_types_are_reported() {
        assert_eq!(
            parse(r#"{"id":[1],"text":"x"}"#).unwrap_err(),
            r#"field "id" must be a string or integer, found array"#
        );
        assert_eq!(
            parse(r#"{"id":1.5,"text":"x"}"#).unwrap_err(),
            r#"field "id" must be a string or integer, found non-integer number"#
        );
        assert_eq!(
            parse(r#"{"id":null,"text":"x"}"#).unwrap_err(),
            r#"field "id" must be a string or integer, found null"#
        );
        assert_eq!(
            parse(r#"{"id":"a","text":5}"#).unwrap_err(),
            r#"field "text" must be a string, found integer"#
        );
        assert_eq!(
            parse(r#"{"id":"a","text":{"a":1}}"#).unwrap_err(),
            r#"field "text" must be a string, found object"#
        );
        assert_eq!(
            parse(r#"{"id":"a","text":true}"#).unwrap_err(),
            r#"field "text" must be a string, found boolean"#
        );
    }

    #[test]
    fn missing_fields_are_reported() {
        assert_eq!(
            parse(r#"{"text":"x"}"#).unwrap_err(),
            r#"missing field "id""#
        );
        assert_eq!(
            parse(r#"{"id":"a"}"#).unwrap_err(),
            r#"missing field "text""#
        );
        let o = ReadOptions {
            id_field: "url".into(),
            text_field: "body".into(),
            ..ReadOptions::default()
        };
        assert_eq!(
            parse_record(r#"{"id":"a","text":"b"}"#, &o).unwrap_err(),
            r#"missing field "url""#
        );
        let r = parse_record(r#"{"url":"u","body":"b","text":7}"#, &o).unwrap();
        assert_eq!((r.id.as_str(), r.text.as_str()), ("u", "b"));
    }

    #[test]
    fn non_objects_and_invalid_json() {
        assert_eq!(
            parse("[1,2]").unwrap_err(),
            "record is not a JSON object (found array)"
        );
        assert_eq!(
            parse("\"s\"").unwrap_err(),
            "record is not a JSON object (found string)"
        );
        assert_eq!(
            parse("null").unwrap_err(),
            "record is not a JSON object (found null)"
        );
        assert_eq!(
            parse(r#"{"id":}"#).unwrap_err(),
            "invalid JSON: expected value at column 7"
        );
        assert!(parse(r#"{"id":"a","text":"b"} x"#)
            .unwrap_err()
            .starts_with("invalid JSON: trailing characters at column"));
        assert!(parse(r#"{"id":"a","text":"b""#)
            .unwrap_err()
            .starts_with("invalid JSON: EOF while parsing an object"));
    }

    #[test]
    fn optional_fields_of_other_types_are_ignored() {
        let r = parse(r#"{"id":"a","text":"b","source":1,"published":null}"#).unwrap();
        assert_eq!(r.source, None);
        assert_eq!(r.published, None);
    }

    #[test]
    fn escapes_and_unicode_in_text() {
        let r = parse(r#"{"id":"\u00e9","text":"a\nb\u2028\ud83d\ude00"}"#).unwrap();
        assert_eq!(r.id, "é");
        assert_eq!(r.text, "a\nb\u{2028}😀");
    }

    #[test]
    fn last_duplicate_key_wins_and_keys_may_share_roles() {
        assert_eq!(parse(r#"{"id":"a","id":"b","text":""}"#).unwrap().id, "b");
        let o = ReadOptions {
            id_field: "source".into(),
            ..ReadOptions::default()
        };
        let r = parse_record(r#"{"source":"s1","text":"t"}"#, &o).unwrap();
        assert_eq!(r.id, "s1");
        assert_eq!(r.source.as_deref(), Some("s1"));
    }

    #[test]
    fn limits() {
        let o = ReadOptions {
            max_doc_bytes: 4,
            ..ReadOptions::default()
        };
        assert!(parse_record(r#"{"id":"a","text":"abcd"}"#, &o).is_ok());
        assert_eq!(
            parse_record(r#"{"id":"a","text":"abcde"}"#, &o).unwrap_err(),
            "text is 5 bytes, over the limit of 4 (--max-doc-bytes)"
        );
        let long_id = "x".repeat(MAX_ID_BYTES + 1);
        assert_eq!(
            parse(&format!(r#"{{"id":"{long_id}","text":""}}"#)).unwrap_err(),
            "id is 1025 bytes, over the limit of 1024"
        );
        let ok_id = "x".repeat(MAX_ID_BYTES);
        assert!(parse(&format!(r#"{{"id":"{ok_id}","text":""}}"#)).is_ok());
        assert_eq!(
            parse(r#"{"id":"","text":""}"#).unwrap_err(),
            r#"field "id" is empty"#
        );
    }

    #[test]
    fn id_index_is_exact_even_when_hashes_collide() {
        let mut index = IdIndex::default();
        let mut ids: Vec<&str> = Vec::new();
        let mut add = |index: &mut IdIndex, id: &'static str, h: u64| {
            let next = ids.len() as u32;
            let known = ids.clone();
            let r = index.insert_hashed(id, h, next, |j| known[j as usize]);
            if r.is_ok() {
                ids.push(id);
            }
            r.map(|()| next)
        };
        assert_eq!(add(&mut index, "a", 7), Ok(0));
        assert_eq!(add(&mut index, "b", 8), Ok(1));
        // "c" and "d" hash like "a": new ids all the same, kept in the side map.
        assert_eq!(add(&mut index, "c", 7), Ok(2));
        assert_eq!(add(&mut index, "d", 7), Ok(3));
        assert_eq!(add(&mut index, "a", 7), Err(0));
        assert_eq!(add(&mut index, "c", 7), Err(2));
        assert_eq!(add(&mut index, "d", 7), Err(3));
        assert_eq!(add(&mut index, "b", 8), Err(1));
    }

    #[test]
    fn empty_text_is_kept() {
        assert_eq!(parse(r#"{"id":"a","text":""}"#).unwrap().text, "");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // serde_json skips ignored values without recursion.
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let deep = format!(r#"{{"id":"a","text":"","x":{}}}"#, nest(100_000));
        assert!(parse(&deep).is_ok());
        let deep = format!(r#"{{"id":{},"text":""}}"#, nest(100_000));
        assert_eq!(
            parse(&deep).unwrap_err(),
            r#"field "id" must be a string or integer, found array"#
        );
        assert_eq!(
            parse(&nest(100_000)).unwrap_err(),
            "record is not a JSON object (found array)"
        );
        let unclosed = "[".repeat(100_000);
        assert!(parse(&unclosed).unwrap_err().starts_with("invalid JSON: "));
    }

    #[test]
    fn blank_lines_crlf_bom_and_line_numbers() {
        let input = b"\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"1\"}\r\n\r\n   \t\n{\"id\":\"b\",\"text\":\"2\"}";
        let o = ReadOptions {
            keep_records: true,
            ..ReadOptions::default()
        };
        let c = read_str(input, &o).unwrap();
        assert_eq!(c.docs.len(), 2);
        assert_eq!(c.docs[0].origin, Origin::new("t.jsonl", 1));
        assert_eq!(
            c.docs[0].record.as_deref(),
            Some(r#"{"id":"a","text":"1"}"#)
        );
        assert_eq!(c.docs[1].origin, Origin::new("t.jsonl", 4));
        assert_eq!(
            c.docs[1].record.as_deref(),
            Some(r#"{"id":"b","text":"2"}"#)
        );
        assert_eq!(c.bytes_read, input.len() as u64);
    }

    #[test]
    fn bom_only_at_start() {
        let input = b"{\"id\":\"a\",\"text\":\"1\"}\n\xEF\xBB\xBF{\"id\":\"b\",\"text\":\"2\"}\n";
        let e = read_str(input, &opts()).unwrap_err().to_string();
        assert!(e.starts_with("t.jsonl:2: invalid JSON"), "{e}");
    }

    #[test]
    fn invalid_utf8_reports_offset() {
        let input = b"{\"id\":\"a\",\"text\":\"\xff\"}\n";
        let e = read_str(input, &opts()).unwrap_err();
        assert_eq!(e.to_string(), "t.jsonl:1: invalid UTF-8 at byte 18");
        // Offsets count the BOM on the first line.
        let input = b"\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"\xff\"}\n";
        let e = read_str(input, &opts()).unwrap_err();
        assert_eq!(e.to_string(), "t.jsonl:1: invalid UTF-8 at byte 21");
    }

    #[test]
    fn skip_bad_collects_reasons() {
        let input = b"{\"id\":1,\"text\":\"a\"}\nnope\n{\"id\":1,\"text\":\"b\"}\n{\"text\":\"c\"}\n{\"id\":2,\"text\":\"d\"}\n";
        let o = ReadOptions {
            skip_bad: true,
            ..ReadOptions::default()
        };
        let c = read_str(input, &o).unwrap();
        let ids: Vec<_> = c.docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        let lines: Vec<_> = c.skipped.iter().map(|s| s.origin.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(
            c.skipped[1].reason,
            r#"duplicate id "1" (first seen at t.jsonl:1)"#
        );
        assert_eq!(c.skipped[2].to_string(), r#"t.jsonl:4: missing field "id""#);
    }

    #[test]
    fn many_batches_keep_input_order_and_line_numbers() {
        // Five batches of lines (more than are ever in flight), a malformed line in the third
        // and a duplicate of a first-batch id in the fifth: the documents, skips and errors
        // are those of a sequential reader, and every byte is counted.
        let n = 4 * BATCH_LINES + 100;
        let bad = 2 * BATCH_LINES + 7;
        let dup = 4 * BATCH_LINES + 3;
        let mut input = String::new();
        for line in 1..=n {
            match line {
                l if l == bad => input.push_str("{\"id\":\n"),
                l if l == dup => input.push_str("{\"id\":\"d5\",\"text\":\"again\"}\n"),
                l => input.push_str(&format!("{{\"id\":\"d{l}\",\"text\":\"t{l}\"}}\n")),
            }
        }
        let skip = ReadOptions {
            skip_bad: true,
            ..ReadOptions::default()
        };
        let c = read_str(input.as_bytes(), &skip).unwrap();
        let want: Vec<String> = (1..=n)
            .filter(|&l| l != bad && l != dup)
            .map(|l| format!("d{l}"))
            .collect();
        let got: Vec<&str> = c.docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(got, want);
        assert!(c.docs.iter().all(|d| d.text == format!("t{}", &d.id[1..])));
        let lines: Vec<_> = c.skipped.iter().map(|s| s.origin.line).collect();
        assert_eq!(lines, [bad as u64, dup as u64]);
        assert_eq!(
            c.skipped[1].reason,
            r#"duplicate id "d5" (first seen at t.jsonl:5)"#
        );
        assert_eq!(c.bytes_read, input.len() as u64);
        // From inside a one-thread pool the batches are read and parsed in turn: the same.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let inner = pool.install(|| read_str(input.as_bytes(), &skip)).unwrap();
        let got: Vec<&str> = inner.docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(got, want);
        assert_eq!(inner.skipped.len(), 2);
        assert_eq!(inner.bytes_read, input.len() as u64);
        // Without skipping, the first bad line stops the run, named by its number.
        let e = read_str(input.as_bytes(), &ReadOptions::default()).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!("t.jsonl:{bad}: ")),
            "{e}"
        );
    }

    #[test]
    fn read_jsonl_sees_ids_already_in_corpus() {
        let mut c = Corpus::default();
        read_jsonl(
            &b"{\"id\":\"a\",\"text\":\"\"}\n"[..],
            "one",
            &opts(),
            &mut c,
        )
        .unwrap();
        let e = read_jsonl(
            &b"{\"id\":\"a\",\"text\":\"\"}\n"[..],
            "two",
            &opts(),
            &mut c,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"two:1: duplicate id "a" (first seen at one:1)"#
        );
    }

    #[test]
    fn overlong_lines_are_bad_records_and_are_not_stored() {
        // max_doc_bytes 0 gives a line limit of exactly 1 MiB.
        let o = ReadOptions {
            max_doc_bytes: 0,
            skip_bad: true,
            ..ReadOptions::default()
        };
        let cap = line_limit(&o);
        assert_eq!(cap, 1 << 20);
        let mut input = Vec::new();
        let pad = "x".repeat(cap);
        input.extend_from_slice(
            format!("{{\"id\":\"a\",\"text\":\"\",\"p\":\"{pad}\"}}\n").as_bytes(),
        );
        input.extend_from_slice(b"{\"id\":\"b\",\"text\":\"\"}\n");
        let c = read_str(&input, &o).unwrap();
        assert_eq!(c.docs.len(), 1);
        assert_eq!(c.docs[0].id, "b");
        assert_eq!(c.skipped.len(), 1);
        assert_eq!(c.skipped[0].origin.line, 1);
        assert!(
            c.skipped[0].reason.starts_with("line is "),
            "{}",
            c.skipped[0].reason
        );
        assert_eq!(c.bytes_read, input.len() as u64);
    }

    #[test]
    fn reading_from_a_rayon_worker_parses_inline() {
        // The path taken by callers that read from inside a pool (the `-j 1` deadlock it
        // avoids needs a one-thread *global* pool, exercised by `stream -j 1` in tests/index.rs).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let data = b"{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n";
        let c = pool.install(|| {
            let mut c = Corpus::default();
            read_jsonl(&data[..], "s", &opts(), &mut c).map(|_| c)
        });
        assert_eq!(c.unwrap().docs.len(), 2);
    }

    /// A [`Prepare`] that records each document's text length and takes the text.
    struct TakeLen;

    impl Prepare for TakeLen {
        type Scratch = usize;
        type Output = (String, usize);
        fn scratch(&self) -> usize {
            0
        }
        fn prepare(&self, calls: &mut usize, doc: &mut Document) -> (String, usize) {
            *calls += 1;
            let text = std::mem::take(&mut doc.text);
            (doc.id.clone(), text.len())
        }
    }

    /// A preparer that empties each text, as the pipeline's does.
    struct Empties;

    impl Prepare for Empties {
        type Scratch = ();
        type Output = usize;
        fn scratch(&self) {}
        fn prepare(&self, _: &mut (), doc: &mut Document) -> usize {
            let n = doc.text.len();
            doc.text.clear();
            n
        }
    }

    #[test]
    fn emptied_texts_are_released_on_every_path() {
        // JSONL records (whose buffers the reader reuses) and whole files (prepared at the
        // end): no document keeps the memory of a text its preparer emptied.
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("a.jsonl");
        let text = "word ".repeat(20_000);
        let lines: String = (0..3)
            .map(|i| format!("{{\"id\":\"j{i}\",\"text\":\"{text}\"}}\n"))
            .collect();
        fs::write(&jsonl, lines).unwrap();
        let sub = dir.path().join("d");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("b.txt"), &text).unwrap();
        fs::write(sub.join("c.html"), format!("<p>{text}</p>")).unwrap();
        let inputs = [
            jsonl.to_string_lossy().into_owned(),
            sub.to_string_lossy().into_owned(),
        ];
        let (corpus, lens) = read_inputs_with(&inputs, &opts(), &Empties).unwrap();
        assert_eq!(corpus.docs.len(), 5);
        assert!(lens.iter().all(|&n| n >= text.len() - 1), "{lens:?}");
        for d in &corpus.docs {
            assert_eq!(d.text.capacity(), 0, "{} kept its text's buffer", d.id);
        }
    }

    #[test]
    fn prepared_outputs_line_up_with_documents() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = dir.path().join("a.jsonl");
        let lines: String = (0..40_000)
            .map(|i| format!("{{\"id\":\"j{i}\",\"text\":\"{}\"}}\n", "x".repeat(i % 7)))
            .chain([
                "{\"id\":\"j3\",\"text\":\"dup\"}\n".to_owned(),
                "not json\n".to_owned(),
            ])
            .collect();
        fs::write(&jsonl, lines).unwrap();
        let sub = dir.path().join("d");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("b.txt"), "four").unwrap();
        fs::write(sub.join("c.html"), "<p>fives</p>").unwrap();
        let inputs = [
            jsonl.to_string_lossy().into_owned(),
            sub.to_string_lossy().into_owned(),
        ];
        let o = ReadOptions {
            skip_bad: true,
            ..opts()
        };
        let (corpus, outputs) = read_inputs_with(&inputs, &o, &TakeLen).unwrap();
        assert_eq!(corpus.docs.len(), 40_002);
        assert_eq!(corpus.skipped.len(), 2);
        assert_eq!(outputs.len(), corpus.docs.len());
        for (d, (id, len)) in corpus.docs.iter().zip(&outputs) {
            assert_eq!(&d.id, id);
            assert!(d.text.is_empty(), "the hook took the text");
            if let Some(i) = id.strip_prefix('j') {
                assert_eq!(*len, i.parse::<usize>().unwrap() % 7);
            }
        }
        let n = outputs.len();
        assert_eq!(outputs[n - 2], ("b.txt".to_owned(), 4));
        assert_eq!(outputs[n - 1], ("c.html".to_owned(), 12));
        // Without a hook the same documents come back, texts kept.
        let plain = read_inputs(&inputs, &o).unwrap();
        let ids: Vec<&str> = plain.docs.iter().map(|d| d.id.as_str()).collect();
        let ids_with: Vec<&str> = corpus.docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ids_with);
        assert_eq!(plain.docs[5].text, "xxxxx");
    }

    /// A reader that hands out its bytes in pieces of the given sizes, in turn (a pipe, a
    /// decoder), failing once with `Interrupted` before the first.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
        turn: usize,
        interrupted: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            let size = self.sizes[self.turn % self.sizes.len()].max(1);
            self.turn += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Lines as a batch holds them: each line's number and its bytes, or its number and what
    /// is wrong with it.
    type Lines = Vec<(u64, Result<Vec<u8>, String>)>;

    /// What a batch holds, line by line.
    fn batch_lines(batch: &Batch) -> Lines {
        batch
            .lines
            .iter()
            .map(|l| match l {
                BatchLine::Raw {
                    line_no,
                    start,
                    end,
                    bom_len,
                } => {
                    let mut bytes = BOM[..*bom_len].to_vec();
                    bytes.extend_from_slice(&batch.data[*start..*end]);
                    (*line_no, Ok(bytes))
                }
                BatchLine::Bad(line_no, message) => (*line_no, Err(message.clone())),
            })
            .collect()
    }

    /// The lines of `data` as reading them one by one with [`read_line_capped`] gives them:
    /// the reference for [`ReadState::fill`], and the total of bytes consumed.
    fn lines_one_by_one(data: &[u8], cap: usize) -> (Lines, u64) {
        let mut r = io::Cursor::new(data);
        let (mut lines, mut line_no, mut bytes) = (Vec::new(), 0u64, 0u64);
        let mut buf = Vec::new();
        while let Some(info) = read_line_capped(&mut r, &mut buf, 0, cap).unwrap() {
            line_no += 1;
            bytes += info.consumed as u64;
            if info.overflow {
                let len = info.consumed - usize::from(info.terminated);
                let message = format!(
                    "line is {len} bytes, over the limit of {cap} (8 x --max-doc-bytes + 1 MiB)"
                );
                lines.push((line_no, Err(message)));
            } else {
                let mut line = buf.clone();
                if line.ends_with(b"\n") {
                    line.pop();
                }
                if line.ends_with(b"\r") {
                    line.pop();
                }
                lines.push((line_no, Ok(line)));
            }
            buf.clear();
        }
        (lines, bytes)
    }

    proptest::proptest! {
        #[test]
        fn block_reads_cut_the_lines_a_line_reader_does(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["a", "bc", "\n", "\r\n", "\r", "\u{feff}", "xyzw"]),
                0..60,
            ),
            cap in 1usize..12,
            sizes in proptest::collection::vec(1usize..9, 1..4),
        ) {
            // Lines under, at and over a small cap, CRLF, a BOM anywhere, no final line break,
            // read in pieces of a few bytes: the lines, their numbers, the over-cap messages
            // and the bytes counted are those of reading line by line.
            let data: Vec<u8> = parts.concat().into_bytes();
            let (want, want_bytes) = lines_one_by_one(&data, cap);
            let mut reader = Pieces { data, at: 0, sizes, turn: 0, interrupted: false };
            let mut state = ReadState::new(cap);
            let mut got = Vec::new();
            let mut batch = Batch::default();
            while !state.eof {
                state.fill(&mut reader, &mut batch).unwrap();
                got.extend(batch_lines(&batch));
            }
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(state.bytes, want_bytes);
        }
    }

    #[test]
    fn full_batches_carry_the_rest_to_the_next() {
        // More lines than a batch takes: every line comes out once, in order, numbered, and a
        // batch never takes more than its limit.
        let text: String = (0..BATCH_LINES * 2 + 5)
            .map(|i| format!("line {i}\n"))
            .collect();
        let (batches, bytes) = read_in_batches(&text, 100, false);
        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.len() <= BATCH_LINES));
        let got: Lines = batches.concat();
        assert_eq!(got.len(), BATCH_LINES * 2 + 5);
        for (i, (line_no, line)) in got.iter().enumerate() {
            assert_eq!(*line_no, i as u64 + 1);
            assert_eq!(line.as_deref().ok(), Some(format!("line {i}").as_bytes()));
        }
        assert_eq!(bytes, text.len() as u64);
    }

    #[test]
    fn first_batches_are_small_and_double() {
        // 4 MB of 200-byte lines (under the line-count limit): the batches take about 512 KiB,
        // 1 MiB, 2 MiB (each stops at the first line end past its size), then the rest; every
        // line once, in order.
        let line = |i: usize| format!("{i:>199}\n");
        let text: String = (0..20_000).map(line).collect();
        let (batches, _) = read_in_batches(&text, 1000, true);
        let sizes: Vec<usize> = batches.iter().map(|b| b.len() * 200).collect();
        let want_first = [
            FIRST_BATCH_BYTES,
            2 * FIRST_BATCH_BYTES,
            4 * FIRST_BATCH_BYTES,
        ];
        for (size, want) in sizes.iter().zip(want_first) {
            assert!((want..want + 200).contains(size), "{sizes:?}");
        }
        let got: Lines = batches.concat();
        assert_eq!(got.len(), 20_000);
        for (i, (line_no, l)) in got.iter().enumerate() {
            assert_eq!(*line_no, i as u64 + 1);
            assert_eq!(l.as_deref().ok(), Some(line(i).trim_end().as_bytes()));
        }
    }

    /// Reads `text` through [`ReadState::fill`] in chunks of [`READ_CHUNK`] (with
    /// `interrupt_first`, the first read fails with `Interrupted`): each batch's lines, and
    /// the bytes counted.
    fn read_in_batches(text: &str, cap: usize, interrupt_first: bool) -> (Vec<Lines>, u64) {
        let mut reader = Pieces {
            data: text.as_bytes().to_vec(),
            at: 0,
            sizes: vec![READ_CHUNK],
            turn: 0,
            interrupted: !interrupt_first,
        };
        let mut state = ReadState::new(cap);
        let (mut batches, mut batch) = (Vec::new(), Batch::default());
        while !state.eof {
            state.fill(&mut reader, &mut batch).unwrap();
            batches.push(batch_lines(&batch));
        }
        (batches, state.bytes)
    }

    #[test]
    fn find_newline_matches_naive() {
        let mut data: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        data.retain(|&b| b != b'\n');
        assert_eq!(find_newline(&data), None);
        for at in [0, 1, 7, 8, 9, 15, 16, 63, 64, 100, data.len() - 1] {
            let mut d = data.clone();
            d[at] = b'\n';
            assert_eq!(find_newline(&d), Some(at), "newline at {at}");
            // A second newline later does not matter.
            d.push(b'\n');
            assert_eq!(find_newline(&d), Some(at));
        }
        assert_eq!(find_newline(b""), None);
        // Bytes around 0x0a (0x0b, 0x8a) are not newlines.
        assert_eq!(
            find_newline(&[0x0b, 0x8a, 0x09, 0x1a, 0x0b, 0x8a, 0x09, 0x1a, 0x0a]),
            Some(8)
        );
    }

    #[test]
    fn read_line_capped_edges() {
        let mut buf = Vec::new();
        // Exactly at the cap, with and without a terminator.
        let mut r = &b"abcd\nabcd"[..];
        let i = read_line_capped(&mut r, &mut buf, 0, 4).unwrap().unwrap();
        assert_eq!(
            (i.consumed, i.overflow, buf.as_slice()),
            (5, false, &b"abcd\n"[..])
        );
        buf.clear();
        let i = read_line_capped(&mut r, &mut buf, 0, 4).unwrap().unwrap();
        assert_eq!(
            (i.consumed, i.overflow, buf.as_slice()),
            (4, false, &b"abcd"[..])
        );
        buf.clear();
        assert!(read_line_capped(&mut r, &mut buf, 0, 4).unwrap().is_none());
        // One over the cap.
        let mut r = &b"abcde\nz"[..];
        let i = read_line_capped(&mut r, &mut buf, 0, 4).unwrap().unwrap();
        assert_eq!((i.consumed, i.overflow), (6, true));
        buf.clear();
        let i = read_line_capped(&mut r, &mut buf, 0, 4).unwrap().unwrap();
        assert_eq!(
            (i.consumed, i.overflow, buf.as_slice()),
            (1, false, &b"z"[..])
        );
        // Over the cap without a terminator.
        let mut r = &b"abcde"[..];
        buf.clear();
        let i = read_line_capped(&mut r, &mut buf, 0, 4).unwrap().unwrap();
        assert_eq!((i.consumed, i.overflow), (5, true));
    }

    #[test]
    fn small_buffers_split_lines() {
        let data = b"{\"id\":\"a\",\"text\":\"hello world\"}\n{\"id\":\"b\",\"text\":\"x\"}\n";
        let reader = BufReader::with_capacity(3, &data[..]);
        let mut c = Corpus::default();
        read_jsonl(reader, "s", &opts(), &mut c).unwrap();
        assert_eq!(c.docs.len(), 2);
        assert_eq!(c.docs[0].text, "hello world");
    }

    #[test]
    fn kinds_by_name() {
        assert_eq!(kind_of_input("a.TXT"), Kind::Whole);
        assert_eq!(kind_of_input("a.htm"), Kind::Whole);
        assert_eq!(kind_of_input("a.jsonl.gz"), Kind::Jsonl(Codec::Gzip));
        assert_eq!(kind_of_input("a.json.zst"), Kind::Jsonl(Codec::Zstd));
        assert_eq!(kind_of_input("a.ndjson"), Kind::Jsonl(Codec::Plain));
        assert_eq!(kind_in_dir("a.json"), None);
        assert_eq!(kind_in_dir("a.gz"), None);
        assert_eq!(kind_in_dir("a.jsonl.zst"), Some(Kind::Jsonl(Codec::Zstd)));
        assert_eq!(kind_in_dir("a.html"), Some(Kind::Whole));
    }

    #[test]
    fn error_display_formats() {
        let e = ReadError::BadRecord {
            file: "f.txt".into(),
            line: 0,
            message: "invalid UTF-8 at byte 3".into(),
        };
        assert_eq!(e.to_string(), "f.txt: invalid UTF-8 at byte 3");
        assert_eq!(Origin::new("f", 0).to_string(), "f");
        assert_eq!(Origin::new("f", 9).to_string(), "f:9");
    }

    /// `data` as one zstd frame with a content checksum.
    fn zstd(data: &[u8]) -> Vec<u8> {
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).expect("encoder");
        enc.include_checksum(true).expect("checksum flag");
        std::io::Write::write_all(&mut enc, data).expect("compress");
        enc.finish().expect("finish")
    }

    fn unzstd(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZstdReader::new(data).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn zstd_multiple_and_skippable_frames() {
        let mut data = zstd(b"first\n");
        // A skippable frame: magic 0x184D2A5x, 4-byte length, payload.
        data.extend_from_slice(&0x184D_2A53u32.to_le_bytes());
        data.extend_from_slice(&3u32.to_le_bytes());
        data.extend_from_slice(b"xyz");
        data.extend(zstd(b"second\n"));
        assert_eq!(unzstd(&data).unwrap(), b"first\nsecond\n");
        assert!(unzstd(b"").is_err());
        // An empty input stays an error when read again.
        let mut empty = ZstdReader::new(&b""[..]);
        let mut buf = [0u8; 8];
        assert!(empty.read(&mut buf).is_err());
        assert!(empty.read(&mut buf).is_err());
        assert_eq!(unzstd(&zstd(b"")).unwrap(), b"");
    }

    #[test]
    fn zstd_corruption_is_an_error() {
        let payload: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let data = zstd(&payload);
        assert_eq!(unzstd(&data).unwrap(), payload);
        // Truncated anywhere: error, never a panic or silent short read.
        for cut in [1, 3, 5, data.len() / 2, data.len() - 5, data.len() - 1] {
            assert!(unzstd(&data[..cut]).is_err(), "cut at {cut}");
        }
        // Bad checksum.
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let e = unzstd(&bad).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        // Not zstd at all.
        assert!(unzstd(b"{\"id\":1}\n").is_err());
    }
}
