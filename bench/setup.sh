#!/usr/bin/env bash
# Brings what the benchmarks need onto a machine that has only cargo, gcc, python3 and curl:
# wrk and valgrind (Debian packages), a Python venv at bench/.venv with the Django peer's pinned
# requirements, and the peer's seeded SQLite database. Safe to run again: each step checks first.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$BENCH_DIR/.venv"
DJANGO_DIR="$BENCH_DIR/peers/django"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]} with apt-get"
    # A fresh image may have empty package lists: refresh once, then retry the install.
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
fi

# The venv with the peer's pinned requirements (shared with the Django interop tests).
"$DJANGO_DIR/venv.sh" "$VENV"

echo "setup: migrating and seeding the Django peer's database"
(cd "$DJANGO_DIR" && "$VENV/bin/python" manage.py migrate --noinput -v 0 && "$VENV/bin/python" manage.py seed_articles)

echo "setup: done (wrk: $(command -v wrk), venv: $VENV)"
