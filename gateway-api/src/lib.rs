//! The Portico gateway ABI: the one stable, versioned C interface between the `portico` server
//! and an application library, as PEP 3333 is the one interface between gunicorn and Django.
//!
//! Everything here is `#[repr(C)]`, so an app can be written in any compiled language against
//! `include/gateway.h`, which says the same thing in C. `SPEC.md` beside this crate is the prose
//! specification for both sides; each item below repeats the rules that concern it.
//!
//! # Shape
//! * An app library exports one symbol, [`ENTRY_SYMBOL`], of type [`EntryFn`]. It returns a
//!   pointer to a static [`AppTable`]: the ABI version, the table's own size, the app's name and
//!   the `create` / `handle` / `destroy` functions.
//! * The server calls `create` once, with a [`HostTable`] (its logging callback) and the path of
//!   the settings file, and gets an opaque app pointer back.
//! * For every request the server calls `handle` with a borrowed [`Request`] view and a
//!   [`Responder`]. The app reads the body through `Request::read_body` and answers through
//!   `Responder::start_response` (once) and `Responder::write` (any number of times).
//! * `portico manage` calls the table's optional `manage` entry (ABI 1.1) instead: one
//!   management command in the `portico manage` process, as `django-admin` runs one (see
//!   [`ManageFn`]).
//!
//! # Versioning
//! [`ABI_MAJOR`] changes only when an existing field changes meaning or place; the server refuses
//! a table with another major. [`ABI_MINOR`] grows when fields are appended at the end of a table;
//! every table starts with `struct_size`, so a reader can tell which of the appended fields the
//! writer knew about. Fields are never removed or reordered.
//!
//! # Panics and unwinding
//! Nothing unwinds across this boundary: both sides catch panics in every `extern "C"` function
//! they implement and turn them into an error code.
#![deny(missing_docs)]

use std::ffi::c_void;

/// Major version of the ABI. A server refuses an app table whose `abi_major` differs.
pub const ABI_MAJOR: u32 = 1;

/// Minor version of the ABI: how many rounds of appended fields this crate knows about.
/// 1.0: `create`, `handle`, `destroy`. 1.1: [`AppTable::manage`].
/// 1.2: [`Request::tls_client_subject`] and [`Responder::send_file`].
pub const ABI_MINOR: u32 = 2;

/// The name of the symbol every app library exports (C name, without the NUL terminator).
pub const ENTRY_SYMBOL: &str = "portico_app_entry";

/// [`ENTRY_SYMBOL`] with its NUL terminator, as `dlsym` / `libloading` want it.
pub const ENTRY_SYMBOL_NUL: &[u8] = b"portico_app_entry\0";

/// Success.
pub const GW_OK: i32 = 0;
/// `start_response` was called a second time for the same request.
pub const GW_ERR_ALREADY_STARTED: i32 = -1;
/// `write` was called before `start_response`.
pub const GW_ERR_NOT_STARTED: i32 = -2;
/// The client has gone (reset or closed its side); nothing more will reach it.
pub const GW_ERR_CLIENT_GONE: i32 = -3;
/// The request's deadline passed, or the server is shutting down and gave up on it.
pub const GW_ERR_CANCELLED: i32 = -4;
/// An argument was invalid: a status outside 100..=999, a header name or value with bytes not
/// allowed by RFC 9110 (CR, LF, NUL; a name that is not a token), a null pointer with a length.
pub const GW_ERR_INVALID: i32 = -5;
/// The request body could not be read: the client sent a malformed chunked body or closed the
/// connection before the body was complete.
pub const GW_ERR_BODY: i32 = -6;
/// More body bytes were written than the `Content-Length` the app declared.
pub const GW_ERR_OVERFLOW: i32 = -7;
/// The app failed: returned by `handle` when it could not produce a response. If no byte of the
/// response was sent yet, the server answers 502 Bad Gateway.
pub const GW_ERR_APP: i32 = -8;

/// `is_cancelled` bit: the client has gone.
pub const GW_CANCEL_CLIENT_GONE: u32 = 1;
/// `is_cancelled` bit: the request's deadline has passed.
pub const GW_CANCEL_DEADLINE: u32 = 2;
/// `is_cancelled` bit: the server is shutting down and its graceful timeout has run out.
pub const GW_CANCEL_SHUTDOWN: u32 = 4;

/// Log level `error`, the same numbering as the `log` crate's `Level` (1 = error … 5 = trace).
pub const GW_LOG_ERROR: u32 = 1;
/// Log level `warn`.
pub const GW_LOG_WARN: u32 = 2;
/// Log level `info`.
pub const GW_LOG_INFO: u32 = 3;
/// Log level `debug`.
pub const GW_LOG_DEBUG: u32 = 4;
/// Log level `trace`.
pub const GW_LOG_TRACE: u32 = 5;

/// A borrowed byte string: a pointer and a length, not NUL-terminated, not necessarily UTF-8.
///
/// Ownership: whoever builds a `GwStr` keeps the bytes alive for as long as the item that holds
/// it says (for a [`Request`], the duration of `handle`). The receiver copies what it keeps.
/// `ptr` may be null only when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GwStr {
    /// First byte; may be null (or dangling) when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl GwStr {
    /// The empty string.
    pub const EMPTY: GwStr = GwStr {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// Borrows `bytes` for as long as the caller keeps them alive.
    pub const fn from_bytes(bytes: &[u8]) -> GwStr {
        GwStr {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// Borrows `text` for as long as the caller keeps it alive.
    pub const fn from_str(text: &str) -> GwStr {
        GwStr::from_bytes(text.as_bytes())
    }

    /// The bytes.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes (or `len` must be 0), valid for `'a`.
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.len == 0 || self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: the caller guarantees `ptr` points at `len` bytes valid for 'a.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

// SAFETY: a GwStr is a plain borrowed view; whoever shares it is responsible for the lifetime of
// the bytes, as documented on each item that carries one.
unsafe impl Send for GwStr {}
// SAFETY: as above; the bytes behind it are never written through a GwStr.
unsafe impl Sync for GwStr {}

/// One header field: a name and a value, both borrowed.
///
/// In a [`Request`] names are as the client sent them (case preserved; compare
/// case-insensitively) and values have their surrounding whitespace removed. Repeated fields stay
/// separate entries, in the order received. In `start_response`, the app's headers are copied by
/// the server before the call returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct GwHeader {
    /// Field name.
    pub name: GwStr,
    /// Field value.
    pub value: GwStr,
}

/// A buffer owned by the server into which the app writes an error message (UTF-8, truncated to
/// `cap` bytes), setting `len` to the number of bytes written.
#[repr(C)]
#[derive(Debug)]
pub struct ErrorBuf {
    /// Start of the writable buffer.
    pub ptr: *mut u8,
    /// Its capacity in bytes.
    pub cap: usize,
    /// Bytes written by the app; the server sets it to 0 before the call.
    pub len: usize,
}

impl ErrorBuf {
    /// Copies as much of `message` as fits (cutting at a UTF-8 boundary) into the buffer.
    ///
    /// # Safety
    /// `ptr` must point at `cap` writable bytes (or `cap` must be 0).
    pub unsafe fn set(&mut self, message: &str) {
        let mut n = message.len().min(self.cap);
        while n > 0 && !message.is_char_boundary(n) {
            n -= 1;
        }
        if n > 0 && !self.ptr.is_null() {
            // SAFETY: the caller guarantees `cap` writable bytes; n <= cap.
            unsafe { std::ptr::copy_nonoverlapping(message.as_ptr(), self.ptr, n) };
        }
        self.len = n;
    }
}

/// The logging callback of a [`HostTable`]: `(ctx, level, target, message)`.
pub type LogFn = unsafe extern "C" fn(ctx: *mut c_void, level: u32, target: GwStr, message: GwStr);

/// What the server gives the app at `create`. Valid for the life of the process (the server
/// never frees it); its callbacks may be called from any thread at any time.
#[repr(C)]
#[derive(Debug)]
pub struct HostTable {
    /// `size_of::<HostTable>()` as the server knows it.
    pub struct_size: usize,
    /// The server's [`ABI_MAJOR`].
    pub abi_major: u32,
    /// The server's [`ABI_MINOR`].
    pub abi_minor: u32,
    /// The server's name and version, e.g. `portico/0.1.0`. Static.
    pub server_name: GwStr,
    /// Opaque context for the callbacks below.
    pub ctx: *mut c_void,
    /// The most verbose level the server will print (one of the `GW_LOG_*` values; 0 = off).
    /// The app should not call `log` for more verbose records.
    pub max_log_level: u32,
    /// Emits one log record through the server's logger. `level` is a `GW_LOG_*` value; `target`
    /// is the module path (may be empty); both strings are copied before the call returns.
    pub log: LogFn,
}

// SAFETY: the host table is immutable after creation and its callbacks are thread-safe by
// contract.
unsafe impl Send for HostTable {}
// SAFETY: as above.
unsafe impl Sync for HostTable {}

/// The request body reader: `(ctx, buf, cap) -> n`. Reads up to `cap` bytes of the decoded body
/// (chunked framing removed) into `buf`. Returns the number of bytes read (> 0), 0 at the end of
/// the body, or a negative `GW_ERR_*` code (`GW_ERR_BODY`, `GW_ERR_CLIENT_GONE`,
/// `GW_ERR_CANCELLED`). Reads from the socket as asked (a large body is never buffered whole);
/// the first call answers a client's `Expect: 100-continue`. May block until bytes arrive. Call
/// only during `handle`, from the thread running it.
pub type ReadBodyFn = unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, cap: usize) -> isize;

/// A request, as the server hands it to `handle`: a borrowed view, valid only until `handle`
/// returns. The app copies whatever it keeps.
#[repr(C)]
#[derive(Debug)]
pub struct Request {
    /// `size_of::<Request>()` as the server knows it; fields past it are absent.
    pub struct_size: usize,
    /// Unique per request within the process (for logs).
    pub request_id: u64,
    /// The method token, e.g. `GET` (case-sensitive, as RFC 9110 says).
    pub method: GwStr,
    /// The request-target exactly as received, e.g. `/a%20b/?x=1`.
    pub target: GwStr,
    /// The target's path: up to the first `?`, still percent-encoded. For an absolute-form
    /// target (`http://host/a?b`) the path after the authority, `/` when there is none.
    pub path: GwStr,
    /// The target's query: after the first `?`, without it; empty when there is none.
    pub query: GwStr,
    /// HTTP major version (1).
    pub version_major: u16,
    /// HTTP minor version (0 or 1).
    pub version_minor: u16,
    /// The header fields, in the order received.
    pub headers: *const GwHeader,
    /// Number of entries in `headers`.
    pub header_count: usize,
    /// The body's length when the client declared it with `Content-Length`; -1 when the body is
    /// chunked (length unknown until read); 0 when there is no body.
    pub content_length: i64,
    /// The client's IP address as text (`127.0.0.1`, `::1`), as a trusted proxy's
    /// `X-Forwarded-For` gives it when there is one; empty for a unix-socket peer without one.
    pub remote_addr: GwStr,
    /// The client's port; 0 for a unix-socket peer or a forwarded client.
    pub remote_port: u16,
    /// The local address the connection came in on (IP as text, or the unix socket's path).
    pub server_addr: GwStr,
    /// The local port; 0 for a unix socket.
    pub server_port: u16,
    /// `https` on a TLS connection (`--certfile`), else `http`; a trusted proxy's
    /// `X-Forwarded-Proto` wins over both.
    pub url_scheme: GwStr,
    /// When the server gives up on this request, in milliseconds since the Unix epoch; 0 = never.
    /// After it, `is_cancelled` reports `GW_CANCEL_DEADLINE`.
    pub deadline_unix_ms: u64,
    /// Context for `read_body`.
    pub body_ctx: *mut c_void,
    /// Reads the body; see [`ReadBodyFn`].
    pub read_body: ReadBodyFn,
    /// (1.2) The subject of the client certificate the TLS client presented
    /// (`--cert-reqs 1` or `2`), RFC 4514 text as nginx's `$ssl_client_s_dn`
    /// (`CN=alice,O=Example`); empty when there is none. Read it through
    /// [`Request::client_subject`], which checks `struct_size` (a 1.1 server has no field).
    pub tls_client_subject: GwStr,
}

/// The size a [`Request`] has with the fields of each minor version, indexed by minor (as
/// [`APP_TABLE_SIZES`]): 1.0 and 1.1 end at `read_body`, 1.2 appended `tls_client_subject`.
pub const REQUEST_SIZES: [usize; ABI_MINOR as usize + 1] = [
    std::mem::offset_of!(Request, read_body) + std::mem::size_of::<ReadBodyFn>(),
    std::mem::offset_of!(Request, read_body) + std::mem::size_of::<ReadBodyFn>(),
    std::mem::offset_of!(Request, tls_client_subject) + std::mem::size_of::<GwStr>(),
];

impl Request {
    /// The header fields as a slice.
    ///
    /// # Safety
    /// Call only during `handle`, on a request built by the server.
    pub unsafe fn header_slice(&self) -> &[GwHeader] {
        if self.header_count == 0 || self.headers.is_null() {
            &[]
        } else {
            // SAFETY: the server guarantees `header_count` valid entries during `handle`.
            unsafe { std::slice::from_raw_parts(self.headers, self.header_count) }
        }
    }

    /// The TLS client certificate's subject (1.2): `None` when the server's request has no such
    /// field (`struct_size` ends before it) or the field is empty (no certificate).
    pub fn client_subject(&self) -> Option<&GwStr> {
        if self.struct_size < REQUEST_SIZES[2] {
            return None;
        }
        // SAFETY: `struct_size` says the server's request holds the field.
        let field = unsafe { &*std::ptr::addr_of!(self.tls_client_subject) };
        (field.len != 0).then_some(field)
    }
}

/// Starts the response: `(ctx, status, headers, header_count) -> GW_OK | GW_ERR_*`.
///
/// Called exactly once per request, before any `write`. `status` is 100..=999 (1xx other than
/// 101 is not allowed here: the server sends `100 Continue` itself). Headers are copied before the
/// call returns. The server owns framing and the connection: it drops hop-by-hop headers
/// (`Connection`, `Keep-Alive`, `Transfer-Encoding`, `TE`, `Trailer`, `Upgrade`,
/// `Proxy-Connection`) and adds `Date` and `Server` unless the app gave them. A `Content-Length`
/// header from the app fixes the body length: the app must then write exactly that many bytes
/// (more is `GW_ERR_OVERFLOW`; fewer makes the server close the connection after the response).
/// Without it the server frames the body with chunked encoding for HTTP/1.1 clients and by
/// closing the connection for HTTP/1.0 ones, unless the whole body has been written when `handle`
/// returns, in which case it may send a `Content-Length` itself.
pub type StartResponseFn = unsafe extern "C" fn(
    ctx: *mut c_void,
    status: u16,
    headers: *const GwHeader,
    count: usize,
) -> i32;

/// Writes body bytes: `(ctx, data, len) -> GW_OK | GW_ERR_*`. The bytes are copied (or sent)
/// before the call returns. Small writes are coalesced: they reach the socket when `handle`
/// returns, when 64 KiB are pending, or at a flush. May block while more than 256 KiB are unsent
/// (the client is slower than the app: back-pressure). Fails with `GW_ERR_CLIENT_GONE` or
/// `GW_ERR_CANCELLED` once nothing more can be delivered; the app should then stop and return.
/// For a HEAD request, or a 204 / 304 status, the server discards body bytes. A `len` of 0
/// flushes: bytes written so far go to the client now (a streaming app flushes each piece it
/// wants seen at once).
pub type WriteFn = unsafe extern "C" fn(ctx: *mut c_void, data: *const u8, len: usize) -> i32;

/// Tells whether the server has given up on the request: `(ctx) -> bits`, 0 when it has not,
/// otherwise a combination of `GW_CANCEL_*` bits. Cheap; an app doing long work calls it between
/// steps.
pub type IsCancelledFn = unsafe extern "C" fn(ctx: *mut c_void) -> u32;

/// Sends `len` bytes of an open file as body bytes (ABI 1.2, PEP 3333's `wsgi.file_wrapper`):
/// `(ctx, fd, offset, len) -> GW_OK | GW_ERR_*`.
///
/// `fd` is a regular file open for reading; the app keeps owning it: the server neither closes
/// nor keeps it, and is done with it when the call returns (it reads at `offset` without moving
/// the descriptor's own file position, as `pread` does). The bytes `[offset, offset + len)` are
/// body bytes exactly as if the app had `write`n them: they count toward a declared
/// `Content-Length` (`GW_ERR_OVERFLOW` past it, checked before anything is sent), are framed as
/// one chunk when the response is chunked, are discarded for HEAD / 204 / 304, and follow any
/// bytes coalesced from earlier `write`s. The server sends them with `sendfile(2)` where the
/// connection allows (plain TCP or a unix socket), else by reading and writing them through a
/// small buffer; either way under the write bound (it blocks while the client is not reading and
/// gives up after `--timeout`), so no more of the file than that is ever held in memory. Blocks
/// until the whole range is handed to the socket. Fails with `GW_ERR_INVALID` for a negative
/// `fd` or `offset`, a descriptor that is not a readable regular file, or a range past the
/// file's end (nothing is sent then), and with `GW_ERR_CLIENT_GONE` / `GW_ERR_CANCELLED` as
/// `write` does. A file that shrinks while it is being sent ends the response short: the call
/// fails with `GW_ERR_INVALID` and the server closes the connection after the response.
pub type SendFileFn = unsafe extern "C" fn(ctx: *mut c_void, fd: i32, offset: i64, len: u64) -> i32;

/// The response side of a request, like WSGI's `start_response` and `write`. Valid only until
/// `handle` returns; its callbacks may be called only from the thread running `handle`.
#[repr(C)]
#[derive(Debug)]
pub struct Responder {
    /// `size_of::<Responder>()` as the server knows it.
    pub struct_size: usize,
    /// Context for the callbacks.
    pub ctx: *mut c_void,
    /// See [`StartResponseFn`].
    pub start_response: StartResponseFn,
    /// See [`WriteFn`].
    pub write: WriteFn,
    /// See [`IsCancelledFn`].
    pub is_cancelled: IsCancelledFn,
    /// ABI 1.2: see [`SendFileFn`]; `None` (NULL) when the server does not offer it. Absent from
    /// an older server's responder: read it with [`Responder::send_file_entry`], which looks at
    /// `struct_size` first.
    pub send_file: Option<SendFileFn>,
}

impl Responder {
    /// The `send_file` callback when the responder has one: its `struct_size` covers the field
    /// (SPEC.md's size rule: a 1.0 / 1.1 server's responder ends before it) and it is not NULL.
    pub fn send_file_entry(&self) -> Option<SendFileFn> {
        if self.struct_size < RESPONDER_SIZES[2] {
            return None;
        }
        // SAFETY: `struct_size` says the writer's responder holds the field; read it through a
        // raw pointer so nothing past the size is read for a shorter one.
        unsafe { std::ptr::addr_of!(self.send_file).read() }
    }
}

/// The size a [`Responder`] must have to hold the fields of each minor version, indexed by
/// minor, as [`APP_TABLE_SIZES`] is for the app table: 1.0 and 1.1 end after `is_cancelled`,
/// 1.2 after `send_file`.
pub const RESPONDER_SIZES: [usize; ABI_MINOR as usize + 1] = [
    std::mem::offset_of!(Responder, is_cancelled) + std::mem::size_of::<IsCancelledFn>(),
    std::mem::offset_of!(Responder, is_cancelled) + std::mem::size_of::<IsCancelledFn>(),
    std::mem::offset_of!(Responder, send_file) + std::mem::size_of::<Option<SendFileFn>>(),
];

/// Creates the app: `(host, settings_path, out_app, error) -> GW_OK | GW_ERR_*`.
///
/// Called once, before any `handle`, on the server's main thread. `settings_path` is the value of
/// the server's `--settings` flag (empty when it was not given). On success the app stores its
/// opaque pointer in `*out_app` and returns `GW_OK`; on failure it writes a one-paragraph message
/// into `error` (naming the file, line and problem for a settings error) and returns a negative
/// code. `host` stays valid for the life of the process.
pub type CreateFn = unsafe extern "C" fn(
    host: *const HostTable,
    settings_path: GwStr,
    out_app: *mut *mut c_void,
    error: *mut ErrorBuf,
) -> i32;

/// Handles one request: `(app, request, responder) -> GW_OK | GW_ERR_*`.
///
/// Called concurrently from many server threads on the same `app`: the app must be thread-safe
/// (`Sync`). It must call `start_response` exactly once (unless it fails), then `write` the body,
/// then return. Returning a negative code, or returning without `start_response`, is the app's
/// failure: if no byte was sent the server answers 502 Bad Gateway; otherwise it closes the
/// connection. Must not unwind.
pub type HandleFn = unsafe extern "C" fn(
    app: *mut c_void,
    request: *const Request,
    responder: *const Responder,
) -> i32;

/// Destroys the app: `(app)`. Called at most once, after the last `handle` has returned. The
/// library itself is never unloaded.
pub type DestroyFn = unsafe extern "C" fn(app: *mut c_void);

/// Runs one management command: `(host, settings_path, argc, argv, error) -> exit status`
/// (ABI 1.1, SPEC.md "Management commands").
///
/// Called once, in the `portico manage` process, on its main thread, instead of `create` /
/// `handle` / `destroy`: no request is served in that process. `settings_path` is the `--settings`
/// value (empty when not given), as for `create`. `argv` holds `argc` strings, valid for the
/// call: `argv[0]` is the program name to show in usage messages (`portico manage
/// path/libapp.so`, Django's `prog_name`), `argv[1]` the command (absent: the app shows its
/// help) and the rest its arguments, as the operator typed them. The command reads and writes
/// the process's stdin, stdout and stderr itself (flushing what it buffered before it returns).
///
/// Returns the command's exit status, 0..=255, which the process exits with (a command's own
/// failure, such as Django's `CommandError`, is a message on stderr and a non-zero status).
/// A negative `GW_ERR_*` code means the app could not start (bad settings: the message in
/// `error` names the file, line and problem, as `create`'s does); the server prints it and
/// exits non-zero. Must not unwind.
pub type ManageFn = unsafe extern "C" fn(
    host: *const HostTable,
    settings_path: GwStr,
    argc: usize,
    argv: *const GwStr,
    error: *mut ErrorBuf,
) -> i32;

/// The table an app library's entry symbol returns. Static: it lives as long as the library.
#[repr(C)]
#[derive(Debug)]
pub struct AppTable {
    /// `size_of::<AppTable>()` as the app knows it.
    pub struct_size: usize,
    /// The app's [`ABI_MAJOR`]; the server refuses another value.
    pub abi_major: u32,
    /// The app's [`ABI_MINOR`].
    pub abi_minor: u32,
    /// The app's name, for logs (e.g. `articles`). Static.
    pub name: GwStr,
    /// See [`CreateFn`].
    pub create: CreateFn,
    /// See [`HandleFn`].
    pub handle: HandleFn,
    /// See [`DestroyFn`].
    pub destroy: DestroyFn,
    /// ABI 1.1: the management entry (see [`ManageFn`]), or `None` (NULL) for an app without
    /// management commands. Absent from a 1.0 table: read it with [`AppTable::manage_entry`],
    /// which looks at `struct_size` first.
    pub manage: Option<ManageFn>,
}

impl AppTable {
    /// The `manage` entry when the table has one: it declares minor 1 or later, its
    /// `struct_size` covers the field (SPEC.md's size rule: a 1.0 table ends before it), and the
    /// pointer is not NULL.
    pub fn manage_entry(&self) -> Option<ManageFn> {
        if self.abi_minor < 1 || self.struct_size < APP_TABLE_SIZES[1] {
            return None;
        }
        // SAFETY: `struct_size` says the writer's table holds the field; read it through a raw
        // pointer so that nothing past the size is read for a shorter table.
        unsafe { std::ptr::addr_of!(self.manage).read() }
    }
}

// SAFETY: the table is immutable static data plus function pointers.
unsafe impl Sync for AppTable {}
// SAFETY: as above.
unsafe impl Send for AppTable {}

/// The size an [`AppTable`] must have to hold the fields of each minor version, indexed by minor:
/// `APP_TABLE_SIZES[m]` is the end of the last field minor `m` appended. A reader accepts a table
/// whose `struct_size` is at least the entry for the minor it declares (or, for a minor newer
/// than its own, at least the entry for its own newest minor); a larger table is a newer writer
/// that appended fields this reader does not know, and that is fine (SPEC.md, "Loading and
/// versioning"). One entry is appended with every minor.
pub const APP_TABLE_SIZES: [usize; ABI_MINOR as usize + 1] = [
    std::mem::offset_of!(AppTable, destroy) + std::mem::size_of::<DestroyFn>(),
    std::mem::offset_of!(AppTable, manage) + std::mem::size_of::<Option<ManageFn>>(),
    // 1.2 appended nothing to the app table.
    std::mem::offset_of!(AppTable, manage) + std::mem::size_of::<Option<ManageFn>>(),
];

/// The smallest `struct_size` a reader accepts for a table declaring `table_minor`, where
/// `sizes[m]` is the size of the table's fields up to minor `m` and the reader knows minors up to
/// `sizes.len() - 1` (for an [`AppTable`], pass [`APP_TABLE_SIZES`]): the fields of the older of
/// the table's minor and the reader's newest. `sizes` must not be empty.
pub const fn table_min_size(sizes: &[usize], table_minor: u32) -> usize {
    let newest = sizes.len() - 1;
    let index = if (table_minor as usize) < newest {
        table_minor as usize
    } else {
        newest
    };
    sizes[index]
}

/// The type of the entry symbol: returns the app's static table (never null).
pub type EntryFn = unsafe extern "C" fn() -> *const AppTable;

/// Builds an [`AppTable`] with the current version and size and no `manage` entry; for Rust
/// apps on the bare ABI (set `manage` with struct update syntax to add one).
pub const fn app_table(
    name: &'static str,
    create: CreateFn,
    handle: HandleFn,
    destroy: DestroyFn,
) -> AppTable {
    AppTable {
        struct_size: std::mem::size_of::<AppTable>(),
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        name: GwStr::from_str(name),
        create,
        handle,
        destroy,
        manage: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gwstr_round_trips_and_empty_is_safe() {
        let text = "héllo";
        let s = GwStr::from_str(text);
        assert_eq!(unsafe { s.as_bytes() }, text.as_bytes());
        assert_eq!(unsafe { GwStr::EMPTY.as_bytes() }, b"");
    }

    #[test]
    fn error_buf_truncates_on_a_char_boundary() {
        let mut storage = [0u8; 4];
        let mut buf = ErrorBuf {
            ptr: storage.as_mut_ptr(),
            cap: storage.len(),
            len: 0,
        };
        unsafe { buf.set("abcé") }; // 'é' is two bytes: only "abc" fits whole
        assert_eq!(buf.len, 3);
        assert_eq!(&storage[..3], b"abc");
    }

    #[test]
    fn entry_symbol_constants_agree() {
        assert_eq!(
            &ENTRY_SYMBOL_NUL[..ENTRY_SYMBOL.len()],
            ENTRY_SYMBOL.as_bytes()
        );
        assert_eq!(ENTRY_SYMBOL_NUL.last(), Some(&0));
    }

    /// The C header states these sizes for 64-bit targets; a change here is an ABI break.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn layouts_match_the_c_header() {
        use std::mem::size_of;
        assert_eq!(size_of::<GwStr>(), 16);
        assert_eq!(size_of::<GwHeader>(), 32);
        assert_eq!(size_of::<HostTable>(), 56);
        assert_eq!(size_of::<Request>(), 216);
        assert_eq!(REQUEST_SIZES, [200, 200, 216]);
        assert_eq!(size_of::<Responder>(), 48);
        assert_eq!(size_of::<AppTable>(), 64);
        assert_eq!(
            APP_TABLE_SIZES,
            [56, 64, 64],
            "1.2 appended nothing to the app table"
        );
        assert_eq!(RESPONDER_SIZES, [40, 40, 48]);
        assert_eq!(size_of::<Option<SendFileFn>>(), 8, "NULL is None");
        assert_eq!(size_of::<Option<ManageFn>>(), 8, "NULL is None");
    }

    unsafe extern "C" fn create(
        _: *const HostTable,
        _: GwStr,
        _: *mut *mut c_void,
        _: *mut ErrorBuf,
    ) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn handle(_: *mut c_void, _: *const Request, _: *const Responder) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn destroy(_: *mut c_void) {}
    unsafe extern "C" fn manage(
        _: *const HostTable,
        _: GwStr,
        _: usize,
        _: *const GwStr,
        _: *mut ErrorBuf,
    ) -> i32 {
        7
    }

    unsafe extern "C" fn no_body(_: *mut c_void, _: *mut u8, _: usize) -> isize {
        0
    }

    fn request_with(struct_size: usize, subject: &'static str) -> Request {
        Request {
            struct_size,
            request_id: 1,
            method: GwStr::from_str("GET"),
            target: GwStr::from_str("/"),
            path: GwStr::from_str("/"),
            query: GwStr::EMPTY,
            version_major: 1,
            version_minor: 1,
            headers: std::ptr::null(),
            header_count: 0,
            content_length: 0,
            remote_addr: GwStr::EMPTY,
            remote_port: 0,
            server_addr: GwStr::EMPTY,
            server_port: 0,
            url_scheme: GwStr::from_str("https"),
            deadline_unix_ms: 0,
            body_ctx: std::ptr::null_mut(),
            read_body: no_body,
            tls_client_subject: GwStr::from_str(subject),
        }
    }

    #[test]
    fn the_client_subject_is_read_only_where_the_request_has_it() {
        let full = request_with(REQUEST_SIZES[2], "CN=alice");
        let got = full.client_subject().map(|s| unsafe { s.as_bytes() });
        assert_eq!(got, Some(&b"CN=alice"[..]));
        assert!(
            request_with(REQUEST_SIZES[2], "")
                .client_subject()
                .is_none(),
            "empty: none"
        );
        // A 1.1 server's request ends at read_body: whatever lies past it is not read.
        assert!(request_with(REQUEST_SIZES[1], "CN=alice")
            .client_subject()
            .is_none());
    }

    #[test]
    fn the_manage_entry_is_read_only_where_the_table_has_it() {
        let full = AppTable {
            manage: Some(manage),
            ..app_table("t", create, handle, destroy)
        };
        let entry = full.manage_entry().expect("a 1.1 table with the entry");
        let status = unsafe {
            entry(
                std::ptr::null(),
                GwStr::EMPTY,
                0,
                std::ptr::null(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(status, 7);
        assert!(
            app_table("t", create, handle, destroy)
                .manage_entry()
                .is_none(),
            "NULL"
        );
        // A 1.0 writer's table ends before the field, whatever the bytes after it are.
        let old = AppTable {
            struct_size: APP_TABLE_SIZES[0],
            abi_minor: 0,
            ..full
        };
        assert!(old.manage_entry().is_none());
        let short = AppTable {
            struct_size: APP_TABLE_SIZES[0],
            ..full
        };
        assert!(short.manage_entry().is_none(), "minor 1 but too short");
    }

    unsafe extern "C" fn start(_: *mut c_void, _: u16, _: *const GwHeader, _: usize) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn write(_: *mut c_void, _: *const u8, _: usize) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn cancelled(_: *mut c_void) -> u32 {
        0
    }
    unsafe extern "C" fn send_file(_: *mut c_void, _: i32, _: i64, len: u64) -> i32 {
        len as i32
    }

    #[test]
    fn send_file_is_read_only_where_the_responder_has_it() {
        let full = Responder {
            struct_size: std::mem::size_of::<Responder>(),
            ctx: std::ptr::null_mut(),
            start_response: start,
            write,
            is_cancelled: cancelled,
            send_file: Some(send_file),
        };
        let entry = full
            .send_file_entry()
            .expect("a 1.2 responder with the entry");
        assert_eq!(unsafe { entry(std::ptr::null_mut(), 3, 0, 9) }, 9);
        // A 1.1 server's responder ends before the field, whatever the bytes after it are.
        let old = Responder {
            struct_size: RESPONDER_SIZES[1],
            ..full
        };
        assert!(old.send_file_entry().is_none());
        let none = Responder {
            send_file: None,
            ..full
        };
        assert!(none.send_file_entry().is_none(), "NULL");
    }

    #[test]
    fn the_minimum_table_size_follows_the_older_minor() {
        // A reader that knows two minors, the second appending 8 bytes.
        let sizes = [56, 64];
        assert_eq!(
            table_min_size(&sizes, 0),
            56,
            "an older app is not asked for newer fields"
        );
        assert_eq!(table_min_size(&sizes, 1), 64);
        assert_eq!(
            table_min_size(&sizes, 7),
            64,
            "a newer app needs what the reader knows"
        );
        assert_eq!(
            table_min_size(&APP_TABLE_SIZES, ABI_MINOR + 3),
            APP_TABLE_SIZES[ABI_MINOR as usize]
        );
    }
}
