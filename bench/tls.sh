#!/usr/bin/env bash
# Native TLS: portico (--certfile, rustls + ring) against nginx on the same certificate.
#
#   bench/tls.sh [ROUNDS] [SECONDS]     (default 5 rounds of 10 s per scenario and server)
#
# Two scenarios, each server pinned to CPU 0 and wrk to CPU 1 (as bench/run.sh), started fresh
# for every run and checked with curl over TLS first; the runs alternate portico, nginx, ...:
#   keepalive  wrk -t1 -c64 GET /plaintext over kept-alive TLS connections: requests/s and the
#              server's CPU per request (user + system of every process and thread it has)
#   handshake  wrk -t1 -c64 with `Connection: close` (bench/wrk/close.lua): every request is a
#              new TCP connection and a full TLS handshake (no resumption: nginx has
#              ssl_session_cache off and ssl_session_tickets off, portico --tls-session-cache 0:
#              wrk would otherwise resume, as it keeps its SSL object's session across
#              reconnects): connections/s and the server's CPU per connection
# Both servers use one ECDSA P-256 certificate made for the run (openssl), TLS 1.3 as the
# client negotiates it. portico serves raw-hello (--threads 1, one worker); nginx one worker
# process answering `return 200 "Hello, World!"`. Results go to bench/out/tls-<stamp>.md and
# stdout. Needs the release build (cargo build --release -p server -p raw-hello), wrk
# (bench/setup.sh), nginx and openssl (apt-get install nginx-light openssl).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
PORTICO="$ROOT/target/release/portico"
LIB="$ROOT/target/release/libraw_hello.so"
ROUNDS="${1:-5}"
SECONDS_EACH="${2:-10}"
SERVER_CPU=0
CLIENT_CPU=1

die() {
    echo "tls.sh: $*" >&2
    exit 1
}
for n in "$ROUNDS" "$SECONDS_EACH"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer"
done
[ -x "$PORTICO" ] && [ -f "$LIB" ] || die "build the release first: cargo build --release -p server -p raw-hello"
command -v wrk >/dev/null || die "wrk is missing: run bench/setup.sh"
command -v taskset >/dev/null || die "taskset is missing: run bench/setup.sh"
command -v openssl >/dev/null || die "openssl is missing: apt-get install openssl"
NGINX="$(command -v nginx || true)"
[ -n "$NGINX" ] || die "nginx is missing: apt-get install nginx-light"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT_DIR="$BENCH_DIR/out"
WORK="$OUT_DIR/tls-$STAMP.work"
OUT="$OUT_DIR/tls-$STAMP.md"
mkdir -p "$WORK"

# --- the certificate -------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 \
    || die "openssl could not make the certificate"
CERT="$WORK/cert.pem"
KEY="$WORK/key.pem"

cat >"$WORK/close.lua" <<'EOF'
-- Every request asks the server to close: each one is a new connection and handshake.
wrk.headers["Connection"] = "close"
EOF
cat "$BENCH_DIR/wrk/stats.lua" >>"$WORK/close.lua"

# shellcheck source=lib/common.sh
. "$BENCH_DIR/lib/common.sh"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT

# start KIND PORT: starts portico or nginx pinned to CPU 0, TLS on PORT.
start() {
    local kind="$1" port="$2"
    case "$kind" in
        portico)
            taskset -c "$SERVER_CPU" "$PORTICO" --bind "127.0.0.1:$port" --threads 1 \
                --log-level warn --certfile "$CERT" --keyfile "$KEY" --tls-session-cache 0 "$LIB" \
                >>"$WORK/portico.log" 2>&1 &
            ;;
        nginx)
            mkdir -p "$WORK/nginx"
            cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location /plaintext {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
EOF
            taskset -c "$SERVER_CPU" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
                >>"$WORK/nginx.log" 2>&1 &
            ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if [ "$(curl -s --cacert "$CERT" -o /dev/null -w '%{http_code}' --max-time 1 \
            "https://127.0.0.1:$port/plaintext")" = 200 ]; then
            return 0
        fi
        sleep 0.05
    done
    die "$kind did not answer 200 over TLS on port $port (see $WORK/$kind.log)"
}

# run KIND SCENARIO: one run; prints "KIND SCENARIO requests_per_s cpu_us_per_request errors".
run() {
    local kind="$1" scenario="$2" port before after line script=()
    port="$(free_port)"
    start "$kind" "$port"
    if [ "$scenario" = handshake ]; then
        script=(-s "$WORK/close.lua")
    else
        script=(-s "$BENCH_DIR/wrk/stats.lua")
    fi
    # A short warm-up, then the measured load.
    taskset -c "$CLIENT_CPU" wrk -t1 -c64 -d1s "${script[@]}" "https://127.0.0.1:$port/plaintext" \
        >/dev/null 2>&1 || true
    before="$(server_cpu_ticks "$SERVER_PID")"
    line="$(taskset -c "$CLIENT_CPU" wrk -t1 -c64 -d"${SECONDS_EACH}s" "${script[@]}" \
        "https://127.0.0.1:$port/plaintext" 2>&1 | grep '^WRK_JSON ' | head -1)"
    after="$(server_cpu_ticks "$SERVER_PID")"
    stop_server
    python3 - "$kind" "$scenario" "$((after - before))" "$CLK_TCK" "${line#WRK_JSON }" <<'EOF'
import json, sys
kind, scenario, ticks, hz, raw = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = json.loads(raw) if raw.strip() else {"requests": 0, "duration_us": 1}
n = max(r["requests"], 1)
errors = sum(r.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
print(f"{kind} {scenario} {r['requests'] * 1e6 / r['duration_us']:.0f} {ticks * 1e6 / hz / n:.2f} {errors}")
EOF
}

results=()
for round in $(seq 1 "$ROUNDS"); do
    for scenario in keepalive handshake; do
        for kind in portico nginx; do
            results+=("$(run "$kind" "$scenario")")
            echo "round $round: ${results[-1]}" >&2
        done
    done
done

printf '%s\n' "${results[@]}" >"$WORK/runs.txt"
python3 - "$WORK/runs.txt" <<'EOF' | tee "$OUT"
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, scenario, rate, us, errors = line.split()
    runs.setdefault((scenario, kind), []).append((float(rate), float(us), int(errors)))
print("| scenario (wrk -t1 -c64) | server | per second (median) | server CPU us each (median) | errors |")
print("|---|---|---|---|---|")
for scenario, what in (("keepalive", "requests"), ("handshake", "new connections")):
    med = {}
    for kind in ("portico", "nginx"):
        rs = runs.get((scenario, kind), [])
        if not rs:
            continue
        rate = statistics.median(r[0] for r in rs)
        us = statistics.median(r[1] for r in rs)
        med[kind] = (rate, us)
        print(f"| {scenario}: {what} | {kind} | {rate:.0f} | {us:.2f} | {sum(r[2] for r in rs)} |")
    if "portico" in med and "nginx" in med and med["nginx"][0] > 0:
        p, n = med["portico"], med["nginx"]
        print(f"| {scenario} | portico / nginx | {p[0] / n[0]:.2f}x | {p[1] / n[1]:.2f}x | |")
EOF
echo "tls.sh: wrote $OUT ($ROUNDS rounds of ${SECONDS_EACH}s, wrk -t1 -c64; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU)" >&2
