//! Owns one client connection between requests: its socket, read window and write buffer, and
//! its two explicit states, [`Reading`] (what the next bytes from the client are for) and
//! [`Writing`] (where the bytes owed to it stand). The event loop asks it to [`advance`] (parse
//! the next head, refuse bad input, drain an unread body), to [`flush`], to [`settle`] (close when
//! both sides are done, with a lingering close) and to [`tick`] (timeouts). Nothing here blocks.
//!
//! While its request runs in the app, a connection is out of the loop, owned by the thread making
//! the call (`exchange`), which streams the body and the response through the same buffers.
//!
//! [`advance`]: Connection::advance
//! [`flush`]: Connection::flush
//! [`settle`]: Connection::settle
//! [`tick`]: Connection::tick

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::edge::access_log::AccessLog;
use crate::edge::log_format::{Headers, Record};
use crate::edge::metrics::WorkerMetrics;
use crate::edge::peer::{AddrText, Peer};
use crate::edge::proxy::ForwardedAllow;
use crate::edge::proxy_protocol;
use crate::edge::ratelimit::RateLimited;
use crate::http1::body::{BodyError, Decoder};
use crate::http1::encode::simple_response;
use crate::http1::parse::{error_status, parse_head_reusing, BodyKind, Head, Limits};
use crate::serve::io::{ReadBuf, Stream, WriteBuf, READ_BUF};
use crate::serve::min_rate::MinRate;

/// Unsent response bytes past which the next pipelined request is not started, and an app's
/// `write` waits for the client: bounds a connection's output memory whatever the client does.
pub const WRITE_BOUND: usize = 256 * 1024;

/// Most bytes of a body the app did not read that are read and thrown away so the connection can
/// serve its next request (Go's net/http drains as much); past it, or for a client that holds its
/// body back for `100 Continue`, the connection closes after the response instead.
pub const MAX_DRAIN: u64 = 256 * 1024;

/// How long a closing connection keeps reading (and discarding) after its last response, so
/// unread request bytes do not make the kernel reset the connection and destroy the response
/// before the client reads it (the "lingering close" of Apache and nginx): at most this long
/// without a byte from the client.
pub const LINGER_IDLE: Duration = Duration::from_secs(2);

/// ... and at most this long in all, however slowly the client keeps sending.
pub const LINGER_TOTAL: Duration = Duration::from_secs(30);

/// In a retiring worker's gentle drain, how long a connection that has not sent its first
/// request yet is waited for (at most `--timeout`): a client sends its first request right after
/// connecting, and one that sends nothing is not worth keeping a retiring worker for.
pub const DRAIN_FRESH_GRACE: Duration = Duration::from_secs(2);

/// Connections refused for their PROXY header (or its absence), at most once a second.
static PROXY_REFUSED: RateLimited = RateLimited::new();

/// The 503 answer's warning, at most once a second with a count.
static QUEUE_FULL: RateLimited = RateLimited::new();

/// What a connection needs to know of the server's configuration.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Head limits.
    pub limits: Limits,
    /// Body limit (`None`: unlimited).
    pub body_limit: Option<u64>,
    /// `--timeout`: to send a head, between body bytes, to take owed bytes; `None`: no limit.
    pub timeout: Option<Duration>,
    /// `--keep-alive`: idle time allowed between requests; zero: no keep-alive.
    pub keep_alive: Duration,
    /// `--body-timeout` and `--body-min-rate`: how fast a client must send a body, or take a
    /// response, that a call waits on.
    pub min_rate: MinRate,
    /// `--proxy-protocol`: the peers allowed to send the PROXY header every connection must
    /// start with (`--proxy-allow-from`); `None`: no header is expected.
    pub proxy_protocol: Option<ForwardedAllow>,
}

impl ConnConfig {
    /// The largest read buffer a head may need: the head limits, plus a window.
    pub(crate) fn max_read_buf(&self) -> usize {
        let l = &self.limits;
        l.request_line
            .saturating_add(l.fields.saturating_mul(l.field_size))
            .saturating_add(8 + READ_BUF)
    }

    fn timed_out(&self, since: Instant, now: Instant) -> bool {
        self.timeout
            .is_some_and(|t| now.saturating_duration_since(since) > t)
    }
}

/// What the bytes the client sends next are for.
pub enum Reading {
    /// `--proxy-protocol`: the PROXY header must come first, within `--timeout` of `since`.
    Proxy {
        /// When the connection was accepted.
        since: Instant,
    },
    /// Between requests with nothing buffered: a fresh connection, or a kept-alive one. Such a
    /// connection is on its loop's idle list and may be closed to make room (oldest first).
    Idle {
        /// Since when.
        since: Instant,
    },
    /// Part of a head has arrived; it must be whole within `--timeout` of `since`.
    Head {
        /// When the wait for this head began.
        since: Instant,
    },
    /// A complete request waits for an app thread (every `--threads` one is busy).
    Queued {
        /// Since when.
        since: Instant,
    },
    /// The rest of a body the app did not read is read and thrown away before the next head.
    Drain {
        /// Where in the body we are.
        decoder: Decoder,
        /// Bytes still allowed to be thrown away before giving up and closing.
        budget: u64,
        /// The last time a byte arrived.
        since: Instant,
    },
    /// No more requests: the client closed its side or asked to close, broke the protocol, or
    /// the server is closing. The connection ends once its responses are out.
    Done,
}

/// Where the bytes owed to the client stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// Nothing owed (or not tried yet since the last response was added).
    Ready,
    /// Bytes are owed and the socket is full; `since` is the last time it took any.
    Blocked {
        /// The last progress.
        since: Instant,
    },
    /// Everything was sent and the sending side shut down; what the client still sends is
    /// discarded until it closes (lingering close).
    Linger {
        /// When the sending side was shut.
        since: Instant,
        /// The last time a byte arrived.
        last_byte: Instant,
    },
    /// The socket failed (reset, broken pipe): the connection is dropped.
    Broken,
}

/// What the socket may have for us (the loop's readiness is edge-triggered, so the connection
/// remembers whether it read everything since the last edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// The last read emptied the socket: wait for the next readiness event.
    Drained,
    /// The socket may hold bytes.
    Ready,
    /// The client's FIN was signalled with the last readiness event: read until the end of the
    /// stream is seen, as a short read no longer means there is nothing more (the end is).
    Closing,
    /// The client closed its sending side (FIN): what it sent is still served.
    Eof,
}

/// What the loop does with a connection after [`Connection::advance`].
#[derive(Debug)]
pub enum Next {
    /// A request head is complete (its ranges index [`Connection::pending`]): run it, or queue
    /// it when every app thread is busy.
    Request(Head),
    /// Nothing more to do until the socket is ready or a timer fires.
    Wait,
}

/// What a body the app did not read to the end becomes after its response.
#[derive(Debug)]
pub enum Leftover {
    /// Nothing left.
    Nothing,
    /// Read and thrown away, then the next request.
    Drain(Decoder, u64),
    /// Too much, or held back by a client waiting for `100 Continue`: close after the response.
    Close,
}

impl Leftover {
    /// The plan for a body that was `decoder` when the app stopped reading it; `held_back` when
    /// the client waits for a `100 Continue` that was never sent (it may never send the body).
    pub fn of(decoder: Option<Decoder>, held_back: bool, drained_already: u64) -> Leftover {
        match decoder {
            None => Leftover::Nothing,
            Some(d) if d.is_done() => Leftover::Nothing,
            Some(_) if held_back => Leftover::Close,
            Some(d) => {
                let budget = MAX_DRAIN.saturating_sub(drained_already);
                match d.remaining_length() {
                    Some(n) if n > budget => Leftover::Close,
                    _ if budget == 0 => Leftover::Close,
                    _ => Leftover::Drain(d, budget),
                }
            }
        }
    }

    /// The plan for the body of a request the app never saw (refused or overloaded).
    pub fn unstarted(head: &Head, body_limit: Option<u64>) -> Leftover {
        let decoder = match head.body {
            BodyKind::Empty => None,
            BodyKind::Length(n) => Some(Decoder::length(n)),
            BodyKind::Chunked => Some(Decoder::chunked(body_limit)),
        };
        Leftover::of(decoder, head.expect_continue, 0)
    }

    /// Whether the connection can serve another request after this.
    pub fn keeps_alive(&self) -> bool {
        !matches!(self, Leftover::Close)
    }
}

/// Why the server refuses a request itself; decides how loudly it is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes received break the protocol or a limit.
    Invalid,
    /// The client did not send the head or body within `--timeout`.
    Timeout,
    /// The client closed its side before the request was whole.
    Disconnected,
}

/// What the access log says of a request, from its head or from what arrived of it.
pub struct LogLine<'a> {
    /// The request line, without CRLF (empty: none arrived).
    pub request_line: &'a [u8],
    /// The header fields (none for a head refused before it was whole).
    pub headers: Headers<'a>,
}

impl<'a> LogLine<'a> {
    /// For a parsed head whose ranges index `bytes`.
    pub fn of_head(head: &'a Head, bytes: &'a [u8]) -> LogLine<'a> {
        LogLine {
            request_line: request_line(bytes),
            headers: Headers::new(&head.headers, bytes),
        }
    }

    /// For a head refused or cut short: as much of its request line as arrived, at most `limit`
    /// bytes (so an over-long line cannot flood the log).
    pub fn of_partial(bytes: &'a [u8], limit: usize) -> LogLine<'a> {
        let line = request_line(bytes);
        LogLine {
            request_line: &line[..line.len().min(limit)],
            headers: Headers::NONE,
        }
    }

    /// Writes the line for a response the server made itself, with `status` and `bytes` of
    /// body.
    pub fn write(&self, log: &AccessLog, client: &str, status: u16, bytes: u64) {
        self.write_timed(log, client, status, bytes, Duration::ZERO, 0);
    }

    /// Writes the line for a request the app answered: `elapsed` since the call began, and
    /// the request id the app saw.
    pub fn write_timed(
        &self,
        log: &AccessLog,
        client: &str,
        status: u16,
        bytes: u64,
        elapsed: Duration,
        request_id: u64,
    ) {
        log.log(&Record {
            client,
            request_line: self.request_line,
            status,
            bytes,
            headers: self.headers,
            elapsed,
            request_id,
        });
    }
}

/// The request line of a head (without CRLF and leading empty lines).
fn request_line(head: &[u8]) -> &[u8] {
    let start = head
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(head.len());
    let rest = &head[start..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let line = &rest[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The server-wide things a connection consults as it advances.
pub struct Env<'a> {
    /// Limits and timeouts.
    pub config: &'a ConnConfig,
    /// The server is shutting down: no request is read after the current one.
    pub draining: bool,
    /// Idle connections are closed at once (TERM's drain). In a retiring worker's gentle drain
    /// they are not: a kept-alive one gets its `--keep-alive` (the client may be sending on it
    /// right now, and closing under it would be an error it sees), a fresh one
    /// [`DRAIN_FRESH_GRACE`]; each one's next request is answered with `Connection: close`.
    pub close_idle: bool,
    /// The access log, when enabled.
    pub access_log: Option<&'a AccessLog>,
    /// This worker's metrics page, with `--metrics-bind`.
    pub metrics: Option<&'a WorkerMetrics>,
    /// The header list the next parsed head takes (and finished heads give back).
    pub spare: &'a mut Vec<(Range<usize>, Range<usize>)>,
}

/// One client connection.
pub struct Connection {
    pub(crate) stream: Stream,
    pub(crate) peer: Peer,
    /// Bytes read and not consumed; `None` while the connection holds none (no memory).
    pub(crate) rbuf: Option<ReadBuf>,
    pub(crate) wbuf: WriteBuf,
    pub(crate) reading: Reading,
    pub(crate) writing: Writing,
    pub(crate) inbound: Inbound,
    /// Responses completed, for the keep-alive and idle-reclaim rules.
    pub(crate) served: u64,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: Stream, peer: Peer, now: Instant) -> Connection {
        Connection {
            stream,
            peer,
            rbuf: None,
            wbuf: WriteBuf::default(),
            reading: Reading::Idle { since: now },
            writing: Writing::Ready,
            // Edge-triggered: bytes that came with the connection raise no event of their own.
            inbound: Inbound::Ready,
            served: 0,
        }
    }

    /// Expects the PROXY protocol header before the first request (`--proxy-protocol`).
    pub fn expect_proxy_header(&mut self, now: Instant) {
        self.reading = Reading::Proxy { since: now };
    }

    /// The socket, for (de)registration.
    pub fn stream_mut(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// The client's address for log lines (`-` on a unix socket).
    pub fn client(&self) -> &str {
        self.peer.client()
    }

    /// The socket reported readiness to read; `closed` when the event also said the client
    /// closed its sending side (its data and its FIN may have come in one edge).
    pub fn on_readable(&mut self, closed: bool) {
        self.inbound = match self.inbound {
            Inbound::Eof => Inbound::Eof,
            Inbound::Closing => Inbound::Closing,
            _ if closed => Inbound::Closing,
            _ => Inbound::Ready,
        };
    }

    /// The unconsumed bytes read: a parsed head's ranges index these.
    pub fn pending(&self) -> &[u8] {
        self.rbuf.as_ref().map_or(&[][..], ReadBuf::bytes)
    }

    /// Between requests, nothing buffered, nothing owed: may be closed to make room.
    pub fn is_idle(&self) -> bool {
        matches!(self.reading, Reading::Idle { .. })
            && self.rbuf.as_ref().is_none_or(ReadBuf::is_empty)
            && self.wbuf.is_empty()
            && self.writing == Writing::Ready
    }

    /// For an idle connection: since when, and whether it ever sent a request.
    pub fn idle_since(&self) -> Option<(Instant, bool)> {
        match self.reading {
            Reading::Idle { since } if self.is_idle() => Some((since, self.served > 0)),
            _ => None,
        }
    }

    /// Reads what the socket has into the read window.
    fn fill(&mut self, config: &ConnConfig) -> Fill {
        loop {
            match self.inbound {
                Inbound::Drained => return Fill::WouldBlock,
                Inbound::Eof => return Fill::Eof,
                Inbound::Ready | Inbound::Closing => {}
            }
            let buf = self.rbuf.get_or_insert_with(ReadBuf::take);
            if buf.room() == 0 {
                if buf.start() > 0 {
                    buf.compact_from(buf.start());
                } else if !buf.grow_to(buf.capacity() * 2, config.max_read_buf()) {
                    return Fill::Full;
                }
            }
            let room = buf.room();
            match buf.read_from(&mut self.stream) {
                Ok(0) => {
                    self.inbound = Inbound::Eof;
                    return Fill::Eof;
                }
                Ok(n) => {
                    // A short read emptied the socket: the next edge says when there is more
                    // (unless the FIN is known to be waiting: then the next read sees it).
                    if n < room && self.inbound == Inbound::Ready {
                        self.inbound = Inbound::Drained;
                    }
                    return Fill::Data;
                }
                Err(e) => match e.kind() {
                    std::io::ErrorKind::WouldBlock => self.inbound = Inbound::Drained,
                    std::io::ErrorKind::Interrupted => {}
                    _ => {
                        log::debug!("read from {} failed: {e}", self.client());
                        self.writing = Writing::Broken;
                        return Fill::Broken;
                    }
                },
            }
        }
    }

    /// Moves the connection on as far as it goes without blocking: parses the next head (and
    /// returns it), refuses bad input, drains an unread body, discards what a closing client
    /// still sends.
    pub fn advance(&mut self, env: &mut Env<'_>, now: Instant) -> Next {
        loop {
            if self.writing == Writing::Broken {
                return Next::Wait;
            }
            match &mut self.reading {
                Reading::Queued { .. } => return Next::Wait,
                Reading::Proxy { .. } => {
                    if !self.take_proxy_header(env, now) {
                        return Next::Wait;
                    }
                }
                Reading::Done => {
                    // Before the last response is out, unread bytes just wait in the socket;
                    // after it, they are thrown away until the client closes.
                    if !matches!(self.writing, Writing::Linger { .. }) {
                        return Next::Wait;
                    }
                    if let Some(buf) = self.rbuf.as_mut() {
                        buf.clear();
                    }
                    match self.fill(env.config) {
                        Fill::Data => {
                            if let Writing::Linger { last_byte, .. } = &mut self.writing {
                                *last_byte = now;
                            }
                        }
                        _ => return Next::Wait,
                    }
                }
                Reading::Drain {
                    decoder,
                    budget,
                    since,
                } => {
                    let pending = self.rbuf.as_ref().map_or(&[][..], ReadBuf::bytes);
                    if !pending.is_empty() {
                        let outcome = match decoder.discard(pending) {
                            Ok(n) if (n as u64) <= *budget => {
                                *budget -= n as u64;
                                *since = now;
                                Some((n, decoder.is_done()))
                            }
                            // Over the budget, or malformed: no next request can be found.
                            _ => None,
                        };
                        match outcome {
                            Some((n, done)) => {
                                if let Some(buf) = self.rbuf.as_mut() {
                                    buf.consume(n);
                                }
                                if done {
                                    self.reading = self.next_head(now);
                                }
                            }
                            None => self.reading = Reading::Done,
                        }
                        continue;
                    }
                    match self.fill(env.config) {
                        Fill::Data => {}
                        Fill::Eof | Fill::Full => self.reading = Reading::Done,
                        Fill::WouldBlock | Fill::Broken => return Next::Wait,
                    }
                }
                Reading::Idle { .. } | Reading::Head { .. } => {
                    // The next pipelined request waits until the owed bytes drain below the
                    // bound, so a client that does not read cannot grow our memory.
                    if self.wbuf.unsent() > WRITE_BOUND {
                        return Next::Wait;
                    }
                    let pending = self.rbuf.as_ref().map_or(&[][..], ReadBuf::bytes);
                    if !pending.is_empty() {
                        match parse_head_reusing(pending, &env.config.limits, env.spare) {
                            Ok(Some(head)) => {
                                if let BodyKind::Length(n) = head.body {
                                    if env.config.body_limit.is_some_and(|limit| n > limit) {
                                        let (status, message) = BodyError::TooLarge.status();
                                        self.refuse_head(env, &head, status, message);
                                        continue;
                                    }
                                }
                                return Next::Request(head);
                            }
                            Ok(None) => {
                                if let Reading::Idle { .. } = self.reading {
                                    self.reading = Reading::Head { since: now };
                                }
                            }
                            Err(e) => {
                                let (status, message) = error_status(e);
                                self.refuse(env, status, message, Refusal::Invalid);
                                continue;
                            }
                        }
                    }
                    match self.fill(env.config) {
                        Fill::Data => {}
                        Fill::WouldBlock | Fill::Broken => return Next::Wait,
                        Fill::Full => {
                            // parse_head refuses any head over the limits before the buffer
                            // reaches its maximum; this is a guard, not a path.
                            self.refuse(env, 431, "header field too large", Refusal::Invalid);
                        }
                        Fill::Eof => {
                            if self.pending().is_empty() {
                                self.reading = Reading::Done;
                            } else {
                                // A client may send a request and close at once (half-close):
                                // complete requests are served; a cut one is answered 400.
                                let message = "incomplete request head";
                                self.refuse(env, 400, message, Refusal::Disconnected);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reads and checks the PROXY header (`Reading::Proxy`): true once it is taken (the peer
    /// is now the client it names) and the connection goes on to its first request; false to
    /// wait for more bytes, or when the connection is refused (then it is broken and closes).
    fn take_proxy_header(&mut self, env: &mut Env<'_>, now: Instant) -> bool {
        let Some(allow) = env.config.proxy_protocol.as_ref() else {
            self.reading = Reading::Idle { since: now };
            return true;
        };
        if !allow.trusts_peer(&self.peer) {
            if let Some(n) = PROXY_REFUSED.hit() {
                log::warn!(
                    "closed {n} connection(s) from a peer not in --proxy-allow-from; last: {}",
                    self.client()
                );
            }
            self.writing = Writing::Broken;
            return false;
        }
        loop {
            match proxy_protocol::parse(self.pending()) {
                Ok(Some(header)) => {
                    if let Some(buf) = self.rbuf.as_mut() {
                        buf.consume(header.len);
                    }
                    if let Some(client) = header.source {
                        self.peer.remote = AddrText::of(client.ip());
                        self.peer.remote_port = client.port();
                    }
                    self.reading = Reading::Idle { since: now };
                    return true;
                }
                Ok(None) => match self.fill(env.config) {
                    Fill::Data => {}
                    Fill::WouldBlock => return false,
                    Fill::Eof | Fill::Full | Fill::Broken => {
                        self.writing = Writing::Broken;
                        return false;
                    }
                },
                Err(e) => {
                    if let Some(n) = PROXY_REFUSED.hit() {
                        log::warn!(
                            "closed {n} connection(s) without a valid PROXY protocol header \
                             (--proxy-protocol); last: {} ({e})",
                            self.client()
                        );
                    }
                    self.writing = Writing::Broken;
                    return false;
                }
            }
        }
    }

    /// The state after a response, when the connection may serve another request.
    fn next_head(&self, now: Instant) -> Reading {
        if self.pending().is_empty() {
            Reading::Idle { since: now }
        } else {
            Reading::Head { since: now }
        }
    }

    /// Answers a request the server refuses itself (after the responses owed), logs it, and
    /// stops reading requests.
    pub fn refuse(&mut self, env: &mut Env<'_>, status: u16, message: &str, why: Refusal) {
        let client = self.peer.client();
        match why {
            // Like gunicorn's "Invalid request from ip=...": a client error, not a server one,
            // so info rather than warn.
            Refusal::Invalid => log::info!("Invalid request from ip={client}: {message}"),
            // A client that went quiet or left mid-request is not news (gunicorn ignores a
            // premature disconnection at debug).
            Refusal::Timeout | Refusal::Disconnected => {
                log::debug!("connection from {client}: {status} {message}")
            }
        }
        let before = self.wbuf.total_len();
        let body_bytes = simple_response(self.wbuf.vec(), status, message, false, false, &[]);
        if let Some(m) = env.metrics {
            let sent = self.wbuf.total_len() - before;
            m.request(
                b"",
                status,
                Duration::ZERO,
                self.pending().len() as u64,
                sent,
            );
        }
        if let Some(log) = env.access_log {
            let line = LogLine::of_partial(self.pending(), env.config.limits.request_line);
            line.write(log, self.peer.client(), status, body_bytes);
        }
        if let Some(buf) = self.rbuf.as_mut() {
            buf.clear();
        }
        self.reading = Reading::Done;
    }

    /// [`Connection::refuse`] for a request whose head parsed (its line and headers are logged).
    fn refuse_head(&mut self, env: &mut Env<'_>, head: &Head, status: u16, message: &str) {
        log::info!("Invalid request from ip={}: {message}", self.peer.client());
        let is_head = &self.pending()[head.method.clone()] == b"HEAD";
        let before = self.wbuf.total_len();
        let body_bytes = simple_response(self.wbuf.vec(), status, message, false, is_head, &[]);
        if let Some(m) = env.metrics {
            let method = &self.pending()[head.method.clone()];
            let sent = self.wbuf.total_len() - before;
            m.request(method, status, Duration::ZERO, head.len as u64, sent);
        }
        if let Some(log) = env.access_log {
            LogLine::of_head(head, self.pending()).write(
                log,
                self.peer.client(),
                status,
                body_bytes,
            );
        }
        if let Some(buf) = self.rbuf.as_mut() {
            buf.clear();
        }
        self.reading = Reading::Done;
    }

    /// Answers 503 with `Retry-After` to a request that found the wait queue full, and moves
    /// on to the next request (draining its body) when it can.
    pub fn answer_overloaded(&mut self, env: &mut Env<'_>, head: Head, now: Instant) {
        if let Some(n) = QUEUE_FULL.hit() {
            log::warn!(
                "queue full: answered 503 to {n} request(s) in the last second \
                 (every app thread busy and --max-queue requests waiting)"
            );
        }
        let leftover = Leftover::unstarted(&head, env.config.body_limit);
        let keep_alive = head.keep_alive
            && leftover.keeps_alive()
            && !env.draining
            && !env.config.keep_alive.is_zero();
        let is_head = &self.pending()[head.method.clone()] == b"HEAD";
        let before = self.wbuf.total_len();
        let body_bytes = simple_response(
            self.wbuf.vec(),
            503,
            "the server is overloaded, retry later",
            keep_alive,
            is_head,
            &[("Retry-After", "1")],
        );
        if let Some(m) = env.metrics {
            let method = &self.pending()[head.method.clone()];
            let sent = self.wbuf.total_len() - before;
            m.queue_full();
            m.request(method, 503, Duration::ZERO, head.len as u64, sent);
        }
        if let Some(log) = env.access_log {
            LogLine::of_head(&head, self.pending()).write(log, self.peer.client(), 503, body_bytes);
        }
        if let Some(buf) = self.rbuf.as_mut() {
            buf.consume(head.len);
        }
        *env.spare = head.headers;
        self.end_response(leftover, keep_alive, now);
    }

    /// Puts a complete request aside until an app thread is free (it is parsed again then).
    pub fn queue(&mut self, env: &mut Env<'_>, head: Head, now: Instant) {
        *env.spare = head.headers;
        self.reading = Reading::Queued { since: now };
    }

    /// A queued request may run now: the next [`Connection::advance`] returns it again.
    pub fn unqueue(&mut self, now: Instant) {
        if let Reading::Queued { .. } = self.reading {
            self.reading = Reading::Head { since: now };
        }
    }

    /// After a response: what the connection reads next.
    pub fn end_response(&mut self, leftover: Leftover, keep_alive: bool, now: Instant) {
        self.served += 1;
        self.reading = match (keep_alive, leftover) {
            (false, _) | (_, Leftover::Close) => Reading::Done,
            (true, Leftover::Nothing) => self.next_head(now),
            (true, Leftover::Drain(decoder, budget)) => Reading::Drain {
                decoder,
                budget,
                since: now,
            },
        };
        if let Reading::Done = self.reading {
            if let Some(buf) = self.rbuf.as_mut() {
                buf.clear();
            }
        }
    }

    /// Writes owed bytes until the socket would block.
    pub fn flush(&mut self, now: Instant) {
        if (self.wbuf.is_empty() && !self.stream.wants_write())
            || matches!(self.writing, Writing::Broken | Writing::Linger { .. })
        {
            return;
        }
        match self.wbuf.write_to(&mut self.stream) {
            Ok(true) => self.writing = Writing::Ready,
            Ok(false) => {
                let progressed = self.wbuf.sent() > 0;
                match self.writing {
                    Writing::Blocked { .. } if !progressed => {}
                    _ => self.writing = Writing::Blocked { since: now },
                }
            }
            Err(e) => {
                log::debug!("write to {} failed: {e}", self.client());
                self.writing = Writing::Broken;
            }
        }
    }

    /// Decides whether the connection is finished: both sides done, or broken. Starts the
    /// lingering close when the last response is out and the client may still be sending.
    /// Returns true when the connection should be dropped now.
    pub fn settle(&mut self, now: Instant) -> bool {
        match self.writing {
            Writing::Broken => return true,
            Writing::Linger { .. } => return self.inbound == Inbound::Eof,
            Writing::Blocked { .. } => return false,
            Writing::Ready if !self.wbuf.is_empty() => return false,
            Writing::Ready => {}
        }
        if !matches!(self.reading, Reading::Done) {
            if self.reading_idle_with_nothing() {
                self.release_buffers();
            }
            return false;
        }
        if self.inbound == Inbound::Eof {
            return true;
        }
        self.stream.shutdown_write();
        self.writing = Writing::Linger {
            since: now,
            last_byte: now,
        };
        false
    }

    fn reading_idle_with_nothing(&self) -> bool {
        matches!(self.reading, Reading::Idle { .. }) && self.pending().is_empty()
    }

    /// Gives the read and write buffers back to the pool when they hold nothing.
    pub fn release_buffers(&mut self) {
        if self.rbuf.as_ref().is_some_and(ReadBuf::is_empty) {
            if let Some(buf) = self.rbuf.take() {
                buf.give_back();
            }
        }
        self.wbuf.release();
    }

    /// Applies the timeouts. Returns true when the connection should be dropped now; it may
    /// also have queued a 408 to flush first (then it returns false and is `Done`).
    pub fn tick(&mut self, env: &mut Env<'_>, now: Instant) -> bool {
        let config = env.config;
        match self.writing {
            Writing::Broken => return true,
            Writing::Linger { since, last_byte } => {
                return now.saturating_duration_since(last_byte) > LINGER_IDLE
                    || now.saturating_duration_since(since) > LINGER_TOTAL;
            }
            Writing::Blocked { since } if config.timed_out(since, now) => {
                // The client stopped reading what it asked for.
                log::info!(
                    "connection from {}: client read nothing for {:.0?} with {} bytes owed; closing",
                    self.client(),
                    now.saturating_duration_since(since),
                    self.wbuf.unsent()
                );
                return true;
            }
            _ => {}
        }
        match self.reading {
            Reading::Idle { since } => {
                if !self.wbuf.is_empty() {
                    return false;
                }
                // The first request gets --timeout to arrive, later ones --keep-alive.
                let limit = if self.served > 0 {
                    Some(config.keep_alive)
                } else if env.draining {
                    Some(
                        config
                            .timeout
                            .map_or(DRAIN_FRESH_GRACE, |t| t.min(DRAIN_FRESH_GRACE)),
                    )
                } else {
                    config.timeout
                };
                env.close_idle || limit.is_some_and(|l| now.saturating_duration_since(since) > l)
            }
            Reading::Proxy { since } if config.timed_out(since, now) => {
                log::debug!(
                    "connection from {}: no PROXY protocol header in time; closing",
                    self.client()
                );
                true
            }
            Reading::Head { since } if config.timed_out(since, now) => {
                let message = "request head not received in time";
                self.refuse(env, 408, message, Refusal::Timeout);
                false
            }
            Reading::Drain { since, .. } if config.timed_out(since, now) => {
                self.reading = Reading::Done;
                false
            }
            _ => false,
        }
    }
}

/// How one read went.
enum Fill {
    /// Bytes arrived.
    Data,
    /// The socket has nothing now.
    WouldBlock,
    /// The client closed its sending side.
    Eof,
    /// The window is at its largest and full.
    Full,
    /// The socket failed.
    Broken,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;

    const CONFIG: ConnConfig = ConnConfig {
        limits: Limits::GUNICORN,
        body_limit: Some(1000),
        timeout: Some(Duration::from_secs(30)),
        keep_alive: Duration::from_secs(2),
        min_rate: MinRate::NONE,
        proxy_protocol: None,
    };

    fn pair() -> (Connection, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let stream = Stream::Unix(mio::net::UnixStream::from_std(a));
        let conn = Connection::new(stream, Peer::unix(Arc::from("/t.sock")), Instant::now());
        (conn, b)
    }

    fn env<'a>(spare: &'a mut Vec<(Range<usize>, Range<usize>)>) -> Env<'a> {
        Env {
            config: &CONFIG,
            draining: false,
            close_idle: false,
            access_log: None,
            metrics: None,
            spare,
        }
    }

    /// Advances, flushes and settles once, like one loop turn; returns the head if any.
    fn turn(conn: &mut Connection, spare: &mut Vec<(Range<usize>, Range<usize>)>) -> Option<Head> {
        let now = Instant::now();
        conn.on_readable(false);
        let next = conn.advance(&mut env(spare), now);
        conn.flush(now);
        conn.settle(now);
        match next {
            Next::Request(head) => Some(head),
            Next::Wait => None,
        }
    }

    #[test]
    fn a_head_is_returned_whole_and_its_ranges_index_the_pending_bytes() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        client.write_all(b"GET /a HTTP/1.1\r\nHo").unwrap();
        assert!(turn(&mut conn, &mut spare).is_none());
        assert!(matches!(conn.reading, Reading::Head { .. }));
        client.write_all(b"st: x\r\n\r\nGET /b").unwrap();
        let head = turn(&mut conn, &mut spare).expect("a head");
        assert_eq!(&conn.pending()[head.path.clone()], b"/a");
        assert_eq!(head.headers.len(), 1);
    }

    #[test]
    fn bad_input_is_answered_and_the_connection_closes_after_a_linger() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        client
            .write_all(b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n")
            .unwrap();
        assert!(turn(&mut conn, &mut spare).is_none());
        assert!(matches!(conn.reading, Reading::Done));
        assert!(
            matches!(conn.writing, Writing::Linger { .. }),
            "{:?}",
            conn.writing
        );
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(
            text.ends_with("Bad Request: invalid header name\n"),
            "{text}"
        );
        drop(client);
        turn(&mut conn, &mut spare);
        assert!(conn.settle(Instant::now()), "closed once the client closed");
    }

    #[test]
    fn a_declared_body_over_the_limit_is_413_before_any_app() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        client
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
            .unwrap();
        assert!(turn(&mut conn, &mut spare).is_none());
        let mut answer = [0u8; 40];
        let n = client.read(&mut answer).unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 413 Content Too Large"));
    }

    #[test]
    fn a_request_then_fin_is_still_returned_and_a_cut_head_is_400() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(
            turn(&mut conn, &mut spare).is_some(),
            "half-close: still served"
        );
        let (mut conn, mut client) = pair();
        client.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        // The bytes, then (on the next readiness event) the end of the stream.
        assert!(turn(&mut conn, &mut spare).is_none());
        assert!(turn(&mut conn, &mut spare).is_none());
        assert!(conn.settle(Instant::now()), "nothing more to do: closed");
        drop(conn);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 400 Bad Request"));
    }

    /// Half a head and the client's FIN arrive together (one readiness edge, reported as
    /// read-closed): in that one turn the end is read, the cut head answered 400 and the
    /// connection closed.
    fn half_head_and_fin_in_one_edge(
        mut conn: Connection,
        mut client: UnixStream,
        spare: &mut Vec<(Range<usize>, Range<usize>)>,
    ) {
        client.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        let now = Instant::now();
        conn.on_readable(true);
        assert!(matches!(conn.advance(&mut env(spare), now), Next::Wait));
        conn.flush(now);
        assert!(
            conn.settle(now),
            "the end was read and the cut head answered, in one turn"
        );
        drop(conn);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 400 Bad Request"),
            "{answer:?}"
        );
    }

    /// A head cut short by FIN, both arriving before the loop reads (one readiness edge):
    /// the end of the stream is found without another event.
    #[test]
    fn a_fin_signalled_with_the_data_is_seen_without_another_event() {
        let (conn, client) = pair();
        half_head_and_fin_in_one_edge(conn, client, &mut Vec::new());
    }

    #[test]
    fn bytes_and_fin_in_one_edge_still_reach_the_end() {
        let (mut conn, client) = pair();
        let mut spare = Vec::new();
        // Registered before the client sent anything: the first read finds nothing.
        assert!(turn(&mut conn, &mut spare).is_none());
        assert_eq!(conn.inbound, Inbound::Drained);
        half_head_and_fin_in_one_edge(conn, client, &mut spare);
    }

    #[test]
    fn an_unread_body_is_drained_then_the_next_request_is_read() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        client
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab")
            .unwrap();
        let head = turn(&mut conn, &mut spare).expect("a head");
        let now = Instant::now();
        conn.rbuf.as_mut().unwrap().consume(head.len);
        let leftover = Leftover::unstarted(&head, None);
        assert!(matches!(leftover, Leftover::Drain(..)));
        conn.end_response(leftover, true, now);
        client
            .write_all(b"cdeGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = turn(&mut conn, &mut spare).expect("the next head");
        assert_eq!(&conn.pending()[head.path.clone()], b"/next");
    }

    #[test]
    fn leftover_bodies_are_drained_only_when_small_and_not_held_back() {
        assert!(matches!(Leftover::of(None, false, 0), Leftover::Nothing));
        let big = Decoder::length(MAX_DRAIN + 1);
        assert!(matches!(Leftover::of(Some(big), false, 0), Leftover::Close));
        let small = Decoder::length(10);
        assert!(matches!(
            Leftover::of(Some(small), true, 0),
            Leftover::Close
        ));
        let chunked = Decoder::chunked(None);
        assert!(matches!(
            Leftover::of(Some(chunked), false, 0),
            Leftover::Drain(_, MAX_DRAIN)
        ));
        let chunked = Decoder::chunked(None);
        assert!(matches!(
            Leftover::of(Some(chunked), false, MAX_DRAIN),
            Leftover::Close
        ));
    }

    #[test]
    fn idle_connections_time_out_silently_and_heads_with_408() {
        let (mut conn, mut client) = pair();
        let mut spare = Vec::new();
        let later = Instant::now() + Duration::from_secs(31);
        assert!(
            conn.tick(&mut env(&mut spare), later),
            "a fresh idle connection"
        );
        let (mut conn, mut client2) = pair();
        client2.write_all(b"GET / HT").unwrap();
        turn(&mut conn, &mut spare);
        assert!(!conn.tick(&mut env(&mut spare), later));
        conn.flush(later);
        let mut answer = [0u8; 32];
        let n = client2.read(&mut answer).unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 408"));
        client.write_all(b"x").ok();
    }
}
