"""wiredup: find duplicate and near-duplicate news articles.

The same wire story republished by many outlets, and scraped reposts of it under invented
bylines, grouped into clusters of copies, each with a representative (the original). These are
the bindings of the Rust library: work runs in parallel with the GIL released, and the results
are the command line's, byte for byte (same options, same clusters).

Options (keyword arguments of every function; defaults are the tuned configuration):
``threshold`` (0.4), ``containment`` (0.8), ``shingle`` ("words" or "chars"), ``k``,
``num_perm`` (128), ``seed`` (42), ``sketch`` ("oph" or "classic"), ``lsh_threshold``,
``bands_rows`` ((bands, rows) by hand), ``boilerplate_per_source`` (3), ``boilerplate_docs``
(None: max(32, n/50)), ``guard`` (True). An unknown option is a ``ValueError``.

Quick start::

    import wiredup
    docs = [{"id": "a", "text": "..."}, {"id": "b", "text": "..."}]
    for row in wiredup.cluster(docs):                      # one row per document
        print(row["id"], row["cluster"])
    for c in wiredup.cluster(docs, format="clusters"):     # clusters of two or more
        print(c["representative"], [m["id"] for m in c["members"]])

For Spark, see ``wiredup.spark``; for runs split across machines without Python, the
``wiredup sketch`` / ``wiredup cluster-shards`` commands.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from . import _wiredup
from ._wiredup import Index

__version__: str = _wiredup.__version__

__all__ = ["cluster", "sign", "Index", "__version__"]


def _columns(
    docs: Iterable[Mapping[str, Any]],
) -> Tuple[List[str], List[str], List[Optional[str]], List[Optional[str]]]:
    """Splits records into id, text, source and published lists (as the JSONL reader does:
    integer ids become decimal strings; a non-string source or time is ignored)."""
    ids: List[str] = []
    texts: List[str] = []
    sources: List[Optional[str]] = []
    published: List[Optional[str]] = []
    for i, d in enumerate(docs):
        if "id" not in d or "text" not in d:
            raise ValueError(f"document {i}: needs 'id' and 'text'")
        raw_id = d["id"]
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            raise ValueError(f"document {i}: id must be a string or an integer")
        if not isinstance(d["text"], str):
            raise ValueError(f"document {i}: text must be a string")
        ids.append(str(raw_id))
        texts.append(d["text"])
        s = d.get("source")
        sources.append(s if isinstance(s, str) else None)
        p = d.get("published")
        published.append(p if isinstance(p, str) else None)
    return ids, texts, sources, published


def cluster(
    docs: Iterable[Mapping[str, Any]],
    *,
    format: str = "assignments",
    **options: Any,
) -> List[Dict[str, Any]]:
    """Clusters documents (dicts with ``id``, ``text`` and optional ``source`` and
    ``published``) and returns the rows ``wiredup cluster --format FORMAT`` would print:

    - ``assignments``: one row per document, in input order: ``id`` and ``cluster`` (clusters
      numbered by their first document);
    - ``clusters``: one row per cluster of two or more: ``cluster``, ``representative``,
      ``size`` and ``members`` (each with ``id``, ``similarity``, ``jaccard``,
      ``containment`` against the representative);
    - ``pairs``: one row per verified copy pair.
    """
    ids, texts, sources, published = _columns(docs)
    lines = _wiredup.cluster_lines(ids, texts, sources, published, format, **options)
    return [json.loads(line) for line in lines]


def sign(texts: Sequence[str], **options: Any) -> List[Tuple[Optional[bytes], List[int]]]:
    """MinHash signatures and LSH band keys of the whole text of each document, in bulk.

    Returns per text ``(signature, band_keys)``: the signature as little-endian u32 values
    (``num_perm`` of them; ``None`` for a text without words) and one key per LSH band (signed
    64-bit integers). Two texts that share a band key are LSH candidates. No boilerplate is
    removed here (that needs a corpus: use :func:`cluster` or an :class:`Index`).
    """
    return _wiredup.sign(list(texts), **options)
