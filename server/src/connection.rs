//! Owns one client connection's state machine: reading and parsing heads, decoding bodies,
//! dispatching jobs, collecting the worker's bytes, writing them in order, keep-alive and the
//! per-connection timeouts. It never blocks: the socket is non-blocking and edge-triggered.
//!
//! Request bodies are read and decoded here, whole (up to `--limit-request-body`), before the
//! job is dispatched; `read_body` then reads from that buffer. Pipelined requests are answered
//! strictly in order: the next head is parsed only once the current response has ended.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access_log::{AccessLog, Entry};
use crate::app::now_unix_ms;
use crate::http1::body::{BodyError, Decoder};
use crate::http1::parse::{error_status, parse_head, BodyKind, Head, Limits};
use crate::http1::write::{simple_response, CONTINUE};
use crate::worker::{Job, Output, Peer, Pool, Shared};

/// Bytes requested from the socket per read call.
const READ_CHUNK: usize = 64 * 1024;

/// Unparsed bytes a connection buffers while a request is being served (pipelined requests);
/// beyond it the connection stops reading until the current response is done, so a client
/// cannot make us buffer without bound.
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

/// What the access log needs from the request, kept while it is served.
struct Pending {
    request_id: u64,
    shared: Arc<Shared>,
    request_line: Vec<u8>,
    referer: Vec<u8>,
    user_agent: Vec<u8>,
}

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
    /// A worker is serving the request.
    Busy(Pending),
    /// Done: write what is left, then close.
    Closing,
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
    last_active: Instant,
    /// When the connection started waiting for its current head: `--timeout` counts from here,
    /// so a client trickling bytes cannot keep a head open forever.
    head_since: Instant,
    served: u64,
    read_closed: bool,
    /// Set when the connection must be dropped now (error, or done and flushed).
    dead: bool,
    /// Set once the write side is shut down while the client may still be sending.
    lingering_since: Option<Instant>,
    /// Bytes in `wbuf` that belong to the busy request's flow-control credit.
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
            last_active: Instant::now(),
            head_since: Instant::now(),
            served: 0,
            read_closed: false,
            dead: false,
            lingering_since: None,
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
        matches!(self.state, State::Head) && self.wpos >= self.wbuf.len()
    }

    /// Reads what the socket has and advances the state machine.
    pub fn on_readable(&mut self, ctx: &mut Ctx<'_>) {
        self.read_socket();
        self.advance(ctx);
    }

    fn read_socket(&mut self) {
        while !self.read_closed && !self.dead {
            let busy = matches!(self.state, State::Busy(_) | State::Closing);
            if busy && self.rbuf.len() >= MAX_PIPELINE_BUFFER {
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
                    } else if let State::Busy(p) = &self.state {
                        // Like hyper without half-close: a client that closes while its request
                        // runs is gone, and the app learns it through is_cancelled / write.
                        log::debug!("connection {}: client closed during a request", self.id);
                        p.shared.abandon();
                        self.dead = true;
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

    fn kill(&mut self) {
        if let State::Busy(p) = &self.state {
            p.shared.abandon();
        }
        self.dead = true;
    }

    /// Queues a server-made error response and closes after writing it.
    fn fail(&mut self, status: u16, message: &str) {
        log::debug!("connection {}: {status} {message}", self.id);
        simple_response(&mut self.wbuf, status, message, false, false, &[]);
        self.dirty = true;
        self.state = State::Closing;
    }

    fn advance(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            match &mut self.state {
                State::Head => {
                    if self.rbuf.is_empty() {
                        if self.read_closed {
                            self.state = State::Closing;
                            self.dirty = true;
                        }
                        return;
                    }
                    match parse_head(&self.rbuf, &ctx.limits) {
                        Err(e) => {
                            let (status, message) = error_status(e);
                            self.fail(status, message);
                            return;
                        }
                        Ok(None) => {
                            if self.read_closed {
                                self.fail(400, "incomplete request head");
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
                            self.fail(status, message);
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
                            self.fail(400, "incomplete request body");
                        }
                        return;
                    }
                }
                State::Busy(_) | State::Closing => return,
            }
        }
    }

    fn start_request(&mut self, head: Head, ctx: &mut Ctx<'_>) {
        let head_bytes = self.rbuf[..head.len].to_vec();
        self.rbuf.drain(..head.len);
        match head.body {
            BodyKind::Empty => self.dispatch(head, head_bytes, Vec::new(), ctx),
            BodyKind::Length(n) => {
                if ctx.body_limit.is_some_and(|limit| n > limit) {
                    let (status, message) = BodyError::TooLarge.status();
                    self.fail(status, message);
                    return;
                }
                if head.expect_continue && self.rbuf.is_empty() {
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
                if head.expect_continue && self.rbuf.is_empty() {
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
        let pending = Pending {
            request_id,
            shared: Arc::clone(&shared),
            request_line: if ctx.access_log.is_some() {
                request_line(&head_bytes)
            } else {
                Vec::new()
            },
            referer: if ctx.access_log.is_some() {
                header_value(&head, &head_bytes, b"referer")
            } else {
                Vec::new()
            },
            user_agent: if ctx.access_log.is_some() {
                header_value(&head, &head_bytes, b"user-agent")
            } else {
                Vec::new()
            },
        };
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
            shared,
        };
        match ctx.pool.submit(job) {
            Ok(()) => self.state = State::Busy(pending),
            Err(job) => {
                log::warn!("queue full: answering 503 to request {}", job.request_id);
                simple_response(
                    &mut self.wbuf,
                    503,
                    "the server is overloaded, retry later",
                    keep_alive,
                    is_head,
                    &[("Retry-After", "1")],
                );
                self.dirty = true;
                self.log_access(ctx, &pending, 503, 0);
                self.served += 1;
                self.head_since = Instant::now();
                self.state = if keep_alive {
                    State::Head
                } else {
                    State::Closing
                };
            }
        }
    }

    fn log_access(&self, ctx: &mut Ctx<'_>, p: &Pending, status: u16, bytes: u64) {
        if let Some(log) = ctx.access_log.as_deref_mut() {
            let host = if self.peer.remote_addr.is_empty() {
                "-"
            } else {
                &self.peer.remote_addr
            };
            log.log(&Entry {
                host,
                request_line: &p.request_line,
                status,
                bytes,
                referer: &p.referer,
                user_agent: &p.user_agent,
            });
        }
    }

    /// Takes bytes from the worker serving this connection.
    pub fn on_output(&mut self, out: Output, ctx: &mut Ctx<'_>) {
        let State::Busy(pending) = &self.state else {
            return;
        };
        if pending.request_id != out.request_id {
            return;
        }
        if self.wpos >= self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
        }
        self.unreleased += out.data.len();
        self.wbuf.extend_from_slice(&out.data);
        self.dirty = true;
        let Some(end) = out.end else {
            return;
        };
        let State::Busy(pending) = std::mem::replace(&mut self.state, State::Head) else {
            return;
        };
        pending.shared.release(self.unreleased);
        self.unreleased = 0;
        self.log_access(ctx, &pending, end.status, end.body_bytes);
        self.served += 1;
        self.last_active = Instant::now();
        self.head_since = self.last_active;
        if !end.keep_alive || ctx.shutting_down {
            self.state = State::Closing;
            return;
        }
        self.on_readable(ctx);
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
                Ok(n) => self.wpos += n,
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock => return,
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
            if let State::Busy(p) = &self.state {
                p.shared.release(self.unreleased);
                self.unreleased = 0;
            }
            if matches!(self.state, State::Closing) && self.lingering_since.is_none() {
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
    pub fn sweep(&mut self, now: Instant, ctx: &Ctx<'_>) -> bool {
        // `--timeout 0` disables the head, body and deadline timeouts, as in gunicorn.
        let timeout = if ctx.timeout.is_zero() {
            Duration::MAX
        } else {
            ctx.timeout
        };
        let idle = now.saturating_duration_since(self.last_active);
        let waiting = now.saturating_duration_since(self.head_since);
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
                self.fail(408, "request head not received in time");
                self.flush();
                self.dead = true;
                return true;
            }
            State::Body { .. } if idle > timeout => {
                self.fail(408, "request body not received in time");
                self.flush();
                self.dead = true;
                return true;
            }
            State::Closing
                if self
                    .lingering_since
                    .is_some_and(|t| now.saturating_duration_since(t) > LINGER) =>
            {
                self.dead = true;
                return true;
            }
            State::Closing if idle > timeout => {
                self.dead = true;
                return true;
            }
            _ => {}
        }
        false
    }

    /// Marks an in-flight request as given up (graceful timeout ran out).
    pub fn cancel_for_shutdown(&mut self) {
        if let State::Busy(p) = &self.state {
            p.shared.shutdown.store(true, Ordering::Release);
            p.shared.abandon();
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let State::Busy(p) = &self.state {
            p.shared.abandon();
        }
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
        let buf = b"\r\nGET /x?y HTTP/1.1\r\nUser-Agent: ua/1\r\nReferer: r\r\n\r\n";
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
}
