#!/usr/bin/env python3
"""Regenerates the seeds of the server's fuzz targets from tests/requests/ (run from anywhere).

request_head/<kind>-<NNN>: a limits byte (0: the default limits) then the fixture's wire bytes.
chunked/<kind>-<NNN>: a limits byte (0: no body limit, whole pieces) then the bytes after the head
of every fixture whose head declares Transfer-Encoding: chunked, plus a few hand-made bodies.
The wire bytes follow the fixtures' rule (server/src/http1/parse.rs tests): every LF becomes
CRLF, except after a line ending in a backslash, which keeps a bare LF.
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = pathlib.Path(__file__).resolve().parent


def wire(text: bytes) -> bytes:
    out = bytearray()
    for i, line in enumerate(text.split(b"\n")):
        if i > 0:
            if out.endswith(b"\\"):
                out[-1:] = b"\n"
            else:
                out += b"\r\n"
        out += line
    return bytes(out)


HAND_MADE = {
    "empty": b"0\r\n\r\n",
    "two-chunks": b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
    "extensions": b"5;a=b;c=\"x y\"\r\nhello\r\n0;last\r\n\r\n",
    "trailers": b"3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
    "bare-lf": b"3\nabc\n0\n\n",
    "hex-case": b"aA\r\n" + b"x" * 0xAA + b"\r\n0\r\n\r\n",
}


def main() -> None:
    heads = SEEDS / "request_head"
    bodies = SEEDS / "chunked"
    heads.mkdir(exist_ok=True)
    bodies.mkdir(exist_ok=True)
    for kind in ("valid", "invalid"):
        for path in sorted((ROOT / "tests/requests" / kind).glob("*.http")):
            data = wire(path.read_bytes())
            name = f"{kind}-{path.stem}"
            (heads / name).write_bytes(b"\x00" + data)
            end = data.find(b"\r\n\r\n")
            head = data[:end]
            if end >= 0 and re.search(rb"(?im)^transfer-encoding:.*chunked", head):
                body = data[end + 4 :]
                if body:
                    (bodies / name).write_bytes(b"\x00" + body)
    for name, body in HAND_MADE.items():
        (bodies / name).write_bytes(b"\x00" + body)


if __name__ == "__main__":
    main()
