//! Responses (Django's `http/response.py`): `HttpResponse` and its family, `JsonResponse`,
//! `StreamingHttpResponse`, `FileResponse`.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::headers::Headers;
use super::status;
use crate::exception::ViewError;

/// What a response carries: bytes known up front, or chunks produced on demand.
pub enum Body {
    /// The whole content (Django's `HttpResponse.content`).
    Bytes(Vec<u8>),
    /// Chunks written as they come (Django's `streaming_content`).
    Stream(Box<dyn Iterator<Item = Vec<u8>> + Send>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// An HTTP response (Django's `HttpResponse`); its family are constructors returning it.
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code (Django's `status_code`).
    pub status_code: u16,
    /// An explicit reason phrase; `None` uses the standard one.
    pub reason: Option<String>,
    /// The header fields (case-insensitive names), `Set-Cookie` included.
    pub headers: Headers,
    /// The charset named in the default `Content-Type` (borrowed while it is the default, so a
    /// response does not allocate for it).
    pub charset: std::borrow::Cow<'static, str>,
    /// Set by `xframe_options_exempt`: `XFrameOptionsMiddleware` leaves this response alone
    /// (Django's `response.xframe_options_exempt`).
    pub xframe_options_exempt: bool,
    body: Body,
    /// Set once the cycle has logged this response (Django's `_has_been_logged`).
    pub(crate) logged: bool,
}

/// Header text a new response reserves: its `Content-Type` and a few more (a `Set-Cookie` or
/// two grow the buffer once).
const RESPONSE_HEADER_BYTES: usize = 160;

/// Django's `DEFAULT_CHARSET`.
pub const DEFAULT_CHARSET: &str = "utf-8";

/// Django's default content type: `DEFAULT_CONTENT_TYPE` with the charset.
pub const DEFAULT_CONTENT_TYPE: &str = "text/html; charset=utf-8";

impl HttpResponse {
    /// Status 200, `text/html; charset=utf-8`, with `content`.
    pub fn new(content: impl Into<Vec<u8>>) -> Self {
        HttpResponse::typed(content.into(), DEFAULT_CONTENT_TYPE)
    }

    /// Status 200 with `content` of `content_type` (what `new` then `content_type` give, in
    /// one step).
    pub(crate) fn typed(content: Vec<u8>, content_type: &str) -> Self {
        HttpResponse {
            status_code: status::OK,
            reason: None,
            headers: {
                // Room for the few fields a response usually gains on its way out, so setting
                // them does not grow the buffer.
                let mut h = Headers::for_response(4, RESPONSE_HEADER_BYTES);
                h.append("Content-Type", content_type);
                h
            },
            charset: std::borrow::Cow::Borrowed(DEFAULT_CHARSET),
            xframe_options_exempt: false,
            body: Body::Bytes(content),
            logged: false,
        }
    }

    /// `content` with status `status` (Django's `HttpResponse(content, status=...)`).
    pub fn with_status(status: u16, content: impl Into<Vec<u8>>) -> Self {
        HttpResponse::new(content).status(status)
    }

    /// Sets the status code, builder style.
    pub fn status(mut self, status: u16) -> Self {
        self.status_code = status;
        self
    }

    /// Sets a header (replacing any of the same name), builder style.
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.headers.set(name, value);
        self
    }

    /// Sets `Content-Type`, builder style (Django's `content_type=`).
    pub fn content_type(self, value: &str) -> Self {
        self.header("Content-Type", value)
    }

    /// The reason phrase: the explicit one or the standard phrase of the status.
    pub fn reason_phrase(&self) -> &str {
        match &self.reason {
            Some(r) => r,
            None => status::reason_phrase(self.status_code),
        }
    }

    /// The content of a non-streaming response; empty for a streaming one.
    pub fn content(&self) -> &[u8] {
        match &self.body {
            Body::Bytes(b) => b,
            Body::Stream(_) => &[],
        }
    }

    /// Replaces the content (and turns a streaming response into a plain one).
    pub fn set_content(&mut self, content: impl Into<Vec<u8>>) {
        self.body = Body::Bytes(content.into());
    }

    /// Replaces the body with `chunks` (Django's `response.streaming_content = ...`).
    pub fn set_streaming_content(&mut self, chunks: Box<dyn Iterator<Item = Vec<u8>> + Send>) {
        self.body = Body::Stream(chunks);
    }

    /// True for a `StreamingHttpResponse` / `FileResponse` (Django's `streaming`).
    pub fn is_streaming(&self) -> bool {
        matches!(self.body, Body::Stream(_))
    }

    /// Takes the body out, leaving empty content behind.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Bytes(Vec::new()))
    }

    /// A header's value (Django's `response.get(name)` / `response[name]`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// True when the header is present (Django's `has_header`).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains(name)
    }

    /// Sets a cookie (Django's `set_cookie`): appends a `Set-Cookie` field.
    pub fn set_cookie(
        &mut self,
        name: &str,
        value: &str,
        options: &super::cookies::CookieOptions,
    ) -> Result<(), super::cookies::CookieError> {
        let line = super::cookies::render_set_cookie(name, value, options)?;
        self.headers.append("Set-Cookie", line);
        Ok(())
    }

    /// Deletes a cookie (Django's `delete_cookie`): an empty value, `Max-Age=0` and an expiry
    /// in 1970, on `path` (Django's default `/`).
    pub fn delete_cookie(
        &mut self,
        name: &str,
        path: &str,
    ) -> Result<(), super::cookies::CookieError> {
        let options = super::cookies::CookieOptions::for_delete(name, path, None, None);
        self.set_cookie(name, "", &options)
    }
}

macro_rules! status_response {
    ($(#[$doc:meta])* $name:ident, $code:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            /// The response, with `content` as its body.
            #[allow(clippy::new_ret_no_self)]
            pub fn new(content: impl Into<Vec<u8>>) -> HttpResponse {
                HttpResponse::with_status($code, content)
            }
        }
    };
}

status_response!(
    /// Django's `HttpResponseBadRequest` (400).
    HttpResponseBadRequest,
    status::BAD_REQUEST
);
status_response!(
    /// Django's `HttpResponseForbidden` (403).
    HttpResponseForbidden,
    status::FORBIDDEN
);
status_response!(
    /// Django's `HttpResponseNotFound` (404).
    HttpResponseNotFound,
    status::NOT_FOUND
);
status_response!(
    /// Django's `HttpResponseGone` (410).
    HttpResponseGone,
    status::GONE
);
status_response!(
    /// Django's `HttpResponseServerError` (500).
    HttpResponseServerError,
    status::INTERNAL_SERVER_ERROR
);

/// Django's `HttpResponseRedirectBase.allowed_schemes`: a redirect to any other scheme
/// (`javascript:`, `data:`, …) is refused.
pub const ALLOWED_REDIRECT_SCHEMES: [&str; 3] = ["http", "https", "ftp"];

/// Django's `MAX_URL_REDIRECT_LENGTH`: a longer redirect target is refused (normalising a huge
/// URL is a denial-of-service vector).
pub const MAX_URL_REDIRECT_LENGTH: usize = 16384;

/// Django's `HttpResponseRedirectBase.__init__`: `Location` is `url` IRI-encoded; an over-long
/// URL or a scheme outside [`ALLOWED_REDIRECT_SCHEMES`] is `DisallowedRedirect`, a
/// `SuspiciousOperation` (400).
fn redirect_response(status: u16, url: &str) -> Result<HttpResponse, ViewError> {
    if url.chars().count() > MAX_URL_REDIRECT_LENGTH {
        return Err(ViewError::DisallowedRedirect(format!(
            "Unsafe redirect exceeding {MAX_URL_REDIRECT_LENGTH} characters"
        )));
    }
    if let Some(scheme) = url_scheme(url) {
        if !ALLOWED_REDIRECT_SCHEMES.contains(&scheme.as_str()) {
            return Err(ViewError::DisallowedRedirect(format!(
                "Unsafe redirect to URL with protocol '{scheme}'"
            )));
        }
    }
    Ok(HttpResponse::with_status(status, Vec::new())
        .header("Location", super::encoding::iri_to_uri(url)))
}

/// The scheme Python's `urlsplit(url).scheme` finds, lower-cased: the text before the first
/// `:` when it starts with an ASCII letter and holds only letters, digits, `+`, `-` and `.`.
/// As in `urlsplit` (and in browsers), leading control characters and spaces are stripped and
/// tabs and newlines removed first, so `" java\tscript:"` is still `javascript`.
fn url_scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let candidate = &cleaned[..cleaned.find(':')?];
    let first = candidate.bytes().next()?;
    let valid = first.is_ascii_alphabetic()
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| candidate.to_ascii_lowercase())
}

/// Django's `HttpResponseRedirect` (302 with `Location`).
pub struct HttpResponseRedirect;

impl HttpResponseRedirect {
    /// 302 to `url` (IRI-encoded as Django's `iri_to_uri` does), empty body. An unsafe scheme
    /// or an over-long URL is [`ViewError::DisallowedRedirect`] (400), as Django raises it.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(url: &str) -> Result<HttpResponse, ViewError> {
        redirect_response(status::FOUND, url)
    }
}

/// Django's `HttpResponsePermanentRedirect` (301 with `Location`).
pub struct HttpResponsePermanentRedirect;

impl HttpResponsePermanentRedirect {
    /// 301 to `url`, empty body; refused as [`HttpResponseRedirect::new`] refuses.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(url: &str) -> Result<HttpResponse, ViewError> {
        redirect_response(status::MOVED_PERMANENTLY, url)
    }
}

/// Django's `HttpResponseNotModified` (304, no content type, no body).
pub struct HttpResponseNotModified;

impl HttpResponseNotModified {
    /// The empty 304.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> HttpResponse {
        let mut r = HttpResponse::with_status(status::NOT_MODIFIED, Vec::new());
        r.headers.remove("Content-Type");
        r
    }
}

/// Django's `HttpResponseNotAllowed` (405 with `Allow`).
pub struct HttpResponseNotAllowed;

impl HttpResponseNotAllowed {
    /// 405 with `Allow: <methods joined by ", ">` and an empty body.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(permitted_methods: &[&str]) -> HttpResponse {
        HttpResponse::with_status(status::METHOD_NOT_ALLOWED, Vec::new())
            .header("Allow", permitted_methods.join(", "))
    }
}

/// Django's `JsonResponse`: serialised with Python's `json.dumps` defaults (`", "` and `": "`
/// separators, non-ASCII escaped as `\uXXXX`), `Content-Type: application/json`.
pub struct JsonResponse;

impl JsonResponse {
    /// Status 200 with `data` serialised as Django would.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<T: Serialize + ?Sized>(data: &T) -> Result<HttpResponse, ViewError> {
        Ok(HttpResponse::typed(
            to_python_json(data)?,
            "application/json",
        ))
    }

    /// `data` with status `status` (Django's `JsonResponse(data, status=...)`).
    pub fn with_status<T: Serialize + ?Sized>(
        status: u16,
        data: &T,
    ) -> Result<HttpResponse, ViewError> {
        Ok(JsonResponse::new(data)?.status(status))
    }

    /// Compact JSON (no spaces), as benchmarks such as TechEmpower's expect.
    pub fn compact<T: Serialize + ?Sized>(data: &T) -> Result<HttpResponse, ViewError> {
        Ok(HttpResponse::typed(
            serde_json::to_vec(data)?,
            "application/json",
        ))
    }
}

/// Serialises `data` exactly as Python's `json.dumps(data)` does with default arguments.
pub fn to_python_json<T: Serialize + ?Sized>(data: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    data.serialize(&mut ser)?;
    Ok(out)
}

/// serde_json formatter for Python's default `json.dumps` layout.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // ensure_ascii=True: every non-ASCII character becomes \uXXXX (surrogate pairs above
        // the BMP).
        // Python escapes everything outside ' '..='~' (its ESCAPE_ASCII); serde_json already
        // escapes the control characters below ' ', which leaves DEL and non-ASCII here.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && c != '\x7f' {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{:04x}", unit)?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    /// Python's `float.__repr__` (`5e+19`, `1e-05`, `2.0`), where serde_json writes `5e19` and
    /// `1e-5`. serde_json calls this for finite values only; it writes `null` for NaN and the
    /// infinities, where `json.dumps` would write the non-JSON `NaN` and `Infinity`.
    fn write_f64<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f64,
    ) -> std::io::Result<()> {
        writer.write_all(crate::python::float_repr(value).as_bytes())
    }

    /// An `f32` is written as the Python float it widens to.
    fn write_f32<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: f32,
    ) -> std::io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Django's `StreamingHttpResponse`: content produced by an iterator, sent chunk by chunk.
pub struct StreamingHttpResponse;

impl StreamingHttpResponse {
    /// Status 200, `text/html; charset=utf-8`, streaming `chunks`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<I, T>(chunks: I) -> HttpResponse
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
        T: Into<Vec<u8>> + 'static,
    {
        let mut r = HttpResponse::new(Vec::new());
        r.body = Body::Stream(Box::new(chunks.into_iter().map(Into::into)));
        r
    }
}

/// How many bytes `FileResponse` reads per chunk (Django's `FileResponse.block_size`).
pub const FILE_BLOCK_SIZE: usize = 4096;

/// Django's `FileResponse`: streams a file in blocks with `Content-Length` and a
/// `Content-Type` guessed from the name.
pub struct FileResponse;

impl FileResponse {
    /// Opens `path` and streams it; `as_attachment` adds `Content-Disposition: attachment`.
    #[allow(clippy::new_ret_no_self)]
    pub fn open(path: &Path, as_attachment: bool) -> Result<HttpResponse, ViewError> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let mut r = StreamingHttpResponse::new(FileChunks { file, done: false })
            .content_type(guess_content_type(path))
            .header("Content-Length", len.to_string());
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            let kind = if as_attachment {
                "attachment"
            } else {
                "inline"
            };
            r.headers.set(
                "Content-Disposition",
                format!("{kind}; filename=\"{}\"", name.replace(['"', '\\'], "_")),
            );
        }
        Ok(r)
    }
}

struct FileChunks {
    file: std::fs::File,
    done: bool,
}

impl Iterator for FileChunks {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut buf = vec![0u8; FILE_BLOCK_SIZE];
        match self.file.read(&mut buf) {
            Ok(0) | Err(_) => {
                // A read error mid-file cannot change the status any more: end the body short
                // and let the server close the connection (Content-Length was promised).
                self.done = true;
                None
            }
            Ok(n) => {
                buf.truncate(n);
                Some(buf)
            }
        }
    }
}

fn guess_content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html",
        Some("txt") => "text/plain",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_response_matches_python_json_dumps() {
        let r = JsonResponse::new(&json!({"message": "Success", "data": [1, 2, 3]})).unwrap();
        assert_eq!(r.content(), br#"{"message": "Success", "data": [1, 2, 3]}"#);
        assert_eq!(r.get("content-type"), Some("application/json"));
        let r = JsonResponse::new(&json!({"s": "caf\u{e9} \u{1F600}", "f": 2.5})).unwrap();
        assert_eq!(
            r.content(),
            br#"{"s": "caf\u00e9 \ud83d\ude00", "f": 2.5}"#.as_slice()
        );
        let r = JsonResponse::compact(&json!({"message": "Hello, World!"})).unwrap();
        assert_eq!(r.content(), br#"{"message":"Hello, World!"}"#);
    }

    #[test]
    fn floats_and_del_are_written_as_python_writes_them() {
        // Values checked against CPython's json.dumps.
        let r = JsonResponse::new(&json!([
            5e19, 1e-5, 2.0, -0.0, 0.1, 1e16, 1.5e-7, 123456.789
        ]));
        assert_eq!(
            r.unwrap().content(),
            b"[5e+19, 1e-05, 2.0, -0.0, 0.1, 1e+16, 1.5e-07, 123456.789]"
        );
        assert_eq!(to_python_json(&1.5f32).unwrap(), b"1.5");
        assert_eq!(to_python_json(&f64::NAN).unwrap(), b"null");
        assert_eq!(to_python_json("a\u{7f}b").unwrap(), br#""a\u007fb""#);
    }

    #[test]
    fn family_sets_status_and_headers() {
        assert_eq!(
            HttpResponseRedirect::new("/a b/").unwrap().get("Location"),
            Some("/a%20b/")
        );
        assert_eq!(
            HttpResponsePermanentRedirect::new("/x/")
                .unwrap()
                .status_code,
            301
        );
        let r = HttpResponseNotAllowed::new(&["GET", "POST"]);
        assert_eq!((r.status_code, r.get("Allow")), (405, Some("GET, POST")));
        let r = HttpResponseNotModified::new();
        assert_eq!(r.status_code, 304);
        assert!(!r.has_header("Content-Type"));
        assert_eq!(HttpResponseGone::new("").reason_phrase(), "Gone");
        assert_eq!(HttpResponseServerError::new("").status_code, 500);
    }

    #[test]
    fn error_family_sets_status_and_keeps_the_body() {
        for (r, status) in [
            (HttpResponseBadRequest::new("<p>bad</p>"), 400),
            (HttpResponseForbidden::new("<p>bad</p>"), 403),
            (HttpResponseNotFound::new("<p>bad</p>"), 404),
            (HttpResponseGone::new("<p>bad</p>"), 410),
            (HttpResponseServerError::new("<p>bad</p>"), 500),
        ] {
            assert_eq!(r.status_code, status);
            assert_eq!(r.content(), b"<p>bad</p>");
            assert_eq!(r.get("Content-Type"), Some(DEFAULT_CONTENT_TYPE));
            assert!(!r.is_streaming());
        }
        assert_eq!(
            HttpResponseBadRequest::new("").reason_phrase(),
            "Bad Request"
        );
        assert_eq!(HttpResponseForbidden::new("").reason_phrase(), "Forbidden");
        assert_eq!(HttpResponseNotFound::new("").reason_phrase(), "Not Found");
    }

    #[test]
    fn redirects_refuse_unsafe_schemes_as_disallowed_redirect() {
        for url in [
            "https://example.com/",
            "HTTP://example.com/",
            "ftp://files.example.com/a",
            "/relative/",
            "../up",
            "//other.example.com/",
            "?page=2",
            "/path/with:colon",
        ] {
            let r = HttpResponseRedirect::new(url);
            assert!(r.is_ok(), "{url}: {r:?}");
        }
        for (url, scheme) in [
            ("javascript:alert(1)", "javascript"),
            ("JavaScript:alert(1)", "javascript"),
            ("  java\tscript:alert(1)", "javascript"),
            ("\u{1}data:text/html,x", "data"),
            ("ssh://host/", "ssh"),
            ("mailto:a@example.com", "mailto"),
            ("localhost:8000/", "localhost"),
        ] {
            let e = HttpResponsePermanentRedirect::new(url).unwrap_err();
            assert!(matches!(e, ViewError::DisallowedRedirect(_)), "{url}: {e}");
            assert_eq!(e.status_code(), 400);
            assert_eq!(
                e.message(),
                format!("Unsafe redirect to URL with protocol '{scheme}'")
            );
        }
        let longest = format!("/{}", "x".repeat(MAX_URL_REDIRECT_LENGTH - 1));
        assert!(HttpResponseRedirect::new(&longest).is_ok());
        let e = HttpResponseRedirect::new(&format!("{longest}x")).unwrap_err();
        assert_eq!(e.message(), "Unsafe redirect exceeding 16384 characters");
    }

    #[test]
    fn set_and_delete_cookie_append_set_cookie_fields() {
        let mut r = HttpResponse::new("x");
        let opts = crate::http::cookies::CookieOptions {
            httponly: true,
            ..Default::default()
        };
        r.set_cookie("theme", "dark", &opts).unwrap();
        r.delete_cookie("old", "/").unwrap();
        let cookies: Vec<&str> = r.headers.get_all("Set-Cookie").collect();
        assert_eq!(cookies.len(), 2);
        assert!(cookies[0].starts_with("theme=dark"), "{}", cookies[0]);
        assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("Path=/"));
        assert!(cookies[1].starts_with("old=\"\""), "{}", cookies[1]);
        assert!(cookies[1].contains("Max-Age=0"), "{}", cookies[1]);
        assert!(r.set_cookie("bad name", "v", &opts).is_err());
    }

    #[test]
    fn file_response_streams_the_file_with_length_and_type() {
        let dir = std::env::temp_dir().join(format!("hc-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("report.json");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let mut r = FileResponse::open(&file, true).unwrap();
        assert_eq!(r.get("Content-Type"), Some("application/json"));
        assert_eq!(r.get("Content-Length"), Some("10000"));
        assert_eq!(
            r.get("Content-Disposition"),
            Some("attachment; filename=\"report.json\"")
        );
        let Body::Stream(chunks) = r.take_body() else {
            panic!("a file response streams");
        };
        let chunks: Vec<Vec<u8>> = chunks.collect();
        assert!(chunks.len() >= 3 && chunks.iter().all(|c| c.len() <= FILE_BLOCK_SIZE));
        assert_eq!(chunks.concat(), data);
        assert!(FileResponse::open(&dir.join("absent"), false).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn streaming_response_yields_its_chunks() {
        let mut r = StreamingHttpResponse::new((0..3).map(|i| format!("line {i}\n")));
        assert!(r.is_streaming());
        match r.take_body() {
            Body::Stream(it) => {
                let all: Vec<u8> = it.flatten().collect();
                assert_eq!(all, b"line 0\nline 1\nline 2\n");
            }
            Body::Bytes(_) => panic!("expected a stream"),
        }
    }
}
