"""Slow clients for bench/run.sh's scenario s: N connections each loop on GET /slow?ms=MS
(keep-alive) for SECONDS, then one JSON line {"requests": n, "errors": e} goes to OUT. An error
is a refused or broken connection, a status other than 200, or an answer that is not the sleep
asked for; the benchmark counts them beside wrk's.

usage: slow_clients.py PORT N MS SECONDS OUT
"""
import json
import socket
import sys
import threading
import time


def read_response(sock, buf):
    """Reads one response with a Content-Length body; returns (status, body, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        buf += chunk
    return status, buf[:length], buf[length:]


def loop(port, ms, until, totals, lock):
    requests = errors = 0
    request = f"GET /slow?ms={ms} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    expected = f'{{"slept_ms":{ms}}}'.encode()
    sock = None
    buf = b""
    while time.monotonic() < until:
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                buf = b""
            sock.sendall(request)
            status, body, buf = read_response(sock, buf)
            requests += 1
            if status != 200 or body != expected:
                errors += 1
        except (OSError, ValueError, IndexError):
            errors += 1
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.1)
    if sock is not None:
        sock.close()
    with lock:
        totals["requests"] += requests
        totals["errors"] += errors


def main():
    port, count, ms, seconds, out = sys.argv[1:6]
    until = time.monotonic() + float(seconds)
    totals = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    threads = [
        threading.Thread(target=loop, args=(int(port), int(ms), until, totals, lock))
        for _ in range(int(count))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump(totals, f)
        f.write("\n")


if __name__ == "__main__":
    main()
