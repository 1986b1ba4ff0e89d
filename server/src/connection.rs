//! Owns one client connection's state machine: reading and parsing heads, decoding bodies,
//! dispatching jobs, collecting the worker's bytes, writing them in order, keep-alive and the
//! per-connection timeouts. It never blocks: the socket is non-blocking and edge-triggered.
//!
//! Request bodies are read and decoded here, whole (up to `--limit-request-body`), before the
//! job is dispatched; `read_body` then reads from that buffer. Pipelined requests are answered
//! strictly in order: the next head is parsed only once the current response has ended.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access_log::{AccessLog, Entry};
use crate::app::now_unix_ms;
use crate::http1::body::{BodyError, Decoder};
use crate::http1::parse::{error_status, parse_head, BodyKind, Head, Limits};
use crate::http1::write::{simple_response, CONTINUE};
use crate::worker::{End, Job, Output, Peer, Pool, Shared};

/// Bytes requested from the socket per read call.
const READ_CHUNK: usize = 64 * 1024;

/// Unparsed bytes a connection buffers while responses are owed (pipelined requests); beyond
/// it the connection stops reading until those bytes are consumed, so a client cannot make us
/// buffer without bound.
const MAX_PIPELINE_BUFFER: usize = 64 * 1024;

/// How long a closing connection keeps reading (and discarding) after its last response, so
/// that unread request bytes do not make the kernel reset the connection and destroy the error
/// response before the client reads it (the "lingering close" of Apache and nginx).
const LINGER: Duration = Duration::from_secs(2);

thread_local! {
    // One zeroed read buffer for the event-loop thread: reads land here and only the bytes
    // received are copied into the connection's buffer, so no per-read zeroing or growth.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; READ_CHUNK].into_boxed_slice());
}

/// Most bytes reserved up front for a body from its `Content-Length`: a client can declare a
/// huge length and send nothing, so memory grows with the bytes received beyond this.
const MAX_BODY_PREALLOC: u64 = 1024 * 1024;

/// Most requests of one connection dispatched at once: pipelined requests run concurrently on
/// the workers (their responses still go out in order), so a pipelining client gets one write
/// per batch instead of one worker round trip per request. Bounded so one connection cannot
/// occupy the whole queue.
const MAX_PIPELINE_DEPTH: usize = 16;

/// Request ids, unique within the process.
static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// A client socket.
pub enum Stream {
    /// TCP.
    Tcp(mio::net::TcpStream),
    /// Unix domain.
    Unix(mio::net::UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
        }
    }
}

/// What the connection needs from the server while it works.
pub struct Ctx<'a> {
    /// Head limits.
    pub limits: Limits,
    /// Body limit (`None`: unlimited).
    pub body_limit: Option<u64>,
    /// Time to send a head; also the request deadline.
    pub timeout: Duration,
    /// Idle time allowed between requests.
    pub keep_alive: Duration,
    /// The worker pool.
    pub pool: &'a Pool,
    /// The access log, when enabled.
    pub access_log: Option<&'a mut AccessLog>,
    /// Whether the server is draining.
    pub shutting_down: bool,
}

/// What the access log needs from a request, kept while it is served.
#[derive(Default)]
struct LogInfo {
    request_line: Vec<u8>,
    referer: Vec<u8>,
    user_agent: Vec<u8>,
}

impl LogInfo {
    /// For a request whose head parsed.
    fn from_head(head: &Head, bytes: &[u8]) -> LogInfo {
        LogInfo {
            request_line: request_line(bytes),
            referer: header_value(head, bytes, b"referer"),
            user_agent: header_value(head, bytes, b"user-agent"),
        }
    }

    /// For a head refused or cut short: as much of its request line as arrived, at most `limit`
    /// bytes (so an over-long line cannot flood the log); empty when nothing arrived.
    fn from_partial(buf: &[u8], limit: usize) -> LogInfo {
        let mut line = request_line(buf);
        line.truncate(limit);
        LogInfo {
            request_line: line,
            ..LogInfo::default()
        }
    }
}

/// Why the server refuses a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The bytes received break the protocol or a limit.
    Invalid,
    /// The client did not send the head or body within `--timeout`.
    Timeout,
    /// The client closed its side before the request was whole.
    Disconnected,
}

/// One request whose response is owed to the client, in request order. Responses are written
/// strictly in this order; a later slot's bytes wait in `out` until every earlier one ended.
struct Slot {
    /// 0 for a response made by the server itself (errors, 503).
    request_id: u64,
    shared: Option<Arc<Shared>>,
    log: Option<LogInfo>,
    out: Vec<u8>,
    end: Option<End>,
}

/// The reading side's state.
// One per connection, switched per request: boxing `Body` would cost an allocation per
// request with a body to save a few hundred bytes per connection.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Waiting for (the rest of) a head.
    Head,
    /// Reading the body of `head` (whose bytes are `head_bytes`).
    Body {
        head: Head,
        head_bytes: Vec<u8>,
        decoder: Decoder,
        body: Vec<u8>,
    },
}

/// One client connection.
pub struct Connection {
    stream: Stream,
    id: usize,
    peer: Arc<Peer>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    wpos: usize,
    state: State,
    /// Responses owed, oldest first (pipelined requests run concurrently, answered in order).
    slots: VecDeque<Slot>,
    /// No more requests are read: the connection closes once `slots` are written.
    closing: bool,
    last_active: Instant,
    /// When the connection started waiting for its current head: `--timeout` counts from here,
    /// so a client trickling bytes cannot keep a head open forever.
    head_since: Instant,
    served: u64,
    read_closed: bool,
    /// Reading stopped at `MAX_PIPELINE_BUFFER` with bytes possibly left in the socket.
    read_paused: bool,
    /// Set when the connection must be dropped now (error, or done and flushed).
    dead: bool,
    /// Set once the write side is shut down while the client may still be sending.
    lingering_since: Option<Instant>,
    /// Since when owed bytes have been waiting for the socket to take any of them: a client
    /// that stops reading is cut off after `--timeout` (None while nothing is owed or the
    /// socket keeps taking bytes).
    write_stalled_since: Option<Instant>,
    /// Bytes in `wbuf` that count against the front slot's flow-control credit.
    unreleased: usize,
    /// Whether output is waiting for the next flush.
    pub dirty: bool,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: Stream, id: usize, peer: Arc<Peer>) -> Connection {
        Connection {
            stream,
            id,
            peer,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            state: State::Head,
            slots: VecDeque::new(),
            closing: false,
            last_active: Instant::now(),
            head_since: Instant::now(),
            served: 0,
            read_closed: false,
            read_paused: false,
            dead: false,
            lingering_since: None,
            write_stalled_since: None,
            unreleased: 0,
            dirty: false,
        }
    }

    /// The socket, for (de)registration.
    pub fn stream(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// Whether the connection should be dropped.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Whether the connection is between requests with nothing to send.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head)
            && self.slots.is_empty()
            && self.rbuf.is_empty()
            && self.wpos >= self.wbuf.len()
    }

    /// Reads what the socket has and advances the state machine.
    pub fn on_readable(&mut self, ctx: &mut Ctx<'_>) {
        self.read_socket();
        self.progress(ctx);
    }

    fn read_socket(&mut self) {
        while !self.read_closed && !self.dead {
            // While responses are owed, buffer only a bounded amount of what follows.
            let waiting = !self.slots.is_empty() || self.closing;
            if waiting && self.rbuf.len() >= MAX_PIPELINE_BUFFER && self.lingering_since.is_none() {
                // Edge-triggered: no new event will come for bytes already queued, so
                // `progress` resumes reading once the buffer has room again.
                self.read_paused = true;
                return;
            }
            let result = SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                let n = self.stream.read(&mut scratch[..])?;
                if self.lingering_since.is_none() {
                    self.rbuf.extend_from_slice(&scratch[..n]);
                }
                Ok::<usize, io::Error>(n)
            });
            match result {
                Ok(0) => {
                    self.read_closed = true;
                    if self.lingering_since.is_some() {
                        self.dead = true;
                    } else if self.slots.iter().any(|s| s.end.is_none()) {
                        // Like hyper without half-close: a client that closes while its requests
                        // run is gone, and the app learns it through is_cancelled / write.
                        log::debug!("connection {}: client closed during a request", self.id);
                        self.kill();
                    }
                }
                Ok(_) => self.last_active = Instant::now(),
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => return,
                    io::ErrorKind::Interrupted => continue,
                    _ => {
                        log::debug!("connection {}: read failed: {e}", self.id);
                        self.kill();
                        return;
                    }
                },
            }
        }
    }

    fn abandon_all(&mut self) {
        for slot in self.slots.drain(..) {
            if let Some(shared) = &slot.shared {
                shared.abandon();
            }
        }
    }

    fn kill(&mut self) {
        self.abandon_all();
        self.dead = true;
    }

    /// The client's address for log lines (`-` on a unix socket).
    fn client(&self) -> &str {
        if self.peer.remote_addr.is_empty() {
            "-"
        } else {
            &self.peer.remote_addr
        }
    }

    /// Queues a server-made error response (after the ones owed), with its access-log line, and
    /// stops reading requests. `why` decides how loudly it is logged.
    fn refuse(&mut self, ctx: &Ctx<'_>, status: u16, message: &str, info: LogInfo, why: Refusal) {
        match why {
            // Like gunicorn's "Invalid request from ip=...": a client error, not a server one,
            // so info rather than warn (a scanner must not flood the log at warn).
            Refusal::Invalid => log::info!("Invalid request from ip={}: {message}", self.client()),
            // A client that went quiet or left mid-request is not news (gunicorn ignores a
            // premature disconnection at debug).
            Refusal::Timeout | Refusal::Disconnected => log::debug!(
                "connection {} from {}: {status} {message}",
                self.id,
                self.client()
            ),
        }
        let mut out = Vec::new();
        let body_bytes = simple_response(&mut out, status, message, false, false, &[]);
        self.slots.push_back(Slot {
            request_id: 0,
            shared: None,
            log: ctx.access_log.is_some().then_some(info),
            out,
            end: Some(End {
                status,
                body_bytes,
                keep_alive: false,
            }),
        });
        self.closing = true;
        self.state = State::Head;
    }

    /// What the access log can say about the request being read: its head when it parsed, else
    /// what arrived of its request line.
    fn current_log_info(&self, ctx: &Ctx<'_>) -> LogInfo {
        match &self.state {
            State::Body {
                head, head_bytes, ..
            } => LogInfo::from_head(head, head_bytes),
            State::Head => LogInfo::from_partial(&self.rbuf, ctx.limits.request_line),
        }
    }

    /// Parses and dispatches requests, moves finished responses out, and repeats while that
    /// frees room for more.
    fn progress(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            self.advance(ctx);
            let popped = self.pump(ctx);
            if self.closing || self.dead {
                return;
            }
            if self.read_paused && self.rbuf.len() < MAX_PIPELINE_BUFFER {
                self.read_paused = false;
                self.read_socket();
                continue;
            }
            if popped == 0 {
                return;
            }
            self.read_socket();
        }
    }

    fn advance(&mut self, ctx: &mut Ctx<'_>) {
        while !self.closing && !self.dead && self.slots.len() < MAX_PIPELINE_DEPTH {
            match &mut self.state {
                State::Head => {
                    if self.rbuf.is_empty() {
                        if self.read_closed && self.slots.is_empty() {
                            self.closing = true;
                            self.dirty = true;
                        }
                        return;
                    }
                    match parse_head(&self.rbuf, &ctx.limits) {
                        Err(e) => {
                            let (status, message) = error_status(e);
                            let info = self.current_log_info(ctx);
                            self.refuse(ctx, status, message, info, Refusal::Invalid);
                            return;
                        }
                        Ok(None) => {
                            if self.read_closed {
                                let info = self.current_log_info(ctx);
                                let why = Refusal::Disconnected;
                                self.refuse(ctx, 400, "incomplete request head", info, why);
                            }
                            return;
                        }
                        Ok(Some(head)) => self.start_request(head, ctx),
                    }
                }
                State::Body { decoder, body, .. } => {
                    let used = match decoder.decode(&self.rbuf, body) {
                        Ok(n) => n,
                        Err(e) => {
                            let (status, message) = e.status();
                            let info = self.current_log_info(ctx);
                            self.refuse(ctx, status, message, info, Refusal::Invalid);
                            return;
                        }
                    };
                    self.rbuf.drain(..used);
                    if decoder.is_done() {
                        let State::Body {
                            head,
                            head_bytes,
                            body,
                            ..
                        } = std::mem::replace(&mut self.state, State::Head)
                        else {
                            return;
                        };
                        self.dispatch(head, head_bytes, body, ctx);
                    } else {
                        if self.read_closed {
                            let info = self.current_log_info(ctx);
                            let why = Refusal::Disconnected;
                            self.refuse(ctx, 400, "incomplete request body", info, why);
                        }
                        return;
                    }
                }
            }
        }
    }

    fn start_request(&mut self, head: Head, ctx: &mut Ctx<'_>) {
        let head_bytes = self.rbuf[..head.len].to_vec();
        self.rbuf.drain(..head.len);
        // `100 Continue` goes out at once only when no earlier response is owed; otherwise it
        // would overtake them. A client that pipelines behind others sends its body anyway.
        let say_continue = head.expect_continue && self.rbuf.is_empty() && self.slots.is_empty();
        match head.body {
            BodyKind::Empty => self.dispatch(head, head_bytes, Vec::new(), ctx),
            BodyKind::Length(n) => {
                if ctx.body_limit.is_some_and(|limit| n > limit) {
                    let (status, message) = BodyError::TooLarge.status();
                    let info = LogInfo::from_head(&head, &head_bytes);
                    self.refuse(ctx, status, message, info, Refusal::Invalid);
                    return;
                }
                if say_continue {
                    self.wbuf.extend_from_slice(CONTINUE);
                    self.dirty = true;
                }
                // Preallocate only a bounded amount: the declared size is the client's claim.
                let body = Vec::with_capacity(n.min(MAX_BODY_PREALLOC) as usize);
                self.state = State::Body {
                    head,
                    head_bytes,
                    decoder: Decoder::length(n),
                    body,
                };
            }
            BodyKind::Chunked => {
                if say_continue {
                    self.wbuf.extend_from_slice(CONTINUE);
                    self.dirty = true;
                }
                self.state = State::Body {
                    head,
                    head_bytes,
                    decoder: Decoder::chunked(ctx.body_limit),
                    body: Vec::new(),
                };
            }
        }
    }

    fn dispatch(&mut self, head: Head, head_bytes: Vec<u8>, body: Vec<u8>, ctx: &mut Ctx<'_>) {
        let request_id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
        let is_head = &head_bytes[head.method.clone()] == b"HEAD";
        let keep_alive = head.keep_alive && !ctx.shutting_down && !ctx.keep_alive.is_zero();
        let shared = Arc::new(Shared::default());
        let log = ctx
            .access_log
            .is_some()
            .then(|| LogInfo::from_head(&head, &head_bytes));
        let content_length = match head.body {
            BodyKind::Empty => 0,
            BodyKind::Length(n) => i64::try_from(n).unwrap_or(i64::MAX),
            BodyKind::Chunked => -1,
        };
        let job = Job {
            conn: self.id,
            request_id,
            method: head.method,
            target: head.target,
            path: head.path,
            query: head.query,
            authority: head.authority,
            minor: head.minor,
            headers: head.headers,
            head: head_bytes,
            body,
            content_length,
            is_head,
            keep_alive,
            peer: Arc::clone(&self.peer),
            deadline_unix_ms: if ctx.timeout.is_zero() {
                0
            } else {
                now_unix_ms() + ctx.timeout.as_millis() as u64
            },
            shared: Arc::clone(&shared),
        };
        let slot = match ctx.pool.submit(job) {
            Ok(()) => Slot {
                request_id,
                shared: Some(shared),
                log,
                out: Vec::new(),
                end: None,
            },
            Err(job) => {
                log::warn!("queue full: answering 503 to request {}", job.request_id);
                let mut out = Vec::new();
                let body_bytes = simple_response(
                    &mut out,
                    503,
                    "the server is overloaded, retry later",
                    keep_alive,
                    is_head,
                    &[("Retry-After", "1")],
                );
                Slot {
                    request_id,
                    shared: None,
                    log,
                    out,
                    end: Some(End {
                        status: 503,
                        body_bytes,
                        keep_alive,
                    }),
                }
            }
        };
        self.slots.push_back(slot);
        if !keep_alive {
            // Nothing after a request that ends the connection is read.
            self.closing = true;
        }
    }

    /// Moves finished output of the oldest slots to the write buffer, in order. Returns how
    /// many responses ended.
    fn pump(&mut self, ctx: &mut Ctx<'_>) -> usize {
        let mut popped = 0;
        while let Some(front) = self.slots.front_mut() {
            if !front.out.is_empty() {
                if self.wpos >= self.wbuf.len() {
                    self.wbuf.clear();
                    self.wpos = 0;
                }
                if front.shared.is_some() {
                    self.unreleased += front.out.len();
                }
                self.wbuf.extend_from_slice(&front.out);
                front.out.clear();
                self.dirty = true;
            }
            let Some(end) = front.end else {
                break;
            };
            let Some(slot) = self.slots.pop_front() else {
                break;
            };
            if let Some(shared) = &slot.shared {
                shared.release(self.unreleased);
            }
            self.unreleased = 0;
            popped += 1;
            if let Some(info) = &slot.log {
                self.log_access(ctx, info, end.status, end.body_bytes);
            }
            self.served += 1;
            self.last_active = Instant::now();
            self.head_since = self.last_active;
            if !end.keep_alive || ctx.shutting_down {
                self.closing = true;
                self.abandon_all();
                break;
            }
        }
        popped
    }

    fn log_access(&self, ctx: &mut Ctx<'_>, info: &LogInfo, status: u16, bytes: u64) {
        if let Some(log) = ctx.access_log.as_deref_mut() {
            log.log(&Entry {
                host: self.client(),
                request_line: &info.request_line,
                status,
                bytes,
                referer: &info.referer,
                user_agent: &info.user_agent,
            });
        }
    }

    /// Takes bytes from a worker serving one of this connection's requests.
    pub fn on_output(&mut self, out: Output, ctx: &mut Ctx<'_>) {
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.request_id == out.request_id && s.end.is_none())
        else {
            return;
        };
        if slot.out.is_empty() {
            slot.out = out.data;
        } else {
            slot.out.extend_from_slice(&out.data);
        }
        slot.end = out.end;
        self.dirty = true;
        self.progress(ctx);
    }

    /// Writes queued bytes until the socket would block. Called once per loop turn per dirty
    /// connection, so pipelined responses share one write call.
    pub fn flush(&mut self) {
        self.dirty = false;
        while self.wpos < self.wbuf.len() && !self.dead {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => {
                    self.kill();
                    return;
                }
                Ok(n) => {
                    self.wpos += n;
                    self.write_stalled_since = None;
                }
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => {
                        self.write_stalled_since.get_or_insert_with(Instant::now);
                        return;
                    }
                    io::ErrorKind::Interrupted => {}
                    _ => {
                        log::debug!("connection {}: client gone: {e}", self.id);
                        self.kill();
                        return;
                    }
                },
            }
        }
        if self.wpos >= self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            self.write_stalled_since = None;
            if let Some(shared) = self.slots.front().and_then(|s| s.shared.as_ref()) {
                shared.release(self.unreleased);
            }
            self.unreleased = 0;
            if self.closing && self.slots.is_empty() && self.lingering_since.is_none() {
                if self.read_closed {
                    self.dead = true;
                    return;
                }
                let _ = match &self.stream {
                    Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
                    Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
                };
                self.lingering_since = Some(Instant::now());
                self.rbuf.clear();
                self.read_socket();
            }
        }
    }

    /// Applies the timeouts; returns true when the connection was closed by them.
    pub fn sweep(&mut self, now: Instant, ctx: &mut Ctx<'_>) -> bool {
        // `--timeout 0` disables the head, body, write and deadline timeouts, as in gunicorn.
        let timeout = if ctx.timeout.is_zero() {
            Duration::MAX
        } else {
            ctx.timeout
        };
        let idle = now.saturating_duration_since(self.last_active);
        let waiting = now.saturating_duration_since(self.head_since);
        if let Some(since) = self.write_stalled_since {
            let stalled = now.saturating_duration_since(since);
            if self.wpos < self.wbuf.len() && stalled > timeout {
                // The client stopped reading: its requests are abandoned (their `write` fails
                // and `is_cancelled` says the client is gone), which frees their workers.
                log::info!(
                    "connection {} from {}: client read nothing for {stalled:.0?} with {} bytes owed; closing",
                    self.id,
                    self.client(),
                    self.wbuf.len() - self.wpos
                );
                self.kill();
                return true;
            }
        }
        if self.closing {
            if let Some(since) = self.lingering_since {
                if now.saturating_duration_since(since) > LINGER {
                    self.dead = true;
                    return true;
                }
            } else if self.slots.is_empty() && idle > timeout {
                // The client stopped reading the last response.
                self.kill();
                return true;
            }
            return false;
        }
        if !self.slots.is_empty() {
            // Requests are running: the app has their deadline; nothing to time out here.
            return false;
        }
        match &self.state {
            State::Head if self.rbuf.is_empty() && self.wpos >= self.wbuf.len() => {
                let limit = if self.served > 0 {
                    ctx.keep_alive
                } else {
                    timeout
                };
                if ctx.shutting_down || waiting > limit {
                    self.dead = true;
                    return true;
                }
            }
            State::Head if waiting > timeout => {
                self.send_timeout(ctx, "request head not received in time");
                return true;
            }
            State::Body { .. } if idle > timeout => {
                self.send_timeout(ctx, "request body not received in time");
                return true;
            }
            _ => {}
        }
        false
    }

    /// Answers 408 (no response is owed: the sweep only times out a connection between
    /// responses), writes what the socket takes at once, and drops the connection.
    fn send_timeout(&mut self, ctx: &mut Ctx<'_>, message: &str) {
        let info = self.current_log_info(ctx);
        self.refuse(ctx, 408, message, info, Refusal::Timeout);
        self.pump(ctx);
        self.flush();
        self.dead = true;
    }

    /// Marks in-flight requests as given up (graceful timeout ran out).
    pub fn cancel_for_shutdown(&mut self) {
        for slot in &self.slots {
            if let Some(shared) = &slot.shared {
                shared.shutdown.store(true, Ordering::Release);
                shared.abandon();
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.abandon_all();
    }
}

/// The request line of a head (without CRLF), for the access log.
fn request_line(head: &[u8]) -> Vec<u8> {
    let start = head
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(0);
    let rest = &head[start..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let line = &rest[..end];
    line.strip_suffix(b"\r").unwrap_or(line).to_vec()
}

fn header_value(head: &Head, bytes: &[u8], name: &[u8]) -> Vec<u8> {
    head.headers
        .iter()
        .find(|(n, _)| bytes[n.clone()].eq_ignore_ascii_case(name))
        .map(|(_, v)| bytes[v.clone()].to_vec())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::parse::{parse_head, Limits};

    #[test]
    fn request_line_and_header_values_for_the_access_log() {
        let buf = b"\r\nGET /x?y HTTP/1.1\r\nHost: h\r\nUser-Agent: ua/1\r\nReferer: r\r\n\r\n";
        let limits = Limits {
            request_line: 100,
            fields: 10,
            field_size: 100,
        };
        let head = parse_head(buf, &limits).unwrap().unwrap();
        assert_eq!(request_line(buf), b"GET /x?y HTTP/1.1");
        assert_eq!(header_value(&head, buf, b"user-agent"), b"ua/1");
        assert_eq!(header_value(&head, buf, b"REFERER"), b"r");
        assert_eq!(header_value(&head, buf, b"cookie"), b"");
    }

    #[test]
    fn a_refused_head_logs_what_arrived_of_its_line_bounded() {
        let info = LogInfo::from_partial(b"\r\nGET /aaaaaaaaaa HTTP/1.1\r\nHost: x", 8);
        assert_eq!(info.request_line, b"GET /aaa");
        let info = LogInfo::from_partial(b"G@T / HTTP/1.1\r\n\r\n", 4094);
        assert_eq!(info.request_line, b"G@T / HTTP/1.1");
        assert!(LogInfo::from_partial(b"\r\n", 4094).request_line.is_empty());
        assert!(LogInfo::from_partial(b"", 4094).request_line.is_empty());
    }
}
