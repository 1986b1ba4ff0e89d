//! The request a view sees (Django's `HttpRequest` / `WSGIRequest`): method, paths, query and
//! form data, body, headers, `META`, cookies and per-request extensions (where middleware keep
//! what Django sets as request attributes: contrib's session and user among them).

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;

use super::headers::Headers;
use super::multipart::{
    boundary_from_content_type, parse_multipart, MultipartError, MultipartLimits, UploadedFile,
};
use super::querydict::QueryDict;
use crate::exception::ViewError;
use crate::settings::Settings;
use crate::urls::{Kwargs, Resolver404, ResolverMatch};
use crate::views::ViewFn;

/// The parts of a request that describe the connection rather than the message.
#[derive(Debug, Clone, Default)]
pub struct ConnectionInfo {
    /// The client's address (`REMOTE_ADDR`).
    pub remote_addr: String,
    /// The client's port (`REMOTE_PORT`).
    pub remote_port: u16,
    /// The local address (`SERVER_NAME` when no `Host` header is given).
    pub server_name: String,
    /// The local port (`SERVER_PORT`).
    pub server_port: u16,
    /// `http` or `https` (`wsgi.url_scheme`).
    pub scheme: Cow<'static, str>,
    /// `HTTP/1.1` or `HTTP/1.0` (`SERVER_PROTOCOL`).
    pub protocol: Cow<'static, str>,
    /// The TLS client certificate's subject, RFC 4514 (`SSL_CLIENT_S_DN`); `None` without one.
    pub tls_client_subject: Option<String>,
}

/// A request head's buffers: its strings and header map. The adapter keeps the last request's
/// set on each thread and fills it for the next, so the usual request allocates none of them.
#[derive(Default)]
pub(crate) struct RequestBuffers {
    pub method: String,
    pub path: String,
    pub path_info: String,
    pub query: String,
    pub remote_addr: String,
    pub server_name: String,
    pub headers: Headers,
    pub extensions: Extensions,
}

impl RequestBuffers {
    /// Empties every buffer, keeping its memory unless it is above `max` bytes (so one large
    /// request does not pin memory on a thread for good).
    pub(crate) fn clear_within(&mut self, max: usize) {
        for s in [
            &mut self.method,
            &mut self.path,
            &mut self.path_info,
            &mut self.query,
            &mut self.remote_addr,
            &mut self.server_name,
        ] {
            s.clear();
            if s.capacity() > max {
                *s = String::new();
            }
        }
        self.headers.clear_within(max);
        self.extensions.clear_within(max);
    }
}

/// A typed map of per-request values middleware attach for later layers (like
/// `request.session`, `request.user` or any attribute Django middleware sets on the request;
/// contrib reads its own through extension traits). The app's typed registry
/// ([`App::extension`](crate::App::extension)) is one too.
#[derive(Default)]
pub struct Extensions {
    /// A few values at most per request: a list searched by type beats hashing.
    entries: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
}

impl Extensions {
    /// Drops every value, keeping the list's memory unless it is above `max` bytes.
    pub(crate) fn clear_within(&mut self, max: usize) {
        self.entries.clear();
        if self.entries.capacity() * std::mem::size_of::<(TypeId, Box<dyn Any + Send + Sync>)>()
            > max
        {
            self.entries = Vec::new();
        }
    }

    fn position<T: Any>(&self) -> Option<usize> {
        let id = TypeId::of::<T>();
        self.entries.iter().position(|(t, _)| *t == id)
    }

    /// Stores `value`, returning the previous value of that type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) -> Option<T> {
        match self.position::<T>() {
            Some(i) => {
                let old = std::mem::replace(&mut self.entries[i].1, Box::new(value));
                old.downcast::<T>().ok().map(|b| *b)
            }
            None => {
                self.entries.push((TypeId::of::<T>(), Box::new(value)));
                None
            }
        }
    }

    /// The value of type `T`, if any.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        let i = self.position::<T>()?;
        self.entries[i].1.downcast_ref::<T>()
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: Any + Send + Sync>(&mut self) -> Option<&mut T> {
        let i = self.position::<T>()?;
        self.entries[i].1.downcast_mut::<T>()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Any + Send + Sync>(&mut self) -> Option<T> {
        let i = self.position::<T>()?;
        let (_, value) = self.entries.swap_remove(i);
        value.downcast::<T>().ok().map(|b| *b)
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extensions({} values)", self.entries.len())
    }
}

/// The body did not parse as JSON (the view usually answers 400 `Invalid JSON`).
#[derive(Debug)]
pub struct JsonError(pub serde_json::Error);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid JSON body: {}", self.0)
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[derive(Debug, Default)]
struct PostData {
    post: QueryDict,
    files: Vec<UploadedFile>,
    error: Option<PostError>,
}

/// Why a form body could not be read, kept so every access raises the same error.
#[derive(Debug, Clone)]
enum PostError {
    /// Django's `MultiPartParserError`: answered 400 through `handler400`, debug or not.
    Malformed(String),
    /// Django's `TooManyFieldsSent` / `TooManyFilesSent` / `RequestDataTooBig`: a
    /// `SuspiciousOperation` (400).
    TooMany(String),
    /// Django's `BadRequest`: a urlencoded form in another charset than UTF-8.
    BadRequest(String),
}

impl PostError {
    fn into_view_error(self) -> ViewError {
        match self {
            PostError::Malformed(m) => ViewError::MultiPartParserError(m),
            PostError::TooMany(m) => ViewError::SuspiciousOperation(m),
            PostError::BadRequest(m) => ViewError::BadRequest(m),
        }
    }
}

/// Django's `RequestDataTooBig` text.
const REQUEST_DATA_TOO_BIG: &str = "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.";

/// An HTTP request (Django's `HttpRequest`).
///
/// Built by the adapter from the server's request view; the body is read in full before the
/// cycle starts. `GET`, `POST`/`FILES`, `COOKIES` and `META` are parsed on first use.
pub struct HttpRequest {
    /// The method, upper-cased, e.g. `GET` (Django's `method`: `WSGIRequest` upper-cases
    /// `REQUEST_METHOD`, so `get` on the wire is a GET).
    pub method: String,
    /// The full decoded path (Django's `path`; equal to `path_info` with no script name).
    pub path: String,
    /// The decoded path the URL resolver matches (Django's `path_info`).
    pub path_info: String,
    /// The header fields (Django's `headers`: case-insensitive).
    pub headers: Headers,
    /// Values attached by middleware.
    pub extensions: Extensions,
    /// The URL resolution (Django's `resolver_match`), set before `process_view`.
    pub resolver_match: Option<ResolverMatch<ViewFn>>,
    /// Connection facts for `META`.
    pub connection: ConnectionInfo,
    query_string: String,
    body: Vec<u8>,
    settings: Arc<Settings>,
    /// The responder's `is_cancelled` (set by the adapter; none for requests built in tests).
    cancel: Option<crate::adapter::CancelHandle>,
    pub(crate) resolver404: Option<Resolver404>,
    /// Django's `RequestDataTooBig`, raised when the cycle reaches the view layer.
    pub(crate) body_error: Option<String>,
    get: OnceLock<Result<QueryDict, String>>,
    form: OnceLock<Result<QueryDict, String>>,
    post: OnceLock<PostData>,
    cookies: OnceLock<Vec<(String, String)>>,
    meta: OnceLock<Vec<(String, String)>>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<HttpRequest: {} '{}'>",
            self.method,
            self.get_full_path()
        )
    }
}

impl HttpRequest {
    /// A request with `method` and a raw (still percent-encoded) `raw_path` and query string.
    /// The adapter uses this; tests build requests with it too.
    pub fn new(method: &str, raw_path: &str, query_string: &str, settings: Arc<Settings>) -> Self {
        HttpRequest::from_parts(
            method.to_string(),
            raw_path.as_bytes(),
            query_string.to_string(),
            settings,
        )
    }

    /// As [`HttpRequest::new`], taking the owned method and query the adapter already copied
    /// (no second copy on the hot path).
    pub(crate) fn from_parts(
        mut method: String,
        raw_path: &[u8],
        query_string: String,
        settings: Arc<Settings>,
    ) -> Self {
        // Django's `environ["REQUEST_METHOD"].upper()`. A method is an ASCII token (the server's
        // parser accepts nothing else), so ASCII upper-casing is Python's `upper()` here; it
        // works in place, and the usual already-upper-case method is only scanned.
        if method.bytes().any(|b| b.is_ascii_lowercase()) {
            method.make_ascii_uppercase();
        }
        let path = super::encoding::path_from_raw(raw_path);
        HttpRequest {
            method,
            path_info: path.clone(),
            path,
            headers: Headers::new(),
            extensions: Extensions::default(),
            resolver_match: None,
            connection: ConnectionInfo {
                scheme: Cow::Borrowed("http"),
                protocol: Cow::Borrowed("HTTP/1.1"),
                ..ConnectionInfo::default()
            },
            query_string,
            body: Vec::new(),
            settings,
            cancel: None,
            resolver404: None,
            body_error: None,
            get: OnceLock::new(),
            form: OnceLock::new(),
            post: OnceLock::new(),
            cookies: OnceLock::new(),
            meta: OnceLock::new(),
        }
    }

    /// A request over `b`, whose method, query, connection strings and headers the adapter
    /// has filled (and whose path buffers are empty): the path is decoded into them.
    pub(crate) fn from_buffers(
        mut b: RequestBuffers,
        raw_path: &[u8],
        settings: Arc<Settings>,
    ) -> Self {
        if b.method.bytes().any(|c| c.is_ascii_lowercase()) {
            b.method.make_ascii_uppercase();
        }
        super::encoding::path_from_raw_into(raw_path, &mut b.path);
        b.path_info.push_str(&b.path);
        let mut request = HttpRequest::from_parts(b.method, b"", b.query, settings);
        request.path = b.path;
        request.path_info = b.path_info;
        request.headers = b.headers;
        request.extensions = b.extensions;
        request.connection.remote_addr = b.remote_addr;
        request.connection.server_name = b.server_name;
        request
    }

    /// Takes the head's buffers back out (dropping the rest of the request), for the next
    /// request on this thread.
    pub(crate) fn into_buffers(self) -> RequestBuffers {
        RequestBuffers {
            method: self.method,
            path: self.path,
            path_info: self.path_info,
            query: self.query_string,
            remote_addr: self.connection.remote_addr,
            server_name: self.connection.server_name,
            headers: self.headers,
            extensions: self.extensions,
        }
    }

    /// Sets the body in place (the adapter's, which does not move the request).
    pub(crate) fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
    }

    /// Sets the body (builder style).
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Adds a header field (builder style).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.append(name, value);
        self
    }

    pub(crate) fn set_cancel(&mut self, cancel: crate::adapter::CancelHandle) {
        self.cancel = Some(cancel);
    }

    /// The settings the app runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings, shared.
    pub fn settings_arc(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// The raw query string (Django's `META["QUERY_STRING"]`).
    pub fn query_string(&self) -> &str {
        &self.query_string
    }

    /// The query parameters (Django's `request.GET`). A query string with more than
    /// `data_upload_max_number_fields` fields is Django's `TooManyFieldsSent`, a
    /// [`ViewError::SuspiciousOperation`] (400), raised here as Django raises it on access.
    #[allow(non_snake_case)]
    pub fn GET(&self) -> Result<&QueryDict, ViewError> {
        self.limited_dict(&self.get, self.query_string.as_bytes())
    }

    /// `bytes` parsed once into `cell` as a `QueryDict` of at most
    /// `data_upload_max_number_fields` fields (Django's `QueryDict.__init__` raising
    /// `TooManyFieldsSent`, a [`ViewError::SuspiciousOperation`]).
    fn limited_dict<'a>(
        &self,
        cell: &'a OnceLock<Result<QueryDict, String>>,
        bytes: &[u8],
    ) -> Result<&'a QueryDict, ViewError> {
        cell.get_or_init(|| {
            QueryDict::parse_limited(bytes, self.settings.data_upload_max_number_fields)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ViewError::SuspiciousOperation(e.clone()))
    }

    fn post_data(&self) -> &PostData {
        self.post.get_or_init(|| self.load_post_and_files())
    }

    /// Django's `_load_post_and_files`: only a POST's form-urlencoded or multipart body fills
    /// `POST` and `FILES`.
    fn load_post_and_files(&self) -> PostData {
        if self.method != "POST" {
            return PostData::default();
        }
        let content_type = self.headers.get("Content-Type").unwrap_or("");
        let (mime, _) = super::encoding::parse_header_parameters(content_type);
        let max_fields = self.settings.data_upload_max_number_fields;
        if mime == "multipart/form-data" {
            let limits = MultipartLimits {
                max_fields,
                max_field_bytes: self.settings.data_upload_max_memory_size,
                ..MultipartLimits::default()
            };
            let parsed = boundary_from_content_type(content_type)
                .and_then(|b| parse_multipart(&self.body, &b, &limits));
            match parsed {
                Ok(m) => PostData {
                    post: m.fields,
                    files: m.files,
                    error: None,
                },
                Err(e) => {
                    let message = e.to_string();
                    let error = match e {
                        MultipartError::TooManyFields(_)
                        | MultipartError::TooManyFiles(_)
                        | MultipartError::FieldsTooLarge => PostError::TooMany(message),
                        _ => PostError::Malformed(message),
                    };
                    PostData {
                        error: Some(error),
                        ..PostData::default()
                    }
                }
            }
        } else if mime == "application/x-www-form-urlencoded" {
            // RFC 1866: such a form has no charset but UTF-8. Django 5.2 refuses any other that
            // Python knows (`WSGIRequest` ignores a charset `codecs.lookup` does not find).
            let charset = super::encoding::parse_header_parameters(content_type)
                .1
                .into_iter()
                .find(|(k, _)| k == "charset")
                .map(|(_, v)| v);
            if let Some(charset) = charset {
                if !charset.eq_ignore_ascii_case("utf-8")
                    && super::codecs::python_knows_codec(&charset)
                {
                    return PostData {
                        error: Some(PostError::BadRequest(
                            "HTTP requests with the 'application/x-www-form-urlencoded' content type must be UTF-8 encoded.".to_string(),
                        )),
                        ..PostData::default()
                    };
                }
            }
            match QueryDict::parse_limited(&self.body, max_fields) {
                Ok(post) => PostData {
                    post,
                    ..PostData::default()
                },
                Err(e) => PostData {
                    error: Some(PostError::TooMany(e.to_string())),
                    ..PostData::default()
                },
            }
        } else {
            PostData::default()
        }
    }

    /// The form fields of a POST (Django's `request.POST`): empty for other methods and for
    /// bodies that are not forms. A malformed multipart body or too many fields is an error,
    /// as Django raises `MultiPartParserError` / `TooManyFieldsSent` on access (both 400);
    /// a view writes `request.POST()?`.
    #[allow(non_snake_case)]
    pub fn POST(&self) -> Result<&QueryDict, ViewError> {
        let data = self.post_data();
        match &data.error {
            Some(e) => Err(e.clone().into_view_error()),
            None => Ok(&data.post),
        }
    }

    /// The uploaded files of a multipart POST (Django's `request.FILES`); the same errors as
    /// [`HttpRequest::POST`].
    #[allow(non_snake_case)]
    pub fn FILES(&self) -> Result<&[UploadedFile], ViewError> {
        let data = self.post_data();
        match &data.error {
            Some(e) => Err(e.clone().into_view_error()),
            None => Ok(&data.files),
        }
    }

    /// The body parsed as a urlencoded form whatever the method and content type, what Django
    /// code does with `QueryDict(request.body)` for PUT and PATCH: parsed once, and, as that
    /// `QueryDict` does, refusing more than `data_upload_max_number_fields` fields
    /// (`TooManyFieldsSent`, a [`ViewError::SuspiciousOperation`], 400).
    pub fn form_body(&self) -> Result<&QueryDict, ViewError> {
        self.limited_dict(&self.form, &self.body)
    }

    /// The raw body, as read.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Django's `request.body`, which raises `RequestDataTooBig` (a
    /// [`ViewError::SuspiciousOperation`], 400) for a body over `data_upload_max_memory_size`.
    /// A larger body reaches the app only when it is multipart (its files are not counted
    /// against the limit when the form is parsed), so this refuses exactly those; code that
    /// reads the body as Django code reads `request.body` calls this.
    pub fn checked_body(&self) -> Result<&[u8], ViewError> {
        if self.body.len() as u64 > self.settings.data_upload_max_memory_size {
            return Err(ViewError::SuspiciousOperation(
                REQUEST_DATA_TOO_BIG.to_string(),
            ));
        }
        Ok(&self.body)
    }

    /// The body parsed as JSON (Django code's `json.loads(request.body)`): an empty body is an
    /// error, as `json.loads(b"")` raises.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, JsonError> {
        serde_json::from_slice(&self.body).map_err(JsonError)
    }

    /// The `Content-Type` without parameters, lower-cased (Django's `content_type`).
    pub fn content_type(&self) -> String {
        let raw = self.headers.get("Content-Type").unwrap_or("");
        super::encoding::parse_header_parameters(raw).0
    }

    /// The cookies (Django's `request.COOKIES`).
    #[allow(non_snake_case)]
    pub fn COOKIES(&self) -> &[(String, String)] {
        self.cookies.get_or_init(|| {
            let joined: Vec<&str> = self.headers.get_all("Cookie").collect();
            super::cookies::parse_cookie(&joined.join("; "))
        })
    }

    /// One cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.COOKIES()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The WSGI environ as Django's `request.META`: `REQUEST_METHOD`, `PATH_INFO`,
    /// `SCRIPT_NAME`, `QUERY_STRING`, `REMOTE_ADDR`, `REMOTE_PORT`, `SERVER_NAME`,
    /// `SERVER_PORT`, `SERVER_PROTOCOL`, `wsgi.url_scheme`, `CONTENT_TYPE`, `CONTENT_LENGTH`
    /// and `HTTP_*` for every other header (repeated fields joined with `,`), and
    /// `SSL_CLIENT_S_DN` (as Apache's mod_ssl names it) when a TLS client presented a
    /// certificate.
    ///
    /// A header whose name holds `_` is left out: `X_Forwarded_For` would map to the same
    /// `HTTP_X_FORWARDED_FOR` as `X-Forwarded-For`, letting a client smuggle a value past a
    /// proxy that sets the real one. Django's runserver and gunicorn (`header_map = drop`)
    /// drop such headers the same way; they stay in [`HttpRequest::headers`] by their own
    /// name.
    #[allow(non_snake_case)]
    pub fn META(&self) -> &[(String, String)] {
        self.meta.get_or_init(|| self.build_meta())
    }

    /// One `META` value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.META()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn build_meta(&self) -> Vec<(String, String)> {
        let c = &self.connection;
        let mut meta: Vec<(String, String)> = vec![
            ("REQUEST_METHOD".into(), self.method.clone()),
            ("PATH_INFO".into(), self.path_info.clone()),
            ("SCRIPT_NAME".into(), String::new()),
            ("QUERY_STRING".into(), self.query_string.clone()),
            ("REMOTE_ADDR".into(), c.remote_addr.clone()),
            ("REMOTE_PORT".into(), c.remote_port.to_string()),
            ("SERVER_NAME".into(), c.server_name.clone()),
            ("SERVER_PORT".into(), c.server_port.to_string()),
            ("SERVER_PROTOCOL".into(), c.protocol.to_string()),
            ("wsgi.url_scheme".into(), c.scheme.to_string()),
        ];
        if let Some(subject) = &c.tls_client_subject {
            meta.push(("SSL_CLIENT_S_DN".into(), subject.clone()));
        }
        for (name, value) in self.headers.iter().filter(|(n, _)| !n.contains('_')) {
            let key = meta_key(name);
            match meta.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => {
                    slot.1.push(',');
                    slot.1.push_str(value);
                }
                None => meta.push((key, value.to_string())),
            }
        }
        meta
    }

    /// The keyword arguments the URL captured.
    pub fn kwargs(&self) -> Option<&Kwargs> {
        self.resolver_match.as_ref().map(|m| &m.kwargs)
    }

    /// An integer URL argument (an `<int:name>` capture).
    pub fn kwarg_int(&self, name: &str) -> Option<i64> {
        self.kwargs()?.int(name)
    }

    /// A string URL argument.
    pub fn kwarg_str(&self, name: &str) -> Option<&str> {
        self.kwargs()?.str(name)
    }

    /// The host the client asked for, validated against `allowed_hosts` (Django's
    /// `get_host`): a host not allowed is [`ViewError::DisallowedHost`] (400).
    pub fn get_host(&self) -> Result<String, ViewError> {
        self.checked_host().map(Cow::into_owned)
    }

    /// [`HttpRequest::get_host`] without the copy: the `Host` header itself when it is there
    /// (`CommonMiddleware` checks it on every request and needs no string of its own).
    pub(crate) fn checked_host(&self) -> Result<Cow<'_, str>, ViewError> {
        let host = self.get_raw_host();
        let debug_hosts;
        let allowed: &[String] = if self.settings.debug && self.settings.allowed_hosts.is_empty() {
            debug_hosts = [
                ".localhost".to_string(),
                "127.0.0.1".to_string(),
                "[::1]".to_string(),
            ];
            &debug_hosts
        } else {
            &self.settings.allowed_hosts
        };
        let domain = domain_and_port(&host).map(|(d, _)| d).unwrap_or_default();
        if !domain.is_empty() && validate_host(&domain, allowed) {
            return Ok(host);
        }
        let mut msg = format!("Invalid HTTP_HOST header: '{host}'.");
        if !domain.is_empty() {
            msg.push_str(&format!(
                " You may need to add '{domain}' to ALLOWED_HOSTS."
            ));
        } else {
            msg.push_str(" The domain name provided is not valid according to RFC 1034/1035.");
        }
        Err(ViewError::DisallowedHost(msg))
    }

    /// Django's `_get_raw_host`: `X-Forwarded-Host` when `use_x_forwarded_host` is set and the
    /// request has one, else the `Host` header, else the server's name and port.
    fn get_raw_host(&self) -> Cow<'_, str> {
        if self.settings.use_x_forwarded_host {
            if let Some(h) = self.headers.get("X-Forwarded-Host") {
                return Cow::Borrowed(h);
            }
        }
        if let Some(h) = self.headers.get("Host") {
            return Cow::Borrowed(h);
        }
        let c = &self.connection;
        let port = self.get_port();
        let default_port = if self.is_secure() { "443" } else { "80" };
        if port == default_port || port == "0" {
            Cow::Borrowed(&c.server_name)
        } else {
            Cow::Owned(format!("{}:{port}", c.server_name))
        }
    }

    /// The scheme, `http` or `https` (Django's `scheme`): with `secure_proxy_ssl_header` set
    /// and its header present, `https` exactly when the header's first comma-separated value
    /// (trimmed) is the secure value; otherwise the connection's.
    pub fn scheme(&self) -> &str {
        if let Some((header, secure_value)) = &self.settings.secure_proxy_ssl_header {
            if let Some(value) = self.meta(header) {
                let first = value.split(',').next().unwrap_or("");
                return if first.trim() == secure_value {
                    "https"
                } else {
                    "http"
                };
            }
        }
        &self.connection.scheme
    }

    /// The port as a string (Django's `get_port`): `X-Forwarded-Port` when
    /// `use_x_forwarded_port` is set and the request has one, else `META["SERVER_PORT"]`.
    pub fn get_port(&self) -> String {
        if self.settings.use_x_forwarded_port {
            if let Some(port) = self.headers.get("X-Forwarded-Port") {
                return port.to_string();
            }
        }
        self.connection.server_port.to_string()
    }

    /// True over HTTPS (Django's `is_secure`: `scheme == "https"`).
    pub fn is_secure(&self) -> bool {
        self.scheme() == "https"
    }

    /// The path with the query string (Django's `get_full_path`).
    pub fn get_full_path(&self) -> String {
        self.full_path(false)
    }

    /// Django's `get_full_path(force_append_slash=True)`.
    pub fn get_full_path_with_slash(&self) -> String {
        self.full_path(true)
    }

    fn full_path(&self, force_append_slash: bool) -> String {
        let mut out = super::encoding::quote(&self.path, "/:@&+$,-_.!~*'()");
        if force_append_slash && !out.ends_with('/') {
            out.push('/');
        }
        if !self.query_string.is_empty() {
            out.push('?');
            out.push_str(&super::encoding::iri_to_uri(&self.query_string));
        }
        out
    }

    /// An absolute URI for `location` (or this request's full path), Django's
    /// `build_absolute_uri`. Validates the host like `get_host`.
    pub fn build_absolute_uri(&self, location: Option<&str>) -> Result<String, ViewError> {
        let location = match location {
            Some(l) => l.to_string(),
            None => self.get_full_path(),
        };
        if location.contains("://") || location.starts_with("//") {
            return Ok(super::encoding::iri_to_uri(&location));
        }
        let base = format!("{}://{}", self.scheme(), self.get_host()?);
        let joined = if location.starts_with('/') {
            location
        } else {
            let dir = match self.path.rfind('/') {
                Some(i) => &self.path[..=i],
                None => "/",
            };
            format!("{dir}{location}")
        };
        Ok(super::encoding::iri_to_uri(&format!("{base}{joined}")))
    }

    /// True once the client has gone or the deadline has passed (the responder's
    /// `is_cancelled`); a long view checks it between steps.
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|handle| handle.call() != 0)
    }
}

/// The WSGI environ name of header `name`: upper-cased, `-` as `_`, prefixed `HTTP_` except
/// for `CONTENT_TYPE` and `CONTENT_LENGTH` (PEP 3333, as Django's `META` has them).
pub(crate) fn meta_key(name: &str) -> String {
    let mut key = name.to_ascii_uppercase().replace('-', "_");
    if key != "CONTENT_TYPE" && key != "CONTENT_LENGTH" {
        key.insert_str(0, "HTTP_");
    }
    key
}

/// Django's `split_domain_port`: lower-cased domain (trailing dot removed) and port; an empty
/// domain when the host is malformed.
pub fn split_domain_port(host: &str) -> (String, String) {
    match domain_and_port(host) {
        Some((domain, port)) => (domain.into_owned(), port.to_string()),
        None => (String::new(), String::new()),
    }
}

/// [`split_domain_port`] without copies when the host is already lower case (the usual case:
/// `get_host` runs on every request through `CommonMiddleware`); `None` for an invalid host.
fn domain_and_port(host: &str) -> Option<(Cow<'_, str>, &str)> {
    let lowered: Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    };
    // The port is ASCII digits: its place is the same in the original and the lowered text.
    let (domain, port_len) = match lowered.as_ref().strip_prefix('[') {
        Some(rest) => {
            let end = rest.find(']')?;
            let inner = &rest[..end];
            let after = &rest[end + 1..];
            let valid_inner = inner.contains(':')
                && inner
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
            let port_len = match after.strip_prefix(':') {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.len(),
                None if after.is_empty() => 0,
                _ => return None,
            };
            if !valid_inner {
                return None;
            }
            (end + 2, port_len)
        }
        None => {
            let (d, port_len) = match lowered.rsplit_once(':') {
                Some((d, p)) => {
                    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    (d, p.len())
                }
                None => (lowered.as_ref(), 0),
            };
            if d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return None;
            }
            (d.len(), port_len)
        }
    };
    let port = &host[host.len() - port_len..];
    // Django drops one trailing dot from the domain.
    let domain_len = if lowered[..domain].ends_with('.') {
        domain - 1
    } else {
        domain
    };
    let domain = match lowered {
        Cow::Borrowed(text) => Cow::Borrowed(&text[..domain_len]),
        Cow::Owned(mut text) => {
            text.truncate(domain_len);
            Cow::Owned(text)
        }
    };
    Some((domain, port))
}

/// Django's `validate_host`: `*` allows anything, `.example.com` allows the domain and its
/// subdomains, anything else must match exactly (case-insensitively).
pub fn validate_host(domain: &str, allowed_hosts: &[String]) -> bool {
    // Compared without case rather than lower-cased first: the same answer, no copy per
    // pattern per request.
    allowed_hosts.iter().any(|pattern| {
        if pattern == "*" {
            return true;
        }
        match pattern.strip_prefix('.') {
            Some(bare) => {
                let (d, p) = (domain.as_bytes(), pattern.as_bytes());
                domain.eq_ignore_ascii_case(bare)
                    || (d.len() >= p.len() && d[d.len() - p.len()..].eq_ignore_ascii_case(p))
            }
            None => domain.eq_ignore_ascii_case(pattern),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(debug: bool, hosts: &[&str]) -> Arc<Settings> {
        let mut s = Settings::default();
        s.debug = debug;
        s.allowed_hosts = hosts.iter().map(|h| h.to_string()).collect();
        Arc::new(s)
    }

    fn req(method: &str, path: &str, query: &str) -> HttpRequest {
        HttpRequest::new(method, path, query, settings(false, &["testserver"]))
    }

    #[test]
    fn forwarded_host_port_and_scheme_only_with_djangos_settings() {
        let mut s = Settings::default();
        s.allowed_hosts = vec!["shop.example".into(), "inner".into()];
        let build = |s: &Settings| {
            HttpRequest::new("GET", "/", "", Arc::new(s.clone()))
                .with_header("Host", "inner")
                .with_header("X-Forwarded-Host", "shop.example")
                .with_header("X-Forwarded-Port", "8443")
                .with_header("X-Forwarded-Proto", " https ,http")
        };
        let r = build(&s);
        assert_eq!(r.get_host().unwrap(), "inner");
        assert_eq!(r.get_port(), "0");
        assert!(!r.is_secure());
        s.use_x_forwarded_host = true;
        s.use_x_forwarded_port = true;
        s.secure_proxy_ssl_header = Some(("HTTP_X_FORWARDED_PROTO".into(), "https".into()));
        let r = build(&s);
        assert_eq!(r.get_host().unwrap(), "shop.example");
        assert_eq!(r.get_port(), "8443");
        assert!(r.is_secure());
        assert_eq!(r.scheme(), "https");
        s.secure_proxy_ssl_header = Some(("HTTP_X_FORWARDED_PROTO".into(), "on".into()));
        assert_eq!(
            build(&s).scheme(),
            "http",
            "present but not the secure value"
        );
    }

    #[test]
    fn a_urlencoded_form_in_a_charset_python_knows_is_a_bad_request() {
        let form = |ct: &str| {
            req("POST", "/", "")
                .with_header("Content-Type", ct)
                .with_body(b"title=a".to_vec())
        };
        for ok in ["", "; charset=UTF-8", "; charset=x-unknown-charset"] {
            let r = form(&format!("application/x-www-form-urlencoded{ok}"));
            assert_eq!(r.POST().unwrap().get("title"), Some("a"), "{ok}");
        }
        for bad in ["latin-1", "utf8", "ascii", "utf-16"] {
            let r = form(&format!("application/x-www-form-urlencoded; charset={bad}"));
            match r.POST() {
                Err(ViewError::BadRequest(m)) => assert_eq!(
                    m,
                    "HTTP requests with the 'application/x-www-form-urlencoded' content type must be UTF-8 encoded."
                ),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_body_is_not_json_and_a_big_multipart_body_is_too_big() {
        let r = req("POST", "/", "");
        assert!(
            r.json::<serde_json::Value>().is_err(),
            "json.loads(b'') raises"
        );
        let mut s = Settings::default();
        s.data_upload_max_memory_size = 4;
        let r = HttpRequest::new("POST", "/", "", Arc::new(s)).with_body(b"12345".to_vec());
        assert!(matches!(
            r.checked_body(),
            Err(ViewError::SuspiciousOperation(m)) if m.contains("DATA_UPLOAD_MAX_MEMORY_SIZE")
        ));
        assert_eq!(r.body(), b"12345");
    }

    #[test]
    fn meta_uses_django_names() {
        let mut r = req("GET", "/a%20b/", "x=1")
            .with_header("Content-Type", "text/plain")
            .with_header("X-Forwarded-For", "1.2.3.4")
            .with_header("Accept", "a")
            .with_header("accept", "b");
        r.connection.remote_addr = "127.0.0.1".into();
        r.connection.remote_port = 5555;
        assert_eq!(r.path, "/a b/");
        assert_eq!(r.meta("PATH_INFO"), Some("/a b/"));
        assert_eq!(r.meta("QUERY_STRING"), Some("x=1"));
        assert_eq!(r.meta("REQUEST_METHOD"), Some("GET"));
        assert_eq!(r.meta("CONTENT_TYPE"), Some("text/plain"));
        assert_eq!(r.meta("HTTP_X_FORWARDED_FOR"), Some("1.2.3.4"));
        assert_eq!(r.meta("HTTP_ACCEPT"), Some("a,b"));
        assert_eq!(r.meta("REMOTE_ADDR"), Some("127.0.0.1"));
        assert_eq!(r.meta("REMOTE_PORT"), Some("5555"));
        assert_eq!(r.headers.get("x-forwarded-for"), Some("1.2.3.4"));
    }

    #[test]
    fn the_method_is_upper_cased_as_wsgirequest_does() {
        let r = req("get", "/", "");
        assert_eq!(r.method, "GET");
        assert_eq!(r.meta("REQUEST_METHOD"), Some("GET"));
        assert_eq!(req("pAtCh", "/", "").method, "PATCH");
        assert_eq!(req("BREW", "/", "").method, "BREW");
        // A lower-case post still fills POST.
        let r = req("post", "/f/", "")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(b"title=Hi".to_vec());
        assert_eq!(r.POST().unwrap().get("title"), Some("Hi"));
    }

    #[test]
    fn headers_with_underscores_are_kept_out_of_meta() {
        // The proxy sets X-Forwarded-For; the client adds X_Forwarded_For hoping to land on the
        // same HTTP_X_FORWARDED_FOR (before or after the real one).
        for order in [
            ["X-Forwarded-For", "X_Forwarded_For"],
            ["X_Forwarded_For", "X-Forwarded-For"],
        ] {
            let values = |n: &str| {
                if n.contains('_') {
                    "6.6.6.6"
                } else {
                    "10.0.0.1"
                }
            };
            let r = req("GET", "/", "")
                .with_header(order[0], values(order[0]))
                .with_header(order[1], values(order[1]))
                .with_header("Content_Type", "text/evil")
                .with_header("Secret_Only", "x");
            assert_eq!(r.meta("HTTP_X_FORWARDED_FOR"), Some("10.0.0.1"));
            assert_eq!(r.meta("CONTENT_TYPE"), None);
            assert_eq!(r.meta("HTTP_SECRET_ONLY"), None);
            assert!(r
                .META()
                .iter()
                .all(|(_, v)| v != "6.6.6.6" && v != "text/evil"));
            // Still visible by their own name.
            assert_eq!(r.headers.get("X_Forwarded_For"), Some("6.6.6.6"));
            assert_eq!(r.headers.get("x-forwarded-for"), Some("10.0.0.1"));
            assert_eq!(r.headers.get("Content-Type"), None);
        }
    }

    #[test]
    fn get_post_cookies_and_json_parse_through_the_request() {
        let r = req("POST", "/f/", "a=1&a=2&b=%20x")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_header("Cookie", "sessionid=abc; theme=dark")
            .with_body(b"title=Hi&content=There+you".to_vec());
        assert_eq!(r.GET().unwrap().get("a"), Some("2"));
        assert_eq!(r.GET().unwrap().get_list("a"), ["1", "2"]);
        assert_eq!(r.GET().unwrap().get("b"), Some(" x"));
        assert_eq!(r.POST().unwrap().get("content"), Some("There you"));
        assert_eq!(r.cookie("theme"), Some("dark"));
        assert_eq!(r.COOKIES().len(), 2);

        let put = req("PUT", "/f/", "")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(b"title=x".to_vec());
        assert!(
            put.POST().unwrap().is_empty(),
            "Django fills POST for POST only"
        );
        assert_eq!(put.form_body().unwrap().get("title"), Some("x"));

        let j = req("POST", "/j/", "")
            .with_header("Content-Type", "application/json")
            .with_body(br#"{"title": "T"}"#.to_vec());
        let v: serde_json::Value = j.json().unwrap();
        assert_eq!(v["title"], "T");
        assert!(j.POST().unwrap().is_empty());
        let bad = req("POST", "/j/", "").with_body(b"{nope".to_vec());
        assert!(bad.json::<serde_json::Value>().is_err());
    }

    #[test]
    fn multipart_fills_post_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
        let r = req("POST", "/u/", "")
            .with_header("Content-Type", "multipart/form-data; boundary=XyZ")
            .with_body(body.to_vec());
        assert_eq!(r.POST().unwrap().get("title"), Some("Hello"));
        assert_eq!(r.FILES().unwrap().len(), 1);
        assert_eq!(r.FILES().unwrap()[0].file_name, "a.txt");
        assert_eq!(r.FILES().unwrap()[0].content, b"file body");

        let broken = req("POST", "/u/", "")
            .with_header("Content-Type", "multipart/form-data")
            .with_body(body.to_vec());
        assert!(matches!(
            broken.POST(),
            Err(ViewError::MultiPartParserError(_))
        ));
        assert_eq!(broken.FILES().unwrap_err().status_code(), 400);
    }

    #[test]
    fn too_many_fields_in_the_query_or_the_form_is_a_suspicious_operation() {
        let query: Vec<String> = (0..1001).map(|i| format!("k{i}=v")).collect();
        let r = req("GET", "/q/", &query.join("&"));
        assert!(matches!(r.GET(), Err(ViewError::SuspiciousOperation(_))));
        let r = req("GET", "/q/", &query[..1000].join("&"));
        assert_eq!(r.GET().unwrap().iter().count(), 1000);

        let form = req("POST", "/f/", "")
            .with_header("Content-Type", "application/x-www-form-urlencoded")
            .with_body(query.join("&").into_bytes());
        let err = form.POST().unwrap_err();
        assert!(matches!(err, ViewError::SuspiciousOperation(_)), "{err}");
        assert_eq!(err.status_code(), 400);

        // `QueryDict(request.body)` for a PUT has the same limit.
        let put = req("PUT", "/f/", "").with_body(query.join("&").into_bytes());
        assert!(matches!(
            put.form_body(),
            Err(ViewError::SuspiciousOperation(_))
        ));
        let put = req("PUT", "/f/", "").with_body(query[..1000].join("&").into_bytes());
        assert_eq!(put.form_body().unwrap().iter().count(), 1000);
    }

    #[test]
    fn host_validation_follows_django() {
        let hosts = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(validate_host("example.com", &hosts(&[".example.com"])));
        assert!(validate_host("a.example.com", &hosts(&[".example.com"])));
        assert!(!validate_host("badexample.com", &hosts(&[".example.com"])));
        assert!(validate_host("anything", &hosts(&["*"])));
        assert_eq!(
            split_domain_port("Example.COM:8000"),
            ("example.com".into(), "8000".into())
        );
        assert_eq!(split_domain_port("[::1]:80"), ("[::1]".into(), "80".into()));
        assert_eq!(
            split_domain_port("bad host"),
            (String::new(), String::new())
        );
        assert_eq!(
            split_domain_port("example.com."),
            ("example.com".into(), String::new())
        );

        let ok = HttpRequest::new("GET", "/", "", settings(false, &["localhost"]))
            .with_header("Host", "localhost:8000");
        assert_eq!(ok.get_host().unwrap(), "localhost:8000");
        let bad = HttpRequest::new("GET", "/", "", settings(false, &["localhost"]))
            .with_header("Host", "evil.com");
        let e = bad.get_host().unwrap_err();
        assert_eq!(e.status_code(), 400);
        assert!(e.message().contains("evil.com"));
        let dbg = |h: &str| {
            HttpRequest::new("GET", "/", "", settings(true, &[]))
                .with_header("Host", h)
                .get_host()
                .is_ok()
        };
        assert!(dbg("localhost") && dbg("127.0.0.1:9000") && dbg("[::1]") && dbg("a.localhost"));
        assert!(!dbg("example.com"));
        let nodebug =
            HttpRequest::new("GET", "/", "", settings(false, &[])).with_header("Host", "localhost");
        assert!(nodebug.get_host().is_err());
    }

    #[test]
    fn full_path_and_absolute_uri() {
        let r = HttpRequest::new("GET", "/a%20b", "q=1", settings(false, &["testserver"]))
            .with_header("Host", "testserver");
        assert_eq!(r.get_full_path(), "/a%20b?q=1");
        assert_eq!(r.get_full_path_with_slash(), "/a%20b/?q=1");
        assert_eq!(
            r.build_absolute_uri(None).unwrap(),
            "http://testserver/a%20b?q=1"
        );
        assert_eq!(
            r.build_absolute_uri(Some("/x/")).unwrap(),
            "http://testserver/x/"
        );
        assert_eq!(
            r.build_absolute_uri(Some("https://e.com/")).unwrap(),
            "https://e.com/"
        );
    }

    #[test]
    fn extensions_are_typed() {
        let mut r = req("GET", "/", "");
        #[derive(Debug, PartialEq)]
        struct Tag(u32);
        assert!(r.extensions.get::<Tag>().is_none());
        r.extensions.insert(Tag(7));
        assert_eq!(r.extensions.get::<Tag>(), Some(&Tag(7)));
        assert_eq!(r.extensions.remove::<Tag>(), Some(Tag(7)));
    }
}
