//! Responses (Django's `http/response.py`): `HttpResponse` and its family, `JsonResponse`,
//! `StreamingHttpResponse`, `FileResponse`.

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
    /// A range of an open file (a `FileResponse`), sent zero-copy where the server can.
    File(FileBody),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Stream"),
            Body::File(b) => write!(f, "File({} bytes at {})", b.len, b.offset),
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
            Body::Stream(_) | Body::File(_) => &[],
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
        matches!(self.body, Body::Stream(_) | Body::File(_))
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

/// How many bytes `FileResponse` reads per chunk where its file is read rather than handed to
/// the server whole (Django's `FileResponse.block_size` is 4096; bigger blocks mean fewer calls,
/// and memory stays bounded by one block).
pub const FILE_BLOCK_SIZE: usize = 64 * 1024;

/// A response body that is a range of an open file (Django's `FileResponse` content, PEP
/// 3333's `wsgi.file_wrapper`): the adapter hands it to the server's `send_file` (zero-copy,
/// `sendfile(2)`), or reads and writes it in [`FILE_BLOCK_SIZE`] blocks on a server without it.
/// Reads never move the file's own position.
#[derive(Debug)]
pub struct FileBody {
    /// The file; closed when the body is dropped (after the response went out).
    pub file: std::fs::File,
    /// Where the range starts in the file.
    pub offset: u64,
    /// How many bytes the range holds.
    pub len: u64,
}

impl FileBody {
    /// Reads block `at..` of the range, at most [`FILE_BLOCK_SIZE`] bytes (empty at its end).
    pub fn read_block(&self, at: u64) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let left = self.len.saturating_sub(at);
        let mut buf = vec![0u8; (left as usize).min(FILE_BLOCK_SIZE)];
        let mut got = 0;
        while got < buf.len() {
            match self
                .file
                .read_at(&mut buf[got..], self.offset + at + got as u64)
            {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    /// The whole range in memory (the test Client; a file that ended early gives what it had).
    pub fn read_all(&self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let block = self.read_block(out.len() as u64)?;
            if block.is_empty() {
                return Ok(out);
            }
            out.extend_from_slice(&block);
        }
    }

    /// The range as blocks, for a server without `send_file`, middleware that transforms a
    /// streaming body (GZip) and the test Client. A read error, or a file that ends before
    /// its range, is logged and ends the stream short: the server then closes the connection
    /// (the length promised is not met).
    pub fn into_chunks(self) -> impl Iterator<Item = Vec<u8>> + Send {
        let mut at = 0u64;
        std::iter::from_fn(move || {
            if at >= self.len {
                return None;
            }
            match self.read_block(at) {
                Ok(block) if !block.is_empty() => {
                    at += block.len() as u64;
                    Some(block)
                }
                Ok(_) => {
                    log::error!(
                        "the file of a FileResponse ended {} bytes early",
                        self.len - at
                    );
                    None
                }
                Err(e) => {
                    log::error!("reading the file of a FileResponse failed: {e}");
                    None
                }
            }
        })
    }
}

/// Django's `FileResponse`: a streaming response whose content is a file, with
/// `Content-Length`, a `Content-Type` guessed from the file name (as Python's `mimetypes`,
/// compressed files typed as their compression) and Django's `Content-Disposition`.
///
/// The body goes to the server as a [`FileBody`], sent with `sendfile(2)` where the server
/// offers it: the file is never read into the app's memory. Every constructor returns the
/// response with status 200; a caller answering a range sets 206 and `Content-Range` itself.
pub struct FileResponse;

impl FileResponse {
    /// The rest of `file` from its current position (Django measures `Content-Length` from
    /// `tell()` to the end), `application/octet-stream`, no `Content-Disposition`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(file: std::fs::File) -> Result<HttpResponse, ViewError> {
        FileResponse::named(file, "", false)
    }

    /// As [`FileResponse::new`], with `filename` (Django's `filename=`, the base name is
    /// used) for the content type and `Content-Disposition` (`inline`, or `attachment` with
    /// `as_attachment`; `attachment` alone for an attachment without a name).
    pub fn named(
        mut file: std::fs::File,
        filename: &str,
        as_attachment: bool,
    ) -> Result<HttpResponse, ViewError> {
        use std::io::Seek;
        let offset = file.stream_position()?;
        let len = file.metadata()?.len().saturating_sub(offset);
        Ok(FileResponse::build(
            FileBody { file, offset, len },
            filename,
            as_attachment,
        ))
    }

    /// `len` bytes of `file` from `offset` (for a `Range` request: the caller sets 206 and
    /// `Content-Range`), `application/octet-stream`. A range past the file's end is an error.
    pub fn with_range(
        file: std::fs::File,
        offset: u64,
        len: u64,
    ) -> Result<HttpResponse, ViewError> {
        FileResponse::named_range(file, "", false, offset, len)
    }

    /// [`FileResponse::with_range`] with a name, as [`FileResponse::named`].
    pub fn named_range(
        file: std::fs::File,
        filename: &str,
        as_attachment: bool,
        offset: u64,
        len: u64,
    ) -> Result<HttpResponse, ViewError> {
        let size = file.metadata()?.len();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the range {offset}+{len} is past the end of a {size}-byte file"),
            )
            .into());
        }
        Ok(FileResponse::build(
            FileBody { file, offset, len },
            filename,
            as_attachment,
        ))
    }

    /// Opens `path` and sends it, named after its file name (Django's
    /// `FileResponse(open(path, "rb"), as_attachment=...)`).
    pub fn open(path: &Path, as_attachment: bool) -> Result<HttpResponse, ViewError> {
        let file = std::fs::File::open(path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        FileResponse::named(file, name, as_attachment)
    }

    fn build(body: FileBody, filename: &str, as_attachment: bool) -> HttpResponse {
        // os.path.basename of the name given.
        let name = filename.rsplit('/').next().unwrap_or("");
        let content_type = if name.is_empty() {
            "application/octet-stream"
        } else {
            guess_content_type(name)
        };
        let mut r = HttpResponse::typed(Vec::new(), content_type)
            .header("Content-Length", body.len.to_string());
        if let Some(value) = content_disposition_header(as_attachment, name) {
            r.headers.set("Content-Disposition", value);
        }
        r.body = Body::File(body);
        r
    }
}

/// Django's `content_disposition_header` (RFC 6266): `filename="..."` for printable ASCII
/// (with `\` and `"` escaped), `filename*=utf-8''...` percent-encoded otherwise; `attachment`
/// alone for an attachment without a name, nothing for an inline one without.
pub fn content_disposition_header(as_attachment: bool, filename: &str) -> Option<String> {
    let disposition = if as_attachment {
        "attachment"
    } else {
        "inline"
    };
    if filename.is_empty() {
        return as_attachment.then(|| "attachment".to_string());
    }
    let quotable = filename
        .bytes()
        .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b));
    let expr = if quotable {
        format!(
            "filename=\"{}\"",
            filename.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        format!("filename*=utf-8''{}", super::encoding::quote(filename, "/"))
    };
    Some(format!("{disposition}; {expr}"))
}

/// The type Django's `FileResponse` gives a file name: Python's `mimetypes.guess_type`, except
/// that a compressed file (`.gz`, `.bz2`, `.xz`, `.br`, `.Z`, and `.tgz`-style aliases) is typed
/// as its compression, so browsers do not decompress it on the fly.
fn guess_content_type(name: &str) -> &'static str {
    let Some((_, last)) = name.rsplit_once('.') else {
        return "application/octet-stream";
    };
    match last {
        "gz" | "tgz" | "taz" | "tz" | "svgz" => return "application/gzip",
        "bz2" | "tbz2" => return "application/x-bzip",
        "xz" | "txz" => return "application/x-xz",
        "br" => return "application/x-brotli",
        "Z" => return "application/x-compress",
        _ => {}
    }
    // mimetypes tries the extension as it is, then lower-cased.
    match last.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html",
        "txt" | "text" | "log" | "conf" | "asc" => "text/plain",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "text/xml",
        "md" => "text/markdown",
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
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

    fn temp_file(name: &str, data: &[u8]) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("hc-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, data).unwrap();
        (dir, file)
    }

    #[test]
    fn file_response_sends_the_file_with_length_type_and_disposition() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (dir, file) = temp_file("report.json", &data);
        let mut r = FileResponse::open(&file, true).unwrap();
        assert!(r.is_streaming(), "Django's FileResponse is streaming");
        assert_eq!(r.get("Content-Type"), Some("application/json"));
        assert_eq!(r.get("Content-Length"), Some("200000"));
        assert_eq!(
            r.get("Content-Disposition"),
            Some("attachment; filename=\"report.json\"")
        );
        let Body::File(body) = r.take_body() else {
            panic!("a file response is a file body");
        };
        assert_eq!((body.offset, body.len), (0, 200_000));
        assert_eq!(body.read_all().unwrap(), data);
        let blocks: Vec<Vec<u8>> = body.into_chunks().collect();
        assert!(blocks.iter().all(|b| b.len() <= FILE_BLOCK_SIZE) && blocks.len() == 4);
        assert_eq!(blocks.concat(), data);
        assert!(FileResponse::open(&dir.join("absent"), false).is_err());

        // From the file's current position, as Django measures from tell().
        let mut f = std::fs::File::open(&file).unwrap();
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(150_000)).unwrap();
        let mut r = FileResponse::new(f).unwrap();
        assert_eq!(r.get("Content-Length"), Some("50000"));
        assert_eq!(r.get("Content-Type"), Some("application/octet-stream"));
        assert!(!r.has_header("Content-Disposition"));
        let Body::File(body) = r.take_body() else {
            panic!()
        };
        assert_eq!(body.read_all().unwrap(), &data[150_000..]);

        // A range, for a 206 made by the caller.
        let f = std::fs::File::open(&file).unwrap();
        let mut r = FileResponse::named_range(f, "x/report.json", false, 10, 90).unwrap();
        assert_eq!(r.get("Content-Length"), Some("90"));
        assert_eq!(
            r.get("Content-Disposition"),
            Some("inline; filename=\"report.json\"")
        );
        let Body::File(body) = r.take_body() else {
            panic!()
        };
        assert_eq!(body.read_all().unwrap(), &data[10..100]);
        let f = std::fs::File::open(&file).unwrap();
        assert!(
            FileResponse::with_range(f, 199_000, 1001).is_err(),
            "past the end"
        );
        let f = std::fs::File::open(&file).unwrap();
        assert!(FileResponse::with_range(f, 199_000, 1000).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn content_disposition_and_type_follow_django() {
        assert_eq!(content_disposition_header(false, ""), None);
        assert_eq!(
            content_disposition_header(true, "").as_deref(),
            Some("attachment")
        );
        assert_eq!(
            content_disposition_header(true, "my \"file\\.txt").as_deref(),
            Some("attachment; filename=\"my \\\"file\\\\.txt\"")
        );
        // Checked against Django 5.2's content_disposition_header.
        assert_eq!(
            content_disposition_header(false, "espa\u{f1}ol.txt").as_deref(),
            Some("inline; filename*=utf-8''espa%C3%B1ol.txt")
        );
        for (name, ty) in [
            ("a.tar.gz", "application/gzip"),
            ("a.tgz", "application/gzip"),
            ("a.txt.bz2", "application/x-bzip"),
            ("a.xz", "application/x-xz"),
            ("a.br", "application/x-brotli"),
            ("a.PNG", "image/png"),
            ("a.txt", "text/plain"),
            ("a.js", "text/javascript"),
            ("noext", "application/octet-stream"),
            ("a.unknownext", "application/octet-stream"),
        ] {
            assert_eq!(guess_content_type(name), ty, "{name}");
        }
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
            Body::Bytes(_) | Body::File(_) => panic!("expected a stream"),
        }
    }
}
