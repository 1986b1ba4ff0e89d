//! The adapter between the gateway ABI and the cycle (Django's `WSGIHandler`): `export_app!`,
//! `create` (settings, the app's `build`, the handler), `handle` (ABI request → `HttpRequest`
//! → response through `start_response` / `write`), `destroy`, `manage` (`portico manage`: the app
//! built for one management command), and log forwarding to the host.
//! Nothing unwinds across `extern "C"`.

use std::borrow::Cow;
use std::cell::Cell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gateway_api::{
    ErrorBuf, GwHeader, GwStr, HostTable, Request, Responder, GW_ERR_APP, GW_ERR_CANCELLED,
    GW_ERR_CLIENT_GONE, GW_OK,
};

use crate::app::App;
use crate::exception::ViewError;
use crate::handler::Handler;
use crate::http::request::RequestBuffers;
use crate::http::response::Body;
use crate::http::{HttpRequest, HttpResponse};
use crate::management::{execute_from_command_line, BuiltApp, Io, ManagementError};
use crate::settings::{ConfigError, Settings};

/// The app's build function: gets the settings, returns the app.
pub type BuildFn = fn(&Settings) -> Result<App, ConfigError>;

/// Response fields passed to `start_response` from a stack array (more use a `Vec`).
const INLINE_HEADERS: usize = 16;

/// How many bytes the body reader asks for per `read_body` call.
const READ_CHUNK: usize = 64 * 1024;

/// The host's table, kept for the logger (valid for the life of the process by contract).
static HOST: AtomicUsize = AtomicUsize::new(0);

/// A `log::Log` that forwards records to the host's `log` callback (a cdylib has its own copy
/// of `log`'s global state, so without this the app's records would vanish).
struct HostLogger;

static LOGGER: HostLogger = HostLogger;

fn host() -> Option<&'static HostTable> {
    let p = HOST.load(Ordering::Acquire) as *const HostTable;
    // SAFETY: only ever set from a non-null `host` the server promises to keep alive for the
    // life of the process.
    unsafe { p.as_ref() }
}

fn level_number(level: log::Level) -> u32 {
    match level {
        log::Level::Error => gateway_api::GW_LOG_ERROR,
        log::Level::Warn => gateway_api::GW_LOG_WARN,
        log::Level::Info => gateway_api::GW_LOG_INFO,
        log::Level::Debug => gateway_api::GW_LOG_DEBUG,
        log::Level::Trace => gateway_api::GW_LOG_TRACE,
    }
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        host().is_some_and(|h| level_number(metadata.level()) <= h.max_log_level)
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(h) = host() else { return };
        if level_number(record.level()) > h.max_log_level {
            return;
        }
        let message = record.args().to_string();
        let target = record.target();
        // SAFETY: the host's callback copies both strings before returning and may be called
        // from any thread.
        unsafe {
            (h.log)(
                h.ctx,
                level_number(record.level()),
                GwStr::from_str(target),
                GwStr::from_str(&message),
            )
        };
    }

    fn flush(&self) {}
}

fn install_logger(host: *const HostTable) {
    if host.is_null() {
        return;
    }
    HOST.store(host as usize, Ordering::Release);
    // SAFETY: checked non-null; valid for the process's life by contract.
    let max = unsafe { (*host).max_log_level };
    let filter = match max {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    // A second create in the same library keeps the logger already installed.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(filter);
}

/// `handle` runs on many worker threads at once over one `AppState`: it must be `Sync`.
const _: fn() = || {
    fn assert_shared<T: Send + Sync>() {}
    assert_shared::<AppState>();
};

/// The state behind the opaque app pointer.
pub struct AppState {
    handler: Handler,
}

/// Builds the handler from a settings path (empty: defaults) and the app's build function;
/// what `create` does, minus the ABI. Also what `--check-config` exercises.
pub fn build_handler(settings_path: &str, build: BuildFn) -> Result<Handler, ConfigError> {
    let settings = if settings_path.is_empty() {
        Settings::defaults()
    } else {
        Settings::load(Path::new(settings_path))?
    };
    let app = build(&settings)?;
    app.into_handler(settings)
}

/// The body of the exported `create`.
///
/// # Safety
/// Called by the server through the ABI with the pointers `CreateFn` describes.
pub unsafe fn create(
    host: *const HostTable,
    settings_path: GwStr,
    out_app: *mut *mut c_void,
    error: *mut ErrorBuf,
    build: BuildFn,
) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        install_logger(host);
        crate::exception::install_panic_location_hook();
        // SAFETY: the server passes a valid string for the duration of the call.
        let raw = unsafe { settings_path.as_bytes() };
        let path = std::str::from_utf8(raw)
            .map_err(|_| ConfigError::new("the settings path is not valid UTF-8"))?;
        build_handler(path, build)
    }));
    let message = match outcome {
        Ok(Ok(handler)) => {
            if out_app.is_null() {
                return GW_ERR_APP;
            }
            let state = Box::new(AppState { handler });
            // SAFETY: checked non-null; the server gives a writable slot.
            unsafe { *out_app = Box::into_raw(state).cast() };
            return GW_OK;
        }
        Ok(Err(e)) => e.to_string(),
        Err(payload) => format!(
            "create panicked: {}",
            ViewError::from_panic(payload).message()
        ),
    };
    // SAFETY: `error` is the server's buffer for this call, or null.
    if let Some(buf) = unsafe { error.as_mut() } {
        unsafe { buf.set(&message) };
    }
    GW_ERR_APP
}

/// Builds the app for a management command: the settings (empty path: defaults), the app's
/// `build`, its commands and checks taken out, then the handler (URL conf checked, middleware
/// loaded, ready hooks run), as `create` builds it; its own commands listed under `app_label`.
pub fn build_for_management(
    settings_path: &str,
    build: BuildFn,
    app_label: &str,
) -> Result<BuiltApp, ConfigError> {
    let settings = if settings_path.is_empty() {
        Settings::defaults()
    } else {
        Settings::load(Path::new(settings_path))?
    };
    let app = build(&settings)?;
    BuiltApp::new(app, settings, app_label)
}

/// The body of the exported `manage` (ABI 1.1): builds the app from `settings_path` and runs
/// the command `argv` names on the process's streams (Django's `execute_from_command_line`),
/// returning its exit status. A settings or build error is written into `error` with a
/// negative code, for the server to print as a start-up error; `help` still lists the core
/// commands then.
///
/// # Safety
/// Called by the server through the ABI with the pointers `ManageFn` describes.
pub unsafe fn manage(
    host: *const HostTable,
    settings_path: GwStr,
    argc: usize,
    argv: *const GwStr,
    error: *mut ErrorBuf,
    app_label: &str,
    build: BuildFn,
) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<i32, ManagementError> {
        install_logger(host);
        crate::exception::install_panic_location_hook();
        // SAFETY: the server passes `argc` valid strings for the duration of the call.
        let raw_args: &[GwStr] = if argc == 0 || argv.is_null() {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(argv, argc) }
        };
        let mut args = Vec::with_capacity(raw_args.len());
        for (i, arg) in raw_args.iter().enumerate() {
            // SAFETY: as above.
            let bytes = unsafe { arg.as_bytes() };
            let arg = std::str::from_utf8(bytes).map_err(|_| {
                ConfigError::new(format!(
                    "argument {i} ({}) is not valid UTF-8",
                    String::from_utf8_lossy(bytes)
                ))
            })?;
            args.push(arg.to_string());
        }
        // SAFETY: the server passes a valid string for the duration of the call.
        let path = std::str::from_utf8(unsafe { settings_path.as_bytes() })
            .map_err(|_| ConfigError::new("the settings path is not valid UTF-8"))?;
        let built = build_for_management(path, build, app_label);
        let setup = built.as_ref().map(BuiltApp::setup);
        let stdin = std::io::stdin();
        let mut io = Io {
            stdin: &mut stdin.lock(),
            stdout: &mut std::io::stdout().lock(),
            stderr: &mut std::io::stderr().lock(),
        };
        execute_from_command_line(&args, setup, &mut io)
    }));
    let message = match outcome {
        Ok(Ok(status)) => return status.clamp(0, 255),
        // The app started and its command ran, but its output could not be written (a closed
        // pipe): a failed command, told on stderr while it is still there.
        Ok(Err(ManagementError::Output(e))) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "cannot write the command's output: {e}");
            return 1;
        }
        Ok(Err(ManagementError::Setup(e))) => e.to_string(),
        Err(payload) => format!(
            "the command panicked: {}",
            ViewError::from_panic(payload).message()
        ),
    };
    // SAFETY: `error` is the server's buffer for this call, or null.
    if let Some(buf) = unsafe { error.as_mut() } {
        unsafe { buf.set(&message) };
    }
    GW_ERR_APP
}

/// The exported `destroy`.
///
/// # Safety
/// `app` must come from a successful `create` and not be used again.
pub unsafe extern "C" fn destroy(app: *mut c_void) {
    if app.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `app` is the Box created in `create`, destroyed once.
        drop(unsafe { Box::from_raw(app.cast::<AppState>()) });
    }));
}

/// The exported `handle`.
///
/// # Safety
/// Called by the server with a live app pointer, request and responder.
pub unsafe extern "C" fn handle(
    app: *mut c_void,
    request: *const Request,
    responder: *const Responder,
) -> i32 {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: pointers are valid for the duration of the call by the ABI contract.
        let (state, req, resp) = unsafe {
            match (
                app.cast::<AppState>().as_ref(),
                request.as_ref(),
                responder.as_ref(),
            ) {
                (Some(s), Some(q), Some(r)) => (s, q, r),
                _ => return GW_ERR_APP,
            }
        };
        // SAFETY: as above.
        unsafe { serve(&state.handler, req, resp) }
    }));
    outcome.unwrap_or_else(|payload| {
        log::error!(
            target: "django.request",
            "panic while writing the response: {}",
            ViewError::from_panic(payload).message()
        );
        GW_ERR_APP
    })
}

/// Wraps the responder's `is_cancelled` so a view can poll it.
pub(crate) struct CancelHandle {
    ctx: *mut c_void,
    probe: gateway_api::IsCancelledFn,
    thread: std::thread::ThreadId,
}

// SAFETY: the probe is only invoked on the thread running `handle` (checked in `call`); the
// request holding it is dropped before `handle` returns.
unsafe impl Send for CancelHandle {}
// SAFETY: as above.
unsafe impl Sync for CancelHandle {}

impl CancelHandle {
    pub(crate) fn call(&self) -> u32 {
        if std::thread::current().id() != self.thread {
            return 0;
        }
        // SAFETY: the responder is alive while `handle` runs, on this thread.
        unsafe { (self.probe)(self.ctx) }
    }
}

unsafe fn gw(s: &GwStr) -> &[u8] {
    // SAFETY: request strings are valid during `handle`.
    unsafe { s.as_bytes() }
}

/// The bytes as text: borrowed when they are UTF-8 (the usual case, checked at memory speed),
/// else with U+FFFD for each bad sequence (WSGI's latin-1 mojibake has no place here).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8. (The ASCII scan runs a word at a time; on the short strings
        // of a request head it is several times cheaper than full UTF-8 validation.)
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    String::from_utf8_lossy(bytes)
}

/// Why the body could not be read.
enum BodyError {
    Read,
    TooLarge,
}

unsafe fn read_body(req: &Request, limit: Option<u64>) -> Result<Vec<u8>, BodyError> {
    if req.content_length == 0 {
        return Ok(Vec::new());
    }
    if let (Some(limit), Ok(len)) = (limit, u64::try_from(req.content_length)) {
        if len > limit {
            return Err(BodyError::TooLarge);
        }
    }
    let mut body: Vec<u8> = Vec::with_capacity(
        usize::try_from(req.content_length)
            .unwrap_or(0)
            .min(1 << 20),
    );
    loop {
        body.reserve(READ_CHUNK);
        let spare = body.capacity() - body.len();
        // SAFETY: we hand the reader `spare` writable bytes past the initialised length.
        let n = unsafe { (req.read_body)(req.body_ctx, body.as_mut_ptr().add(body.len()), spare) };
        if n == 0 {
            return Ok(body);
        }
        let Ok(n) = usize::try_from(n) else {
            return Err(BodyError::Read);
        };
        // SAFETY: the reader initialised `n <= spare` bytes.
        unsafe { body.set_len(body.len() + n.min(spare)) };
        if limit.is_some_and(|l| body.len() as u64 > l) {
            return Err(BodyError::TooLarge);
        }
    }
}

/// The largest head buffer kept for the next request on a thread: a longer one (a long header
/// block, a long path) is freed after its request.
const SPARE_MAX: usize = 4096;

thread_local! {
    /// The last request's head buffers on this thread, emptied, for the next request (see
    /// [`RequestBuffers`]): about seven allocations fewer per request.
    static SPARE: Cell<Option<RequestBuffers>> = const { Cell::new(None) };
}

/// Appends the bytes as text (see [`text`]).
fn push_text(out: &mut String, bytes: &[u8]) {
    out.push_str(&text(bytes));
}

unsafe fn serve(handler: &Handler, req: &Request, resp: &Responder) -> i32 {
    let settings = handler.settings();
    let mut buffers = SPARE.take().unwrap_or_default();
    // SAFETY: request fields are valid during `handle`.
    let fields = unsafe {
        push_text(&mut buffers.method, gw(&req.method));
        push_text(&mut buffers.query, gw(&req.query));
        push_text(&mut buffers.remote_addr, gw(&req.remote_addr));
        push_text(&mut buffers.server_name, gw(&req.server_addr));
        req.header_slice()
    };
    let bytes = fields.iter().map(|h| h.name.len + h.value.len).sum();
    buffers.headers.reserve(fields.len(), bytes);
    for h in fields {
        // SAFETY: as above.
        let (name, value) = unsafe { (gw(&h.name), gw(&h.value)) };
        buffers.headers.append(text(name), text(value));
    }
    // SAFETY: as above.
    let mut request =
        HttpRequest::from_buffers(buffers, unsafe { gw(&req.path) }, Arc::clone(settings));
    {
        let c = &mut request.connection;
        // SAFETY: as above.
        c.scheme = match unsafe { gw(&req.url_scheme) } {
            b"http" => Cow::Borrowed("http"),
            b"https" => Cow::Borrowed("https"),
            other => Cow::Owned(text(other).into_owned()),
        };
        c.remote_port = req.remote_port;
        c.server_port = req.server_port;
        // SAFETY: as above (`client_subject` checks that the server's request has the field).
        c.tls_client_subject = req
            .client_subject()
            .map(|s| text(unsafe { gw(s) }).into_owned());
        c.protocol = match (req.version_major, req.version_minor) {
            (1, 1) => Cow::Borrowed("HTTP/1.1"),
            (1, 0) => Cow::Borrowed("HTTP/1.0"),
            (major, minor) => Cow::Owned(format!("HTTP/{major}.{minor}")),
        };
    }
    request.set_cancel(CancelHandle {
        ctx: resp.ctx,
        probe: resp.is_cancelled,
        thread: std::thread::current().id(),
    });

    // Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves file uploads out of the limit.
    let limit = (!is_multipart(request.headers.get("Content-Type")))
        .then_some(settings.data_upload_max_memory_size);
    // SAFETY: `read_body` is called during `handle`, on its thread.
    let response = match unsafe { read_body(req, limit) } {
        Ok(body) => {
            request.set_body(body);
            handler.get_response(&mut request)
        }
        Err(BodyError::Read) => {
            log::warn!(
                target: "django.request",
                "Bad Request: {} (body could not be read)",
                crate::http::encoding::unicode_escape(&request.path)
            );
            HttpResponse::with_status(400, "<h1>Bad Request (400)</h1>")
        }
        Err(BodyError::TooLarge) => {
            // Django raises RequestDataTooBig (a SuspiciousOperation, 400) where the body is
            // used: here at the view layer, so the middleware still see the 400 go out.
            request.body_error =
                Some("Request body exceeded data_upload_max_memory_size.".to_string());
            handler.get_response(&mut request)
        }
    };
    // The request (and its body) is freed before the body goes out; a streaming response keeps
    // the request line, for the log if its iterator fails half-way.
    let stream_origin = response
        .is_streaming()
        .then(|| crate::handler::origin(&request));
    let mut buffers = request.into_buffers();
    buffers.clear_within(SPARE_MAX);
    SPARE.set(Some(buffers));
    // SAFETY: the responder is valid during `handle`.
    unsafe { write_response(resp, response, stream_origin.as_deref()) }
}

/// True for a `multipart/*` content type (compared without case and without a copy: this
/// runs on every request that has a body).
fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.trim_start()
            .as_bytes()
            .get(..10)
            .is_some_and(|kind| kind.eq_ignore_ascii_case(b"multipart/"))
    })
}

/// Formats `n` in decimal into `buf`, returning the digits (no allocation on the hot path).
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
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

/// Writes `response` out. A streaming body's iterator that panics is the app failing after
/// the head went out: it is logged (`origin` names the request) and `GW_ERR_APP` tells the
/// server to cut the connection, so the client sees a truncated body rather than a complete
/// one (Django's WSGI server does the same when the iterator raises).
unsafe fn write_response(
    resp: &Responder,
    mut response: HttpResponse,
    origin: Option<&str>,
) -> i32 {
    let body = response.take_body();
    let status = response.status_code;
    let mut digits = [0u8; 20];
    let bodyless_status = status == 204 || status == 304 || (100..200).contains(&status);
    let length = match &body {
        Body::Bytes(content)
            if !bodyless_status && !response.headers.contains("Content-Length") =>
        {
            Some(GwHeader {
                name: GwStr::from_str("Content-Length"),
                value: GwStr::from_bytes(decimal(content.len(), &mut digits)),
            })
        }
        _ => None,
    };
    let fields = response.headers.iter().map(|(name, value)| GwHeader {
        name: GwStr::from_str(name),
        value: GwStr::from_str(value),
    });
    let all = fields.chain(length);
    // The header array lives on the stack for the usual few fields (no allocation per
    // response); a response with more gets a Vec.
    let mut inline = [GwHeader {
        name: GwStr::EMPTY,
        value: GwStr::EMPTY,
    }; INLINE_HEADERS];
    let heap: Vec<GwHeader>;
    let array: &[GwHeader] = if response.headers.len() < INLINE_HEADERS {
        let mut n = 0;
        for h in all {
            inline[n] = h;
            n += 1;
        }
        &inline[..n]
    } else {
        heap = all.collect();
        &heap
    };
    // SAFETY: the header array and its strings live until the call returns.
    let rc = unsafe { (resp.start_response)(resp.ctx, status, array.as_ptr(), array.len()) };
    // The server has the head: the map's memory serves this thread's next response.
    std::mem::take(&mut response.headers).recycle();
    if rc != GW_OK {
        log::error!(target: "django.request", "start_response refused the response: code {rc}");
        return GW_ERR_APP;
    }
    // A server without `send_file` (ABI 1.1) gets the file as a stream of blocks.
    let body = match body {
        Body::File(file) if resp.send_file_entry().is_none() => {
            Body::Stream(Box::new(file.into_chunks()))
        }
        body => body,
    };
    match body {
        Body::Bytes(content) => {
            if !content.is_empty() {
                // SAFETY: `content` is alive for the call.
                let rc = unsafe { (resp.write)(resp.ctx, content.as_ptr(), content.len()) };
                if rc != GW_OK {
                    log::debug!("write failed (code {rc}): the client is gone");
                }
            }
        }
        Body::File(file) => {
            // SAFETY: the responder is valid during `handle`.
            let rc = unsafe { send_file_body(resp, file) };
            if rc != GW_OK {
                log::debug!("sending the file stopped (code {rc})");
                // Part of the promised length may be missing: the server cuts the connection.
                return if rc == GW_ERR_CLIENT_GONE || rc == GW_ERR_CANCELLED {
                    GW_OK
                } else {
                    GW_ERR_APP
                };
            }
        }
        Body::Stream(mut chunks) => loop {
            let chunk = match catch_unwind(AssertUnwindSafe(|| chunks.next())) {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(payload) => {
                    let failure = ViewError::from_panic(payload);
                    crate::handler::log_failure(
                        origin.unwrap_or("<unknown request>"),
                        "the streaming response failed after it started; the stream is cut",
                        &failure,
                    );
                    return GW_ERR_APP;
                }
            };
            if chunk.is_empty() {
                continue;
            }
            // SAFETY: `chunk` is alive for the call; a zero-length write flushes.
            let rc = unsafe {
                let rc = (resp.write)(resp.ctx, chunk.as_ptr(), chunk.len());
                if rc == GW_OK {
                    (resp.write)(resp.ctx, std::ptr::null(), 0)
                } else {
                    rc
                }
            };
            if rc != GW_OK {
                log::debug!("streaming stopped (code {rc}): the client is gone");
                break;
            }
        },
    }
    GW_OK
}

/// Sends a file body through the server's `send_file` (ABI 1.2, zero-copy), or through
/// `write` for a range the callback cannot name (an offset past `i64::MAX`). Returns the
/// first failing code.
///
/// # Safety
/// `resp` must be the responder of the running `handle`.
unsafe fn send_file_body(resp: &Responder, file: crate::http::FileBody) -> i32 {
    use std::os::fd::AsRawFd;
    if file.len == 0 {
        return GW_OK;
    }
    match (resp.send_file_entry(), i64::try_from(file.offset)) {
        // SAFETY: the file stays open for the call; the server does not keep the descriptor.
        (Some(send_file), Ok(offset)) => unsafe {
            send_file(resp.ctx, file.file.as_raw_fd(), offset, file.len)
        },
        _ => {
            for block in file.into_chunks() {
                // SAFETY: `block` is alive for the call.
                let rc = unsafe { (resp.write)(resp.ctx, block.as_ptr(), block.len()) };
                if rc != GW_OK {
                    return rc;
                }
            }
            GW_OK
        }
    }
}

/// Exports an app through the gateway ABI: defines `portico_app_entry`, whose table's
/// `create` reads the settings the server names and calls `build`, and whose `manage` (ABI
/// 1.1) does the same for `portico manage` and runs the command.
///
/// `build` is a `fn(&Settings) -> Result<App, ConfigError>`.
#[macro_export]
macro_rules! export_app {
    ($build:expr) => {
        #[doc(hidden)]
        unsafe extern "C" fn __portico_create(
            host: *const $crate::gateway_api::HostTable,
            settings_path: $crate::gateway_api::GwStr,
            out_app: *mut *mut ::std::ffi::c_void,
            error: *mut $crate::gateway_api::ErrorBuf,
        ) -> i32 {
            // SAFETY: forwarded as received from the server.
            unsafe { $crate::adapter::create(host, settings_path, out_app, error, $build) }
        }

        #[doc(hidden)]
        unsafe extern "C" fn __portico_manage(
            host: *const $crate::gateway_api::HostTable,
            settings_path: $crate::gateway_api::GwStr,
            argc: usize,
            argv: *const $crate::gateway_api::GwStr,
            error: *mut $crate::gateway_api::ErrorBuf,
        ) -> i32 {
            // SAFETY: forwarded as received from the server.
            unsafe {
                $crate::adapter::manage(
                    host,
                    settings_path,
                    argc,
                    argv,
                    error,
                    env!("CARGO_PKG_NAME"),
                    $build,
                )
            }
        }

        #[doc(hidden)]
        static __PORTICO_APP_TABLE: $crate::gateway_api::AppTable = $crate::gateway_api::AppTable {
            manage: Some(__portico_manage),
            ..$crate::gateway_api::app_table(
                env!("CARGO_PKG_NAME"),
                __portico_create,
                $crate::adapter::handle,
                $crate::adapter::destroy,
            )
        };

        /// The gateway entry point: this app's table.
        #[no_mangle]
        pub extern "C" fn portico_app_entry() -> *const $crate::gateway_api::AppTable {
            &__PORTICO_APP_TABLE
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urls::path;
    use crate::views::{view, ViewResult};
    use gateway_api::{GW_ERR_BODY, GW_ERR_CLIENT_GONE};

    /// What a fake server saw through the responder.
    #[derive(Default)]
    struct Seen {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        writes: usize,
        /// Writes accepted before the fake client "goes away".
        fail_after: Option<usize>,
        /// What `is_cancelled` answers.
        cancel_bits: u32,
        /// Calls of `send_file`.
        send_files: usize,
    }

    unsafe extern "C" fn start_response(
        ctx: *mut c_void,
        status: u16,
        h: *const GwHeader,
        n: usize,
    ) -> i32 {
        let seen = unsafe { &mut *ctx.cast::<Seen>() };
        seen.status = status;
        for hdr in unsafe { std::slice::from_raw_parts(h, n) } {
            let (k, v) = unsafe { (hdr.name.as_bytes(), hdr.value.as_bytes()) };
            seen.headers
                .push((text(k).into_owned(), text(v).into_owned()));
        }
        GW_OK
    }

    unsafe extern "C" fn write(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
        let seen = unsafe { &mut *ctx.cast::<Seen>() };
        if len == 0 {
            return GW_OK;
        }
        if seen.fail_after.is_some_and(|n| seen.writes >= n) {
            return GW_ERR_CLIENT_GONE;
        }
        seen.writes += 1;
        seen.body
            .extend_from_slice(unsafe { std::slice::from_raw_parts(data, len) });
        GW_OK
    }

    unsafe extern "C" fn is_cancelled(ctx: *mut c_void) -> u32 {
        let seen = unsafe { &*ctx.cast::<Seen>() };
        seen.cancel_bits
    }

    struct Body {
        data: Vec<u8>,
        pos: usize,
        fail: bool,
    }

    unsafe extern "C" fn read_body(ctx: *mut c_void, buf: *mut u8, cap: usize) -> isize {
        let b = unsafe { &mut *ctx.cast::<Body>() };
        if b.fail {
            return GW_ERR_BODY as isize;
        }
        let n = (b.data.len() - b.pos).min(cap).min(3);
        unsafe { std::ptr::copy_nonoverlapping(b.data.as_ptr().add(b.pos), buf, n) };
        b.pos += n;
        n as isize
    }

    /// The fake server's `send_file`: reads the range itself (as sendfile would) and counts
    /// the call.
    unsafe extern "C" fn send_file(ctx: *mut c_void, fd: i32, offset: i64, len: u64) -> i32 {
        use std::os::unix::fs::FileExt;
        let seen = unsafe { &mut *ctx.cast::<Seen>() };
        // Borrow the app's descriptor without taking it over.
        let file = std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, offset as u64).unwrap();
        seen.body.extend_from_slice(&buf);
        seen.send_files += 1;
        GW_OK
    }

    fn file_responder(seen: &mut Seen, struct_size: usize) -> Responder {
        Responder {
            struct_size,
            ctx: (seen as *mut Seen).cast(),
            start_response,
            write,
            is_cancelled,
            send_file: Some(send_file),
        }
    }

    #[test]
    fn a_file_body_goes_by_send_file_and_falls_back_to_writes_on_an_older_server() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let path = std::env::temp_dir().join(format!("hc-adapter-{}.bin", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        let response = || {
            let f = std::fs::File::open(&path).unwrap();
            crate::http::FileResponse::named_range(f, "x.bin", false, 7, 250_000).unwrap()
        };
        let want = &data[7..250_007];

        let mut seen = Seen::default();
        let resp = file_responder(&mut seen, std::mem::size_of::<Responder>());
        assert_eq!(unsafe { write_response(&resp, response(), None) }, GW_OK);
        assert_eq!(
            (seen.send_files, seen.writes),
            (1, 0),
            "one send_file, no write"
        );
        assert_eq!(seen.body, want);
        assert!(seen
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Length" && v == "250000"));

        // A 1.1 server's responder ends before send_file: the adapter must not read it (the
        // field holds a pointer here only to prove it is ignored) and writes blocks instead.
        let mut seen = Seen::default();
        let resp = file_responder(&mut seen, gateway_api::RESPONDER_SIZES[1]);
        assert_eq!(unsafe { write_response(&resp, response(), None) }, GW_OK);
        assert_eq!(seen.send_files, 0);
        assert_eq!(
            seen.writes,
            250_000usize.div_ceil(crate::http::response::FILE_BLOCK_SIZE),
            "bounded blocks"
        );
        assert_eq!(seen.body, want);

        // A client gone half-way stops the copy without failing the app.
        let mut seen = Seen {
            fail_after: Some(1),
            ..Seen::default()
        };
        let resp = file_responder(&mut seen, gateway_api::RESPONDER_SIZES[1]);
        assert_eq!(unsafe { write_response(&resp, response(), None) }, GW_OK);
        assert_eq!(seen.writes, 1);
        std::fs::remove_file(&path).unwrap();
    }

    fn echo(request: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new(request.body().to_vec()))
    }

    fn lines(request: &mut HttpRequest) -> ViewResult {
        let _ = request;
        Ok(crate::http::StreamingHttpResponse::new(
            (0..100).map(|i| format!("line {i}\n")),
        ))
    }

    fn broken_stream(_request: &mut HttpRequest) -> ViewResult {
        Ok(crate::http::StreamingHttpResponse::new((0..5).map(|i| {
            if i == 2 {
                panic!("the stream broke at line {i}");
            }
            format!("line {i}\n")
        })))
    }

    fn cancelled(request: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new(request.is_cancelled().to_string()))
    }

    fn build(_s: &Settings) -> Result<App, ConfigError> {
        Ok(App::new(vec![
            path("cancelled/", view(cancelled)),
            path("echo/", view(echo)),
            path("lines/", view(lines)),
            path("broken-stream/", view(broken_stream)),
        ]))
    }

    fn build_panics(_s: &Settings) -> Result<App, ConfigError> {
        panic!("build exploded")
    }

    fn create_app(build: BuildFn, settings: &str) -> (i32, *mut c_void, String) {
        let mut storage = vec![0u8; 512];
        let mut err = ErrorBuf {
            ptr: storage.as_mut_ptr(),
            cap: storage.len(),
            len: 0,
        };
        let mut app: *mut c_void = std::ptr::null_mut();
        let rc = unsafe {
            create(
                std::ptr::null(),
                GwStr::from_str(settings),
                &mut app,
                &mut err,
                build,
            )
        };
        let msg = String::from_utf8_lossy(&storage[..err.len]).into_owned();
        (rc, app, msg)
    }

    fn call(
        app: *mut c_void,
        method: &str,
        target: &str,
        body: &[u8],
        fail_body: bool,
        seen: &mut Seen,
    ) -> i32 {
        let mut b = Body {
            data: body.to_vec(),
            pos: 0,
            fail: fail_body,
        };
        let headers = [GwHeader {
            name: GwStr::from_str("Host"),
            value: GwStr::from_str("localhost"),
        }];
        let req = Request {
            struct_size: std::mem::size_of::<Request>(),
            request_id: 1,
            method: GwStr::from_str(method),
            target: GwStr::from_str(target),
            path: GwStr::from_str(target),
            query: GwStr::EMPTY,
            version_major: 1,
            version_minor: 1,
            headers: headers.as_ptr(),
            header_count: headers.len(),
            content_length: body.len() as i64,
            remote_addr: GwStr::from_str("127.0.0.1"),
            remote_port: 4000,
            server_addr: GwStr::from_str("127.0.0.1"),
            server_port: 8000,
            url_scheme: GwStr::from_str("http"),
            deadline_unix_ms: 0,
            body_ctx: (&mut b as *mut Body).cast(),
            read_body,
            tls_client_subject: GwStr::EMPTY,
        };
        let resp = Responder {
            struct_size: std::mem::size_of::<Responder>(),
            ctx: (seen as *mut Seen).cast(),
            start_response,
            write,
            is_cancelled,
            send_file: None,
        };
        unsafe { handle(app, &req, &resp) }
    }

    fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
        seen.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn handle_reads_the_body_and_sets_content_length() {
        let (rc, app, msg) = create_app(build, "");
        assert_eq!(rc, GW_OK, "{msg}");
        let mut seen = Seen::default();
        assert_eq!(
            call(app, "POST", "/echo/", b"hello body", false, &mut seen),
            GW_OK
        );
        assert_eq!(seen.status, 200);
        assert_eq!(seen.body, b"hello body");
        assert_eq!(header(&seen, "Content-Length"), Some("10"));

        let mut seen = Seen::default();
        assert_eq!(call(app, "POST", "/echo/", b"abc", true, &mut seen), GW_OK);
        assert_eq!(seen.status, 400, "a body read error is a 400");
        unsafe { destroy(app) };
    }

    #[test]
    fn a_body_over_the_limit_is_a_400() {
        let dir = std::env::temp_dir().join(format!("hc-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s.toml");
        std::fs::write(&file, "data_upload_max_memory_size = 4\n").unwrap();
        let (rc, app, msg) = create_app(build, file.to_str().unwrap());
        assert_eq!(rc, GW_OK, "{msg}");
        let mut seen = Seen::default();
        call(app, "POST", "/echo/", b"1234", false, &mut seen);
        assert_eq!((seen.status, seen.body.as_slice()), (200, &b"1234"[..]));
        let mut seen = Seen::default();
        call(app, "POST", "/echo/", b"12345", false, &mut seen);
        assert_eq!(seen.status, 400);
        unsafe { destroy(app) };
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn streaming_stops_when_the_client_is_gone() {
        let (_, app, _) = create_app(build, "");
        let mut seen = Seen::default();
        assert_eq!(call(app, "GET", "/lines/", b"", false, &mut seen), GW_OK);
        assert_eq!(seen.writes, 100);
        assert!(header(&seen, "Content-Length").is_none());
        let mut seen = Seen {
            fail_after: Some(5),
            ..Seen::default()
        };
        assert_eq!(call(app, "GET", "/lines/", b"", false, &mut seen), GW_OK);
        assert_eq!(seen.writes, 5, "no write after the client left");
        unsafe { destroy(app) };
    }

    #[test]
    fn a_panicking_stream_is_cut_and_the_app_keeps_serving() {
        let (_, app, _) = create_app(build, "");
        let mut seen = Seen::default();
        let (rc, logs) =
            crate::test_log::capture(|| call(app, "GET", "/broken-stream/", b"", false, &mut seen));
        // The head and the lines before the panic went out; the error code tells the server
        // to cut the connection rather than end the body cleanly.
        assert_eq!(rc, GW_ERR_APP);
        assert_eq!(seen.status, 200);
        assert_eq!(seen.body, b"line 0\nline 1\n");
        let logged: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            logged,
            [
                "Internal Server Error: /broken-stream/ (GET /broken-stream/ HTTP/1.1): the \
              streaming response failed after it started; the stream is cut\n\
              Panic: the stream broke at line 2"
            ]
        );
        let mut seen = Seen::default();
        assert_eq!(
            call(app, "POST", "/echo/", b"still here", false, &mut seen),
            GW_OK
        );
        assert_eq!(
            (seen.status, seen.body.as_slice()),
            (200, &b"still here"[..])
        );
        unsafe { destroy(app) };
    }

    #[test]
    fn views_see_the_responder_cancellation() {
        let (_, app, _) = create_app(build, "");
        let mut seen = Seen::default();
        call(app, "GET", "/cancelled/", b"", false, &mut seen);
        assert_eq!(seen.body, b"false");
        let mut seen = Seen {
            cancel_bits: gateway_api::GW_CANCEL_DEADLINE,
            ..Seen::default()
        };
        call(app, "GET", "/cancelled/", b"", false, &mut seen);
        assert_eq!(seen.body, b"true");
        unsafe { destroy(app) };
    }

    #[test]
    fn create_errors_are_reported_not_unwound() {
        let (rc, app, msg) = create_app(build_panics, "");
        assert_eq!(rc, GW_ERR_APP);
        assert!(app.is_null());
        assert!(msg.contains("build exploded"), "{msg}");
        let (rc, _, msg) = create_app(build, "/nonexistent/settings.toml");
        assert_eq!(rc, GW_ERR_APP);
        assert!(msg.contains("/nonexistent/settings.toml"), "{msg}");
    }

    fn manage_app(settings: &str, argv: &[&[u8]]) -> (i32, String) {
        let mut storage = vec![0u8; 512];
        let mut err = ErrorBuf {
            ptr: storage.as_mut_ptr(),
            cap: storage.len(),
            len: 0,
        };
        let args: Vec<GwStr> = argv.iter().map(|a| GwStr::from_bytes(a)).collect();
        let rc = unsafe {
            manage(
                std::ptr::null(),
                GwStr::from_str(settings),
                args.len(),
                args.as_ptr(),
                &mut err,
                "adapter-test",
                build,
            )
        };
        (
            rc,
            String::from_utf8_lossy(&storage[..err.len]).into_owned(),
        )
    }

    #[test]
    fn manage_reports_what_stops_the_app_through_the_error_buffer() {
        let (rc, msg) = manage_app("/nonexistent/settings.toml", &[b"prog", b"check"]);
        assert_eq!(rc, GW_ERR_APP);
        assert!(msg.contains("/nonexistent/settings.toml"), "{msg}");
        let (rc, msg) = manage_app("", &[b"prog", b"greet", b"\xff"]);
        assert_eq!(rc, GW_ERR_APP);
        assert_eq!(msg, "argument 2 (\u{fffd}) is not valid UTF-8");
    }

    #[test]
    fn decimal_formats_without_allocating() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(1234567, &mut buf), b"1234567");
        assert_eq!(
            decimal(usize::MAX, &mut buf),
            usize::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn multipart_types_are_told_apart_without_case() {
        assert!(is_multipart(Some("multipart/form-data; boundary=x")));
        assert!(is_multipart(Some("  Multipart/Mixed")));
        assert!(!is_multipart(Some("application/x-www-form-urlencoded")));
        assert!(!is_multipart(Some("multipart")));
        assert!(!is_multipart(Some("")));
        assert!(!is_multipart(None));
    }
}
