//! The values a form's fields clean to (Python's `str`, `int`, `Decimal`, `bool`, `date`,
//! `datetime`), Python's `Decimal` text rules, and typed access ([`FromFormValue`]).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike};

/// A cleaned (or initial) value. `None` is Python's `None` (an empty optional field).
#[derive(Debug, Clone, PartialEq)]
pub enum FormValue {
    /// `None`.
    None,
    /// `str` (CharField, EmailField, URLField, ChoiceField).
    Str(String),
    /// `int` (IntegerField); values beyond i64 are "Enter a whole number.".
    Int(i64),
    /// `Decimal` (DecimalField).
    Decimal(Decimal),
    /// `bool` (BooleanField).
    Bool(bool),
    /// `datetime.date` (DateField).
    Date(NaiveDate),
    /// A naive `datetime.datetime` (DateTimeField; handler-core has no `USE_TZ`).
    DateTime(NaiveDateTime),
    /// An aware `datetime.datetime`: an ISO 8601 input with an offset (`Z`, `+02:00`).
    DateTimeTz(DateTime<FixedOffset>),
}

impl FormValue {
    /// Python's `value in EMPTY_VALUES` for a scalar: `None` or `""`.
    pub fn is_empty(&self) -> bool {
        matches!(self, FormValue::None) || matches!(self, FormValue::Str(s) if s.is_empty())
    }

    /// Python's `str(value)`.
    pub fn to_python_str(&self) -> String {
        match self {
            FormValue::None => "None".into(),
            FormValue::Str(s) => s.clone(),
            FormValue::Int(i) => i.to_string(),
            FormValue::Decimal(d) => d.to_string(),
            FormValue::Bool(true) => "True".into(),
            FormValue::Bool(false) => "False".into(),
            FormValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            FormValue::DateTime(dt) => python_datetime(dt, " "),
            FormValue::DateTimeTz(dt) => {
                let mut s = python_datetime(&dt.naive_local(), " ");
                s.push_str(&dt.format("%:z").to_string());
                s
            }
        }
    }

    /// `value.isoformat()` for dates and datetimes, `str()` for the rest.
    pub fn isoformat(&self) -> String {
        match self {
            FormValue::DateTime(dt) => python_datetime(dt, "T"),
            FormValue::DateTimeTz(dt) => {
                let mut s = python_datetime(&dt.naive_local(), "T");
                s.push_str(&dt.format("%:z").to_string());
                s
            }
            other => other.to_python_str(),
        }
    }

    /// Python truthiness.
    pub fn is_truthy(&self) -> bool {
        match self {
            FormValue::None => false,
            FormValue::Str(s) => !s.is_empty(),
            FormValue::Int(i) => *i != 0,
            FormValue::Decimal(d) => !d.is_zero(),
            FormValue::Bool(b) => *b,
            _ => true,
        }
    }

    /// The value for a JSON body or a template (`str`, number, bool, ISO dates, decimals as
    /// their text so no digit is lost).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FormValue::None => serde_json::Value::Null,
            FormValue::Str(s) => s.clone().into(),
            FormValue::Int(i) => (*i).into(),
            FormValue::Bool(b) => (*b).into(),
            other => other.isoformat().into(),
        }
    }
}

/// Python's `str(datetime)` / `isoformat()`: microseconds only when not zero.
fn python_datetime(dt: &NaiveDateTime, sep: &str) -> String {
    let mut s = dt.format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string();
    let micro = dt.nanosecond() / 1000;
    if micro != 0 {
        s.push_str(&format!(".{micro:06}"));
    }
    s
}

macro_rules! from_for_value {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for FormValue {
            fn from($v: $t) -> FormValue {
                $e
            }
        }
    )*};
}

from_for_value! {
    &str => |v| FormValue::Str(v.to_string()),
    String => |v| FormValue::Str(v),
    i64 => |v| FormValue::Int(v),
    i32 => |v| FormValue::Int(v.into()),
    u32 => |v| FormValue::Int(v.into()),
    bool => |v| FormValue::Bool(v),
    Decimal => |v| FormValue::Decimal(v),
    NaiveDate => |v| FormValue::Date(v),
    NaiveDateTime => |v| FormValue::DateTime(v),
    DateTime<FixedOffset> => |v| FormValue::DateTimeTz(v),
}

impl<T: Into<FormValue>> From<Option<T>> for FormValue {
    fn from(v: Option<T>) -> FormValue {
        v.map_or(FormValue::None, Into::into)
    }
}

/// A Rust type a cleaned value reads as: `form.cleaned::<i64>("age")`. `Option<T>` reads a
/// `None` (an empty optional field) as `Some(None)`.
pub trait FromFormValue: Sized {
    /// The value as `Self`, or `None` when it is of another kind.
    fn from_form_value(value: &FormValue) -> Option<Self>;
}

impl FromFormValue for String {
    fn from_form_value(value: &FormValue) -> Option<String> {
        match value {
            FormValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromFormValue for i64 {
    fn from_form_value(value: &FormValue) -> Option<i64> {
        match value {
            FormValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromFormValue for bool {
    fn from_form_value(value: &FormValue) -> Option<bool> {
        match value {
            FormValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromFormValue for Decimal {
    fn from_form_value(value: &FormValue) -> Option<Decimal> {
        match value {
            FormValue::Decimal(d) => Some(d.clone()),
            _ => None,
        }
    }
}

impl FromFormValue for NaiveDate {
    fn from_form_value(value: &FormValue) -> Option<NaiveDate> {
        match value {
            FormValue::Date(d) => Some(*d),
            _ => None,
        }
    }
}

impl FromFormValue for NaiveDateTime {
    fn from_form_value(value: &FormValue) -> Option<NaiveDateTime> {
        match value {
            FormValue::DateTime(d) => Some(*d),
            FormValue::DateTimeTz(d) => Some(d.naive_utc()),
            _ => None,
        }
    }
}

impl FromFormValue for FormValue {
    fn from_form_value(value: &FormValue) -> Option<FormValue> {
        Some(value.clone())
    }
}

impl<T: FromFormValue> FromFormValue for Option<T> {
    fn from_form_value(value: &FormValue) -> Option<Option<T>> {
        match value {
            FormValue::None => Some(None),
            v => T::from_form_value(v).map(Some),
        }
    }
}

/// Python's `decimal.Decimal` as the forms see it: a sign, the coefficient's digits as written
/// (leading zeros dropped, trailing kept: `"2.50"` stays `2.50`) and an exponent. Arithmetic
/// is not its job; comparison and Python's `str()` are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// ASCII digits, no leading zero unless the coefficient is `0`.
    digits: String,
    exponent: i64,
}

/// A text that is not a finite Python decimal (`Decimal(text)` fails, or is NaN/Infinity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotADecimal;

impl fmt::Display for NotADecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a finite decimal number")
    }
}

impl std::error::Error for NotADecimal {}

impl Decimal {
    /// The digits of the coefficient and the exponent (`as_tuple()[1:]`).
    pub fn as_tuple(&self) -> (bool, &str, i64) {
        (self.negative, &self.digits, self.exponent)
    }

    /// Whether the value is zero (of any exponent).
    pub fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    /// The nearest f64.
    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Python's `Decimal(text)` for a finite number: surrounding whitespace, a sign, digits
    /// with single `_` between them, an optional point and exponent. NaN and Infinity parse
    /// in Python but are not finite, so they are [`NotADecimal`] here as in DecimalField.
    pub fn parse(text: &str) -> Result<Decimal, NotADecimal> {
        let s = super::utils::py_strip(text);
        let (negative, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let int_digits = digits_with_underscores(int_part).ok_or(NotADecimal)?;
        let frac_digits = digits_with_underscores(frac_part).ok_or(NotADecimal)?;
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(NotADecimal);
        }
        let mut exponent: i64 = match exp {
            None => 0,
            Some(e) => {
                let (neg, e) = match e.as_bytes().first() {
                    Some(b'-') => (true, &e[1..]),
                    Some(b'+') => (false, &e[1..]),
                    _ => (false, e),
                };
                let d = digits_with_underscores(e).ok_or(NotADecimal)?;
                if d.is_empty() {
                    return Err(NotADecimal);
                }
                let v: i64 = d.parse().map_err(|_| NotADecimal)?;
                if neg {
                    -v
                } else {
                    v
                }
            }
        };
        exponent -= frac_digits.len() as i64;
        let all = format!("{int_digits}{frac_digits}");
        let trimmed = all.trim_start_matches('0');
        let digits = if trimmed.is_empty() { "0" } else { trimmed };
        Ok(Decimal {
            negative,
            digits: digits.to_string(),
            exponent,
        })
    }

    /// The exponent of the most significant digit (Python's `adjusted()`).
    fn adjusted(&self) -> i64 {
        self.exponent + self.digits.len() as i64 - 1
    }

    fn cmp_magnitude(&self, other: &Decimal) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        match self.adjusted().cmp(&other.adjusted()) {
            Ordering::Equal => {}
            o => return o,
        }
        // Same leading position: compare digit by digit, the shorter padded with zeros.
        let (a, b) = (self.digits.as_bytes(), other.digits.as_bytes());
        for i in 0..a.len().max(b.len()) {
            let (x, y) = (
                a.get(i).copied().unwrap_or(b'0'),
                b.get(i).copied().unwrap_or(b'0'),
            );
            match x.cmp(&y) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    }

    /// `Decimal(1).scaleb(-places)` as text, lower-cased: the `step` a DecimalField's
    /// NumberInput gets (`0.01`, `1`, `1e-7`).
    pub(crate) fn step_for_places(places: u32) -> String {
        Decimal {
            negative: false,
            digits: "1".into(),
            exponent: -i64::from(places),
        }
        .to_string()
        .to_lowercase()
    }
}

fn digits_with_underscores(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut prev_digit = false;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                out.push(b as char);
                prev_digit = true;
            }
            b'_' if prev_digit && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                prev_digit = false;
            }
            _ => return None,
        }
    }
    Some(out)
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        let neg_a = self.negative && !self.is_zero();
        let neg_b = other.negative && !other.is_zero();
        match (neg_a, neg_b) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl FromStr for Decimal {
    type Err = NotADecimal;
    fn from_str(s: &str) -> Result<Decimal, NotADecimal> {
        Decimal::parse(s)
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Decimal {
        Decimal {
            negative: v < 0,
            digits: v.unsigned_abs().to_string(),
            exponent: 0,
        }
    }
}

impl fmt::Display for Decimal {
    /// Python's `Decimal.__str__` (to-scientific-string): `1E+2`, `0.01`, `1E-7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = &self.digits;
        let n = digits.len() as i64;
        let leftdigits = self.exponent + n;
        let dotplace = if self.exponent <= 0 && leftdigits > -6 {
            leftdigits
        } else {
            1
        };
        let (intpart, fracpart) = if dotplace <= 0 {
            (
                "0".to_string(),
                format!(".{}{digits}", "0".repeat((-dotplace) as usize)),
            )
        } else if dotplace >= n {
            (
                format!("{digits}{}", "0".repeat((dotplace - n) as usize)),
                String::new(),
            )
        } else {
            (
                digits[..dotplace as usize].to_string(),
                format!(".{}", &digits[dotplace as usize..]),
            )
        };
        let exp = if leftdigits == dotplace {
            String::new()
        } else {
            format!("E{:+}", leftdigits - dotplace)
        };
        let sign = if self.negative { "-" } else { "" };
        write!(f, "{sign}{intpart}{fracpart}{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn decimals_print_as_python_s() {
        for (input, shown) in [
            ("1.5", "1.5"),
            ("000.10", "0.10"),
            ("1e2", "1E+2"),
            ("1E-2", "0.01"),
            ("0.00", "0.00"),
            ("-1.25", "-1.25"),
            (" 2.50 ", "2.50"),
            ("1_0.5", "10.5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("0.0000001", "1E-7"),
            ("-0", "-0"),
            ("1e400", "1E+400"),
        ] {
            assert_eq!(d(input).to_string(), shown, "{input}");
        }
        for bad in [
            "", ".", "abc", "1__0", "_1", "1_", "NaN", "Infinity", "1e", "--1", "1.2.3",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Decimal::step_for_places(2), "0.01");
        assert_eq!(Decimal::step_for_places(0), "1");
        assert_eq!(Decimal::step_for_places(7), "1e-7");
    }

    #[test]
    fn decimals_compare_by_value() {
        assert!(d("100.5") < d("100.6"));
        assert!(d("-10.1") < d("-10"));
        assert_eq!(d("1.50").cmp(&d("1.5")), Ordering::Equal);
        assert_eq!(d("-0").cmp(&d("0.00")), Ordering::Equal);
        assert!(d("1E+2") > d("99.99"));
        assert!(d("0.001") > d("-5"));
    }
}
