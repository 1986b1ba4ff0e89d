//! Interop with Django 5.2, from vectors Django itself made (`vectors/make_vectors.py`, its
//! output committed as `vectors/django_vectors.json`): handler-core's signing, crypto and
//! password hashing give Django's bytes for the same inputs, and load what Django made.
//!
//! The other direction (values made here, loaded by Django) is checked by
//! `vectors/check_portico_output.py`, run by hand on the file the last test writes.

use std::time::Duration;

use handler_core::auth::hashers::{
    check_password, verify_password, PasswordHashError, Pbkdf2Hasher, Verified,
};
use handler_core::crypto::{salted_hmac, Algorithm};
use handler_core::signing::{
    self, b62_decode, b62_encode, b64_decode, get_cookie_signer, sign_cookie_value,
    unsign_cookie_value, JsonSerializer, SecretKeys, Signer, SigningError, TimestampSigner,
};
use serde_json::{json, Value};

const VECTORS: &str = include_str!("vectors/django_vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors/django_vectors.json is JSON")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn opt_s<'a>(case: &'a Value, field: &str) -> Option<&'a str> {
    case.get(field).and_then(Value::as_str)
}

fn keys(v: &Value) -> SecretKeys {
    let fallbacks: Vec<String> = v["secret_key_fallbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| s(k).to_string())
        .collect();
    SecretKeys::new(s(&v["secret_key"]), fallbacks).unwrap()
}

/// A Signer as Django's `Signer(**kwargs)` with the case's `key`, `salt`, `sep` and
/// `algorithm`.
fn signer(all: &Value, case: &Value) -> Signer {
    let keys = match opt_s(case, "key") {
        Some(key) => SecretKeys::new(key, keys(all).fallbacks().to_vec()).unwrap(),
        None => keys(all),
    };
    let mut signer = Signer::new(&keys).with_salt(opt_s(case, "salt").unwrap_or(""));
    if let Some(sep) = opt_s(case, "sep") {
        signer = signer.with_sep(sep).unwrap();
    }
    if let Some(algorithm) = opt_s(case, "algorithm") {
        signer = signer.with_algorithm(algorithm.parse().unwrap());
    }
    signer
}

fn timestamp_signer(all: &Value, case: &Value) -> TimestampSigner {
    let keys = match opt_s(case, "key") {
        Some(key) => SecretKeys::new(key, keys(all).fallbacks().to_vec()).unwrap(),
        None => keys(all),
    };
    let mut signer = TimestampSigner::new(&keys)
        .with_salt(opt_s(case, "salt").unwrap_or(""))
        .with_time(case["now"].as_f64().unwrap());
    if let Some(sep) = opt_s(case, "sep") {
        signer = signer.with_sep(sep).unwrap();
    }
    if let Some(algorithm) = opt_s(case, "algorithm") {
        signer = signer.with_algorithm(algorithm.parse().unwrap());
    }
    signer
}

fn max_age(case: &Value) -> Option<Duration> {
    case["max_age"].as_f64().map(Duration::from_secs_f64)
}

#[test]
fn vectors_are_django_5_2s() {
    assert!(s(&vectors()["django_version"]).starts_with("5.2"));
}

#[test]
fn salted_hmac_is_djangos() {
    let v = vectors();
    let cases = v["salted_hmac"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let algorithm: Algorithm = s(&case["algorithm"]).parse().unwrap();
        let digest = salted_hmac(
            s(&case["key_salt"]),
            s(&case["value"]).as_bytes(),
            s(&case["secret"]).as_bytes(),
            algorithm,
        );
        assert_eq!(digest.hexdigest(), s(&case["hexdigest"]), "{case}");
    }
}

#[test]
fn b64_decode_is_as_lenient_as_djangos() {
    let v = vectors();
    for case in v["b64_decode"].as_array().unwrap() {
        let got = b64_decode(s(&case["input"]).as_bytes());
        match opt_s(case, "ok") {
            Some(hex) => {
                let hex_got: String = got
                    .unwrap_or_else(|| panic!("{case}: refused"))
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(hex_got, hex, "{case}");
            }
            None => assert_eq!(got, None, "{case}"),
        }
    }
}

#[test]
fn b62_is_djangos() {
    let v = vectors();
    for case in v["b62"].as_array().unwrap() {
        let n = case["n"].as_i64().unwrap();
        assert_eq!(b62_encode(n), s(&case["text"]));
        assert_eq!(b62_decode(s(&case["text"])), Some(n));
    }
}

#[test]
fn signer_output_is_djangos() {
    let v = vectors();
    for case in v["signer"].as_array().unwrap() {
        let signer = signer(&v, case);
        let value = s(&case["value"]);
        assert_eq!(signer.sign(value), s(&case["signed"]), "{case}");
        assert_eq!(signer.unsign(s(&case["signed"])), Ok(value), "{case}");
    }
}

#[test]
fn values_signed_with_a_fallback_key_unsign() {
    let v = vectors();
    let old = v["signer"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| s(&c["value"]) == "signed with the old key")
        .unwrap();
    // The current key with the old one as a fallback reads it; without fallbacks, not.
    let current = Signer::new(&keys(&v));
    assert_eq!(
        current.unsign(s(&old["signed"])),
        Ok("signed with the old key")
    );
    let e = current
        .with_fallback_keys(Vec::<String>::new())
        .unsign(s(&old["signed"]))
        .unwrap_err();
    assert!(matches!(e, SigningError::BadSignature(_)));
}

#[test]
fn timestamp_signer_output_is_djangos() {
    let v = vectors();
    for case in v["timestamp_signer"].as_array().unwrap() {
        let signer = timestamp_signer(&v, case);
        let value = s(&case["value"]);
        assert_eq!(signer.sign(value), s(&case["signed"]), "{case}");
        assert_eq!(signer.unsign(s(&case["signed"]), None), Ok(value), "{case}");
    }
}

#[test]
fn json_serializer_is_djangos() {
    let v = vectors();
    for case in v["dumps"].as_array().unwrap() {
        let json = JsonSerializer::dumps(&case["obj"]).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), s(&case["json"]), "{case}");
        // And Django's JSON reads back as the object.
        let back: Value = JsonSerializer::loads(s(&case["json"]).as_bytes()).unwrap();
        assert_eq!(back, case["obj"], "{case}");
    }
}

#[test]
fn dumps_output_is_djangos_byte_for_byte() {
    let v = vectors();
    let keys = keys(&v);
    let cases = v["dumps"].as_array().unwrap();
    let compressed = cases
        .iter()
        .filter(|c| s(&c["signed"]).starts_with('.'))
        .count();
    assert!(compressed >= 8, "the vectors exercise zlib: {compressed}");
    for case in cases {
        let compress = case["compress"].as_bool().unwrap();
        let salt = s(&case["salt"]);
        let signer = TimestampSigner::new(&keys)
            .with_salt(salt)
            .with_time(case["now"].as_f64().unwrap());
        let signed = signer.sign_object(&case["obj"], compress).unwrap();
        assert_eq!(signed, s(&case["signed"]), "{case}");
        // signing::dumps is the same with the real clock: equal up to the timestamp.
        let now = signing::dumps(&case["obj"], &keys, salt, compress).unwrap();
        assert_eq!(
            now.split(':').next(),
            signed.split(':').next(),
            "{case}: the payload"
        );
        let loaded: Value = signing::loads(s(&case["signed"]), &keys, salt, None).unwrap();
        assert_eq!(loaded, case["obj"], "{case}");
    }
}

#[test]
fn loads_agrees_with_django() {
    let v = vectors();
    let all_keys = keys(&v);
    for case in v["loads"].as_array().unwrap() {
        let mut signer = TimestampSigner::new(&all_keys)
            .with_salt(s(&case["salt"]))
            .with_time(case["now"].as_f64().unwrap());
        if case.get("fallback_keys").is_some() {
            signer = signer.with_fallback_keys(Vec::<String>::new());
        }
        let got = signer.unsign_object::<Value>(s(&case["signed"]), max_age(case));
        match (case.get("ok"), opt_s(case, "error")) {
            (Some(ok), _) => assert_eq!(got.as_ref(), Ok(ok), "{case}"),
            (None, Some("SignatureExpired")) => assert_eq!(
                got,
                Err(SigningError::SignatureExpired(
                    s(&case["message"]).to_string()
                )),
                "{case}"
            ),
            (None, Some("BadSignature")) => assert_eq!(
                got,
                Err(SigningError::BadSignature(s(&case["message"]).to_string())),
                "{case}"
            ),
            // Django's ValueError / binascii.Error / JSONDecodeError after a good signature.
            (None, Some(other)) => assert!(
                matches!(got, Err(SigningError::Malformed(_))),
                "{case}: Django raised {other}, here {got:?}"
            ),
            (None, None) => panic!("a case with neither ok nor error: {case}"),
        }
    }
}

#[test]
fn cookie_signatures_are_djangos() {
    let v = vectors();
    let keys = keys(&v);
    for case in v["cookies"].as_array().unwrap() {
        let (name, value, salt) = (s(&case["cookie_name"]), s(&case["value"]), s(&case["salt"]));
        let now = case["now"].as_f64().unwrap();
        let v2 = signing::cookie_signer_salt(name, salt);
        assert_eq!(
            get_cookie_signer(&keys, &v2).with_time(now).sign(value),
            s(&case["signed"]),
            "{case}"
        );
        for signed in [s(&case["signed"]), s(&case["legacy_signed"])] {
            assert_eq!(
                unsign_cookie_value(&keys, name, signed, salt, None),
                Ok(value),
                "{case}"
            );
        }
        // With the real clock the value differs by its timestamp only.
        let fresh = sign_cookie_value(&keys, name, value, salt);
        assert_eq!(
            unsign_cookie_value(&keys, name, &fresh, salt, Some(Duration::from_secs(60))),
            Ok(value)
        );
    }
}

#[test]
fn messages_cookies_are_djangos() {
    let v = vectors();
    for case in v["messages"].as_array().unwrap() {
        let keys = SecretKeys::new(s(&case["secret_key"]), Vec::<String>::new()).unwrap();
        let signer = get_cookie_signer(&keys, "django.contrib.messages")
            .with_time(case["now"].as_f64().unwrap());
        // Django's CookieStorage: each message serialised, joined in "[...]", compressed.
        let parts: Vec<Vec<u8>> = case["decoded"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| JsonSerializer::dumps(m).unwrap())
            .collect();
        let data = [b"[".to_vec(), parts.join(&b","[..]), b"]".to_vec()].concat();
        assert_eq!(
            signer.sign_payload(&data, true),
            s(&case["signed"]),
            "{case}"
        );
        let loaded: Value = signer.unsign_object(s(&case["signed"]), None).unwrap();
        assert_eq!(loaded, case["decoded"]);
    }
}

#[test]
fn make_password_is_djangos() {
    let v = vectors();
    let cases = v["make_password"].as_array().unwrap();
    assert!(cases
        .iter()
        .any(|c| c["iterations"].as_u64() == Some(1_000_000)));
    for case in cases {
        let hasher = match s(&case["hasher"]) {
            "pbkdf2_sha256" => Pbkdf2Hasher::SHA256,
            "pbkdf2_sha1" => Pbkdf2Hasher::SHA1,
            other => panic!("no hasher {other}"),
        };
        let iterations = case["iterations"].as_u64().unwrap() as u32;
        let encoded = hasher
            .encode(s(&case["password"]), s(&case["salt"]), Some(iterations))
            .unwrap();
        assert_eq!(encoded, s(&case["encoded"]), "{case}");
    }
}

#[test]
fn verify_password_agrees_with_django() {
    let v = vectors();
    let cases = v["verify_password"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let (password, encoded) = (s(&case["password"]), s(&case["encoded"]));
        match case.get("ok") {
            // verify_password: [is_correct, must_update], with Django's default preferred.
            Some(Value::Array(pair)) => {
                let expected = Verified {
                    is_correct: pair[0].as_bool().unwrap(),
                    must_update: pair[1].as_bool().unwrap(),
                };
                // A wrong password against Django's default costs the 1,000,000 iterations
                // the hash lacks (harden_runtime), and an unusable or unknown one a whole
                // default hash; a debug build takes seconds for each, so those use a
                // preferred hasher of the hash's own strength: the answer is the same, and
                // so is must_update where the hasher is unknown.
                if expected.is_correct {
                    let got = verify_password(password, encoded, &Pbkdf2Hasher::SHA256);
                    assert_eq!(got, Ok(expected), "{case}");
                } else {
                    let iterations = encoded.split('$').nth(1).unwrap_or("1");
                    let iterations: u32 = iterations.parse().unwrap_or(1000);
                    let cheap = Pbkdf2Hasher::SHA256.with_iterations(iterations);
                    let got = verify_password(password, encoded, &cheap).unwrap();
                    assert!(!got.is_correct, "{case}");
                    if !encoded.starts_with("pbkdf2_") {
                        assert_eq!(got, expected, "{case}");
                    }
                }
            }
            Some(other) => panic!("unexpected {other}"),
            // Django's ValueError for a malformed pbkdf2 hash.
            None => {
                let got = check_password(password, encoded);
                assert!(
                    matches!(
                        got,
                        Err(PasswordHashError::Malformed(_) | PasswordHashError::InvalidSalt)
                    ),
                    "{case}: {got:?}"
                );
                if s(&case["message"]) == "salt must be provided and cannot contain $." {
                    assert_eq!(got, Err(PasswordHashError::InvalidSalt));
                }
            }
        }
    }
}

/// Values made here for `vectors/check_portico_output.py` to load in Django: written to
/// `target/tmp/portico_signing_output.json` on every run, checked here first.
#[test]
fn write_portico_output_for_django() {
    let v = vectors();
    let keys = keys(&v);
    let mut dumps = Vec::new();
    for (obj, salt, compress) in [
        (
            json!({"made": "by portico", "n": [1, 2.5, -3e-7, null]}),
            signing::DEFAULT_SALT,
            false,
        ),
        (
            json!({"text": "caf\u{e9} \u{1f600} ".repeat(50)}),
            signing::DEFAULT_SALT,
            true,
        ),
        (
            json!({"_session_expiry": 1209600, "count": 7}),
            "django.contrib.sessions.backends.signed_cookies",
            true,
        ),
        (json!("short"), "x", true),
    ] {
        let signed = signing::dumps(&obj, &keys, salt, compress).unwrap();
        let back: Value =
            signing::loads(&signed, &keys, salt, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(back, obj);
        dumps.push(json!({"obj": obj, "salt": salt, "signed": signed}));
    }
    let old_keys = SecretKeys::new(s(&v["secret_key_fallbacks"][0]), Vec::<String>::new()).unwrap();
    let signed_old = signing::dumps(
        &json!({"rotated": "here"}),
        &old_keys,
        signing::DEFAULT_SALT,
        false,
    )
    .unwrap();
    dumps.push(
        json!({"obj": {"rotated": "here"}, "salt": signing::DEFAULT_SALT, "signed": signed_old}),
    );

    let signer = Signer::new(&keys).with_salt("portico");
    let signed_value = signer.sign("value:with:colons");
    let messages = get_cookie_signer(&keys, "django.contrib.messages")
        .sign_payload(br#"[["__json_message",0,25,"Note saved."]]"#, true);
    let cookie = sign_cookie_value(&keys, "name", "value", "salt");
    let hasher = Pbkdf2Hasher::SHA256.with_iterations(10_000);
    let passwords: Vec<Value> = ["password", "p\u{e4}ssw\u{f6}rd \u{1f600}", ""]
        .iter()
        .map(|p| {
            let encoded =
                handler_core::auth::hashers::make_password_with(p, None, &hasher).unwrap();
            json!({"password": p, "encoded": encoded})
        })
        .collect();
    let output = json!({
        "secret_key": v["secret_key"],
        "secret_key_fallbacks": v["secret_key_fallbacks"],
        "dumps": dumps,
        "signer": {"salt": "portico", "value": "value:with:colons", "signed": signed_value},
        "messages": {"decoded": [["__json_message", 0, 25, "Note saved."]], "signed": messages},
        "signed_cookie": {"cookie_name": "name", "salt": "salt", "value": "value", "signed": cookie},
        "passwords": passwords,
    });
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portico_signing_output.json");
    std::fs::write(&path, serde_json::to_string_pretty(&output).unwrap()).unwrap();
}
