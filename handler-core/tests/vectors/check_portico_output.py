"""Checks in Django 5.2 the values handler-core made: run by hand after the Rust tests.

    cargo test -p handler-core --test django_vectors
    /work/main/bench/.venv/bin/python handler-core/tests/vectors/check_portico_output.py \
        target/tmp/portico_signing_output.json

The test `write_portico_output_for_django` writes that file on every run: values signed
with signing.dumps (one with the old key, which Django must load through
SECRET_KEY_FALLBACKS), a Signer value, a messages cookie, a signed cookie, and password
hashes. Each must load or verify in Django as it does in Portico. Exits non-zero on any
mismatch.
"""

import json
import sys

import django
from django.conf import settings


def main(path):
    with open(path, encoding="utf-8") as f:
        out = json.load(f)
    settings.configure(
        SECRET_KEY=out["secret_key"],
        SECRET_KEY_FALLBACKS=out["secret_key_fallbacks"],
        INSTALLED_APPS=["django.contrib.messages"],
    )
    django.setup()
    from django.contrib.auth.hashers import check_password
    from django.contrib.messages.storage.cookie import MessageSerializer
    from django.core import signing

    failures = 0
    checks = 0

    def check(what, got, expected):
        nonlocal failures, checks
        checks += 1
        if got != expected:
            failures += 1
            print(f"MISMATCH {what}: Django got {got!r}, expected {expected!r}")

    for case in out["dumps"]:
        got = signing.loads(case["signed"], salt=case["salt"], max_age=3600)
        check(f"loads {case['signed'][:40]}...", got, case["obj"])
        # Byte for byte: Django's own dumps of the same object with the same timestamp.
        value, ts, _sig = case["signed"].rsplit(":", 2)
        signer = signing.TimestampSigner(salt=case["salt"])
        signer.timestamp = lambda ts=ts: ts
        if "rotated" not in case["obj"]:
            again = signer.sign_object(case["obj"], compress=value.startswith("."))
            check(f"dumps {case['obj']!r:.40}", again, case["signed"])

    s = out["signer"]
    check("Signer.unsign", signing.Signer(salt=s["salt"]).unsign(s["signed"]), s["value"])

    m = out["messages"]
    signer = signing.get_cookie_signer(salt="django.contrib.messages")
    decoded = signer.unsign_object(m["signed"], serializer=MessageSerializer)
    check(
        "messages cookie",
        [[x.level, x.message] for x in decoded],
        [[x[2], x[3]] for x in m["decoded"]],
    )

    c = out["signed_cookie"]
    value = signing._unsign_cookie(c["signed"], cookie_name=c["cookie_name"], salt=c["salt"])
    check("signed cookie", value, c["value"])

    for p in out["passwords"]:
        check(f"check_password {p['encoded']}", check_password(p["password"], p["encoded"]), True)
        check(f"wrong password {p['encoded']}", check_password(p["password"] + "x", p["encoded"]), False)

    print(f"{checks} checks, {failures} mismatches (Django {django.get_version()})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/tmp/portico_signing_output.json"))
