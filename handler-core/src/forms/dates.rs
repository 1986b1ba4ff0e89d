//! Reading dates and datetimes as DateField / DateTimeField do: Python's `strptime` for the
//! directives Django's input formats use, Django's default (English) `DATE_INPUT_FORMATS`
//! and `DATETIME_INPUT_FORMATS`, and `django.utils.dateparse.parse_datetime` (Python 3.11's
//! `datetime.fromisoformat`, then Django's regex).

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;

/// Django's `DATE_INPUT_FORMATS` for English (`django/conf/locale/en/formats.py`).
pub const DATE_INPUT_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %b, %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %B, %Y",
];

/// Django's `DATETIME_INPUT_FORMATS` for English; DateTimeField tries these, then the date
/// formats.
pub const DATETIME_INPUT_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M:%S.%f",
    "%m/%d/%y %H:%M",
    "%Y-%m-%d",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Python's `_strptime` regex for one directive (the C locale's month names).
fn directive_regex(d: char) -> Option<String> {
    Some(match d {
        'Y' => r"(?P<Y>\d\d\d\d)".into(),
        'y' => r"(?P<y>\d\d)".into(),
        'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])".into(),
        'd' => r"(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])".into(),
        'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)".into(),
        'M' => r"(?P<M>[0-5]\d|\d)".into(),
        'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)".into(),
        'f' => r"(?P<f>[0-9]{1,6})".into(),
        'b' => format!("(?P<b>{})", MONTHS.map(|m| &m[..3]).join("|")),
        'B' => format!("(?P<B>{})", MONTHS.join("|")),
        _ => return None,
    })
}

/// A compiled input format.
struct Format {
    regex: Regex,
}

fn compile(format: &str) -> Format {
    // As _strptime's TimeRE.pattern: regex-escape the literals, whitespace runs match \s+,
    // the whole match is case-insensitive and must consume the whole input.
    let mut pattern = String::from("(?i)^");
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            if let Some(d) = chars.next() {
                match directive_regex(d) {
                    Some(r) => pattern.push_str(&r),
                    None => pattern.push_str(&regex::escape(&format!("%{d}"))),
                }
            }
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            pattern.push_str(r"\s+");
        } else {
            pattern.push_str(&regex::escape(&c.to_string()));
        }
    }
    pattern.push_str(r"\z");
    Format {
        regex: Regex::new(&pattern).expect("input formats compile"),
    }
}

static DATE_FORMATS: LazyLock<Vec<Format>> =
    LazyLock::new(|| DATE_INPUT_FORMATS.iter().map(|f| compile(f)).collect());
static DATETIME_FORMATS: LazyLock<Vec<Format>> =
    LazyLock::new(|| DATETIME_INPUT_FORMATS.iter().map(|f| compile(f)).collect());

/// `datetime.strptime(value, format)` for one format, given compiled.
fn strptime(format: &Format, value: &str) -> Option<NaiveDateTime> {
    let caps = format.regex.captures(value)?;
    let num = |name: &str| {
        caps.name(name)
            .and_then(|m| m.as_str().trim().parse::<u32>().ok())
    };
    let year: i32 = if let Some(y) = caps.name("Y") {
        y.as_str().parse().ok()?
    } else if let Some(y) = num("y") {
        // POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068.
        if y <= 68 {
            2000 + y as i32
        } else {
            1900 + y as i32
        }
    } else {
        1900
    };
    let month_name = |name: &str, len: Option<usize>| {
        caps.name(name).and_then(|m| {
            let v = m.as_str().to_lowercase();
            MONTHS
                .iter()
                .position(|full| len.map_or(*full == v, |l| full[..l] == v))
                .map(|i| i as u32 + 1)
        })
    };
    let month = num("m")
        .or_else(|| month_name("b", Some(3)))
        .or_else(|| month_name("B", None))
        .unwrap_or(1);
    let day = num("d").unwrap_or(1);
    let micro = match caps.name("f") {
        Some(f) => format!("{:0<6}", f.as_str()).parse::<u32>().ok()?,
        None => 0,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_micro_opt(
        num("H").unwrap_or(0),
        num("M").unwrap_or(0),
        num("S").unwrap_or(0),
        micro,
    )?;
    // Python's year must be 1..=9999 (datetime.MINYEAR..MAXYEAR).
    if year < 1 {
        return None;
    }
    Some(NaiveDateTime::new(date, time))
}

/// DateField's `to_python` on text (already stripped): the first input format that reads it.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    DATE_FORMATS
        .iter()
        .find_map(|f| strptime(f, value))
        .map(|dt| dt.date())
}

/// A parsed datetime: naive, or with the offset an ISO 8601 text gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedDateTime {
    /// No offset in the text.
    Naive(NaiveDateTime),
    /// `Z` or `±HH:MM`.
    Aware(DateTime<FixedOffset>),
}

/// The result of `parse_datetime`: Django raises for a well-formed but impossible value
/// (`2024-02-30 10:00`), which DateTimeField reports as invalid without trying its formats.
enum IsoResult {
    Parsed(ParsedDateTime),
    Impossible,
    NotIso,
}

/// DateTimeField's `to_python` on text: `parse_datetime(value.strip())`, then the input
/// formats. `None` is "Enter a valid date/time.".
pub fn parse_datetime_field(value: &str) -> Option<ParsedDateTime> {
    let stripped = super::utils::py_strip(value);
    match parse_datetime(stripped) {
        IsoResult::Parsed(p) => Some(p),
        IsoResult::Impossible => None,
        IsoResult::NotIso => DATETIME_FORMATS
            .iter()
            .chain(DATE_FORMATS.iter())
            .find_map(|f| strptime(f, stripped))
            .map(ParsedDateTime::Naive),
    }
}

static DATETIME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?\n?\z",
    )
    .expect("datetime_re compiles")
});

static ISO_RE: LazyLock<Regex> = LazyLock::new(|| {
    // Python 3.11's fromisoformat, extended forms: YYYY-MM-DD, then any one separator and
    // HH[:MM[:SS[.f…]]], then Z or ±HH[:MM[:SS[.ffffff]]].
    Regex::new(
        r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})(?:.(?P<hour>[0-9]{2})(?::(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?)?(?P<tz>Z|[+-][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{6})?)?)?)?)?\z",
    )
    .expect("iso regex compiles")
});

fn offset_of(tz: &str) -> Option<FixedOffset> {
    if tz == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let body: String = tz[1..].chars().filter(|c| *c != ':').collect();
    let hours: i32 = body.get(0..2)?.parse().ok()?;
    let minutes: i32 = body.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    let seconds: i32 = body.get(4..6).map_or(Some(0), |s| s.parse().ok())?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60 + seconds))
}

fn build(
    year: &str,
    month: &str,
    day: &str,
    time: [Option<&str>; 3],
    micro: u32,
    tz: Option<&str>,
) -> IsoResult {
    let n = |s: Option<&str>| s.map_or(Some(0), |s| s.parse::<u32>().ok());
    let (Ok(y), Ok(m), Ok(d)) = (
        year.parse::<i32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return IsoResult::Impossible;
    };
    let (Some(h), Some(mi), Some(s)) = (n(time[0]), n(time[1]), n(time[2])) else {
        return IsoResult::Impossible;
    };
    let Some(date) = NaiveDate::from_ymd_opt(y, m, d).filter(|_| y >= 1) else {
        return IsoResult::Impossible;
    };
    let Some(t) = NaiveTime::from_hms_micro_opt(h, mi, s, micro) else {
        return IsoResult::Impossible;
    };
    let naive = NaiveDateTime::new(date, t);
    match tz {
        None => IsoResult::Parsed(ParsedDateTime::Naive(naive)),
        Some(tz) => match offset_of(tz).and_then(|o| naive.and_local_timezone(o).single()) {
            Some(aware) => IsoResult::Parsed(ParsedDateTime::Aware(aware)),
            None => IsoResult::Impossible,
        },
    }
}

fn parse_datetime(value: &str) -> IsoResult {
    if let Some(c) = ISO_RE.captures(value) {
        let micro = c.name("frac").map_or(0, |f| {
            let f = f.as_str();
            let six: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            six.parse().unwrap_or(0)
        });
        let r = build(
            &c["year"],
            &c["month"],
            &c["day"],
            [
                c.name("hour").map(|m| m.as_str()),
                c.name("minute").map(|m| m.as_str()),
                c.name("second").map(|m| m.as_str()),
            ],
            micro,
            c.name("tz").map(|m| m.as_str()),
        );
        if let IsoResult::Parsed(_) = r {
            return r;
        }
    }
    match DATETIME_RE.captures(value) {
        None => IsoResult::NotIso,
        Some(c) => {
            let micro = c
                .name("microsecond")
                .map_or(0, |m| format!("{:0<6}", m.as_str()).parse().unwrap_or(0));
            build(
                &c["year"],
                &c["month"],
                &c["day"],
                [
                    c.name("hour").map(|m| m.as_str()),
                    c.name("minute").map(|m| m.as_str()),
                    c.name("second").map(|m| m.as_str()),
                ],
                micro,
                c.name("tzinfo").map(|m| m.as_str()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_with_django_s_english_formats() {
        let d = |s| parse_date(s).map(|d| d.to_string());
        assert_eq!(d("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(d("2023-02-29"), None);
        assert_eq!(d("2/9/2024").as_deref(), Some("2024-02-09"));
        assert_eq!(d("01/01/68").as_deref(), Some("2068-01-01"));
        assert_eq!(d("01/01/69").as_deref(), Some("1969-01-01"));
        assert_eq!(d("oct 25, 2006").as_deref(), Some("2006-10-25"));
        assert_eq!(d("25 October, 2006").as_deref(), Some("2006-10-25"));
        assert_eq!(d("Sept 5 2024"), None);
        assert_eq!(d("10000-01-01"), None);
    }

    #[test]
    fn datetimes_read_iso_first_then_the_formats() {
        let p = |s| match parse_datetime_field(s) {
            Some(ParsedDateTime::Naive(n)) => Some(n.to_string()),
            Some(ParsedDateTime::Aware(a)) => Some(a.to_rfc3339()),
            None => None,
        };
        assert_eq!(p("2024-01-05T10").as_deref(), Some("2024-01-05 10:00:00"));
        assert_eq!(
            p("2024-01-05 1:2:3").as_deref(),
            Some("2024-01-05 01:02:03")
        );
        assert_eq!(
            p("2024-01-05T10:30:00Z").as_deref(),
            Some("2024-01-05T10:30:00+00:00")
        );
        assert_eq!(p("01/05/24 10:30").as_deref(), Some("2024-01-05 10:30:00"));
        assert_eq!(p("Jan 5 2024").as_deref(), Some("2024-01-05 00:00:00"));
        assert_eq!(p("2024-02-30 10:00"), None);
        assert_eq!(p("2024-01-05 10:30:60"), None);
    }
}
