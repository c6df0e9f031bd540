"""The Spark pipeline (local mode) gives the same clusters as `wiredup cluster`: on the bundled
corpus (cluster numbers, representatives and the deduplicated copy) and on the dev set."""

from __future__ import annotations

import json
import os
import sys

import pytest
from pyspark.sql import SparkSession

from conftest import run_cli
from wiredup import spark as wds


@pytest.fixture(scope="module")
def session():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    s = (
        SparkSession.builder.master("local[2]")
        .appName("wiredup-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def cli_assignments(path):
    return [json.loads(line) for line in run_cli("cluster", str(path), "-q", "--format", "assignments").splitlines()]


def cli_representatives(path):
    reps = {}
    for line in run_cli("cluster", str(path), "-q", "--format", "clusters").splitlines():
        c = json.loads(line)
        for m in c["members"]:
            reps[m["id"]] = c["representative"]
    return reps


def ari(a, b):
    """Adjusted Rand index of two labelings (dicts id -> label) over the same ids."""
    from collections import Counter
    from math import comb

    ids = sorted(a)
    n = len(ids)
    pairs = Counter((a[i], b[i]) for i in ids)
    sa = sum(comb(c, 2) for c in Counter(a[i] for i in ids).values())
    sb = sum(comb(c, 2) for c in Counter(b[i] for i in ids).values())
    sab = sum(comb(c, 2) for c in pairs.values())
    expected = sa * sb / comb(n, 2)
    top = (sa + sb) / 2
    return 1.0 if top == expected else (sab - expected) / (top - expected)


def check_equal(session, path):
    """Runs the Spark pipeline on a JSONL file (input order = file order) and checks it
    against the CLI: cluster numbers, representatives, duplicate flags."""
    df = session.read.json(str(path))
    out = wds.dedup(df)
    rows = out.select("id", "cluster", "representative", "duplicate", "similarity").collect()
    got = {r["id"]: r["cluster"] for r in rows}
    want = {r["id"]: r["cluster"] for r in cli_assignments(path)}
    assert got == want, "cluster numbers differ from the CLI's"
    assert ari(got, want) == 1.0
    reps = cli_representatives(path)
    for r in rows:
        assert r["representative"] == reps.get(r["id"], r["id"])
        assert r["duplicate"] == (r["representative"] != r["id"])
    return out


def test_spark_equals_cli_on_corpus(session, corpus_path, tmp_path):
    out = check_equal(session, corpus_path)
    # Parquet with the cluster column, and a deduplicated copy: one row per story.
    out.write.parquet(str(tmp_path / "clusters"))
    dedup = out.filter(~out.duplicate).drop("cluster", "representative", "duplicate", "similarity")
    dedup.write.parquet(str(tmp_path / "dedup"))
    back = session.read.parquet(str(tmp_path / "clusters"))
    assert back.count() == 44 and "cluster" in back.columns
    kept = session.read.parquet(str(tmp_path / "dedup")).count()
    assert kept == len({r["cluster"] for r in cli_assignments(corpus_path)})


def test_spark_equals_cli_on_dev_set(session, dev_path):
    check_equal(session, dev_path)


def test_command_line_entry(session, corpus_path, tmp_path):
    assert wds.main([str(corpus_path), "--output", str(tmp_path / "o")]) == 0
    assert session.read.parquet(str(tmp_path / "o" / "clusters")).count() == 44


def test_connected_components(session):
    sc = session.sparkContext
    edges = sc.parallelize([(5, 6), (6, 7), (1, 2), (9, 9), (3, 1), (10, 11), (11, 5)])
    got = dict(wds.connected_components(edges).collect())
    assert got == {1: 1, 2: 1, 3: 1, 5: 5, 6: 5, 7: 5, 10: 5, 11: 5}


def test_bad_records_are_errors_naming_the_row(session):
    rows = [("a", "one two three four"), ("b", None)]
    df = session.createDataFrame(rows, "id string, text string")
    with pytest.raises(ValueError, match="row 1: text must be a string"):
        wds.dedup(df)
    df = session.createDataFrame([("a", "x y z"), ("a", "p q r")], "id string, text string")
    with pytest.raises(ValueError, match="duplicate id 'a'"):
        wds.dedup(df)


def test_timestamps_and_missing_columns(session):
    import datetime

    text = "The council approved the new budget on Tuesday after a long debate about schools and roads."
    rows = [
        (1, text, datetime.datetime(2024, 5, 2, 10, 0, 0)),
        (2, text + " Copyright 2024.", datetime.datetime(2024, 5, 1, 9, 0, 0)),
    ]
    df = session.createDataFrame(rows, "id long, text string, published timestamp")
    out = {r["id"]: r for r in wds.dedup(df, source_col=None).collect()}
    # Integer ids are compared as strings; the earlier timestamp is the representative.
    assert out[1]["representative"] == "2" and out[1]["duplicate"]
    assert out[2]["representative"] == "2" and not out[2]["duplicate"]


def test_parquet_input(session, corpus_path, tmp_path):
    # The corpus as one Parquet file (row order kept), through the command-line entry.
    pq = tmp_path / "docs.parquet"
    session.read.json(str(corpus_path)).coalesce(1).write.parquet(str(pq))
    part = next(p for p in pq.iterdir() if p.suffix == ".parquet")
    assert wds.main([str(part), "--output", str(tmp_path / "o")]) == 0
    got = {r["id"]: r["cluster"] for r in session.read.parquet(str(tmp_path / "o" / "clusters")).collect()}
    want = {r["id"]: r["cluster"] for r in cli_assignments(corpus_path)}
    assert got == want
    kept = session.read.parquet(str(tmp_path / "o" / "deduplicated")).count()
    assert kept == len(set(want.values()))
