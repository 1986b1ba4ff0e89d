//! raw-hello: an app on the bare gateway ABI (no handler-core), the analogue of a bare WSGI
//! callable, used to test and benchmark the server on its own.
//!
//! Routes: `GET /plaintext`, `GET /json`, `POST /echo`, `GET /stream?n=N`, `GET /slow?ms=N`,
//! `GET /headers` (the request echoed as JSON), and three that break the ABI on purpose, which
//! the server must answer with 502: `GET /no-response` (returns without a response),
//! `GET /double-start` (calls `start_response` twice), `GET /fail-early` (returns an error code
//! before any byte); anything else is 404. `HEAD` on a GET route answers like GET
//! (the server drops the body). Every exported function catches panics.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gateway_api::{
    app_table, AppTable, ErrorBuf, GwHeader, GwStr, HostTable, Request, Responder, GW_ERR_APP,
    GW_ERR_BODY, GW_ERR_CANCELLED, GW_ERR_INVALID, GW_LOG_ERROR, GW_LOG_INFO, GW_OK,
};

/// The most chunks `/stream` produces: enough to test streaming, small enough that a typo in a
/// benchmark cannot tie up a worker for minutes.
pub const MAX_STREAM_CHUNKS: u64 = 100_000;

/// The longest `/slow` sleeps, in milliseconds.
pub const MAX_SLOW_MS: u64 = 60_000;

/// How often `/slow` asks whether the server has given up on the request.
const SLOW_POLL: Duration = Duration::from_millis(10);

/// The read buffer `/echo` streams the body through.
const ECHO_BUF: usize = 64 * 1024;

/// `/stream`'s chunk count when the query does not give one.
const DEFAULT_STREAM_CHUNKS: u64 = 10;

const HELLO: &[u8] = b"Hello, World!";
const HELLO_JSON: &[u8] = br#"{"message":"Hello, World!"}"#;
const NOT_FOUND: &[u8] = b"Not Found";

const fn header(name: &'static str, value: &'static str) -> GwHeader {
    GwHeader {
        name: GwStr::from_str(name),
        value: GwStr::from_str(value),
    }
}

/// Static so that `/plaintext`, the benchmark's hot path, allocates nothing.
static PLAINTEXT_HEADERS: [GwHeader; 2] = [
    header("Content-Type", "text/plain"),
    header("Content-Length", "13"),
];

static JSON_HEADERS: [GwHeader; 2] = [
    header("Content-Type", "application/json"),
    header("Content-Length", "27"),
];

static NOT_FOUND_HEADERS: [GwHeader; 2] = [
    header("Content-Type", "text/plain"),
    header("Content-Length", "9"),
];

static STREAM_HEADERS: [GwHeader; 1] = [header("Content-Type", "text/plain")];

static TABLE: AppTable = app_table("raw-hello", create, handle, destroy);

/// The entry symbol: the app's static table.
#[no_mangle]
pub extern "C" fn portico_app_entry() -> *const AppTable {
    &TABLE
}

/// What `create` hands back: the host table, kept for logging.
struct App {
    host: *const HostTable,
}

// SAFETY: the host table lives for the whole process and its callbacks are thread-safe by the
// ABI's contract; App holds nothing else.
unsafe impl Sync for App {}
// SAFETY: as above.
unsafe impl Send for App {}

impl App {
    fn log_error(&self, message: &str) {
        if self.host.is_null() {
            return;
        }
        // SAFETY: the host table is valid for the life of the process.
        let host = unsafe { &*self.host };
        if host.max_log_level >= GW_LOG_ERROR {
            // SAFETY: log is callable from any thread; both strings live through the call.
            unsafe {
                (host.log)(
                    host.ctx,
                    GW_LOG_ERROR,
                    GwStr::from_str("raw_hello"),
                    GwStr::from_str(message),
                )
            };
        }
    }
}

/// A route, chosen from the method and the path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /plaintext`.
    Plaintext,
    /// `GET /json`.
    Json,
    /// `POST /echo`.
    Echo,
    /// `GET /stream`.
    Stream,
    /// `GET /slow`.
    Slow,
    /// `GET /no-response`.
    NoResponse,
    /// `GET /headers`.
    Headers,
    /// `GET /double-start`.
    DoubleStart,
    /// `GET /fail-early`.
    FailEarly,
    /// Anything else.
    NotFound,
}

/// Picks the route for `method` and `path`; HEAD is served by the GET routes.
pub fn route(method: &[u8], path: &[u8]) -> Route {
    let get = method == b"GET" || method == b"HEAD";
    match path {
        b"/plaintext" if get => Route::Plaintext,
        b"/json" if get => Route::Json,
        b"/echo" if method == b"POST" => Route::Echo,
        b"/stream" if get => Route::Stream,
        b"/slow" if get => Route::Slow,
        b"/no-response" if get => Route::NoResponse,
        b"/headers" if get => Route::Headers,
        b"/double-start" if get => Route::DoubleStart,
        b"/fail-early" if get => Route::FailEarly,
        _ => Route::NotFound,
    }
}

/// Why a query parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamError {
    /// Not a decimal number.
    NotANumber,
    /// Above the route's maximum.
    TooLarge,
}

/// The value of `name` in a query string (`a=1&b=2`), undecoded; the first occurrence wins.
pub fn query_param<'q>(query: &'q [u8], name: &[u8]) -> Option<&'q [u8]> {
    query.split(|&b| b == b'&').find_map(|pair| {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let key = parts.next()?;
        (key == name).then(|| parts.next().unwrap_or(b""))
    })
}

/// Parses `name` from `query` as a decimal number no larger than `max`; `default` when absent.
pub fn number_param(query: &[u8], name: &[u8], default: u64, max: u64) -> Result<u64, ParamError> {
    let Some(text) = query_param(query, name) else {
        return Ok(default);
    };
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return Err(ParamError::NotANumber);
    }
    let value = text
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    if value > max {
        Err(ParamError::TooLarge)
    } else {
        Ok(value)
    }
}

/// Appends `bytes` to `out` as the inside of a JSON string: quotes, backslashes and control
/// characters escaped; invalid UTF-8 becomes U+FFFD so the output is always valid JSON.
pub fn push_json_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x00..=0x1f | 0x7f => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                _ => out.push(b),
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    push_json_escaped(out, bytes);
    out.push(b'"');
}

/// The `/headers` document: `{"method","path","query","version","headers":{name: value}}`.
/// Header names are lower-cased (they are case-insensitive); repeated names are joined with
/// `", "` in the order received, as RFC 9110 section 5.3 allows for list-valued fields.
pub fn headers_json(
    method: &[u8],
    path: &[u8],
    query: &[u8],
    version: (u16, u16),
    headers: &[(&[u8], &[u8])],
) -> Vec<u8> {
    let mut merged: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        match merged.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, v)) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(value);
            }
            None => merged.push((lower, value.to_vec())),
        }
    }
    let mut out = Vec::with_capacity(128 + headers.len() * 48);
    out.extend_from_slice(b"{\"method\":");
    push_json_string(&mut out, method);
    out.extend_from_slice(b",\"path\":");
    push_json_string(&mut out, path);
    out.extend_from_slice(b",\"query\":");
    push_json_string(&mut out, query);
    out.extend_from_slice(b",\"version\":");
    let version = format!("HTTP/{}.{}", version.0, version.1);
    push_json_string(&mut out, version.as_bytes());
    out.extend_from_slice(b",\"headers\":{");
    for (i, (name, value)) in merged.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(&mut out, name);
        out.push(b':');
        push_json_string(&mut out, value);
    }
    out.extend_from_slice(b"}}");
    out
}

/// Writes `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// The typed view of one call to `handle`, so the routes below read like ordinary Rust.
struct Call<'a> {
    request: &'a Request,
    responder: &'a Responder,
}

impl Call<'_> {
    fn start(&self, status: u16, headers: &[GwHeader]) -> Result<(), i32> {
        // SAFETY: the responder is valid during handle; headers outlive the call.
        let rc = unsafe {
            (self.responder.start_response)(
                self.responder.ctx,
                status,
                headers.as_ptr(),
                headers.len(),
            )
        };
        if rc == GW_OK {
            Ok(())
        } else {
            Err(rc)
        }
    }

    fn write(&self, data: &[u8]) -> Result<(), i32> {
        // SAFETY: as above; data is valid for the call.
        let rc = unsafe { (self.responder.write)(self.responder.ctx, data.as_ptr(), data.len()) };
        if rc == GW_OK {
            Ok(())
        } else {
            Err(rc)
        }
    }

    fn cancelled(&self) -> bool {
        // SAFETY: as above.
        unsafe { (self.responder.is_cancelled)(self.responder.ctx) != 0 }
    }

    fn read_body(&self, buf: &mut [u8]) -> Result<usize, i32> {
        // SAFETY: the request is valid during handle; buf is writable for its length.
        let n =
            unsafe { (self.request.read_body)(self.request.body_ctx, buf.as_mut_ptr(), buf.len()) };
        usize::try_from(n).map_err(|_| i32::try_from(n).unwrap_or(GW_ERR_BODY))
    }

    fn headers(&self) -> &[GwHeader] {
        // SAFETY: the server built this request and we are inside handle.
        unsafe { self.request.header_slice() }
    }

    fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers()
            .iter()
            // SAFETY: header strings are valid during handle.
            .map(|h| unsafe { (h.name.as_bytes(), h.value.as_bytes()) })
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn query(&self) -> &[u8] {
        // SAFETY: valid during handle.
        unsafe { self.request.query.as_bytes() }
    }

    fn simple(&self, status: u16, content_type: &'static str, body: &[u8]) -> Result<(), i32> {
        let mut digits = [0u8; 20];
        let len = decimal(body.len() as u64, &mut digits);
        let headers = [
            header("Content-Type", content_type),
            GwHeader {
                name: GwStr::from_str("Content-Length"),
                value: GwStr::from_bytes(len),
            },
        ];
        self.start(status, &headers)?;
        self.write(body)
    }

    fn bad_param(&self, name: &str, err: ParamError) -> Result<(), i32> {
        let why = match err {
            ParamError::NotANumber => "must be a decimal number",
            ParamError::TooLarge => "is too large",
        };
        let body = format!("Bad Request: {name} {why}\n");
        self.simple(400, "text/plain", body.as_bytes())
    }

    fn echo(&self) -> Result<(), i32> {
        let mut buf = vec![0u8; ECHO_BUF];
        // The first read comes before start_response so that a malformed body can still be
        // answered with a 400 instead of a truncated 200.
        let first = match self.read_body(&mut buf) {
            Ok(n) => n,
            Err(_) => return self.simple(400, "text/plain", b"Bad Request: unreadable body\n"),
        };
        let mut digits = [0u8; 20];
        let mut headers: Vec<GwHeader> = Vec::with_capacity(2);
        if let Some(ct) = self.header(b"content-type") {
            headers.push(GwHeader {
                name: GwStr::from_str("Content-Type"),
                value: GwStr::from_bytes(ct),
            });
        }
        if let Ok(len) = u64::try_from(self.request.content_length) {
            headers.push(GwHeader {
                name: GwStr::from_str("Content-Length"),
                value: GwStr::from_bytes(decimal(len, &mut digits)),
            });
        }
        self.start(200, &headers)?;
        let mut n = first;
        while n > 0 {
            self.write(&buf[..n])?;
            n = self.read_body(&mut buf)?;
        }
        Ok(())
    }

    fn stream(&self) -> Result<(), i32> {
        let n = match number_param(self.query(), b"n", DEFAULT_STREAM_CHUNKS, MAX_STREAM_CHUNKS) {
            Ok(n) => n,
            Err(e) => return self.bad_param("n", e),
        };
        self.start(200, &STREAM_HEADERS)?;
        let mut line = [0u8; 32];
        line[..6].copy_from_slice(b"chunk ");
        for i in 0..n {
            let mut digits = [0u8; 20];
            let d = decimal(i, &mut digits);
            line[6..6 + d.len()].copy_from_slice(d);
            line[6 + d.len()] = b'\n';
            self.write(&line[..7 + d.len()])?;
        }
        Ok(())
    }

    fn slow(&self) -> Result<(), i32> {
        let ms = match number_param(self.query(), b"ms", 0, MAX_SLOW_MS) {
            Ok(ms) => ms,
            Err(e) => return self.bad_param("ms", e),
        };
        let until = Instant::now() + Duration::from_millis(ms);
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            if self.cancelled() {
                return Err(GW_ERR_CANCELLED);
            }
            std::thread::sleep(SLOW_POLL.min(until - now));
        }
        let body = format!("{{\"slept_ms\":{ms}}}");
        self.simple(200, "application/json", body.as_bytes())
    }

    fn headers_doc(&self) -> Result<(), i32> {
        let pairs: Vec<(&[u8], &[u8])> = self
            .headers()
            .iter()
            // SAFETY: header strings are valid during handle.
            .map(|h| unsafe { (h.name.as_bytes(), h.value.as_bytes()) })
            .collect();
        // SAFETY: valid during handle.
        let (method, path) =
            unsafe { (self.request.method.as_bytes(), self.request.path.as_bytes()) };
        let version = (self.request.version_major, self.request.version_minor);
        let body = headers_json(method, path, self.query(), version, &pairs);
        self.simple(200, "application/json", &body)
    }

    fn dispatch(&self) -> Result<(), i32> {
        // SAFETY: valid during handle.
        let (method, path) =
            unsafe { (self.request.method.as_bytes(), self.request.path.as_bytes()) };
        match route(method, path) {
            Route::Plaintext => {
                self.start(200, &PLAINTEXT_HEADERS)?;
                self.write(HELLO)
            }
            Route::Json => {
                self.start(200, &JSON_HEADERS)?;
                self.write(HELLO_JSON)
            }
            Route::Echo => self.echo(),
            Route::Stream => self.stream(),
            Route::Slow => self.slow(),
            // Deliberately broken: the server must notice and answer 502.
            Route::NoResponse => Ok(()),
            Route::Headers => self.headers_doc(),
            // Deliberately broken: a second start_response is refused by the server, which then
            // answers 502 whatever the app does next; the app carries on as if it had worked.
            Route::DoubleStart => {
                self.start(200, &PLAINTEXT_HEADERS)?;
                let _ = self.start(200, &PLAINTEXT_HEADERS);
                self.write(HELLO)
            }
            // Deliberately broken: a failure before anything was written.
            Route::FailEarly => Err(GW_ERR_APP),
            Route::NotFound => {
                self.start(404, &NOT_FOUND_HEADERS)?;
                self.write(NOT_FOUND)
            }
        }
    }
}

unsafe extern "C" fn create(
    host: *const HostTable,
    _settings_path: GwStr,
    out_app: *mut *mut c_void,
    error: *mut ErrorBuf,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if out_app.is_null() {
            return GW_ERR_INVALID;
        }
        if !host.is_null() {
            // SAFETY: the host table is valid for the life of the process.
            let table = unsafe { &*host };
            if table.max_log_level >= GW_LOG_INFO {
                // SAFETY: log is callable from any thread; both strings live through the call.
                unsafe {
                    (table.log)(
                        table.ctx,
                        GW_LOG_INFO,
                        GwStr::from_str("raw_hello"),
                        GwStr::from_str("raw-hello ready"),
                    )
                };
            }
        }
        let app = Box::new(App { host });
        // SAFETY: out_app was checked non-null and points at the server's slot.
        unsafe { *out_app = Box::into_raw(app).cast() };
        GW_OK
    }));
    result.unwrap_or_else(|_| {
        if !error.is_null() {
            // SAFETY: the server passes a valid error buffer.
            unsafe { (*error).set("raw-hello: create panicked") };
        }
        GW_ERR_APP
    })
}

unsafe extern "C" fn handle(
    app: *mut c_void,
    request: *const Request,
    responder: *const Responder,
) -> i32 {
    if app.is_null() || request.is_null() || responder.is_null() {
        return GW_ERR_INVALID;
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the server passes valid pointers that live until handle returns.
        let call = unsafe {
            Call {
                request: &*request,
                responder: &*responder,
            }
        };
        match call.dispatch() {
            Ok(()) => GW_OK,
            Err(code) => code,
        }
    }));
    result.unwrap_or_else(|_| {
        // SAFETY: app came from create and lives until destroy.
        let app = unsafe { &*app.cast::<App>() };
        app.log_error("raw-hello: handle panicked");
        GW_ERR_APP
    })
}

unsafe extern "C" fn destroy(app: *mut c_void) {
    if app.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: app came from Box::into_raw in create and is destroyed at most once.
        drop(unsafe { Box::from_raw(app.cast::<App>()) });
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::{Cell, RefCell};

    /// Counts the allocations the app itself makes on this thread while `COUNTING` is on (the
    /// fake server's callbacks switch it off while they record), to hold /plaintext to zero.
    struct CountingAlloc;

    thread_local! {
        static COUNTING: Cell<bool> = const { Cell::new(false) };
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: forwards to the system allocator; the counters are const-initialised thread-locals
    // that never allocate.
    unsafe impl GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if COUNTING.with(Cell::get) {
                ALLOCATIONS.with(|a| a.set(a.get() + 1));
            }
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: CountingAlloc = CountingAlloc;

    /// Runs `f` with allocation counting off (the fake server's own bookkeeping).
    fn uncounted<T>(f: impl FnOnce() -> T) -> T {
        let was = COUNTING.with(|c| c.replace(false));
        let out = f();
        COUNTING.with(|c| c.set(was));
        out
    }

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(route(b"GET", b"/plaintext"), Route::Plaintext);
        assert_eq!(route(b"HEAD", b"/plaintext"), Route::Plaintext);
        assert_eq!(route(b"POST", b"/plaintext"), Route::NotFound);
        assert_eq!(route(b"POST", b"/echo"), Route::Echo);
        assert_eq!(route(b"GET", b"/echo"), Route::NotFound);
        assert_eq!(route(b"GET", b"/stream"), Route::Stream);
        assert_eq!(route(b"GET", b"/slow"), Route::Slow);
        assert_eq!(route(b"GET", b"/no-response"), Route::NoResponse);
        assert_eq!(route(b"HEAD", b"/headers"), Route::Headers);
        assert_eq!(route(b"GET", b"/double-start"), Route::DoubleStart);
        assert_eq!(route(b"GET", b"/fail-early"), Route::FailEarly);
        assert_eq!(route(b"GET", b"/json"), Route::Json);
        assert_eq!(route(b"GET", b"/json/"), Route::NotFound);
        assert_eq!(route(b"get", b"/json"), Route::NotFound);
    }

    #[test]
    fn query_numbers_parse_with_limits() {
        assert_eq!(number_param(b"n=1000", b"n", 10, 100_000), Ok(1000));
        assert_eq!(number_param(b"x=1&n=5", b"n", 10, 100), Ok(5));
        assert_eq!(number_param(b"", b"n", 10, 100), Ok(10));
        assert_eq!(number_param(b"nn=3", b"n", 10, 100), Ok(10));
        assert_eq!(
            number_param(b"n=", b"n", 10, 100),
            Err(ParamError::NotANumber)
        );
        assert_eq!(
            number_param(b"n=-1", b"n", 10, 100),
            Err(ParamError::NotANumber)
        );
        assert_eq!(
            number_param(b"n=101", b"n", 10, 100),
            Err(ParamError::TooLarge)
        );
        assert_eq!(
            number_param(b"n=99999999999999999999", b"n", 10, 100),
            Err(ParamError::NotANumber)
        );
    }

    #[test]
    fn json_escaping_covers_quotes_controls_and_bad_utf8() {
        let mut out = Vec::new();
        push_json_escaped(&mut out, b"a\"b\\c\nd\te\x01\x7f\xffz\xc3\xa9");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\c\\nd\\te\\u0001\\u007f\u{fffd}z\u{e9}"
        );
    }

    #[test]
    fn headers_document_merges_repeats_case_insensitively() {
        let doc = headers_json(
            b"GET",
            b"/headers",
            b"a=1",
            (1, 1),
            &[
                (b"Host", b"x"),
                (b"X-Tag", b"one"),
                (b"x-tag", b"two"),
                (b"X-Quote", b"say \"hi\""),
            ],
        );
        assert_eq!(
            String::from_utf8(doc).unwrap(),
            r#"{"method":"GET","path":"/headers","query":"a=1","version":"HTTP/1.1","headers":{"host":"x","x-tag":"one, two","x-quote":"say \"hi\""}}"#
        );
    }

    #[test]
    fn decimal_writes_digits() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(13, &mut buf), b"13");
        assert_eq!(decimal(u64::MAX, &mut buf), b"18446744073709551615");
    }

    #[test]
    fn static_lengths_match_the_bodies() {
        assert_eq!(HELLO.len(), 13);
        assert_eq!(HELLO_JSON.len(), 27);
        assert_eq!(NOT_FOUND.len(), 9);
    }

    /// What a fake server recorded of one call to `handle`.
    #[derive(Default)]
    struct Recorded {
        status: Option<u16>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        starts: usize,
        allocations: usize,
    }

    /// A fake body: bytes handed out at most `step` at a time, or an error after them.
    struct FakeBody {
        data: Vec<u8>,
        pos: usize,
        step: usize,
        fail_at_end: bool,
    }

    unsafe extern "C" fn fake_read(ctx: *mut c_void, buf: *mut u8, cap: usize) -> isize {
        let body = unsafe { &mut *ctx.cast::<FakeBody>() };
        let n = (body.data.len() - body.pos).min(cap).min(body.step);
        if n == 0 && body.fail_at_end {
            return GW_ERR_BODY as isize;
        }
        unsafe { std::ptr::copy_nonoverlapping(body.data[body.pos..].as_ptr(), buf, n) };
        body.pos += n;
        n as isize
    }

    unsafe extern "C" fn fake_start(
        ctx: *mut c_void,
        status: u16,
        h: *const GwHeader,
        n: usize,
    ) -> i32 {
        uncounted(|| {
            let rec = unsafe { &*ctx.cast::<RefCell<Recorded>>() };
            let mut rec = rec.borrow_mut();
            rec.starts += 1;
            rec.status = Some(status);
            for hd in unsafe { std::slice::from_raw_parts(h, n) } {
                let (k, v) = unsafe { (hd.name.as_bytes(), hd.value.as_bytes()) };
                rec.headers.push((
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                ));
            }
            GW_OK
        })
    }

    unsafe extern "C" fn fake_write(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
        uncounted(|| {
            let rec = unsafe { &*ctx.cast::<RefCell<Recorded>>() };
            rec.borrow_mut()
                .body
                .extend_from_slice(unsafe { std::slice::from_raw_parts(data, len) });
            GW_OK
        })
    }

    unsafe extern "C" fn never_cancelled(_ctx: *mut c_void) -> u32 {
        0
    }

    fn call(
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<FakeBody>,
    ) -> (i32, Recorded) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let hs: Vec<GwHeader> = headers
            .iter()
            .map(|(k, v)| GwHeader {
                name: GwStr::from_str(k),
                value: GwStr::from_str(v),
            })
            .collect();
        let mut body = body.unwrap_or(FakeBody {
            data: Vec::new(),
            pos: 0,
            step: usize::MAX,
            fail_at_end: false,
        });
        let content_length = if headers.iter().any(|(k, _)| *k == "Transfer-Encoding") {
            -1
        } else {
            body.data.len() as i64
        };
        let request = Request {
            struct_size: std::mem::size_of::<Request>(),
            request_id: 1,
            method: GwStr::from_str(method),
            target: GwStr::from_str(target),
            path: GwStr::from_str(path),
            query: GwStr::from_str(query),
            version_major: 1,
            version_minor: 1,
            headers: hs.as_ptr(),
            header_count: hs.len(),
            content_length,
            remote_addr: GwStr::from_str("127.0.0.1"),
            remote_port: 1234,
            server_addr: GwStr::from_str("127.0.0.1"),
            server_port: 80,
            url_scheme: GwStr::from_str("http"),
            deadline_unix_ms: 0,
            body_ctx: (&mut body as *mut FakeBody).cast(),
            read_body: fake_read,
            tls_client_subject: GwStr::EMPTY,
        };
        let rec = RefCell::new(Recorded::default());
        let responder = Responder {
            struct_size: std::mem::size_of::<Responder>(),
            ctx: (&rec as *const RefCell<Recorded>).cast_mut().cast(),
            start_response: fake_start,
            write: fake_write,
            is_cancelled: never_cancelled,
            send_file: None,
        };
        let mut app_ptr: *mut c_void = std::ptr::null_mut();
        let mut err = [0u8; 64];
        let mut ebuf = ErrorBuf {
            ptr: err.as_mut_ptr(),
            cap: err.len(),
            len: 0,
        };
        let table = unsafe { &*portico_app_entry() };
        let rc = unsafe { (table.create)(std::ptr::null(), GwStr::EMPTY, &mut app_ptr, &mut ebuf) };
        assert_eq!(rc, GW_OK);
        ALLOCATIONS.with(|a| a.set(0));
        COUNTING.with(|c| c.set(true));
        let rc = unsafe { (table.handle)(app_ptr, &request, &responder) };
        COUNTING.with(|c| c.set(false));
        rec.borrow_mut().allocations = ALLOCATIONS.with(Cell::get);
        unsafe { (table.destroy)(app_ptr) };
        (rc, rec.into_inner())
    }

    fn header_of<'a>(rec: &'a Recorded, name: &str) -> Option<&'a str> {
        rec.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn plaintext_through_the_abi() {
        let (rc, rec) = call("GET", "/plaintext", &[], None);
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.status, Some(200));
        assert_eq!(rec.body, b"Hello, World!");
        assert_eq!(header_of(&rec, "content-length"), Some("13"));
        assert_eq!(
            rec.allocations, 0,
            "the benchmark's hot path must not allocate"
        );
        let (_, rec) = call("GET", "/headers", &[], None);
        assert!(
            rec.allocations > 0,
            "the counter must see the app's allocations"
        );
    }

    #[test]
    fn echo_streams_chunked_bodies_without_a_length() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let body = FakeBody {
            data: data.clone(),
            pos: 0,
            step: 7000,
            fail_at_end: false,
        };
        let (rc, rec) = call(
            "POST",
            "/echo",
            &[
                ("Transfer-Encoding", "chunked"),
                ("Content-Type", "application/x-test"),
            ],
            Some(body),
        );
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.status, Some(200));
        assert_eq!(rec.body, data);
        assert_eq!(header_of(&rec, "content-length"), None);
        assert_eq!(header_of(&rec, "content-type"), Some("application/x-test"));
    }

    #[test]
    fn echo_passes_the_declared_length_through() {
        let body = FakeBody {
            data: b"abc".to_vec(),
            pos: 0,
            step: 1,
            fail_at_end: false,
        };
        let (rc, rec) = call("POST", "/echo", &[], Some(body));
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.body, b"abc");
        assert_eq!(header_of(&rec, "content-length"), Some("3"));
    }

    #[test]
    fn echo_answers_400_when_the_body_is_bad_from_the_start() {
        let body = FakeBody {
            data: Vec::new(),
            pos: 0,
            step: 1,
            fail_at_end: true,
        };
        let (rc, rec) = call(
            "POST",
            "/echo",
            &[("Transfer-Encoding", "chunked")],
            Some(body),
        );
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.status, Some(400));
    }

    #[test]
    fn echo_fails_when_the_body_breaks_midway() {
        let body = FakeBody {
            data: b"abcdef".to_vec(),
            pos: 0,
            step: 2,
            fail_at_end: true,
        };
        let (rc, rec) = call(
            "POST",
            "/echo",
            &[("Transfer-Encoding", "chunked")],
            Some(body),
        );
        assert_eq!(rc, GW_ERR_BODY);
        assert_eq!(rec.status, Some(200));
    }

    #[test]
    fn stream_writes_numbered_lines() {
        let (rc, rec) = call("GET", "/stream?n=3", &[], None);
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.body, b"chunk 0\nchunk 1\nchunk 2\n");
        assert_eq!(header_of(&rec, "content-length"), None);
        let (_, rec) = call("GET", "/stream?n=100001", &[], None);
        assert_eq!(rec.status, Some(400));
    }

    #[test]
    fn slow_sleeps_then_reports() {
        let t = Instant::now();
        let (rc, rec) = call("GET", "/slow?ms=30", &[], None);
        assert_eq!(rc, GW_OK);
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert_eq!(rec.body, br#"{"slept_ms":30}"#);
    }

    #[test]
    fn no_response_never_starts() {
        let (rc, rec) = call("GET", "/no-response", &[], None);
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.starts, 0);
    }

    #[test]
    fn double_start_calls_start_response_twice() {
        let (rc, rec) = call("GET", "/double-start", &[], None);
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.starts, 2);
    }

    #[test]
    fn fail_early_returns_an_error_before_any_byte() {
        let (rc, rec) = call("GET", "/fail-early", &[], None);
        assert_eq!(rc, GW_ERR_APP);
        assert_eq!((rec.starts, rec.body.len()), (0, 0));
    }

    #[test]
    fn headers_route_reports_the_request() {
        let (_, rec) = call(
            "GET",
            "/headers?q=1",
            &[("Host", "h"), ("Accept", "a")],
            None,
        );
        assert_eq!(
            String::from_utf8(rec.body).unwrap(),
            r#"{"method":"GET","path":"/headers","query":"q=1","version":"HTTP/1.1","headers":{"host":"h","accept":"a"}}"#
        );
    }

    #[test]
    fn unknown_paths_are_404() {
        let (rc, rec) = call("GET", "/nope", &[], None);
        assert_eq!(rc, GW_OK);
        assert_eq!(rec.status, Some(404));
        assert_eq!(rec.body, b"Not Found");
    }
}
