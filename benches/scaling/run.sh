#!/usr/bin/env bash
# Thread-scaling run: wiredup on generated corpora with 1..N threads, wall time and peak RSS.
# Usage: bash benches/scaling/run.sh BIN_DIR OUT_DIR [SIZES] [THREADS]
#   BIN_DIR holds release builds of wiredup and wiredup-gen (cargo build --release).
#   CPUS=0,1 in the environment pins every run to those cores (taskset).
#   SPILL=DIR runs out of core (`--spill-dir DIR`).
set -euo pipefail
bin=${1:?BIN_DIR}; out=${2:?OUT_DIR}
sizes=${3:-"100000 1000000"}; threads=${4:-"1 2 4 8 16"}
mkdir -p "$out"
{
  echo "# wiredup thread scaling"
  echo "- date: $(date -u +%FT%TZ); nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); pinned to cores: ${CPUS:-none}; out of core: ${SPILL:-no}"
  echo
  echo "| docs | MB | threads | wall s | docs/s | MB/s | peak RSS MiB | F1 | ARI |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
} > "$out/scaling.md"
for n in $sizes; do
  d=/tmp/wiredup-scale-$n
  [ -f "$d/docs.jsonl" ] || "$bin/wiredup-gen" --docs "$n" --seed 1 --out "$d" 2>&1 | tail -1
  mb=$(( $(stat -c %s "$d/docs.jsonl") / 1000000 ))
  for t in $threads; do
    pin=(); [ -n "${CPUS:-}" ] && pin=(taskset -c "$CPUS")
    spill=(); [ -n "${SPILL:-}" ] && spill=(--spill-dir "$SPILL")
    /usr/bin/time -f "%e %M" -o "$d/time" "${pin[@]}" "$bin/wiredup" cluster -q -j "$t" "${spill[@]}" "$d/docs.jsonl" --format assignments -o "$d/pred.jsonl"
    read -r wall rss < "$d/time"
    sc=$("$bin/wiredup" eval --json --pred "$d/pred.jsonl" --labels "$d/labels.jsonl")
    f1="$(printf '%s' "$sc" | sed -E 's/.*"f1":([0-9.]+).*/\1/' | cut -c1-6) $(printf '%s' "$sc" | sed -E 's/.*"ari":([0-9.]+).*/\1/' | cut -c1-6)"
    awk -v n="$n" -v mb="$mb" -v t="$t" -v w="$wall" -v r="$rss" -v f="$f1" 'BEGIN { split(f, q, " "); printf "| %d | %d | %d | %.2f | %.0f | %.0f | %.0f | %s | %s |\n", n, mb, t, w, n / w, mb / w, r / 1024, q[1], q[2] }' >> "$out/scaling.md"
  done
done
cat "$out/scaling.md"
