//! Owns the worker pool: threads that run the app's `handle` on jobs from a bounded
//! crossbeam channel, and the way bytes get back to the event loop (one channel plus one
//! `mio::Waker`, woken at most once per batch).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use gateway_api::{GwHeader, GwStr, Request};

use crate::app::{App, Exchange};

/// Bytes of one response allowed in flight between a worker and a slow client before `write`
/// blocks: bounds memory per streaming response.
pub const MAX_IN_FLIGHT: usize = 256 * 1024;

/// How often a blocked `write` rechecks for a gone client or shutdown, in case a wake-up is
/// missed.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// The connection side of a request, shared by the event loop and the worker.
#[derive(Debug, Default)]
pub struct Shared {
    /// Bytes sent to the event loop and not yet written to the socket.
    in_flight: Mutex<usize>,
    drained: Condvar,
    /// The client has gone: nothing more can be delivered.
    pub gone: AtomicBool,
    /// The server is shutting down and its graceful timeout ran out.
    pub shutdown: AtomicBool,
}

impl Shared {
    /// Called by the event loop when `n` bytes of this request reached the socket.
    pub fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        if let Ok(mut in_flight) = self.in_flight.lock() {
            *in_flight = in_flight.saturating_sub(n);
        }
        self.drained.notify_all();
    }

    /// Called by the event loop when the client is gone or the request is abandoned.
    pub fn abandon(&self) {
        self.gone.store(true, Ordering::Release);
        self.drained.notify_all();
    }
}

/// Where the connection is: text forms of the peer and local addresses.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    /// Client IP as text (empty for unix sockets).
    pub remote_addr: String,
    /// Client port.
    pub remote_port: u16,
    /// Local IP as text, or the unix socket path.
    pub server_addr: String,
    /// Local port.
    pub server_port: u16,
}

/// One parsed request, ready for a worker.
#[derive(Debug)]
pub struct Job {
    /// The connection's id in the event loop.
    pub conn: usize,
    /// Unique request id (also matches responses to the current request of a connection).
    pub request_id: u64,
    /// The head bytes; the ranges below index it.
    pub head: Vec<u8>,
    /// Method range.
    pub method: Range<usize>,
    /// Target range (as received).
    pub target: Range<usize>,
    /// The target's path range (empty: `/`, for an absolute-form target without a path).
    pub path: Range<usize>,
    /// The target's query range, without the `?`.
    pub query: Range<usize>,
    /// An absolute-form target's authority: it replaces the Host header for the app.
    pub authority: Option<Range<usize>>,
    /// HTTP minor version.
    pub minor: u8,
    /// Header name and value ranges.
    pub headers: Vec<(Range<usize>, Range<usize>)>,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Declared length, -1 for chunked, 0 for none.
    pub content_length: i64,
    /// Whether the method is HEAD.
    pub is_head: bool,
    /// Whether the connection may persist after this response.
    pub keep_alive: bool,
    /// Addresses.
    pub peer: Arc<Peer>,
    /// When the server gives up on the request (ms since the epoch).
    pub deadline_unix_ms: u64,
    /// State shared with the connection.
    pub shared: Arc<Shared>,
}

/// How a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// The status sent.
    pub status: u16,
    /// Body bytes sent (for the access log).
    pub body_bytes: u64,
    /// Whether the connection may serve another request.
    pub keep_alive: bool,
}

/// Bytes from a worker for a connection.
#[derive(Debug)]
pub struct Output {
    /// Connection id.
    pub conn: usize,
    /// Request id.
    pub request_id: u64,
    /// Wire bytes to append to the connection's output.
    pub data: Vec<u8>,
    /// Present on the last message of a response.
    pub end: Option<End>,
}

/// Why bytes for a response can no longer be delivered: the client is gone, or the connection
/// abandoned the request (stalled reader, shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undeliverable;

/// The way back to the event loop.
pub struct Port {
    tx: Sender<Output>,
    waker: Arc<mio::Waker>,
    wake_pending: Arc<AtomicBool>,
}

impl Port {
    /// Builds a port; `wake_pending` is cleared by the event loop before it drains.
    pub fn new(tx: Sender<Output>, waker: Arc<mio::Waker>, wake_pending: Arc<AtomicBool>) -> Port {
        Port {
            tx,
            waker,
            wake_pending,
        }
    }

    fn send(&self, out: Output) -> Result<(), Undeliverable> {
        self.tx.send(out).map_err(|_| Undeliverable)?;
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake the event loop: {e}");
            }
        }
        Ok(())
    }

    /// Sends part of a response and blocks while too many bytes are in flight. `Err`: the
    /// client is gone.
    pub fn send_and_wait(&self, job: &Job, data: Vec<u8>) -> Result<(), Undeliverable> {
        let shared = &job.shared;
        let n = data.len();
        if let Ok(mut in_flight) = shared.in_flight.lock() {
            *in_flight += n;
        }
        self.send(Output {
            conn: job.conn,
            request_id: job.request_id,
            data,
            end: None,
        })?;
        let mut in_flight = shared.in_flight.lock().map_err(|_| Undeliverable)?;
        while *in_flight > MAX_IN_FLIGHT {
            if shared.gone.load(Ordering::Acquire) || shared.shutdown.load(Ordering::Acquire) {
                return Err(Undeliverable);
            }
            in_flight = shared
                .drained
                .wait_timeout(in_flight, WAIT_SLICE)
                .map_err(|_| Undeliverable)?
                .0;
        }
        if shared.gone.load(Ordering::Acquire) {
            return Err(Undeliverable);
        }
        Ok(())
    }

    /// Sends the last part of a response.
    pub fn send_end(&self, job: &Job, data: Vec<u8>, end: End) {
        let _ = self.send(Output {
            conn: job.conn,
            request_id: job.request_id,
            data,
            end: Some(end),
        });
    }
}

/// The pool: a bounded queue of jobs and the threads serving it.
pub struct Pool {
    tx: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` workers on `app`; at most `max_queue` jobs wait.
    pub fn start(
        app: Arc<App>,
        threads: usize,
        max_queue: usize,
        port: impl Fn() -> Port,
    ) -> std::io::Result<Pool> {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(max_queue);
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let rx: Receiver<Job> = rx.clone();
            let app = Arc::clone(&app);
            let port = port();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("portico-worker-{i}"))
                    .spawn(move || run(&app, &rx, &port))?,
            );
        }
        Ok(Pool {
            tx: Some(tx),
            threads: handles,
        })
    }

    /// Queues a job; gives it back when the queue is full (or the pool stopped).
    pub fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        match &self.tx {
            Some(tx) => tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(j) | TrySendError::Disconnected(j) => Box::new(j),
            }),
            None => Err(Box::new(job)),
        }
    }

    /// Stops taking jobs and waits for the threads to finish the queued ones.
    pub fn join(mut self) {
        self.tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn run(app: &App, rx: &Receiver<Job>, port: &Port) {
    let mut headers: Vec<GwHeader> = Vec::new();
    while let Ok(job) = rx.recv() {
        request_headers(&job, &mut headers);
        let target = &job.head[job.target.clone()];
        let path = match &job.head[job.path.clone()] {
            b"" => &b"/"[..],
            path => path,
        };
        let query = &job.head[job.query.clone()];
        let mut exchange = Exchange::new(&job, port, &app.name);
        let (body_ctx, read_body) = exchange.body_reader();
        let request = Request {
            struct_size: std::mem::size_of::<Request>(),
            request_id: job.request_id,
            method: GwStr::from_bytes(&job.head[job.method.clone()]),
            target: GwStr::from_bytes(target),
            path: GwStr::from_bytes(path),
            query: GwStr::from_bytes(query),
            version_major: 1,
            version_minor: u16::from(job.minor),
            headers: headers.as_ptr(),
            header_count: headers.len(),
            content_length: job.content_length,
            remote_addr: GwStr::from_str(&job.peer.remote_addr),
            remote_port: job.peer.remote_port,
            server_addr: GwStr::from_str(&job.peer.server_addr),
            server_port: job.peer.server_port,
            url_scheme: GwStr::from_str("http"),
            deadline_unix_ms: job.deadline_unix_ms,
            body_ctx,
            read_body,
        };
        let responder = exchange.responder();
        // SAFETY: request, responder and everything they point to outlive the call.
        let rc = unsafe { app.handle(&request, &responder) };
        exchange.finish(rc);
    }
}

/// The headers the app sees, in the order received. For an absolute-form target the target's
/// authority is the Host (RFC 9112 section 3.2.2: "the Host header field ... ignored and
/// replaced by the host information of the request-target"), added when the client sent none.
fn request_headers(job: &Job, headers: &mut Vec<GwHeader>) {
    headers.clear();
    let mut host_replaced = false;
    for (n, v) in &job.headers {
        let name = &job.head[n.clone()];
        let value = match &job.authority {
            Some(authority) if name.eq_ignore_ascii_case(b"host") => {
                host_replaced = true;
                &job.head[authority.clone()]
            }
            _ => &job.head[v.clone()],
        };
        headers.push(GwHeader {
            name: GwStr::from_bytes(name),
            value: GwStr::from_bytes(value),
        });
    }
    if let (Some(authority), false) = (&job.authority, host_replaced) {
        headers.push(GwHeader {
            name: GwStr::from_str("Host"),
            value: GwStr::from_bytes(&job.head[authority.clone()]),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn job(shared: Arc<Shared>) -> Job {
        Job {
            conn: 3,
            request_id: 9,
            head: Vec::new(),
            method: 0..0,
            target: 0..0,
            path: 0..0,
            query: 0..0,
            authority: None,
            minor: 1,
            headers: Vec::new(),
            body: Vec::new(),
            content_length: 0,
            is_head: false,
            keep_alive: true,
            peer: Arc::new(Peer::default()),
            deadline_unix_ms: 0,
            shared,
        }
    }

    fn port() -> (mio::Poll, Port, Receiver<Output>) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        let (tx, rx) = crossbeam_channel::unbounded();
        (
            poll,
            Port::new(tx, waker, Arc::new(AtomicBool::new(false))),
            rx,
        )
    }

    #[test]
    fn write_blocks_until_the_connection_drains() {
        let (_poll, port, rx) = port();
        let shared = Arc::new(Shared::default());
        let j = job(Arc::clone(&shared));
        assert!(port.send_and_wait(&j, vec![0; MAX_IN_FLIGHT]).is_ok());
        let releaser = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150));
                shared.release(MAX_IN_FLIGHT);
            })
        };
        let started = Instant::now();
        assert!(port.send_and_wait(&j, vec![0; 10]).is_ok());
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "did not wait"
        );
        releaser.join().unwrap();
        assert_eq!(rx.try_iter().count(), 2);
    }

    #[test]
    fn a_gone_client_unblocks_the_writer_with_an_error() {
        let (_poll, port, _rx) = port();
        let shared = Arc::new(Shared::default());
        let j = job(Arc::clone(&shared));
        let abandoner = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                shared.abandon();
            })
        };
        assert!(port.send_and_wait(&j, vec![0; MAX_IN_FLIGHT + 1]).is_err());
        abandoner.join().unwrap();
    }

    #[test]
    fn a_full_queue_gives_the_job_back() {
        let app = Arc::new(crate::app::App::from_table(&SLOW_TABLE));
        let (_poll, p, _rx) = port();
        // One thread busy for 300 ms and a queue of one: the third job does not fit.
        let pool = Pool::start(app, 1, 1, || {
            Port::new(
                p.tx.clone(),
                Arc::clone(&p.waker),
                Arc::clone(&p.wake_pending),
            )
        })
        .unwrap();
        assert!(pool.submit(job(Arc::default())).is_ok());
        std::thread::sleep(Duration::from_millis(100));
        assert!(pool.submit(job(Arc::default())).is_ok());
        let back = pool.submit(job(Arc::default())).unwrap_err();
        assert_eq!(back.request_id, 9);
        pool.join();
    }

    unsafe extern "C" fn no_create(
        _: *const gateway_api::HostTable,
        _: GwStr,
        _: *mut *mut std::ffi::c_void,
        _: *mut gateway_api::ErrorBuf,
    ) -> i32 {
        0
    }
    unsafe extern "C" fn no_handle(
        _: *mut std::ffi::c_void,
        _: *const Request,
        _: *const gateway_api::Responder,
    ) -> i32 {
        std::thread::sleep(Duration::from_millis(300));
        0
    }
    unsafe extern "C" fn no_destroy(_: *mut std::ffi::c_void) {}
    static SLOW_TABLE: gateway_api::AppTable =
        gateway_api::app_table("slow", no_create, no_handle, no_destroy);
}
