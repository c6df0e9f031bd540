#!/usr/bin/env bash
# Alternating A/B timing of wiredup and gaoya-bench on the same generated corpus, pinned to
# the same cores, for machines without the Python peers (e.g. an isolated benchmark box).
# Usage: bash benches/ab.sh BIN_DIR GAOYA_BIN [DOCS] [RUNS] [CPUS]
#   BIN_DIR: release builds of wiredup and wiredup-gen; GAOYA_BIN: benches/compare's gaoya-bench.
set -euo pipefail
bin=${1:?BIN_DIR}; gaoya=${2:?GAOYA_BIN}; docs=${3:-100000}; runs=${4:-5}; cpus=${5:-0,1}
d=/tmp/wiredup-ab-$docs
[ -f "$d/docs.jsonl" ] || "$bin/wiredup-gen" --docs "$docs" --seed 1 --out "$d" >/dev/null 2>&1
mb=$(( $(stat -c %s "$d/docs.jsonl") / 1000000 ))
echo "corpus: $docs docs, $mb MB; cores: taskset -c $cpus; $(nproc) cores on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); runs: $runs alternating"
: > "$d/w.times"; : > "$d/g.times"
for r in $(seq "$runs"); do
  /usr/bin/time -f "%e %U %S %M" -a -o "$d/w.times" taskset -c "$cpus" "$bin/wiredup" cluster -q -j 2 "$d/docs.jsonl" --format assignments -o "$d/w.jsonl"
  /usr/bin/time -f "%e %U %S %M" -a -o "$d/g.times" taskset -c "$cpus" env RAYON_NUM_THREADS=2 "$gaoya" "$d/docs.jsonl" "$d/g.jsonl" 2>/dev/null
done
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for t in w g; do
  name=$([ $t = w ] && echo "wiredup -j 2" || echo "gaoya 0.2.2 (2 threads)")
  wall=$(cut -d' ' -f1 "$d/$t.times" | med); cpu=$(awk '{ print $2 + $3 }' "$d/$t.times" | med); rss=$(cut -d' ' -f4 "$d/$t.times" | sort -n | tail -1)
  f1=$("$bin/wiredup" eval --json --pred "$d/$t.jsonl" --labels "$d/labels.jsonl" | sed -E 's/.*"f1":([0-9.]+).*"ari":([0-9.]+).*/F1 \1 ARI \2/')
  echo "$name: wall median ${wall}s (runs: $(cut -d' ' -f1 "$d/$t.times" | tr '\n' ' ')) cpu ${cpu}s peak RSS $((rss / 1024)) MiB; $f1"
done
w=$(cut -d' ' -f1 "$d/w.times" | med); g=$(cut -d' ' -f1 "$d/g.times" | med)
awk -v w="$w" -v g="$g" 'BEGIN { printf "gaoya / wiredup wall-time ratio: %.2fx\n", g / w }'
