//! Owns the mio event loop: listeners, accepting, readiness dispatch to connections, the
//! worker wake-up, the periodic timeout sweep and the graceful drain. No HTTP lives here.

use std::collections::HashMap;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::{Events, Interest, Poll, Token};

use crate::access_log::AccessLog;
use crate::config::{Bind, Config};
use crate::connection::{Connection, Ctx, Stream};
use crate::error::ServerError;
use crate::http1::parse::Limits;
use crate::signals::Shutdown;
use crate::worker::{Output, Peer, Pool};

/// How often timeouts and the shutdown flag are checked: cheap (one pass over connections),
/// and fine-grained enough for second-based timeouts.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// Readiness events handled per poll call.
const EVENTS_CAPACITY: usize = 1024;

/// The waker's token; listeners use 0..n and connections count up from `FIRST_CONN`.
const WAKER: Token = Token(usize::MAX - 1);
const FIRST_CONN: usize = 1 << 16;

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(mio::net::TcpListener),
    /// Unix domain, with its path (removed at shutdown).
    Unix(mio::net::UnixListener, PathBuf),
}

impl Listener {
    /// Opens every address of the configuration, with the configured backlog.
    pub fn bind_all(config: &Config) -> Result<Vec<Listener>, ServerError> {
        config
            .binds()
            .into_iter()
            .map(|b| Listener::bind(&b, config.backlog as i32))
            .collect()
    }

    fn bind(bind: &Bind, backlog: i32) -> Result<Listener, ServerError> {
        use socket2::{Domain, SockAddr, Socket, Type};
        let err = |source: io::Error| ServerError::Bind {
            address: bind.to_string(),
            source,
        };
        match bind {
            Bind::Tcp(addr) => {
                let socket =
                    Socket::new(Domain::for_address(*addr), Type::STREAM, None).map_err(err)?;
                socket.set_reuse_address(true).map_err(err)?;
                if addr.is_ipv6() {
                    socket.set_only_v6(true).map_err(err)?;
                }
                socket.bind(&SockAddr::from(*addr)).map_err(err)?;
                socket.listen(backlog).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                Ok(Listener::Tcp(mio::net::TcpListener::from_std(
                    socket.into(),
                )))
            }
            Bind::Unix(path) => {
                // A socket file left by a previous run would make bind fail; remove only sockets.
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        let _ = std::fs::remove_file(path);
                    }
                }
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(err)?;
                socket
                    .bind(&SockAddr::unix(path).map_err(err)?)
                    .map_err(err)?;
                socket.listen(backlog).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                let std_listener: std::os::unix::net::UnixListener = socket.into();
                Ok(Listener::Unix(
                    mio::net::UnixListener::from_std(std_listener),
                    path.clone(),
                ))
            }
        }
    }

    /// The address actually bound, for the startup log line.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "tcp".into(), |a| format!("http://{a}")),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
        }
    }

    fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => {
                let (s, remote) = l.accept()?;
                let _ = s.set_nodelay(true);
                let local = s.local_addr().ok();
                let peer = Peer {
                    remote_addr: remote.ip().to_string(),
                    remote_port: remote.port(),
                    server_addr: local.map(|a| a.ip().to_string()).unwrap_or_default(),
                    server_port: local.map_or(0, |a| a.port()),
                };
                Ok((Stream::Tcp(s), peer))
            }
            Listener::Unix(l, path) => {
                let (s, _) = l.accept()?;
                let peer = Peer {
                    server_addr: path.display().to_string(),
                    ..Peer::default()
                };
                Ok((Stream::Unix(s), peer))
            }
        }
    }

    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix(l, _) => l,
        }
    }
}

/// Everything the loop runs with.
pub struct EventLoop {
    poll: Poll,
    listeners: Vec<Listener>,
    conns: HashMap<usize, Connection>,
    next_id: usize,
    outputs: Receiver<Output>,
    wake_pending: Arc<AtomicBool>,
    access_log: Option<AccessLog>,
    limits: Limits,
    body_limit: Option<u64>,
    timeout: Duration,
    keep_alive: Duration,
    graceful: Duration,
    max_connections: usize,
    accept_paused: bool,
    dirty: Vec<usize>,
}

impl EventLoop {
    /// Builds the loop over open listeners; `poll` must be the one the waker belongs to.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        poll: Poll,
        mut listeners: Vec<Listener>,
        outputs: Receiver<Output>,
        wake_pending: Arc<AtomicBool>,
        access_log: Option<AccessLog>,
    ) -> Result<EventLoop, ServerError> {
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(l.source(), Token(i), Interest::READABLE)
                .map_err(|e| ServerError::io("cannot register a listener", e))?;
        }
        Ok(EventLoop {
            poll,
            listeners,
            conns: HashMap::new(),
            next_id: FIRST_CONN,
            outputs,
            wake_pending,
            access_log,
            limits: Limits {
                request_line: config.limit_request_line,
                fields: config.limit_request_fields,
                field_size: config.limit_request_field_size,
            },
            body_limit: config.body_limit(),
            timeout: config.timeout(),
            keep_alive: config.keep_alive(),
            graceful: config.graceful_timeout(),
            max_connections: config.max_connections,
            accept_paused: false,
            dirty: Vec::new(),
        })
    }

    /// Runs until a shutdown signal has been handled. Returns true when every in-flight request
    /// finished (so the app may be destroyed), false when the graceful timeout cut some off.
    pub fn run(mut self, pool: &Pool, shutdown: &Shutdown) -> Result<bool, ServerError> {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut last_sweep = Instant::now();
        let mut drain_deadline: Option<Instant> = None;
        loop {
            if let Err(e) = self.poll.poll(&mut events, Some(SWEEP_EVERY)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(ServerError::io("poll failed", e));
                }
            }
            let shutting_down = drain_deadline.is_some();
            let mut access_log = self.access_log.take();
            {
                let mut ctx = Ctx {
                    limits: self.limits,
                    body_limit: self.body_limit,
                    timeout: self.timeout,
                    keep_alive: self.keep_alive,
                    pool,
                    access_log: access_log.as_mut(),
                    shutting_down,
                };
                for event in events.iter() {
                    match event.token() {
                        WAKER => self.drain_outputs(&mut ctx),
                        Token(i) if i < self.listeners.len() => self.accept(i),
                        Token(id) => {
                            if let Some(conn) = self.conns.get_mut(&id) {
                                if event.is_readable() || event.is_read_closed() {
                                    conn.on_readable(&mut ctx);
                                }
                                if event.is_writable() || event.is_error() {
                                    conn.dirty = true;
                                }
                                if conn.dirty {
                                    self.dirty.push(id);
                                }
                                if conn.is_dead() {
                                    self.dirty.push(id);
                                }
                            }
                        }
                    }
                }
                // Output may have arrived without an event in this batch (the waker coalesces).
                if self.wake_pending.load(Ordering::Acquire) {
                    self.drain_outputs(&mut ctx);
                }
                self.flush_dirty();
                let now = Instant::now();
                if now.duration_since(last_sweep) >= SWEEP_EVERY {
                    last_sweep = now;
                    let mut dead = Vec::new();
                    for (id, conn) in self.conns.iter_mut() {
                        if conn.sweep(now, &mut ctx) {
                            dead.push(*id);
                        }
                    }
                    for id in dead {
                        self.close(id);
                    }
                }
            }
            if let Some(log) = access_log.as_mut() {
                log.flush();
            }
            self.access_log = access_log;

            if drain_deadline.is_none() && shutdown.requested() {
                log::info!(
                    "shutting down: finishing {} connection(s) within {:?}",
                    self.conns.len(),
                    self.graceful
                );
                self.close_listeners();
                drain_deadline = Some(Instant::now() + self.graceful);
                let idle: Vec<usize> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.is_idle())
                    .map(|(id, _)| *id)
                    .collect();
                for id in idle {
                    self.close(id);
                }
            }
            if let Some(deadline) = drain_deadline {
                if self.conns.is_empty() {
                    log::info!("all connections finished; exiting");
                    return Ok(true);
                }
                if Instant::now() >= deadline {
                    log::warn!(
                        "graceful timeout: abandoning {} connection(s)",
                        self.conns.len()
                    );
                    for conn in self.conns.values_mut() {
                        conn.cancel_for_shutdown();
                    }
                    return Ok(false);
                }
            }
        }
    }

    fn drain_outputs(&mut self, ctx: &mut Ctx<'_>) {
        self.wake_pending.store(false, Ordering::Release);
        while let Ok(out) = self.outputs.try_recv() {
            let id = out.conn;
            if let Some(conn) = self.conns.get_mut(&id) {
                conn.on_output(out, ctx);
                if conn.dirty || conn.is_dead() {
                    self.dirty.push(id);
                }
            }
        }
    }

    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for id in dirty.drain(..) {
            let dead = match self.conns.get_mut(&id) {
                Some(conn) => {
                    conn.flush();
                    conn.is_dead()
                }
                None => false,
            };
            if dead {
                self.close(id);
            }
        }
        self.dirty = dirty;
    }

    fn close(&mut self, id: usize) {
        if let Some(mut conn) = self.conns.remove(&id) {
            let _ = self.poll.registry().deregister(conn.stream());
        }
        if self.accept_paused && self.conns.len() < self.max_connections {
            self.accept_paused = false;
            for i in 0..self.listeners.len() {
                self.accept(i);
            }
        }
    }

    fn accept(&mut self, i: usize) {
        loop {
            if self.conns.len() >= self.max_connections {
                // Leave further clients in the kernel backlog until a connection closes.
                self.accept_paused = true;
                return;
            }
            let Some(listener) = self.listeners.get(i) else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    if let Err(e) = self.poll.registry().register(
                        &mut stream,
                        Token(id),
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        log::warn!("cannot register a connection: {e}");
                        continue;
                    }
                    self.conns
                        .insert(id, Connection::new(stream, id, Arc::new(peer)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: log and retry on the next readiness or close.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn close_listeners(&mut self) {
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(l.source());
            if let Listener::Unix(_, path) = &l {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The whole request path in one process: a real event loop and worker pool on 127.0.0.1,
    //! serving an app compiled into the test, driven over raw TCP.
    use super::*;
    use crate::app::App;
    use crate::worker::Port;
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

    /// `/hello`: 5 bytes with Content-Length; `/echo`: the body back, streamed; `/sleep`: 200 ms
    /// then `slept`; anything else returns without a response.
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
                    std::thread::sleep(Duration::from_millis(200));
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
        flag: Arc<AtomicBool>,
        thread: std::thread::JoinHandle<bool>,
    }

    fn start(extra: &[&str]) -> Running {
        let mut args = vec!["portico", "fake.so", "-b", "127.0.0.1:0", "--threads", "2"];
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
        let (shutdown, flag) = Shutdown::manual();
        let thread = std::thread::spawn(move || {
            let poll = Poll::new().unwrap();
            let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER).unwrap());
            let pending = Arc::new(AtomicBool::new(false));
            let (tx, rx) = crossbeam_channel::unbounded();
            let app = Arc::new(App::from_table(&TABLE));
            let pool = Pool::start(app, config.thread_count(), config.max_queue, || {
                Port::new(tx.clone(), Arc::clone(&waker), Arc::clone(&pending))
            })
            .unwrap();
            let lp = EventLoop::new(&config, poll, listeners, rx, pending, None).unwrap();
            let clean = lp.run(&pool, &shutdown).unwrap();
            pool.join();
            clean
        });
        Running { port, flag, thread }
    }

    fn exchange(port: u16, request: &[u8]) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
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
        let server = start(&[]);
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
        server.flag.store(true, Ordering::Release);
        assert!(server.thread.join().unwrap(), "a clean shutdown");
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
        server.flag.store(true, Ordering::Release);
        assert!(server.thread.join().unwrap());
    }
}
