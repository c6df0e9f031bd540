#!/usr/bin/env bash
# Feed index benchmark: build, size, open, single-document query latency and stream throughput
# of `wiredup index` / `wiredup stream` on a generated corpus.
#
# Usage: bash benches/index_bench.sh BIN_DIR OUT_DIR [N] [STREAM] [QUERIES]
#   BIN_DIR  holds release builds of wiredup and wiredup-gen (cargo build --release)
#   N        documents in the index (default 100000)
#   STREAM   further documents streamed into a copy of it (default 10000)
#   QUERIES  documents queried one at a time for the latency percentiles (default 2000)
#
# wiredup-gen writes N + STREAM documents (seed 1); the first N build the index, the last STREAM
# are streamed (so copies whose original is in the index are found), and QUERIES documents of
# the streamed part are queried. Prints a markdown table and writes it to OUT_DIR/index_bench.md.
set -euo pipefail
bin=${1:?BIN_DIR}; out=${2:?OUT_DIR}
n=${3:-100000}; m=${4:-10000}; q=${5:-2000}
mkdir -p "$out"
d="$out/gen-$((n + m))"
[ -f "$d/docs.jsonl" ] || "$bin/wiredup-gen" --docs $((n + m)) --seed 1 --out "$d" 2>&1 | tail -1
head -n "$n" "$d/docs.jsonl" > "$out/index.jsonl"
tail -n "$m" "$d/docs.jsonl" > "$out/stream.jsonl"
head -n "$q" "$out/stream.jsonl" > "$out/query.jsonl"
idx="$out/bench.wdx"
rm -f "$idx" "$out/stream.wdx"

# Build (wall time and peak RSS of the whole command: read + cluster + index + save).
/usr/bin/time -f "%e %M" -o "$out/build.time" "$bin/wiredup" index build -q "$out/index.jsonl" -o "$idx"
read -r build_s build_kb < "$out/build.time"
size=$(stat -c %s "$idx")
input=$(stat -c %s "$out/index.jsonl")

# Open: best of 3 (the index is in the page cache after the first).
open_s=999
for _ in 1 2 3; do
  t=$("$bin/wiredup" index stats "$idx" | sed -nE 's/.*opened in ([0-9.]+)s.*/\1/p')
  open_s=$(awk -v a="$open_s" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
done

# Query latency: one document at a time in one process (normalization included, open excluded).
/usr/bin/time -f "%e %M" -o "$out/query.time" "$bin/wiredup" index query "$idx" "$out/query.jsonl" --latency -o "$out/query.out" 2> "$out/query.err"
read -r _ query_kb < "$out/query.time"
lat=$(grep -m1 'latency' "$out/query.err")
p50=$(sed -nE 's/.*p50 ([0-9.]+) ms.*/\1/p' <<< "$lat")
p99=$(sed -nE 's/.*p99 ([0-9.]+) ms.*/\1/p' <<< "$lat")
qps=$(grep -m1 'queried' "$out/query.err" | sed -nE 's/.*\(([0-9]+) documents\/s\).*/\1/p')

# Stream: into a copy, saved once at the end.
cp "$idx" "$out/stream.wdx"
/usr/bin/time -f "%e %M" -o "$out/stream.time" "$bin/wiredup" stream --index "$out/stream.wdx" --checkpoint-every 0 < "$out/stream.jsonl" > "$out/stream.out" 2> "$out/stream.err"
read -r stream_s stream_kb < "$out/stream.time"
stream_line=$(grep -m1 'streaming' "$out/stream.err")
stream_rate=$(sed -nE 's/.*streaming [0-9.]+s \(([0-9]+) documents\/s\).*/\1/p' <<< "$stream_line")
stream_save=$(sed -nE 's/.* saves ([0-9.]+)s.*/\1/p' <<< "$stream_line")
dups=$(grep -c '"dup_of"' "$out/stream.out" || true)

{
  echo "# wiredup feed index benchmark"
  echo "- date: $(date -u +%FT%TZ); nproc: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- corpus: wiredup-gen --seed 1, $n documents indexed ($((input / 1000000)) MB of JSONL), $m streamed, $q queried"
  echo
  echo "| measure | value |"
  echo "|---|--:|"
  awk -v s="$build_s" -v n="$n" 'BEGIN { printf "| build (read, cluster, index, save) | %.1f s (%.0f documents/s) |\n", s, n / s }'
  awk -v k="$build_kb" 'BEGIN { printf "| build peak RSS | %.0f MiB |\n", k / 1024 }'
  awk -v b="$size" -v n="$n" -v i="$input" 'BEGIN { printf "| index size on disk | %.0f MiB, %.0f bytes per document (%.2f x the JSONL) |\n", b / 1048576, b / n, b / i }'
  echo "| open (read, verify checksum, rebuild postings) | $open_s s |"
  echo "| query latency, one document (normalize + candidates + verify) | p50 $p50 ms, p99 $p99 ms |"
  echo "| query peak RSS (index open) | $((query_kb / 1024)) MiB |"
  echo "| stream throughput (excluding open and final save) | $stream_rate documents/s ($dups of $m annotated as copies) |"
  echo "| stream: whole command, final save | $stream_s s, save $stream_save s |"
  echo "| stream peak RSS | $((stream_kb / 1024)) MiB |"
} | tee "$out/index_bench.md"
