//! The Python semantics Django's output depends on, so an app answers byte for byte what its
//! Django twin answers: `repr()` of floats (what `json.dumps` and `str()` print) and of strings
//! (what Django's error messages quote).
//!
//! Reference: CPython 3.11, `Python/pystrtod.c` (`float_repr_style = 'short'`) and
//! `Objects/unicodeobject.c` (`unicode_repr`).

/// Python's `repr(x)` for a float (also its `str()` and what `json.dumps` writes for finite
/// values): the shortest digits that read back as `x`, in positional notation when the decimal
/// exponent is in -4..16 (`0.0001`, `1e-05`, `1234567890123456.0`, `1e+16`), a `.0` on whole
/// numbers, and `inf`, `-inf`, `nan`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Python's repr, as d.ddde±x.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Where the decimal point goes, counted from the first digit (CPython's `decpt`).
    let point = exp + 1;
    let n = digits.len() as i32;
    if -4 < point && point <= 16 {
        if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else if point >= n {
            format!("{sign}{digits}{}.0", "0".repeat((point - n) as usize))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{dot}{rest}e{exp_sign}{:02}",
            exp.unsigned_abs()
        )
    }
}

/// Whether Python's `str.isprintable()` holds for `c`: every character but those of the
/// categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (the space excepted).
pub fn is_printable(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    // Rust's own `Debug` escaping is generated from the same rule (core's
    // `unicode/printable.py` escapes exactly those categories); behind another character, a
    // combining mark is not escaped for being one, so only the category decides.
    let mut probe = String::with_capacity(8);
    probe.push('a');
    probe.push(c);
    probe.escape_debug().eq(probe.chars())
}

/// Python's `repr()` of a string given as code points (lone surrogates included): single
/// quotes unless the text has a `'` and no `"`, `\\`, `\t \n \r` and the quote escaped, other
/// non-printable characters as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`.
pub fn repr_code_points(code_points: impl Iterator<Item = u32> + Clone) -> String {
    let has_single = code_points.clone().any(|c| c == u32::from('\''));
    let has_double = code_points.clone().any(|c| c == u32::from('"'));
    let quote = if has_single && !has_double { '"' } else { '\'' };
    let mut out = String::new();
    out.push(quote);
    for cp in code_points {
        match char::from_u32(cp) {
            Some(c) if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            Some('\t') => out.push_str("\\t"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some(c) if is_printable(c) => out.push(c),
            _ if cp < 0x100 => out.push_str(&format!("\\x{cp:02x}")),
            _ if cp < 0x10000 => out.push_str(&format!("\\u{cp:04x}")),
            _ => out.push_str(&format!("\\U{cp:08x}")),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a string.
pub fn str_repr(text: &str) -> String {
    repr_code_points(text.chars().map(u32::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_reprs() {
        for (x, repr) in [
            (0.5, "0.5"),
            (-3.5, "-3.5"),
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1e22, "1e+22"),
            (1.5e300, "1.5e+300"),
            (123.0, "123.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (f64::MAX, "1.7976931348623157e+308"),
        ] {
            assert_eq!(float_repr(x), repr, "{x:e}");
        }
    }

    #[test]
    fn string_reprs() {
        assert_eq!(str_repr("abc"), "'abc'");
        assert_eq!(str_repr("a'b"), "\"a'b\"");
        assert_eq!(str_repr("x\"y"), "'x\"y'");
        assert_eq!(str_repr("it's \"q\""), "'it\\'s \"q\"'");
        assert_eq!(str_repr("\\"), "'\\\\'");
        assert_eq!(
            str_repr("é\u{200b}\u{7f}\n\u{a0}\u{1}\u{301}\u{10ffff}😀"),
            "'é\\u200b\\x7f\\n\\xa0\\x01\u{301}\\U0010ffff😀'"
        );
        assert_eq!(repr_code_points([0xd800u32].into_iter()), "'\\ud800'");
    }
}
