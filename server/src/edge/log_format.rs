//! Owns the access log's line formats: gunicorn's `--access-logformat` (its `%(atom)s` atoms,
//! parsed once at start-up, rendered per request) and a JSON object per line for log shippers
//! (`--access-log-json`).
//!
//! Atoms, as in gunicorn: `h` client address, `l` `-`, `u` user name (HTTP Basic auth), `t` date
//! `[10/Oct/2000:13:55:36 +0000]`, `r` request line, `m` method, `U` path without query, `q`
//! query string, `H` protocol, `s` status, `B` body bytes, `b` body bytes or `-`, `f` referer,
//! `a` user agent, `T` request time in whole seconds, `M` in milliseconds, `D` in microseconds,
//! `L` in decimal seconds, `p` `<pid>`, `{header}i` a request header. Every value a client
//! controls is escaped, so no request can forge a log line.

use std::fmt::Write as _;
use std::ops::Range;
use std::time::Duration;

/// gunicorn's default `access_log_format`: the combined log format.
pub const DEFAULT_FORMAT: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

/// The atoms gunicorn knows that portico renders, for the error message.
const KNOWN: &str = "h l u t r m U q H s B b f a T M D L p {header}i";

/// One request as the access log sees it.
pub struct Record<'a> {
    /// Client address (`-` when unknown, e.g. a unix-socket peer with no proxy header).
    pub client: &'a str,
    /// The request line as received (empty: none arrived).
    pub request_line: &'a [u8],
    /// Response status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// The request's header fields.
    pub headers: Headers<'a>,
    /// From the request reaching the app to its last byte written (zero for the server's own
    /// refusals).
    pub elapsed: Duration,
    /// The request id the app saw (0: the request never reached the app).
    pub request_id: u64,
}

/// A parsed head's header fields: ranges into its bytes.
#[derive(Clone, Copy)]
pub struct Headers<'a> {
    fields: &'a [(Range<usize>, Range<usize>)],
    bytes: &'a [u8],
}

impl<'a> Headers<'a> {
    /// No headers (a request refused before its head was whole).
    pub const NONE: Headers<'static> = Headers {
        fields: &[],
        bytes: &[],
    };

    /// Fields whose ranges index `bytes`.
    pub fn new(fields: &'a [(Range<usize>, Range<usize>)], bytes: &'a [u8]) -> Headers<'a> {
        Headers { fields, bytes }
    }

    /// The first value of `name` (case-insensitive), empty when absent.
    pub fn get(&self, name: &[u8]) -> &'a [u8] {
        self.fields
            .iter()
            .find(|(n, _)| {
                self.bytes
                    .get(n.clone())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|(_, v)| self.bytes.get(v.clone()))
            .unwrap_or(b"")
    }
}

/// A parsed `--access-logformat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Atom(Atom),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Host,
    Dash,
    User,
    Time,
    RequestLine,
    Method,
    Path,
    Query,
    Protocol,
    Status,
    Bytes,
    BytesOrDash,
    Referer,
    UserAgent,
    Seconds,
    Millis,
    Micros,
    DecimalSeconds,
    Pid,
    Header(Vec<u8>),
}

impl LineFormat {
    /// Parses a gunicorn format string (`%(name)s` atoms, `%%` for a percent sign).
    pub fn parse(text: &str) -> Result<LineFormat, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('%') {
            literal.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('%') {
                literal.push('%');
                rest = after;
                continue;
            }
            let Some(inner) = rest.strip_prefix('(') else {
                return Err(format!(
                    "a `%` must start an atom like %(h)s or be doubled (%%), at `%{}`",
                    rest.chars().take(10).collect::<String>()
                ));
            };
            let Some(close) = inner.find(")s") else {
                return Err(format!(
                    "unterminated atom `%({}`: atoms are written %(name)s",
                    inner.chars().take(20).collect::<String>()
                ));
            };
            let name = &inner[..close];
            rest = &inner[close + 2..];
            let atom =
                atom(name).ok_or_else(|| format!("unknown atom %({name})s (known: {KNOWN})"))?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Atom(atom));
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(LineFormat { pieces })
    }

    /// Renders one line (with its newline) into `out`; `now_secs` is the Unix time, `pid` the
    /// process's as text.
    pub fn render(&self, out: &mut Vec<u8>, r: &Record<'_>, now_secs: u64, pid: &str) {
        let line = RequestLine::split(r.request_line);
        for piece in &self.pieces {
            let atom = match piece {
                Piece::Text(t) => {
                    out.extend_from_slice(t.as_bytes());
                    continue;
                }
                Piece::Atom(a) => a,
            };
            match atom {
                Atom::Host => out.extend_from_slice(r.client.as_bytes()),
                Atom::Dash => out.push(b'-'),
                Atom::User => match basic_auth_user(r.headers.get(b"authorization")) {
                    Some(user) => escape_or_dash(out, &user),
                    None => out.push(b'-'),
                },
                Atom::Time => {
                    out.push(b'[');
                    out.extend_from_slice(clf_time(now_secs).as_bytes());
                    out.push(b']');
                }
                Atom::RequestLine => escape_or_dash(out, r.request_line),
                Atom::Method => escape_or_dash(out, line.method),
                Atom::Path => escape_or_dash(out, line.path),
                Atom::Query => escape(out, line.query),
                Atom::Protocol => escape_or_dash(out, line.protocol),
                Atom::Status => push_num(out, u64::from(r.status)),
                Atom::Bytes => push_num(out, r.bytes),
                Atom::BytesOrDash if r.bytes == 0 => out.push(b'-'),
                Atom::BytesOrDash => push_num(out, r.bytes),
                Atom::Referer => escape_or_dash(out, r.headers.get(b"referer")),
                Atom::UserAgent => escape_or_dash(out, r.headers.get(b"user-agent")),
                Atom::Seconds => push_num(out, r.elapsed.as_secs()),
                Atom::Millis => push_num(out, r.elapsed.as_millis() as u64),
                Atom::Micros => push_num(out, r.elapsed.as_micros() as u64),
                Atom::DecimalSeconds => {
                    let text = format!("{}.{:06}", r.elapsed.as_secs(), r.elapsed.subsec_micros());
                    out.extend_from_slice(text.as_bytes());
                }
                Atom::Pid => {
                    out.push(b'<');
                    out.extend_from_slice(pid.as_bytes());
                    out.push(b'>');
                }
                Atom::Header(name) => escape_or_dash(out, r.headers.get(name)),
            }
        }
        out.push(b'\n');
    }
}

impl Default for LineFormat {
    fn default() -> LineFormat {
        // The default is a constant this module's tests parse.
        LineFormat::parse(DEFAULT_FORMAT).unwrap_or(LineFormat { pieces: Vec::new() })
    }
}

fn atom(name: &str) -> Option<Atom> {
    if let Some(header) = name.strip_prefix('{').and_then(|n| n.strip_suffix("}i")) {
        return (!header.is_empty())
            .then(|| Atom::Header(header.to_ascii_lowercase().into_bytes()));
    }
    Some(match name {
        "h" => Atom::Host,
        "l" => Atom::Dash,
        "u" => Atom::User,
        "t" => Atom::Time,
        "r" => Atom::RequestLine,
        "m" => Atom::Method,
        "U" => Atom::Path,
        "q" => Atom::Query,
        "H" => Atom::Protocol,
        "s" => Atom::Status,
        "B" => Atom::Bytes,
        "b" => Atom::BytesOrDash,
        "f" => Atom::Referer,
        "a" => Atom::UserAgent,
        "T" => Atom::Seconds,
        "M" => Atom::Millis,
        "D" => Atom::Micros,
        "L" => Atom::DecimalSeconds,
        "p" => Atom::Pid,
        _ => return None,
    })
}

/// A request line's parts (empty when absent).
struct RequestLine<'a> {
    method: &'a [u8],
    path: &'a [u8],
    query: &'a [u8],
    protocol: &'a [u8],
}

impl<'a> RequestLine<'a> {
    fn split(line: &'a [u8]) -> RequestLine<'a> {
        let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let method = parts.next().unwrap_or(b"");
        let target = parts.next().unwrap_or(b"");
        let protocol = parts.next().unwrap_or(b"");
        // An absolute-form target's path starts after its authority.
        let target = match target.windows(3).position(|w| w == b"://") {
            Some(i) if !target.starts_with(b"/") => {
                let after = &target[i + 3..];
                after
                    .iter()
                    .position(|&b| b == b'/' || b == b'?')
                    .map_or(&b""[..], |j| &after[j..])
            }
            _ => target,
        };
        let (path, query) = match target.iter().position(|&b| b == b'?') {
            Some(q) => (&target[..q], &target[q + 1..]),
            None => (target, &b""[..]),
        };
        RequestLine {
            method,
            path,
            query,
            protocol,
        }
    }
}

/// The user name of an `Authorization: Basic` value, as gunicorn's `u` atom shows it.
fn basic_auth_user(value: &[u8]) -> Option<Vec<u8>> {
    let value = value
        .strip_prefix(b"Basic ")
        .or_else(|| value.strip_prefix(b"basic "))?;
    let decoded = base64_decode(value.trim_ascii())?;
    let end = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[..end].to_vec())
}

/// Standard base64 (RFC 4648 section 4), padding optional; `None` for anything else.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    use base64::alphabet::STANDARD;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(text).ok()
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(n).as_bytes());
}

fn escape_or_dash(out: &mut Vec<u8>, value: &[u8]) {
    if value.is_empty() {
        out.push(b'-');
    } else {
        escape(out, value);
    }
}

/// Escapes quotes, backslashes and non-printable bytes so a client cannot forge log lines.
pub fn escape(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(Hex(out), "\\x{b:02x}");
            }
        }
    }
}

struct Hex<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Hex<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// One JSON object per line: `time` (ISO 8601, UTC, milliseconds), `remote_addr`, `request`
/// (the line as received), `method`, `path`, `query`, `protocol`, `status`, `bytes`,
/// `duration_ms`, `referer`, `user_agent`, `user` (null without Basic auth), `request_id`
/// (null for the server's own refusals) and `pid`. Invalid UTF-8 becomes U+FFFD.
pub fn render_json(out: &mut Vec<u8>, r: &Record<'_>, now_ms: u64, pid: &str) {
    let line = RequestLine::split(r.request_line);
    out.extend_from_slice(b"{\"time\":\"");
    out.extend_from_slice(iso_time(now_ms).as_bytes());
    out.extend_from_slice(b"\",\"remote_addr\":");
    json_string(out, r.client.as_bytes());
    for (key, value) in [
        ("request", r.request_line),
        ("method", line.method),
        ("path", line.path),
        ("query", line.query),
        ("protocol", line.protocol),
    ] {
        let _ = write!(Hex(out), ",\"{key}\":");
        json_string(out, value);
    }
    let micros = r.elapsed.as_micros();
    let _ = write!(
        Hex(out),
        ",\"status\":{},\"bytes\":{},\"duration_ms\":{}.{:03}",
        r.status,
        r.bytes,
        micros / 1000,
        micros % 1000
    );
    out.extend_from_slice(b",\"referer\":");
    json_string(out, r.headers.get(b"referer"));
    out.extend_from_slice(b",\"user_agent\":");
    json_string(out, r.headers.get(b"user-agent"));
    out.extend_from_slice(b",\"user\":");
    match basic_auth_user(r.headers.get(b"authorization")) {
        Some(user) => json_string(out, &user),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"request_id\":");
    if r.request_id == 0 {
        out.extend_from_slice(b"null");
    } else {
        push_num(out, r.request_id);
    }
    let _ = write!(Hex(out), ",\"pid\":{pid}}}");
    out.push(b'\n');
}

fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    let _ = write!(Hex(out), "\\u{:04x}", c as u32);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `10/Oct/2000:13:55:36 +0000` for a Unix time (UTC).
pub fn clf_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2000-10-10T13:55:36.123Z` for a Unix time in milliseconds.
pub fn iso_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (year, month, day) = civil((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fields = Vec<(Range<usize>, Range<usize>)>;

    /// Headers for a record, from `name: value` lines.
    fn head(text: &str) -> (Fields, Vec<u8>) {
        let bytes = text.as_bytes().to_vec();
        let mut fields = Vec::new();
        let mut at = 0;
        for line in text.split('\n') {
            if let Some(colon) = line.find(": ") {
                fields.push((at..at + colon, at + colon + 2..at + line.len()));
            }
            at += line.len() + 1;
        }
        (fields, bytes)
    }

    fn record<'a>(headers: Headers<'a>, line: &'a [u8]) -> Record<'a> {
        Record {
            client: "203.0.113.9",
            request_line: line,
            status: 200,
            bytes: 13,
            headers,
            elapsed: Duration::from_micros(1_234_567),
            request_id: 42,
        }
    }

    fn render(format: &str, r: &Record<'_>) -> String {
        let mut out = Vec::new();
        LineFormat::parse(format)
            .unwrap()
            .render(&mut out, r, 971_186_136, "77");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_default_is_gunicorns_combined_format() {
        let (fields, bytes) =
            head("Referer: http://ref.example/\nUser-Agent: curl/8\nAuthorization: Basic YWxpY2U6c2VjcmV0");
        let r = record(Headers::new(&fields, &bytes), b"GET /a?b=1 HTTP/1.1");
        assert_eq!(
            render(DEFAULT_FORMAT, &r),
            "203.0.113.9 - alice [10/Oct/2000:13:55:36 +0000] \"GET /a?b=1 HTTP/1.1\" 200 13 \"http://ref.example/\" \"curl/8\"\n"
        );
    }

    #[test]
    fn every_atom_renders() {
        let (fields, bytes) = head("X-Request-Id: abc\"def");
        let r = record(
            Headers::new(&fields, &bytes),
            b"POST http://h.example/p/q?x=%20 HTTP/1.0",
        );
        assert_eq!(
            render("%(m)s|%(U)s|%(q)s|%(H)s|%(s)s|%(B)s|%(b)s|%(T)s|%(M)s|%(D)s|%(L)s|%(p)s|%({x-request-id}i)s|%({missing}i)s|%(u)s|100%%", &r),
            "POST|/p/q|x=%20|HTTP/1.0|200|13|13|1|1234|1234567|1.234567|<77>|abc\\\"def|-|-|100%\n"
        );
        let empty = Record {
            bytes: 0,
            request_line: b"",
            ..record(Headers::NONE, b"")
        };
        assert_eq!(render("%(b)s %(B)s %(r)s %(m)s", &empty), "- 0 - -\n");
    }

    #[test]
    fn client_bytes_cannot_forge_a_line() {
        let (fields, bytes) = head("User-Agent: evil\r\u{1b}[31m");
        let r = record(Headers::new(&fields, &bytes), b"GET /\"x HTTP/1.1");
        let line = render("%(r)s %(a)s", &r);
        assert_eq!(line, "GET /\\\"x HTTP/1.1 evil\\x0d\\x1b[31m\n");
    }

    #[test]
    fn bad_formats_are_refused_with_the_reason() {
        let err = LineFormat::parse("%(h)s %(zz)s").unwrap_err();
        assert!(
            err.contains("unknown atom %(zz)s") && err.contains("{header}i"),
            "{err}"
        );
        assert!(LineFormat::parse("%(h)s %(r")
            .unwrap_err()
            .contains("unterminated"));
        assert!(LineFormat::parse("50% off")
            .unwrap_err()
            .contains("doubled"));
        assert!(LineFormat::parse("%({}i)s").is_err());
        assert_eq!(
            LineFormat::default(),
            LineFormat::parse(DEFAULT_FORMAT).unwrap()
        );
    }

    #[test]
    fn json_lines_are_json() {
        let (fields, bytes) = head("User-Agent: caf\u{e9} \"x\"\nReferer: \u{1}");
        let mut r = record(Headers::new(&fields, &bytes), b"GET /p?q=1 HTTP/1.1");
        r.request_line = b"GET /p?q=1 HTTP/1.1";
        let mut out = Vec::new();
        render_json(&mut out, &r, 971_186_136_789, "77");
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("}\n"));
        assert_eq!(
            text,
            "{\"time\":\"2000-10-10T13:55:36.789Z\",\"remote_addr\":\"203.0.113.9\",\"request\":\"GET /p?q=1 HTTP/1.1\",\"method\":\"GET\",\"path\":\"/p\",\"query\":\"q=1\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":13,\"duration_ms\":1234.567,\"referer\":\"\\u0001\",\"user_agent\":\"caf\u{e9} \\\"x\\\"\",\"user\":null,\"request_id\":42,\"pid\":77}\n"
        );
        let mut out = Vec::new();
        let refused = Record {
            request_id: 0,
            ..record(Headers::NONE, b"\xff\xfe")
        };
        render_json(&mut out, &refused, 0, "1");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\"request\":\"\u{fffd}") && text.contains("\"request_id\":null"),
            "{text}"
        );
    }

    #[test]
    fn times_format_known_instants() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(clf_time(1_709_210_096), "29/Feb/2024:12:34:56 +0000");
        assert_eq!(iso_time(1_709_210_096_005), "2024-02-29T12:34:56.005Z");
    }

    #[test]
    fn basic_auth_users_are_decoded() {
        assert_eq!(
            basic_auth_user(b"Basic YWxpY2U6c2VjcmV0"),
            Some(b"alice".to_vec())
        );
        assert_eq!(basic_auth_user(b"Basic Ym9iOg=="), Some(b"bob".to_vec()));
        assert_eq!(basic_auth_user(b"Bearer abc"), None);
        assert_eq!(basic_auth_user(b"Basic !!!"), None);
        // Padding is optional, as the hand-written decoder allowed.
        assert_eq!(basic_auth_user(b"Basic Ym9iOg"), Some(b"bob".to_vec()));
    }
}
