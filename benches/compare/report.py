#!/usr/bin/env python3
"""Markdown report for benches/compare.sh (standard library only).

Usage: python3 report.py RUN_DIR OUT.md

RUN_DIR holds meta.tsv (key<TAB>value), runs.tsv (one line per timed run) and
TOOL-rN.eval.json (`wiredup eval --json` of each run's assignments). Prints the
report on stdout and writes it to OUT.md.
"""

import csv
import json
import os
import statistics
import sys

TOOLS = ["wiredup-j1", "wiredup-j2", "wiredup-peer", "datasketch", "rensa", "gaoya"]
REF = "wiredup-j2"
METRICS = ["precision", "recall", "f1", "ari"]


def read_meta(path):
    meta = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                k, v = line.split("\t", 1)
                meta[k] = v
    return meta


def read_runs(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def fmt_int(x):
    return f"{x:,.0f}"


def main(run_dir, out_path):
    meta = read_meta(os.path.join(run_dir, "meta.tsv"))
    runs = read_runs(os.path.join(run_dir, "runs.tsv"))
    n_docs = int(meta["docs"])
    n_bytes = int(meta["bytes"])

    rows = {}
    for t in TOOLS:
        mine = [r for r in runs if r["tool"] == t]
        if not mine:
            continue
        ok = [r for r in mine if r["exit"] == "0" and os.path.exists(r["pred"])]
        failed = [r for r in mine if r not in ok]
        walls = [float(r["wall_s"]) for r in ok]
        rss = [int(r["max_rss_kb"]) for r in ok if r["max_rss_kb"]]
        cpus = [float(r["cpu_s"]) for r in ok if r.get("cpu_s")]
        evals = []
        for r in ok:
            p = os.path.join(run_dir, f"{t}-r{r['run']}.eval.json")
            if os.path.exists(p) and os.path.getsize(p) > 0:
                with open(p, encoding="utf-8") as f:
                    evals.append(json.load(f))
        rows[t] = {
            "walls": walls,
            "median": statistics.median(walls) if walls else None,
            "rss_mib": max(rss) / 1024 if rss else None,
            "cpus": cpus,
            "cpu_median": statistics.median(cpus) if cpus else None,
            "eval": evals[0] if evals else None,
            "eval_varies": any(
                any(abs(e[m] - evals[0][m]) > 1e-12 for m in METRICS) for e in evals[1:]
            ),
            "failed": failed,
        }

    ref = rows.get(REF, {}).get("median")
    lines = []
    w = lines.append
    w(f"# wiredup vs peers: {meta.get('corpus', '?')}")
    w("")
    w(f"- Command: `{meta.get('command', '?')}`")
    w(f"- Date: {meta.get('date', '?')}")
    w(f"- Machine: nproc {meta.get('nproc', '?')}, CPU {meta.get('cpu', '?')}, "
      f"memory {meta.get('memory', '?')}")
    w(f"- Other load: CPUs busy (2 s sample, all cores) {meta.get('busy', '?')}; "
      f"load average (1, 5, 15 min) {meta.get('load', '?')}")
    w(f"- Corpus: {fmt_int(n_docs)} documents, {n_bytes / 1e6:.1f} MB of JSONL input")
    w(f"- Runs: {meta.get('runs', '?')} per tool, alternating in the order "
      f"{' '.join(meta.get('order', '').split())} (repeated); times are medians")
    versions = [meta.get("v_wiredup", "?")]
    try:
        py = json.loads(meta.get("v_python", "{}"))
    except json.JSONDecodeError:
        py = {}
    if py:
        versions.append(f"Python {py.get('python', '?')}")
        for k in ("datasketch", "rensa", "numpy"):
            if py.get(k):
                versions.append(f"{k} {py[k]}")
    if meta.get("v_gaoya"):
        versions.append(f"gaoya {meta['v_gaoya']}")
    versions.append(meta.get("v_rustc", "rustc ?"))
    w(f"- Versions: {', '.join(versions)}")
    w("")
    w("| Tool | Threads | Wall (s, median) | Docs/s | MB/s | Peak RSS (MiB) "
      "| CPU (s, median) | Precision | Recall | F1 | ARI | Time vs wiredup -j 2 |")
    w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    notes = []
    for t in TOOLS:
        if t not in rows:
            continue
        row = rows[t]
        name = meta.get(f"name_{t}", t)
        threads = meta.get(f"threads_{t}", "?")
        med = row["median"]
        if med is None:
            w(f"| {name} | {threads} | failed | | | | | | | | | |")
            notes.append(f"{name}: failed; see {row['failed'][0]['log']}.")
            continue
        ev = row["eval"]
        q = [f"{ev[m]:.4f}" for m in METRICS] if ev else ["n/a"] * 4
        ratio = f"{med / ref:.2f}x" if ref else "n/a"
        rss = f"{row['rss_mib']:.0f}" if row["rss_mib"] is not None else "?"
        prec = 3 if med < 1 else 2
        cpu = f"{row['cpu_median']:.2f}" if row["cpu_median"] is not None else "?"
        w(f"| {name} | {threads} | {med:.{prec}f} | {fmt_int(n_docs / med)} | "
          f"{n_bytes / 1e6 / med:.1f} | {rss} | {cpu} | {' | '.join(q)} | {ratio} |")
        if row["eval_varies"]:
            notes.append(f"{name}: the scores differ between runs; the table shows run 1.")
        if row["failed"]:
            notes.append(f"{name}: {len(row['failed'])} run(s) failed; see "
                         f"{row['failed'][0]['log']}.")
        if ev is None:
            notes.append(f"{name}: `wiredup eval` could not score the output.")

    skipped = [(t, meta[f"skip_{t}"]) for t in TOOLS if f"skip_{t}" in meta]
    if skipped:
        w("")
        w("Not run:")
        for t, why in skipped:
            w(f"- {meta.get(f'name_{t}', t)}: {why}")
    if notes:
        w("")
        w("Notes:")
        for n in notes:
            w(f"- {n}")

    w("")
    w("Wall time is the whole process (start-up, reading, normalizing, MinHash, "
      "LSH, clustering, writing one assignment per document), measured outside "
      "the process; MB/s is the JSONL input size (10^6 bytes) over that time; "
      "peak RSS is `/usr/bin/time -v`'s maximum resident set size, the largest "
      "over the runs; CPU is user + system time (CPU > wall means more than one "
      "core was busy). Precision, recall, F1 (pairwise) and ARI are from "
      "`wiredup eval --json` against the corpus labels, for every tool. "
      "The peers use word 5-grams, 128 permutations, 16 bands x 8 rows and keep "
      "LSH candidates whose estimated Jaccard from the signatures is >= 0.5, "
      "then connected components; see benches/compare/README.md.")
    w("")
    w("Commands (OUT.jsonl is the assignments file):")
    w("")
    for t in TOOLS:
        if t in rows and f"cmd_{t}" in meta:
            w(f"- {meta.get(f'name_{t}', t)}: `{meta[f'cmd_{t}']}`")
    w("")
    w("Per-run wall times in run order, s (CPU s):")
    w("")
    for t in TOOLS:
        if t in rows:
            cpus = rows[t]["cpus"]
            ws = ", ".join(
                f"{x:.3f} ({cpus[i]:.2f})" if i < len(cpus) else f"{x:.3f}"
                for i, x in enumerate(rows[t]["walls"])) or "none"
            w(f"- {meta.get(f'name_{t}', t)}: {ws}")

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
