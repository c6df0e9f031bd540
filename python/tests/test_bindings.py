"""The bindings give the command line's results: clusters in every format, options, errors,
signatures and the index."""

from __future__ import annotations

import json

import pytest

import wiredup
from conftest import read_jsonl, run_cli


@pytest.mark.parametrize("fmt", ["assignments", "clusters", "pairs"])
def test_cluster_equals_cli(corpus_path, fmt):
    docs = read_jsonl(corpus_path)
    got = wiredup.cluster(docs, format=fmt)
    want = [json.loads(line) for line in run_cli("cluster", str(corpus_path), "-q", "--format", fmt).splitlines()]
    assert got == want
    assert got, "the corpus has clusters"


def test_options_match_cli_flags(corpus_path):
    docs = read_jsonl(corpus_path)
    got = wiredup.cluster(docs, threshold=0.6, k=4, guard=False)
    want = [
        json.loads(line)
        for line in run_cli("cluster", str(corpus_path), "-q", "--format", "assignments",
                            "--threshold", "0.6", "-k", "4", "--no-guard").splitlines()
    ]
    assert got == want


def test_cluster_on_dev_set_equals_cli(dev_path):
    docs = read_jsonl(dev_path)
    got = wiredup.cluster(docs)
    want = [json.loads(line) for line in run_cli("cluster", str(dev_path), "-q", "--format", "assignments").splitlines()]
    assert got == want
    assert len(got) == 1645


def test_bad_options_and_inputs_are_value_errors():
    docs = [{"id": "a", "text": "one two three"}]
    with pytest.raises(ValueError, match="unknown option"):
        wiredup.cluster(docs, treshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        wiredup.cluster(docs, threshold=1.5)
    with pytest.raises(ValueError, match="duplicate id"):
        wiredup.cluster(docs + docs)
    with pytest.raises(ValueError, match="needs 'id' and 'text'"):
        wiredup.cluster([{"id": "x"}])
    with pytest.raises(ValueError, match="shingle"):
        wiredup.sign(["x"], shingle="letters")


def test_sign_in_bulk():
    texts = ["The quick brown fox jumps over the lazy dog. " * 3, "", "Completely different words here and there."]
    out = wiredup.sign(texts + texts[:1])
    assert len(out) == 4
    sig, keys = out[0]
    assert isinstance(sig, bytes) and len(sig) == 4 * 128
    assert len(keys) > 1 and all(isinstance(k, int) for k in keys)
    assert out[1] == (None, [])  # no words: no signature, never a candidate
    assert out[3] == out[0]  # deterministic
    assert set(out[2][1]).isdisjoint(keys)
    assert len(wiredup.sign(texts[:1], num_perm=64)[0][0]) == 4 * 64


def test_index_round_trip(tmp_path, corpus_path):
    docs = read_jsonl(corpus_path)
    head, tail = docs[:30], docs[30:]
    idx = wiredup.Index.build([d["id"] for d in head], [d["text"] for d in head],
                              [d.get("source") for d in head], [d.get("published") for d in head])
    assert len(idx) == 30 and head[0]["id"] in idx
    path = tmp_path / "feed.wdx"
    idx.save(str(path))
    again = wiredup.Index.open(str(path))
    assert len(again) == 30
    decisions = again.add([d["id"] for d in tail], [d["text"] for d in tail],
                          [d.get("source") for d in tail], [d.get("published") for d in tail])
    assert len(decisions) == len(tail)
    assert any(dup is not None for dup, _ in decisions), "some later documents copy earlier ones"
    # A document queried against an index that holds it matches itself first.
    hits = again.query(head[1]["text"])
    assert hits and hits[0]["id"] == head[1]["id"] and hits[0]["similarity"] == pytest.approx(1.0)
    # The file is the CLI's index format.
    assert "documents" in run_cli("index", "stats", str(path))
    with pytest.raises(ValueError, match="not a wiredup index"):
        wiredup.Index.open(str(corpus_path))
