//! Fuzzes handler-core's `signing` (Django's `django.core.signing`), which reads values a
//! client sends back (session and messages cookies, tokens):
//! - `loads`, `Signer::unsign`, `TimestampSigner::unsign` / `unsign_object`, `b64_decode`,
//!   `b62_decode` and the JSON serializer never panic on any input;
//! - `loads(dumps(x)) == x` for any JSON `x`, compressed or not, and a `Signer` /
//!   `TimestampSigner` with any separator it accepts gives back what it signed;
//! - a signed value changed anywhere never loads: it is a `BadSignature`, before any
//!   decoding.
//!
//! The key is the one of handler-core's Django vectors, so the seeds (values Django signed,
//! `fuzz/seeds/signing/`) reach the decoding behind a good signature. The first byte picks
//! the salt, the `max_age` and the tampering; the rest is the value, or JSON.
#![no_main]

use std::time::Duration;

use handler_core::signing::{
    self, b62_decode, b64_decode, JsonSerializer, SecretKeys, Signer, SigningError,
    TimestampSigner, DEFAULT_SALT,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// `handler-core/tests/vectors/django_vectors.json`'s `secret_key` and fallback.
const KEY: &str = "django-insecure-vectors-key-0123456789abcdefghijklmnop";
const OLD_KEY: &str = "django-insecure-old-vectors-key-9876543210";
const SESSION_SALT: &str = "django.contrib.sessions.backends.signed_cookies";
const NOW: f64 = 1_700_000_000.0;

/// `signed` with one change picked by `how` and `bytes`: a byte replaced, inserted or removed,
/// or the text cut short. May return `signed` itself (then there is nothing to check).
fn tamper(signed: &str, how: u8, bytes: &[u8]) -> String {
    let mut out = signed.as_bytes().to_vec();
    let at = bytes.first().map_or(0, |&b| usize::from(b)) % (out.len() + 1);
    let byte = bytes.get(1).copied().unwrap_or(b'A');
    match how % 4 {
        0 if at < out.len() => out[at] = byte,
        1 => out.insert(at, byte),
        2 if at < out.len() => {
            out.remove(at);
        }
        _ => out.truncate(at),
    }
    String::from_utf8_lossy(&out).into_owned()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keys = SecretKeys::new(KEY, [OLD_KEY]).expect("a key");
    let salt = if mode & 1 == 0 {
        DEFAULT_SALT
    } else {
        SESSION_SALT
    };
    let max_age = (mode & 2 != 0).then(|| Duration::from_secs(u64::from(mode >> 2)));
    let text = String::from_utf8_lossy(rest);

    // Anything at all: errors, never panics.
    let _ = signing::loads::<Value>(&text, &keys, salt, max_age);
    let _ = Signer::new(&keys).unsign(&text);
    let timestamped = TimestampSigner::new(&keys).with_salt(salt).with_time(NOW);
    let _ = timestamped.unsign(&text, max_age);
    let _ = timestamped.unsign_object::<Value>(&text, max_age);
    let _ = b64_decode(rest);
    let _ = b62_decode(&text);
    let _ = JsonSerializer::loads::<Value>(rest);

    // Signer and TimestampSigner round trips, with the separator the input starts with.
    let sep: String = text.chars().take(usize::from(mode % 3) + 1).collect();
    for signer in [Signer::new(&keys), Signer::new(&keys).with_salt(salt)]
        .into_iter()
        .chain(Signer::new(&keys).with_sep(&sep).ok())
    {
        let signed = signer.sign(&text);
        assert_eq!(signer.unsign(&signed), Ok(&*text), "sep {:?}", signer.sep());
        let tampered = tamper(&signed, mode >> 2, rest);
        if tampered != signed {
            let e = signer
                .unsign(&tampered)
                .expect_err("a tampered value unsigned");
            assert!(matches!(e, SigningError::BadSignature(_)), "{e}");
        }
    }
    if let Ok(ts) = timestamped.clone().with_sep(&sep) {
        let signed = ts.sign(&text);
        assert_eq!(ts.unsign(&signed, Some(Duration::ZERO)), Ok(&*text));
    }

    // loads(dumps(x)) == x for JSON x (the input if it is JSON, else the input as a string),
    // and tampering with the signed form is caught by the signature.
    let obj: Value =
        serde_json::from_slice(rest).unwrap_or_else(|_| Value::String(text.clone().into_owned()));
    for compress in [false, true] {
        let signed = signing::dumps(&obj, &keys, salt, compress).expect("a Value serializes");
        let loaded: Value = signing::loads(&signed, &keys, salt, None).expect("dumps loads");
        assert_eq!(loaded, obj, "loads(dumps(x)) == x (compress={compress})");
        let back: Value = JsonSerializer::loads(&JsonSerializer::dumps(&obj).expect("serializes"))
            .expect("Python-style JSON parses");
        assert_eq!(back, obj);
        let tampered = tamper(&signed, mode >> 2, rest);
        if tampered != signed {
            let e = signing::loads::<Value>(&tampered, &keys, salt, None)
                .expect_err("a tampered value loaded");
            assert!(e.is_bad_signature(), "tampering reached the payload: {e}");
        }
    }
});
