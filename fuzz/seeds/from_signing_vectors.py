#!/usr/bin/env python3
"""Regenerates fuzz/seeds/signing/ from handler-core's Django vectors (run from anywhere).

Each seed is the target's mode byte (bit 0: the salt, 0 for "django.core.signing" and 1 for
the signed_cookies one; bits 1-7: max_age and the tampering) then the input: values Django
signed (dumps, loads, Signer, TimestampSigner, cookies), and the JSON Django serialized.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEEDS = pathlib.Path(__file__).resolve().parent / "signing"
VECTORS = ROOT / "handler-core/tests/vectors/django_vectors.json"
SESSION_SALT = "django.contrib.sessions.backends.signed_cookies"


def main() -> None:
    vectors = json.loads(VECTORS.read_text(encoding="ascii"))
    SEEDS.mkdir(exist_ok=True)
    seeds = {}
    for i, case in enumerate(vectors["dumps"]):
        mode = 1 if case["salt"] == SESSION_SALT else 0
        seeds[f"dumps-{i:02}"] = bytes([mode]) + case["signed"].encode()
        seeds[f"json-{i:02}"] = bytes([0]) + case["json"].encode()
    for i, case in enumerate(vectors["loads"]):
        seeds[f"loads-{i:02}"] = bytes([2 | (i % 8) << 2]) + case["signed"].encode()
    for kind in ("signer", "timestamp_signer", "cookies"):
        for i, case in enumerate(vectors[kind]):
            seeds[f"{kind}-{i:02}"] = bytes([i % 4]) + case["signed"].encode()
    for name, data in seeds.items():
        (SEEDS / name).write_bytes(data)


if __name__ == "__main__":
    main()
