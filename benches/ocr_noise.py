#!/usr/bin/env python3
"""How wiredup's recall holds up when reprints carry their own OCR errors.

Real newspaper reprints of one wire story were scanned and OCR'd separately, so each copy has
its own character errors on top of cuts and a new headline. This script builds such reprints
from the dev set's newspaper originals (the `protest_train` documents, whose text is already
OCR output), adds them to the dev set, clusters the result with several option sets, and
prints precision, recall and F1 over all pairs, and the share of reprints placed in their
original's cluster.

Noise model, per alphabetic character with probability RATE: a visually confusable glyph in
its place (60%), the character dropped (15%), a stray glyph after it (15%), a space after it,
splitting the word (10%); per space with probability RATE / 3: the space dropped, running two
words together. Each reprint also gets a new headline and keeps the first 60-100% of the body's
paragraphs (at least one). Everything is drawn from `random.Random(SEED)`.

Usage: python3 benches/ocr_noise.py [--bin target/release/wiredup] [--data DIR]
       [--rates 0,0.02,0.04,0.08] [--seed 1] [--opts "" "-k 2" "--shingle chars"]
The dev set is read from ../shared/data/syndication-dev; nothing is written to the repository
(the sets go to a temporary directory).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

# Glyphs OCR commonly takes for one another in old newsprint.
CONFUSABLE = {
    "a": "oe", "b": "h", "c": "eo", "d": "cl", "e": "ceo", "f": "t", "g": "q", "h": "bn",
    "i": "l1", "l": "i1", "m": "rn", "n": "ur", "o": "ace", "r": "n", "s": "a", "t": "fl",
    "u": "n", "v": "y", "y": "v",
}
STRAY = ".,'il"


def ocr(text, rate, rng):
    out = []
    for ch in text:
        r = rng.random()
        if ch.isalpha() and r < rate:
            k = rng.random()
            if k < 0.60:
                sub = rng.choice(CONFUSABLE.get(ch.lower(), "eo"))
                out.append(sub.upper() if ch.isupper() else sub)
            elif k < 0.75:
                pass
            elif k < 0.90:
                out.append(ch + rng.choice(STRAY))
            else:
                out.append(ch + " ")
        elif ch == " " and r < rate / 3:
            pass
        else:
            out.append(ch)
    return "".join(out)


def build(data, rate, seed, out_dir):
    rng = random.Random(seed)
    meta = {}
    with open(os.path.join(data, "meta.jsonl"), encoding="utf-8") as f:
        for line in f:
            m = json.loads(line)
            meta[m["id"]] = m
    labels = {}
    with open(os.path.join(data, "labels.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            labels[r["id"]] = r["cluster"]
    docs_path = os.path.join(out_dir, "docs.jsonl")
    labels_path = os.path.join(out_dir, "labels.jsonl")
    reprints = {}
    with open(os.path.join(data, "docs.jsonl"), encoding="utf-8") as f, \
            open(docs_path, "w", encoding="utf-8") as docs_out, \
            open(labels_path, "w", encoding="utf-8") as labels_out:
        for line in f:
            d = json.loads(line)
            docs_out.write(json.dumps(d) + "\n")
            labels_out.write(json.dumps({"id": d["id"], "cluster": labels[d["id"]]}) + "\n")
            m = meta[d["id"]]
            if m["role"] != "original" or not m["base"].startswith("protest_train:"):
                continue
            paras = d["text"].split("\n\n")
            body = paras[1:]
            if not body:
                continue
            keep = max(1, round(len(body) * rng.uniform(0.6, 1.0)))
            n = len(reprints)
            text = "\n\n".join([f"Wire story as headlined by paper {n % 11}"]
                               + [ocr(p, rate, rng) for p in body[:keep]])
            rid = f"ocr-reprint-{n:05d}"
            reprints[rid] = d["id"]
            rec = {"id": rid, "text": text, "source": f"paper-{n % 11}",
                   "published": d["published"]}
            docs_out.write(json.dumps(rec) + "\n")
            labels_out.write(json.dumps({"id": rid, "cluster": labels[d["id"]]}) + "\n")
    return docs_path, labels_path, reprints


def score(binary, docs, labels, reprints, opts, tmp):
    pred = os.path.join(tmp, "pred.jsonl")
    subprocess.run([binary, "cluster", docs, "--format", "assignments", "-o", pred, "-q", *opts],
                   check=True)
    ev = json.loads(subprocess.run([binary, "eval", "--pred", pred, "--labels", labels, "--json"],
                                   check=True, capture_output=True, text=True).stdout)
    cluster = {}
    with open(pred, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            cluster[r["id"]] = r["cluster"]
    joined = sum(1 for rid, oid in reprints.items() if cluster[rid] == cluster[oid])
    return ev, joined


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/wiredup")
    ap.add_argument("--data", default="../shared/data/syndication-dev")
    ap.add_argument("--rates", default="0,0.02,0.04,0.08")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--opts", nargs="*", default=["", "-k 2", "--shingle chars"])
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.data, "meta.jsonl")):
        sys.exit(f"ocr_noise.py: no dev set at {a.data} (meta.jsonl missing)")
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"ocr_noise.py: no wiredup binary at {a.bin} (cargo build --release)")
    print("| OCR error rate | options | reprints joined | precision | recall | F1 |")
    print("|--:|---|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for rate in [float(x) for x in a.rates.split(",")]:
            docs, labels, reprints = build(a.data, rate, a.seed, tmp)
            for opt in a.opts:
                ev, joined = score(a.bin, docs, labels, reprints, opt.split(), tmp)
                print(f"| {rate:.0%} | `{opt or 'defaults'}` | {joined}/{len(reprints)} | "
                      f"{ev['precision']:.4f} | {ev['recall']:.4f} | {ev['f1']:.4f} |")


if __name__ == "__main__":
    main()
