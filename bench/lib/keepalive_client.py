"""A tiny HTTP/1.1 client for callgrind.sh: GETs one URL N times over ONE keep-alive connection,
one request at a time, and checks every answer (200 and the expected body), so the counted
instructions are those of N correct requests and nothing else.

Usage: keepalive_client.py HOST PORT PATH N EXPECTED_BODY
Prints the elapsed seconds on stdout; exits 1 on any wrong answer or dropped connection.
"""
import http.client
import sys
import time


def run(host, port, path, count, expected):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    started = time.monotonic()
    try:
        for i in range(count):
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or body != expected:
                raise ValueError(f"request {i}: {response.status} {body[:80]!r}")
            if response.will_close:
                raise ValueError(f"request {i}: the server closed the keep-alive connection")
    finally:
        conn.close()
    return time.monotonic() - started


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, path, count, expected = argv[1], int(argv[2]), argv[3], int(argv[4]), argv[5]
    try:
        elapsed = run(host, port, path, count, expected.encode())
    except (OSError, ValueError, http.client.HTTPException) as e:
        print(f"keepalive_client: {e}", file=sys.stderr)
        return 1
    print(f"{elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
