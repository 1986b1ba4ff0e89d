#!/usr/bin/env bash
# What --metrics-bind costs on the request path, by the server's CPU time per request.
#
#   bench/metrics_cost.sh [ROUNDS] [SECONDS]     (default 5 rounds of 5 s each way)
#
# portico --threads 1 + raw-hello /plaintext, pinned to CPU 0, loaded by wrk -t1 -c64 pinned
# to CPU 1 (as bench/run.sh's scenario a), started fresh for each run, without and with
# --metrics-bind in alternation, so that both see the same machine. CPU per request = the
# server's user + system time (master and worker, every thread) over the requests wrk counted.
# Prints each run and the medians; needs the release build (cargo build --release -p server
# -p raw-hello).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
PORTICO="$ROOT/target/release/portico"
LIB="$ROOT/target/release/libraw_hello.so"
ROUNDS="${1:-5}"
SECONDS_EACH="${2:-5}"
[ -x "$PORTICO" ] && [ -f "$LIB" ] || { echo "metrics_cost.sh: build the release first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "metrics_cost.sh: wrk is missing: run bench/setup.sh" >&2; exit 1; }

# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"

# run LABEL EXTRA...: one run; prints "LABEL requests cpu_us_per_request".
run() {
    local label="$1" port pid before after requests
    shift
    port="$(free_port)"
    taskset -c 0 "$PORTICO" --bind "127.0.0.1:$port" --threads 1 --log-level warn "$@" "$LIB" \
        >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 && break
        sleep 0.05
    done
    # A short warm-up, then the measured load.
    taskset -c 1 wrk -t1 -c64 -d1s "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 || true
    before="$(server_cpu_ticks "$pid")"
    requests="$(taskset -c 1 wrk -t1 -c64 -d"${SECONDS_EACH}s" "http://127.0.0.1:$port/plaintext" 2>&1 \
        | awk '/requests in/ { print $1 }')"
    after="$(server_cpu_ticks "$pid")"
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    python3 -c 'import sys; t, r, hz = map(int, sys.argv[1:4]); print(f"{sys.argv[4]} {r} {t * 1e6 / hz / r:.3f}")' \
        "$((after - before))" "${requests:-1}" "$CLK_TCK" "$label"
}

results=()
for round in $(seq 1 "$ROUNDS"); do
    results+=("$(run off)")
    results+=("$(run on --metrics-bind 127.0.0.1:0)")
    echo "round $round: ${results[-2]} | ${results[-1]}" >&2
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    label, reqs, us = line.split()
    runs.setdefault(label, []).append(float(us))
off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
n = len(runs["off"])
print(f"server CPU per request, median of {n} runs each: "
      f"without --metrics-bind {off:.3f} us, with {on:.3f} us: {on / off:.3f}x")
'
