#!/usr/bin/env bash
# Throughput and latency of Portico against its peers, per core, on loopback.
#
#   bench/run.sh            5 interleaved runs of 10 s per scenario and server
#   bench/run.sh --quick    1 run of 3 s each: a smoke check of the harness
#
# Options: --runs N, --duration SECS, --connections N, --scenarios a,b,c,p,s, --pipeline (adds
# 16-deep pipelined loads to a and b), --no-build.
#
# Every server is pinned to CPU 0 and wrk to CPU 1. Each server is started fresh for its run,
# checked with curl (right status, right body) before any load, loaded, then stopped; the runs
# of one repetition go A B C, A B C, ... so drift on this shared machine hits all peers alike.
# The table (medians of the runs, ratio against the scenario's peer) goes to
# bench/out/<timestamp>.md and to stdout; the raw per-run records to <timestamp>.jsonl.
#
# Scenarios:
#   a  plaintext through the ABI: portico + raw-hello vs axum (tokio current_thread and
#                                 multi_thread, both pinned to the one core; the ratio is to
#                                 the better of the two)
#   b  the handler-core runtime:  portico + hello /plaintext, /json vs axum (likewise)
#   c  the Django-style stack:    portico + articles vs gunicorn (-w 1 sync) + Django 5.2
#   h  the runtime's own cost:    portico + hello against portico + raw-hello, /plaintext
#   p  pipelined plaintext:       portico + raw-hello vs the limit server (a canned-answer mio
#                                 loop), 256 connections, 16 requests deep (TechEmpower's load)
#   s  slow calls beside fast:    portico --threads 4 + raw-hello /plaintext c64 while three
#                                 clients loop on GET /slow?ms=1000, against the same server
#                                 without them (the "peer"); the slow clients' errors count too
#   d  Django's default stack:    portico + notes GET /session/counter/ with a session cookie
#                                 (all 8 middleware, a database session read and written per
#                                 request) vs gunicorn (-w 1 sync) + the Django notes twin
#   g  d on PostgreSQL:           the same, both on one throwaway PostgreSQL (a database each,
#                                 persistent connections: conn_max_age 600 / CONN_MAX_AGE None);
#                                 PostgreSQL's own processes are not the server's, so its time
#                                 is left out of "CPU us/req"
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
SERVER_CPU=0
CLIENT_CPU=1

RUNS=5
DURATION=10
WARMUP=1
CONNECTIONS=64
SCENARIOS="a,b,c,d,g,h,p,s"
PIPELINE=0
BUILD=1
ORIG_ARGS="$*"

die() {
    echo "run.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) RUNS=1; DURATION=3; WARMUP=1 ;;
        --runs) RUNS="${2:?--runs needs a number}"; shift ;;
        --duration) DURATION="${2:?--duration needs seconds}"; shift ;;
        --connections) CONNECTIONS="${2:?--connections needs a number}"; shift ;;
        --scenarios) SCENARIOS="${2:?--scenarios needs a list like a,b}"; shift ;;
        --pipeline) PIPELINE=1 ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
for n in "$RUNS" "$DURATION" "$CONNECTIONS"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer"
done

command -v wrk >/dev/null || die "wrk is missing: run bench/setup.sh"
command -v taskset >/dev/null || die "taskset is missing: run bench/setup.sh"
VENV="$BENCH_DIR/.venv"
DJANGO_DIR="$BENCH_DIR/peers/django"
AXUM_DIR="$BENCH_DIR/peers/axum"
AXUM_BIN="$AXUM_DIR/target/release/axum-peer"
LIMIT_DIR="$BENCH_DIR/peers/limit"
LIMIT_BIN="$LIMIT_DIR/target/release/limit-peer"
PORTICO="$ROOT/target/release/portico"
SEED="$BENCH_DIR/peers/articles-seed.json"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT_DIR="$BENCH_DIR/out"
WORK="$OUT_DIR/$STAMP.work"
OUT="$OUT_DIR/$STAMP.md"
RECORDS="$OUT_DIR/$STAMP.jsonl"
mkdir -p "$WORK"
: >"$RECORDS"

note() {
    echo "$*" | tee -a "$WORK/notes.txt" >&2
}

# --- build -----------------------------------------------------------------------------------
declare -A LIB=(
    [raw-hello]="$ROOT/target/release/libraw_hello.so"
    [hello]="$ROOT/target/release/libhello.so"
    [articles]="$ROOT/target/release/libarticles.so"
    [notes]="$ROOT/target/release/libnotes.so"
)
if [ "$BUILD" -eq 1 ]; then
    note "building portico and the apps (release)"
    if ! (cd "$ROOT" && cargo build --release -p server -p raw-hello -p hello -p articles -p notes); then
        # One app not compiling (yet) must not stop the scenarios of the others.
        for pkg in server raw-hello hello articles notes; do
            (cd "$ROOT" && cargo build --release -p "$pkg") || note "build of $pkg failed"
        done
    fi
    note "building the axum peer (release)"
    cargo build --release --manifest-path "$AXUM_DIR/Cargo.toml" || note "build of the axum peer failed"
    note "building the limit server (release)"
    cargo build --release --manifest-path "$LIMIT_DIR/Cargo.toml" || note "build of the limit server failed"
fi
[ -x "$PORTICO" ] || die "$PORTICO is missing: the server does not build"

# --- servers ---------------------------------------------------------------------------------
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        # SIGTERM first: portico and gunicorn drain and exit; wait so CPU 0 is free for the next.
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
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

# The settings file of a handler-core app, in this run's work directory so its database is
# fresh and nothing is written into the source tree.
settings_for() {
    local app="$1" src="$ROOT/sample-apps/$1/settings.toml"
    [ -f "$src" ] || return 0
    mkdir -p "$WORK/$app"
    if [ ! -f "$WORK/$app/settings.toml" ]; then
        # Template directories are relative to the settings file: point them at the source.
        sed "s|^dirs = \[\"templates\"\]|dirs = [\"$ROOT/sample-apps/$app/templates\"]|" \
            "$src" >"$WORK/$app/settings.toml"
    fi
    echo "$WORK/$app/settings.toml"
}

# start_server KIND APP THREADS: starts it pinned to CPU 0 on a free port; sets SERVER_PID and
# SERVER_PORT; fails when it does not answer HTTP within 20 s.
start_server() {
    local kind="$1" app="$2" threads="$3" log
    SERVER_PORT="$(free_port)"
    log="$WORK/server-$kind-$app-$threads.log"
    case "$kind" in
        portico)
            local args=(--bind "127.0.0.1:$SERVER_PORT" --log-level warn)
            [ "$threads" = default ] || args+=(--threads "$threads")
            local settings
            settings="$(settings_for "$app")"
            [ -z "$settings" ] || args+=(--settings "$settings")
            taskset -c "$SERVER_CPU" "$PORTICO" "${args[@]}" "${LIB[$app]}" >>"$log" 2>&1 &
            ;;
        axum)
            taskset -c "$SERVER_CPU" "$AXUM_BIN" "$SERVER_PORT" >>"$log" 2>&1 &
            ;;
        axum-mt)
            taskset -c "$SERVER_CPU" "$AXUM_BIN" "$SERVER_PORT" --multi-thread >>"$log" 2>&1 &
            ;;
        limit)
            taskset -c "$SERVER_CPU" "$LIMIT_BIN" "$SERVER_PORT" >>"$log" 2>&1 &
            ;;
        portico-pg)
            local settings="$WORK/notes-pg/settings.toml"
            DATABASE_URL="$(pg_url notes_portico)" taskset -c "$SERVER_CPU" "$PORTICO" \
                --bind "127.0.0.1:$SERVER_PORT" --log-level warn --threads "$threads" \
                --settings "$settings" "${LIB[$app]}" >>"$log" 2>&1 &
            ;;
        gunicorn-notes-pg)
            (cd "$DJANGO_DIR" && PEER_LOG_LEVEL=WARNING DJANGO_SETTINGS_MODULE=peer.notes_settings \
                NOTES_POSTGRES_URL="$(pg_url notes_django)" exec taskset -c "$SERVER_CPU" \
                "$VENV/bin/gunicorn" --workers 1 --worker-class sync \
                --bind "127.0.0.1:$SERVER_PORT" --log-level warning peer.wsgi:application) \
                >>"$log" 2>&1 &
            ;;
        gunicorn-notes)
            (cd "$DJANGO_DIR" && PEER_LOG_LEVEL=WARNING DJANGO_SETTINGS_MODULE=peer.notes_settings \
                NOTES_DATABASE="$WORK/notes-django.sqlite3" exec taskset -c "$SERVER_CPU" \
                "$VENV/bin/gunicorn" --workers 1 --worker-class sync \
                --bind "127.0.0.1:$SERVER_PORT" --log-level warning peer.wsgi:application) \
                >>"$log" 2>&1 &
            ;;
        gunicorn)
            # exec: the recorded pid is gunicorn's master, which SIGTERM stops with its worker.
            (cd "$DJANGO_DIR" && PEER_LOG_LEVEL=WARNING exec taskset -c "$SERVER_CPU" \
                "$VENV/bin/gunicorn" --workers 1 --worker-class sync \
                --bind "127.0.0.1:$SERVER_PORT" --log-level warning peer.wsgi:application) \
                >>"$log" 2>&1 &
            ;;
        *) die "unknown server kind $kind" ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            note "$kind $app exited at start: $(tail -n 3 "$log" | tr '\n' ' ')"
            SERVER_PID=""
            return 1
        fi
        if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SERVER_PORT/"; then
            return 0
        fi
        sleep 0.1
    done
    note "$kind $app did not answer within 20 s"
    stop_server
    return 1
}

# check_body PATH EXPECTED: the running server answers GET PATH with 200 and the expected body:
# the same text, or for JSON (EXPECTED starting with { or [) the same value whatever the spacing.
check_body() {
    local path="$1" expected="$2" body status
    body="$WORK/body"
    status="$(curl -s -o "$body" -w '%{http_code}' --max-time 5 "http://127.0.0.1:$SERVER_PORT$path")" || status="none"
    if [ "$status" != 200 ]; then
        note "GET $path answered $status, not 200: $(head -c 200 "$body" 2>/dev/null)"
        return 1
    fi
    python3 - "$body" "$expected" <<'EOF' || { note "GET $path answered the wrong body: $(head -c 200 "$body")"; return 1; }
import json, sys
got = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
expected = sys.argv[2]
if expected[:1] in "{[":
    try:
        ok = json.loads(got) == json.loads(expected)
    except ValueError:
        ok = False
else:
    ok = got == expected
sys.exit(0 if ok else 1)
EOF
}

ARTICLES_JSON="$(python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
print(json.dumps({"articles": [dict(id=i, **r) for i, r in enumerate(rows, 1)]}))' "$SEED")"
ARTICLE_1_JSON="$(python3 -c '
import json, sys
print(json.dumps(dict(id=1, **json.load(open(sys.argv[1]))[0])))' "$SEED")"
declare -A EXPECTED=(
    [/plaintext]="Hello, World!"
    [/json]='{"message":"Hello, World!"}'
    [/api/success/]='{"message": "Success", "data": [1, 2, 3]}'
    [/api/articles/]="$ARTICLES_JSON"
    [/api/articles/1/]="$ARTICLE_1_JSON"
)

# Gives Portico's articles app the seed rows, through its own API, into this run's database.
seed_portico_articles() {
    start_server portico articles 1 || return 1
    local status
    while IFS= read -r row; do
        status="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data "$row" "http://127.0.0.1:$SERVER_PORT/api/articles/")" || status=none
        if [ "$status" != 201 ]; then
            note "seeding portico's articles: POST answered $status"
            stop_server
            return 1
        fi
    done < <(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])): print(json.dumps(r))' "$SEED")
    stop_server
}

# The notes twin's database: migrated, with the shipped users.
seed_django_notes() {
    [ -x "$VENV/bin/gunicorn" ] || { note "no $VENV: run bench/setup.sh"; return 1; }
    (cd "$DJANGO_DIR" && DJANGO_SETTINGS_MODULE=peer.notes_settings \
        NOTES_DATABASE="$WORK/notes-django.sqlite3" "$VENV/bin/python" manage.py migrate --noinput -v 0 \
        && DJANGO_SETTINGS_MODULE=peer.notes_settings NOTES_DATABASE="$WORK/notes-django.sqlite3" \
        "$VENV/bin/python" manage.py seed_notes_users >/dev/null)
}

# Scenario g's PostgreSQL: a throwaway cluster in $WORK/pg on a free port, run by the postgres
# user (initdb refuses root), trust authentication on loopback, stopped with pg_ctl at exit (PID
# 1 reaps no zombies here, so never kill -9). Not pinned: its CPU is not the server's.
PG_BIN=""
PG_PORT=""
pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_postgres() {
    [ -n "$PG_PORT" ] || return 0
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -w -m fast stop >/dev/null 2>&1 || true
    PG_PORT=""
}
start_postgres() {
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$PG_BIN/initdb" ] || { note "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
    mkdir -p "$WORK/pg"
    [ "$(id -u)" -ne 0 ] || chown postgres "$WORK/pg"
    as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --no-sync >"$WORK/pg-initdb.log" 2>&1 \
        || { note "initdb failed: $(tail -n 2 "$WORK/pg-initdb.log" | tr '\n' ' ')"; return 1; }
    PG_PORT="$(free_port)"
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
        -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null \
        || { note "PostgreSQL did not start: $(tail -n 2 "$WORK/pg/server.log" | tr '\n' ' ')"; PG_PORT=""; return 1; }
    for db in notes_portico notes_django; do
        as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
            -c "CREATE DATABASE $db" >/dev/null || return 1
    done
}

# Both notes on scenario g's PostgreSQL: Portico's settings with persistent connections (it
# migrates and makes its users at start-up), the twin migrated and seeded.
seed_postgres_notes() {
    start_postgres || return 1
    local src="$ROOT/sample-apps/notes/settings.toml"
    mkdir -p "$WORK/notes-pg"
    sed -e "s|^dirs = \[\"templates\"\]|dirs = [\"$ROOT/sample-apps/notes/templates\"]|" \
        "$src" >"$WORK/notes-pg/settings.toml"
    [ -x "$VENV/bin/gunicorn" ] || { note "no $VENV: run bench/setup.sh"; return 2; }
    (cd "$DJANGO_DIR" && export DJANGO_SETTINGS_MODULE=peer.notes_settings \
        NOTES_POSTGRES_URL="$(pg_url notes_django)" \
        && "$VENV/bin/python" manage.py migrate --noinput -v 0 \
        && "$VENV/bin/python" manage.py seed_notes_users >/dev/null) || return 2
}

# A session for the running server: GET /session/counter/ once, the sessionid it set, then a
# check that the cookie counts on (200, {"count": 2}, Vary: Cookie). Sets WRK_COOKIE.
WRK_COOKIE=""
session_cookie() {
    local path="$1" jar="$WORK/jar" sid body headers
    rm -f "$jar"
    curl -s -o /dev/null -c "$jar" --max-time 5 "http://127.0.0.1:$SERVER_PORT$path" || true
    sid="$(awk '$6 == "sessionid" { print $7 }' "$jar" 2>/dev/null | tail -n 1)"
    if [ -z "$sid" ]; then
        note "GET $path set no sessionid"
        return 1
    fi
    WRK_COOKIE="sessionid=$sid"
    body="$(curl -s -D "$WORK/headers" -H "Cookie: $WRK_COOKIE" --max-time 5 "http://127.0.0.1:$SERVER_PORT$path")" || body=""
    if [ "$body" != '{"count": 2}' ] || ! grep -qi '^Vary: Cookie' "$WORK/headers"; then
        note "GET $path with the session answered $(head -c 200 <<<"$body") (want {\"count\": 2}, Vary: Cookie)"
        return 1
    fi
}

seed_django() {
    [ -x "$VENV/bin/gunicorn" ] || { note "no $VENV: run bench/setup.sh"; return 1; }
    (cd "$DJANGO_DIR" && "$VENV/bin/python" manage.py migrate --noinput -v 0 \
        && "$VENV/bin/python" manage.py seed_articles >/dev/null)
}

# --- the plan: one line per server configuration ----------------------------------------------
# scenario|label|role|kind|app|threads|paths (space-separated)|loads|extra
# A load is cN (N connections, one request at a time) or cNpD (D requests pipelined per write).
# extra: "slow3" runs three /slow?ms=1000 loopers beside the measured load.
PLAN=()
want() { [[ ",$SCENARIOS," == *",$1,"* ]]; }
BASE="c$CONNECTIONS"
PIPED="$BASE"
[ "$PIPELINE" -eq 0 ] || PIPED="$BASE ${BASE}p16"
if want a; then
    PLAN+=("a|portico --threads 1 + raw-hello|subject|portico|raw-hello|1|/plaintext|$PIPED|")
    PLAN+=("a|axum (tokio current_thread)|peer|axum|-|-|/plaintext|$PIPED|")
    PLAN+=("a|axum (tokio multi_thread)|peer|axum-mt|-|-|/plaintext|$PIPED|")
    PLAN+=("a|portico default threads + raw-hello|subject|portico|raw-hello|default|/plaintext|$PIPED|")
fi
if want b; then
    PLAN+=("b|portico --threads 1 + hello|subject|portico|hello|1|/plaintext /json|$PIPED|")
    PLAN+=("b|axum (tokio current_thread)|peer|axum|-|-|/plaintext /json|$PIPED|")
    PLAN+=("b|axum (tokio multi_thread)|peer|axum-mt|-|-|/plaintext /json|$PIPED|")
    PLAN+=("b|portico default threads + hello|subject|portico|hello|default|/plaintext /json|$PIPED|")
fi
if want c; then
    PLAN+=("c|portico --threads 1 + articles|subject|portico|articles|1|/api/success/ /api/articles/ /api/articles/1/|$BASE|")
    PLAN+=("c|gunicorn -w 1 sync + Django 5.2|peer|gunicorn|-|-|/api/success/ /api/articles/ /api/articles/1/|$BASE|")
    PLAN+=("c|portico default threads + articles|subject|portico|articles|default|/api/success/ /api/articles/ /api/articles/1/|$BASE|")
fi
if want h; then
    PLAN+=("h|portico --threads 1 + hello|subject|portico|hello|1|/plaintext|$BASE|")
    PLAN+=("h|portico --threads 1 + raw-hello|peer|portico|raw-hello|1|/plaintext|$BASE|")
fi
if want p; then
    PLAN+=("p|portico --threads 1 + raw-hello|subject|portico|raw-hello|1|/plaintext|c256p16|")
    PLAN+=("p|limit server (canned answer, mio)|peer|limit|-|-|/plaintext|c256p16|")
fi
if want s; then
    PLAN+=("s|portico --threads 4 + raw-hello, 3 clients on /slow?ms=1000|subject|portico|raw-hello|4|/plaintext|$BASE|slow3")
    PLAN+=("s|portico --threads 4 + raw-hello alone|peer|portico|raw-hello|4|/plaintext|$BASE|")
fi
if want d; then
    PLAN+=("d|portico --threads 1 + notes|subject|portico|notes|1|/session/counter/|$BASE|")
    PLAN+=("d|gunicorn -w 1 sync + Django 5.2 notes twin|peer|gunicorn-notes|-|-|/session/counter/|$BASE|")
fi
if want g; then
    PLAN+=("g|portico --threads 1 + notes on PostgreSQL|subject|portico-pg|notes|1|/session/counter/|$BASE|")
    PLAN+=("g|gunicorn -w 1 sync + Django 5.2 notes twin on PostgreSQL|peer|gunicorn-notes-pg|-|-|/session/counter/|$BASE|")
fi
[ "${#PLAN[@]}" -gt 0 ] || die "no scenario selected from '$SCENARIOS'"

declare -A SKIP=()
# Reasons known before any load: a missing binary or an unseeded database.
for entry in "${PLAN[@]}"; do
    IFS='|' read -r scenario label role kind app threads paths loads extra <<<"$entry"
    if [ "$kind" = portico ] && [ ! -f "${LIB[$app]}" ]; then
        SKIP[$label]="${LIB[$app]} not built"
    elif [[ "$kind" == axum* ]] && [ ! -x "$AXUM_BIN" ]; then
        SKIP[$label]="the axum peer did not build"
    elif [ "$kind" = limit ] && [ ! -x "$LIMIT_BIN" ]; then
        SKIP[$label]="the limit server did not build"
    fi
done
if want c; then
    if [ -z "${SKIP[portico --threads 1 + articles]:-}" ] && ! seed_portico_articles; then
        SKIP[portico --threads 1 + articles]="could not seed its database"
        SKIP[portico default threads + articles]="could not seed its database"
    fi
    seed_django || SKIP[gunicorn -w 1 sync + Django 5.2]="the Django peer is not set up"
fi
if want d; then
    seed_django_notes || SKIP[gunicorn -w 1 sync + Django 5.2 notes twin]="the notes twin is not set up"
fi
if want g; then
    trap 'stop_server; stop_postgres' EXIT
    trap 'stop_server; stop_postgres; exit 130' INT TERM
    seeded=0
    seed_postgres_notes || seeded=$?
    case "$seeded" in
        0) ;;
        1)
            SKIP[portico --threads 1 + notes on PostgreSQL]="no PostgreSQL (see $WORK/notes.txt)"
            SKIP[gunicorn -w 1 sync + Django 5.2 notes twin on PostgreSQL]="no PostgreSQL (see $WORK/notes.txt)"
            ;;
        *) SKIP[gunicorn -w 1 sync + Django 5.2 notes twin on PostgreSQL]="the notes twin is not set up on PostgreSQL" ;;
    esac
fi

# run_wrk SCENARIO LABEL ROLE PATH LOAD REP EXTRA: one measured wrk run, appended to RECORDS.
run_wrk() {
    local scenario="$1" label="$2" role="$3" path="$4" load="$5" rep="$6" extra="$7" script out line
    local conns="${load#c}" depth=1
    if [[ "$conns" == *p* ]]; then
        depth="${conns#*p}"
        conns="${conns%p*}"
    fi
    script="$BENCH_DIR/wrk/stats.lua"
    [ "$depth" -eq 1 ] || script="$BENCH_DIR/wrk/pipeline.lua"
    local url="http://127.0.0.1:$SERVER_PORT$path"
    local slow_pid="" slow_out="$WORK/slow-$scenario-$rep-$RANDOM.json"
    if [ "$extra" = slow3 ]; then
        taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/lib/slow_clients.py" "$SERVER_PORT" 3 1000 \
            "$((WARMUP + DURATION + 1))" "$slow_out" &
        slow_pid=$!
        sleep 0.3
    fi
    local headers=()
    [ -z "$WRK_COOKIE" ] || headers=(-H "Cookie: $WRK_COOKIE")
    if [ "$WARMUP" -gt 0 ]; then
        WRK_PIPELINE="$depth" WRK_SCRIPTS="$BENCH_DIR/wrk" taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" \
            -d"${WARMUP}s" "${headers[@]}" -s "$script" "$url" >/dev/null 2>&1 || true
    fi
    out="$WORK/wrk-$scenario-$rep-${path//\//_}-$load-$RANDOM.txt"
    local ticks_before ticks_after
    ticks_before="$(server_cpu_ticks "$SERVER_PID")"
    WRK_PIPELINE="$depth" WRK_SCRIPTS="$BENCH_DIR/wrk" taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" \
        -d"${DURATION}s" "${headers[@]}" --latency -s "$script" "$url" >"$out" 2>&1 || true
    ticks_after="$(server_cpu_ticks "$SERVER_PID")"
    local cpu_us=$(((ticks_after - ticks_before) * 1000000 / CLK_TCK))
    local slow_errors=0
    if [ -n "$slow_pid" ]; then
        wait "$slow_pid" 2>/dev/null || true
        slow_errors="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["errors"])' "$slow_out" 2>/dev/null || echo 1)"
    fi
    line="$(grep -m1 '^WRK_JSON ' "$out" | sed 's/^WRK_JSON {//')" || true
    if [ -z "$line" ]; then
        note "wrk gave no result for $label $path: $(tail -n 2 "$out" | tr '\n' ' ')"
        return 1
    fi
    printf '{"scenario":"%s","server":"%s","role":"%s","path":"%s","load":"%s","rep":%d,"err_slow":%d,"cpu_us":%d,%s\n' \
        "$scenario" "$label" "$role" "$path" "$load" "$rep" "$slow_errors" "$cpu_us" "$line" >>"$RECORDS"
    note "  run $rep  $scenario  $label  $path  $load: $(python3 -c 'import json,sys
r = json.loads(sys.argv[1])
n, us, cpu = r["requests"], r["duration_us"], r["cpu_us"]
print("%d req/s, server CPU %.2f us/req" % (round(n / (us / 1e6)), cpu / max(1, n)))' \
        "$(tail -n 1 "$RECORDS")")"
}

# --- the runs --------------------------------------------------------------------------------
note "runs=$RUNS duration=${DURATION}s connections=$CONNECTIONS scenarios=$SCENARIOS pipeline=$PIPELINE"
for rep in $(seq 1 "$RUNS"); do
    for entry in "${PLAN[@]}"; do
        IFS='|' read -r scenario label role kind app threads paths loads extra <<<"$entry"
        [ -z "${SKIP[$label]:-}" ] || continue
        if ! start_server "$kind" "$app" "$threads"; then
            SKIP[$label]="did not start (see $WORK)"
            continue
        fi
        ok=1
        WRK_COOKIE=""
        for path in $paths; do
            case "$path" in
                /session/*) session_cookie "$path" || ok=0 ;;
                *) check_body "$path" "${EXPECTED[$path]}" || ok=0 ;;
            esac
        done
        if [ "$ok" -eq 0 ]; then
            SKIP[$label]="answered a wrong status or body (see $WORK/notes.txt)"
            stop_server
            continue
        fi
        for path in $paths; do
            for load in $loads; do
                run_wrk "$scenario" "$label" "$role" "$path" "$load" "$rep" "$extra" || true
            done
        done
        stop_server
    done
done

# --- the report ------------------------------------------------------------------------------
{
    echo "# Portico benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- command: \`bench/run.sh $ORIG_ARGS\` (runs=$RUNS, ${DURATION} s each after ${WARMUP} s warm-up, \`wrk -t1 -c$CONNECTIONS\`)"
    echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared and noisy;" \
        "servers pinned to CPU $SERVER_CPU (\`taskset -c $SERVER_CPU\`), wrk to CPU $CLIENT_CPU"
    echo "- git: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "- medians over the runs; \"vs peer\" = median req/s over the peer's median in the same interleaved run;" \
        "\"CPU us/req\" = the server's CPU time (all its processes and threads, user + system) over the requests" \
        "answered, and \"vs peer (CPU)\" = the peer's CPU per request over this one's (above 1: cheaper per core)"
    echo
    if [ -s "$RECORDS" ]; then
        python3 "$BENCH_DIR/lib/summarize.py" "$RECORDS"
    else
        echo "No run produced a result."
    fi
    if [ "${#SKIP[@]}" -gt 0 ]; then
        echo
        echo "Skipped:"
        for label in "${!SKIP[@]}"; do
            echo "- $label: ${SKIP[$label]}"
        done
    fi
} >"$OUT"
cat "$OUT"
echo
echo "written: $OUT (per-run records: $RECORDS, logs: $WORK)"
