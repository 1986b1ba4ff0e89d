#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind (repeatable where wall-clock
# figures on this shared machine are not; perf's hardware counters are not available here).
#
#   bench/callgrind.sh [N]     N keep-alive requests per app (default 2000)
#
# For raw-hello /plaintext, hello /plaintext and articles /api/success/ (all 8 middleware):
# portico --threads 1 runs under callgrind twice,
#   measured: 1 warm-up request, then N requests on one keep-alive connection, then SIGTERM;
#   baseline: 1 warm-up request, then idle for as long as the measured run's N requests took,
#             then SIGTERM (this removes start-up, shutdown and timer work done while idle).
# (measured - baseline) / N is the cost of one request, server and app together (the master's
# and the worker's instructions: callgrind follows the fork and writes a file for each). The top
# functions of the measured run (callgrind_annotate, self cost) go into the report,
# bench/out/callgrind-<timestamp>.md, which is also printed. Run it with --no-build to skip cargo.
# PORTICO_ARGS adds flags to every run (PORTICO_ARGS="--metrics-bind 127.0.0.1:0" prices metrics).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
PORTICO="$ROOT/target/release/portico"
REQUESTS=2000
BUILD=1
for arg in "$@"; do
    case "$arg" in
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *)
            [[ "$arg" =~ ^[1-9][0-9]*$ ]] || { echo "callgrind.sh: '$arg' is not a request count" >&2; exit 1; }
            REQUESTS="$arg"
            ;;
    esac
done
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is missing: run bench/setup.sh" >&2; exit 1; }

if [ "$BUILD" -eq 1 ]; then
    (cd "$ROOT" && cargo build --release -p server -p raw-hello -p hello -p articles)
fi

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT_DIR="$BENCH_DIR/out"
WORK="$OUT_DIR/callgrind-$STAMP.work"
OUT="$OUT_DIR/callgrind-$STAMP.md"
mkdir -p "$WORK"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # Under valgrind the drain and the final dump take a few seconds.
        for _ in $(seq 1 600); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"

# Waits for the port to be listening without sending it anything, so no probe is counted.
wait_listening() {
    local port="$1"
    for _ in $(seq 1 1200); do
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        if ss -Hltn "sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Total instructions (Ir) of callgrind output files (a run writes one per process: portico's
# master and its worker), from their `summary:` (or `totals:`) lines.
total_ir() {
    local sum=0 f ir
    for f in "$@"; do
        ir="$(awk '/^(summary|totals):/ { print $2; exit }' "$f")"
        sum=$((sum + ${ir:-0}))
    done
    echo "$sum"
}

# The largest output file of a run: the worker's, which served the requests.
worker_out() {
    ls -S "$WORK/$1-$2".*.out 2>/dev/null | head -n 1
}

# The cases: app, path, the body every answer must have.
CASES=(
    "raw-hello|/plaintext|Hello, World!"
    "hello|/plaintext|Hello, World!"
    'articles|/api/success/|{"message": "Success", "data": [1, 2, 3]}'
)

# profile APP PATH BODY LABEL COUNT IDLE_SECS: one run under callgrind; prints the elapsed
# seconds of the COUNT requests (0 when COUNT is 0, after idling IDLE_SECS).
profile() {
    local app="$1" path="$2" body="$3" label="$4" count="$5" idle="$6" port lib settings=() elapsed
    lib="$ROOT/target/release/lib${app//-/_}.so"
    [ -f "$lib" ] || { echo "callgrind.sh: $lib is missing" >&2; return 1; }
    if [ -f "$ROOT/sample-apps/$app/settings.toml" ]; then
        # A copy in the work directory: an app's database goes beside its settings file.
        mkdir -p "$WORK/$app-$label"
        cp "$ROOT/sample-apps/$app/settings.toml" "$WORK/$app-$label/settings.toml"
        settings=(--settings "$WORK/$app-$label/settings.toml")
    fi
    port="$(free_port)"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/$app-$label.%p.out" \
        "$PORTICO" --bind "127.0.0.1:$port" --threads 1 --log-level warn "${settings[@]}" ${PORTICO_ARGS:-} "$lib" \
        >"$WORK/$app-$label.log" 2>&1 &
    SERVER_PID=$!
    wait_listening "$port" || { echo "callgrind.sh: portico + $app did not start: $(tail -n 3 "$WORK/$app-$label.log")" >&2; return 1; }
    python3 "$BENCH_DIR/lib/keepalive_client.py" 127.0.0.1 "$port" "$path" 1 "$body" >/dev/null
    if [ "$count" -gt 0 ]; then
        elapsed="$(python3 "$BENCH_DIR/lib/keepalive_client.py" 127.0.0.1 "$port" "$path" "$count" "$body")"
    else
        sleep "$idle"
        elapsed=0
    fi
    stop_server
    echo "$elapsed"
}

{
    echo "# Portico instructions per request (callgrind), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- command: \`${PORTICO_ARGS:+PORTICO_ARGS=\"$PORTICO_ARGS\" }bench/callgrind.sh $*\`; $REQUESTS keep-alive GETs on one connection, \`portico --threads 1\`"
    echo "- per request = (Ir of the measured run - Ir of a baseline run idle for as long) / $REQUESTS"
    echo "- git: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown); $(valgrind --version)"
    echo
    echo "| app | path | Ir measured | Ir baseline | Ir per request |"
    echo "|---|---|---:|---:|---:|"
} >"$OUT"

for case in "${CASES[@]}"; do
    IFS='|' read -r app path body <<<"$case"
    echo "callgrind.sh: $app: $REQUESTS requests under callgrind" >&2
    if ! elapsed="$(profile "$app" "$path" "$body" measured "$REQUESTS" 0)"; then
        echo "| $app | $path | failed | | |" >>"$OUT"
        continue
    fi
    echo "callgrind.sh: $app: baseline, idle ${elapsed} s" >&2
    profile "$app" "$path" "$body" baseline 0 "$elapsed" >/dev/null || { echo "| $app | $path | | baseline failed | |" >>"$OUT"; continue; }
    measured="$(total_ir "$WORK/$app-measured".*.out)"
    baseline="$(total_ir "$WORK/$app-baseline".*.out)"
    per="$(( (measured - baseline) / REQUESTS ))"
    echo "| $app | $path | $measured | $baseline | $per |" >>"$OUT"
done

for app in raw-hello hello articles; do
    worker="$(worker_out "$app" measured)"
    [ -n "$worker" ] || continue
    {
        echo
        echo "## Top functions, portico + $app, measured run's worker (self cost, start-up included)"
        echo
        echo '```'
        # Through a file: with pipefail, head closing the pipe early would fail the script.
        callgrind_annotate "$worker" >"$WORK/$app-annotate.txt" 2>&1 || true
        # The function table only (callgrind_annotate's preamble repeats the command line).
        awk '/PROGRAM TOTALS/ { print; next } /file:function/ { on = 1 } on && n < 40 { print; n++ }' \
            "$WORK/$app-annotate.txt"
        echo '```'
        echo
        echo "Inclusive cost (a function with all it calls), top 25:"
        echo
        echo '```'
        callgrind_annotate --inclusive=yes "$worker" >"$WORK/$app-inclusive.txt" 2>&1 || true
        awk '/file:function/ { on = 1 } on && n < 27 { print; n++ }' "$WORK/$app-inclusive.txt"
        echo '```'
    } >>"$OUT"
done

cat "$OUT"
echo
echo "written: $OUT (callgrind files: $WORK)"
