"""wiredup on Spark: the whole pipeline distributed, with the same clusters as ``wiredup cluster``.

Every stage that touches documents runs on the executors, through the bindings:

1. documents get a global index in input order (``zipWithIndex``); ids must be unique;
2. each partition is normalized and shingled in bulk (``prepare``, GIL released, parallel);
3. boilerplate is counted with Spark: a paragraph is boilerplate when at least
   ``boilerplate_per_source`` documents of one source, or at least ``max(32, n/50)`` documents
   overall, carry it (the CLI's rules); the set is small and is broadcast;
4. each partition builds its story sets, MinHash signatures and LSH band keys (``story_sign``);
5. candidate pairs: documents grouped by (band, key), and by shared story paragraph of at least
   8 words, each group turned into pairs with the CLI's bucket caps (``bucket_pairs``);
6. candidates are joined with both documents' story sets and verified exactly
   (``verify_pairs``: signature pre-filter, then exact similarity and containment);
7. connected components of the verified pairs by the large-star / small-star algorithm
   (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014), in Spark;
8. each component is clustered by the guarded union-find and gets its representative
   (``cluster_component``), on the executors;
9. clusters are numbered as the CLI numbers them (by their first document in input order).

Quick start (local mode)::

    from pyspark.sql import SparkSession
    from wiredup import spark as wds

    session = SparkSession.builder.master("local[2]").getOrCreate()
    df = session.read.json("corpus/docs.jsonl")
    out = wds.dedup(df)                      # df + cluster, representative, duplicate, similarity
    out.write.parquet("clusters.parquet")
    out.filter(~out.duplicate).drop("cluster", "representative", "duplicate", "similarity") \\
       .write.parquet("deduplicated.parquet")

Or from the shell: ``python -m wiredup.spark corpus/docs.jsonl --output OUT`` (writes
``OUT/clusters`` and ``OUT/deduplicated`` as Parquet; ``.parquet`` inputs are read as such).

Options are the keyword arguments of :func:`wiredup.cluster` (``threshold``, ``k``, ...).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from . import _wiredup

__all__ = ["dedup", "connected_components", "main"]


def _batches(it: Iterable[Any], size: int = 2048) -> Iterator[List[Any]]:
    batch: List[Any] = []
    for x in it:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# The CLI's limits (src/io.rs): longest id, longest text.
MAX_ID_BYTES = 1024
MAX_DOC_BYTES = 16 * 1024 * 1024


def _record(
    row: Any,
    id_col: str,
    text_col: str,
    source_col: Optional[str],
    published_col: Optional[str],
    cols: List[str],
) -> Any:
    """(id, text, source, published) of a row, or what is wrong with it (a str)."""
    import datetime

    raw_id = row[id_col]
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        return f"id must be a string or an integer, got {type(raw_id).__name__}"
    rid = str(raw_id)
    if not rid:
        return "empty id"
    if len(rid.encode("utf-8")) > MAX_ID_BYTES:
        return f"id longer than {MAX_ID_BYTES} bytes"
    text = row[text_col]
    if not isinstance(text, str):
        return f"text must be a string, got {type(text).__name__}"
    if len(text.encode("utf-8")) > MAX_DOC_BYTES:
        return f"text is over the limit of {MAX_DOC_BYTES} bytes"

    def opt_field(name: Optional[str]) -> Optional[str]:
        if name is None or name not in cols:
            return None
        v = row[name]
        if isinstance(v, datetime.datetime):
            if v.tzinfo is not None:
                v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return v.strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(v, datetime.date):
            return v.isoformat()
        return v if isinstance(v, str) else None

    return (rid, text, opt_field(source_col), opt_field(published_col))


def connected_components(edges: Any) -> Any:
    """Connected components of an RDD of ``(u, v)`` integer edges by large-star / small-star.

    Returns an RDD of ``(node, component)`` where ``component`` is the smallest node of the
    component, for every node that has an edge. Each round is a few shuffles; the number of
    rounds is logarithmic in the number of nodes for most graphs.
    """
    cur = edges.filter(lambda e: e[0] != e[1]).map(lambda e: (min(e), max(e))).distinct()
    cur.cache()
    while True:
        # Large star: each node links its larger neighbours to the smallest node it sees.
        def large_star(kv: Tuple[int, Iterable[int]]) -> Iterator[Tuple[int, int]]:
            u, nbrs = kv
            ns = set(nbrs)
            m = min(ns | {u})
            for v in ns:
                if v > u:
                    yield (v, m)

        ls = (
            cur.flatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
            .groupByKey()
            .flatMap(large_star)
            .distinct()
        )

        # Small star: each node links itself and its smaller neighbours to the smallest of them.
        def small_star(kv: Tuple[int, Iterable[int]]) -> Iterator[Tuple[int, int]]:
            u, nbrs = kv
            ns = set(nbrs) | {u}
            m = min(ns)
            for v in ns:
                if v != m:
                    yield (v, m)

        ss = ls.map(lambda e: (max(e), min(e))).groupByKey().flatMap(small_star).distinct()
        ss.cache()
        changed = ss.subtract(cur).count() + cur.subtract(ss).count()
        cur.unpersist()
        cur = ss
        if changed == 0:
            break
    # At the fixed point every edge is (node, smallest node of its component).
    roots = cur.map(lambda e: (e[1], e[1])).distinct()
    return cur.union(roots).distinct()


def dedup(
    df: Any,
    *,
    id_col: str = "id",
    text_col: str = "text",
    source_col: Optional[str] = "source",
    published_col: Optional[str] = "published",
    **options: Any,
) -> Any:
    """Clusters the documents of a DataFrame as ``wiredup cluster`` would (same options, same
    clusters, same numbering) and returns it with four columns added: ``cluster`` (int, the
    CLI's cluster number), ``representative`` (id of the cluster's original), ``duplicate``
    (true for every member but the representative) and ``similarity`` (to the representative;
    1.0 for the representative and singletons).

    Rows keep their order. Records are checked as the CLI's reader checks JSONL records: an
    id must be a non-empty string of at most 1,024 bytes or an integer (compared as its decimal
    string), ids must be unique, a text must be a string of at most 16 MiB; the first record
    that is not is a ``ValueError`` naming its row. ``source`` and ``published`` are used when
    they are strings (a Spark date or timestamp ``published`` is taken as its ISO 8601 UTC
    time); other values are ignored, as the CLI ignores non-string fields.

    Input order is the order of ``df.rdd``; it is numbered once and persisted, so the results
    go back onto the rows they came from. A DataFrame whose order is not stable (fresh out of a
    shuffle) should be sorted first.
    """
    from pyspark.sql import Row
    from pyspark.sql.types import (
        BooleanType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    from pyspark import StorageLevel

    spark = df.sparkSession
    sc = spark.sparkContext
    cols = df.columns
    for c in (id_col, text_col):
        if c not in cols:
            raise ValueError(f"no column {c!r} (columns: {cols})")
    opt = dict(options)
    shingle_opts = {k: opt[k] for k in ("shingle", "k") if k in opt}

    # Rows numbered once, in input order, and kept: both the pipeline and the final join read
    # this one numbering.
    numbered = df.rdd.zipWithIndex().map(lambda ri: (ri[1], ri[0]))
    numbered.persist(StorageLevel.MEMORY_AND_DISK)
    checked = numbered.map(lambda kv: (kv[0], _record(kv[1], id_col, text_col, source_col, published_col, cols)))
    bad = checked.filter(lambda kv: isinstance(kv[1], str)).take(1)
    if bad:
        raise ValueError(f"row {bad[0][0]}: {bad[0][1]}")
    indexed = checked
    indexed.cache()
    n = indexed.count()
    ids = indexed.map(lambda kv: kv[1][0])
    dup = ids.map(lambda i: (i, 1)).reduceByKey(lambda a, b: a + b).filter(lambda kv: kv[1] > 1).take(1)
    if dup:
        raise ValueError(f"duplicate id {dup[0][0]!r}")

    # 2. Prepare (normalize + shingle) per partition.
    def prepare_part(it: Iterable[Tuple[int, Tuple[str, str, Any, Any]]]) -> Iterator[Any]:
        for batch in _batches(it):
            texts = [d[1] for _, d in batch]
            for (idx, d), p in zip(batch, _wiredup.prepare(texts, **shingle_opts)):
                yield (idx, (d[2], d[3], p[0], p[1], p[2], p[3]))

    prepared = indexed.mapPartitions(prepare_part)
    prepared.cache()

    # 3. Boilerplate, counted over the corpus with the CLI's rules.
    min_source, corpus_min = _wiredup.boilerplate_thresholds(n, **opt)
    distinct_paras = prepared.flatMap(
        lambda kv: [(h, kv[0], kv[1][0]) for h in set(kv[1][2])]
    )
    distinct_paras.cache()
    bp_hashes = set()
    if min_source > 0:
        bp_hashes |= set(
            distinct_paras.filter(lambda t: t[2])
            .map(lambda t: ((t[2], t[0]), 1))
            .reduceByKey(lambda a, b: a + b)
            .filter(lambda kv: kv[1] >= min_source)
            .map(lambda kv: kv[0][1])
            .distinct()
            .collect()
        )
    bp_hashes |= set(
        distinct_paras.map(lambda t: (t[0], 1))
        .reduceByKey(lambda a, b: a + b)
        .filter(lambda kv: kv[1] >= corpus_min)
        .map(lambda kv: kv[0])
        .collect()
    )
    bp_list = sorted(bp_hashes)
    bp_b = sc.broadcast(bp_list)
    bp_set_b = sc.broadcast(frozenset(bp_list))

    # 4. Story sets, signatures, band keys.
    def story_part(it: Iterable[Any]) -> Iterator[Any]:
        for batch in _batches(it):
            rows = [(p[2], p[3], p[4], bytes(p[5])) for _, p in batch]
            for (idx, p), s in zip(batch, _wiredup.story_sign(rows, bp_b.value, **opt)):
                # (story set, signature, band keys, published)
                yield (idx, (bytes(s[0]), bytes(s[1]) if s[1] is not None else None, s[2], p[1]))

    story = prepared.mapPartitions(story_part)
    story.cache()

    # 5. Candidate pairs: shared band keys, and shared story paragraphs.
    def pairs_of(kv: Tuple[Any, Iterable[int]]) -> List[Tuple[int, int]]:
        docs = sorted(set(kv[1]))
        return _wiredup.bucket_pairs(docs) if len(docs) > 1 else []

    lsh = (
        story.flatMap(lambda kv: [((b, key), kv[0]) for b, key in enumerate(kv[1][2])])
        .groupByKey()
        .flatMap(pairs_of)
    )
    para_on, min_words = _wiredup.paragraph_key_rule()
    cands = lsh
    if para_on:

        def story_paras(kv: Tuple[int, Any]) -> List[Tuple[int, int]]:
            bp = bp_set_b.value
            p = kv[1]
            keys = {h for h, w in zip(p[2], p[3]) if w >= min_words and h not in bp}
            return [(h, kv[0]) for h in keys]

        cands = cands.union(prepared.flatMap(story_paras).groupByKey().flatMap(pairs_of))
    cands = cands.distinct()

    # 6. Verify each candidate with both story sets and signatures.
    sets = story.map(lambda kv: (kv[0], (kv[1][0], kv[1][1])))
    joined = (
        cands.join(sets)
        .map(lambda kv: (kv[1][0], (kv[0], kv[1][1])))
        .join(sets)
        .map(lambda kv: (kv[1][0][0], kv[0], kv[1][0][1][0], kv[1][1][0], kv[1][0][1][1], kv[1][1][1]))
    )

    def verify_part(it: Iterable[Any]) -> Iterator[Any]:
        for batch in _batches(it, 4096):
            yield from _wiredup.verify_pairs(batch, **opt)

    verified = joined.mapPartitions(verify_part)
    verified.cache()

    # 7. Connected components (distributed), 8. clustering per component.
    comp = connected_components(verified.map(lambda p: (p[0], p[1])))
    members = comp.join(story.map(lambda kv: (kv[0], (kv[1][0], kv[1][3])))).map(
        lambda kv: (kv[1][0], (kv[0], kv[1][1][0], kv[1][1][1]))
    )
    comp_pairs = verified.map(lambda p: (p[0], p)).join(comp).map(lambda kv: (kv[1][1], kv[1][0]))

    def cluster_group(kv: Tuple[int, Tuple[Iterable[Any], Iterable[Any]]]) -> List[Any]:
        ms = sorted(kv[1][0])
        ps = list(kv[1][1])
        return _wiredup.cluster_component(
            [m[0] for m in ms], [m[1] for m in ms], [m[2] for m in ms], ps, **opt
        )

    clustered = members.cogroup(comp_pairs).flatMap(cluster_group)
    # (doc, (label, rep, inter, size, rep_size))
    assigned = clustered.map(lambda t: (t[0], t[1:]))

    # 9. Number clusters as the CLI does: by their first document in input order. A
    # document's cluster is labelled by its lowest member; singletons label themselves.
    labels = indexed.map(lambda kv: (kv[0], None)).leftOuterJoin(assigned).map(
        lambda kv: (kv[0], kv[1][1] if kv[1][1] is not None else (kv[0], kv[0], 0, 0, 0))
    )
    labels.cache()
    roots = labels.filter(lambda kv: kv[1][0] == kv[0]).map(lambda kv: kv[0]).sortBy(lambda x: x)
    numbers = roots.zipWithIndex()  # (root doc, cluster number)
    id_of = indexed.map(lambda kv: (kv[0], kv[1][0]))

    def similarity(inter: int, size: int, rep_size: int) -> float:
        big = max(size, rep_size)
        return inter / big if big else 0.0

    result = (
        labels.map(lambda kv: (kv[1][1], (kv[0], kv[1])))  # keyed by representative
        .join(id_of)
        .map(lambda kv: (kv[1][0][1][0], (kv[1][0][0], kv[1][0][1], kv[1][1])))  # keyed by label
        .join(numbers)
        .map(
            lambda kv: (
                kv[1][0][0],
                (
                    kv[1][1],
                    kv[1][0][2],
                    kv[1][0][0] != kv[1][0][1][1],
                    1.0
                    if kv[1][0][0] == kv[1][0][1][1]
                    else similarity(kv[1][0][1][2], kv[1][0][1][3], kv[1][0][1][4]),
                ),
            )
        )
    )
    # Back onto the original rows, in input order.
    rows = numbered.join(result).sortByKey()
    schema = StructType(
        list(df.schema.fields)
        + [
            StructField("cluster", LongType(), False),
            StructField("representative", StringType(), False),
            StructField("duplicate", BooleanType(), False),
            StructField("similarity", DoubleType(), False),
        ]
    )
    out = rows.map(lambda kv: Row(*(list(kv[1][0]) + list(kv[1][1]))))
    return spark.createDataFrame(out, schema)


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m wiredup.spark INPUT... --output DIR``: clusters and a deduplicated copy."""
    ap = argparse.ArgumentParser(prog="python -m wiredup.spark", description=main.__doc__)
    ap.add_argument("inputs", nargs="+", help="JSONL files (or .parquet)")
    ap.add_argument("--output", required=True, help="directory for clusters/ and deduplicated/")
    ap.add_argument("--master", default=None, help="Spark master (default: the session's)")
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--containment", type=float)
    ap.add_argument("-k", type=int)
    a = ap.parse_args(argv)
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("wiredup")
    if a.master:
        b = b.master(a.master)
    spark = b.getOrCreate()
    if all(p.endswith(".parquet") for p in a.inputs):
        df = spark.read.parquet(*a.inputs)
    else:
        df = spark.read.json(list(a.inputs))
    opts: Dict[str, Any] = {
        k: v for k, v in (("threshold", a.threshold), ("containment", a.containment), ("k", a.k)) if v is not None
    }
    out = dedup(df, **opts)
    out.write.mode("overwrite").parquet(f"{a.output}/clusters")
    out.filter(~out.duplicate).drop("cluster", "representative", "duplicate", "similarity").write.mode(
        "overwrite"
    ).parquet(f"{a.output}/deduplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
