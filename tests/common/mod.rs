//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The shared dev set's `docs.jsonl`: `$WIREDUP_DEV_DATA/docs.jsonl`, or
/// `../shared/data/syndication-dev/docs.jsonl` beside the repository. A missing data set is a
/// failure, not a skip: the quality bar must not pass by not running.
pub fn dev_docs() -> PathBuf {
    let dir = match std::env::var_os("WIREDUP_DEV_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/syndication-dev"),
    };
    let docs = dir.join("docs.jsonl");
    assert!(
        docs.exists(),
        "{} not found: this test needs the shared dev set (set WIREDUP_DEV_DATA)",
        docs.display()
    );
    docs
}

/// Runs the `wiredup` binary with `args`.
#[allow(dead_code)] // not every test file runs the binary
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiredup"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("spawn wiredup: {e}"))
}

/// [`run`], which must succeed.
#[allow(dead_code)]
pub fn ok(args: &[&str]) -> Output {
    let o = run(args);
    assert!(
        o.status.success(),
        "wiredup {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
