//! Streaming deduplication against an [`Index`]: JSON lines in, each record out as soon as it is
//! decided, with `dup_of` and `similarity` added when it copies a document already seen; every
//! record is added to the index.
//!
//! This backs `wiredup stream --index IDX`. Records are read with the rules of [`crate::io`]
//! (the same fields, limits and bad-record messages, with `-:LINE` locations). Each record is
//! decided by [`Index::insert_prepared`]: its best match among the documents in the index (and
//! the window), if any, gives `dup_of` = the representative of that match's cluster and
//! `similarity` = the similarity to that match; the record is then part of the index for the
//! records after it. Output lines are written and flushed one by one; a record without
//! `dup_of` is copied byte for byte, an annotated one has the two fields appended (or replaced,
//! if the record already had them).
//!
//! Lines already waiting in the input buffer are parsed and normalized together (in parallel),
//! then decided one by one in order, so throughput grows with the input rate while a lone
//! record is still answered at once.
//!
//! **Window.** With [`StreamOptions::window`], a record is only compared with documents whose
//! time is at least the newest time seen minus the window, and such older documents are pruned
//! from the index in batches (when more than `max(64, n / 32)` records were added since the last
//! check), so memory is bounded by the window, not by the length of the stream. A record without
//! a parseable `published` time is stamped with the newest time seen before it (it then ages
//! with the stream); before any time is seen, it has none and is never pruned.
//!
//! **Durability.** With [`StreamOptions::index_path`], the index is saved atomically every
//! `checkpoint_every` records and when the stream ends (end of input, or an error: a bad record
//! without `skip_bad`, or an output that cannot be written). A kill between checkpoints loses
//! the records added since the last one from the index, never the index itself.

use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::index::{Index, IndexError, InsertOptions};
use crate::io::{read_jsonl, Corpus, Document, ReadError, ReadOptions, Skipped};
use crate::output::round4;
use crate::pipeline::parse_time;

/// Lines parsed and normalized together at most (when that many are already buffered).
const MAX_BATCH: usize = 256;

/// How a stream is run.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// How records are read (`keep_records` is implied).
    pub read: ReadOptions,
    /// Compare only with documents at most this many seconds older than the newest; prune the
    /// others.
    pub window: Option<i64>,
    /// Save the index every this many added records (0: only at the end).
    pub checkpoint_every: u64,
    /// Where the index is saved; `None`: never saved.
    pub index_path: Option<PathBuf>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            read: ReadOptions::default(),
            window: None,
            checkpoint_every: 10_000,
            index_path: None,
        }
    }
}

/// What a stream did.
#[derive(Debug, Clone, Default)]
pub struct StreamSummary {
    /// Non-blank input lines.
    pub records: u64,
    /// Records decided, written and added to the index.
    pub added: u64,
    /// Of those, copies of an earlier document.
    pub duplicates: u64,
    /// Bad records skipped (with `skip_bad`).
    pub skipped: Vec<Skipped>,
    /// Documents pruned out of the window.
    pub pruned: u64,
    /// Saves of the index (checkpoints and the final one).
    pub saves: u64,
    /// Bytes of input read.
    pub bytes_read: u64,
    /// Time spent saving.
    pub save_time: Duration,
}

/// Why a stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A bad record (without `skip_bad`), or the input could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The output could not be written.
    #[error("writing the output: {0}")]
    Write(io::Error),
    /// The index could not be saved.
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// One input line: its number and bytes (without terminator), or the length of a line too long
/// to keep.
enum Line {
    Text(u64, Vec<u8>),
    TooLong(u64, usize),
}

/// Reads one line of at most `cap` bytes (a longer one is consumed and reported by length),
/// with the JSONL reader's line reader. `None` at the end of the input.
fn read_line<R: Read>(
    r: &mut BufReader<R>,
    cap: usize,
    line_no: &mut u64,
) -> io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let Some(info) = crate::io::read_line_capped(r, &mut buf, 0, cap)? else {
        return Ok(None);
    };
    *line_no += 1;
    let len = info.consumed - usize::from(info.terminated);
    // The reader keeps room for a terminator, so an unterminated last line can be one byte
    // over `cap` without overflowing: the bound here is on the content.
    if info.overflow || len > cap {
        return Ok(Some(Line::TooLong(*line_no, len)));
    }
    if buf.ends_with(b"\n") {
        buf.pop();
    }
    if buf.ends_with(b"\r") {
        buf.pop();
    }
    Ok(Some(Line::Text(*line_no, buf)))
}

/// A parsed line: a document or a bad record (blank lines are dropped).
enum Parsed {
    Doc(Box<Document>),
    Bad(u64, String),
}

/// Parses a batch of lines with [`read_jsonl`] (one call for the batch), in line order, with
/// their line numbers in the stream.
fn parse_batch(
    lines: Vec<Line>,
    opts: &ReadOptions,
    bytes_read: &mut u64,
) -> Result<Vec<(u64, Parsed)>, io::Error> {
    let mut out = Vec::with_capacity(lines.len());
    let mut joined = Vec::new();
    let mut numbers = Vec::new();
    for l in lines {
        match l {
            Line::TooLong(no, len) => {
                *bytes_read += len as u64 + 1;
                out.push((
                    no,
                    Parsed::Bad(
                        no,
                        format!(
                            "line is {len} bytes, over the limit of {} (8 x --max-doc-bytes + 1 MiB)",
                            crate::io::line_limit(opts)
                        ),
                    ),
                ));
            }
            Line::Text(no, b) => {
                *bytes_read += b.len() as u64 + 1;
                joined.extend_from_slice(&b);
                joined.push(b'\n');
                numbers.push(no);
            }
        }
    }
    if numbers.is_empty() {
        return Ok(out);
    }
    let all = ReadOptions {
        skip_bad: true,
        keep_records: true,
        ..opts.clone()
    };
    let mut batch = Corpus::default();
    match read_jsonl(&joined[..], "-", &all, &mut batch) {
        Ok(()) => {}
        Err(ReadError::Io { source, .. }) => return Err(source),
        Err(e) => return Err(io::Error::other(e.to_string())),
    }
    let real = |rel: u64| -> u64 {
        rel.checked_sub(1)
            .and_then(|i| numbers.get(i as usize).copied())
            .unwrap_or(rel)
    };
    for mut d in batch.docs {
        d.origin.line = real(d.origin.line);
        out.push((d.origin.line, Parsed::Doc(Box::new(d))));
    }
    for sk in batch.skipped {
        let no = real(sk.origin.line);
        let mut reason = sk.reason;
        // A repeated id within the batch names the batch line of its first occurrence.
        if let Some(at) = reason.rfind("(first seen at -:") {
            let tail = &reason[at + "(first seen at -:".len()..];
            if let Some(n) = tail.strip_suffix(')').and_then(|n| n.parse::<u64>().ok()) {
                reason = format!("{}(first seen at -:{})", &reason[..at], real(n));
            }
        }
        out.push((no, Parsed::Bad(no, reason)));
    }
    out.sort_by_key(|(no, _)| *no);
    Ok(out)
}

/// The output line for a record: verbatim, or with `dup_of` and `similarity`.
fn render(record: &str, dup: Option<(&str, f64)>, out: &mut Vec<u8>) {
    out.clear();
    let Some((of, sim)) = dup else {
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
        return;
    };
    let trimmed = record.trim_end();
    let plain = !record.contains("\"dup_of\"") && !record.contains("\"similarity\"");
    if plain && trimmed.ends_with('}') {
        let body = &trimmed[..trimmed.len() - 1];
        out.extend_from_slice(body.as_bytes());
        let empty = body.trim_end().ends_with('{');
        if !empty {
            out.push(b',');
        }
        out.extend_from_slice(b"\"dup_of\":");
        out.extend_from_slice(Value::String(of.to_string()).to_string().as_bytes());
        out.extend_from_slice(b",\"similarity\":");
        out.extend_from_slice(Value::from(sim).to_string().as_bytes());
        out.extend_from_slice(b"}\n");
        return;
    }
    let mut obj: Map<String, Value> = serde_json::from_str(record).unwrap_or_default();
    obj.insert("dup_of".into(), Value::String(of.to_string()));
    obj.insert("similarity".into(), Value::from(sim));
    out.extend_from_slice(Value::Object(obj).to_string().as_bytes());
    out.push(b'\n');
}

/// Runs a stream (see the module docs). On every exit, the index is saved to
/// `opts.index_path` (when set) before returning.
///
/// Input is read and parsed on the calling thread; each batch is then decided on a rayon pool
/// thread, so that the parallel steps of small batches (often one record) run in place instead
/// of waiting for a pool thread to pick them up. Call it from outside the rayon pool: parsing
/// ([`read_jsonl`]) waits on a helper thread that itself uses the pool.
pub fn run<R: Read, W: Write + Send>(
    index: &mut Index,
    input: &mut BufReader<R>,
    output: &mut W,
    opts: &StreamOptions,
) -> Result<StreamSummary, StreamError> {
    let mut summary = StreamSummary::default();
    let result = run_inner(index, input, output, opts, &mut summary);
    if let (Some(w), Some(newest)) = (opts.window, index.newest()) {
        summary.pruned += index.prune_before(newest.saturating_sub(w)) as u64;
    }
    if let Some(path) = &opts.index_path {
        let t = Instant::now();
        let saved = index.save(path);
        summary.save_time += t.elapsed();
        match (result, saved) {
            (Err(e), _) => return Err(e),
            (Ok(()), Err(e)) => return Err(e.into()),
            (Ok(()), Ok(())) => summary.saves += 1,
        }
    } else {
        result?;
    }
    Ok(summary)
}

/// Counters carried from batch to batch.
#[derive(Default)]
struct Progress {
    since_checkpoint: u64,
    since_prune: u64,
    rendered: Vec<u8>,
}

fn run_inner<R: Read, W: Write + Send>(
    index: &mut Index,
    input: &mut BufReader<R>,
    output: &mut W,
    opts: &StreamOptions,
    summary: &mut StreamSummary,
) -> Result<(), StreamError> {
    let cap = crate::io::line_limit(&opts.read);
    let mut line_no = 0u64;
    let mut progress = Progress::default();
    let read_err = |e: io::Error| {
        StreamError::Read(ReadError::Io {
            path: "-".into(),
            source: e,
        })
    };
    loop {
        // One line (blocking), then every complete line already buffered.
        let Some(first) = read_line(input, cap, &mut line_no).map_err(read_err)? else {
            return Ok(());
        };
        let mut lines = vec![first];
        while lines.len() < MAX_BATCH && input.buffer().contains(&b'\n') {
            match read_line(input, cap, &mut line_no).map_err(read_err)? {
                Some(l) => lines.push(l),
                None => break,
            }
        }
        let parsed = parse_batch(lines, &opts.read, &mut summary.bytes_read).map_err(read_err)?;
        rayon::scope(|_| decide_batch(index, parsed, output, opts, summary, &mut progress))?;
    }
}

/// Decides, writes and adds the records of one batch, in order.
fn decide_batch<W: Write>(
    index: &mut Index,
    parsed: Vec<(u64, Parsed)>,
    output: &mut W,
    opts: &StreamOptions,
    summary: &mut StreamSummary,
    progress: &mut Progress,
) -> Result<(), StreamError> {
    let texts: Vec<&str> = parsed
        .iter()
        .filter_map(|(_, p)| match p {
            Parsed::Doc(d) => Some(d.text.as_str()),
            Parsed::Bad(..) => None,
        })
        .collect();
    let mut prepared = index.prepare(&texts).into_iter();
    drop(texts);
    for (_, p) in parsed {
        summary.records += 1;
        let (doc, prep) = match p {
            Parsed::Bad(no, message) => {
                reject(opts, summary, no, message)?;
                continue;
            }
            Parsed::Doc(d) => (d, prepared.next().unwrap_or_default()),
        };
        if index.contains(&doc.id) {
            let message = format!("duplicate id {:?} (already in the index)", doc.id);
            reject(opts, summary, doc.origin.line, message)?;
            continue;
        }
        let time = doc
            .published
            .as_deref()
            .and_then(parse_time)
            .or(index.newest());
        let not_before = match (opts.window, time.max(index.newest())) {
            (Some(w), Some(newest)) => Some(newest.saturating_sub(w)),
            _ => None,
        };
        let decision = index.insert_prepared(&doc, prep, &InsertOptions { time, not_before })?;
        summary.added += 1;
        let dup = match (&decision.dup_of, decision.best()) {
            (Some(of), Some(best)) => {
                summary.duplicates += 1;
                Some((of.as_str(), round4(best.similarity)))
            }
            _ => None,
        };
        render(
            doc.record.as_deref().unwrap_or("{}"),
            dup,
            &mut progress.rendered,
        );
        output
            .write_all(&progress.rendered)
            .and_then(|()| output.flush())
            .map_err(StreamError::Write)?;
        progress.since_checkpoint += 1;
        progress.since_prune += 1;
        if let (Some(w), Some(newest), Some(oldest)) = (opts.window, index.newest(), index.oldest())
        {
            let cut = newest.saturating_sub(w);
            if progress.since_prune as usize > 64usize.max(index.len() / 32) && oldest < cut {
                summary.pruned += index.prune_before(cut) as u64;
                progress.since_prune = 0;
            }
        }
        if opts.checkpoint_every > 0 && progress.since_checkpoint >= opts.checkpoint_every {
            if let Some(path) = &opts.index_path {
                let t = Instant::now();
                index.save(path)?;
                summary.save_time += t.elapsed();
                summary.saves += 1;
            }
            progress.since_checkpoint = 0;
        }
    }
    Ok(())
}

fn reject(
    opts: &StreamOptions,
    summary: &mut StreamSummary,
    line: u64,
    message: String,
) -> Result<(), StreamError> {
    if opts.read.skip_bad {
        summary.skipped.push(Skipped {
            origin: crate::io::Origin::new("-", line),
            reason: message,
        });
        Ok(())
    } else {
        Err(StreamError::Read(ReadError::BadRecord {
            file: "-".into(),
            line,
            message,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Config;

    fn para(seed: u64) -> String {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..30)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                format!("v{}", s % 3000)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn line(id: &str, day: u32, text: &str) -> String {
        serde_json::json!({"id": id, "text": text, "published": format!("2024-05-{day:02}T00:00:00Z")})
            .to_string()
    }

    fn run_lines(
        index: &mut Index,
        input: &str,
        opts: &StreamOptions,
    ) -> (Result<StreamSummary, StreamError>, String) {
        let mut out = Vec::new();
        let mut r = BufReader::new(input.as_bytes());
        let res = run(index, &mut r, &mut out, opts);
        (res, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn annotates_copies_and_keeps_records_verbatim() {
        let story = format!("{}\n\n{}\n\n{}", para(1), para(2), para(3));
        let input = [
            line("a", 1, &story),
            String::new(),
            r#"{"id": "b",  "text": "something else entirely here", "extra": [1, 2]}"#.to_string(),
            line("c", 2, &story),
            line("d", 3, &format!("{}\n\n{}", para(2), para(3))),
        ]
        .join("\n");
        let mut index = Index::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let (res, out) = run_lines(&mut index, &input, &StreamOptions::default());
        let s = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.records, s.added, s.duplicates), (4, 4, 2));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[1],
            r#"{"id": "b",  "text": "something else entirely here", "extra": [1, 2]}"#
        );
        for (l, of) in [(lines[2], "a"), (lines[3], "a")] {
            let v: Value = serde_json::from_str(l).unwrap_or_default();
            assert_eq!(v["dup_of"], of);
            assert!(v["similarity"].as_f64().unwrap_or(0.0) > 0.5);
        }
        assert!(index.contains("d"));
    }

    #[test]
    fn bad_records_stop_or_are_skipped() {
        let input = format!(
            "{}\nnot json\n{}\n{}",
            line("a", 1, &para(1)),
            line("a", 2, &para(2)),
            line("b", 2, &para(3))
        );
        let mut index = Index::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let (res, out) = run_lines(&mut index, &input, &StreamOptions::default());
        let e = res.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("-:2:"), "{e}");
        assert_eq!(out.lines().count(), 1);
        let mut index = Index::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let opts = StreamOptions {
            read: ReadOptions {
                skip_bad: true,
                ..ReadOptions::default()
            },
            ..StreamOptions::default()
        };
        let (res, out) = run_lines(&mut index, &input, &opts);
        let s = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.skipped.len(), 2);
        assert_eq!(s.skipped[0].origin.line, 2);
        assert!(
            s.skipped[1].reason.contains("duplicate id"),
            "{}",
            s.skipped[1].reason
        );
        assert_eq!(out.lines().count(), 2);
    }

    #[test]
    fn window_bounds_the_index() {
        let mut input = Vec::new();
        for day in 1..=28u32 {
            for j in 0..10u64 {
                input.push(line(
                    &format!("d{day}-{j}"),
                    day,
                    &para(day as u64 * 100 + j),
                ));
            }
        }
        let mut index = Index::new(&Config::default()).unwrap_or_else(|e| panic!("{e}"));
        let opts = StreamOptions {
            window: Some(3 * 86_400),
            ..StreamOptions::default()
        };
        let (res, _) = run_lines(&mut index, &input.join("\n"), &opts);
        let s = res.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.added, 280);
        assert!(s.pruned > 0);
        assert!(index.len() < 150, "{}", index.len());
    }

    #[test]
    fn read_line_bounds_the_content() {
        let lines = |input: &[u8]| -> Vec<(u64, Option<Vec<u8>>, usize)> {
            let mut r = BufReader::with_capacity(4, input);
            let mut n = 0;
            let mut out = Vec::new();
            while let Some(l) = read_line(&mut r, 5, &mut n).unwrap() {
                out.push(match l {
                    Line::Text(no, b) => (no, Some(b), 0),
                    Line::TooLong(no, len) => (no, None, len),
                });
            }
            out
        };
        assert_eq!(
            lines(b"12345\n123456\nab\r\n\n123456"),
            vec![
                (1, Some(b"12345".to_vec()), 0),
                (2, None, 6),
                (3, Some(b"ab".to_vec()), 0),
                (4, Some(Vec::new()), 0),
                (5, None, 6),
            ]
        );
        assert_eq!(lines(b"12345"), vec![(1, Some(b"12345".to_vec()), 0)]);
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn render_appends_or_replaces() {
        let mut out = Vec::new();
        render(r#"{"id":"x","text":"t"}"#, Some(("y", 0.5)), &mut out);
        assert_eq!(
            out,
            b"{\"id\":\"x\",\"text\":\"t\",\"dup_of\":\"y\",\"similarity\":0.5}\n"
        );
        render(r#"{"id":"x","dup_of":"z"}"#, Some(("y\"q", 1.0)), &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(v["dup_of"], "y\"q");
        render(r#"{"id":"x"}"#, None, &mut out);
        assert_eq!(out, b"{\"id\":\"x\"}\n");
    }
}
