//! Django's `django.core.signing`: values signed with the settings' `secret_key` so they can
//! travel through a client and come back untampered. [`Signer`], [`TimestampSigner`], the
//! module-level [`dumps`] / [`loads`], the cookie signer, and the encodings they use
//! ([`b64_encode`], [`b64_decode`], [`b62_encode`], [`b62_decode`], [`JsonSerializer`]).
//!
//! The output is byte for byte Django's: a value signed here loads in Django with the same key
//! and salt, and the other way round. The format of `dumps`:
//!
//! ```text
//! [.]<urlsafe base64 of the JSON, zlib-compressed when "." leads>:<base62 timestamp>:<signature>
//! ```
//!
//! where the signature is the urlsafe base64 of
//! [`salted_hmac`]`(salt + "signer", everything before the last ":", key, sha256)`.
//!
//! ```
//! use handler_core::signing::{self, SecretKeys, Signer, DEFAULT_SALT};
//! use serde_json::json;
//!
//! let keys = SecretKeys::new("django-insecure-key", Vec::<String>::new()).unwrap();
//! let signed = Signer::new(&keys).sign("hello");
//! assert_eq!(Signer::new(&keys).unsign(&signed), Ok("hello"));
//!
//! let token = signing::dumps(&json!({"user": 1}), &keys, DEFAULT_SALT, false).unwrap();
//! let value: serde_json::Value = signing::loads(&token, &keys, DEFAULT_SALT, None).unwrap();
//! assert_eq!(value, json!({"user": 1}));
//! assert!(signing::loads::<serde_json::Value>(&token, &keys, "another salt", None).is_err());
//! ```
//!
//! Where Python's `json.loads` is wider than serde_json, a Django-made value may fail to load
//! here although its signature is good ([`SigningError::Malformed`]): `NaN` and `Infinity`,
//! escaped lone surrogates, more than 128 levels of nesting, and integers beyond 64 bits (which
//! load as floats into a `serde_json::Value`). Django itself never writes the first three for
//! JSON data made of strings, numbers, lists and dicts.
//!
//! Reference: `django/core/signing.py` (Django 5.2).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::crypto::{constant_time_compare, salted_hmac, Algorithm};
use crate::python::float_repr;
use crate::settings::{ConfigError, Settings};

/// `dumps`' and `loads`' default salt.
pub const DEFAULT_SALT: &str = "django.core.signing";

/// A [`Signer`]'s default salt (Django's `"%s.%s" % (module, class name)`).
pub const SIGNER_SALT: &str = "django.core.signing.Signer";

/// A [`TimestampSigner`]'s default salt.
pub const TIMESTAMP_SIGNER_SALT: &str = "django.core.signing.TimestampSigner";

/// [`get_cookie_signer`]'s default salt.
pub const COOKIE_SIGNER_SALT: &str = "django.core.signing.get_cookie_signer";

/// Django's `BASE62_ALPHABET`, for timestamps.
pub const BASE62_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a signed value was refused.
///
/// Django's `SignatureExpired` is a subclass of `BadSignature`, so `except BadSignature`
/// catches both; [`is_bad_signature`](Self::is_bad_signature) is that test here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningError {
    /// Django's `BadSignature`: no separator, or a signature that none of the keys made.
    /// The message is Django's (`Signature "…" does not match`).
    BadSignature(String),
    /// Django's `SignatureExpired`: the signature is good but older than `max_age`
    /// (`Signature age 12.5 > 10 seconds`).
    SignatureExpired(String),
    /// The signature is good, but what it signs is not what a signer makes: a timestamp that
    /// is not base62, a payload that is not base64, zlib or JSON of the wanted type. Django
    /// raises `ValueError`, `binascii.Error`, `zlib.error` or `JSONDecodeError` here. Only a
    /// holder of the key can produce one.
    Malformed(String),
}

impl SigningError {
    /// Whether Django would raise a `BadSignature` (or its subclass `SignatureExpired`).
    pub fn is_bad_signature(&self) -> bool {
        !matches!(self, SigningError::Malformed(_))
    }
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningError::BadSignature(m) => write!(f, "BadSignature: {m}"),
            SigningError::SignatureExpired(m) => write!(f, "SignatureExpired: {m}"),
            SigningError::Malformed(m) => write!(f, "malformed signed value: {m}"),
        }
    }
}

impl std::error::Error for SigningError {}

/// A separator Django refuses (`ValueError: Unsafe Signer separator`): empty, or made only of
/// characters that can appear in a signature or a timestamp (`A-z`, `0-9`, `-`, `_`, `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeSeparator(pub String);

impl fmt::Display for UnsafeSeparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unsafe Signer separator: {} (cannot be empty or consist of only A-z0-9-_=)",
            crate::python::str_repr(&self.0)
        )
    }
}

impl std::error::Error for UnsafeSeparator {}

/// Django's `SECRET_KEY` and `SECRET_KEY_FALLBACKS`, checked once: the key signs and is tried
/// first, the fallbacks are only tried when unsigning. `Debug` does not show them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKeys {
    key: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
}

/// Django's message when something needs an empty `SECRET_KEY`.
const EMPTY_SECRET_KEY: &str = "The SECRET_KEY setting must not be empty.";

impl SecretKeys {
    /// The settings' `secret_key` and `secret_key_fallbacks`. An empty `secret_key` is Django's
    /// `ImproperlyConfigured("The SECRET_KEY setting must not be empty.")`, naming the file.
    pub fn from_settings(settings: &Settings) -> Result<SecretKeys, ConfigError> {
        if settings.secret_key.is_empty() {
            let file = settings
                .path()
                .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
            return Err(ConfigError::new(format!(
                "{file}: ImproperlyConfigured: {EMPTY_SECRET_KEY}"
            )));
        }
        Ok(SecretKeys {
            key: settings.secret_key.as_bytes().to_vec(),
            fallbacks: settings
                .secret_key_fallbacks
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
        })
    }

    /// Explicit keys (Django's `key=` and `fallback_keys=` arguments); an empty `key` is the
    /// same error as an empty setting.
    pub fn new<K: Into<Vec<u8>>>(
        key: impl Into<Vec<u8>>,
        fallbacks: impl IntoIterator<Item = K>,
    ) -> Result<SecretKeys, ConfigError> {
        let key = key.into();
        if key.is_empty() {
            return Err(ConfigError::new(format!(
                "ImproperlyConfigured: {EMPTY_SECRET_KEY}"
            )));
        }
        Ok(SecretKeys {
            key,
            fallbacks: fallbacks.into_iter().map(Into::into).collect(),
        })
    }

    /// The key that signs.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The older keys, tried in order after [`key`](Self::key) when unsigning.
    pub fn fallbacks(&self) -> &[Vec<u8>] {
        &self.fallbacks
    }
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SecretKeys {{ key: <{} bytes>, fallbacks: <{}> }}",
            self.key.len(),
            self.fallbacks.len()
        )
    }
}

/// Django's `b64_encode`: urlsafe base64 (`-` and `_`) without the `=` padding.
pub fn b64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Django's `b64_decode`: pads to a multiple of four and decodes as Python's
/// `base64.urlsafe_b64decode` does, which is lenient: characters outside the alphabet are
/// skipped, both alphabets are accepted (`-_` and `+/`), the unused low bits of the last
/// character are ignored, and decoding stops at the first complete padding. `None` where
/// Python raises `binascii.Error` (one data character too many, or padding missing).
pub fn b64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let pad = (4 - text.len() % 4) % 4;
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    // CPython's binascii.a2b_base64 with strict_mode=False (Modules/binascii.c, 3.11).
    let mut quad_pos = 0u8;
    let mut left: u8 = 0;
    let mut pads = 0u8;
    for &c in text.iter().chain(&b"==="[..pad]) {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = b64_value(c) else { continue };
        pads = 0;
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push((left << 6) | v);
                quad_pos = 0;
            }
        }
    }
    (quad_pos == 0).then_some(out)
}

/// The 6-bit value of a base64 character, either alphabet (`urlsafe_b64decode` maps `-_` to
/// `+/` and then decodes the standard alphabet).
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Django's `b62_encode`: `n` in base 62 ([`BASE62_ALPHABET`]), `-` in front of a negative.
pub fn b62_encode(n: i64) -> String {
    if n == 0 {
        return "0".to_string();
    }
    let mut digits = Vec::new();
    let mut rest = n.unsigned_abs();
    while rest > 0 {
        digits.push(BASE62_ALPHABET[(rest % 62) as usize]);
        rest /= 62;
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.reverse();
    digits.into_iter().map(char::from).collect()
}

/// Django's `b62_decode`; `None` where Python raises (an empty string, a character outside
/// the alphabet) and where the value does not fit an `i64` (Python's integers have no limit;
/// eleven base-62 digits already reach past the year 10,000).
pub fn b62_decode(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        _ if text.is_empty() => return None,
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut value: i64 = 0;
    for c in digits.bytes() {
        let digit = BASE62_ALPHABET.iter().position(|&d| d == c)?;
        value = value.checked_mul(62)?.checked_add(digit as i64)?;
    }
    Some(if negative { -value } else { value })
}

/// Django's `base64_hmac(salt, value, key, algorithm)`.
fn base64_hmac(salt: &str, value: &str, key: &[u8], algorithm: Algorithm) -> String {
    b64_encode(salted_hmac(salt, value.as_bytes(), key, algorithm).digest())
}

/// Django's `_SEP_UNSAFE.match(sep)`: `^[A-z0-9-_=]*$`, where `$` also matches before a
/// final newline.
fn separator_is_unsafe(sep: &str) -> bool {
    let body = sep.strip_suffix('\n').unwrap_or(sep);
    body.bytes()
        .all(|b| (b'A'..=b'z').contains(&b) || b.is_ascii_digit() || b == b'-' || b == b'=')
}

/// Django's `JSONSerializer`: `json.dumps(obj, separators=(",", ":"))` encoded as Latin-1,
/// and `json.loads` of the bytes read as Latin-1.
///
/// The output is Python's: keys in the order given (`serde_json::Value` keeps it: handler-core
/// builds serde_json with `preserve_order`), every character outside `' '..='~'` escaped as
/// `\uXXXX` (surrogate pairs above the BMP), and floats as Python's `repr` (`1e-05`, `2.0`).
/// serde_json writes `null` for a NaN or an infinity, where Python would write `NaN` or
/// `Infinity`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

impl JsonSerializer {
    /// `obj` as Django's JSON bytes (ASCII only).
    pub fn dumps<T: Serialize + ?Sized>(obj: &T) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::with_capacity(64);
        let mut ser = serde_json::Serializer::with_formatter(&mut out, CompactPythonFormatter);
        obj.serialize(&mut ser)?;
        Ok(out)
    }

    /// `data` read as Latin-1 (every byte one character), then parsed as JSON into `T`.
    pub fn loads<T: DeserializeOwned>(data: &[u8]) -> Result<T, serde_json::Error> {
        match std::str::from_utf8(data) {
            Ok(text) if text.is_ascii() => serde_json::from_str(text),
            _ => {
                let text: String = data.iter().map(|&b| char::from(b)).collect();
                serde_json::from_str(&text)
            }
        }
    }
}

/// serde_json's compact layout (`,` and `:`), with Python's `ensure_ascii` escaping and float
/// `repr`.
struct CompactPythonFormatter;

impl serde_json::ser::Formatter for CompactPythonFormatter {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Python escapes everything outside ' '..='~' (json's ESCAPE_ASCII); serde_json
        // already escapes '"', '\\' and the characters below ' ' (as Python does: \n, \t, …,
        // else \u00xx), which leaves DEL and non-ASCII here.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        writer.write_all(float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f32,
    ) -> std::io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Python's `zlib.compress(data)`: level 6, a zlib header, one `deflate(Z_FINISH)` over all of
/// the input. flate2 runs on the C zlib (its `zlib` feature), the library Python links, so the
/// bytes are the same.
fn zlib_compress(data: &[u8]) -> Vec<u8> {
    thread_local! {
        /// One deflate stream per thread, reset between uses: a new one allocates and clears
        /// about 256 KiB, which on every signed session save cost more than the rest of the
        /// request (page faults as malloc handed the memory back and took it again).
        static DEFLATE: std::cell::RefCell<Compress> =
            std::cell::RefCell::new(Compress::new(Compression::new(6), true));
    }
    DEFLATE.with(|z| match z.try_borrow_mut() {
        Ok(mut z) => {
            z.reset();
            deflate_all(&mut z, data)
        }
        // Re-entered on this thread (not expected): a stream of its own.
        Err(_) => deflate_all(&mut Compress::new(Compression::new(6), true), data),
    })
}

/// Runs `data` through the fresh (or reset) stream `z` to its end.
fn deflate_all(z: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        let consumed = z.total_in() as usize;
        match z.compress_vec(&data[consumed..], &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return out,
            // More room is needed (the loop grows `out`), or deflate wants another call.
            Ok(Status::Ok | Status::BufError) => {}
            // deflate with Z_FINISH on a fresh stream only fails on a broken zlib.
            Err(e) => panic!("zlib deflate failed: {e}"),
        }
    }
}

/// Python's `zlib.decompress(data)`: the whole stream must be there and its checksum right;
/// bytes after its end are ignored.
fn zlib_decompress(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut z = Decompress::new(true);
    let mut out = Vec::with_capacity(data.len().saturating_mul(3).max(64));
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let consumed = z.total_in() as usize;
        let produced = out.len();
        let status = z
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::None)
            .map_err(|e| format!("Error while decompressing data: {e}"))?;
        match status {
            Status::StreamEnd => return Ok(out),
            _ if z.total_in() as usize == consumed && out.len() == produced => {
                // No progress with room to write: the input ended inside the stream.
                return Err(
                    "Error -5 while decompressing data: incomplete or truncated stream".into(),
                );
            }
            _ => {}
        }
    }
}

/// Django's `Signer`: `value:signature`, where the signature is the urlsafe base64 of
/// `salted_hmac(salt + "signer", value, key, algorithm)`. Unsigning tries the key, then each
/// fallback key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    fallback_keys: Vec<Vec<u8>>,
    sep: String,
    salt: String,
    algorithm: Algorithm,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("sep", &self.sep)
            .field("salt", &self.salt)
            .field("algorithm", &self.algorithm)
            .field("fallback_keys", &self.fallback_keys.len())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Django's `Signer()`: `keys`' key and fallbacks, separator `:`, salt
    /// `django.core.signing.Signer`, sha256.
    pub fn new(keys: &SecretKeys) -> Signer {
        Signer {
            key: keys.key.clone(),
            fallback_keys: keys.fallbacks.clone(),
            sep: ":".to_string(),
            salt: SIGNER_SALT.to_string(),
            algorithm: Algorithm::Sha256,
        }
    }

    /// Django's `salt=`; an empty salt means the default, as Django's `salt or …` does.
    pub fn with_salt(self, salt: &str) -> Signer {
        self.with_salt_or(salt, SIGNER_SALT)
    }

    fn with_salt_or(mut self, salt: &str, default: &str) -> Signer {
        self.salt = if salt.is_empty() { default } else { salt }.to_string();
        self
    }

    /// Django's `sep=`: refused when it could appear in a signature.
    pub fn with_sep(mut self, sep: &str) -> Result<Signer, UnsafeSeparator> {
        if separator_is_unsafe(sep) {
            return Err(UnsafeSeparator(sep.to_string()));
        }
        self.sep = sep.to_string();
        Ok(self)
    }

    /// Django's `algorithm=`.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Signer {
        self.algorithm = algorithm;
        self
    }

    /// Django's `fallback_keys=`: replaces the fallbacks taken from the [`SecretKeys`].
    pub fn with_fallback_keys<K: Into<Vec<u8>>>(
        mut self,
        fallback_keys: impl IntoIterator<Item = K>,
    ) -> Signer {
        self.fallback_keys = fallback_keys.into_iter().map(Into::into).collect();
        self
    }

    /// The salt in use.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The separator in use.
    pub fn sep(&self) -> &str {
        &self.sep
    }

    /// Django's `signature(value)`: with the signing key.
    pub fn signature(&self, value: &str) -> String {
        self.signature_with(value, &self.key)
    }

    fn signature_with(&self, value: &str, key: &[u8]) -> String {
        let salt = format!("{}signer", self.salt);
        base64_hmac(&salt, value, key, self.algorithm)
    }

    /// Django's `sign(value)`: `value`, the separator, the signature.
    pub fn sign(&self, value: &str) -> String {
        format!("{value}{}{}", self.sep, self.signature(value))
    }

    /// Django's `unsign(signed_value)`: the value when the signature after the last separator
    /// is the one the key or a fallback key makes, compared in constant time.
    pub fn unsign<'a>(&self, signed_value: &'a str) -> Result<&'a str, SigningError> {
        let Some((value, sig)) = signed_value.rsplit_once(self.sep.as_str()) else {
            return Err(SigningError::BadSignature(format!(
                "No \"{}\" found in value",
                self.sep
            )));
        };
        let keys = std::iter::once(&self.key).chain(&self.fallback_keys);
        for key in keys {
            if constant_time_compare(sig, self.signature_with(value, key)) {
                return Ok(value);
            }
        }
        Err(SigningError::BadSignature(format!(
            "Signature \"{sig}\" does not match"
        )))
    }

    /// Django's `sign_object(obj, compress=…)` with its `JSONSerializer`: the urlsafe base64 of
    /// the JSON, zlib-compressed and marked with a leading `.` when `compress` is set and the
    /// compressed bytes are shorter by more than one, then signed.
    pub fn sign_object<T: Serialize + ?Sized>(
        &self,
        obj: &T,
        compress: bool,
    ) -> Result<String, serde_json::Error> {
        Ok(self.sign(&encode_payload(&JsonSerializer::dumps(obj)?, compress)))
    }

    /// What `sign_object` does after the serializer, for a serializer of one's own (Django's
    /// `serializer=`, such as the messages framework's, which joins parts it has already
    /// serialized).
    pub fn sign_payload(&self, data: &[u8], compress: bool) -> String {
        self.sign(&encode_payload(data, compress))
    }

    /// Django's `unsign_object(signed_obj)` with its `JSONSerializer`.
    pub fn unsign_object<T: DeserializeOwned>(&self, signed_obj: &str) -> Result<T, SigningError> {
        json_loads(&self.unsign_payload(signed_obj)?)
    }

    /// The serialized bytes `sign_payload` signed: unsigned, base64-decoded, decompressed.
    pub fn unsign_payload(&self, signed_obj: &str) -> Result<Vec<u8>, SigningError> {
        decode_payload(self.unsign(signed_obj)?)
    }
}

/// The signed text of `sign_object`: base64 of `data`, compressed behind a `.` when that helps.
fn encode_payload(data: &[u8], compress: bool) -> String {
    if compress {
        let compressed = zlib_compress(data);
        // Django: `if len(compressed) < (len(data) - 1)`.
        if compressed.len() + 1 < data.len() {
            return format!(".{}", b64_encode(&compressed));
        }
    }
    b64_encode(data)
}

/// The reverse of [`encode_payload`], on text whose signature was good.
fn decode_payload(base64d: &str) -> Result<Vec<u8>, SigningError> {
    let (compressed, text) = match base64d.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, base64d),
    };
    let data = b64_decode(text.as_bytes())
        .ok_or_else(|| SigningError::Malformed("invalid base64 payload".to_string()))?;
    if compressed {
        zlib_decompress(&data).map_err(SigningError::Malformed)
    } else {
        Ok(data)
    }
}

fn json_loads<T: DeserializeOwned>(data: &[u8]) -> Result<T, SigningError> {
    JsonSerializer::loads(data).map_err(|e| SigningError::Malformed(format!("JSON: {e}")))
}

/// Django's `TimestampSigner`: a [`Signer`] that signs `value:timestamp`, the timestamp being
/// the whole seconds since the epoch in base 62, so [`unsign`](Self::unsign) can refuse a
/// signature older than `max_age` ([`SigningError::SignatureExpired`]).
#[derive(Clone, Debug)]
pub struct TimestampSigner {
    signer: Signer,
    /// A clock stopped at this time (seconds since the epoch), for tests; else the system's.
    now: Option<f64>,
}

impl TimestampSigner {
    /// Django's `TimestampSigner()`: as [`Signer::new`] with salt
    /// `django.core.signing.TimestampSigner`.
    pub fn new(keys: &SecretKeys) -> TimestampSigner {
        TimestampSigner {
            signer: Signer::new(keys).with_salt_or("", TIMESTAMP_SIGNER_SALT),
            now: None,
        }
    }

    /// Django's `salt=`; empty means the default.
    pub fn with_salt(mut self, salt: &str) -> TimestampSigner {
        self.signer = self.signer.with_salt_or(salt, TIMESTAMP_SIGNER_SALT);
        self
    }

    /// Django's `sep=`.
    pub fn with_sep(mut self, sep: &str) -> Result<TimestampSigner, UnsafeSeparator> {
        self.signer = self.signer.with_sep(sep)?;
        Ok(self)
    }

    /// Django's `algorithm=`.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> TimestampSigner {
        self.signer = self.signer.with_algorithm(algorithm);
        self
    }

    /// Django's `fallback_keys=`.
    pub fn with_fallback_keys<K: Into<Vec<u8>>>(
        mut self,
        fallback_keys: impl IntoIterator<Item = K>,
    ) -> TimestampSigner {
        self.signer = self.signer.with_fallback_keys(fallback_keys);
        self
    }

    /// Signs and checks ages as if the clock read `now` (seconds since the epoch), as a
    /// Django test patches `time.time`.
    pub fn with_time(mut self, now: f64) -> TimestampSigner {
        self.now = Some(now);
        self
    }

    /// The salt in use.
    pub fn salt(&self) -> &str {
        self.signer.salt()
    }

    /// `time.time()`, or the stopped clock.
    fn time(&self) -> f64 {
        self.now.unwrap_or_else(|| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH);
            now.map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64())
        })
    }

    /// Django's `timestamp()`: `b62_encode(int(time.time()))`.
    pub fn timestamp(&self) -> String {
        b62_encode(self.time().trunc() as i64)
    }

    /// Django's `sign(value)`: `value:timestamp:signature`.
    pub fn sign(&self, value: &str) -> String {
        let sep = self.signer.sep();
        self.signer
            .sign(&format!("{value}{sep}{}", self.timestamp()))
    }

    /// Django's `unsign(value, max_age)`: the value when the signature is good and, with a
    /// `max_age`, no older than that.
    pub fn unsign<'a>(
        &self,
        value: &'a str,
        max_age: Option<Duration>,
    ) -> Result<&'a str, SigningError> {
        let result = self.signer.unsign(value)?;
        let Some((value, timestamp)) = result.rsplit_once(self.signer.sep()) else {
            return Err(SigningError::Malformed(
                "no timestamp in the signed value".to_string(),
            ));
        };
        let Some(timestamp) = b62_decode(timestamp) else {
            return Err(SigningError::Malformed(format!(
                "invalid base62 timestamp {}",
                crate::python::str_repr(timestamp)
            )));
        };
        if let Some(max_age) = max_age {
            let age = self.time() - timestamp as f64;
            if age > max_age.as_secs_f64() {
                return Err(SigningError::SignatureExpired(format!(
                    "Signature age {} > {} seconds",
                    float_repr(age),
                    seconds_repr(max_age)
                )));
            }
        }
        Ok(value)
    }

    /// Django's `sign_object(obj, compress=…)`, timestamped.
    pub fn sign_object<T: Serialize + ?Sized>(
        &self,
        obj: &T,
        compress: bool,
    ) -> Result<String, serde_json::Error> {
        Ok(self.sign(&encode_payload(&JsonSerializer::dumps(obj)?, compress)))
    }

    /// [`Signer::sign_payload`], timestamped.
    pub fn sign_payload(&self, data: &[u8], compress: bool) -> String {
        self.sign(&encode_payload(data, compress))
    }

    /// Django's `unsign_object(signed_obj, max_age=…)`.
    pub fn unsign_object<T: DeserializeOwned>(
        &self,
        signed_obj: &str,
        max_age: Option<Duration>,
    ) -> Result<T, SigningError> {
        json_loads(&self.unsign_payload(signed_obj, max_age)?)
    }

    /// [`Signer::unsign_payload`], with the age check.
    pub fn unsign_payload(
        &self,
        signed_obj: &str,
        max_age: Option<Duration>,
    ) -> Result<Vec<u8>, SigningError> {
        decode_payload(self.unsign(signed_obj, max_age)?)
    }
}

/// `max_age` as Python prints the number given: whole seconds as an int, else a float.
fn seconds_repr(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        float_repr(d.as_secs_f64())
    }
}

/// Django's `signing.dumps(obj, salt=…, compress=…)`: a [`TimestampSigner`] with `salt`
/// ([`DEFAULT_SALT`] is Django's default) signing `obj`'s JSON.
pub fn dumps<T: Serialize + ?Sized>(
    obj: &T,
    keys: &SecretKeys,
    salt: &str,
    compress: bool,
) -> Result<String, serde_json::Error> {
    TimestampSigner::new(keys)
        .with_salt(salt)
        .sign_object(obj, compress)
}

/// Django's `signing.loads(s, salt=…, max_age=…)`: the object [`dumps`] signed with the key or
/// a fallback key, refused when older than `max_age`.
pub fn loads<T: DeserializeOwned>(
    s: &str,
    keys: &SecretKeys,
    salt: &str,
    max_age: Option<Duration>,
) -> Result<T, SigningError> {
    TimestampSigner::new(keys)
        .with_salt(salt)
        .unsign_object(s, max_age)
}

/// Django's `_cookie_signer_key`: cookie signatures use `"django.http.cookies" + key`.
fn cookie_signer_key(key: &[u8]) -> Vec<u8> {
    [b"django.http.cookies".as_slice(), key].concat()
}

/// Django's `get_cookie_signer(salt=…)`: the `SIGNING_BACKEND` (a [`TimestampSigner`]) keyed
/// with `"django.http.cookies" + key` (and likewise each fallback). The messages framework
/// signs its cookie with `get_cookie_signer(salt="django.contrib.messages")`.
pub fn get_cookie_signer(keys: &SecretKeys, salt: &str) -> TimestampSigner {
    let cookie_keys = SecretKeys {
        key: cookie_signer_key(&keys.key),
        fallbacks: keys
            .fallbacks
            .iter()
            .map(|k| cookie_signer_key(k))
            .collect(),
    };
    TimestampSigner::new(&cookie_keys).with_salt(salt)
}

/// Django's `_cookie_signer_salt(cookie_name, salt)`: the salt's length leads, so no two
/// `(cookie_name, salt)` pairs share a salt.
pub fn cookie_signer_salt(cookie_name: &str, salt: &str) -> String {
    format!(
        "django.http.cookies.v2:{}:{salt}{cookie_name}",
        salt.chars().count()
    )
}

/// The value `HttpResponse.set_signed_cookie(cookie_name, value, salt=…)` puts in the cookie.
pub fn sign_cookie_value(keys: &SecretKeys, cookie_name: &str, value: &str, salt: &str) -> String {
    get_cookie_signer(keys, &cookie_signer_salt(cookie_name, salt)).sign(value)
}

/// What `HttpRequest.get_signed_cookie(cookie_name, salt=…, max_age=…)` reads back from
/// `signed_value` (Django's `_unsign_cookie`): tries the v2 salt, then, unless the signature
/// had only expired, the legacy salt `cookie_name + salt` (Django's default
/// `SIGNED_COOKIE_LEGACY_SALT_FALLBACK = True`).
pub fn unsign_cookie_value<'a>(
    keys: &SecretKeys,
    cookie_name: &str,
    signed_value: &'a str,
    salt: &str,
    max_age: Option<Duration>,
) -> Result<&'a str, SigningError> {
    let signer = get_cookie_signer(keys, &cookie_signer_salt(cookie_name, salt));
    match signer.unsign(signed_value, max_age) {
        Err(SigningError::BadSignature(_)) => {
            get_cookie_signer(keys, &format!("{cookie_name}{salt}")).unsign(signed_value, max_age)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys() -> SecretKeys {
        SecretKeys::new("test-key", ["old-key"]).unwrap()
    }

    #[test]
    fn secret_keys_need_a_key() {
        let e = SecretKeys::from_settings(&Settings::default()).unwrap_err();
        assert_eq!(
            e.message(),
            "<settings>: ImproperlyConfigured: The SECRET_KEY setting must not be empty."
        );
        assert!(SecretKeys::new("", Vec::<String>::new()).is_err());
        let s = Settings::parse(
            "secret_key = \"k\"\nsecret_key_fallbacks = [\"a\", \"b\"]\n",
            None,
        )
        .unwrap();
        let k = SecretKeys::from_settings(&s).unwrap();
        assert_eq!(k.key(), b"k");
        assert_eq!(k.fallbacks(), [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            format!("{k:?}"),
            "SecretKeys { key: <1 bytes>, fallbacks: <2> }"
        );
    }

    #[test]
    fn b64_round_trips_and_is_lenient_like_python() {
        for data in [
            &b""[..],
            b"a",
            b"ab",
            b"abc",
            b"\xff\xfe\xfd\x00",
            b"hello world",
        ] {
            let text = b64_encode(data);
            assert!(!text.contains('='));
            assert_eq!(b64_decode(text.as_bytes()).as_deref(), Some(data));
        }
        assert_eq!(b64_encode(b"\xfb\xff"), "-_8");
        assert_eq!(b64_decode(b"+/8").as_deref(), Some(&b"\xfb\xff"[..]));
        // Junk is skipped, extra low bits are ignored, padding ends the data.
        assert_eq!(b64_decode(b"aG!Vs*bG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64_decode(b"aGVsbG9").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64_decode(b"aGVsbG-").as_deref(), Some(&b"hello"[..]));
        assert_eq!(b64_decode(b"aQ==aGVsbG8").as_deref(), Some(&b"i"[..]));
        // One character more than a multiple of four, and padding in the middle of a quad.
        assert_eq!(b64_decode(b"a"), None);
        assert_eq!(b64_decode(b"aGVsb"), None);
        assert_eq!(b64_decode(b"a=b"), None);
    }

    #[test]
    fn b62_matches_django() {
        for (n, text) in [
            (0, "0"),
            (61, "z"),
            (62, "10"),
            (-62, "-10"),
            (1_700_000_000, "1r31eq"),
            (i64::MAX, "AzL8n0Y58m7"),
            (i64::MIN + 1, "-AzL8n0Y58m7"),
        ] {
            assert_eq!(b62_encode(n), text);
            assert_eq!(b62_decode(text), Some(n));
        }
        assert_eq!(b62_decode("-"), Some(0));
        assert_eq!(b62_decode("000z"), Some(61));
        assert_eq!(b62_decode(""), None);
        assert_eq!(b62_decode("a.b"), None);
        assert_eq!(b62_decode("--1"), None);
        assert_eq!(b62_decode("AzL8n0Y58m8"), None, "past i64::MAX");
    }

    #[test]
    fn separators_are_checked_as_django_does() {
        for bad in [
            "", "a", "-", "_", "=", "[", "^", "`", "\\", "a\n", "\n", "Z9",
        ] {
            let e = Signer::new(&keys()).with_sep(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("Unsafe Signer separator: "),
                "{e}"
            );
        }
        for good in [":", "/", ".", "a:", "~", "é", ":\n", "=\n\n"] {
            assert!(Signer::new(&keys()).with_sep(good).is_ok(), "{good:?}");
        }
        let e = Signer::new(&keys()).with_sep("ab").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unsafe Signer separator: 'ab' (cannot be empty or consist of only A-z0-9-_=)"
        );
    }

    #[test]
    fn sign_and_unsign() {
        let signer = Signer::new(&keys());
        let signed = signer.sign("hello:world");
        assert!(signed.starts_with("hello:world:"));
        assert_eq!(signer.unsign(&signed), Ok("hello:world"));
        assert_eq!(
            signer.unsign("no separator"),
            Err(SigningError::BadSignature(
                "No \":\" found in value".to_string()
            ))
        );
        let tampered = signed.replacen("hello", "jello", 1);
        assert_eq!(
            signer.unsign(&tampered).unwrap_err().to_string(),
            format!(
                "BadSignature: Signature \"{}\" does not match",
                signed.rsplit_once(':').unwrap().1
            )
        );
        // Another salt, algorithm or separator is another signature.
        assert!(signer.clone().with_salt("x").unsign(&signed).is_err());
        assert!(signer
            .clone()
            .with_algorithm(Algorithm::Sha512)
            .unsign(&signed)
            .is_err());
        let slash = signer.clone().with_sep("/").unwrap();
        assert_eq!(slash.unsign(&slash.sign("a:b")), Ok("a:b"));
        // An empty salt is the default one.
        assert_eq!(signer.clone().with_salt("").salt(), SIGNER_SALT);
    }

    #[test]
    fn fallback_keys_unsign_but_never_sign() {
        let old = Signer::new(&SecretKeys::new("old-key", Vec::<String>::new()).unwrap());
        let signed_old = old.sign("v");
        let current = Signer::new(&keys());
        assert_eq!(current.unsign(&signed_old), Ok("v"));
        assert_ne!(current.sign("v"), signed_old);
        let without = current.clone().with_fallback_keys(Vec::<String>::new());
        assert!(without.unsign(&signed_old).is_err());
    }

    #[test]
    fn timestamps_and_max_age() {
        let signer = TimestampSigner::new(&keys()).with_time(1_700_000_000.25);
        let signed = signer.sign("v");
        assert!(signed.starts_with("v:1r31eq:"), "{signed}");
        let later = signer.clone().with_time(1_700_000_010.5);
        assert_eq!(later.unsign(&signed, None), Ok("v"));
        assert_eq!(
            later.unsign(&signed, Some(Duration::from_secs(11))),
            Ok("v")
        );
        assert_eq!(
            later.unsign(&signed, Some(Duration::from_secs(10))),
            Err(SigningError::SignatureExpired(
                "Signature age 10.5 > 10 seconds".to_string()
            ))
        );
        let e = later
            .unsign(&signed, Some(Duration::from_millis(2500)))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "SignatureExpired: Signature age 10.5 > 2.5 seconds"
        );
        assert!(e.is_bad_signature());
        // A tampered timestamp breaks the signature.
        let tampered = signed.replacen("1r31eq", "1r31er", 1);
        assert!(matches!(
            later.unsign(&tampered, None),
            Err(SigningError::BadSignature(_))
        ));
        // A plain Signer's value under the same salt has no timestamp: Django's ValueError.
        let plain = Signer::new(&keys())
            .with_salt(TIMESTAMP_SIGNER_SALT)
            .sign("v");
        let e = later.unsign(&plain, None).unwrap_err();
        assert!(matches!(e, SigningError::Malformed(_)) && !e.is_bad_signature());
        // The real clock: just signed is not older than a minute.
        let now = TimestampSigner::new(&keys());
        assert_eq!(
            now.unsign(&now.sign("x"), Some(Duration::from_secs(60))),
            Ok("x")
        );
    }

    #[test]
    fn objects_round_trip_with_and_without_compression() {
        let keys = keys();
        let big = json!({"text": "line\n".repeat(200), "n": [1, 2.5, -3, null, true]});
        for obj in [
            json!("hello"),
            json!({"a": [1, 2, {"b": "é😀"}]}),
            big.clone(),
        ] {
            for compress in [false, true] {
                let s = dumps(&obj, &keys, DEFAULT_SALT, compress).unwrap();
                let back: serde_json::Value = loads(&s, &keys, DEFAULT_SALT, None).unwrap();
                assert_eq!(back, obj);
            }
        }
        let compressed = dumps(&big, &keys, DEFAULT_SALT, true).unwrap();
        assert!(compressed.starts_with('.'));
        // Too small to gain: not compressed.
        assert!(!dumps(&json!("hello"), &keys, DEFAULT_SALT, true)
            .unwrap()
            .starts_with('.'));
        // Another salt does not load, nor does a typed read of the wrong shape.
        assert!(loads::<serde_json::Value>(&compressed, &keys, "other", None).is_err());
        assert!(matches!(
            loads::<Vec<u8>>(&compressed, &keys, DEFAULT_SALT, None),
            Err(SigningError::Malformed(_))
        ));
    }

    #[test]
    fn json_is_pythons_compact_ascii() {
        let obj = json!({"b": 1, "a": [1.0, 1e-5, 1e16, "é\u{7f}\u{1}\n\"\\😀", null, false]});
        assert_eq!(
            String::from_utf8(JsonSerializer::dumps(&obj).unwrap()).unwrap(),
            r#"{"b":1,"a":[1.0,1e-05,1e+16,"\u00e9\u007f\u0001\n\"\\\ud83d\ude00",null,false]}"#
        );
        // Floats are read correctly rounded, as Python reads them (serde_json's
        // float_roundtrip; its default parser is one ulp off here, found by the fuzzer).
        for (text, repr) in [
            (&b"9.00719925474740368547e20"[..], "9.007199254747404e+20"),
            (b"900719925474740368547.0", "9.007199254747404e+20"),
            (b"0.30000000000000004", "0.30000000000000004"),
        ] {
            let v: serde_json::Value = JsonSerializer::loads(text).unwrap();
            assert_eq!(JsonSerializer::dumps(&v).unwrap(), repr.as_bytes());
        }
        // Latin-1 bytes read back as the characters they are.
        let v: serde_json::Value = JsonSerializer::loads(b"\"caf\xe9\"").unwrap();
        assert_eq!(v, json!("café"));
    }

    #[test]
    fn signed_payloads_that_are_not_base64_zlib_or_json_are_malformed() {
        let signer = Signer::new(&keys());
        for text in ["a", ".eJ", ".aGVsbG8", "bm90IGpzb24"] {
            let e = signer
                .unsign_object::<serde_json::Value>(&signer.sign(text))
                .unwrap_err();
            assert!(matches!(e, SigningError::Malformed(_)), "{text}: {e}");
        }
        // A zlib stream cut short is refused, as Python's zlib.decompress refuses it.
        let full = zlib_compress(&b"x".repeat(1000));
        assert_eq!(zlib_decompress(&full).unwrap(), b"x".repeat(1000));
        assert!(zlib_decompress(&full[..full.len() - 1]).is_err());
        let mut extra = full.clone();
        extra.extend_from_slice(b"trailing");
        assert_eq!(zlib_decompress(&extra).unwrap(), b"x".repeat(1000));
    }

    #[test]
    fn payload_signing_for_own_serializers() {
        let signer = get_cookie_signer(&keys(), "django.contrib.messages");
        let data = b"[\"a\",\"b\"]";
        let s = signer.sign_payload(data, true);
        assert_eq!(signer.unsign_payload(&s, None).unwrap(), data);
        let v: serde_json::Value = signer.unsign_object(&s, None).unwrap();
        assert_eq!(v, json!(["a", "b"]));
    }

    #[test]
    fn cookie_signing() {
        let keys = keys();
        assert_eq!(cookie_signer_salt("c", "s"), "django.http.cookies.v2:1:sc");
        let signed = sign_cookie_value(&keys, "name", "value", "");
        assert_eq!(
            unsign_cookie_value(&keys, "name", &signed, "", None),
            Ok("value")
        );
        assert!(unsign_cookie_value(&keys, "other", &signed, "", None).is_err());
        // The legacy salt still loads.
        let legacy = get_cookie_signer(&keys, "namesalt").sign("old");
        assert_eq!(
            unsign_cookie_value(&keys, "name", &legacy, "salt", None),
            Ok("old")
        );
        // A cookie signer is keyed apart from the plain signers.
        let plain = TimestampSigner::new(&keys).with_salt("s").sign("v");
        assert!(get_cookie_signer(&keys, "s").unsign(&plain, None).is_err());
    }
}
