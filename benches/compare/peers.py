#!/usr/bin/env python3
"""Python peers for benches/compare.sh: near-duplicate clustering with
datasketch and rensa, the way their docs suggest.

Usage:
    python peers.py datasketch DOCS.jsonl OUT.jsonl
    python peers.py rensa      DOCS.jsonl OUT.jsonl
    python peers.py versions

Both subcommands run the same pipeline, timed from outside as the wall time of
the whole process (start-up and imports included):

  1. read the JSONL with the json module (fields `id`, `text`);
  2. normalize: re.findall(r"\\w+", text.lower()); word 5-gram shingles joined
     with single spaces (a document of 1..4 words is one shingle; a document
     with no words gets no signature and stays alone);
  3. MinHash with 128 permutations;
  4. LSH with 16 bands x 8 rows; every document queried for candidates;
  5. candidates filtered by the Jaccard similarity estimated from the two
     signatures (>= 0.5), as both libraries' docs recommend after an LSH query;
  6. union-find over the kept pairs (connected components), then one
     {"id": ..., "cluster": ...} line per document, in input order.

The reading, shingling, candidate filter and union-find are the same glue
code for both peers. Documents are read and shingled in batches of CHUNK, so
that memory holds the signatures, not every shingle string of the corpus.
"""

import json
import re
import sys

K = 5
NUM_PERM = 128
BANDS = 16
ROWS = 8
THRESHOLD = 0.5
SEED = 42

WORD_RE = re.compile(r"\w+")


CHUNK = 4096  # documents per batch: bounds memory, keeps the bulk calls bulk


def read_docs(path):
    """Yield (id, text) per JSONL record."""
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"peers.py: {path}:{lineno}: bad JSON: {e}")
            yield doc["id"], doc.get("text") or ""


def chunks(path):
    """Yield lists of (id, text), CHUNK records at a time."""
    batch = []
    for rec in read_docs(path):
        batch.append(rec)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def shingles(text):
    """Word 5-grams of the lowercased \\w+ words, joined with single spaces."""
    words = WORD_RE.findall(text.lower())
    n = len(words)
    if n == 0:
        return []
    if n <= K:
        return [" ".join(words)]
    return list(map(" ".join, zip(*(words[i:] for i in range(K)))))


def find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def union_and_write(ids, pairs, out_path):
    """Connected components over `pairs` (document indexes), then one
    assignment line per document, in input order."""
    parent = list(range(len(ids)))
    for x, y in pairs:
        rx, ry = find(parent, x), find(parent, y)
        if rx != ry:
            if rx < ry:
                parent[ry] = rx
            else:
                parent[rx] = ry
    with open(out_path, "w", encoding="utf-8") as out:
        for i, doc_id in enumerate(ids):
            out.write(json.dumps({"id": doc_id, "cluster": find(parent, i)}))
            out.write("\n")


def report(tool, n, candidates, kept):
    print(f"peers.py {tool}: {n} documents, {candidates} candidate pairs, "
          f"{kept} kept (estimated Jaccard >= {THRESHOLD})", file=sys.stderr)


def run_datasketch(docs_path, out_path):
    from datasketch import MinHash, MinHashLSH

    ids = []
    signed = []  # document index of each MinHash
    mhs = []

    def token_sets():
        for batch in chunks(docs_path):
            for doc_id, text in batch:
                sh = shingles(text)
                i = len(ids)
                ids.append(doc_id)
                if sh:
                    signed.append(i)
                    yield [s.encode("utf-8") for s in sh]

    # MinHash.generator (what MinHash.bulk wraps): one initialised MinHash
    # copied per document and filled with update_batch, using datasketch's
    # default hash (sha1_hash32) and default scheme (affine32).
    mhs = list(MinHash.generator(token_sets(), num_perm=NUM_PERM, seed=SEED))
    lsh = MinHashLSH(num_perm=NUM_PERM, params=(BANDS, ROWS))
    with lsh.insertion_session() as session:
        for r, m in enumerate(mhs):
            session.insert(r, m, check_duplication=False)
    candidates = 0
    pairs = []
    for r, m in enumerate(mhs):
        for c in lsh.query(m):
            if c > r:
                candidates += 1
                if m.jaccard(mhs[c]) >= THRESHOLD:
                    pairs.append((signed[r], signed[c]))
    union_and_write(ids, pairs, out_path)
    report("datasketch", len(ids), candidates, len(pairs))


def run_rensa(docs_path, out_path):
    from rensa import RMinHash, RMinHashLSH

    ids = []
    signed = []
    mhs = []
    for batch in chunks(docs_path):
        token_sets = []
        for doc_id, text in batch:
            sh = shingles(text)
            if sh:
                signed.append(len(ids))
                token_sets.append(sh)
            ids.append(doc_id)
        # Bulk constructor (Rust, parallel over the batch).
        mhs.extend(RMinHash.from_token_sets(token_sets, NUM_PERM, SEED))
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=BANDS)
    lsh.insert_many(mhs, 0)  # key r = position in `signed`
    candidates = 0
    pairs = []
    for r, cands in enumerate(lsh.query_all(mhs)):
        m = mhs[r]
        for c in cands:
            if c > r:
                candidates += 1
                if m.jaccard(mhs[c]) >= THRESHOLD:
                    pairs.append((signed[r], signed[c]))
    union_and_write(ids, pairs, out_path)
    report("rensa", len(ids), candidates, len(pairs))


def versions():
    from importlib.metadata import version, PackageNotFoundError

    out = {"python": sys.version.split()[0]}
    for name in ("datasketch", "rensa", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    print(json.dumps(out))


def main(argv):
    if len(argv) == 2 and argv[1] == "versions":
        versions()
        return
    if len(argv) != 4 or argv[1] not in ("datasketch", "rensa"):
        sys.exit(__doc__)
    {"datasketch": run_datasketch, "rensa": run_rensa}[argv[1]](argv[2], argv[3])


if __name__ == "__main__":
    main(sys.argv)
