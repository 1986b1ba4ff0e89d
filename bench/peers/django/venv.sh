#!/usr/bin/env bash
# Makes (or reuses) the Python venv of the Django peer: bench/.venv by default, or the path given
# as the first argument, with requirements.txt installed. bench/setup.sh and the Django interop
# tests (tests/src/django.rs) both call it. Safe to run again, and from two processes at once (a
# lock beside the venv): pip only touches the network when a pin is not yet satisfied.
# Exits 0 when the venv is ready; otherwise non-zero with the reason on stderr.
set -euo pipefail

DJANGO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$DJANGO_DIR/../../.venv}"
mkdir -p "$(dirname "$VENV")"
VENV="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Two test binaries may ask for the venv at the same moment: one makes it, the other waits.
exec 9>"$VENV.lock"
flock 9

# A venv made without ensurepip has no pip: start it over rather than keep a half one.
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "venv.sh: creating $VENV" >&2
    if ! python3 -m venv "$VENV"; then
        # Debian's python3 ships venv/ensurepip separately.
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
fi

# Already satisfied: no network at all (pip would still ask the index about nothing, but a
# check is quicker and works offline).
if "$VENV/bin/python" - "$DJANGO_DIR/requirements.txt" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, pin = line.split("==")
    name = name.split("[", 1)[0]
    try:
        if version(name) != pin:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
    exit 0
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --timeout 20 --retries 1 \
    -r "$DJANGO_DIR/requirements.txt"
