//! django.core.validators as the forms use them: length and value limits, DecimalValidator,
//! ProhibitNullCharactersValidator, RegexValidator, and EmailValidator / URLValidator ported
//! rule for rule (the same regexes, Unicode host names accepted as Django 5.2 accepts them).
//!
//! Rust's `regex` has no look-around; Django's label rule `(?!-)[…-]{1,63}(?<!-)` is written
//! as the same language without it: `[…](?:[…-]{0,61}[…])?`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::error::ValidationError;
use super::value::{Decimal, FormValue};

/// A validator written by the app: a closure over the cleaned value.
pub type CustomValidator = Arc<dyn Fn(&FormValue) -> Result<(), ValidationError> + Send + Sync>;

/// A validator: Django's callables in a field's `validators`. Built-in ones are variants so
/// their messages can be replaced by code through the field's `error_messages`.
#[derive(Clone)]
pub enum Validator {
    /// `MaxLengthValidator`.
    MaxLength(usize),
    /// `MinLengthValidator`.
    MinLength(usize),
    /// `MaxValueValidator` (an int or a Decimal limit).
    MaxValue(FormValue),
    /// `MinValueValidator`.
    MinValue(FormValue),
    /// `StepValueValidator` for integers, with the field's `min_value` as offset.
    StepValue {
        /// The step.
        step: i64,
        /// The offset (`min_value`), if any.
        offset: Option<i64>,
    },
    /// `DecimalValidator(max_digits, decimal_places)`.
    Decimal {
        /// `max_digits`.
        max_digits: Option<u32>,
        /// `decimal_places`.
        decimal_places: Option<u32>,
    },
    /// `ProhibitNullCharactersValidator`.
    ProhibitNull,
    /// `validate_email` (`EmailValidator()`, `localhost` allowed).
    Email,
    /// `URLValidator(schemes)`.
    Url {
        /// The accepted schemes (Django's default: http, https, ftp, ftps).
        schemes: Vec<String>,
    },
    /// `RegexValidator(regex, message, code, inverse_match)`.
    Regex {
        /// The regex (searched, as Python's `re.search`).
        regex: Regex,
        /// The message.
        message: String,
        /// The code.
        code: String,
        /// Fail when it matches instead of when it does not.
        inverse_match: bool,
    },
    /// A validator written by the app.
    Custom(CustomValidator),
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::MaxLength(n) => write!(f, "MaxLength({n})"),
            Validator::MinLength(n) => write!(f, "MinLength({n})"),
            Validator::MaxValue(v) => write!(f, "MaxValue({v:?})"),
            Validator::MinValue(v) => write!(f, "MinValue({v:?})"),
            Validator::StepValue { step, offset } => write!(f, "StepValue({step}, {offset:?})"),
            Validator::Decimal {
                max_digits,
                decimal_places,
            } => write!(f, "Decimal({max_digits:?}, {decimal_places:?})"),
            Validator::ProhibitNull => f.write_str("ProhibitNull"),
            Validator::Email => f.write_str("Email"),
            Validator::Url { schemes } => write!(f, "Url({schemes:?})"),
            Validator::Regex { regex, .. } => write!(f, "Regex({})", regex.as_str()),
            Validator::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Validator {
    /// A validator from a closure.
    pub fn custom(
        f: impl Fn(&FormValue) -> Result<(), ValidationError> + Send + Sync + 'static,
    ) -> Validator {
        Validator::Custom(Arc::new(f))
    }

    /// `RegexValidator(regex, message, code)`; a bad regex is an error naming it.
    pub fn regex(
        pattern: &str,
        message: impl Into<String>,
        code: impl Into<String>,
    ) -> Result<Validator, regex::Error> {
        Ok(Validator::Regex {
            regex: Regex::new(pattern)?,
            message: message.into(),
            code: code.into(),
            inverse_match: false,
        })
    }

    /// `URLValidator()`: http, https, ftp, ftps.
    pub fn url() -> Validator {
        Validator::Url {
            schemes: ["http", "https", "ftp", "ftps"].map(String::from).to_vec(),
        }
    }

    /// Runs the validator on a non-empty cleaned value.
    pub fn validate(&self, value: &FormValue) -> Result<(), ValidationError> {
        let text = || value.to_python_str();
        match self {
            Validator::MaxLength(limit) => {
                let n = text().chars().count();
                if n > *limit {
                    return Err(length_error(
                        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
                        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
                        "max_length",
                        *limit,
                        n,
                    ));
                }
                Ok(())
            }
            Validator::MinLength(limit) => {
                let n = text().chars().count();
                if n < *limit {
                    return Err(length_error(
                        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
                        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
                        "min_length",
                        *limit,
                        n,
                    ));
                }
                Ok(())
            }
            Validator::MaxValue(limit) => {
                if compare(value, limit) == Some(std::cmp::Ordering::Greater) {
                    return Err(ValidationError::with_code(
                        "Ensure this value is less than or equal to %(limit_value)s.",
                        "max_value",
                    )
                    .param("limit_value", limit.to_python_str())
                    .param("show_value", text())
                    .param("value", text()));
                }
                Ok(())
            }
            Validator::MinValue(limit) => {
                if compare(value, limit) == Some(std::cmp::Ordering::Less) {
                    return Err(ValidationError::with_code(
                        "Ensure this value is greater than or equal to %(limit_value)s.",
                        "min_value",
                    )
                    .param("limit_value", limit.to_python_str())
                    .param("show_value", text())
                    .param("value", text()));
                }
                Ok(())
            }
            Validator::StepValue { step, offset } => {
                let FormValue::Int(v) = value else {
                    return Ok(());
                };
                let base = offset.unwrap_or(0);
                if *step != 0 && (v - base).rem_euclid(*step) != 0 {
                    return Err(match offset {
                        None => ValidationError::with_code(
                            "Ensure this value is a multiple of step size %(limit_value)s.",
                            "step_size",
                        )
                        .param("limit_value", step),
                        Some(o) => ValidationError::with_code(
                            "Ensure this value is a multiple of step size %(limit_value)s, starting from %(offset)s, e.g. %(offset)s, %(valid_value1)s, %(valid_value2)s, and so on.",
                            "step_size",
                        )
                        .param("limit_value", step)
                        .param("offset", o)
                        .param("valid_value1", o + step)
                        .param("valid_value2", o + 2 * step),
                    });
                }
                Ok(())
            }
            Validator::Decimal {
                max_digits,
                decimal_places,
            } => match value {
                FormValue::Decimal(d) => validate_decimal(d, *max_digits, *decimal_places),
                _ => Ok(()),
            },
            Validator::ProhibitNull => {
                if text().contains('\0') {
                    return Err(ValidationError::with_code(
                        "Null characters are not allowed.",
                        "null_characters_not_allowed",
                    )
                    .param("value", text()));
                }
                Ok(())
            }
            Validator::Email => validate_email(&text()),
            Validator::Url { schemes } => validate_url(&text(), schemes),
            Validator::Regex {
                regex,
                message,
                code,
                inverse_match,
            } => {
                let t = text();
                if regex.is_match(&t) == *inverse_match {
                    return Err(
                        ValidationError::with_code(message.clone(), code.clone()).param("value", t)
                    );
                }
                Ok(())
            }
            Validator::Custom(f) => f(value),
        }
    }
}

fn length_error(one: &str, many: &str, code: &str, limit: usize, n: usize) -> ValidationError {
    // ngettext on limit_value: English's plural rule.
    ValidationError::with_code(if limit == 1 { one } else { many }, code)
        .param("limit_value", limit)
        .param("show_value", n)
}

fn compare(a: &FormValue, b: &FormValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (FormValue::Int(x), FormValue::Int(y)) => Some(x.cmp(y)),
        (FormValue::Decimal(x), FormValue::Decimal(y)) => Some(x.cmp(y)),
        (FormValue::Decimal(x), FormValue::Int(y)) => Some(x.cmp(&Decimal::from(*y))),
        (FormValue::Int(x), FormValue::Decimal(y)) => Some(Decimal::from(*x).cmp(y)),
        (FormValue::Date(x), FormValue::Date(y)) => Some(x.cmp(y)),
        (FormValue::DateTime(x), FormValue::DateTime(y)) => Some(x.cmp(y)),
        (FormValue::Str(x), FormValue::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// `DecimalValidator.__call__`.
fn validate_decimal(
    value: &Decimal,
    max_digits: Option<u32>,
    decimal_places: Option<u32>,
) -> Result<(), ValidationError> {
    let (_, digit_tuple, exponent) = value.as_tuple();
    let len = digit_tuple.len() as i64;
    let (digits, decimals) = if exponent >= 0 {
        let digits = if digit_tuple != "0" {
            len + exponent
        } else {
            len
        };
        (digits, 0)
    } else if exponent.abs() > len {
        (exponent.abs(), exponent.abs())
    } else {
        (len, exponent.abs())
    };
    let whole_digits = digits - decimals;
    let plural = |n: i64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    if let Some(max) = max_digits {
        if digits > i64::from(max) {
            return Err(ValidationError::with_code(
                plural(
                    max.into(),
                    "Ensure that there are no more than %(max)s digit in total.",
                    "Ensure that there are no more than %(max)s digits in total.",
                ),
                "max_digits",
            )
            .param("max", max)
            .param("value", value));
        }
    }
    if let Some(places) = decimal_places {
        if decimals > i64::from(places) {
            return Err(ValidationError::with_code(
                plural(
                    places.into(),
                    "Ensure that there are no more than %(max)s decimal place.",
                    "Ensure that there are no more than %(max)s decimal places.",
                ),
                "max_decimal_places",
            )
            .param("max", places)
            .param("value", value));
        }
    }
    if let (Some(max), Some(places)) = (max_digits, decimal_places) {
        let whole = i64::from(max) - i64::from(places);
        if whole_digits > whole {
            return Err(ValidationError::with_code(
                plural(
                    whole,
                    "Ensure that there are no more than %(max)s digit before the decimal point.",
                    "Ensure that there are no more than %(max)s digits before the decimal point.",
                ),
                "max_whole_digits",
            )
            .param("max", whole)
            .param("value", value));
        }
    }
    Ok(())
}

/// DomainNameValidator's `ul`: the "Unicode letters" range Django accepts in host names.
const UL: &str = "\u{a1}-\u{ffff}";

/// `hostname_re`: one label of letters, digits and Unicode, no dash at either end.
fn hostname_re() -> String {
    format!("[a-z{UL}0-9](?:[a-z{UL}0-9-]{{0,61}}[a-z{UL}0-9])?")
}

/// `domain_re`: more dot-separated labels, 1 to 63 characters, no dash at either end.
fn domain_re() -> String {
    format!("(?:\\.(?:[a-z{UL}0-9]|[a-z{UL}0-9][a-z{UL}0-9-]{{0,61}}[a-z{UL}0-9]))*")
}

/// `tld_no_fqdn_re`: a dot, then 2 to 63 letters (no digits) or an `xn--` label.
fn tld_no_fqdn_re() -> String {
    format!("\\.(?:[a-z{UL}][a-z{UL}-]{{0,61}}[a-z{UL}]|xn--[a-z0-9]{{1,59}})")
}

static EMAIL_USER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:\A[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\z|\A"(?:[\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*"\z)"#,
    )
    .expect("email user regex compiles")
});

static EMAIL_DOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "(?i)\\A{}{}{}\\z",
        hostname_re(),
        domain_re(),
        tld_no_fqdn_re()
    ))
    .expect("email domain regex compiles")
});

static EMAIL_LITERAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\A\[([A-F0-9:.]+)\]\z").expect("email literal regex compiles")
});

fn email_error(value: &str) -> ValidationError {
    ValidationError::with_code("Enter a valid email address.", "invalid").param("value", value)
}

/// `EmailValidator()(value)`: a user part (dot-atom or quoted string), then a domain, an
/// address literal (`[127.0.0.1]`, `[::1]`) or `localhost`; at most 320 characters.
pub fn validate_email(value: &str) -> Result<(), ValidationError> {
    if value.is_empty() || !value.contains('@') || value.chars().count() > 320 {
        return Err(email_error(value));
    }
    let at = value.rfind('@').unwrap_or(0);
    let (user, domain) = (&value[..at], &value[at + 1..]);
    if !EMAIL_USER_RE.is_match(user) {
        return Err(email_error(value));
    }
    if domain != "localhost" && !validate_email_domain(domain) {
        return Err(email_error(value));
    }
    Ok(())
}

fn validate_email_domain(domain: &str) -> bool {
    if EMAIL_DOMAIN_RE.is_match(domain) {
        return true;
    }
    if let Some(c) = EMAIL_LITERAL_RE.captures(domain) {
        let ip = &c[1];
        return ip.parse::<Ipv4Addr>().is_ok() || is_valid_ipv6_address(ip);
    }
    false
}

/// Django's `is_valid_ipv6_address` (Python's `ipaddress.IPv6Address`, which also takes an
/// embedded IPv4 tail and a `%scope`).
fn is_valid_ipv6_address(ip: &str) -> bool {
    let addr = match ip.split_once('%') {
        Some((a, scope)) if !scope.is_empty() && !scope.contains('/') => a,
        Some(_) => return false,
        None => ip,
    };
    addr.parse::<Ipv6Addr>().is_ok()
}

static URL_RE: LazyLock<Regex> = LazyLock::new(|| {
    let ipv4 = r"(?:0|25[0-5]|2[0-4][0-9]|1[0-9]?[0-9]?|[1-9][0-9]?)(?:\.(?:0|25[0-5]|2[0-4][0-9]|1[0-9]?[0-9]?|[1-9][0-9]?)){3}";
    let ipv6 = r"\[[0-9a-f:.]+\]";
    let host = format!(
        "(?:{}{}{}\\.?|localhost)",
        hostname_re(),
        domain_re(),
        tld_no_fqdn_re()
    );
    Regex::new(&format!(
        "(?i)\\A(?:[a-z0-9.+-]*)://(?:[^\\s:@/]+(?::[^\\s:@/]*)?@)?(?:{ipv4}|{ipv6}|{host})(?::[0-9]{{1,5}})?(?:[/?#][^\\s]*)?\\z"
    ))
    .expect("URL regex compiles")
});

/// `MAX_URL_LENGTH` (django.utils.http).
const MAX_URL_LENGTH: usize = 2048;

fn url_error(value: &str) -> ValidationError {
    ValidationError::with_code("Enter a valid URL.", "invalid").param("value", value)
}

/// The parts of Python's `urlsplit` that URLValidator reads: the netloc, or `Err` where
/// `urlsplit` raises `ValueError` (unbalanced brackets, a bracketed host that is not IPv6).
fn urlsplit_netloc(value: &str) -> Result<Option<&str>, ()> {
    let Some(colon) = value.find(':') else {
        return Ok(None);
    };
    let scheme = &value[..colon];
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let rest = if valid_scheme {
        &value[colon + 1..]
    } else {
        value
    };
    let Some(after) = rest.strip_prefix("//") else {
        return Ok(None);
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let netloc = &after[..end];
    let (open, close) = (netloc.contains('['), netloc.contains(']'));
    if open != close {
        return Err(());
    }
    if open {
        let bracketed = netloc
            .split_once('[')
            .map(|(_, r)| r.split_once(']').map_or(r, |(h, _)| h))
            .unwrap_or("");
        // Python 3.11's _check_bracketed_host: IPvFuture (`v…`) or an IPv6 address.
        if !bracketed.starts_with('v') && bracketed.parse::<Ipv6Addr>().is_err() {
            return Err(());
        }
    }
    Ok(Some(netloc))
}

/// `urlsplit(value).hostname`: the netloc without userinfo, brackets or port, lower-cased;
/// `None` when empty.
fn hostname_of(netloc: &str) -> Option<String> {
    let host = netloc.rsplit_once('@').map_or(netloc, |(_, h)| h);
    let host = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(h, _)| h)
    } else {
        host.split_once(':').map_or(host, |(h, _)| h)
    };
    (!host.is_empty()).then(|| host.to_lowercase())
}

/// `URLValidator(schemes)(value)`.
pub fn validate_url(value: &str, schemes: &[String]) -> Result<(), ValidationError> {
    if value.chars().count() > MAX_URL_LENGTH {
        return Err(url_error(value));
    }
    if value.contains(['\t', '\r', '\n']) {
        return Err(url_error(value));
    }
    let scheme = value.split("://").next().unwrap_or("").to_lowercase();
    if !schemes.contains(&scheme) {
        return Err(url_error(value));
    }
    let netloc = urlsplit_netloc(value).map_err(|()| url_error(value))?;
    if !URL_RE.is_match(value) {
        return Err(url_error(value));
    }
    let netloc = netloc.unwrap_or("");
    // An IPv6 host in brackets must be a real IPv6 address.
    if let Some(inner) = netloc.strip_prefix('[') {
        if let Some((ip, port)) = inner.rsplit_once(']') {
            let port_ok = port.is_empty()
                || port.strip_prefix(':').is_some_and(|p| {
                    (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
                });
            if port_ok && !is_valid_ipv6_address(ip) {
                return Err(url_error(value));
            }
        }
    }
    // RFC 1034 3.1: a full host name is at most 253 characters.
    match hostname_of(netloc) {
        Some(h) if h.chars().count() <= 253 => Ok(()),
        _ => Err(url_error(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_django_s_rules() {
        for ok in [
            "a@example.com",
            "A.B+c@Example.COM",
            "a@localhost",
            "\"a.b\"@example.com",
            "a@[127.0.0.1]",
            "a@[::1]",
            "user@exämple.com",
            "a@xn--bcher-kva.ch",
        ] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a@b",
            "a@b.c",
            "a@-b.com",
            "a@b-.com",
            "a..b@example.com",
            "a@example.com.",
            "a@[300.1.1.1]",
            "a@example.c0m",
            "üser@example.com",
            "\"a b\"@example.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        let long = format!("a@{}.com", "x".repeat(64));
        assert!(validate_email(&long).is_err());
    }

    #[test]
    fn urls_follow_django_s_rules() {
        let s = Validator::url();
        let Validator::Url { schemes } = &s else {
            unreachable!()
        };
        for ok in [
            "http://example.com",
            "http://localhost:8000/",
            "http://[::1]:80/",
            "http://exämple.com/",
            "http://user:pw@example.com/",
            "HTTP://EXAMPLE.COM",
            "http://例子.测试/",
            // {1,5} digits, as Django's regex: not a range check.
            "http://example.com:99999/",
        ] {
            assert!(validate_url(ok, schemes).is_ok(), "{ok}");
        }
        for bad in [
            "http://[::zz]/",
            "http://[::1",
            "http://256.1.1.1/",
            "http://example",
            "http://-example.com/",
            "http://example.com:port/",
            "http://exa mple.com/",
            "mailto:a@example.com",
            "http://example.com/\t",
        ] {
            assert!(validate_url(bad, schemes).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimal_limits_give_django_s_messages() {
        let d = |s: &str| Decimal::parse(s).unwrap();
        let e = validate_decimal(&d("1234.5"), Some(5), Some(2)).unwrap_err();
        assert_eq!(
            e.messages(),
            ["Ensure that there are no more than 3 digits before the decimal point."]
        );
        let e = validate_decimal(&d("0.1"), Some(1), Some(0)).unwrap_err();
        assert_eq!(
            e.messages(),
            ["Ensure that there are no more than 0 decimal places."]
        );
        assert!(validate_decimal(&d("1E+2"), Some(5), Some(2)).is_ok());
    }
}
