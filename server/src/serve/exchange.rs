//! Owns one request's trip through the app: the `gw_request` view of the parsed head, the thin
//! ABI trampolines (`start_response`, `write`, `is_cancelled`, `read_body`), the body streamed
//! from the socket through the decoder as the app asks for it, the response streamed to the
//! socket under the write bound, and how the exchange ends (502 for a broken app, the server's
//! own 400 / 408 / 413 for a body it refused, the access-log line, what the connection reads
//! next).
//!
//! It runs on the thread that read the request, with the connection taken out of its event loop
//! for the duration (see the crate docs): a read or write that has to wait blocks this thread
//! only, in `poll(2)` on this one socket, and the loop carries on elsewhere.

use std::cell::RefCell;
use std::ffi::c_void;
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway_api::{
    GwHeader, GwStr, Request, Responder, GW_CANCEL_CLIENT_GONE, GW_CANCEL_DEADLINE,
    GW_CANCEL_SHUTDOWN, GW_ERR_ALREADY_STARTED, GW_ERR_APP, GW_ERR_BODY, GW_ERR_CANCELLED,
    GW_ERR_CLIENT_GONE, GW_ERR_INVALID, GW_ERR_NOT_STARTED, GW_ERR_OVERFLOW, GW_OK,
};

use crate::clock::now_unix_ms;
use crate::edge::access_log::AccessLog;
use crate::edge::metrics::WorkerMetrics;
use crate::edge::proxy::{Forwarded, ForwardedAllow};
use crate::edge::ratelimit::RateLimited;
use crate::http1::body::{BodyError, Decoder};
use crate::http1::encode::{
    self, app_head, bodyless, simple_response, AppHead, ChunkSize, Framing, CONTINUE, LAST_CHUNK,
};
use crate::http1::parse::{BodyKind, Head};
use crate::loader::App;
use crate::serve::call_clock;
use crate::serve::connection::{
    ConnConfig, Connection, Inbound, Leftover, LogLine, Writing, WRITE_BOUND,
};
use crate::serve::io::{self, Readiness};

/// Unsent bytes at which a `write` pushes what it has to the socket without waiting for the
/// app to return: small writes are coalesced up to here, and a large response starts moving
/// while the app is still producing it.
pub const FLUSH_AT: usize = 64 * 1024;

/// The least room kept after a head for its body to stream through: a head that leaves less in
/// its buffer is moved to the front before the app runs.
const MIN_BODY_WINDOW: usize = 8 * 1024;

/// A `read_body` buffer at least this large gets a `Content-Length` body straight from the
/// socket, with no copy through the read window.
const DIRECT_READ_MIN: usize = 4 * 1024;

/// The longest single wait in `poll(2)`: between waits the call checks whether the server has
/// given up on it (graceful timeout), so a shutdown is not held up by a silent client.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// How often `is_cancelled` may look at the socket for a reset (it is called in loops).
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// Request ids, unique within the process.
static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The header array handed to the app, reused by every call on this thread.
    static HEADERS: RefCell<Vec<GwHeader>> = const { RefCell::new(Vec::new()) };
    /// The response head the app has begun and not finished, reused likewise.
    static HEAD: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The joined values of repeated request fields, reused likewise (empty for most calls).
    static JOINED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// How a call tells the runtime that it waits on its client (body bytes to arrive, or room
/// for its response), so that the wait does not hold one of `--threads`: between `begin` and
/// `end` another request may run app code in its place. A call back from such a wait goes on at
/// once, so for a moment more than `--threads` may run; at most one per waiting call.
pub trait ClientWaits {
    /// The call starts waiting on its client.
    fn begin_client_wait(&self);
    /// The call's wait is over: it runs app code again.
    fn end_client_wait(&self);
}

/// One wait on the client, ended when dropped.
struct ClientWait<'a>(&'a dyn ClientWaits);

impl<'a> ClientWait<'a> {
    fn begin(waits: &'a dyn ClientWaits) -> ClientWait<'a> {
        waits.begin_client_wait();
        ClientWait(waits)
    }
}

impl Drop for ClientWait<'_> {
    fn drop(&mut self) {
        self.0.end_client_wait();
    }
}

/// Connections closed because their client sent its body too slowly (rate-limited warning).
static SLOW_BODY: RateLimited = RateLimited::new();

/// Connections closed because their client took its response too slowly.
static SLOW_READER: RateLimited = RateLimited::new();

/// Everything a call needs from the server, shared by all calls.
pub struct CallEnv<'a> {
    /// The app.
    pub app: &'a App,
    /// Limits and timeouts.
    pub config: &'a ConnConfig,
    /// The server is shutting down: responses close their connection.
    pub draining: &'a AtomicBool,
    /// The graceful timeout ran out: every call is told to stop.
    pub cancel_all: &'a AtomicBool,
    /// The access log, when enabled.
    pub access_log: Option<&'a AccessLog>,
    /// The peers whose `X-Forwarded-*` headers are believed.
    pub forwarded: &'a ForwardedAllow,
    /// Where waits on the client are reported.
    pub waits: &'a dyn ClientWaits,
    /// This worker's metrics page, with `--metrics-bind`.
    pub metrics: Option<&'a WorkerMetrics>,
}

/// A request handed from its event loop to the thread that runs it, with its connection.
pub struct Call {
    /// The connection's key in its loop.
    pub key: usize,
    /// The connection, out of the loop for the call.
    pub conn: Box<Connection>,
    /// The parsed head; its ranges index the connection's unconsumed bytes.
    pub head: Head,
    /// The loop's clock when the call was handed out (the metrics' start: no clock read of
    /// its own).
    pub since: Instant,
}

/// Why the server refused a body the app was reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFailure {
    /// Bad chunked framing, or over the body limit.
    Refused(BodyError),
    /// The client stopped sending within `--timeout`.
    Timeout,
    /// The client fell behind `--body-min-rate` past `--body-timeout`.
    TooSlow,
    /// The client closed before the body was whole.
    Cut,
}

/// One step of reading the body.
enum ReadStep {
    /// Body bytes for the app (0: the end).
    Got(usize),
    /// Progress without bytes for the app yet: go on.
    Again,
    /// Nothing buffered and the socket has nothing: wait for it.
    Wait,
    /// The body failed; the code for the app.
    Failed(i32),
    /// The socket failed.
    Lost(std::io::Error),
}

/// The response head's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadState {
    /// `start_response` not called yet.
    NotStarted,
    /// Status and headers accepted and kept aside: the framing is not decided yet.
    Open,
    /// Written out with its framing; `start` is where the response begins in the
    /// connection's output (counted over the connection's life).
    Closed { start: u64, framing: Framing },
}

/// One request's state behind the callbacks.
struct Exchange<'a> {
    conn: &'a mut Connection,
    env: &'a CallEnv<'a>,
    request_id: u64,
    minor: u8,
    is_head: bool,
    /// The client allows the connection to persist after this response.
    keep_alive: bool,
    deadline_unix_ms: u64,
    /// Where the head begins in the read buffer (its ranges are relative to it).
    head_at: usize,
    /// Where the head ends: the body streams through the buffer from here.
    head_end: usize,
    /// The body's decoder; `None` when the request has no body.
    body: Option<Decoder>,
    /// The next undecoded byte in the read buffer.
    body_pos: usize,
    /// The client waits for `100 Continue` before sending its body, and it was not sent yet.
    awaiting_continue: bool,
    body_failure: Option<BodyFailure>,
    /// When the app first asked for body bytes (the minimum rate counts from there).
    body_since: Option<Instant>,
    /// Body bytes read from the socket so far (after those that came with the head).
    body_bytes: u64,
    /// Decoded body bytes handed to the app.
    body_read: u64,
    /// Where this exchange's output begins in the connection's (for the bytes-sent metric).
    out_start: u64,
    /// When the response first had to wait for the client, and the bytes sent by then.
    send_since: Option<(Instant, u64)>,
    status: u16,
    double_start: bool,
    app_head: AppHead,
    head: HeadState,
    /// The open head's bytes (status line and the app's fields).
    head_bytes: Vec<u8>,
    /// Whether the connection may persist, as the closed head announced.
    announced_keep_alive: bool,
    /// Body bytes the app wrote (for HEAD, what it would have sent).
    written: u64,
    /// Body bytes put on the wire, for the access log.
    wire_body: u64,
    /// The client is gone: nothing more can be delivered.
    gone: bool,
    /// A file sent with `send_file` ended before its range: the framing cannot be completed,
    /// so the connection closes after the response.
    cut_short: bool,
    /// When `is_cancelled` last looked at the socket (`None`: never).
    last_probe: Option<Instant>,
    /// What a trusted proxy said about the client, the scheme and the Host.
    forwarded: Option<&'a Forwarded>,
    /// When the call began (only when there is an access log to say how long it took).
    started: Option<Instant>,
    /// When the loop handed the call out.
    since: Instant,
}

impl Call {
    /// Runs the request through the app and ends its exchange; afterwards the connection is in
    /// the state its loop continues from.
    pub fn run(&mut self, env: &CallEnv<'_>) {
        let mut headers = HEADERS.with(|h| std::mem::take(&mut *h.borrow_mut()));
        let head_bytes = HEAD.with(|h| std::mem::take(&mut *h.borrow_mut()));
        let mut joined = JOINED.with(|j| std::mem::take(&mut *j.borrow_mut()));
        // Outside the exchange: the app gets views of it (the client address) for the call.
        let forwarded = Forwarded::resolve(
            env.forwarded,
            &self.conn.peer,
            &self.head,
            self.conn.pending(),
        );
        let mut ex = Exchange::new(
            &mut self.conn,
            &self.head,
            env,
            head_bytes,
            forwarded.as_ref(),
            self.since,
        );
        ex.request_headers(&self.head, &mut headers, &mut joined);
        let rc = {
            let request = ex.request(&self.head, &headers);
            let responder = Responder {
                struct_size: std::mem::size_of::<Responder>(),
                ctx: &mut ex as *mut Exchange as *mut c_void,
                start_response: cb_start_response,
                write: cb_write,
                is_cancelled: cb_is_cancelled,
                send_file: Some(cb_send_file),
            };
            let mut request = request;
            request.body_ctx = responder.ctx;
            // SAFETY: request, responder and everything they point to outlive the call; the
            // exchange behind both contexts is not touched by this frame until it returns.
            unsafe { env.app.handle(&request, &responder) }
        };
        let head_bytes = ex.finish(rc, &self.head);
        headers.clear();
        joined.clear();
        HEADERS.with(|h| *h.borrow_mut() = headers);
        JOINED.with(|j| *j.borrow_mut() = joined);
        HEAD.with(|h| *h.borrow_mut() = head_bytes);
    }
}

impl<'a> Exchange<'a> {
    fn new(
        conn: &'a mut Connection,
        head: &Head,
        env: &'a CallEnv<'a>,
        mut head_bytes: Vec<u8>,
        forwarded: Option<&'a Forwarded>,
        since: Instant,
    ) -> Exchange<'a> {
        head_bytes.clear();
        let Some(rbuf) = conn.rbuf.as_mut() else {
            unreachable!("a parsed head lives in the read buffer");
        };
        // The head stays where it is while the app runs; its body streams through the room
        // after it, so that room must be worth having.
        if head.body != BodyKind::Empty
            && rbuf.capacity() - (rbuf.start() + head.len) < MIN_BODY_WINDOW
        {
            rbuf.compact_from(rbuf.start());
            if rbuf.capacity() - head.len < MIN_BODY_WINDOW {
                // A head near the limits: grow so a body window remains (bounded by the limits).
                rbuf.grow_to(head.len + MIN_BODY_WINDOW, env.config.max_read_buf());
            }
        }
        let head_at = rbuf.start();
        let method = &rbuf.bytes()[head.method.clone()];
        let is_head = method == b"HEAD";
        let body = match head.body {
            BodyKind::Empty => None,
            BodyKind::Length(n) => Some(Decoder::length(n)),
            BodyKind::Chunked => Some(Decoder::chunked(env.config.body_limit)),
        };
        let deadline_unix_ms = env
            .config
            .timeout
            .map_or(0, |t| now_unix_ms() + t.as_millis() as u64);
        Exchange {
            request_id: NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed),
            minor: head.minor,
            is_head,
            keep_alive: head.keep_alive,
            deadline_unix_ms,
            head_at,
            head_end: head_at + head.len,
            body,
            body_pos: head_at + head.len,
            awaiting_continue: head.expect_continue,
            body_failure: None,
            body_since: None,
            body_bytes: 0,
            body_read: 0,
            out_start: conn.wbuf.total_len(),
            send_since: None,
            status: 0,
            double_start: false,
            app_head: AppHead::default(),
            head: HeadState::NotStarted,
            head_bytes,
            announced_keep_alive: false,
            written: 0,
            wire_body: 0,
            gone: false,
            cut_short: false,
            last_probe: None,
            forwarded,
            started: env.access_log.map(|_| Instant::now()),
            since,
            conn,
            env,
        }
    }

    /// The head's bytes, at their place in the read buffer.
    fn head_slice(&self, head: &Head) -> &[u8] {
        match self.conn.rbuf.as_ref() {
            Some(rbuf) => &rbuf.from(self.head_at)[..head.len],
            None => &[],
        }
    }

    /// A `GwStr` for `range` of the head: a raw view that stays valid while the app runs (the
    /// head is never moved or overwritten during the call).
    fn view(&self, range: std::ops::Range<usize>) -> GwStr {
        match self.conn.rbuf.as_ref() {
            Some(rbuf) => GwStr {
                ptr: rbuf.ptr_at(self.head_at + range.start),
                len: range.len(),
            },
            None => GwStr::EMPTY,
        }
    }

    /// The headers the app sees, in the order received. For an absolute-form target the
    /// target's authority is the Host (RFC 9112 section 3.2.2: "the Host header field ...
    /// ignored and replaced by the host information of the request-target"), added when the
    /// client sent none. `X-Forwarded-Host` is passed on as any field: gunicorn never rewrites
    /// the Host, and Django reads that header only with `USE_X_FORWARDED_HOST`.
    ///
    /// A field sent more than once reaches the app once, at its first place, with its values
    /// joined as gunicorn's environ joins them (`a,b`; RFC 9110 section 5.3), except `Cookie`,
    /// joined with `; ` as RFC 9113 section 8.2.3 joins it, and `Content-Length`, whose repeats
    /// the parser has checked are equal (a repeated `Content-Type` or `Host` is refused there). The joined values are written to
    /// `joined`, which must outlive the call; a head without repeats (the common case) costs a
    /// look at each name's length and nothing else.
    fn request_headers(&self, head: &Head, out: &mut Vec<GwHeader>, joined: &mut Vec<u8>) {
        out.clear();
        let bytes = self.head_slice(head);
        let host = head.authority.as_ref();
        let mut host_replaced = false;
        let slots = if has_repeated_name(bytes, &head.headers) {
            join_repeated(bytes, &head.headers, joined)
        } else {
            Vec::new()
        };
        for (i, (n, v)) in head.headers.iter().enumerate() {
            let name = &bytes[n.clone()];
            let value = match host {
                Some(host) if name.eq_ignore_ascii_case(b"host") => {
                    host_replaced = true;
                    self.view(host.clone())
                }
                _ if !slots.is_empty() => match &slots[i] {
                    Joined::Single => self.view(v.clone()),
                    Joined::Later => continue,
                    Joined::Value(range) => GwStr {
                        ptr: joined[range.clone()].as_ptr(),
                        len: range.len(),
                    },
                },
                _ => self.view(v.clone()),
            };
            out.push(GwHeader {
                name: self.view(n.clone()),
                value,
            });
        }
        if let (Some(host), false) = (host, host_replaced) {
            out.push(GwHeader {
                name: GwStr::from_str("Host"),
                value: self.view(host.clone()),
            });
        }
    }

    /// The client's address as the app and the access log see it.
    fn client_addr(&self) -> &str {
        match self.forwarded {
            Some(Forwarded {
                client: Some(client),
                ..
            }) => client.as_str(),
            _ => self.conn.peer.remote.as_str(),
        }
    }

    fn request(&self, head: &Head, headers: &[GwHeader]) -> Request {
        let peer = &self.conn.peer;
        let own_scheme = if self.conn.stream.is_tls() {
            "https"
        } else {
            "http"
        };
        let (remote_addr, remote_port, url_scheme) = match self.forwarded {
            None => (peer.remote.as_str(), peer.remote_port, own_scheme),
            // A forwarded client's port is not known (X-Forwarded-For carries none we trust).
            Some(f) => (
                self.client_addr(),
                if f.client.is_some() {
                    0
                } else {
                    peer.remote_port
                },
                f.scheme.unwrap_or(own_scheme),
            ),
        };
        let path = if head.path.is_empty() {
            GwStr::from_str("/")
        } else {
            self.view(head.path.clone())
        };
        Request {
            struct_size: std::mem::size_of::<Request>(),
            request_id: self.request_id,
            method: self.view(head.method.clone()),
            target: self.view(head.target.clone()),
            path,
            query: self.view(head.query.clone()),
            version_major: 1,
            version_minor: u16::from(head.minor),
            headers: headers.as_ptr(),
            header_count: headers.len(),
            content_length: match head.body {
                BodyKind::Empty => 0,
                BodyKind::Length(n) => i64::try_from(n).unwrap_or(i64::MAX),
                BodyKind::Chunked => -1,
            },
            remote_addr: GwStr::from_str(remote_addr),
            remote_port,
            server_addr: GwStr::from_str(peer.server_addr()),
            server_port: peer.server_port(),
            url_scheme: GwStr::from_str(url_scheme),
            deadline_unix_ms: self.deadline_unix_ms,
            body_ctx: std::ptr::null_mut(),
            read_body: cb_read_body,
            tls_client_subject: GwStr::from_str(
                self.conn.stream.tls_client_subject().unwrap_or(""),
            ),
        }
    }

    fn bodyless(&self) -> bool {
        bodyless(self.status, self.is_head)
    }

    fn cancelled_by_server(&self) -> bool {
        self.env.cancel_all.load(Ordering::Acquire)
    }

    // ---- the response ----

    fn start_response(&mut self, status: u16, headers: &[GwHeader]) -> i32 {
        if self.status != 0 {
            self.double_start = true;
            return GW_ERR_ALREADY_STARTED;
        }
        let fields = headers.iter().map(|h| {
            // SAFETY: the app keeps its headers alive for the call.
            unsafe { (h.name.as_bytes(), h.value.as_bytes()) }
        });
        match app_head(&mut self.head_bytes, status, fields) {
            Ok(info) => {
                self.app_head = info;
                self.status = status;
                self.head = HeadState::Open;
                GW_OK
            }
            Err(_) => GW_ERR_INVALID,
        }
    }

    /// Writes the head out with its framing; `known_len` is the body length when the server
    /// knows it without a declared `Content-Length` (the app returned without writing more).
    fn close_head(&mut self, known_len: Option<u64>) {
        let length = self.app_head.declared.or(known_len);
        let framing = Framing::choose(self.status, self.is_head, length, self.minor);
        // A body still unread and too big to drain (or held back for `100 Continue`) ends the
        // connection: say so in the head.
        let leftover = Leftover::of(self.body.clone(), self.awaiting_continue, 0);
        let keep_alive = self.keep_alive
            && framing != Framing::Close
            && leftover.keeps_alive()
            && !self.env.draining.load(Ordering::Acquire)
            && !self.env.config.keep_alive.is_zero();
        let start = self.conn.wbuf.total_len();
        let out = self.conn.wbuf.vec();
        out.extend_from_slice(&self.head_bytes);
        encode::close_head(out, &self.app_head, framing, keep_alive, self.minor);
        self.announced_keep_alive = keep_alive;
        self.head = HeadState::Closed { start, framing };
    }

    fn framing(&self) -> Option<Framing> {
        match self.head {
            HeadState::Closed { framing, .. } => Some(framing),
            _ => None,
        }
    }

    /// `GW_OK` while body bytes may still be given: the response was started and neither the
    /// client nor the server ended the exchange.
    #[inline]
    fn writable(&self) -> Result<(), i32> {
        if self.status == 0 {
            Err(GW_ERR_NOT_STARTED)
        } else if self.gone {
            Err(GW_ERR_CLIENT_GONE)
        } else if self.cancelled_by_server() {
            Err(GW_ERR_CANCELLED)
        } else {
            Ok(())
        }
    }

    /// Counts `len` body bytes the app gives (`GW_ERR_OVERFLOW` past a declared length, before
    /// anything is sent) and closes the head at the first. `Ok(false)`: the response has no
    /// body on the wire (HEAD, 204, 304), so the bytes are dropped; `Ok(true)`: they go out,
    /// after the chunk's size line when the response is chunked.
    #[inline]
    fn begin_body_bytes(&mut self, len: u64) -> Result<bool, i32> {
        if self
            .app_head
            .declared
            .is_some_and(|d| self.written + len > d)
        {
            return Err(GW_ERR_OVERFLOW);
        }
        self.written += len;
        if self.head == HeadState::Open {
            self.close_head(None);
        }
        if self.bodyless() {
            return Ok(false);
        }
        if self.framing() == Some(Framing::Chunked) {
            let size = usize::try_from(len).unwrap_or(usize::MAX);
            self.push(ChunkSize::new(size).as_bytes())?;
        }
        Ok(true)
    }

    fn write(&mut self, data: &[u8]) -> i32 {
        if let Err(rc) = self.writable() {
            return rc;
        }
        if data.is_empty() {
            return self.flush();
        }
        let result = self
            .begin_body_bytes(data.len() as u64)
            .and_then(|on_wire| {
                if !on_wire {
                    return Ok(false);
                }
                self.push(data)?;
                if self.framing() == Some(Framing::Chunked) {
                    self.push(b"\r\n")?;
                }
                Ok(true)
            });
        match result {
            Ok(false) => GW_OK,
            Ok(true) => {
                self.wire_body += data.len() as u64;
                if self.conn.wbuf.unsent() >= FLUSH_AT {
                    self.send_now()
                } else {
                    GW_OK
                }
            }
            Err(rc) => rc,
        }
    }

    /// `send_file`: `len` bytes of `fd` from `offset` as body bytes, as `write` would send
    /// them, with the file's bytes going from the kernel's page cache to the socket.
    fn send_file(&mut self, fd: i32, offset: i64, len: u64) -> i32 {
        if let Err(rc) = self.writable() {
            return rc;
        }
        let (Ok(offset), true) = (u64::try_from(offset), fd >= 0) else {
            return GW_ERR_INVALID;
        };
        if !regular_file_covers(fd, offset, len) {
            return GW_ERR_INVALID;
        }
        if len == 0 {
            return GW_OK;
        }
        match self.begin_body_bytes(len) {
            Ok(true) => {}
            Ok(false) => return GW_OK,
            Err(rc) => return rc,
        }
        let chunked = self.framing() == Some(Framing::Chunked);
        // What `write` coalesced (and the head) goes first: the file's bytes follow it.
        if let Err(rc) = self.send_until(0) {
            return rc;
        }
        call_clock::progressed();
        let (mut at, mut left) = (offset, len);
        while left > 0 {
            let conn = &mut *self.conn;
            match io::send_file_once(&mut conn.stream, fd, at, left) {
                Ok(0) => {
                    log::warn!(
                        "app {}: the file given to send_file ended {left} bytes before its range (request {}); closing the connection",
                        self.env.app.name,
                        self.request_id
                    );
                    self.cut_short = true;
                    self.wire_body += len - left;
                    return GW_ERR_INVALID;
                }
                Ok(n) => {
                    conn.wbuf.sent_directly(n as u64);
                    at += n as u64;
                    left -= n as u64;
                    call_clock::progressed();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Err(rc) = self.wait_writable() {
                        return rc;
                    }
                }
                Err(e) => return self.lost(e),
            }
        }
        self.wire_body += len;
        if chunked {
            if let Err(rc) = self.push(b"\r\n") {
                return rc;
            }
        }
        GW_OK
    }

    /// `write` of nothing: the head (if still open) and everything buffered go out now.
    fn flush(&mut self) -> i32 {
        if self.head == HeadState::Open && !self.bodyless() {
            self.close_head(None);
        }
        self.send_now()
    }

    /// Appends `bytes` to the connection's output, never holding more than [`WRITE_BOUND`]
    /// unsent: past it, the buffered bytes and `bytes` go to the socket in one vectored call,
    /// and the call waits while the client is not reading.
    fn push(&mut self, mut bytes: &[u8]) -> Result<(), i32> {
        loop {
            let room = WRITE_BOUND.saturating_sub(self.conn.wbuf.unsent());
            if bytes.len() <= room {
                self.conn.wbuf.vec().extend_from_slice(bytes);
                return Ok(());
            }
            let conn = &mut *self.conn;
            match conn.wbuf.write_with_tail(&mut conn.stream, bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) => return Err(self.lost(e)),
            }
            if bytes.is_empty() {
                return Ok(());
            }
            if self.conn.wbuf.unsent() + bytes.len() > WRITE_BOUND {
                self.wait_writable()?;
            }
        }
    }

    /// Sends what the socket takes now, and waits while more than [`WRITE_BOUND`] is unsent.
    fn send_now(&mut self) -> i32 {
        // Part of the response is leaving: the handler is not stuck (`call_clock`).
        call_clock::progressed();
        match self.send_until(WRITE_BOUND) {
            Ok(()) => GW_OK,
            Err(rc) => rc,
        }
    }

    /// Sends buffered bytes until at most `bound` are unsent (0: all of them, and every record
    /// a TLS session holds), waiting while the client is not reading.
    fn send_until(&mut self, bound: usize) -> Result<(), i32> {
        loop {
            let conn = &mut *self.conn;
            match conn.wbuf.write_to(&mut conn.stream) {
                Ok(true) => return Ok(()),
                Ok(false) if bound > 0 && self.conn.wbuf.unsent() <= bound => return Ok(()),
                Ok(false) => self.wait_writable()?,
                Err(e) => return Err(self.lost(e)),
            }
        }
    }

    /// The socket failed: the client is gone.
    fn lost(&mut self, e: std::io::Error) -> i32 {
        log::debug!("client {} gone: {e}", self.conn.client());
        self.gone = true;
        self.conn.writing = Writing::Broken;
        GW_ERR_CLIENT_GONE
    }

    /// Waits until the socket takes bytes again. A client that takes nothing for `--timeout`
    /// is given up on, as one that is gone.
    fn wait_writable(&mut self) -> Result<(), i32> {
        let since = Instant::now();
        let sent = self.conn.wbuf.total_len() - self.conn.wbuf.unsent() as u64;
        let (send_since, sent_before) = *self.send_since.get_or_insert((since, sent));
        let _wait = ClientWait::begin(self.env.waits);
        loop {
            if self.cancelled_by_server() {
                return Err(GW_ERR_CANCELLED);
            }
            let rule = self.env.config.min_rate;
            let sent = self.conn.wbuf.total_len() - self.conn.wbuf.unsent() as u64;
            let left = rule.time_left(send_since, sent - sent_before, Instant::now());
            if left == Some(Duration::ZERO) {
                if let Some(n) = SLOW_READER.hit() {
                    log::warn!(
                        "closed {n} connection(s) whose client took its response slower than \
                         {} bytes/s past {:?} (--body-min-rate, --body-timeout); last: {}",
                        rule.bytes_per_sec,
                        rule.grace,
                        self.conn.client()
                    );
                }
                if let Some(m) = self.env.metrics {
                    m.slow_reader();
                }
                self.gone = true;
                self.conn.writing = Writing::Broken;
                return Err(GW_ERR_CLIENT_GONE);
            }
            let slice = left.map_or(WAIT_SLICE, |l| l.min(WAIT_SLICE));
            let waited = since.elapsed();
            if let Some(limit) = self.env.config.timeout {
                if waited > limit {
                    log::info!(
                        "connection from {}: client read nothing for {waited:.0?} with {} bytes owed; closing",
                        self.conn.client(),
                        self.conn.wbuf.unsent()
                    );
                    self.gone = true;
                    self.conn.writing = Writing::Broken;
                    return Err(GW_ERR_CLIENT_GONE);
                }
            }
            let fd = self.conn.stream.as_raw_fd();
            // Waiting on the client is not the app being stuck (`call_clock`).
            match call_clock::while_waiting(|| io::wait(fd, false, true, slice)) {
                Ok(Some(Readiness { broken: true, .. })) => {
                    return Err(self.lost(std::io::ErrorKind::BrokenPipe.into()))
                }
                Ok(Some(_)) => return Ok(()),
                Ok(None) => {}
                Err(e) => return Err(self.lost(e)),
            }
        }
    }

    // ---- the request body ----

    fn read_body(&mut self, out: &mut [u8]) -> isize {
        if out.is_empty() {
            return 0;
        }
        if self.body_failure.is_some() {
            return GW_ERR_BODY as isize;
        }
        if self.body_since.is_none() {
            self.body_since = Some(Instant::now());
        }
        loop {
            match self.read_step(out) {
                ReadStep::Got(n) => {
                    self.body_read += n as u64;
                    return n as isize;
                }
                ReadStep::Again => {}
                ReadStep::Wait => {
                    if let Err(rc) = self.wait_readable() {
                        return rc as isize;
                    }
                }
                ReadStep::Failed(rc) => return rc as isize,
                ReadStep::Lost(e) => return self.lost(e) as isize,
            }
        }
    }

    /// One step of `read_body`: decode what is buffered, or read once from the socket.
    fn read_step(&mut self, out: &mut [u8]) -> ReadStep {
        let Some(decoder) = self.body.as_mut() else {
            return ReadStep::Got(0);
        };
        if decoder.is_done() {
            return ReadStep::Got(0);
        }
        let conn = &mut *self.conn;
        let Some(rbuf) = conn.rbuf.as_mut() else {
            return ReadStep::Got(0);
        };
        let buffered = rbuf.from(self.body_pos);
        if !buffered.is_empty() {
            return match decoder.decode_into(buffered, out) {
                Ok((used, n)) => {
                    self.body_pos += used;
                    if n > 0 || decoder.is_done() {
                        ReadStep::Got(n)
                    } else {
                        ReadStep::Again
                    }
                }
                Err(e) => {
                    self.body_failure = Some(BodyFailure::Refused(e));
                    ReadStep::Failed(GW_ERR_BODY)
                }
            };
        }
        // Everything read after the head is consumed: the window behind it is free again.
        rbuf.rewind_to(self.head_end);
        self.body_pos = self.head_end;
        // A client that asked to be told before sending its body is told at the first read
        // (unless the final head is already out: a 100 after it would be a protocol error).
        if self.awaiting_continue {
            self.awaiting_continue = false;
            if !matches!(self.head, HeadState::Closed { .. }) {
                conn.wbuf.vec().extend_from_slice(CONTINUE);
            }
        }
        if !conn.wbuf.is_empty() {
            if let Err(e) = conn.wbuf.write_to(&mut conn.stream) {
                return ReadStep::Lost(e);
            }
        }
        // A length-delimited body goes straight into the app's buffer when it is big enough to
        // be worth a read of its own.
        let direct = decoder
            .remaining_length()
            .filter(|_| out.len() >= DIRECT_READ_MIN)
            .map(|left| out.len().min(usize::try_from(left).unwrap_or(usize::MAX)));
        let result = match direct {
            Some(n) => std::io::Read::read(&mut conn.stream, &mut out[..n]),
            None => rbuf.read_from(&mut conn.stream),
        };
        match result {
            Ok(0) => {
                conn.inbound = Inbound::Eof;
                self.body_failure = Some(BodyFailure::Cut);
                ReadStep::Failed(GW_ERR_BODY)
            }
            Ok(n) if direct.is_some() => {
                self.body_bytes += n as u64;
                decoder.advance_length(n);
                ReadStep::Got(n)
            }
            Ok(n) => {
                self.body_bytes += n as u64;
                ReadStep::Again
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => ReadStep::Wait,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => ReadStep::Again,
            Err(e) => ReadStep::Lost(e),
        }
    }

    /// Waits until body bytes arrive, at most `--timeout` without one.
    fn wait_readable(&mut self) -> Result<(), i32> {
        let since = Instant::now();
        let body_since = *self.body_since.get_or_insert(since);
        let _wait = ClientWait::begin(self.env.waits);
        loop {
            if self.cancelled_by_server() {
                return Err(GW_ERR_CANCELLED);
            }
            let rule = self.env.config.min_rate;
            let left = rule.time_left(body_since, self.body_bytes, Instant::now());
            if left == Some(Duration::ZERO) {
                if let Some(n) = SLOW_BODY.hit() {
                    log::warn!(
                        "answered 408 to {n} request(s) whose body came slower than {} bytes/s \
                         past {:?} (--body-min-rate, --body-timeout); last: {}",
                        rule.bytes_per_sec,
                        rule.grace,
                        self.conn.client()
                    );
                }
                if let Some(m) = self.env.metrics {
                    m.slow_body();
                }
                self.body_failure = Some(BodyFailure::TooSlow);
                return Err(GW_ERR_BODY);
            }
            let slice = left.map_or(WAIT_SLICE, |l| l.min(WAIT_SLICE));
            if self
                .env
                .config
                .timeout
                .is_some_and(|limit| since.elapsed() > limit)
            {
                self.body_failure = Some(BodyFailure::Timeout);
                return Err(GW_ERR_BODY);
            }
            let owed = !self.conn.wbuf.is_empty();
            let fd = self.conn.stream.as_raw_fd();
            match call_clock::while_waiting(|| io::wait(fd, true, owed, slice)) {
                Ok(Some(r)) if r.broken => {
                    return Err(self.lost(std::io::ErrorKind::ConnectionReset.into()))
                }
                Ok(Some(r)) => {
                    if r.writable && owed {
                        let conn = &mut *self.conn;
                        if let Err(e) = conn.wbuf.write_to(&mut conn.stream) {
                            return Err(self.lost(e));
                        }
                    }
                    if r.readable {
                        return Ok(());
                    }
                }
                Ok(None) => {}
                Err(e) => return Err(self.lost(e)),
            }
        }
    }

    fn is_cancelled(&mut self) -> u32 {
        let mut bits = 0;
        if !self.gone && self.last_probe.is_none_or(|t| t.elapsed() >= PROBE_EVERY) {
            self.last_probe = Some(Instant::now());
            if io::is_broken(self.conn.stream.as_raw_fd()) {
                self.gone = true;
                self.conn.writing = Writing::Broken;
            }
        }
        if self.gone {
            bits |= GW_CANCEL_CLIENT_GONE;
        }
        if self.cancelled_by_server() {
            bits |= GW_CANCEL_SHUTDOWN;
        }
        if self.deadline_unix_ms != 0 && now_unix_ms() > self.deadline_unix_ms {
            bits |= GW_CANCEL_DEADLINE;
        }
        bits
    }

    // ---- the end ----

    /// Whether none of this response's bytes reached the socket yet (so it can be replaced).
    fn replaceable(&self) -> bool {
        match self.head {
            HeadState::Closed { start, .. } => self.conn.wbuf.total_sent() <= start,
            _ => true,
        }
    }

    /// Drops this response's unsent bytes so a server-made one can take its place.
    fn discard_response(&mut self) {
        if let HeadState::Closed { start, .. } = self.head {
            self.conn.wbuf.truncate_total(start);
        }
        self.head = HeadState::NotStarted;
        self.wire_body = 0;
    }

    /// Completes the exchange after `handle` returned `rc`, and leaves the connection ready for
    /// its loop. Returns the head scratch buffer for reuse.
    fn finish(mut self, rc: i32, head: &Head) -> Vec<u8> {
        let now = Instant::now();
        let failed = rc != GW_OK || self.status == 0 || self.double_start;
        let (status, keep_alive) = if let Some(failure) = self.body_failure.filter(|_| !self.gone) {
            self.answer_body_failure(failure)
        } else if failed {
            self.answer_failure(rc)
        } else {
            self.complete()
        };
        let leftover = if keep_alive {
            Leftover::of(self.body.take(), self.awaiting_continue, 0)
        } else {
            Leftover::Close
        };
        if let Some(m) = self.env.metrics {
            let elapsed = now.saturating_duration_since(self.since);
            let method = &self.head_slice(head)[head.method.clone()];
            let sent = self.conn.wbuf.total_len() - self.out_start;
            m.request(
                method,
                status,
                elapsed,
                head.len as u64 + self.body_read,
                sent,
            );
        }
        if let Some(log) = self.env.access_log {
            let bytes = self.head_slice(head);
            let line = LogLine::of_head(head, bytes);
            let client = match self.client_addr() {
                "" => "-",
                addr => addr,
            };
            let elapsed = self.started.map_or(Duration::ZERO, |t| t.elapsed());
            line.write_timed(
                log,
                client,
                status,
                self.wire_body,
                elapsed,
                self.request_id,
            );
        }
        let consumed = self.body_pos;
        if let Some(rbuf) = self.conn.rbuf.as_mut() {
            rbuf.consume_to(consumed);
        }
        self.conn.end_response(leftover, keep_alive, now);
        std::mem::take(&mut self.head_bytes)
    }

    /// The normal end: the head if still open (now with the length the server knows), the last
    /// chunk. Returns the status and whether the connection persists.
    fn complete(&mut self) -> (u16, bool) {
        if self.head == HeadState::Open {
            let known = if self.app_head.declared.is_none() {
                // Nothing was written (or, for HEAD, the bytes were counted): the length is known.
                Some(self.written)
            } else {
                None
            };
            self.close_head(known);
        }
        if self.framing() == Some(Framing::Chunked) && !self.gone {
            let _ = self.push(LAST_CHUNK);
        }
        let complete = self.bodyless() || self.app_head.declared.is_none_or(|d| d == self.written);
        let keep_alive = self.announced_keep_alive && complete && !self.gone && !self.cut_short;
        (self.status, keep_alive)
    }

    /// The app failed: a 502 when nothing of its response went out, else the connection is
    /// cut so the client sees a truncated response rather than a complete one.
    fn answer_failure(&mut self, rc: i32) -> (u16, bool) {
        let app = &self.env.app.name;
        let why = if self.double_start {
            "called start_response twice".to_string()
        } else if self.status == 0 && rc == GW_OK {
            "returned without calling start_response".to_string()
        } else {
            format!("returned error {rc}")
        };
        if self.gone {
            // The client left and the app gave up: the expected outcome, not an app failure.
            log::debug!(
                "app {app} {why} after the client left (request {})",
                self.request_id
            );
            return (self.status, false);
        }
        if !self.replaceable() {
            log::error!(
                "app {app} {why} after the response started (request {}); closing the connection",
                self.request_id
            );
            return (self.status, false);
        }
        log::error!(
            "app {app} {why} (request {}); answering 502",
            self.request_id
        );
        self.discard_response();
        let keep_alive = self.keep_alive
            && Leftover::of(self.body.clone(), self.awaiting_continue, 0).keeps_alive()
            && !self.env.draining.load(Ordering::Acquire);
        let out = self.conn.wbuf.vec();
        self.wire_body = simple_response(
            out,
            502,
            "the application failed",
            keep_alive,
            self.is_head,
            &[],
        );
        (502, keep_alive)
    }

    /// The server refused the body the app was reading: its own answer replaces the app's
    /// when none of the app's went out; the connection ends either way (the framing is lost).
    fn answer_body_failure(&mut self, failure: BodyFailure) -> (u16, bool) {
        let (status, message) = match failure {
            BodyFailure::Refused(e) => e.status(),
            BodyFailure::Timeout => (408, "request body not received in time"),
            BodyFailure::TooSlow => (408, "request body sent too slowly"),
            BodyFailure::Cut => (400, "incomplete request body"),
        };
        let client = self.conn.client().to_string();
        match failure {
            BodyFailure::Refused(_) => log::info!("Invalid request from ip={client}: {message}"),
            _ => log::debug!("connection from {client}: {status} {message}"),
        }
        if !self.replaceable() {
            return (self.status, false);
        }
        self.discard_response();
        let out = self.conn.wbuf.vec();
        self.wire_body = simple_response(out, status, message, false, self.is_head, &[]);
        (status, false)
    }
}

/// Runs `f` on the exchange behind `ctx`, turning a panic into `fallback`.
///
/// # Safety
/// `ctx` must be the context [`Call::run`] put in the responder and the request, used on the
/// thread running `handle`, during the call.
unsafe fn with_exchange<R>(ctx: *mut c_void, fallback: R, f: impl FnOnce(&mut Exchange) -> R) -> R {
    if ctx.is_null() {
        return fallback;
    }
    // SAFETY: per this function's contract, ctx is a live, unaliased Exchange.
    let ex = unsafe { &mut *(ctx as *mut Exchange) };
    catch_unwind(AssertUnwindSafe(|| f(ex))).unwrap_or(fallback)
}

unsafe extern "C" fn cb_start_response(
    ctx: *mut c_void,
    status: u16,
    headers: *const GwHeader,
    count: usize,
) -> i32 {
    if headers.is_null() && count > 0 {
        return GW_ERR_INVALID;
    }
    let headers: &[GwHeader] = if count == 0 {
        &[]
    } else {
        // SAFETY: the app passes `count` valid headers.
        unsafe { std::slice::from_raw_parts(headers, count) }
    };
    // SAFETY: ctx comes from Call::run.
    unsafe { with_exchange(ctx, GW_ERR_APP, |ex| ex.start_response(status, headers)) }
}

unsafe extern "C" fn cb_write(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
    if data.is_null() && len > 0 {
        return GW_ERR_INVALID;
    }
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the app passes `len` readable bytes.
        unsafe { std::slice::from_raw_parts(data, len) }
    };
    // SAFETY: ctx comes from Call::run.
    unsafe { with_exchange(ctx, GW_ERR_APP, |ex| ex.write(data)) }
}

unsafe extern "C" fn cb_send_file(ctx: *mut c_void, fd: i32, offset: i64, len: u64) -> i32 {
    // SAFETY: ctx comes from Call::run.
    unsafe { with_exchange(ctx, GW_ERR_APP, |ex| ex.send_file(fd, offset, len)) }
}

/// Whether `fd` is an open regular file holding `[offset, offset + len)`.
fn regular_file_covers(fd: i32, offset: u64, len: u64) -> bool {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is writable; a bad fd is reported as an error, not undefined behaviour.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    st.st_mode & libc::S_IFMT == libc::S_IFREG
        && offset.checked_add(len).is_some_and(|end| end <= size)
}

unsafe extern "C" fn cb_is_cancelled(ctx: *mut c_void) -> u32 {
    // SAFETY: ctx comes from Call::run.
    unsafe { with_exchange(ctx, GW_CANCEL_SHUTDOWN, |ex| ex.is_cancelled()) }
}

unsafe extern "C" fn cb_read_body(ctx: *mut c_void, buf: *mut u8, cap: usize) -> isize {
    if cap == 0 {
        return 0;
    }
    if buf.is_null() {
        return GW_ERR_INVALID as isize;
    }
    // SAFETY: the app passes `cap` writable bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
    // SAFETY: ctx comes from Call::run.
    unsafe { with_exchange(ctx, GW_ERR_APP as isize, |ex| ex.read_body(out)) }
}

/// What a field line becomes when some field names repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Joined {
    /// The name is sent once: the value as received.
    Single,
    /// A later line of a repeated name: folded into the first.
    Later,
    /// The first line of a repeated name: the joined value, a range of the joined buffer.
    Value(std::ops::Range<usize>),
}

/// A head's fields: name and value ranges of its bytes.
type Fields = [(std::ops::Range<usize>, std::ops::Range<usize>)];

/// Whether any field name is sent twice (names compared without case). Lengths are screened
/// with a bit set first, so a head of distinct name lengths is one pass with no comparison.
#[inline]
fn has_repeated_name(bytes: &[u8], fields: &Fields) -> bool {
    let mut lengths = 0u64;
    for (i, (name, _)) in fields.iter().enumerate() {
        let bit = 1u64 << (name.len() % 64);
        if lengths & bit != 0
            && fields[..i].iter().any(|(other, _)| {
                other.len() == name.len()
                    && bytes[other.clone()].eq_ignore_ascii_case(&bytes[name.clone()])
            })
        {
            return true;
        }
        lengths |= bit;
    }
    false
}

/// gunicorn's environ for repeated fields: one slot per field line, the joined values written
/// to `out` (see [`Exchange::request_headers`]).
#[cold]
#[inline(never)]
fn join_repeated(bytes: &[u8], fields: &Fields, out: &mut Vec<u8>) -> Vec<Joined> {
    out.clear();
    let mut slots = vec![Joined::Single; fields.len()];
    for (i, (name, value)) in fields.iter().enumerate() {
        if slots[i] != Joined::Single {
            continue;
        }
        let name = &bytes[name.clone()];
        let same: Vec<usize> = (i + 1..fields.len())
            .filter(|&j| bytes[fields[j].0.clone()].eq_ignore_ascii_case(name))
            .collect();
        let Some(&last) = same.last() else {
            continue;
        };
        let start = out.len();
        if name.eq_ignore_ascii_case(b"content-length") {
            // Equal values (the parser refuses others): CONTENT_LENGTH is the one number.
            out.extend_from_slice(&bytes[fields[last].1.clone()]);
        } else {
            let separator: &[u8] = if name.eq_ignore_ascii_case(b"cookie") {
                b"; "
            } else {
                b","
            };
            out.extend_from_slice(&bytes[value.clone()]);
            for &j in &same {
                out.extend_from_slice(separator);
                out.extend_from_slice(&bytes[fields[j].1.clone()]);
            }
        }
        slots[i] = Joined::Value(start..out.len());
        for j in same {
            slots[j] = Joined::Later;
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::parse::{parse_head, Limits};

    /// The fields as the app would see them: (name, value) text.
    fn joined(fields: &str) -> Vec<(String, String)> {
        let raw = format!("GET / HTTP/1.1\r\n{fields}\r\n").into_bytes();
        let head = parse_head(&raw, &Limits::GUNICORN).unwrap().unwrap();
        let text = |r: &std::ops::Range<usize>, b: &[u8]| {
            String::from_utf8(b[r.clone()].to_vec()).unwrap()
        };
        if !has_repeated_name(&raw, &head.headers) {
            return head
                .headers
                .iter()
                .map(|(n, v)| (text(n, &raw), text(v, &raw)))
                .collect();
        }
        let mut buf = Vec::new();
        let slots = join_repeated(&raw, &head.headers, &mut buf);
        head.headers
            .iter()
            .zip(slots)
            .filter_map(|((n, v), slot)| match slot {
                Joined::Single => Some((text(n, &raw), text(v, &raw))),
                Joined::Later => None,
                Joined::Value(r) => Some((text(n, &raw), text(&r, &buf))),
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn distinct_names_pass_as_they_are() {
        assert_eq!(
            joined("Host: x\r\nAccept: */*\r\nOrigin: o\r\n"),
            pairs(&[("Host", "x"), ("Accept", "*/*"), ("Origin", "o")])
        );
    }

    #[test]
    fn repeated_fields_are_joined_as_gunicorn_joins_them() {
        assert_eq!(
            joined("Host: x\r\nX-API-KEY: right\r\nAccept: a\r\nx-api-key: wrong\r\nX-Api-Key: third\r\n"),
            pairs(&[("Host", "x"), ("X-API-KEY", "right,wrong,third"), ("Accept", "a")])
        );
        assert_eq!(
            joined("Cookie: a=b\r\nHost: x\r\ncookie: csrftoken=t\r\n"),
            pairs(&[("Cookie", "a=b; csrftoken=t"), ("Host", "x")])
        );
        assert_eq!(
            joined("Content-Length: 3\r\nHost: x\r\nContent-Length: 3\r\nA: 1\r\nA: 2\r\n"),
            pairs(&[("Content-Length", "3"), ("Host", "x"), ("A", "1,2")])
        );
    }
}
