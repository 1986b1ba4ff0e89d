//! multipart/form-data parsing (Django's `http.multipartparser`).
//!
//! The whole body is in memory (the server bounds its size), so this is Django's
//! `MultiPartParser` without the streaming: the preamble and epilogue are ignored, parts are
//! split at `--boundary` lines, a part with a non-empty `filename` is a file, a part without
//! `Content-Disposition` or a `name` is skipped, and field/file counts are limited as Django's
//! `DATA_UPLOAD_MAX_NUMBER_FIELDS` / `DATA_UPLOAD_MAX_NUMBER_FILES` do.

use std::fmt;

use super::encoding::parse_header_parameters;
use super::querydict::QueryDict;

/// Django's `DATA_UPLOAD_MAX_NUMBER_FIELDS` default.
pub const DEFAULT_MAX_FIELDS: usize = 1000;
/// Django's `DATA_UPLOAD_MAX_NUMBER_FILES` default.
pub const DEFAULT_MAX_FILES: usize = 100;
/// Django reads at most 1024 bytes looking for the end of a part's headers
/// (`MultiPartParser.max_header_size`); a longer header block is refused here.
pub const DEFAULT_MAX_PART_HEADER_BYTES: usize = 1024;
/// RFC 2046 allows 70 characters; Django's `_boundary_re` allows up to 201.
const MAX_BOUNDARY_LEN: usize = 201;

/// One uploaded file, held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The form field the file came from.
    pub field_name: String,
    /// The sanitised base name the client gave (never empty, never a path).
    pub file_name: String,
    /// The part's `Content-Type` main value, lower-cased (empty when absent).
    pub content_type: String,
    /// The `charset` parameter of the part's `Content-Type`.
    pub charset: Option<String>,
    /// The file's bytes.
    pub content: Vec<u8>,
}

/// A parsed multipart body: `request.POST` and `request.FILES`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Multipart {
    /// The non-file fields, in order.
    pub fields: QueryDict,
    /// The files, in the order they were sent.
    pub files: Vec<UploadedFile>,
}

impl Multipart {
    /// The last file sent for `field` (Django's `FILES[field]`).
    pub fn file(&self, field: &str) -> Option<&UploadedFile> {
        self.files.iter().rev().find(|f| f.field_name == field)
    }

    /// Every file sent for `field`, in order (Django's `FILES.getlist(field)`).
    pub fn files_for(&self, field: &str) -> Vec<&UploadedFile> {
        self.files
            .iter()
            .filter(|f| f.field_name == field)
            .collect()
    }
}

/// Limits a client cannot exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Most non-file fields allowed.
    pub max_fields: usize,
    /// Most files allowed.
    pub max_files: usize,
    /// Most bytes in one part's header block.
    pub max_part_header_bytes: usize,
    /// Most bytes of non-file fields (`DATA_UPLOAD_MAX_MEMORY_SIZE`: each field counts its
    /// content, its name and 2, as Django's parser counts them).
    pub max_field_bytes: u64,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_fields: DEFAULT_MAX_FIELDS,
            max_files: DEFAULT_MAX_FILES,
            max_part_header_bytes: DEFAULT_MAX_PART_HEADER_BYTES,
            max_field_bytes: crate::settings::DEFAULT_DATA_UPLOAD_MAX_MEMORY_SIZE,
        }
    }
}

/// Why a multipart body was refused; every variant is a client error (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartError {
    /// The Content-Type is not `multipart/*`.
    InvalidContentType(String),
    /// The Content-Type has no `boundary` parameter.
    MissingBoundary,
    /// The boundary is not 1-201 printable ASCII characters ending in a non-space.
    InvalidBoundary(String),
    /// The body does not follow the multipart syntax; the reason says where.
    Malformed(&'static str),
    /// More fields than `max_fields`.
    TooManyFields(usize),
    /// More files than `max_files`.
    TooManyFiles(usize),
    /// A part's header block is longer than `max_part_header_bytes`.
    PartHeadersTooLarge(usize),
    /// The non-file fields hold more than `max_field_bytes` (Django's `RequestDataTooBig`).
    FieldsTooLarge,
    /// The Content-Type is not ASCII.
    NonAsciiContentType(String),
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::InvalidContentType(ct) => write!(f, "Invalid Content-Type: {ct}"),
            MultipartError::MissingBoundary => f.write_str("Invalid boundary in multipart: None"),
            MultipartError::InvalidBoundary(b) => write!(f, "Invalid boundary in multipart: {b}"),
            MultipartError::Malformed(why) => write!(f, "Malformed multipart body: {why}"),
            MultipartError::TooManyFields(_) => f.write_str(
                "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.",
            ),
            MultipartError::TooManyFiles(_) => {
                f.write_str("The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.")
            }
            MultipartError::PartHeadersTooLarge(_) => {
                f.write_str("Request max total header size exceeded.")
            }
            MultipartError::FieldsTooLarge => {
                f.write_str("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            }
            MultipartError::NonAsciiContentType(ct) => {
                write!(f, "Invalid non-ASCII Content-Type in multipart: {ct}")
            }
        }
    }
}

impl std::error::Error for MultipartError {}

fn valid_boundary(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= MAX_BOUNDARY_LEN
        && b.bytes().all(|c| (b' '..=b'~').contains(&c))
        && !b.ends_with(' ')
}

/// The `boundary` parameter of a `multipart/...` Content-Type, checked like Django's
/// `_boundary_re` (`^[ -~]{0,200}[!-~]$`).
pub fn boundary_from_content_type(content_type: &str) -> Result<String, MultipartError> {
    // Django's MultiPartParser: the raw header must start `multipart/` (as sent, case and all),
    // be ASCII, and name a boundary.
    if !content_type.starts_with("multipart/") {
        return Err(MultipartError::InvalidContentType(content_type.to_string()));
    }
    if !content_type.is_ascii() {
        return Err(MultipartError::NonAsciiContentType(
            content_type.to_string(),
        ));
    }
    let (_, params) = parse_header_parameters(content_type);
    let boundary = params
        .into_iter()
        .find(|(k, _)| k == "boundary")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or(MultipartError::MissingBoundary)?;
    if !valid_boundary(&boundary) {
        return Err(MultipartError::InvalidBoundary(boundary));
    }
    Ok(boundary)
}

/// Finds the next delimiter line at or after `from`: `--boundary` at the start of the body or
/// right after a `\n`, followed by `--`, whitespace, a line break or the end of the body (so
/// `--boundaryX` inside content is content). Returns its start and the index after it.
fn find_delimiter(body: &[u8], delim: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut p = from;
    while p + delim.len() <= body.len() {
        let at_line_start = p == 0 || body[p - 1] == b'\n';
        if at_line_start && body[p..].starts_with(delim) {
            let after = p + delim.len();
            let rest = &body[after..];
            if rest.is_empty()
                || rest.starts_with(b"--")
                || matches!(rest[0], b'\r' | b'\n' | b' ' | b'\t')
            {
                return Some((p, after));
            }
        }
        match body[p..].iter().position(|&b| b == b'\n') {
            Some(nl) => p += nl + 1,
            None => return None,
        }
    }
    None
}

/// Steps over a delimiter line's transport padding and line break; `None` if the line has
/// something else on it.
fn skip_line_end(body: &[u8], mut i: usize) -> Option<usize> {
    while i < body.len() && matches!(body[i], b' ' | b'\t') {
        i += 1;
    }
    if body[i..].starts_with(b"\r\n") {
        Some(i + 2)
    } else if body[i..].starts_with(b"\n") {
        Some(i + 1)
    } else {
        None
    }
}

/// Parses a `multipart/form-data` body into fields and files as Django's `MultiPartParser`.
pub fn parse_multipart(
    body: &[u8],
    boundary: &str,
    limits: &MultipartLimits,
) -> Result<Multipart, MultipartError> {
    if !valid_boundary(boundary) {
        return Err(MultipartError::InvalidBoundary(boundary.to_string()));
    }
    let mut result = Multipart::default();
    // Django answers an empty body with empty POST and FILES.
    if body.is_empty() {
        return Ok(result);
    }
    let delim = [b"--", boundary.as_bytes()].concat();
    let mut state = PartState::default();
    // Django's Parser reads what comes before the first delimiter as a part too (a body with
    // no delimiter at all is one part): mostly a RAW part it skips, but a field when it holds
    // a Content-Disposition header ended by CRLFCRLF.
    let Some((first, mut after)) = find_delimiter(body, &delim, 0) else {
        state.add_part(body, limits, &mut result)?;
        return Ok(result);
    };
    let mut preamble = &body[..first];
    preamble = preamble.strip_suffix(b"\n").unwrap_or(preamble);
    preamble = preamble.strip_suffix(b"\r").unwrap_or(preamble);
    if !preamble.is_empty() {
        state.add_part(preamble, limits, &mut result)?;
    }
    loop {
        if body[after..].starts_with(b"--") {
            // The closing delimiter: whatever follows is the epilogue.
            return Ok(result);
        }
        // Django's parser never refuses the layout: an empty part, junk after a delimiter
        // (its first header line, skipped) and a last part with no closing delimiter (it runs
        // to the end of the body) are read as parts.
        if after == body.len() {
            state.count_field(limits)?;
            return Ok(result);
        }
        let start = skip_line_end(body, after).unwrap_or(after);
        let Some((next, next_after)) = find_delimiter(body, &delim, start) else {
            state.add_part(&body[start..], limits, &mut result)?;
            return Ok(result);
        };
        // The line break before a delimiter belongs to the delimiter, not to the content.
        let mut end = next;
        if end > start && body[end - 1] == b'\n' {
            end -= 1;
            if end > start && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        state.add_part(&body[start..end], limits, &mut result)?;
        after = next_after;
    }
}

/// What the parser carries from part to part.
#[derive(Default)]
struct PartState {
    fields: usize,
    /// Bytes of non-file fields so far, as Django counts them.
    field_bytes: u64,
    files: usize,
    /// The charset named by a `_charset_` field, used for the fields after it.
    charset: Option<String>,
}

/// The headers of one part that matter.
#[derive(Default)]
struct PartHeaders {
    disposition: Option<Vec<(String, String)>>,
    content_type: Option<(String, Vec<(String, String)>)>,
    base64: bool,
}

/// Splits a part into its headers and content; `Ok(None)` when no `\r\n\r\n` ends the
/// headers (Django passes such a part on as RAW and skips it: LF-only line ends included).
/// Header lines are split at `\r\n`, as Django splits them.
fn split_part(
    part: &[u8],
    max_header_bytes: usize,
) -> Result<Option<(PartHeaders, &[u8])>, MultipartError> {
    let mut headers = PartHeaders::default();
    let Some(end) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
        if part.len() > max_header_bytes {
            return Err(MultipartError::PartHeadersTooLarge(max_header_bytes));
        }
        return Ok(None);
    };
    if end + 4 > max_header_bytes {
        return Err(MultipartError::PartHeadersTooLarge(max_header_bytes));
    }
    let block = &part[..end];
    let mut lines = Vec::new();
    let mut rest = block;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    lines.push(rest);
    for line in lines {
        let line = String::from_utf8_lossy(line);
        // Django skips a header line it cannot split.
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => headers.disposition = Some(parse_header_parameters(value).1),
            "content-type" => headers.content_type = Some(parse_header_parameters(value)),
            "content-transfer-encoding" => {
                headers.base64 = value.trim().eq_ignore_ascii_case("base64");
            }
            _ => {}
        }
    }
    Ok(Some((headers, &part[end + 4..])))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    let latin1 = charset.is_some_and(|c| {
        matches!(
            c.trim().to_ascii_lowercase().as_str(),
            "iso-8859-1" | "latin-1" | "latin1" | "iso8859-1" | "l1"
        )
    });
    if latin1 {
        bytes.iter().map(|&b| char::from(b)).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

impl PartState {
    /// One more part that is not a file, against DATA_UPLOAD_MAX_NUMBER_FIELDS (with Django's 2
    /// to spare for the empty parts around the last boundary).
    fn count_field(&mut self, limits: &MultipartLimits) -> Result<(), MultipartError> {
        self.fields += 1;
        if self.fields > limits.max_fields.saturating_add(2) {
            return Err(MultipartError::TooManyFields(limits.max_fields));
        }
        Ok(())
    }

    fn add_part(
        &mut self,
        part: &[u8],
        limits: &MultipartLimits,
        out: &mut Multipart,
    ) -> Result<(), MultipartError> {
        let split = split_part(part, limits.max_part_header_bytes)?;
        // Django counts every part without a filename (and every RAW part) against
        // DATA_UPLOAD_MAX_NUMBER_FIELDS, with 2 to spare for the empty parts around the last
        // boundary.
        let is_file = split.as_ref().is_some_and(|(h, _)| {
            h.disposition
                .as_ref()
                .and_then(|d| param(d, "filename"))
                .is_some_and(|f| !f.is_empty())
        });
        if !is_file {
            self.count_field(limits)?;
        }
        let Some((headers, content)) = split else {
            return Ok(());
        };
        // Django decodes base64 parts and keeps the raw bytes when they do not decode.
        let decoded = if headers.base64 {
            decode_base64(content)
        } else {
            None
        };
        let content = decoded.as_deref().unwrap_or(content);
        let Some(disposition) = headers.disposition else {
            return Ok(());
        };
        let Some(field_name) = param(&disposition, "name").map(str::trim) else {
            return Ok(());
        };
        let file_name = param(&disposition, "filename").filter(|f| !f.is_empty());
        match file_name {
            None => {
                self.field_bytes += content.len() as u64 + field_name.len() as u64 + 2;
                if self.field_bytes > limits.max_field_bytes {
                    return Err(MultipartError::FieldsTooLarge);
                }
                let part_charset = headers
                    .content_type
                    .as_ref()
                    .and_then(|(_, p)| param(p, "charset"));
                let value = decode_text(content, part_charset.or(self.charset.as_deref()));
                if field_name == "_charset_" {
                    self.charset = Some(value.trim().to_string());
                }
                out.fields.append(field_name, value);
            }
            Some(raw_name) => {
                self.files += 1;
                if self.files > limits.max_files {
                    return Err(MultipartError::TooManyFiles(limits.max_files));
                }
                let Some(file_name) = sanitize_file_name(raw_name) else {
                    return Ok(());
                };
                let (content_type, charset) = match headers.content_type {
                    Some((main, params)) => (main, param(&params, "charset").map(str::to_string)),
                    None => (String::new(), None),
                };
                out.files.push(UploadedFile {
                    field_name: field_name.to_string(),
                    file_name,
                    content_type,
                    charset,
                    content: content.to_vec(),
                });
            }
        }
        Ok(())
    }
}

fn base64_value(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Python's lenient `base64.b64decode`: characters outside the alphabet are ignored, the
/// padding must be right; `None` where Python raises `binascii.Error`.
fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let kept: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&b| b == b'=' || base64_value(b).is_some())
        .collect();
    let data_len = kept.iter().position(|&b| b == b'=').unwrap_or(kept.len());
    let padding = &kept[data_len..];
    if padding.iter().any(|&b| b != b'=') || data_len % 4 == 1 {
        return None;
    }
    if !(data_len + padding.len()).is_multiple_of(4) || padding.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(data_len / 4 * 3 + 2);
    for chunk in kept[..data_len].chunks(4) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= base64_value(b)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Python's `str.isprintable()`, near enough: no controls, no format characters, no
/// separators other than the plain space.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// The character references browsers put in filenames (Python's `html.unescape` knows many
/// more named ones; these are the ones that can hide a path separator or a quote).
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = entity.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    // Python maps NUL and impossible code points to U+FFFD.
                    Some(
                        char::from_u32(code)
                            .filter(|&c| c != '\0')
                            .unwrap_or('\u{FFFD}'),
                    )
                }
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Django's `MultiPartParser.sanitize_file_name`: unescape HTML references, keep the part
/// after the last `/` and `\`, drop non-printable characters; `None` for "", "." and "..".
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let unescaped = html_unescape(name);
    let base = unescaped.rsplit('/').next().unwrap_or("");
    let base = base.rsplit('\\').next().unwrap_or("");
    let clean: String = base.chars().filter(|&c| is_printable(c)).collect();
    match clean.as_str() {
        "" | "." | ".." => None,
        _ => Some(clean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ123";

    fn parse(body: &str) -> Result<Multipart, MultipartError> {
        parse_multipart(body.as_bytes(), B, &MultipartLimits::default())
    }

    #[test]
    fn boundary_from_content_type_checks_like_django() {
        assert_eq!(
            boundary_from_content_type("multipart/form-data; boundary=abc"),
            Ok("abc".to_string())
        );
        assert_eq!(
            boundary_from_content_type("multipart/Form-Data; BOUNDARY=\"a b:c\""),
            Ok("a b:c".to_string())
        );
        // Django's parser reads the raw header: `Multipart/` is not `multipart/`.
        assert!(matches!(
            boundary_from_content_type("Multipart/form-data; boundary=abc"),
            Err(MultipartError::InvalidContentType(_))
        ));
        assert_eq!(
            MultipartError::MissingBoundary.to_string(),
            "Invalid boundary in multipart: None"
        );
        assert_eq!(
            boundary_from_content_type("multipart/form-data"),
            Err(MultipartError::MissingBoundary)
        );
        assert_eq!(
            boundary_from_content_type("multipart/form-data; boundary="),
            Err(MultipartError::MissingBoundary)
        );
        assert!(matches!(
            boundary_from_content_type("text/plain; boundary=abc"),
            Err(MultipartError::InvalidContentType(_))
        ));
        assert!(matches!(
            boundary_from_content_type("multipart/form-data; boundary=\"ab \""),
            Err(MultipartError::InvalidBoundary(_))
        ));
        let long = format!("multipart/form-data; boundary={}", "a".repeat(202));
        assert!(matches!(
            boundary_from_content_type(&long),
            Err(MultipartError::InvalidBoundary(_))
        ));
        assert!(matches!(
            boundary_from_content_type("multipart/form-data; boundary=caf\u{e9}"),
            Err(MultipartError::NonAsciiContentType(_))
        ));
    }

    #[test]
    fn fields_files_and_repeats_with_preamble_and_epilogue() {
        let body = "preamble text\r\n--XyZ123\r\n\
            Content-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\na\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\nb\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n\
            Content-Type: Text/Plain; charset=utf-8\r\n\r\nfile body\r\n\
            --XyZ123--\r\nepilogue";
        let m = parse(body).unwrap();
        assert_eq!(m.fields.get("title"), Some("Hello"));
        assert_eq!(m.fields.get_list("tag"), vec!["a", "b"]);
        assert_eq!(m.files.len(), 1);
        let f = m.file("doc").unwrap();
        assert_eq!(f.file_name, "a.txt");
        assert_eq!(f.content_type, "text/plain");
        assert_eq!(f.charset.as_deref(), Some("utf-8"));
        assert_eq!(f.content, b"file body");
        assert!(m.file("title").is_none());
    }

    #[test]
    fn repeated_file_fields_keep_order() {
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename=\"1.bin\"\r\n\r\n1\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename=\"2.bin\"\r\n\r\n2\r\n\
            --XyZ123--";
        let m = parse(body).unwrap();
        let names: Vec<_> = m
            .files_for("f")
            .iter()
            .map(|f| f.file_name.as_str())
            .collect();
        assert_eq!(names, vec!["1.bin", "2.bin"]);
        assert_eq!(m.file("f").unwrap().content, b"2");
        assert_eq!(m.file("f").unwrap().content_type, "");
    }

    #[test]
    fn the_layout_is_never_refused_as_djangos_parser_never_refuses_it() {
        // No closing delimiter: the last part runs to the end of the body.
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        assert_eq!(parse(body).unwrap().fields.get("a"), Some("1\r\n"));
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ123";
        assert_eq!(parse(body).unwrap().fields.get("a"), Some("1"));
        // No delimiter at all: the body is one part, a RAW one here.
        assert_eq!(parse("no boundary here"), Ok(Multipart::default()));
        let one = "Content-Disposition: form-data; name=\"p\"\r\n\r\nv";
        assert_eq!(parse(one).unwrap().fields.get("p"), Some("v"));
        // Junk after a delimiter is the part's first header line, which does not parse.
        assert_eq!(
            parse("--XyZ123 junk\r\n--XyZ123--"),
            Ok(Multipart::default())
        );
        assert_eq!(parse(""), Ok(Multipart::default()));
        // A line that only starts like the boundary is preamble.
        assert_eq!(
            parse("--XyZ123junk\r\n--XyZ123--"),
            Ok(Multipart::default())
        );
    }

    #[test]
    fn boundary_like_text_and_crlf_inside_content_are_content() {
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n\
            line1\r\n\r\n--XyZ1234 not a boundary\r\nmid --XyZ123 inline\r\n\r\n\
            --XyZ123--\r\n";
        let m = parse(body).unwrap();
        assert_eq!(
            m.file("f").unwrap().content,
            b"line1\r\n\r\n--XyZ1234 not a boundary\r\nmid --XyZ123 inline\r\n"
        );
    }

    #[test]
    fn headers_ended_by_bare_lf_make_a_raw_part_that_is_skipped() {
        // Django looks for `\r\n\r\n` only: such a part is RAW and never reaches POST.
        let body = "--XyZ123\nContent-Disposition: form-data; name=\"a\"\n\nv\n--XyZ123--\n";
        assert_eq!(parse(body).unwrap().fields.get("a"), None);
    }

    #[test]
    fn empty_filename_is_not_a_file_and_bad_names_are_skipped() {
        // Django: an empty filename makes the part a plain field (what browsers send for an
        // empty file input), so nothing lands in FILES.
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"up\"; filename=\"\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"dots\"; filename=\"..\"\r\n\r\nx\r\n\
            --XyZ123--";
        let m = parse(body).unwrap();
        assert!(m.files.is_empty());
        assert_eq!(m.fields.get("up"), Some(""));
        assert!(!m.fields.contains_key("dots"));
    }

    #[test]
    fn filenames_lose_their_paths() {
        assert_eq!(
            sanitize_file_name("C:\\Users\\me\\cv.pdf"),
            Some("cv.pdf".into())
        );
        assert_eq!(
            sanitize_file_name("../../etc/passwd"),
            Some("passwd".into())
        );
        assert_eq!(
            sanitize_file_name("a&#x2F;b&amp;c.txt"),
            Some("b&c.txt".into())
        );
        assert_eq!(sanitize_file_name("x/"), None);
        assert_eq!(sanitize_file_name("a\u{0}b\tc.txt"), Some("abc.txt".into()));
        assert_eq!(
            sanitize_file_name("&#0;&bogus;&"),
            Some("\u{FFFD}&bogus;&".into())
        );
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"f\"; \
            filename=\"/tmp/../x/evil.sh\"\r\n\r\n#!\r\n--XyZ123--";
        assert_eq!(parse(body).unwrap().file("f").unwrap().file_name, "evil.sh");
    }

    #[test]
    fn parts_without_disposition_name_or_headers_are_skipped() {
        let body = "--XyZ123\r\nContent-Type: text/plain\r\n\r\norphan\r\n\
            --XyZ123\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n\
            --XyZ123\r\nno blank line here\r\n\
            --XyZ123\r\n\r\nno headers\r\n\
            --XyZ123\r\nbroken header line\r\nContent-Disposition: form-data; name=\" k \"\r\n\r\nv\r\n\
            --XyZ123--";
        let m = parse(body).unwrap();
        assert_eq!(m.fields.iter().collect::<Vec<_>>(), vec![("k", "v")]);
        assert!(m.files.is_empty());
    }

    #[test]
    fn limits_on_fields_files_and_headers() {
        let part = "--XyZ123\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        let limits = MultipartLimits {
            max_fields: 2,
            ..MultipartLimits::default()
        };
        // Django leaves 2 to spare (for the empty parts around the last boundary).
        let body = format!("{}--XyZ123--", part.repeat(4));
        assert!(parse_multipart(body.as_bytes(), B, &limits).is_ok());
        let body = format!("{}--XyZ123--", part.repeat(5));
        let err = parse_multipart(body.as_bytes(), B, &limits).unwrap_err();
        assert_eq!(err, MultipartError::TooManyFields(2));
        assert!(err.to_string().ends_with("DATA_UPLOAD_MAX_NUMBER_FIELDS."));
        // DATA_UPLOAD_MAX_MEMORY_SIZE counts each field's content, name and 2.
        let limits = MultipartLimits {
            max_field_bytes: 8,
            ..MultipartLimits::default()
        };
        let body = format!("{}--XyZ123--", part.repeat(2));
        assert!(parse_multipart(body.as_bytes(), B, &limits).is_ok());
        let body = format!("{}--XyZ123--", part.repeat(3));
        assert_eq!(
            parse_multipart(body.as_bytes(), B, &limits),
            Err(MultipartError::FieldsTooLarge)
        );

        let file =
            "--XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n1\r\n";
        let body = format!("{}--XyZ123--", file.repeat(2));
        let limits = MultipartLimits {
            max_files: 1,
            ..MultipartLimits::default()
        };
        assert_eq!(
            parse_multipart(body.as_bytes(), B, &limits),
            Err(MultipartError::TooManyFiles(1))
        );

        let body = format!(
            "--XyZ123\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\nv\r\n--XyZ123--",
            "n".repeat(2000)
        );
        assert_eq!(
            parse(&body),
            Err(MultipartError::PartHeadersTooLarge(
                DEFAULT_MAX_PART_HEADER_BYTES
            ))
        );
    }

    #[test]
    fn names_and_values_are_decoded_lossily_and_charset_is_honoured() {
        let mut body = b"--XyZ123\r\nContent-Disposition: form-data; name=\"caf\xc3\xa9\xff\"\r\n\r\n\xe9t\xc3\xa9\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\niso-8859-1\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"l\"\r\n\r\n\xe9\r\n"
            .to_vec();
        body.extend_from_slice(b"--XyZ123--");
        let m = parse_multipart(&body, B, &MultipartLimits::default()).unwrap();
        assert_eq!(m.fields.get("caf\u{e9}\u{FFFD}"), Some("\u{FFFD}t\u{e9}"));
        assert_eq!(m.fields.get("_charset_"), Some("iso-8859-1"));
        assert_eq!(m.fields.get("l"), Some("\u{e9}"));
    }

    #[test]
    fn base64_parts_are_decoded_and_bad_base64_kept() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64(b"aGVsbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(decode_base64(b"aGVsbG8"), None);
        assert_eq!(decode_base64(b"a==="), None);
        assert_eq!(decode_base64(b""), Some(Vec::new()));
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"a\"\r\n\
            Content-Transfer-Encoding: BASE64\r\n\r\nY2Fmw6k=\r\n\
            --XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nnot base64!\r\n--XyZ123--";
        let m = parse(body).unwrap();
        assert_eq!(m.fields.get("a"), Some("caf\u{e9}"));
        assert_eq!(m.file("f").unwrap().content, b"not base64!");
    }

    #[test]
    fn rfc2231_filename() {
        let body = "--XyZ123\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''na%C3%AFve.txt\r\n\r\nx\r\n--XyZ123--";
        assert_eq!(
            parse(body).unwrap().file("f").unwrap().file_name,
            "na\u{ef}ve.txt"
        );
    }

    #[test]
    fn invalid_boundary_argument_is_refused() {
        assert!(matches!(
            parse_multipart(b"--\r\n", "", &MultipartLimits::default()),
            Err(MultipartError::InvalidBoundary(_))
        ));
    }
}
