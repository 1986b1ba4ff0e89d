//! Fuzzes the articles app's models of Python's `int(text)` and `int / int`
//! (`articles::python`), which `/api/divide/` runs on query strings: `int()` never panics and
//! agrees with num-bigint on plain ASCII literals; the quotient is the one IEEE division gives
//! when both operands are exact in an f64, does not change when both operands are scaled by the
//! same factor (the quotient is of the exact rational), and its `repr` reads back to itself.
#![no_main]

use articles::python::{parse_int, true_divide, DivisionError};
use handler_core::python::float_repr;
use libfuzzer_sys::fuzz_target;
use num_bigint::BigInt;

/// Operands at most this large in magnitude convert to f64 exactly.
const EXACT_IN_F64: i64 = 1 << 53;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (left, right) = text.split_once('/').unwrap_or((text, "7"));
    let parsed = parse_int(left);
    let plain = left.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = plain.strip_prefix(['+', '-']).unwrap_or(plain);
    if !digits.is_empty() && digits.len() <= 4300 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let expected = BigInt::parse_bytes(plain.as_bytes(), 10).expect("an ASCII literal");
        assert_eq!(parsed.as_ref().ok(), Some(&expected), "int({left:?})");
    }
    let (Ok(a), Ok(b)) = (parsed, parse_int(right)) else {
        return;
    };
    let quotient = true_divide(&a, &b);
    if b == BigInt::from(0) {
        assert_eq!(quotient, Err(DivisionError::ZeroDivision));
        return;
    }
    let scaled = true_divide(&(&a * 1000003), &(&b * 1000003));
    assert_eq!(quotient, scaled, "{a} / {b} against both scaled");
    let Ok(q) = quotient else {
        return;
    };
    if let (Ok(x), Ok(y)) = (i64::try_from(&a), i64::try_from(&b)) {
        if x.abs() <= EXACT_IN_F64 && y.abs() <= EXACT_IN_F64 {
            assert_eq!(q.to_bits(), (x as f64 / y as f64).to_bits(), "{x} / {y}");
        }
    }
    let repr = float_repr(q);
    let back: f64 = repr.parse().expect("repr is a float literal");
    assert_eq!(back.to_bits(), q.to_bits(), "repr {repr} of {q:?}");
});
