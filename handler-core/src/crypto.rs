//! Django's `django.utils.crypto`: the keyed hash every signed value rests on
//! ([`salted_hmac`]), [`constant_time_compare`], [`get_random_string`] and [`pbkdf2()`].
//!
//! The primitives are RustCrypto's (`hmac`, `sha1`, `sha2`, `md-5`, `pbkdf2`, `subtle`) and
//! `rand`'s; this module only arranges them as Django does, so the bytes are Django's.
//!
//! Reference: `django/utils/crypto.py` (Django 5.2).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::Digest;
use hmac::{Mac, SimpleHmac};
use rand::seq::SliceRandom;
use subtle::ConstantTimeEq;

/// Django's `RANDOM_STRING_CHARS`: the alphabet of [`get_random_string`] and of password salts.
pub const RANDOM_STRING_CHARS: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A hash algorithm of Python's `hashlib`, by the name Django passes around (`"sha256"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `hashlib.md5`.
    Md5,
    /// `hashlib.sha1`: `salted_hmac`'s default.
    Sha1,
    /// `hashlib.sha224`.
    Sha224,
    /// `hashlib.sha256`: the signer's default, and what Django's own callers use.
    Sha256,
    /// `hashlib.sha384`.
    Sha384,
    /// `hashlib.sha512`.
    Sha512,
}

impl Algorithm {
    /// The `hashlib` name: `"md5"`, `"sha1"`, `"sha224"`, `"sha256"`, `"sha384"`, `"sha512"`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha224 => "sha224",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The digest's length in bytes (`hashlib`'s `digest_size`).
    pub fn digest_size(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha224 => 28,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Django's `InvalidAlgorithm`: a name `hashlib` (as far as handler-core knows it) lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAlgorithm(pub String);

impl fmt::Display for InvalidAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not an algorithm accepted by the hashlib module.",
            crate::python::str_repr(&self.0)
        )
    }
}

impl std::error::Error for InvalidAlgorithm {}

impl FromStr for Algorithm {
    type Err = InvalidAlgorithm;

    /// The algorithm `hashlib` calls `name` (`getattr(hashlib, name)`: exact and
    /// case-sensitive).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "md5" => Algorithm::Md5,
            "sha1" => Algorithm::Sha1,
            "sha224" => Algorithm::Sha224,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return Err(InvalidAlgorithm(name.to_string())),
        })
    }
}

/// A finished HMAC, as Python's `hmac` object after the message: [`digest`](Self::digest) and
/// [`hexdigest`](Self::hexdigest).
#[derive(Clone, PartialEq, Eq)]
pub struct HmacDigest(Vec<u8>);

impl HmacDigest {
    /// The raw bytes (`.digest()`).
    pub fn digest(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex (`.hexdigest()`), as `get_session_auth_hash` stores it.
    pub fn hexdigest(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        out
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for HmacDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacDigest({})", self.hexdigest())
    }
}

/// Django's `salted_hmac(key_salt, value, secret, algorithm=...)`: the HMAC of `value` under a
/// key derived from `key_salt` and `secret` as `hash(key_salt + secret)`. Django derives the key
/// even when it is shorter than a block, so the result differs from a plain HMAC keyed with
/// `key_salt + secret`; this does the same.
///
/// Django's default `secret` is `settings.SECRET_KEY` and its default algorithm `sha1`; here
/// both are explicit. Every caller in Django itself passes `sha256`.
pub fn salted_hmac(
    key_salt: &str,
    value: &[u8],
    secret: &[u8],
    algorithm: Algorithm,
) -> HmacDigest {
    fn run<D: Digest + BlockSizeUser + Clone>(
        key_salt: &[u8],
        value: &[u8],
        secret: &[u8],
    ) -> Vec<u8> {
        let mut hasher = D::new();
        Digest::update(&mut hasher, key_salt);
        Digest::update(&mut hasher, secret);
        let key = hasher.finalize();
        let mut mac =
            <SimpleHmac<D> as Mac>::new_from_slice(&key).expect("HMAC accepts a key of any length");
        mac.update(value);
        mac.finalize().into_bytes().to_vec()
    }
    let key_salt = key_salt.as_bytes();
    HmacDigest(match algorithm {
        Algorithm::Md5 => run::<md5::Md5>(key_salt, value, secret),
        Algorithm::Sha1 => run::<sha1::Sha1>(key_salt, value, secret),
        Algorithm::Sha224 => run::<sha2::Sha224>(key_salt, value, secret),
        Algorithm::Sha256 => run::<sha2::Sha256>(key_salt, value, secret),
        Algorithm::Sha384 => run::<sha2::Sha384>(key_salt, value, secret),
        Algorithm::Sha512 => run::<sha2::Sha512>(key_salt, value, secret),
    })
}

/// Django's `constant_time_compare` (`secrets.compare_digest`): whether `a` and `b` are equal,
/// in a time that depends on their lengths only.
pub fn constant_time_compare(a: impl AsRef<[u8]>, b: impl AsRef<[u8]>) -> bool {
    a.as_ref().ct_eq(b.as_ref()).into()
}

/// Django's `get_random_string(length, allowed_chars)`: `length` characters drawn uniformly and
/// independently from `allowed_chars` (by character, not byte) with a cryptographically secure
/// generator (`rand`'s `ThreadRng`: ChaCha seeded from the operating system, reseeded
/// periodically and after a `fork`). Pass [`RANDOM_STRING_CHARS`] for Django's default.
///
/// # Panics
/// When `allowed_chars` is empty and `length` is not zero (Python raises `IndexError`).
pub fn get_random_string(length: usize, allowed_chars: &str) -> String {
    let chars: Vec<char> = allowed_chars.chars().collect();
    let mut rng = rand::thread_rng();
    (0..length)
        .map(|_| {
            *chars
                .choose(&mut rng)
                .expect("get_random_string: allowed_chars must not be empty")
        })
        .collect()
}

/// Django's `pbkdf2(password, salt, iterations, dklen, digest)` (`hashlib.pbkdf2_hmac`): the
/// derived key, `dklen` bytes long or the digest's size when `None`.
pub fn pbkdf2(
    password: &[u8],
    salt: &[u8],
    iterations: NonZeroU32,
    dklen: Option<usize>,
    digest: Algorithm,
) -> Vec<u8> {
    let mut out = vec![0u8; dklen.unwrap_or_else(|| digest.digest_size())];
    let rounds = iterations.get();
    match digest {
        Algorithm::Md5 => pbkdf2::pbkdf2_hmac::<md5::Md5>(password, salt, rounds, &mut out),
        Algorithm::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, &mut out),
        Algorithm::Sha224 => pbkdf2::pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, &mut out),
        Algorithm::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out),
        Algorithm::Sha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, &mut out),
        Algorithm::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salted_hmac_matches_django() {
        // Django 5.2: salted_hmac("salt", "value", secret="secret", algorithm=a).hexdigest().
        for (algorithm, hex) in [
            (Algorithm::Sha1, "a82be9ba6efe61405ee8d2e8a3781c37e103360a"),
            (
                Algorithm::Sha256,
                "debaddcd9ecbaab181289870baf8af49b0af0a7050d620d1a63f1e69bd87ceb8",
            ),
            (
                Algorithm::Sha512,
                "8bce5eeb3926d0f90c727217746725e26de26d311eb6b34ceceb478f89acb51d\
                 02ba74ed0f9c4f5797b2ae5f020d4b22e7c1409a5ff1d968045026fdc1936e0e",
            ),
            (Algorithm::Md5, "94d99eb4c58dd561afb508fa651ad83d"),
        ] {
            assert_eq!(
                salted_hmac("salt", b"value", b"secret", algorithm).hexdigest(),
                hex,
                "{algorithm}"
            );
        }
    }

    #[test]
    fn salted_hmac_is_not_a_plain_hmac_of_the_concatenated_key() {
        let derived = salted_hmac("salt", b"value", b"secret", Algorithm::Sha256);
        let mut plain = <SimpleHmac<sha2::Sha256> as Mac>::new_from_slice(b"saltsecret").unwrap();
        plain.update(b"value");
        assert_ne!(derived.digest(), &plain.finalize().into_bytes()[..]);
        assert_eq!(derived.digest().len(), 32);
    }

    #[test]
    fn algorithms_by_hashlib_name() {
        for a in [
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha224,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ] {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
            assert_eq!(
                salted_hmac("s", b"v", b"k", a).digest().len(),
                a.digest_size()
            );
            let one = NonZeroU32::MIN;
            assert_eq!(pbkdf2(b"p", b"s", one, None, a).len(), a.digest_size());
        }
        let e = "SHA256".parse::<Algorithm>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "'SHA256' is not an algorithm accepted by the hashlib module."
        );
    }

    #[test]
    fn constant_time_compare_is_equality() {
        assert!(constant_time_compare("abc", "abc"));
        assert!(!constant_time_compare("abc", "abd"));
        assert!(!constant_time_compare("abc", "ab"));
        assert!(constant_time_compare(b"", b""));
    }

    #[test]
    fn random_strings_use_the_alphabet_and_differ() {
        let a = get_random_string(32, RANDOM_STRING_CHARS);
        let b = get_random_string(32, RANDOM_STRING_CHARS);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| RANDOM_STRING_CHARS.contains(c)));
        assert_ne!(a, b, "two 190-bit random strings collided");
        assert_eq!(get_random_string(5, "é"), "ééééé");
        assert_eq!(get_random_string(0, ""), "");
        // Every character of a small alphabet turns up.
        let s = get_random_string(400, "abc");
        assert!(s.contains('a') && s.contains('b') && s.contains('c'));
    }

    #[test]
    fn pbkdf2_matches_rfc_6070() {
        // RFC 6070 test vector 2 (PBKDF2-HMAC-SHA1, 2 iterations) and RFC 7914's SHA-256 one.
        let two = NonZeroU32::new(2).unwrap();
        assert_eq!(
            HmacDigest(pbkdf2(b"password", b"salt", two, None, Algorithm::Sha1)).hexdigest(),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
        let one = NonZeroU32::MIN;
        assert_eq!(
            HmacDigest(pbkdf2(b"passwd", b"salt", one, Some(64), Algorithm::Sha256)).hexdigest(),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }
}
