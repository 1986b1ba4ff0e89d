//! The Python semantics the seeds' views rely on beyond handler-core's `python` module (which
//! has `repr()` of floats and strings): `int(text)` (Python's parsing rules and unbounded
//! integers) and `int / int` (true division, correctly rounded, `OverflowError` when the
//! quotient does not fit a float).
//!
//! Reference: CPython 3.11, `Objects/longobject.c` (`PyLong_FromUnicodeObject`,
//! `long_true_divide`).

use std::fmt;

use handler_core::python::str_repr;
use num_bigint::{BigInt, BigUint, Sign};

/// Python's default `sys.get_int_max_str_digits()`: `int()` refuses longer decimal strings
/// (CVE-2020-10735), with a `ValueError`.
pub(crate) const INT_MAX_STR_DIGITS: usize = 4300;

/// Why `int(text)` raised `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntError {
    /// Not a base-10 integer literal: `invalid literal for int() with base 10: '...'`.
    InvalidLiteral(String),
    /// More than [`INT_MAX_STR_DIGITS`] digits.
    TooManyDigits(usize),
}

impl fmt::Display for IntError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntError::InvalidLiteral(text) => write!(
                f,
                "invalid literal for int() with base 10: {}",
                str_repr(text)
            ),
            IntError::TooManyDigits(n) => write!(
                f,
                "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: \
                 value has {n} digits; use sys.set_int_max_str_digits() to increase the limit"
            ),
        }
    }
}

impl std::error::Error for IntError {}

/// The first code point of every run of ten Unicode decimal digits (general category Nd, as
/// Python's `unicodedata.decimal` knows them in Unicode 14.0, the data of CPython 3.11). Unicode
/// guarantees that each such run is contiguous and ordered 0 to 9, so a digit's value is its
/// distance from the run's zero.
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The value of a Unicode decimal digit (`'7'`, `'٧'`, `'７'` are all 7).
fn decimal_value(c: char) -> Option<u8> {
    let cp = u32::from(c);
    let i = DECIMAL_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = DECIMAL_ZEROS[i.checked_sub(1)?];
    u8::try_from(cp - zero).ok().filter(|d| *d < 10)
}

/// Python's `int(text)` (base 10): surrounding whitespace (Unicode's, as `str.strip()` sees
/// it; for ASCII that is space, `\t \n \v \f \r`), one optional sign, then decimal digits (any
/// script's, `'١٢'` is 12) with single underscores between digits; leading zeros allowed.
pub fn parse_int(text: &str) -> Result<BigInt, IntError> {
    let invalid = || IntError::InvalidLiteral(text.to_string());
    // Rust's `char::is_whitespace` is exactly the set int() strips: non-ASCII characters go
    // through `Py_UNICODE_ISSPACE` (Unicode White_Space) and ASCII ones through `Py_ISSPACE`,
    // which, unlike `str.isspace()`, leaves out the separators \x1c-\x1f.
    let t = text.trim_matches(char::is_whitespace);
    let (sign, rest) = match t.strip_prefix('-') {
        Some(rest) => (Sign::Minus, rest),
        None => (Sign::Plus, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut digits: Vec<u8> = Vec::with_capacity(rest.len());
    let mut after_underscore = false;
    for c in rest.chars() {
        if c == '_' {
            if digits.is_empty() || after_underscore {
                return Err(invalid());
            }
            after_underscore = true;
            continue;
        }
        digits.push(decimal_value(c).ok_or_else(invalid)?);
        after_underscore = false;
    }
    if digits.is_empty() || after_underscore {
        return Err(invalid());
    }
    if digits.len() > INT_MAX_STR_DIGITS {
        return Err(IntError::TooManyDigits(digits.len()));
    }
    let magnitude = BigUint::from_radix_be(&digits, 10).ok_or_else(invalid)?;
    Ok(BigInt::from_biguint(sign, magnitude))
}

/// Why `a / b` raised instead of giving a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionError {
    /// `ZeroDivisionError: division by zero`.
    ZeroDivision,
    /// `OverflowError: integer division result too large for a float`.
    Overflow,
}

impl fmt::Display for DivisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DivisionError::ZeroDivision => "division by zero",
            DivisionError::Overflow => "integer division result too large for a float",
        })
    }
}

impl std::error::Error for DivisionError {}

/// The bits of an f64's significand, the implicit one included.
const MANTISSA_BITS: u64 = 53;
/// The exponent of the least significant bit of the smallest subnormal f64 (2^-1074).
const MIN_ULP_EXP: i64 = -1074;
/// The biased exponent of infinity.
const INFINITE_EXP: i64 = 0x7ff;

/// Python's `a / b` for two ints: the float nearest to the exact quotient (ties to even), as
/// `long_true_divide` computes it, whatever the operands' size. `a as f64 / b as f64` is not
/// that once an operand is beyond 2^53: each conversion rounds, then the division rounds again.
pub fn true_divide(a: &BigInt, b: &BigInt) -> Result<f64, DivisionError> {
    if b.sign() == Sign::NoSign {
        return Err(DivisionError::ZeroDivision);
    }
    let negative = (a.sign() == Sign::Minus) != (b.sign() == Sign::Minus);
    let (n, d) = (a.magnitude(), b.magnitude());
    if n.bits() == 0 {
        return Ok(if negative { -0.0 } else { 0.0 });
    }
    // Scale so the integer quotient has 55 or 56 bits: 53 for the significand, one to round
    // with, one spare; what the division leaves over only says "above the halfway point".
    let shift = 55
        - (i64::try_from(n.bits()).unwrap_or(i64::MAX)
            - i64::try_from(d.bits()).unwrap_or(i64::MAX));
    let (num, den) = if shift >= 0 {
        (n << shift.unsigned_abs(), d.clone())
    } else {
        (n.clone(), d << shift.unsigned_abs())
    };
    let quotient = &num / &den;
    let inexact = (&num % &den).bits() != 0;
    let q = quotient
        .to_u64_digits()
        .first()
        .copied()
        .unwrap_or_default();
    round_to_f64(q, inexact, -shift, negative)
}

/// The f64 nearest to `(q + ε) · 2^exp` where `0 < ε < 1` when `inexact` and 0 otherwise,
/// `q` having 55 or 56 bits; subnormal results keep as many bits as the format has.
fn round_to_f64(q: u64, inexact: bool, exp: i64, negative: bool) -> Result<f64, DivisionError> {
    let q = u128::from(q);
    let bits = i64::from(128 - q.leading_zeros() as u16);
    let top = bits - 1 + exp;
    let ulp_exp = (top - (MANTISSA_BITS as i64 - 1)).max(MIN_ULP_EXP);
    let drop = ulp_exp - exp; // at least 2, as q has at least 55 bits
    let mut m: u128 = if drop > bits {
        0 // below half of the smallest subnormal
    } else {
        let drop = u32::try_from(drop).unwrap_or(127);
        let kept = q >> drop;
        let rest = q & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        let round_up = rest > half || (rest == half && (inexact || kept & 1 == 1));
        kept + u128::from(round_up)
    };
    let mut ulp_exp = ulp_exp;
    if m == 1u128 << MANTISSA_BITS {
        m >>= 1;
        ulp_exp += 1;
    }
    let magnitude = if m < 1u128 << (MANTISSA_BITS - 1) {
        // Subnormal (or zero): the exponent field is 0 and ulp_exp is MIN_ULP_EXP.
        m as u64
    } else {
        let biased = ulp_exp + (MANTISSA_BITS as i64 - 1) + 1023;
        if biased >= INFINITE_EXP {
            return Err(DivisionError::Overflow);
        }
        ((biased as u64) << (MANTISSA_BITS - 1)) | (m as u64 & ((1u64 << (MANTISSA_BITS - 1)) - 1))
    };
    let sign = if negative { 1u64 << 63 } else { 0 };
    Ok(f64::from_bits(sign | magnitude))
}

#[cfg(test)]
mod tests {
    use super::*;
    use handler_core::python::float_repr;

    fn int(text: &str) -> BigInt {
        parse_int(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn div(a: &str, b: &str) -> Result<f64, DivisionError> {
        true_divide(&int(a), &int(b))
    }

    #[test]
    fn int_accepts_what_python_accepts() {
        for (text, value) in [
            ("7", "7"),
            (" -12 ", "-12"),
            ("+3", "3"),
            ("1_000", "1000"),
            ("007", "7"),
            ("0_0", "0"),
            ("-0", "0"),
            ("\t+7\n", "7"),
            ("99999999999999999999", "99999999999999999999"),
            ("\u{3000}\u{ff11}\u{ff12}\u{a0}", "12"),
            ("\u{661}\u{662}", "12"),
            ("1\u{2028}", "1"),
        ] {
            assert_eq!(int(text).to_string(), value, "{text:?}");
        }
    }

    #[test]
    fn int_refuses_what_python_refuses() {
        for bad in [
            "", " ", "-", "+", "1.5", "x", "1e3", "_1", "1_", "1__0", "+_1", "- 1", "0x10", "--1",
            "1\u{1c}", "\u{1c}1", "1\0", "\u{b2}", "½",
        ] {
            assert!(
                matches!(parse_int(bad), Err(IntError::InvalidLiteral(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_int(&"1".repeat(4301)),
            Err(IntError::TooManyDigits(4301))
        );
        assert_eq!(
            parse_int(&format!("{}_1", "1".repeat(4300))),
            Err(IntError::TooManyDigits(4301))
        );
        assert!(parse_int(&"1".repeat(4300)).is_ok());
        assert!(parse_int(&format!("{}1", "1_".repeat(2150))).is_ok());
        assert_eq!(
            IntError::InvalidLiteral("a'b".into()).to_string(),
            "invalid literal for int() with base 10: \"a'b\""
        );
    }

    /// Pairs and the quotient's repr as CPython 3.11 prints `a / b`.
    /// Pairs and the quotient's repr as CPython 3.11 prints `a / b`.
    const PYTHON_QUOTIENTS: &[(&str, &str, &str)] = &[
        ("7", "2", "3.5"),
        ("-7", "2", "-3.5"),
        ("6", "3", "2.0"),
        ("1", "3", "0.3333333333333333"),
        ("2", "3", "0.6666666666666666"),
        ("-1", "-3", "0.3333333333333333"),
        ("1", "100000", "1e-05"),
        ("1", "10000", "0.0001"),
        ("0", "-5", "-0.0"),
        ("0", "5", "0.0"),
        ("99999999999999999999", "2", "5e+19"),
        ("9007199254740995", "3", "3002399751580331.5"),
        ("9007199254740993", "1", "9007199254740992.0"),
        ("9007199254740995", "1", "9007199254740996.0"),
        ("10000000000000000", "1", "1e+16"),
        ("1234567890123456", "1", "1234567890123456.0"),
        ("12345678901234567", "1", "1.2345678901234568e+16"),
        ("-99999999999999999999", "7", "-1.4285714285714287e+19"),
        ("1", "99999999999999999999", "1e-20"),
        ("18446744073709551617", "3", "6.148914691236517e+18"),
        ("5", "-10000000000000000000000000000000000000000", "-5e-40"),
        (
            "123456789012345678901234567890",
            "987654321098765432109876543210",
            "0.1249999988609375",
        ),
    ];

    #[test]
    fn division_matches_python() {
        for (a, b, expected) in PYTHON_QUOTIENTS {
            assert_eq!(float_repr(div(a, b).unwrap()), *expected, "{a} / {b}");
        }
    }

    #[test]
    fn division_extremes() {
        assert_eq!(div("1", "0"), Err(DivisionError::ZeroDivision));
        assert_eq!(div("0", "0"), Err(DivisionError::ZeroDivision));
        let big = format!("1{}", "0".repeat(400));
        assert_eq!(div(&big, "1"), Err(DivisionError::Overflow));
        assert_eq!(div("1", &big), Ok(0.0));
        assert!(div("-1", &big).unwrap().is_sign_negative());
        let ten_300 = format!("1{}", "0".repeat(300));
        let ten_310 = format!("1{}", "0".repeat(310));
        assert_eq!(
            float_repr(div(&ten_310, &ten_300).unwrap()),
            "10000000000.0"
        );
        // The largest float and the first quotient past it (2^1024 rounds to infinity).
        let max = BigInt::from(2u8).pow(1024) - BigInt::from(2u8).pow(1024 - 53);
        assert_eq!(true_divide(&max, &BigInt::from(1)), Ok(f64::MAX));
        let past = BigInt::from(2u8).pow(1024) - BigInt::from(2u8).pow(1024 - 54);
        assert_eq!(
            true_divide(&past, &BigInt::from(1)),
            Err(DivisionError::Overflow)
        );
        // Subnormals: 1 / 2^1074 is the smallest; 1 / 2^1075 is a tie that rounds to even 0;
        // 3 / 2^1076 is above the tie and rounds up to the smallest.
        let two = |e: u32| BigInt::from(2u8).pow(e);
        assert_eq!(
            true_divide(&BigInt::from(1), &two(1074)),
            Ok(f64::from_bits(1))
        );
        assert_eq!(true_divide(&BigInt::from(1), &two(1075)), Ok(0.0));
        assert_eq!(
            true_divide(&BigInt::from(3), &two(1076)),
            Ok(f64::from_bits(1))
        );
        assert_eq!(
            true_divide(&BigInt::from(1), &two(1022)),
            Ok(f64::MIN_POSITIVE)
        );
        assert_eq!(float_repr(f64::from_bits(1)), "5e-324");
    }
}
