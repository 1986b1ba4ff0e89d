//! Owns the ABI callbacks a request uses (start_response, write, is_cancelled, read_body) and
//! the response they build.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use gateway_api::{
    GwHeader, Responder, GW_CANCEL_CLIENT_GONE, GW_CANCEL_DEADLINE, GW_CANCEL_SHUTDOWN,
    GW_ERR_ALREADY_STARTED, GW_ERR_APP, GW_ERR_CLIENT_GONE, GW_ERR_INVALID, GW_ERR_NOT_STARTED,
    GW_ERR_OVERFLOW, GW_OK,
};

use crate::http1::write::{self as w, bodyless, SERVER_NAME};
pub use crate::loader::App;
use crate::worker::{End, Job, Port};

/// Body bytes a response with a declared `Content-Length` buffers before handing them to the
/// connection: large enough that typical responses go out in the single message sent when
/// `handle` returns.
pub const FLUSH_AT: usize = 64 * 1024;

/// How the response body is framed on the wire, decided when the head is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length,
    Chunked,
    Close,
    None,
}

/// One request's response in progress: the state behind the responder and body callbacks.
pub struct Exchange<'a> {
    job: &'a Job,
    port: &'a Port,
    app_name: &'a str,
    status: u16,
    double_start: bool,
    head: Vec<u8>,
    declared: Option<u64>,
    has_date: bool,
    has_server: bool,
    head_sent: bool,
    framing: Framing,
    keep_alive: bool,
    buf: Vec<u8>,
    written: u64,
    wire_body: u64,
    body_pos: usize,
    gone: bool,
}

const HOP_BY_HOP: [&[u8]; 7] = [
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-connection",
];

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl<'a> Exchange<'a> {
    /// A fresh exchange for `job`, sending through `port`.
    pub fn new(job: &'a Job, port: &'a Port, app_name: &'a str) -> Exchange<'a> {
        Exchange {
            job,
            port,
            app_name,
            status: 0,
            double_start: false,
            head: Vec::new(),
            declared: None,
            has_date: false,
            has_server: false,
            head_sent: false,
            framing: Framing::None,
            keep_alive: job.keep_alive,
            buf: Vec::new(),
            written: 0,
            wire_body: 0,
            body_pos: 0,
            gone: false,
        }
    }

    /// The responder whose callbacks drive this exchange.
    pub fn responder(&mut self) -> Responder {
        Responder {
            struct_size: std::mem::size_of::<Responder>(),
            ctx: self as *mut Exchange as *mut c_void,
            start_response: cb_start_response,
            write: cb_write,
            is_cancelled: cb_is_cancelled,
        }
    }

    /// The `read_body` callback and its context for the request.
    pub fn body_reader(&mut self) -> (*mut c_void, gateway_api::ReadBodyFn) {
        (self as *mut Exchange as *mut c_void, cb_read_body)
    }

    fn bodyless(&self) -> bool {
        bodyless(self.status, self.job.is_head)
    }

    fn start_response(&mut self, status: u16, headers: &[GwHeader]) -> i32 {
        if self.status != 0 {
            self.double_start = true;
            return GW_ERR_ALREADY_STARTED;
        }
        if !(100..=999).contains(&status) || ((100..200).contains(&status) && status != 101) {
            return GW_ERR_INVALID;
        }
        let mut head = Vec::with_capacity(256);
        w::status_line(&mut head, status);
        let mut declared = None;
        for h in headers {
            // SAFETY: the app keeps its headers alive for the call.
            let (name, value) = unsafe { (h.name.as_bytes(), h.value.as_bytes()) };
            if name.is_empty()
                || !name.iter().all(|b| is_token(*b))
                || value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
            {
                return GW_ERR_INVALID;
            }
            if HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
                continue;
            }
            if name.eq_ignore_ascii_case(b"content-length") {
                let text = std::str::from_utf8(value).map(str::trim).unwrap_or("");
                match text.parse::<u64>() {
                    Ok(n) if declared.is_none_or(|d| d == n) => declared = Some(n),
                    _ => return GW_ERR_INVALID,
                }
                continue;
            }
            self.has_date |= name.eq_ignore_ascii_case(b"date");
            self.has_server |= name.eq_ignore_ascii_case(b"server");
            w::header(&mut head, name, value);
        }
        self.status = status;
        self.head = head;
        self.declared = declared;
        GW_OK
    }

    fn write(&mut self, data: &[u8]) -> i32 {
        if self.status == 0 {
            return GW_ERR_NOT_STARTED;
        }
        if self.gone || self.job.shared.gone.load(Ordering::Acquire) {
            self.gone = true;
            return GW_ERR_CLIENT_GONE;
        }
        if data.is_empty() {
            return self.flush();
        }
        if self
            .declared
            .is_some_and(|d| self.written + data.len() as u64 > d)
        {
            return GW_ERR_OVERFLOW;
        }
        self.written += data.len() as u64;
        if self.bodyless() {
            return GW_OK;
        }
        self.buf.extend_from_slice(data);
        // Without a declared length the response is a stream: each write goes out as a chunk
        // as it comes, so the client sees progress. With one, bytes are held back until
        // `handle` returns (the one-message hot path) unless they exceed FLUSH_AT.
        if self.declared.is_none() || self.buf.len() >= FLUSH_AT {
            return self.flush();
        }
        GW_OK
    }

    /// Finishes the head: framing, `Content-Length` / chunked, `Connection`, `Date`, `Server`.
    fn emit_head(&mut self, out: &mut Vec<u8>, final_len: Option<u64>) {
        self.framing = if self.bodyless() {
            Framing::None
        } else if self.declared.is_some() || final_len.is_some() {
            Framing::Length
        } else if self.job.minor == 1 {
            Framing::Chunked
        } else {
            Framing::Close
        };
        if self.framing == Framing::Close {
            self.keep_alive = false;
        }
        out.extend_from_slice(&self.head);
        if !self.has_server {
            w::header(out, b"Server", SERVER_NAME.as_bytes());
        }
        if !self.has_date {
            w::date_header(out);
        }
        let no_length = self.status == 204 || self.status == 304 || self.status < 200;
        match (self.declared.or(final_len), self.framing) {
            (Some(n), _) if !no_length => w::content_length(out, n),
            (_, Framing::Chunked) => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            _ => {}
        }
        if !self.keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if self.job.minor == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        self.head_sent = true;
    }

    fn append_body(&mut self, out: &mut Vec<u8>) {
        if self.framing == Framing::Chunked {
            w::chunk(out, &self.buf);
        } else {
            out.extend_from_slice(&self.buf);
        }
        self.wire_body += self.buf.len() as u64;
        self.buf.clear();
    }

    fn flush(&mut self) -> i32 {
        let mut out = Vec::with_capacity(self.head.len() + self.buf.len() + 128);
        if !self.head_sent {
            self.emit_head(&mut out, None);
        }
        self.append_body(&mut out);
        if out.is_empty() {
            return GW_OK;
        }
        if self.port.send_and_wait(self.job, out).is_err() {
            self.gone = true;
            return GW_ERR_CLIENT_GONE;
        }
        GW_OK
    }

    /// Completes the response after `handle` returned `rc`: the final bytes and how the
    /// connection continues, or a 502 when the app failed before sending anything.
    pub fn finish(mut self, rc: i32) {
        let mut out = Vec::new();
        let failed = rc != GW_OK || self.status == 0 || self.double_start;
        if failed {
            let why = if self.double_start {
                "called start_response twice".to_string()
            } else if self.status == 0 && rc == GW_OK {
                "returned without calling start_response".to_string()
            } else {
                format!("returned error {rc}")
            };
            if self.job.shared.gone.load(Ordering::Acquire) || self.gone {
                // The client left and the app gave up: that is the expected outcome, not a
                // failure of the app.
                log::debug!(
                    "app {} {why} after the client left (request {})",
                    self.app_name,
                    self.job.request_id
                );
                self.send_end(out, self.status, false);
            } else if self.head_sent {
                log::error!(
                    "app {} {why} after the response started (request {}); closing the connection",
                    self.app_name,
                    self.job.request_id
                );
                self.send_end(out, self.status, false);
            } else {
                log::error!(
                    "app {} {why} (request {}); answering 502",
                    self.app_name,
                    self.job.request_id
                );
                self.wire_body = w::simple_response(
                    &mut out,
                    502,
                    "the application failed",
                    self.job.keep_alive,
                    self.job.is_head,
                    &[],
                );
                self.send_end(out, 502, self.job.keep_alive);
            }
            return;
        }
        if !self.head_sent {
            let final_len = if self.declared.is_none() && (!self.bodyless() || self.job.is_head) {
                Some(if self.job.is_head {
                    self.written
                } else {
                    self.buf.len() as u64
                })
            } else {
                None
            };
            self.emit_head(&mut out, final_len);
        }
        self.append_body(&mut out);
        if self.framing == Framing::Chunked {
            out.extend_from_slice(w::LAST_CHUNK);
        }
        let complete = self.bodyless() || self.declared.is_none_or(|d| d == self.written);
        let keep_alive = self.keep_alive && complete && self.framing != Framing::Close;
        let status = self.status;
        self.send_end(out, status, keep_alive);
    }

    fn send_end(&mut self, out: Vec<u8>, status: u16, keep_alive: bool) {
        self.port.send_end(
            self.job,
            out,
            End {
                status,
                body_bytes: self.wire_body,
                keep_alive,
            },
        );
    }

    fn is_cancelled(&self) -> u32 {
        let shared = &self.job.shared;
        let mut bits = 0;
        if self.gone || shared.gone.load(Ordering::Acquire) {
            bits |= GW_CANCEL_CLIENT_GONE;
        }
        if shared.shutdown.load(Ordering::Acquire) {
            bits |= GW_CANCEL_SHUTDOWN;
        }
        if self.job.deadline_unix_ms != 0 && now_unix_ms() > self.job.deadline_unix_ms {
            bits |= GW_CANCEL_DEADLINE;
        }
        bits
    }

    fn read_body(&mut self, out: &mut [u8]) -> isize {
        let rest = &self.job.body[self.body_pos.min(self.job.body.len())..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.body_pos += n;
        n as isize
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs `f` on the exchange behind `ctx`, turning a panic into `fallback`.
///
/// # Safety
/// `ctx` must be the pointer from [`Exchange::responder`] or [`Exchange::body_reader`], used on
/// the thread running `handle`, during the call.
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
    // SAFETY: ctx comes from Exchange::responder.
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
    // SAFETY: ctx comes from Exchange::responder.
    unsafe { with_exchange(ctx, GW_ERR_APP, |ex| ex.write(data)) }
}

unsafe extern "C" fn cb_is_cancelled(ctx: *mut c_void) -> u32 {
    // SAFETY: ctx comes from Exchange::responder.
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
    // SAFETY: ctx comes from Exchange::body_reader.
    unsafe { with_exchange(ctx, GW_ERR_APP as isize, |ex| ex.read_body(out)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::{Output, Peer, Shared};
    use gateway_api::GwStr;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    struct Rig {
        _poll: mio::Poll,
        port: Port,
        rx: crossbeam_channel::Receiver<Output>,
    }

    fn rig() -> Rig {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let (tx, rx) = crossbeam_channel::unbounded();
        let port = Port::new(tx, waker, Arc::new(AtomicBool::new(false)));
        Rig {
            _poll: poll,
            port,
            rx,
        }
    }

    fn job(method: &str, minor: u8, keep_alive: bool) -> Job {
        let head = format!("{method} / HTTP/1.{minor}\r\n\r\n").into_bytes();
        Job {
            conn: 1,
            request_id: 7,
            method: 0..method.len(),
            target: method.len() + 1..method.len() + 2,
            path: method.len() + 1..method.len() + 2,
            query: method.len() + 2..method.len() + 2,
            authority: None,
            minor,
            headers: Vec::new(),
            head,
            body: b"body!".to_vec(),
            content_length: 5,
            is_head: method == "HEAD",
            keep_alive,
            peer: Arc::new(Peer::default()),
            deadline_unix_ms: 0,
            shared: Arc::new(Shared::default()),
        }
    }

    fn hdr(name: &'static str, value: &'static str) -> GwHeader {
        GwHeader {
            name: GwStr::from_str(name),
            value: GwStr::from_str(value),
        }
    }

    /// All bytes sent and the end record.
    fn collect(r: &Rig) -> (String, Option<End>, usize) {
        let mut text = Vec::new();
        let mut end = None;
        let mut messages = 0;
        while let Ok(out) = r.rx.try_recv() {
            messages += 1;
            text.extend_from_slice(&out.data);
            end = end.or(out.end);
        }
        (String::from_utf8(text).unwrap(), end, messages)
    }

    #[test]
    fn declared_length_goes_out_in_one_message() {
        let r = rig();
        let j = job("GET", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        let hs = [
            hdr("Content-Length", "5"),
            hdr("Connection", "x"),
            hdr("X-A", "b"),
        ];
        assert_eq!(ex.start_response(200, &hs), GW_OK);
        assert_eq!(ex.write(b"hel"), GW_OK);
        assert_eq!(ex.write(b"lo"), GW_OK);
        assert_eq!(ex.write(b"!"), GW_ERR_OVERFLOW);
        ex.finish(GW_OK);
        let (text, end, messages) = collect(&r);
        assert_eq!(messages, 1);
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nX-A: b\r\nServer: portico/"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 5\r\n"));
        assert!(!text.contains("Connection"), "{text}");
        assert!(text.ends_with("\r\n\r\nhello"));
        let end = end.unwrap();
        assert_eq!((end.status, end.body_bytes, end.keep_alive), (200, 5, true));
    }

    #[test]
    fn undeclared_length_streams_chunked_on_1_1() {
        let r = rig();
        let j = job("GET", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(ex.start_response(200, &[]), GW_OK);
        assert_eq!(ex.write(b"abc"), GW_OK);
        assert_eq!(ex.write(b"defg"), GW_OK);
        ex.finish(GW_OK);
        let (text, end, messages) = collect(&r);
        assert_eq!(messages, 3);
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
        assert!(
            text.ends_with("\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"),
            "{text}"
        );
        assert!(end.unwrap().keep_alive);
    }

    #[test]
    fn undeclared_length_on_1_0_is_close_delimited() {
        let r = rig();
        let j = job("GET", 0, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(ex.start_response(200, &[]), GW_OK);
        assert_eq!(ex.write(b"abc"), GW_OK);
        ex.finish(GW_OK);
        let (text, end, _) = collect(&r);
        assert!(text.contains("Connection: close\r\n"));
        assert!(!text.contains("chunked"));
        assert!(text.ends_with("\r\n\r\nabc"));
        assert!(!end.unwrap().keep_alive);
    }

    #[test]
    fn head_keeps_the_length_and_drops_the_body() {
        let r = rig();
        let j = job("HEAD", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(ex.start_response(200, &[]), GW_OK);
        assert_eq!(ex.write(b"hello world"), GW_OK);
        ex.finish(GW_OK);
        let (text, end, _) = collect(&r);
        assert!(text.contains("Content-Length: 11\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"));
        assert!(end.unwrap().keep_alive);
    }

    #[test]
    fn no_content_has_neither_body_nor_length() {
        let r = rig();
        let j = job("GET", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(ex.start_response(204, &[]), GW_OK);
        assert_eq!(ex.write(b"ignored"), GW_OK);
        ex.finish(GW_OK);
        let (text, _, _) = collect(&r);
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\n"));
        assert!(
            !text.contains("Content-Length") && !text.contains("chunked"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn broken_apps_get_502() {
        for case in 0..3 {
            let r = rig();
            let j = job("GET", 1, true);
            let mut ex = Exchange::new(&j, &r.port, "t");
            let rc = match case {
                0 => GW_OK,
                1 => {
                    assert_eq!(ex.start_response(200, &[]), GW_OK);
                    assert_eq!(ex.start_response(200, &[]), GW_ERR_ALREADY_STARTED);
                    GW_OK
                }
                _ => GW_ERR_APP,
            };
            ex.finish(rc);
            let (text, end, _) = collect(&r);
            assert!(
                text.starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
                "case {case}: {text}"
            );
            assert_eq!(end.unwrap().status, 502);
        }
    }

    #[test]
    fn bad_calls_are_refused() {
        let r = rig();
        let j = job("GET", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(ex.write(b"x"), GW_ERR_NOT_STARTED);
        assert_eq!(ex.start_response(99, &[]), GW_ERR_INVALID);
        assert_eq!(ex.start_response(100, &[]), GW_ERR_INVALID);
        assert_eq!(
            ex.start_response(200, &[hdr("Bad Name", "v")]),
            GW_ERR_INVALID
        );
        assert_eq!(
            ex.start_response(200, &[hdr("X", "a\r\nb")]),
            GW_ERR_INVALID
        );
        assert_eq!(
            ex.start_response(200, &[hdr("Content-Length", "x")]),
            GW_ERR_INVALID
        );
        assert_eq!(ex.start_response(200, &[]), GW_OK);
    }

    #[test]
    fn a_short_body_closes_the_connection() {
        let r = rig();
        let j = job("GET", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        assert_eq!(
            ex.start_response(200, &[hdr("Content-Length", "10")]),
            GW_OK
        );
        assert_eq!(ex.write(b"abc"), GW_OK);
        ex.finish(GW_OK);
        let (_, end, _) = collect(&r);
        assert!(!end.unwrap().keep_alive);
    }

    #[test]
    fn body_reads_and_cancellation_bits() {
        let r = rig();
        let j = job("POST", 1, true);
        let mut ex = Exchange::new(&j, &r.port, "t");
        let mut buf = [0u8; 3];
        assert_eq!(ex.read_body(&mut buf), 3);
        assert_eq!(&buf, b"bod");
        assert_eq!(ex.read_body(&mut buf), 2);
        assert_eq!(ex.read_body(&mut buf), 0);
        assert_eq!(ex.is_cancelled(), 0);
        j.shared.abandon();
        assert_eq!(ex.is_cancelled(), GW_CANCEL_CLIENT_GONE);
        assert_eq!(ex.start_response(200, &[]), GW_OK);
        assert_eq!(ex.write(b"x"), GW_ERR_CLIENT_GONE);
    }
}
