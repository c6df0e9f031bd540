//! Framed binary files: the container shared by the index (`.wdx`) and shard (`.wds`) formats.
//!
//! A framed file is a 32-byte header followed by a body:
//!
//! | offset | size | field |
//! |--:|--:|---|
//! | 0 | 8 | magic number (one per format) |
//! | 8 | 4 | format version, u32 little-endian |
//! | 12 | 4 | flags, u32: `0` (anything else is refused) |
//! | 16 | 8 | body length `L` in bytes, u64; the file is exactly `32 + L` bytes |
//! | 24 | 8 | xxh3-64 (seed 0) of the body bytes |
//!
//! Writing goes to a temporary file in the target's directory, which is synced, renamed over
//! the target and the directory synced: a crash leaves the old file or the new one, never a
//! mix. A target that exists and is not a regular file (a device, a FIFO, a directory) is
//! refused rather than replaced. Reading checks magic, version, flags, length and checksum,
//! and a body that fails to parse is reported as damage when its checksum is also wrong (the
//! more useful message).
//! Nothing here panics on any input; field decoding never allocates more than the bytes that
//! remain in the body.
//!
//! Cost: one pass over the body each way, hashed as it streams; 1 MiB buffers.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::Xxh3;

/// Size of the header.
pub(crate) const HEADER_LEN: u64 = 32;

/// Why a framed file could not be opened.
pub(crate) enum OpenError {
    Io(io::Error),
    /// The file does not start with the expected magic number.
    BadMagic,
    /// A version this build does not read.
    Version(u32),
    /// Truncated, damaged or inconsistent (what is wrong).
    Corrupt(String),
}

/// The file that writing `path` whole and renaming it into place should replace: `path`
/// itself, or, where `path` is a symbolic link (or a chain of them), the file it finally
/// names, whether that exists yet or not. Renaming over the link would replace the link with a
/// regular file and leave the file it named stale; `cp`, shells and editors write through it.
pub(crate) fn write_target(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // As many hops as the kernel follows before it reports a loop.
    for _ in 0..40 {
        let is_link = fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        let Some(next) = is_link.then(|| fs::read_link(&p).ok()).flatten() else {
            break;
        };
        p = if next.is_absolute() {
            next
        } else {
            p.parent().unwrap_or(Path::new("")).join(next)
        };
    }
    p
}

/// Writes a framed file at `path` atomically; `body` writes the body. A symbolic link is
/// written through ([`write_target`]).
pub(crate) fn save_atomic(
    path: &Path,
    magic: &[u8; 8],
    version: u32,
    body: impl FnOnce(&mut BodyWriter<BufWriter<File>>) -> io::Result<()>,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = &write_target(path);
    // A rename over a device or FIFO would replace it with this file (`/dev/null` as root).
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "exists and is not a regular file (this file is written whole, then renamed over it)",
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_file(&tmp, magic, version, body).and_then(|()| {
        fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_file(
    tmp: &Path,
    magic: &[u8; 8],
    version: u32,
    body: impl FnOnce(&mut BodyWriter<BufWriter<File>>) -> io::Result<()>,
) -> io::Result<()> {
    let file = File::create(tmp)?;
    let mut w = BodyWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        hasher: Xxh3::new(),
        len: 0,
    };
    w.inner.write_all(&[0u8; HEADER_LEN as usize])?;
    body(&mut w)?;
    let (len, sum) = (w.len, w.hasher.digest());
    let mut file = w.inner.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(magic);
    header.extend_from_slice(&version.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&sum.to_le_bytes());
    file.write_all(&header)?;
    file.sync_all()
}

/// Opens a framed file and parses its body with `parse(reader, version)`. Versions 1 to
/// `max_version` are accepted.
pub(crate) fn open<T>(
    path: &Path,
    magic: &[u8; 8],
    max_version: u32,
    parse: impl FnOnce(&mut BodyReader<BufReader<File>>, u32) -> Result<T, ReadFail>,
) -> Result<T, OpenError> {
    let file = File::open(path).map_err(OpenError::Io)?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(OpenError::Corrupt("not a regular file".into()));
    }
    let file_len = meta.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; HEADER_LEN as usize];
    let got = read_up_to(&mut r, &mut header).map_err(OpenError::Io)?;
    if got < magic.len() || header[..magic.len()] != magic[..] {
        return Err(OpenError::BadMagic);
    }
    if got < HEADER_LEN as usize {
        return Err(OpenError::Corrupt(format!(
            "truncated: the file is {file_len} bytes, shorter than the {HEADER_LEN}-byte header"
        )));
    }
    let version = le_u32(&header, 8);
    if version == 0 || version > max_version {
        return Err(OpenError::Version(version));
    }
    let flags = le_u32(&header, 12);
    if flags != 0 {
        return Err(OpenError::Corrupt(format!(
            "unknown header flags {flags:#x}"
        )));
    }
    let body_len = le_u64(&header, 16);
    let stored_sum = le_u64(&header, 24);
    let actual = file_len.saturating_sub(HEADER_LEN);
    if body_len > actual {
        return Err(OpenError::Corrupt(format!(
            "truncated: the header announces {body_len} bytes of data, the file holds {actual} (an interrupted copy?)"
        )));
    }
    if body_len < actual {
        return Err(OpenError::Corrupt(format!(
            "{} unexpected bytes after the end of the data",
            actual - body_len
        )));
    }
    let mut body = BodyReader {
        inner: r,
        hasher: Xxh3::new(),
        remaining: body_len,
    };
    let parsed = parse(&mut body, version);
    let checksum_problem = |body: &mut BodyReader<_>| -> Result<Option<String>, io::Error> {
        body.drain()?;
        let sum = body.hasher.digest();
        Ok((sum != stored_sum).then(|| {
            format!(
                "checksum mismatch (stored {stored_sum:016x}, computed {sum:016x}): the file is damaged"
            )
        }))
    };
    match parsed {
        Ok(value) => {
            if body.remaining != 0 {
                return Err(OpenError::Corrupt(format!(
                    "{} bytes of unread data at the end",
                    body.remaining
                )));
            }
            match checksum_problem(&mut body).map_err(OpenError::Io)? {
                Some(what) => Err(OpenError::Corrupt(what)),
                None => Ok(value),
            }
        }
        Err(ReadFail::Io(e)) => Err(OpenError::Io(e)),
        Err(ReadFail::Corrupt(what)) => match checksum_problem(&mut body).map_err(OpenError::Io)? {
            Some(sum) => Err(OpenError::Corrupt(sum)),
            None => Err(OpenError::Corrupt(what)),
        },
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The little-endian `u32` at `b[i..i + 4]`.
pub(crate) fn le_u32(b: &[u8], i: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(x)
}

/// The little-endian `u64` at `b[i..i + 8]`.
pub(crate) fn le_u64(b: &[u8], i: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(x)
}

/// Writes body fields, little-endian, hashing them as they go.
pub(crate) struct BodyWriter<W: Write> {
    inner: W,
    hasher: Xxh3,
    len: u64,
}

impl<W: Write> BodyWriter<W> {
    pub(crate) fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.hasher.update(b);
        self.len += b.len() as u64;
        Ok(())
    }
    pub(crate) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    pub(crate) fn u64(&mut self, v: u64) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    /// A `u32` byte length, then the UTF-8 bytes.
    pub(crate) fn str(&mut self, s: &str) -> io::Result<()> {
        let len = u32::try_from(s.len()).map_err(|_| io::Error::other("string over 4 GiB"))?;
        self.u32(len)?;
        self.put(s.as_bytes())
    }
}

/// Why a body could not be parsed.
pub(crate) enum ReadFail {
    Io(io::Error),
    Corrupt(String),
}

impl From<io::Error> for ReadFail {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadFail::Corrupt("the file ends early (truncated)".into())
        } else {
            ReadFail::Io(e)
        }
    }
}

/// A parse failure saying what is wrong.
pub(crate) fn bad<T>(what: impl Into<String>) -> Result<T, ReadFail> {
    Err(ReadFail::Corrupt(what.into()))
}

/// Reads body fields, little-endian, hashing them as they go; never reads past the body.
pub(crate) struct BodyReader<R: Read> {
    inner: R,
    hasher: Xxh3,
    remaining: u64,
}

impl<R: Read> BodyReader<R> {
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<(), ReadFail> {
        if buf.len() as u64 > self.remaining {
            return bad(format!(
                "a field needs {} bytes but only {} remain",
                buf.len(),
                self.remaining
            ));
        }
        self.inner.read_exact(buf)?;
        self.hasher.update(buf);
        self.remaining -= buf.len() as u64;
        Ok(())
    }

    /// Checks that `count` items of `size` bytes fit in what remains, before allocating.
    pub(crate) fn fits(&self, count: u64, size: u64, what: &str) -> Result<usize, ReadFail> {
        match count.checked_mul(size) {
            Some(n) if n <= self.remaining => Ok(count as usize),
            _ => bad(format!(
                "{what}: {count} entries do not fit in the {} bytes that remain",
                self.remaining
            )),
        }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<Vec<u8>, ReadFail> {
        self.fits(n as u64, 1, "bytes")?;
        let mut v = vec![0u8; n];
        self.fill(&mut v)?;
        Ok(v)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ReadFail> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ReadFail> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ReadFail> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub(crate) fn string(&mut self, what: &str) -> Result<String, ReadFail> {
        let len = self.u32()? as usize;
        let b = self.bytes(len)?;
        String::from_utf8(b).or_else(|_| bad(format!("{what} is not UTF-8")))
    }

    /// Reads and hashes whatever remains (to check the checksum after a parse error).
    fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        while self.remaining > 0 {
            let n = (self.remaining as usize).min(buf.len());
            match self.inner.read(&mut buf[..n]) {
                Ok(0) => break,
                Ok(k) => {
                    self.hasher.update(&buf[..k]);
                    self.remaining -= k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
