"""Makes django_vectors.json: what Django 5.2 itself outputs for django.core.signing,
django.utils.crypto and django.contrib.auth.hashers, for handler-core's interop tests
(handler-core/tests/django_vectors.rs reads the JSON with include_str!).

Run from the repository root with the bench's venv, which has Django 5.2:

    /work/main/bench/.venv/bin/python handler-core/tests/vectors/make_vectors.py

The output is deterministic (fixed keys, salts and clock), so running it again gives the
same file; commit both.
"""

import json
import os
import sys
from unittest import mock

import django
from django.conf import settings

SECRET_KEY = "django-insecure-vectors-key-0123456789abcdefghijklmnop"
OLD_SECRET_KEY = "django-insecure-old-vectors-key-9876543210"
# sample-apps/notes' key (../shared/contracts/notes-app.md), for its messages cookie.
NOTES_SECRET_KEY = "notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a"
# 2023-11-14T22:13:20Z and a little later: the fixed clock of every timestamp below.
T0 = 1_700_000_000.25

settings.configure(
    SECRET_KEY=SECRET_KEY,
    SECRET_KEY_FALLBACKS=[OLD_SECRET_KEY],
    INSTALLED_APPS=["django.contrib.messages"],
)
django.setup()

from django.contrib.auth import hashers  # noqa: E402
from django.contrib.messages.storage.base import Message  # noqa: E402
from django.contrib.messages.storage.cookie import (  # noqa: E402
    CookieStorage,
    MessagePartSerializer,
)
from django.core import signing  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils import crypto  # noqa: E402


def at(now):
    """time.time() stopped at `now`, as TimestampSigner and its max_age check read it."""
    return mock.patch("django.core.signing.time.time", return_value=now)


def error_of(fn):
    try:
        return {"ok": fn()}
    except Exception as e:  # noqa: BLE001 - the class is the point
        return {"error": type(e).__name__, "message": str(e)}


OBJECTS = [
    "hello",
    "",
    [],
    {},
    None,
    True,
    0,
    -1,
    [1, 2, 3],
    list(range(1, 20)),
    {"z": 1, "a": 2, "m": [3, {"y": None, "b": False}]},
    {"_auth_user_id": "1", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
     "_auth_user_hash": "0" * 64, "count": 3},
    "caf\u00e9 \u00fcn\u00efc\u00f6de \u4e2d\u6587 \U0001f600 \u2028 \x7f \x01\n\t\"q\" \\ / <&>",
    [0.1, 0.1 + 0.2, 1e-05, 1e16, 1e22, 1.5e300, -0.0, 2.0, 123456789.123, 5e-324,
     1.7976931348623157e308, 2.2250738585072014e-308, 9007199254740993.0, 1 / 3, 100.0,
     0.0001, 123456789012345678.0],
    [2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1],
    {"text": "".join("line %d\n" % i for i in range(300))},
    {"notes": [{"id": i, "title": "Note %d" % i, "body": "x" * 40} for i in range(20)]},
    "ab" * 30,
]


def salted_hmac_vectors():
    out = []
    for key_salt, value, secret in [
        ("salt", "value", "secret"),
        ("django.core.signing.Signersigner", "hello", SECRET_KEY),
        ("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
         "pbkdf2_sha256$10000$notessaltalice$hash", SECRET_KEY),
        ("", "", "k"),
        ("s" * 200, "v" * 1000, "k" * 300),
        ("\u00e9", "\U0001f600", "\u4e2d"),
    ]:
        for algorithm in ["sha1", "sha256", "sha512", "md5", "sha224", "sha384"]:
            out.append({
                "key_salt": key_salt, "value": value, "secret": secret,
                "algorithm": algorithm,
                "hexdigest": crypto.salted_hmac(
                    key_salt, value, secret, algorithm=algorithm).hexdigest(),
            })
    return out


def b64_decode_vectors():
    out = []
    for text in ["", "aGVsbG8", "aGVsbG8=", "aGVsbA", "aGVs", "-_8", "+/8", "aG!Vs*bG8",
                 "aGVsbG-", "aQ==aGVsbG8", "a", "aGVsb", "a=b", "====", "ab=c", "abc=d",
                 "a b c d", "YQ", "YR", "Y", "é", "YWJj\n", "=YWJj"]:
        r = error_of(lambda: signing.b64_decode(text.encode()).hex())
        out.append({"input": text, **r})
    return out


def b62_vectors():
    return [{"n": n, "text": signing.b62_encode(n)}
            for n in [0, 1, 61, 62, 3843, 3844, -1, -62, 1_700_000_000, int(T0) + 10**6,
                      2**31, 2**63 - 1, -(2**63 - 1)]]


def signer_vectors():
    out = []
    cases = [
        ({}, "hello"),
        ({}, ""),
        ({}, "a:b:c"),
        ({"salt": "extra"}, "hello"),
        ({"salt": ""}, "hello"),
        ({"sep": "/"}, "hello:world"),
        ({"sep": "~~"}, "x"),
        ({"algorithm": "sha1"}, "hello"),
        ({"algorithm": "sha512", "salt": "s"}, "hello"),
        ({"key": "another-key"}, "caf\u00e9 \U0001f600"),
        ({"key": OLD_SECRET_KEY}, "signed with the old key"),
    ]
    for kwargs, value in cases:
        s = signing.Signer(**kwargs)
        out.append({**kwargs, "value": value, "signed": s.sign(value)})
    return out


def timestamp_signer_vectors():
    out = []
    for kwargs, value, now in [
        ({}, "hello", T0),
        ({"salt": "ts"}, "a:b", T0 + 3600),
        ({"sep": "/", "algorithm": "sha1"}, "x", T0),
        ({"key": OLD_SECRET_KEY}, "old", T0),
    ]:
        with at(now):
            out.append({**kwargs, "value": value, "now": now,
                        "signed": signing.TimestampSigner(**kwargs).sign(value)})
    return out


def dumps_vectors():
    out = []
    for obj in OBJECTS:
        for compress in (False, True):
            for salt in ("django.core.signing", "django.contrib.sessions.backends.signed_cookies"):
                with at(T0):
                    signed = signing.dumps(obj, salt=salt, compress=compress)
                out.append({
                    "obj": obj, "salt": salt, "compress": compress, "now": T0,
                    "json": signing.JSONSerializer().dumps(obj).decode("latin-1"),
                    "signed": signed,
                })
    return out


def loads_vectors():
    """Values Django signed, and what loads makes of them (now, max_age)."""
    out = []
    for obj in [{"user": 1, "name": "caf\u00e9"}, list(range(100)), "hello"]:
        with at(T0):
            signed = signing.dumps(obj, compress=True)
        for now, max_age in [(T0, None), (T0 + 10, 11), (T0 + 10, 10), (T0 + 100, 9.5),
                             (T0 + 3600, 3600)]:
            with at(now):
                r = error_of(lambda: signing.loads(signed, max_age=max_age))
            out.append({"signed": signed, "salt": "django.core.signing", "now": now,
                        "max_age": max_age, **r})
    # Signed with the key now only a fallback: loads with SECRET_KEY_FALLBACKS.
    with at(T0):
        old = signing.dumps({"rotated": True}, key=OLD_SECRET_KEY)
    with at(T0 + 1):
        out.append({"signed": old, "salt": "django.core.signing", "now": T0 + 1,
                    "max_age": None, **error_of(lambda: signing.loads(old))})
        # Without the fallback, the same value is a bad signature.
        out.append({"signed": old, "salt": "django.core.signing", "now": T0 + 1,
                    "max_age": None, "fallback_keys": [],
                    **error_of(lambda: signing.loads(old, fallback_keys=[]))})
    # Tampered values.
    with at(T0):
        good = signing.dumps({"a": 1})
    value, ts, sig = good.split(":")
    for bad in [
        good + "x",
        good[:-1],
        "x" + good,
        value + ":" + ts,
        value,
        good.replace(":", "/"),
        ".eJyrVkpUsjKsBQAQHAMj:" + ts + ":" + sig,
        "",
        ":",
        "::",
    ]:
        with at(T0):
            out.append({"signed": bad, "salt": "django.core.signing", "now": T0,
                        "max_age": None, **error_of(lambda: signing.loads(bad))})
    with at(T0):
        out.append({"signed": good, "salt": "other-salt", "now": T0, "max_age": None,
                    **error_of(lambda: signing.loads(good, salt="other-salt"))})
    return out


def cookie_vectors():
    out = []
    for name, value, salt in [("name", "value", ""), ("sessionid", "abc:def", "s"),
                              ("c", "caf\u00e9", "salty")]:
        resp_salt = signing._cookie_signer_salt(name, salt)
        with at(T0):
            signed = signing.get_cookie_signer(salt=resp_salt).sign(value)
            legacy = signing.get_cookie_signer(
                salt=signing._cookie_signer_legacy_salt(name, salt)).sign(value)
        out.append({"cookie_name": name, "value": value, "salt": salt, "now": T0,
                    "signed": signed, "legacy_signed": legacy})
    return out


def messages_vectors():
    """The `messages` cookie Django's CookieStorage writes, with the notes app's key."""
    out = []
    with override_settings(SECRET_KEY=NOTES_SECRET_KEY, SECRET_KEY_FALLBACKS=[]):
        storage = CookieStorage.__new__(CookieStorage)
        storage.signer = signing.get_cookie_signer(salt=storage.key_salt)
        for messages in [
            [Message(25, "Note saved.")],
            [Message(20, "caf\u00e9"), Message(40, "Oops", extra_tags="urgent")],
            [Message(25, "Note saved. " * 30)],
        ]:
            with at(T0):
                encoded = storage._encode(messages)
            # What the cookie holds once unsigned: MessageEncoder's lists, one per message.
            decoded = json.loads("[" + ",".join(MessagePartSerializer().dumps(messages)) + "]")
            out.append({"secret_key": NOTES_SECRET_KEY, "now": T0,
                        "decoded": decoded, "signed": encoded})
    return out


def password_vectors():
    out = []
    for password, salt, iterations, hasher in [
        ("password", "seasalt", 1_000_000, "pbkdf2_sha256"),
        ("password", "seasalt", 10_000, "pbkdf2_sha256"),
        ("correct horse battery staple", "notessaltalice", 10_000, "pbkdf2_sha256"),
        ("p\u00e4ssw\u00f6rd \U0001f600", "abcdefghijklmnopqrstuv", 10_000, "pbkdf2_sha256"),
        ("", "emptypassword", 10_000, "pbkdf2_sha256"),
        ("password", "seasalt", 10_000, "pbkdf2_sha1"),
        ("x" * 200, "long", 1000, "pbkdf2_sha256"),
    ]:
        h = hashers.get_hasher(hasher)
        out.append({"password": password, "salt": salt, "iterations": iterations,
                    "hasher": hasher, "encoded": h.encode(password, salt, iterations)})
    return out


def check_password_vectors(made):
    out = []
    contract = [
        "pbkdf2_sha256$10000$notessaltalice$ZbfiDUP9TIZjov7FbXiBmTf6PK5wqRiO4BJrJFN0yZw=",
        "pbkdf2_sha256$10000$notessaltroot00$TSKivmpMw6CVUaD1vHQAID0YJKnfBjQFneqA9RyIhUw=",
    ]
    cases = []
    for m in made:
        if m["iterations"] > 10_000:
            continue
        cases.append((m["password"], m["encoded"]))
        cases.append((m["password"] + "x", m["encoded"]))
    for encoded in contract:
        cases.append(("not-the-password", encoded))
    cases += [
        ("password", "!unusable"),
        ("password", ""),
        ("password", "unknown$1$2$3"),
        ("password", "5f4dcc3b5aa765d61d8327deb882cf99"),
        ("password", made[1]["encoded"].replace("$10000$", "$010000$")),
        ("password", made[1]["encoded"].replace("$10000$", "$+10_000$")),
    ]
    for password, encoded in cases:
        r = error_of(lambda: list(hashers.verify_password(password, encoded)))
        out.append({"password": password, "encoded": encoded, **r})
    for encoded in ["pbkdf2_sha256$abc$salt$hash", "pbkdf2_sha256$1000$salt",
                    "pbkdf2_sha256$-1$salt$hash", "pbkdf2_sha256$1000$$hash"]:
        r = error_of(lambda: hashers.check_password("password", encoded))
        out.append({"password": "password", "encoded": encoded, **r})
    return out


def main():
    made = password_vectors()
    vectors = {
        "django_version": django.get_version(),
        "secret_key": SECRET_KEY,
        "secret_key_fallbacks": [OLD_SECRET_KEY],
        "salted_hmac": salted_hmac_vectors(),
        "b64_decode": b64_decode_vectors(),
        "b62": b62_vectors(),
        "signer": signer_vectors(),
        "timestamp_signer": timestamp_signer_vectors(),
        "dumps": dumps_vectors(),
        "loads": loads_vectors(),
        "cookies": cookie_vectors(),
        "messages": messages_vectors(),
        "make_password": made,
        "verify_password": check_password_vectors(made),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_vectors.json")
    with open(path, "w", encoding="ascii") as f:
        json.dump(vectors, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
