#!/usr/bin/env bash
# Runs Portico's notes end-to-end suite (tests/tests/notes_*.rs) against the Django twin:
# a fresh database with the test users, gunicorn on peer.notes_settings on a free port, then
# `NOTES_BASE_URL=http://127.0.0.1:PORT cargo test -p tests --test notes_pages --test notes_api
# --test notes_sessions`. Needs bench/setup.sh once. Extra arguments go to cargo test.
set -euo pipefail

DJANGO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DJANGO_DIR/../../.." && pwd)"
VENV="${VENV:-$ROOT/bench/.venv}"
[ -x "$VENV/bin/gunicorn" ] || { echo "run_notes_suite.sh: no $VENV: run bench/setup.sh" >&2; exit 1; }

WORK="$(mktemp -d)"
export DJANGO_SETTINGS_MODULE=peer.notes_settings
export NOTES_DATABASE="$WORK/notes.sqlite3"
export NOTES_USERS_FILE="$ROOT/tests/data/notes-test-users.toml"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cd "$DJANGO_DIR"
"$VENV/bin/python" manage.py migrate --noinput -v 0
"$VENV/bin/python" manage.py seed_notes_users >/dev/null
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$VENV/bin/gunicorn" --workers 2 --bind "127.0.0.1:$PORT" --log-level warning \
    peer.wsgi:application >"$WORK/gunicorn.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/api/whoami/" && break
    sleep 0.1
done
echo "run_notes_suite.sh: the Django twin listens on 127.0.0.1:$PORT" >&2

cd "$ROOT"
NOTES_BASE_URL="http://127.0.0.1:$PORT" cargo test -p tests \
    --test notes_pages --test notes_api --test notes_sessions "$@"
