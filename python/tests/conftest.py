"""Shared fixtures: the repository root, the CLI binary, the bundled corpus and the dev set."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wiredup_bin() -> Path:
    p = Path(os.environ.get("WIREDUP_BIN", ROOT / "target" / "release" / "wiredup"))
    if not p.exists():
        pytest.fail(f"{p} not found: build it with `cargo build --release` (or set WIREDUP_BIN)")
    return p


def run_cli(*args: str) -> str:
    out = subprocess.run([str(wiredup_bin()), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    return ROOT / "corpus" / "docs.jsonl"


@pytest.fixture(scope="session")
def dev_path() -> Path:
    d = Path(os.environ.get("WIREDUP_DEV_DATA", ROOT.parent / "shared" / "data" / "syndication-dev"))
    p = d / "docs.jsonl"
    if not p.exists():
        pytest.fail(f"{p} not found: the dev set is needed (set WIREDUP_DEV_DATA)")
    return p
