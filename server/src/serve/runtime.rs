//! Owns the state a process's serving threads share: the app and its settings, the count of
//! requests running app code (`--threads`), the wait queue's count (`--max-queue`), the open
//! connections (`--max-connections`), the drain, the stuck-call clocks, and each loop's shared
//! part ([`LoopShared`]: its channels and waker). The threads themselves, and the monitor that
//! hands a blocked loop on, are [`crate::serve::scheduler`]'s; the crate docs draw the model.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::edge::access_log::AccessLog;
use crate::edge::metrics::{MetricsPage, WorkerMetrics};
use crate::edge::peer::Peer;
use crate::edge::proxy::ForwardedAllow;
use crate::loader::App;
use crate::serve::call_clock::{self, CallClock};
use crate::serve::connection::ConnConfig;
use crate::serve::exchange::{Call, CallEnv, ClientWaits};
use crate::serve::io::Stream;
use crate::serve::signals::Shutdown;

/// A connection accepted by loop 0 for another loop.
type Accepted = (Stream, Peer);

/// The part of a loop other threads see: the ways to reach it (channels and a waker) and the
/// counts other loops balance by.
pub struct LoopShared {
    /// The loop's index.
    pub id: usize,
    waker: mio::Waker,
    wake_pending: AtomicBool,
    /// Calls whose thread lost the loop while they ran, coming back with their connection.
    returns: (Sender<Call>, Receiver<Call>),
    /// Connections accepted by loop 0 for this loop.
    accepted: (Sender<Accepted>, Receiver<Accepted>),
    /// Connections this loop owns (for balancing).
    pub conns: AtomicUsize,
    /// Of those, idle ones (for choosing where to reclaim one).
    pub idle: AtomicUsize,
    /// Idle connections other loops asked this one to close (the connection limit was hit).
    pub reclaim: AtomicUsize,
    /// Requests wait on this loop for an app thread.
    pub starved: AtomicBool,
}

impl LoopShared {
    /// A shared part for loop `id`, waking `poll`'s loop through `waker`.
    pub fn new(id: usize, waker: mio::Waker) -> LoopShared {
        LoopShared {
            id,
            waker,
            wake_pending: AtomicBool::new(false),
            returns: crossbeam_channel::unbounded(),
            accepted: crossbeam_channel::unbounded(),
            conns: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            reclaim: AtomicUsize::new(0),
            starved: AtomicBool::new(false),
        }
    }

    /// Wakes the loop's poll (once until it runs again).
    pub fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake event loop {}: {e}", self.id);
            }
        }
    }

    /// Called by the loop when it handles its wake-up.
    pub fn woken(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }

    /// The next call that came back, if any.
    pub fn returned(&self) -> Option<Call> {
        self.returns.1.try_recv().ok()
    }

    /// Sends a call whose thread lost the loop while it ran back to the loop.
    pub fn send_back(&self, call: Call) {
        if self.returns.0.send(call).is_ok() {
            self.wake();
        }
    }

    /// The next connection handed to this loop, if any.
    pub fn next_accepted(&self) -> Option<(Stream, Peer)> {
        self.accepted.1.try_recv().ok()
    }

    /// Hands an accepted connection to this loop.
    pub fn hand_connection(&self, stream: Stream, peer: Peer) {
        if self.accepted.0.send((stream, peer)).is_ok() {
            self.wake();
        }
    }
}

/// Server-wide settings the loops and calls read.
pub struct Settings {
    /// Limits and timeouts for connections.
    pub conn: ConnConfig,
    /// `--threads`: requests that may run app code at once.
    pub threads: usize,
    /// `--max-queue`: requests that may wait for an app thread.
    pub max_queue: usize,
    /// `--max-connections`.
    pub max_connections: usize,
    /// `--graceful-timeout`.
    pub graceful: Duration,
    /// `--forwarded-allow-ips`: the peers whose `X-Forwarded-*` headers are believed.
    pub forwarded: ForwardedAllow,
    /// Requests after which this process retires (`--max-requests` plus its jitter; 0: never).
    pub max_requests: u64,
    /// `--certfile`: every TCP connection speaks TLS with this configuration (read by the
    /// worker as it starts, so a reload reads the files again).
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

/// Everything the server's threads share.
pub struct Runtime {
    /// The app.
    pub app: App,
    /// Settings.
    pub settings: Settings,
    /// The access log, when enabled.
    pub access_log: Option<AccessLog>,
    shutdown: Shutdown,
    in_app: AtomicUsize,
    waiting: AtomicUsize,
    connections: AtomicUsize,
    /// Shutting down: no new connections, no keep-alive, exit when the work is done.
    pub draining: AtomicBool,
    /// The drain is the gentle one (a worker retiring): idle keep-alive connections are left
    /// to run out their `--keep-alive` instead of being closed at once, so no client is cut
    /// while it may be sending its next request.
    pub gentle: AtomicBool,
    /// The graceful timeout ran out: every call is told to stop.
    pub cancel_all: AtomicBool,
    drain_deadline: OnceLock<Instant>,
    starved_loops: AtomicUsize,
    /// Loop 0 left clients in the backlog at the connection limit.
    pub accept_paused: AtomicBool,
    loops: OnceLock<Vec<Arc<LoopShared>>>,
    stopped: AtomicBool,
    /// Every call-running thread's clock (see `call_clock`).
    clocks: Mutex<Vec<Arc<CallClock>>>,
    /// App slots lent out because their calls were abandoned as stuck, or wait on their
    /// client (see [`ClientWaits`]): requests beyond `--threads` may run while those calls hold
    /// their threads.
    lent_slots: AtomicUsize,
    /// Calls waiting on their client now (each lends its slot; see [`ClientWaits`]).
    client_waits: AtomicUsize,
    /// This worker's metrics page, with `--metrics-bind`.
    metrics: OnceLock<MetricsPage>,
    /// Calls left before `--max-requests` retires the process.
    requests_left: AtomicU64,
    /// `--max-requests` was reached (and the gentle drain started).
    pub max_requests_reached: AtomicBool,
    /// The worker's watchdog thread, woken when `--max-requests` is reached so the master
    /// hears of it (and starts the replacement) at once.
    watchdog: OnceLock<std::thread::Thread>,
}

impl Runtime {
    /// A runtime for `app`; [`crate::serve::scheduler::run`] starts its threads.
    pub fn new(
        app: App,
        settings: Settings,
        access_log: Option<AccessLog>,
        shutdown: Shutdown,
    ) -> Arc<Runtime> {
        let max_requests = settings.max_requests;
        Arc::new(Runtime {
            app,
            settings,
            access_log,
            shutdown,
            in_app: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            gentle: AtomicBool::new(false),
            cancel_all: AtomicBool::new(false),
            drain_deadline: OnceLock::new(),
            starved_loops: AtomicUsize::new(0),
            accept_paused: AtomicBool::new(false),
            loops: OnceLock::new(),
            stopped: AtomicBool::new(false),
            clocks: Mutex::new(Vec::new()),
            lent_slots: AtomicUsize::new(0),
            client_waits: AtomicUsize::new(0),
            metrics: OnceLock::new(),
            requests_left: AtomicU64::new(max_requests),
            max_requests_reached: AtomicBool::new(false),
            watchdog: OnceLock::new(),
        })
    }

    /// Gives this worker its metrics page (before its loops start).
    pub fn set_metrics(&self, page: MetricsPage) {
        let _ = self.metrics.set(page);
    }

    /// This worker's metrics, with `--metrics-bind`.
    pub fn metrics(&self) -> Option<&WorkerMetrics> {
        self.metrics.get().map(MetricsPage::get)
    }

    /// Publishes the gauges to the metrics page (the watchdog does, on each tick).
    pub fn publish_gauges(&self) {
        if let Some(m) = self.metrics() {
            let in_app = self.in_app.load(Ordering::Relaxed);
            let waits = self.client_waits.load(Ordering::Relaxed);
            m.set_gauges(
                in_app,
                in_app.saturating_sub(waits),
                self.waiting.load(Ordering::Relaxed),
                self.connections.load(Ordering::Relaxed),
            );
        }
    }

    /// Records the loops' shared parts, once, before their threads start.
    pub fn set_loops(&self, loops: Vec<Arc<LoopShared>>) {
        let _ = self.loops.set(loops);
    }

    /// Records that every loop has exited.
    pub fn set_stopped(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// The loops' shared parts.
    pub fn loops(&self) -> &[Arc<LoopShared>] {
        self.loops.get().map_or(&[], Vec::as_slice)
    }

    /// What every call needs.
    pub fn call_env(&self) -> CallEnv<'_> {
        CallEnv {
            app: &self.app,
            config: &self.settings.conn,
            draining: &self.draining,
            cancel_all: &self.cancel_all,
            access_log: self.access_log.as_ref(),
            forwarded: &self.settings.forwarded,
            waits: self,
            metrics: self.metrics(),
        }
    }

    /// One more call toward `--max-requests`: the last one tells the watchdog, which asks the
    /// master for a replacement (this worker serves until it is up; the shared counter is only
    /// paid for when the flag is given).
    pub fn count_toward_max_requests(&self) {
        let left = self
            .requests_left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if left == Ok(1) {
            self.max_requests_reached.store(true, Ordering::Release);
            if let Some(watchdog) = self.watchdog.get() {
                watchdog.unpark();
            }
        }
    }

    /// Names the thread to wake when `--max-requests` is reached.
    pub fn set_watchdog(&self, thread: std::thread::Thread) {
        let _ = self.watchdog.set(thread);
    }

    /// A clock for a thread about to run calls, registered for the watchdog.
    pub fn register_clock(&self) -> Arc<CallClock> {
        let clock = Arc::new(CallClock::default());
        call_clock::set_current(&clock);
        self.clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Arc::clone(&clock));
        clock
    }

    // ---- app threads and the wait queue ----

    /// Claims one of the `--threads` app slots.
    pub fn try_enter_app(&self) -> bool {
        let max = self.settings.threads + self.lent_slots.load(Ordering::Relaxed);
        self.in_app
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Whether an app slot is free now.
    pub fn app_slot_free(&self) -> bool {
        self.in_app.load(Ordering::Acquire)
            < self.settings.threads + self.lent_slots.load(Ordering::Relaxed)
    }

    /// Gives an app slot back, and wakes loops with requests waiting for one.
    pub fn leave_app(&self) {
        self.in_app.fetch_sub(1, Ordering::AcqRel);
        self.wake_starved();
    }

    /// Takes back the app slot lent out when a call was given up on as stuck (it returned after
    /// all).
    pub fn return_lent_slot(&self) {
        self.lent_slots.fetch_sub(1, Ordering::AcqRel);
    }

    /// Wakes the loops with requests waiting for an app slot.
    fn wake_starved(&self) {
        if self.starved_loops.load(Ordering::Acquire) > 0 {
            for l in self.loops() {
                if l.starved.load(Ordering::Acquire) {
                    l.wake();
                }
            }
        }
    }

    /// Whether the wait queue is full (the next request is answered 503).
    pub fn queue_full(&self) -> bool {
        self.waiting.load(Ordering::Acquire) >= self.settings.max_queue
    }

    /// A request joined the wait queue on `shared`'s loop.
    pub fn queued(&self, shared: &LoopShared) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        if !shared.starved.swap(true, Ordering::AcqRel) {
            self.starved_loops.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// A request left the wait queue; `empty` when the loop has none waiting any more.
    pub fn unqueued(&self, shared: &LoopShared, empty: bool) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        if empty && shared.starved.swap(false, Ordering::AcqRel) {
            self.starved_loops.fetch_sub(1, Ordering::AcqRel);
        }
    }

    // ---- connections ----

    /// Counts a new connection against `--max-connections`; false when the limit is reached.
    pub fn admit_connection(&self) -> bool {
        let max = self.settings.max_connections;
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back an admission that did not become a connection (nothing was accepted).
    pub fn unadmit(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
    }

    /// A connection closed: its slot is free again (and loop 0 accepts again if it had stopped).
    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
        if self.accept_paused.load(Ordering::Acquire) {
            if let Some(first) = self.loops().first() {
                first.wake();
            }
        }
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    // ---- shutdown ----

    /// Checks for a shutdown signal; returns the drain deadline once shutting down.
    pub fn drain_deadline(&self) -> Option<Instant> {
        // The flags are read once: a signal landing between two reads must not start the drain
        // with a stale `gentle` (which would close a retiring worker's idle connections).
        if !self.shutdown.requested() {
            return self.drain_deadline.get().copied();
        }
        // Flags are only ever set, so this is at least as recent as the read above. TERM after
        // a HUP turns the gentle drain into the ordinary one. Stored before `draining` below,
        // so a loop that sees the drain sees which one it is.
        let gentle = self.shutdown.gentle();
        if self.gentle.load(Ordering::Acquire) != gentle {
            self.gentle.store(gentle, Ordering::Release);
        }
        let deadline = *self
            .drain_deadline
            .get_or_init(|| Instant::now() + self.settings.graceful);
        // SeqCst: pairs with loop 0 handing a connection to another loop (`place`).
        if !self.draining.swap(true, Ordering::SeqCst) {
            let what = if gentle { "retiring" } else { "shutting down" };
            log::info!(
                "{what}: finishing {} connection(s) within {:?}",
                self.connection_count(),
                self.settings.graceful
            );
            for l in self.loops() {
                l.wake();
            }
        }
        Some(deadline)
    }

    // ---- the watchdog's view (see `worker`) ----

    /// Gives up on every call that has run app code for longer than `limit_ms` (as of
    /// `now_ms`, the monotonic clock): each one's app slot is lent to the requests waiting.
    /// Returns how many were given up on now.
    pub fn abandon_stuck(&self, now_ms: u64, limit_ms: u64) -> usize {
        let abandoned = self
            .clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| c.abandon_if_older(now_ms, limit_ms))
            .count();
        if abandoned > 0 {
            self.lent_slots.fetch_add(abandoned, Ordering::AcqRel);
            self.wake_starved();
        }
        abandoned
    }

    /// Calls given up on that are still running.
    pub fn abandoned_calls(&self) -> usize {
        self.clocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| c.is_abandoned())
            .count()
    }

    /// The shutdown doorbell's descriptor (see `signals`), for the accepting loop.
    pub fn doorbell(&self) -> Option<std::os::fd::RawFd> {
        self.shutdown.doorbell()
    }

    /// Empties the shutdown doorbell.
    pub fn drain_doorbell(&self) {
        self.shutdown.drain_doorbell();
    }

    /// Whether a drain was asked for (it starts at the loops' next maintenance).
    pub fn stop_requested(&self) -> bool {
        self.shutdown.requested()
    }

    /// Whether the loops are draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Whether every loop has exited.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

/// A call waiting on its client lends its app slot out for the wait, as a stuck one does.
impl ClientWaits for Runtime {
    fn begin_client_wait(&self) {
        self.client_waits.fetch_add(1, Ordering::Relaxed);
        self.lent_slots.fetch_add(1, Ordering::AcqRel);
        self.wake_starved();
    }

    fn end_client_wait(&self) {
        self.client_waits.fetch_sub(1, Ordering::Relaxed);
        self.lent_slots.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    //! The whole request path in one process: real event loops, the monitor and spare threads,
    //! serving an app compiled into the test, driven over raw TCP.
    use super::*;
    use crate::config::Config;
    use crate::serve::listener::Listener;
    use clap::Parser;
    use gateway_api::{
        app_table, AppTable, ErrorBuf, GwHeader, GwStr, HostTable, Request, Responder, GW_OK,
    };
    use std::ffi::c_void;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    unsafe extern "C" fn create(
        _: *const HostTable,
        _: GwStr,
        _: *mut *mut c_void,
        _: *mut ErrorBuf,
    ) -> i32 {
        GW_OK
    }

    unsafe extern "C" fn destroy(_: *mut c_void) {}

    /// `/hello`: 5 bytes with Content-Length; `/echo`: the body back, streamed in 4-byte reads;
    /// `/sleep`: 300 ms then `slept`; anything else returns without a response.
    unsafe extern "C" fn handle(
        _: *mut c_void,
        req: *const Request,
        resp: *const Responder,
    ) -> i32 {
        let (req, resp) = unsafe { (&*req, &*resp) };
        let path = unsafe { req.path.as_bytes() };
        let cl = [GwHeader {
            name: GwStr::from_str("Content-Length"),
            value: GwStr::from_str("5"),
        }];
        unsafe {
            match path {
                b"/hello" => {
                    (resp.start_response)(resp.ctx, 200, cl.as_ptr(), 1);
                    (resp.write)(resp.ctx, b"hello".as_ptr(), 5)
                }
                b"/sleep" => {
                    std::thread::sleep(Duration::from_millis(300));
                    (resp.start_response)(resp.ctx, 200, cl.as_ptr(), 1);
                    (resp.write)(resp.ctx, b"slept".as_ptr(), 5)
                }
                b"/echo" => {
                    (resp.start_response)(resp.ctx, 200, std::ptr::null(), 0);
                    let mut buf = [0u8; 4];
                    loop {
                        let n = (req.read_body)(req.body_ctx, buf.as_mut_ptr(), buf.len());
                        if n <= 0 {
                            return GW_OK;
                        }
                        (resp.write)(resp.ctx, buf.as_ptr(), n as usize);
                    }
                }
                _ => GW_OK,
            }
        }
    }

    static TABLE: AppTable = app_table("fake", create, handle, destroy);

    struct Running {
        port: u16,
        shutdown: Shutdown,
        thread: std::thread::JoinHandle<bool>,
    }

    fn start(extra: &[&str]) -> Running {
        let mut args = vec!["portico", "fake.so", "-b", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let config = Config::try_parse_from(args).unwrap();
        let listeners = Listener::bind_all(&config).unwrap();
        let port: u16 = listeners[0]
            .describe()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let shutdown = Shutdown::manual();
        let handle = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let app = App::from_table(&TABLE);
            let rt = Runtime::new(app, crate::settings(&config), None, handle);
            crate::run(&rt, listeners, config.loop_count()).unwrap()
        });
        Running {
            port,
            shutdown,
            thread,
        }
    }

    impl Running {
        fn stop(self) -> bool {
            self.shutdown.stop();
            self.thread.join().unwrap()
        }
    }

    fn exchange(port: u16, request: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn statuses(text: &str) -> Vec<&str> {
        text.match_indices("HTTP/1.1 ")
            .map(|(i, _)| &text[i + 9..i + 12])
            .collect()
    }

    #[test]
    fn pipelined_requests_are_answered_in_order_then_closed() {
        let server = start(&["--threads", "2"]);
        let text = exchange(
            server.port,
            b"GET /sleep HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n\
              POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n\
              GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
        );
        assert_eq!(
            statuses(&text),
            ["200", "200", "502", "200", "200"],
            "{text}"
        );
        let slept = text.find("slept").unwrap();
        let hello = text.find("hello").unwrap();
        assert!(slept < hello, "responses out of order: {text}");
        assert!(text.contains("4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"), "{text}");
        assert!(text.ends_with("Connection: close\r\n\r\nhello"), "{text}");
        assert!(server.stop(), "a clean shutdown");
    }

    #[test]
    fn bad_input_gets_its_status_after_the_owed_responses() {
        let server = start(&["--limit-request-body", "3"]);
        let text = exchange(server.port, b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(statuses(&text), ["200", "400"], "{text}");
        let text = exchange(
            server.port,
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nabcd",
        );
        assert_eq!(statuses(&text), ["413"], "{text}");
        assert!(text.contains("Content Too Large"), "{text}");
        // A chunked body over the limit is found while the app reads it: the server's 413
        // replaces the app's answer, which had not gone out.
        let text = exchange(
            server.port,
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        );
        assert_eq!(statuses(&text), ["413"], "{text}");
        assert!(server.stop());
    }

    #[test]
    fn a_slow_call_hands_its_loop_on_and_others_are_served_meanwhile() {
        // One loop (as on one core), two app threads: while /sleep blocks one, /hello is
        // answered long before the sleep ends.
        let server = start(&["--threads", "2"]);
        let port = server.port;
        let slow = std::thread::spawn(move || {
            exchange(
                port,
                b"GET /sleep HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            )
        });
        std::thread::sleep(Duration::from_millis(50));
        let asked = Instant::now();
        let text = exchange(
            port,
            b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        let took = asked.elapsed();
        assert_eq!(statuses(&text), ["200"], "{text}");
        assert!(
            took < Duration::from_millis(200),
            "waited {took:?} behind a slow call"
        );
        assert!(slow.join().unwrap().ends_with("slept"));
        assert!(server.stop());
    }

    #[test]
    fn with_one_app_thread_a_second_request_waits_for_the_first() {
        let server = start(&["--threads", "1"]);
        let port = server.port;
        let slow = std::thread::spawn(move || {
            exchange(
                port,
                b"GET /sleep HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            )
        });
        std::thread::sleep(Duration::from_millis(50));
        let asked = Instant::now();
        let text = exchange(
            port,
            b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(statuses(&text), ["200"], "{text}");
        assert!(
            asked.elapsed() >= Duration::from_millis(150),
            "--threads 1: the second request queues behind the running one"
        );
        assert!(slow.join().unwrap().ends_with("slept"));
        assert!(server.stop());
    }
}
