//! Django's `django.contrib.auth.hashers`: passwords stored as
//! `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, made with [`make_password`] and checked
//! with [`check_password`], in Django's own format, so a hash made by either side verifies on
//! the other.
//!
//! Django's default `PASSWORD_HASHERS` is followed for the PBKDF2 hashers: new hashes use
//! [`Pbkdf2Hasher::SHA256`] with Django 5.2's 1,000,000 iterations and a 22-character salt;
//! `pbkdf2_sha1` hashes verify too. The other hashers of that list (argon2, bcrypt_sha256,
//! scrypt) and the ancient unsalted ones are unknown here: such a hash never verifies.
//!
//! ```
//! use handler_core::auth::hashers::{
//!     check_password, make_password_with, verify_password, Pbkdf2Hasher,
//! };
//!
//! let hasher = Pbkdf2Hasher::SHA256.with_iterations(10_000);
//! let encoded = make_password_with("s3cret", Some("seasalt"), &hasher).unwrap();
//! assert!(encoded.starts_with("pbkdf2_sha256$10000$seasalt$"));
//! assert_eq!(check_password("s3cret", &encoded), Ok(true));
//! // A wrong password; with Django's default preferred hasher (check_password) it would also
//! // run the 990,000 iterations this hash lacks.
//! let verified = verify_password("S3cret", &encoded, &hasher).unwrap();
//! assert!(!verified.is_correct && verified.must_update, "a 7-character salt is too short");
//! ```
//!
//! Reference: `django/contrib/auth/hashers.py` (Django 5.2).

use std::fmt;
use std::num::NonZeroU32;

use base64::Engine;

use crate::crypto::{
    constant_time_compare, get_random_string, pbkdf2, Algorithm, RANDOM_STRING_CHARS,
};

/// Django's `UNUSABLE_PASSWORD_PREFIX`: a stored password starting with it never verifies.
pub const UNUSABLE_PASSWORD_PREFIX: &str = "!";

/// Django's `UNUSABLE_PASSWORD_SUFFIX_LENGTH`: random characters after the prefix.
pub const UNUSABLE_PASSWORD_SUFFIX_LENGTH: usize = 40;

/// `BasePasswordHasher.salt_entropy`: a salt must carry at least this many bits.
const SALT_ENTROPY_BITS: f64 = 128.0;

/// `hashlib.pbkdf2_hmac` refuses more iterations than a C `int` holds (`OverflowError`).
const MAX_ITERATIONS: u32 = i32::MAX as u32;

/// Why a stored hash or a hashing request was refused. Django raises `ValueError` in each
/// case; [`check_password`] turns [`UnknownAlgorithm`](Self::UnknownAlgorithm) into `false`,
/// as Django does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordHashError {
    /// No hasher by that name (`Unknown password hashing algorithm '…'. …`).
    UnknownAlgorithm(String),
    /// A stored PBKDF2 hash that does not parse: not four `$`-separated fields, or iterations
    /// that are not a number `hashlib` takes (negative, or beyond a C `int`).
    Malformed(String),
    /// A salt that is empty or contains `$` (`salt must be provided and cannot contain $.`),
    /// given to hash with or found empty in a stored hash.
    InvalidSalt,
}

impl fmt::Display for PasswordHashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordHashError::UnknownAlgorithm(name) => write!(
                f,
                "Unknown password hashing algorithm '{name}'. Did you specify it in the \
                 PASSWORD_HASHERS setting?"
            ),
            PasswordHashError::Malformed(why) => write!(f, "malformed password hash: {why}"),
            PasswordHashError::InvalidSalt => {
                f.write_str("salt must be provided and cannot contain $.")
            }
        }
    }
}

impl std::error::Error for PasswordHashError {}

/// The four fields of a stored PBKDF2 hash (Django's `decode()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedHash<'a> {
    /// `pbkdf2_sha256` or `pbkdf2_sha1`.
    pub algorithm: &'a str,
    /// The iteration count, as `int()` read it.
    pub iterations: u32,
    /// The salt, as stored.
    pub salt: &'a str,
    /// The base64 of the derived key, as stored.
    pub hash: &'a str,
}

/// Django's `PBKDF2PasswordHasher` ([`SHA256`](Self::SHA256)) and `PBKDF2SHA1PasswordHasher`
/// ([`SHA1`](Self::SHA1)): PBKDF2-HMAC with a 32- or 20-byte result, stored as
/// `algorithm$iterations$salt$base64(hash)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pbkdf2Hasher {
    algorithm: &'static str,
    digest: Algorithm,
    iterations: NonZeroU32,
}

/// Django 5.2's `PBKDF2PasswordHasher.iterations`.
pub const DEFAULT_ITERATIONS: u32 = 1_000_000;

const DEFAULT_ITERATIONS_NZ: NonZeroU32 = match NonZeroU32::new(DEFAULT_ITERATIONS) {
    Some(n) => n,
    None => panic!("the default iteration count is not zero"),
};

impl Pbkdf2Hasher {
    /// `pbkdf2_sha256` with 1,000,000 iterations: Django's default hasher.
    pub const SHA256: Pbkdf2Hasher = Pbkdf2Hasher {
        algorithm: "pbkdf2_sha256",
        digest: Algorithm::Sha256,
        iterations: DEFAULT_ITERATIONS_NZ,
    };

    /// `pbkdf2_sha1` with 1,000,000 iterations.
    pub const SHA1: Pbkdf2Hasher = Pbkdf2Hasher {
        algorithm: "pbkdf2_sha1",
        digest: Algorithm::Sha1,
        iterations: DEFAULT_ITERATIONS_NZ,
    };

    /// The same hasher with another work factor (a Django subclass setting `iterations`).
    /// Zero and counts above `i32::MAX` are clamped into `1..=i32::MAX`.
    pub fn with_iterations(mut self, iterations: u32) -> Pbkdf2Hasher {
        let clamped = iterations.clamp(1, MAX_ITERATIONS);
        self.iterations = NonZeroU32::new(clamped).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// The name stored in front of the hash (`pbkdf2_sha256`).
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The iteration count of new hashes.
    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// Django's `salt()`: 22 characters of [`RANDOM_STRING_CHARS`] (at least 128 bits).
    pub fn salt(&self) -> String {
        let bits_per_char = (RANDOM_STRING_CHARS.len() as f64).log2();
        let count = (SALT_ENTROPY_BITS / bits_per_char).ceil() as usize;
        get_random_string(count, RANDOM_STRING_CHARS)
    }

    /// Django's `encode(password, salt, iterations)`: `iterations` `None` or zero means the
    /// hasher's own (Django's `iterations or self.iterations`).
    pub fn encode(
        &self,
        password: &str,
        salt: &str,
        iterations: Option<u32>,
    ) -> Result<String, PasswordHashError> {
        if salt.is_empty() || salt.contains('$') {
            return Err(PasswordHashError::InvalidSalt);
        }
        let iterations = match iterations.and_then(NonZeroU32::new) {
            None => self.iterations,
            Some(n) if n.get() > MAX_ITERATIONS => {
                return Err(PasswordHashError::Malformed(
                    "iteration value is too great.".to_string(),
                ))
            }
            Some(n) => n,
        };
        let hash = pbkdf2(
            password.as_bytes(),
            salt.as_bytes(),
            iterations,
            None,
            self.digest,
        );
        let hash = base64::engine::general_purpose::STANDARD.encode(hash);
        Ok(format!("{}${iterations}${salt}${hash}", self.algorithm))
    }

    /// Django's `decode(encoded)`: the four fields (the hash is everything after the third
    /// `$`). An error for a hash of another algorithm, or one that does not parse.
    pub fn decode<'a>(&self, encoded: &'a str) -> Result<DecodedHash<'a>, PasswordHashError> {
        let mut fields = encoded.splitn(4, '$');
        let (Some(algorithm), Some(iterations), Some(salt), Some(hash)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(PasswordHashError::Malformed(
                "expected algorithm$iterations$salt$hash".to_string(),
            ));
        };
        if algorithm != self.algorithm {
            return Err(PasswordHashError::Malformed(format!(
                "not a {} hash",
                self.algorithm
            )));
        }
        let iterations = parse_iterations(iterations)?;
        Ok(DecodedHash {
            algorithm,
            iterations,
            salt,
            hash,
        })
    }

    /// Django's `verify(password, encoded)`: hashes `password` with the stored salt and
    /// iterations and compares the whole encoded string in constant time.
    pub fn verify(&self, password: &str, encoded: &str) -> Result<bool, PasswordHashError> {
        let decoded = self.decode(encoded)?;
        let encoded_2 = self.encode(password, decoded.salt, Some(decoded.iterations))?;
        Ok(constant_time_compare(encoded, encoded_2))
    }

    /// Django's `must_update(encoded)`: whether a hash should be remade with this hasher's
    /// settings (other iterations, or a salt of under 128 bits).
    pub fn must_update(&self, encoded: &str) -> Result<bool, PasswordHashError> {
        let decoded = self.decode(encoded)?;
        let salt_bits =
            decoded.salt.chars().count() as f64 * (RANDOM_STRING_CHARS.len() as f64).log2();
        Ok(decoded.iterations != self.iterations() || salt_bits < SALT_ENTROPY_BITS)
    }

    /// Django's `harden_runtime(password, encoded)`: runs the iterations a stored hash lacks
    /// against this hasher's count, so a wrong password takes as long on an old hash as on a
    /// new one.
    pub fn harden_runtime(&self, password: &str, encoded: &str) -> Result<(), PasswordHashError> {
        let decoded = self.decode(encoded)?;
        if let Some(extra) = self.iterations().checked_sub(decoded.iterations) {
            if extra > 0 {
                self.encode(password, decoded.salt, Some(extra))?;
            }
        }
        Ok(())
    }
}

/// Python's `int(text)` for the iterations field: surrounding whitespace, a sign and `_`
/// between digits are accepted. The value must then be one `hashlib.pbkdf2_hmac` takes:
/// zero stands for the hasher's default (Django's `iterations or self.iterations`), which is
/// what [`Pbkdf2Hasher::encode`] does with it, and above `i32::MAX` is Python's
/// `OverflowError`.
fn parse_iterations(text: &str) -> Result<u32, PasswordHashError> {
    let malformed = || PasswordHashError::Malformed(format!("invalid iterations {text:?}"));
    let trimmed =
        text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b' || c == '\x0c');
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(malformed());
    }
    let mut value: u64 = 0;
    for b in digits.bytes().filter(u8::is_ascii_digit) {
        value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    if negative && value != 0 {
        return Err(PasswordHashError::Malformed(
            "iteration value must be greater than 0.".to_string(),
        ));
    }
    if value > u64::from(MAX_ITERATIONS) {
        return Err(PasswordHashError::Malformed(
            "iteration value is too great.".to_string(),
        ));
    }
    Ok(value as u32)
}

/// Django's `is_password_usable(encoded)`: false for a password made unusable.
pub fn is_password_usable(encoded: &str) -> bool {
    !encoded.starts_with(UNUSABLE_PASSWORD_PREFIX)
}

/// Django's `identify_hasher(encoded)`: the hasher named before the first `$`.
pub fn identify_hasher(encoded: &str) -> Result<Pbkdf2Hasher, PasswordHashError> {
    // Django recognises the ancient unsalted MD5 and SHA1 forms by their shape first; their
    // hashers are not in the default PASSWORD_HASHERS, so they are unknown either way.
    let length = encoded.chars().count();
    let algorithm = if (length == 32 && !encoded.contains('$'))
        || (length == 37 && encoded.starts_with("md5$$"))
    {
        "unsalted_md5"
    } else if length == 46 && encoded.starts_with("sha1$$") {
        "unsalted_sha1"
    } else {
        encoded.split('$').next().unwrap_or("")
    };
    match algorithm {
        "pbkdf2_sha256" => Ok(Pbkdf2Hasher::SHA256),
        "pbkdf2_sha1" => Ok(Pbkdf2Hasher::SHA1),
        other => Err(PasswordHashError::UnknownAlgorithm(other.to_string())),
    }
}

/// Django's `make_password(password)`: a new hash with the default hasher and a random salt.
pub fn make_password(password: &str) -> String {
    let hasher = Pbkdf2Hasher::SHA256;
    let salt = hasher.salt();
    // A 22-character alphanumeric salt is always a valid one.
    hasher
        .encode(password, &salt, None)
        .unwrap_or_else(|e| unreachable!("a generated salt was refused: {e}"))
}

/// Django's `make_password(password, salt, hasher)`: `salt` `None` (or empty, as Django's
/// `salt or hasher.salt()`) draws a random one.
pub fn make_password_with(
    password: &str,
    salt: Option<&str>,
    hasher: &Pbkdf2Hasher,
) -> Result<String, PasswordHashError> {
    match salt.filter(|s| !s.is_empty()) {
        Some(salt) => hasher.encode(password, salt, None),
        None => hasher.encode(password, &hasher.salt(), None),
    }
}

/// Django's `make_password(None)`: [`UNUSABLE_PASSWORD_PREFIX`] and 40 random characters,
/// which no password verifies against.
pub fn make_unusable_password() -> String {
    format!(
        "{UNUSABLE_PASSWORD_PREFIX}{}",
        get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH, RANDOM_STRING_CHARS)
    )
}

/// What [`verify_password`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Whether the password matches.
    pub is_correct: bool,
    /// Whether the stored hash should be remade with the preferred hasher (Django calls its
    /// `setter` with the password when this and `is_correct` hold).
    pub must_update: bool,
}

/// Django's `verify_password(password, encoded, preferred)`. `preferred` plays the part of
/// the first entry of `PASSWORD_HASHERS` ([`Pbkdf2Hasher::SHA256`] in Django's default; a
/// hasher `with_iterations` stands for a subclass with another work factor).
///
/// As Django does, an unusable password or an unknown hasher still costs one hash with the
/// preferred hasher, and a wrong password on a hash with fewer iterations runs the missing
/// ones (`harden_runtime`), so timing tells little. A malformed `pbkdf2_*` hash is an error,
/// as Django's `ValueError`.
pub fn verify_password(
    password: &str,
    encoded: &str,
    preferred: &Pbkdf2Hasher,
) -> Result<Verified, PasswordHashError> {
    let hasher = match identify_hasher(encoded) {
        Ok(hasher) if is_password_usable(encoded) => hasher,
        _ => {
            let random = get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH, RANDOM_STRING_CHARS);
            make_password_with(&random, None, preferred)?;
            return Ok(Verified {
                is_correct: false,
                must_update: false,
            });
        }
    };
    let hasher_changed = hasher.algorithm != preferred.algorithm;
    // Django's get_hasher hands back the configured instance: the preferred hasher itself
    // when the algorithms agree, so harden_runtime pads to the preferred work factor.
    let hasher = if hasher_changed { hasher } else { *preferred };
    let must_update = hasher_changed || preferred.must_update(encoded)?;
    let is_correct = hasher.verify(password, encoded)?;
    if !is_correct && !hasher_changed && must_update {
        hasher.harden_runtime(password, encoded)?;
    }
    Ok(Verified {
        is_correct,
        must_update,
    })
}

/// Django's `check_password(password, encoded)`: whether `password` matches the stored hash,
/// with Django's default hasher preferred (so a wrong password costs 1,000,000 iterations).
/// False for an unusable password and an unknown hasher; an error for a malformed
/// `pbkdf2_*` hash. The hash is never remade here: a caller that wants Django's upgrade on
/// login uses [`verify_password`]'s `must_update`.
pub fn check_password(password: &str, encoded: &str) -> Result<bool, PasswordHashError> {
    verify_password(password, encoded, &Pbkdf2Hasher::SHA256).map(|v| v.is_correct)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap hasher for tests that do not need Django's work factor.
    fn fast() -> Pbkdf2Hasher {
        Pbkdf2Hasher::SHA256.with_iterations(1000)
    }

    #[test]
    fn encode_is_djangos_format() {
        // Django 5.2: PBKDF2PasswordHasher().encode("password", "seasalt", 1000), and the
        // same with PBKDF2SHA1PasswordHasher.
        let encoded = fast().encode("password", "seasalt", None).unwrap();
        assert_eq!(
            encoded,
            "pbkdf2_sha256$1000$seasalt$YIWkt6M1JFXrHg5s0jZjBSc7C2Cz6QvchSJ0h8Y+i7c="
        );
        assert_eq!(
            Pbkdf2Hasher::SHA1.encode("password", "seasalt", Some(1000)),
            Ok("pbkdf2_sha1$1000$seasalt$C8KvRfPW529R7JpDHEDOP35Xr0g=".to_string())
        );
        let decoded = fast().decode(&encoded).unwrap();
        assert_eq!(decoded.algorithm, "pbkdf2_sha256");
        assert_eq!(decoded.iterations, 1000);
        assert_eq!(decoded.salt, "seasalt");
        assert_eq!(decoded.hash.len(), 44, "base64 of 32 bytes, padded");
        assert!(fast().verify("password", &encoded).unwrap());
        assert!(!fast().verify("passwore", &encoded).unwrap());
        let sha1 = Pbkdf2Hasher::SHA1.with_iterations(1000);
        let encoded = sha1.encode("password", "seasalt", None).unwrap();
        assert!(encoded.starts_with("pbkdf2_sha1$1000$seasalt$"));
        assert_eq!(encoded.rsplit('$').next().map(str::len), Some(28));
    }

    #[test]
    fn salts_are_22_characters_and_must_be_valid() {
        let salt = Pbkdf2Hasher::SHA256.salt();
        assert_eq!(salt.len(), 22);
        assert!(salt.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            fast().encode("p", "", None),
            Err(PasswordHashError::InvalidSalt)
        );
        assert_eq!(
            fast().encode("p", "a$b", None),
            Err(PasswordHashError::InvalidSalt)
        );
        assert_eq!(
            PasswordHashError::InvalidSalt.to_string(),
            "salt must be provided and cannot contain $."
        );
        // An empty salt to make_password_with draws a random one, as Django's `salt or …`.
        let encoded = make_password_with("p", Some(""), &fast()).unwrap();
        assert_eq!(fast().decode(&encoded).unwrap().salt.len(), 22);
    }

    #[test]
    fn malformed_hashes_are_errors_not_panics() {
        for bad in [
            "pbkdf2_sha256",
            "pbkdf2_sha256$",
            "pbkdf2_sha256$1000$salt",
            "pbkdf2_sha256$x$salt$hash",
            "pbkdf2_sha256$-5$salt$hash",
            "pbkdf2_sha256$99999999999999999999999$salt$hash",
            "pbkdf2_sha256$2147483648$salt$hash",
            "pbkdf2_sha256$1_$salt$hash",
        ] {
            assert!(
                matches!(
                    check_password("p", bad),
                    Err(PasswordHashError::Malformed(_))
                ),
                "{bad}: {:?}",
                check_password("p", bad)
            );
        }
        assert!(fast().decode("pbkdf2_sha1$1$s$h").is_err());
        // An empty stored salt parses, and is refused when hashing, as in Django.
        assert_eq!(
            check_password("p", "pbkdf2_sha256$1000$$hash"),
            Err(PasswordHashError::InvalidSalt)
        );
    }

    #[test]
    fn iterations_parse_as_python_int() {
        assert_eq!(parse_iterations("10000"), Ok(10000));
        assert_eq!(parse_iterations(" +10_000\n"), Ok(10000));
        assert_eq!(parse_iterations("0"), Ok(0));
        assert_eq!(parse_iterations("-0"), Ok(0));
        assert_eq!(parse_iterations("2147483647"), Ok(2147483647));
        assert!(parse_iterations("").is_err());
        assert!(parse_iterations("1__0").is_err());
        assert!(parse_iterations("_1").is_err());
        assert!(parse_iterations("1e3").is_err());
        // Read but not canonical: Django's re-encoding prints "10000", so no match.
        let canonical = fast()
            .with_iterations(10)
            .encode("p", "salt", None)
            .unwrap();
        let padded = canonical.replacen("$10$", "$010$", 1);
        assert_eq!(fast().verify("p", &padded), Ok(false));
        assert_eq!(fast().verify("p", &canonical), Ok(true));
    }

    #[test]
    fn unusable_and_unknown_never_verify() {
        let unusable = make_unusable_password();
        assert!(unusable.starts_with('!') && unusable.len() == 41);
        assert!(!is_password_usable(&unusable));
        assert!(is_password_usable("pbkdf2_sha256$1$s$h"));
        assert!(is_password_usable(""));
        // Django's default work factor once; a cheap preferred hasher for the rest.
        assert_eq!(check_password("", &unusable), Ok(false));
        let not_verified = Verified {
            is_correct: false,
            must_update: false,
        };
        assert_eq!(verify_password("x", "", &fast()), Ok(not_verified));
        for unknown in [
            "argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$hash",
            "md5$$5f4dcc3b5aa765d61d8327deb882cf99",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
        ] {
            assert_eq!(
                verify_password("password", unknown, &fast()),
                Ok(not_verified),
                "{unknown}"
            );
        }
        assert_eq!(
            identify_hasher("bcrypt$x"),
            Err(PasswordHashError::UnknownAlgorithm("bcrypt".to_string()))
        );
        assert_eq!(
            identify_hasher("5f4dcc3b5aa765d61d8327deb882cf99")
                .unwrap_err()
                .to_string(),
            "Unknown password hashing algorithm 'unsalted_md5'. Did you specify it in the \
             PASSWORD_HASHERS setting?"
        );
    }

    #[test]
    fn must_update_follows_iterations_and_salt_entropy() {
        let default = Pbkdf2Hasher::SHA256;
        let short_salt = "pbkdf2_sha256$1000000$abcdefghijklmnopqrstu$h";
        let long_salt = "pbkdf2_sha256$1000000$abcdefghijklmnopqrstuv$h";
        assert_eq!(default.must_update(short_salt), Ok(true));
        assert_eq!(default.must_update(long_salt), Ok(false));
        assert_eq!(
            default.must_update("pbkdf2_sha256$999999$abcdefghijklmnopqrstuv$h"),
            Ok(true)
        );
    }

    #[test]
    fn verify_reports_must_update_and_hardens_wrong_passwords() {
        let preferred = fast();
        let old = preferred
            .with_iterations(10)
            .encode("pw", "abcdefghijklmnopqrstuv", None);
        let old = old.unwrap();
        assert_eq!(
            verify_password("pw", &old, &preferred),
            Ok(Verified {
                is_correct: true,
                must_update: true
            })
        );
        let current = preferred
            .encode("pw", "abcdefghijklmnopqrstuv", None)
            .unwrap();
        assert_eq!(
            verify_password("pw", &current, &preferred),
            Ok(Verified {
                is_correct: true,
                must_update: false
            })
        );
        // A wrong password on the old hash runs harden_runtime; the answer is still no.
        assert!(!verify_password("px", &old, &preferred).unwrap().is_correct);
        // A pbkdf2_sha1 hash verifies, and must be remade with the preferred algorithm.
        let sha1 = Pbkdf2Hasher::SHA1.with_iterations(1000);
        let encoded = sha1.encode("pw", "abcdefghijklmnopqrstuv", None).unwrap();
        assert_eq!(
            verify_password("pw", &encoded, &preferred),
            Ok(Verified {
                is_correct: true,
                must_update: true
            })
        );
    }

    #[test]
    fn with_iterations_clamps() {
        assert_eq!(Pbkdf2Hasher::SHA256.with_iterations(0).iterations(), 1);
        assert_eq!(
            Pbkdf2Hasher::SHA256.with_iterations(u32::MAX).iterations(),
            MAX_ITERATIONS
        );
        assert_eq!(Pbkdf2Hasher::SHA256.iterations(), 1_000_000);
    }
}
