//! Integration tests for `wiredup::io`: reading real files of every kind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use wiredup::io::{read_inputs, read_jsonl, Corpus, Origin, ReadError, ReadOptions, Skipped};

fn write(path: &Path, bytes: &[u8]) -> String {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

fn skip_bad() -> ReadOptions {
    ReadOptions {
        skip_bad: true,
        ..ReadOptions::default()
    }
}

fn ids(c: &Corpus) -> Vec<&str> {
    c.docs.iter().map(|d| d.id.as_str()).collect()
}

/// Many lines, so the decoders and the line reader cross buffer boundaries.
fn big_jsonl(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        writeln!(
            out,
            r#"{{"id":"d{i}","text":"story number {i} {}","source":"s{}"}}"#,
            "word ".repeat(i % 50),
            i % 7
        )
        .unwrap();
    }
    out
}

const THREE: &[u8] = b"{\"id\":\"a\",\"text\":\"Alpha text.\",\"source\":\"AP\",\"published\":\"2024-05-01\"}\n{\"id\":\"b\",\"text\":\"Beta text.\",\"extra\":{\"nested\":[1,2,3]}}\n{\"id\":\"c\",\"text\":\"\"}\n";

#[test]
fn plain_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("in.jsonl"), THREE);
    let c = read_inputs(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
    assert_eq!(ids(&c), ["a", "b", "c"]);
    assert_eq!(c.docs[0].text, "Alpha text.");
    assert_eq!(c.docs[0].source.as_deref(), Some("AP"));
    assert_eq!(c.docs[0].published.as_deref(), Some("2024-05-01"));
    assert_eq!(c.docs[1].source, None);
    assert_eq!(c.docs[1].published, None);
    // Empty text is kept, not a bad record.
    assert_eq!(c.docs[2].text, "");
    assert_eq!(c.docs[1].origin, Origin::new(p.clone(), 2));
    assert!(c.docs.iter().all(|d| d.record.is_none()));
    assert!(c.skipped.is_empty());
    assert_eq!(c.bytes_read, THREE.len() as u64);
}

#[test]
fn keep_records_keeps_exact_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("in.jsonl"), THREE);
    let opts = ReadOptions {
        keep_records: true,
        ..ReadOptions::default()
    };
    let c = read_inputs(&[p], &opts).unwrap();
    let lines: Vec<&str> = std::str::from_utf8(THREE).unwrap().lines().collect();
    let records: Vec<&str> = c
        .docs
        .iter()
        .map(|d| d.record.as_deref().unwrap())
        .collect();
    assert_eq!(records, lines);
}

#[test]
fn custom_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("in.jsonl"),
        b"{\"url\":\"http://x/1\",\"body\":\"B\",\"id\":[],\"text\":1}\n",
    );
    let opts = ReadOptions {
        id_field: "url".into(),
        text_field: "body".into(),
        ..ReadOptions::default()
    };
    let c = read_inputs(&[p], &opts).unwrap();
    assert_eq!(ids(&c), ["http://x/1"]);
    assert_eq!(c.docs[0].text, "B");
}

#[test]
fn gzip_jsonl_including_multiple_members() {
    let dir = tempfile::tempdir().unwrap();
    let big = big_jsonl(5000);
    let mut data = gzip(&big);
    data.extend(gzip(
        b"{\"id\":\"last\",\"text\":\"from the second member\"}\n",
    ));
    let p = write(&dir.path().join("in.jsonl.gz"), &data);
    let c = read_inputs(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
    assert_eq!(c.docs.len(), 5001);
    assert_eq!(c.docs[4999].id, "d4999");
    assert_eq!(c.docs[5000].text, "from the second member");
    assert_eq!(c.docs[5000].origin, Origin::new(p, 5001));
    let uncompressed = big.len() + b"{\"id\":\"last\",\"text\":\"from the second member\"}\n".len();
    assert_eq!(c.bytes_read, uncompressed as u64);
}

#[test]
fn any_gz_suffix_is_gzip_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("dump.json.gz"), &gzip(THREE));
    let c = read_inputs(&[p], &ReadOptions::default()).unwrap();
    assert_eq!(ids(&c), ["a", "b", "c"]);
}

#[test]
fn zstd_jsonl_including_multiple_frames() {
    let dir = tempfile::tempdir().unwrap();
    let big = big_jsonl(3000);
    let mut data = zstd(&big);
    data.extend(zstd(b"{\"id\":\"z\",\"text\":\"frame two\"}\n"));
    let p = write(&dir.path().join("in.jsonl.zst"), &data);
    let c = read_inputs(&[p], &ReadOptions::default()).unwrap();
    assert_eq!(c.docs.len(), 3001);
    assert_eq!(c.docs[1234].id, "d1234");
    assert_eq!(c.docs[1234].source.as_deref(), Some("s2"));
    assert_eq!(c.docs[3000].text, "frame two");
}

#[test]
fn other_suffixes_are_plain_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("records.ndjson"), THREE);
    let q = write(&dir.path().join("noext"), b"{\"id\":\"q\",\"text\":\"Q\"}");
    let c = read_inputs(&[p, q], &ReadOptions::default()).unwrap();
    assert_eq!(ids(&c), ["a", "b", "c", "q"]);
}

#[test]
fn whole_text_and_html_files() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(&dir.path().join("story.txt"), b"\xEF\xBB\xBFPlain story.\n");
    let h = write(&dir.path().join("page.HTML"), b"<p>Hello</p>");
    let c = read_inputs(&[t.clone(), h.clone()], &ReadOptions::default()).unwrap();
    assert_eq!(ids(&c), [t.as_str(), h.as_str()]);
    // The BOM is dropped from the text.
    assert_eq!(c.docs[0].text, "Plain story.\n");
    assert_eq!(c.docs[0].origin, Origin::new(t, 0));
    assert_eq!(c.docs[1].text, "<p>Hello</p>");
    assert!(c
        .docs
        .iter()
        .all(|d| d.record.is_none() && d.source.is_none()));
    assert_eq!(c.bytes_read, 16 + 12);
}

#[test]
fn directory_walk_is_recursive_sorted_and_filtered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("corpus");
    write(&root.join("b.txt"), b"bee");
    write(&root.join("a/y.htm"), b"<b>why</b>");
    write(&root.join("a/x.html"), b"<i>ex</i>");
    write(&root.join("a-b/z.txt"), b"zed");
    write(&root.join("deep/er/still/c.txt"), b"see");
    write(&root.join("notes.md"), b"ignored");
    write(&root.join("data.json"), b"ignored, not .jsonl");
    write(&root.join("plain.gz"), b"ignored, not .jsonl.gz");
    write(
        &root.join("m.jsonl"),
        b"{\"id\":\"m1\",\"text\":\"from jsonl\"}\n",
    );
    write(
        &root.join("n/n.jsonl.gz"),
        &gzip(b"{\"id\":\"n1\",\"text\":\"gz\"}\n"),
    );
    write(
        &root.join("o.jsonl.zst"),
        &zstd(b"{\"id\":\"o1\",\"text\":\"zst\"}\n"),
    );
    let root_str = root.to_str().unwrap().to_owned();

    let c = read_inputs(std::slice::from_ref(&root_str), &ReadOptions::default()).unwrap();
    // Component-wise order of the relative paths.
    assert_eq!(
        ids(&c),
        [
            "a/x.html",
            "a/y.htm",
            "a-b/z.txt",
            "b.txt",
            "deep/er/still/c.txt",
            "m1",
            "n1",
            "o1"
        ]
    );
    assert_eq!(c.docs[0].text, "<i>ex</i>");
    assert_eq!(
        c.docs[0].origin,
        Origin::new(format!("{root_str}/a/x.html"), 0)
    );
    assert_eq!(
        c.docs[5].origin,
        Origin::new(format!("{root_str}/m.jsonl"), 1)
    );
    assert_eq!(
        c.docs[6].origin,
        Origin::new(format!("{root_str}/n/n.jsonl.gz"), 1)
    );

    // Same result with a trailing slash, apart from nothing.
    let c2 = read_inputs(&[format!("{root_str}/")], &ReadOptions::default()).unwrap();
    assert_eq!(ids(&c2), ids(&c));
    assert_eq!(c2.docs[0].origin, c.docs[0].origin);
}

#[cfg(unix)]
#[test]
fn directory_symlinks_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("corpus");
    write(&root.join("real/a.txt"), b"a");
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    std::os::unix::fs::symlink(root.join("real/a.txt"), root.join("link.txt")).unwrap();
    let c = read_inputs(
        &[root.to_str().unwrap().to_owned()],
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(ids(&c), ["link.txt", "real/a.txt"]);
}

#[test]
fn malformed_line_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("bad.jsonl"),
        b"{\"id\":\"a\",\"text\":\"x\"}\n\n{\"id\": ,\"text\":\"y\"}\n{\"id\":\"c\",\"text\":\"z\"}\n",
    );
    let err = read_inputs(std::slice::from_ref(&p), &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::BadRecord { line: 3, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{p}:3: ")), "{msg}");
    assert_eq!(
        msg,
        format!("{p}:3: invalid JSON: expected value at column 8")
    );
}

#[test]
fn skip_bad_lists_lines_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let lines: &[&[u8]] = &[
        b"{\"id\":\"ok1\",\"text\":\"fine\"}",
        b"not json",
        b"[1,2,3]",
        b"{\"text\":\"no id\"}",
        b"{\"id\":\"x\"}",
        b"{\"id\":[1],\"text\":\"t\"}",
        b"{\"id\":\"y\",\"text\":42}",
        b"{\"id\":\"z\",\"text\":\"\xff\xfe\"}",
        b"{\"id\":\"ok1\",\"text\":\"again\"}",
        b"",
        b"{\"id\":\"ok2\",\"text\":\"fine too\"}",
    ];
    let p = write(&dir.path().join("mixed.jsonl"), &lines.join(&b'\n'));
    let c = read_inputs(std::slice::from_ref(&p), &skip_bad()).unwrap();
    assert_eq!(ids(&c), ["ok1", "ok2"]);
    assert_eq!(c.docs[1].origin.line, 11);
    let got: Vec<(u64, &str)> = c
        .skipped
        .iter()
        .map(|s| (s.origin.line, s.reason.as_str()))
        .collect();
    let expected: Vec<(u64, String)> = vec![
        (2, "invalid JSON: expected ident at column 2".into()),
        (3, "record is not a JSON object (found array)".into()),
        (4, r#"missing field "id""#.into()),
        (5, r#"missing field "text""#.into()),
        (
            6,
            r#"field "id" must be a string or integer, found array"#.into(),
        ),
        (7, r#"field "text" must be a string, found integer"#.into()),
        (8, "invalid UTF-8 at byte 18".into()),
        (9, format!(r#"duplicate id "ok1" (first seen at {p}:1)"#)),
    ];
    let expected: Vec<(u64, &str)> = expected.iter().map(|(l, r)| (*l, r.as_str())).collect();
    assert_eq!(got, expected);
    assert!(c.skipped.iter().all(|s| s.origin.file == p));
    assert_eq!(c.bytes_read, lines.join(&b'\n').len() as u64);
}

#[test]
fn duplicate_ids_across_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("one.jsonl"),
        b"{\"id\":\"7\",\"text\":\"first\"}\n",
    );
    let q = write(
        &dir.path().join("two.jsonl"),
        b"{\"id\":\"8\",\"text\":\"other\"}\n{\"id\":7,\"text\":\"second\"}\n",
    );
    let err = read_inputs(&[p.clone(), q.clone()], &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(r#"{q}:2: duplicate id "7" (first seen at {p}:1)"#)
    );

    let c = read_inputs(&[p.clone(), q.clone()], &skip_bad()).unwrap();
    assert_eq!(ids(&c), ["7", "8"]);
    assert_eq!(c.docs[0].text, "first");
    assert_eq!(
        c.skipped,
        [Skipped {
            origin: Origin::new(q, 2),
            reason: format!(r#"duplicate id "7" (first seen at {p}:1)"#),
        }]
    );

    // The same file twice: every record is a duplicate the second time.
    let c = read_inputs(&[p.clone(), p.clone()], &skip_bad()).unwrap();
    assert_eq!(c.docs.len(), 1);
    assert_eq!(c.skipped.len(), 1);
}

#[test]
fn duplicate_whole_file_ids() {
    let dir = tempfile::tempdir().unwrap();
    let t = write(&dir.path().join("a.txt"), b"text");
    let err = read_inputs(&[t.clone(), t.clone()], &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(r#"{t}: duplicate id "{t}" (first seen at {t})"#)
    );
}

#[test]
fn integer_ids() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("ints.jsonl"),
        b"{\"id\":1,\"text\":\"a\"}\n{\"id\":-20,\"text\":\"b\"}\n{\"id\":12345678901234567890,\"text\":\"c\"}\n{\"id\":1.5,\"text\":\"d\"}\n",
    );
    let c = read_inputs(&[p], &skip_bad()).unwrap();
    assert_eq!(ids(&c), ["1", "-20", "12345678901234567890"]);
    assert_eq!(c.skipped.len(), 1);
    assert_eq!(
        c.skipped[0].reason,
        r#"field "id" must be a string or integer, found non-integer number"#
    );
}

#[test]
fn crlf_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"{\"id\":\"a\",\"text\":\"one\"}\r\n\r\n{\"id\":\"b\",\"text\":\"two\"}\r\n";
    let p = write(&dir.path().join("crlf.jsonl"), data);
    let opts = ReadOptions {
        keep_records: true,
        ..ReadOptions::default()
    };
    let c = read_inputs(&[p], &opts).unwrap();
    assert_eq!(ids(&c), ["a", "b"]);
    assert_eq!(c.docs[1].origin.line, 3);
    assert_eq!(c.docs[1].text, "two");
    assert_eq!(
        c.docs[1].record.as_deref(),
        Some("{\"id\":\"b\",\"text\":\"two\"}")
    );
    assert_eq!(c.bytes_read, data.len() as u64);
}

#[test]
fn utf8_bom_at_start_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("bom.jsonl"),
        b"\xEF\xBB\xBF{\"id\":\"a\",\"text\":\"one\"}\n",
    );
    let q = write(
        &dir.path().join("bom.jsonl.gz"),
        &gzip(b"\xEF\xBB\xBF{\"id\":\"b\",\"text\":\"two\"}\n"),
    );
    let opts = ReadOptions {
        keep_records: true,
        ..ReadOptions::default()
    };
    let c = read_inputs(&[p, q], &opts).unwrap();
    assert_eq!(ids(&c), ["a", "b"]);
    assert_eq!(
        c.docs[0].record.as_deref(),
        Some("{\"id\":\"a\",\"text\":\"one\"}")
    );
}

#[test]
fn invalid_utf8_in_jsonl_and_text_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("bad.jsonl"),
        b"{\"id\":\"a\",\"text\":\"ok\"}\n{\"id\":\"b\",\"text\":\"caf\xe9\"}\n",
    );
    let err = read_inputs(std::slice::from_ref(&p), &ReadOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), format!("{p}:2: invalid UTF-8 at byte 21"));

    let t = write(&dir.path().join("bad.txt"), b"abc\x80def");
    let err = read_inputs(std::slice::from_ref(&t), &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(err, ReadError::BadRecord { line: 0, .. }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), format!("{t}: invalid UTF-8 at byte 3"));

    let good = write(&dir.path().join("good.txt"), b"fine");
    let c = read_inputs(&[p.clone(), t.clone(), good.clone()], &skip_bad()).unwrap();
    assert_eq!(ids(&c), ["a", good.as_str()]);
    assert_eq!(c.skipped.len(), 2);
    assert_eq!(c.skipped[0].origin, Origin::new(p, 2));
    assert_eq!(c.skipped[1].origin, Origin::new(t.clone(), 0));
    assert_eq!(
        c.skipped[1].to_string(),
        format!("{t}: invalid UTF-8 at byte 3")
    );
}

#[test]
fn max_doc_bytes_applies_to_jsonl_and_text_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("long.jsonl"),
        b"{\"id\":\"a\",\"text\":\"12345\"}\n{\"id\":\"b\",\"text\":\"123456\"}\n",
    );
    let t = write(&dir.path().join("long.txt"), b"1234567");
    let t_ok = write(&dir.path().join("bom.txt"), b"\xEF\xBB\xBF12345");
    let opts = ReadOptions {
        max_doc_bytes: 5,
        skip_bad: true,
        ..ReadOptions::default()
    };
    let c = read_inputs(&[p, t.clone(), t_ok.clone()], &opts).unwrap();
    assert_eq!(ids(&c), ["a", t_ok.as_str()]);
    assert_eq!(
        c.skipped
            .iter()
            .map(|s| s.reason.as_str())
            .collect::<Vec<_>>(),
        [
            "text is 6 bytes, over the limit of 5 (--max-doc-bytes)",
            "text is 7 bytes, over the limit of 5 (--max-doc-bytes)",
        ]
    );
}

#[test]
fn overlong_ids_are_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let id = "i".repeat(1025);
    let p = write(
        &dir.path().join("ids.jsonl"),
        format!("{{\"id\":\"{id}\",\"text\":\"t\"}}\n").as_bytes(),
    );
    let err = read_inputs(std::slice::from_ref(&p), &ReadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{p}:1: id is 1025 bytes, over the limit of 1024")
    );
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = gzip(&big_jsonl(2000));
    let p = write(&dir.path().join("cut.jsonl.gz"), &data[..data.len() / 2]);
    for opts in [ReadOptions::default(), skip_bad()] {
        let err = read_inputs(std::slice::from_ref(&p), &opts).unwrap_err();
        assert!(
            matches!(err, ReadError::Decompress { format: "gzip", .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{p}: gzip stream is truncated or corrupt: ")),
            "{msg}"
        );
    }
    // Cut inside the 8-byte trailer.
    let q = write(
        &dir.path().join("trailer.jsonl.gz"),
        &data[..data.len() - 3],
    );
    let err = read_inputs(std::slice::from_ref(&q), &skip_bad()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("{q}: gzip")), "{err}");
}

#[test]
fn corrupt_gzip_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = gzip(&big_jsonl(500));
    // Damage the CRC in the trailer.
    let n = data.len();
    data[n - 6] ^= 0x55;
    let p = write(&dir.path().join("crc.jsonl.gz"), &data);
    let err = read_inputs(std::slice::from_ref(&p), &skip_bad()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{p}: gzip stream is truncated or corrupt")),
        "{err}"
    );

    // Not gzip at all.
    let q = write(&dir.path().join("fake.gz"), THREE);
    let err = read_inputs(std::slice::from_ref(&q), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("{q}: gzip")), "{err}");
}

#[test]
fn truncated_or_corrupt_zstd_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = zstd(&big_jsonl(2000));
    let p = write(&dir.path().join("cut.jsonl.zst"), &data[..data.len() / 2]);
    let err = read_inputs(std::slice::from_ref(&p), &skip_bad()).unwrap_err();
    assert!(
        matches!(err, ReadError::Decompress { format: "zstd", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("{p}: zstd stream is truncated or corrupt: ")),
        "{err}"
    );
    let q = write(&dir.path().join("fake.zst"), THREE);
    let err = read_inputs(std::slice::from_ref(&q), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("{q}: zstd")), "{err}");
}

#[test]
fn empty_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("empty.jsonl"), b"");
    let q = write(&dir.path().join("blank.jsonl"), b"\n \n\t\r\n");
    let z = write(&dir.path().join("empty.jsonl.zst"), &zstd(b""));
    let g = write(&dir.path().join("empty.jsonl.gz"), &gzip(b""));
    let t = write(&dir.path().join("empty.txt"), b"");
    let e = dir.path().join("emptydir");
    fs::create_dir(&e).unwrap();
    let inputs = [p, q, z, g, t.clone(), e.to_str().unwrap().to_owned()];
    let c = read_inputs(&inputs, &ReadOptions::default()).unwrap();
    // Only the empty text file is a document (with empty text).
    assert_eq!(ids(&c), [t.as_str()]);
    assert_eq!(c.docs[0].text, "");
    assert_eq!(c.bytes_read, 6);
    assert!(read_inputs(&[], &ReadOptions::default())
        .unwrap()
        .docs
        .is_empty());
}

#[test]
fn missing_input_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing: PathBuf = dir.path().join("nope.jsonl");
    let m = missing.to_str().unwrap().to_owned();
    let err = read_inputs(std::slice::from_ref(&m), &skip_bad()).unwrap_err();
    assert!(matches!(err, ReadError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("{m}: ")), "{err}");
}

#[test]
fn stdin_twice_is_rejected_before_reading() {
    let err = read_inputs(&["-".to_owned(), "-".to_owned()], &ReadOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::StdinRepeated), "{err:?}");
}

#[test]
fn read_jsonl_from_a_reader() {
    let mut c = Corpus::default();
    read_jsonl(THREE, "-", &ReadOptions::default(), &mut c).unwrap();
    assert_eq!(ids(&c), ["a", "b", "c"]);
    assert_eq!(c.docs[2].origin, Origin::new("-", 3));
    assert_eq!(c.bytes_read, THREE.len() as u64);
    let err = read_jsonl(&b"\n{oops}\n"[..], "-", &ReadOptions::default(), &mut c).unwrap_err();
    assert!(err.to_string().starts_with("-:2: invalid JSON: "), "{err}");
}

#[test]
fn zero_byte_compressed_files_are_errors() {
    // A 0-byte file is not a valid gzip or zstd stream (an empty payload
    // still has a header), so it is reported like a truncated one.
    let dir = tempfile::tempdir().unwrap();
    let g = write(&dir.path().join("zero.jsonl.gz"), b"");
    let err = read_inputs(std::slice::from_ref(&g), &skip_bad()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{g}: gzip stream is truncated")),
        "{err}"
    );
    let z = write(&dir.path().join("zero.jsonl.zst"), b"");
    let err = read_inputs(std::slice::from_ref(&z), &skip_bad()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{z}: zstd stream is truncated")),
        "{err}"
    );
}
