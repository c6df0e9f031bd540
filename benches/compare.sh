#!/usr/bin/env bash
# benches/compare.sh — wiredup against its peers (datasketch, rensa, gaoya) on
# one corpus, in the same run, scored by the same scorer.
#
# Usage:
#   bash benches/compare.sh [--docs N] [--seed S] [--runs R]
#   bash benches/compare.sh --input DOCS.jsonl --labels LABELS.jsonl [--runs R]
#
# Options:
#   --docs N         documents in the generated corpus (default 100000)
#   --seed S         generator seed (default 1)
#   --runs R         timed runs per tool (default 3); the table quotes medians
#   --input FILE     use this JSONL (id, text) instead of generating a corpus
#   --labels FILE    labels for --input: JSON lines {"id": ..., "cluster": ...}
#   --tools LIST     comma-separated subset of: wiredup-j1, wiredup-j2,
#                    wiredup-peer, datasketch, rensa, gaoya (default: all)
#   --no-build       do not run `cargo build --release`; use the wiredup
#                    binaries already in target/release
#   -h, --help       this text
#
# What it does:
#   1. builds wiredup (`cargo build --release`: bins wiredup, wiredup-gen) and
#      snapshots the binary into benches/compare/work/bin, so that a rebuild by
#      someone else during the run cannot change what is measured;
#   2. generates the corpus with `wiredup-gen --docs N --seed S` into
#      benches/compare/work/gen-N-S/ (reused when already complete), or uses
#      --input/--labels;
#   3. sets up the peers: a virtualenv benches/compare/.venv with the pinned
#      datasketch==2.0.0 and rensa==0.5.0 (reused when present), and the
#      gaoya 0.2.2 program benches/compare/gaoya-bench (its own workspace,
#      built into benches/compare/target). A peer that cannot be installed or
#      built is reported as "not run" with the reason; the others go on;
#   4. runs the tools alternately (A B C ... A B C ...) R times, each under
#      `/usr/bin/time -v`; wall time is the whole process, from start to the
#      assignments file being written;
#   5. scores every run's assignments with `wiredup eval --json` (one scorer for
#      all) and prints a Markdown table, also saved with the command, machine,
#      date and versions to benches/compare/results/latest.md.
#
# See benches/compare/README.md for what each row means and the fairness
# choices. Needs: cargo, python3 (with venv), /usr/bin/time (Debian: time).
# Exit status: 0 when every tool that could be set up ran (a peer that could
# not be installed is listed as "not run"), 1 on a setup error, 2 when a timed
# run failed (the report is still written).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CMP="$ROOT/benches/compare"
WORK="$CMP/work"
VENV="$CMP/.venv"
RESULTS="$CMP/results"
CMDLINE="bash benches/compare.sh"
for _a in "$@"; do
    if [[ "$_a" =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then CMDLINE+=" $_a"; else CMDLINE+=" $(printf '%q' "$_a")"; fi
done

DOCS=100000
SEED=1
RUNS=3
INPUT=""
LABELS=""
TOOLS="wiredup-j1,wiredup-j2,wiredup-peer,datasketch,rensa,gaoya"
BUILD=1

DATASKETCH_VERSION=2.0.0
RENSA_VERSION=0.5.0
GAOYA_VERSION=0.2.2

die() { echo "compare.sh: error: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --docs) [[ $# -ge 2 ]] || die "--docs needs a value"; DOCS="$2"; shift 2 ;;
        --seed) [[ $# -ge 2 ]] || die "--seed needs a value"; SEED="$2"; shift 2 ;;
        --runs) [[ $# -ge 2 ]] || die "--runs needs a value"; RUNS="$2"; shift 2 ;;
        --input) [[ $# -ge 2 ]] || die "--input needs a value"; INPUT="$2"; shift 2 ;;
        --labels) [[ $# -ge 2 ]] || die "--labels needs a value"; LABELS="$2"; shift 2 ;;
        --tools) [[ $# -ge 2 ]] || die "--tools needs a value"; TOOLS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

is_uint "$DOCS" && [[ "$DOCS" -gt 0 ]] || die "--docs must be a positive integer, got '$DOCS'"
is_uint "$SEED" || die "--seed must be a non-negative integer, got '$SEED'"
is_uint "$RUNS" && [[ "$RUNS" -gt 0 ]] || die "--runs must be a positive integer, got '$RUNS'"
if [[ -n "$INPUT" || -n "$LABELS" ]]; then
    [[ -n "$INPUT" && -n "$LABELS" ]] || die "--input and --labels go together"
    [[ -f "$INPUT" ]] || die "--input $INPUT: no such file"
    [[ -f "$LABELS" ]] || die "--labels $LABELS: no such file"
    [[ "$INPUT" == *.jsonl ]] || die "--input must be plain JSONL (*.jsonl): the Python and gaoya peers read it as is"
    INPUT="$(cd "$(dirname "$INPUT")" && pwd)/$(basename "$INPUT")"
    LABELS="$(cd "$(dirname "$LABELS")" && pwd)/$(basename "$LABELS")"
fi

ALL_TOOLS=(wiredup-j1 wiredup-j2 wiredup-peer datasketch rensa gaoya)
declare -A WANT=()
IFS=',' read -r -a _req <<<"$TOOLS"
for t in "${_req[@]}"; do
    ok=0
    for a in "${ALL_TOOLS[@]}"; do [[ "$t" == "$a" ]] && ok=1; done
    [[ $ok -eq 1 ]] || die "--tools: unknown tool '$t' (known: ${ALL_TOOLS[*]})"
    WANT[$t]=1
done
# wiredup -j 2 is the reference of the ratio column; always run it.
WANT[wiredup-j2]=1

[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian: apt-get install time); it measures peak RSS"
command -v python3 >/dev/null || die "python3 not found (needed for the report and the Python peers)"
command -v cargo >/dev/null || die "cargo not found"

now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }

mkdir -p "$WORK" "$RESULTS"

# --- 1. wiredup ----------------------------------------------------------
cd "$ROOT"
if [[ $BUILD -eq 1 ]]; then
    note "building wiredup (cargo build --release)"
    cargo build --release --bins >&2 ||
        die "cargo build --release failed (the crate may be mid-edit); fix it or rerun with --no-build to use target/release as it is"
fi
[[ -x "$ROOT/target/release/wiredup" ]] || die "target/release/wiredup missing: run cargo build --release"
mkdir -p "$WORK/bin"
cp -f "$ROOT/target/release/wiredup" "$WORK/bin/wiredup"
WIREDUP="$WORK/bin/wiredup"
WIREDUP_VERSION="$("$WIREDUP" --version 2>/dev/null || echo "wiredup ?")"
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null || true)" ]]; then
    GIT_REV="$GIT_REV (+ uncommitted changes in src/ or Cargo.*)"
fi

# --- 2. corpus -----------------------------------------------------------
if [[ -n "$INPUT" ]]; then
    DOCS_FILE="$INPUT"
    LABELS_FILE="$LABELS"
    CORPUS_DESC="given: $INPUT"
    TAG="input-$(basename "$(dirname "$INPUT")")-$(basename "$INPUT" .jsonl)"
else
    GEN_DIR="$WORK/gen-$DOCS-$SEED"
    DOCS_FILE="$GEN_DIR/docs.jsonl"
    LABELS_FILE="$GEN_DIR/labels.jsonl"
    GEN="$ROOT/target/release/wiredup-gen"
    [[ -x "$GEN" ]] || die "$GEN missing: build it (cargo build --release) or use --input DOCS.jsonl --labels LABELS.jsonl"
    # The corpus is reused only when the same wiredup-gen binary wrote it.
    GEN_SUM="$(cksum <"$GEN")"
    if [[ -f "$GEN_DIR/.complete" && -f "$DOCS_FILE" && -f "$LABELS_FILE" &&
          "$(cat "$GEN_DIR/.complete")" == "$GEN_SUM" ]]; then
        note "reusing corpus $GEN_DIR"
    else
        note "generating corpus: wiredup-gen --docs $DOCS --seed $SEED"
        rm -rf "$GEN_DIR"
        "$GEN" --docs "$DOCS" --seed "$SEED" --out "$GEN_DIR" >&2 || die "wiredup-gen failed"
        [[ -f "$DOCS_FILE" && -f "$LABELS_FILE" ]] || die "wiredup-gen did not write $DOCS_FILE and $LABELS_FILE"
        echo "$GEN_SUM" >"$GEN_DIR/.complete"
    fi
    CORPUS_DESC="wiredup-gen --docs $DOCS --seed $SEED (benches/compare/work/gen-$DOCS-$SEED/)"
    TAG="gen-$DOCS-$SEED"
fi
N_DOCS="$(grep -c . "$DOCS_FILE" || true)"
N_BYTES="$(stat -c %s "$DOCS_FILE")"
[[ "$N_DOCS" -gt 0 ]] || die "$DOCS_FILE has no documents"

# --- 3. peers ------------------------------------------------------------
declare -A SKIP=()   # tool -> reason it is not run
PY="$VENV/bin/python"

peer_versions() { "$PY" "$CMP/peers.py" versions 2>/dev/null || echo '{}'; }
pkg_version() { # NAME -> installed version in the venv, or empty
    "$PY" -c "import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except Exception: pass" "$1" 2>/dev/null || true
}

if [[ -n "${WANT[datasketch]:-}" || -n "${WANT[rensa]:-}" ]]; then
    if [[ ! -x "$PY" ]] || ! "$PY" -c 'import sys' 2>/dev/null; then
        note "creating virtualenv $VENV"
        rm -rf "$VENV"
        if ! python3 -m venv "$VENV" >&2; then
            rm -rf "$VENV"
            for t in datasketch rensa; do SKIP[$t]="python3 -m venv failed (Debian: apt-get install python3-venv)"; done
        fi
    fi
    if [[ -x "$PY" ]]; then
        for spec in "datasketch==$DATASKETCH_VERSION" "rensa==$RENSA_VERSION"; do
            name="${spec%%==*}"
            [[ -n "${WANT[$name]:-}" ]] || continue
            if [[ "$(pkg_version "$name")" != "${spec##*==}" ]]; then
                note "pip install $spec into $VENV"
                if ! "$PY" -m pip install --disable-pip-version-check -q "$spec" >&2; then
                    SKIP[$name]="pip install $spec failed (see the script's standard error)"
                fi
            fi
            if [[ -z "${SKIP[$name]:-}" ]] && ! "$PY" -c "import $name" 2>/dev/null; then
                SKIP[$name]="$spec installed but does not import"
            fi
        done
    fi
fi

GAOYA_BIN="$CMP/target/release/gaoya-bench"
if [[ -n "${WANT[gaoya]:-}" ]]; then
    note "building gaoya-bench (gaoya =$GAOYA_VERSION)"
    if ! cargo build --release --manifest-path "$CMP/gaoya-bench/Cargo.toml" \
            --target-dir "$CMP/target" >&2; then
        SKIP[gaoya]="cargo build of benches/compare/gaoya-bench (gaoya =$GAOYA_VERSION) failed (see the script's standard error)"
    elif [[ ! -x "$GAOYA_BIN" ]]; then
        SKIP[gaoya]="gaoya-bench binary missing after the build"
    fi
fi

for t in "${!SKIP[@]}"; do note "NOT RUN: $t: ${SKIP[$t]}"; done

# --- 4. timed runs -------------------------------------------------------
declare -A NAME=(
    [wiredup-j1]="wiredup -j 1"
    [wiredup-j2]="wiredup -j 2"
    [wiredup-peer]="wiredup (peer params) -j 2"
    [datasketch]="datasketch $DATASKETCH_VERSION"
    [rensa]="rensa $RENSA_VERSION"
    [gaoya]="gaoya $GAOYA_VERSION"
)
declare -A THREADS=(
    [wiredup-j1]=1 [wiredup-j2]=2 [wiredup-peer]=2 [datasketch]=1 [rensa]=2 [gaoya]=2
)

set_cmd() { # TOOL OUT -> CMD: the command line that is timed
    local out="$2"
    case "$1" in
        wiredup-j1) CMD=("$WIREDUP" cluster "$DOCS_FILE" --format assignments -o "$out" -j 1) ;;
        wiredup-j2) CMD=("$WIREDUP" cluster "$DOCS_FILE" --format assignments -o "$out" -j 2) ;;
        wiredup-peer) CMD=("$WIREDUP" cluster "$DOCS_FILE" --format assignments -o "$out" -j 2
                           -k 5 --bands 16 --rows 8) ;;
        datasketch) CMD=("$PY" "$CMP/peers.py" datasketch "$DOCS_FILE" "$out") ;;
        rensa) CMD=(env RAYON_NUM_THREADS=2 "$PY" "$CMP/peers.py" rensa "$DOCS_FILE" "$out") ;;
        gaoya) CMD=(env RAYON_NUM_THREADS=2 "$GAOYA_BIN" "$DOCS_FILE" "$out") ;;
    esac
}

ACTIVE=()
for t in "${ALL_TOOLS[@]}"; do
    [[ -n "${WANT[$t]:-}" && -z "${SKIP[$t]:-}" ]] && ACTIVE+=("$t")
done

OUTDIR="$WORK/runs-$TAG"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"
RUNS_TSV="$OUTDIR/runs.tsv"
printf 'tool\trun\twall_s\tmax_rss_kb\tcpu_s\texit\tpred\tlog\n' >"$RUNS_TSV"

cat "$DOCS_FILE" >/dev/null   # warm the page cache once, for every tool alike
cpu_busy() { # percent of all CPUs busy over 2 s, from /proc/stat (before our runs: other processes)
    local a b
    a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
    awk -v u1="${a[1]}" -v n1="${a[2]}" -v s1="${a[3]}" -v i1="${a[4]}" -v w1="${a[5]}" \
        -v u2="${b[1]}" -v n2="${b[2]}" -v s2="${b[3]}" -v i2="${b[4]}" -v w2="${b[5]}" \
        'BEGIN { busy = (u2 - u1) + (n2 - n1) + (s2 - s1); idle = (i2 - i1) + (w2 - w1);
                 printf "%.0f", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0 }'
}
BUSY_START="$(cpu_busy)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$BUSY_START" -ge 10 ]]; then
    note "warning: the CPUs are ${BUSY_START}% busy with other processes before the runs: the times will be noisy"
fi
note "corpus: $N_DOCS documents, $N_BYTES bytes; tools: ${ACTIVE[*]}; $RUNS run(s) each, alternating"
declare -A FAILED=()
for ((r = 1; r <= RUNS; r++)); do
    for t in "${ACTIVE[@]}"; do
        [[ -z "${FAILED[$t]:-}" ]] || continue
        out="$OUTDIR/$t-r$r.jsonl"
        log="$OUTDIR/$t-r$r.log"
        tf="$OUTDIR/$t-r$r.time"
        t0="$(now)"
        rc=0
        set_cmd "$t" "$out"
        /usr/bin/time -v -o "$tf" "${CMD[@]}" >"$log" 2>&1 || rc=$?
        t1="$(now)"
        wall="$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.4f}")' "$t0" "$t1")"
        rss="$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tf" 2>/dev/null | tail -1)"
        cpu="$(awk -F': ' '/^[[:space:]]*(User|System) time \(seconds\)/ {s += $2} END {printf "%.2f", s}' "$tf" 2>/dev/null || true)"
        if [[ $rc -ne 0 || ! -s "$out" ]]; then
            FAILED[$t]=1
            note "run $r: ${NAME[$t]} FAILED (exit $rc); log: $log"
            tail -5 "$log" >&2 || true
        else
            note "run $r: ${NAME[$t]}: ${wall}s wall, ${cpu:-?}s CPU, max RSS ${rss:-?} kB"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$r" "$wall" "${rss:-}" "${cpu:-}" "$rc" "$out" "$log" >>"$RUNS_TSV"
    done
done

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
BUSY_END="$(cpu_busy)"

# --- 5. scoring and report -----------------------------------------------
for t in "${ACTIVE[@]}"; do
    for ((r = 1; r <= RUNS; r++)); do
        out="$OUTDIR/$t-r$r.jsonl"
        [[ -s "$out" ]] || continue
        "$WIREDUP" eval --pred "$out" --labels "$LABELS_FILE" --json >"$OUTDIR/$t-r$r.eval.json" 2>"$OUTDIR/$t-r$r.eval.err" ||
            note "wiredup eval failed on $out: $(head -3 "$OUTDIR/$t-r$r.eval.err")"
    done
done

META="$OUTDIR/meta.tsv"
{
    printf 'command\t%s\n' "$CMDLINE"
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu\t%s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    printf 'memory\t%s\n' "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    printf 'load\t%s at the start of the runs, %s at the end\n' "$LOAD_START" "$LOAD_END"
    printf 'busy\t%s%% just before the runs, %s%% just after them\n' "$BUSY_START" "$BUSY_END"
    printf 'corpus\t%s\n' "$CORPUS_DESC"
    printf 'docs\t%s\n' "$N_DOCS"
    printf 'bytes\t%s\n' "$N_BYTES"
    printf 'runs\t%s\n' "$RUNS"
    printf 'order\t%s\n' "${ACTIVE[*]}"
    printf 'v_wiredup\t%s (git %s)\n' "$WIREDUP_VERSION" "$GIT_REV"
    printf 'v_rustc\t%s\n' "$(rustc --version 2>/dev/null || echo '?')"
    if [[ -x "$PY" ]]; then printf 'v_python\t%s\n' "$(peer_versions)"; fi
    printf 'v_gaoya\t%s\n' "$(awk '/^name = "gaoya"$/ {getline; print $3}' "$CMP/gaoya-bench/Cargo.lock" 2>/dev/null | tr -d '"')"
    for t in "${ALL_TOOLS[@]}"; do
        printf 'name_%s\t%s\n' "$t" "${NAME[$t]}"
        printf 'threads_%s\t%s\n' "$t" "${THREADS[$t]}"
        set_cmd "$t" OUT.jsonl
        printf 'cmd_%s\t%s\n' "$t" "${CMD[*]//"$ROOT"\//}"
        if [[ -n "${SKIP[$t]:-}" ]]; then printf 'skip_%s\t%s\n' "$t" "${SKIP[$t]}"; fi
        if [[ -z "${WANT[$t]:-}" ]]; then printf 'skip_%s\tnot asked for (--tools)\n' "$t"; fi
    done
} >"$META"

python3 "$CMP/report.py" "$OUTDIR" "$RESULTS/latest.md"
note "saved benches/compare/results/latest.md (raw runs in ${OUTDIR#"$ROOT"/})"
if [[ ${#FAILED[@]} -gt 0 ]]; then
    note "error: some runs failed: ${!FAILED[*]} (see the logs named above)"
    exit 2
fi
