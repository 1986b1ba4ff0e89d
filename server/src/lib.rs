//! portico's server library: the process (CLI and config, sockets, the event loops, HTTP/1.1
//! parsing and writing, the threads that run the app, loading apps, signals, logging). The
//! `portico` binary is a thin `main` over [`serve()`]; the modules are public so that fuzz targets
//! and benchmarks can drive the wire-level parts (`http1::parse::parse_head`,
//! `http1::body::Decoder`) directly.
//!
//! # The execution model
//!
//! The app is called on the thread that read the request: there is no hand-off per request.
//!
//! ```text
//!              loop 0 accepts, spreads connections (crossbeam-channel) ─┐
//!                                                                       ▼
//!  socket ─▶ event loop (mio, one thread, owns its connections) ─▶ connection: head (httparse)
//!            │   a complete request leaves the loop as a Call, on the same thread:
//!            │     publish the loop in its slot ─▶ app.handle(request, responder) ─▶ take it back
//!            │       read_body ◀── socket through the decoder (a small window, no buffering)
//!            │       write ──▶ the connection's write buffer ──▶ socket (blocks past 256 KiB)
//!            │
//!  sysmon ───┘ every 1 ms: a loop whose same call is still running is taken from its slot
//!              and given to a spare thread, which goes on serving the loop's other
//!              connections; when the slow call returns, its thread sends the connection back
//!              to the loop (crossbeam-channel + the loop's waker) and becomes a spare.
//! ```
//!
//! - A few loops (about one per core, at most `--threads`) each own their connections; loop 0
//!   owns the listeners and gives each new connection to the loop with the fewest.
//! - A request is parsed in the connection's read window and handed to the app as borrowed
//!   views of that window. Its body is read from the socket as the app asks (`read_body`), and
//!   its response is written into the connection's buffer and sent when the call returns, when
//!   64 KiB are pending, or when the app flushes; pipelined responses that are ready leave in
//!   one write. Nothing per request crosses a thread.
//! - A call that blocks (a slow view, a long query, a body arriving slowly, a client reading
//!   slowly) holds only its own thread: after the grace period its loop moves on, the way Go's
//!   scheduler hands off its P when a goroutine blocks in a syscall, or tokio's
//!   `block_in_place`. The common path pays two atomic stores and a swap for this.
//! - `--threads` keeps gunicorn's meaning: how many requests may run app code at once. A
//!   request that finds them all busy waits in its loop (`--max-queue` in all, then 503).
//!   A call waiting on its client (body bytes, or room for its response) does not count: a
//!   slow client holds one blocked thread, not one of `--threads`, and only for as long as
//!   `--body-timeout` and `--body-min-rate` allow (see [`serve::min_rate`]).
//! - Memory per connection is bounded both ways: a read window of 16 KiB (a head may grow it
//!   to the head limits), and at most 256 KiB of unsent response, past which the app's `write`
//!   waits and the next pipelined request is not started. An idle connection holds neither.
//!
//! The first version handed every request to a worker pool and brought the bytes back through
//! a `mio::Waker`, as gunicorn's gthread worker does: two thread switches per request, and about
//! 0.55x axum per core.
//!
//! # Processes
//!
//! `portico` is a master and `--workers` worker processes (one by default, as gunicorn's), each
//! running the model above on its own. The master binds the sockets, copies the app library
//! into a snapshot, forks the workers (before it has any thread) and then only supervises:
//!
//! ```text
//!  master (single-threaded; never loads the app, never serves)
//!    ├─ signals: TERM/INT drain · QUIT now · HUP reload · TTIN/TTOU ± worker · USR1 reopen
//!    ├─ each worker's status pipe (ready, retiring, boot error) and heartbeat page
//!    └─ fork ─▶ worker: load the generation's snapshot, create, serve on the shared sockets,
//!               watchdog thread (heartbeat, --timeout for stuck handlers, --max-requests)
//! ```
//!
//! A reload starts a full new generation beside the old one and retires the old workers only
//! once every new one has created its app; a retiring worker drains gently (each connection's
//! next response closes it, idle keep-alive connections run out their `--keep-alive`), so no
//! request is refused or cut. See [`process::arbiter`] and [`process::worker`].
//!
//! # Layout
//! The two halves the model above describes are two folders, with the edge and the wire
//! format beside them and a few foundations under all:
//!
//! - [`serve`](mod@serve): the request path in one process: [`serve::scheduler`] (threads, the monitor,
//!   spares), [`serve::runtime`] (the state they share: app slots, the queue, the drain),
//!   [`serve::event_loop`] (one loop; no HTTP), [`serve::connection`] (a connection's reading
//!   and writing states), [`serve::exchange`] (one request through the app: the ABI
//!   trampolines), [`serve::io`] (socket, buffers, blocking waits), [`serve::call_clock`]
//!   (stuck handlers), [`serve::listener`] (binding, accepting), [`serve::signals`] (the
//!   shutdown flags the loops read), [`serve::min_rate`] (how fast a client must send a body
//!   or take a response).
//! - [`process`]: the master and its workers: [`process::arbiter`] (the master),
//!   [`process::worker`], [`process::worker_link`] (status pipe, heartbeat),
//!   [`process::snapshot`] (the library copies), [`process::pidfile`], [`process::systemd`],
//!   [`process::metrics_endpoint`] (the master's `--metrics-bind` listener).
//! - [`http1`]: the wire format (parse, body, encode, date), used by both and depending on
//!   neither.
//! - [`edge`]: what the server says to and believes of the outside: [`edge::peer`],
//!   [`edge::proxy`] (`X-Forwarded-*` from trusted peers), [`edge::proxy_protocol`] (HAProxy's
//!   PROXY header), [`edge::tls`] (`--certfile`: the rustls configuration, and the TLS stream
//!   whose handshake and records run inside the loop's non-blocking reads and writes: a
//!   `serve::io::Stream` variant, so a plain connection pays one enum match),
//!   [`edge::metrics`] (each worker's shared page, the Prometheus text),
//!   [`edge::access_log`] and [`edge::log_format`], [`edge::ratelimit`].
//! - foundations: [`config`] (the flags), [`loader`] (the app library), [`sys`] (fork, pipes,
//!   wait statuses, the monotonic clock: the OS plumbing both halves share), [`clock`],
//!   [`error`].
//!
//! Dependencies point one way: `process` → `serve` → `edge` → `http1`, and every folder onto
//! the foundations (`config` reads `edge`'s formats); inside `serve`, `scheduler` drives
//! `event_loop`, which reads `runtime`.

pub mod clock;
pub mod config;
pub mod edge;
pub mod error;
pub mod http1;
pub mod loader;
pub mod process;
pub mod serve;
pub mod sys;

use std::sync::Arc;

use crate::config::Config;
use crate::error::ServerError;
use crate::http1::parse::Limits;
use crate::loader::App;
use crate::serve::connection::ConnConfig;
use crate::serve::event_loop::EventLoop;
use crate::serve::listener::Listener;
use crate::serve::min_rate::MinRate;
use crate::serve::runtime::{Runtime, Settings};

/// Installs the logger: `RUST_LOG` when set and non-empty, else `--log-level`. Each line
/// carries the process id (the master's or a worker's), as gunicorn's do.
pub fn init_logging(config: &Config) {
    use std::io::Write as _;
    let mut builder = env_logger::Builder::new();
    builder.format(|buf, record| {
        writeln!(
            buf,
            "[{} {} {:<5} {}] {}",
            buf.timestamp(),
            std::process::id(),
            record.level(),
            record.target(),
            record.args()
        )
    });
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            builder.parse_filters(&spec);
        }
        _ => {
            builder.filter_level(config.log_level.filter());
        }
    }
    builder.target(env_logger::Target::Stderr).init();
}

/// The runtime settings a configuration means.
pub fn settings(config: &Config) -> Settings {
    Settings {
        conn: ConnConfig {
            limits: Limits {
                request_line: config.limit_request_line,
                fields: config.limit_request_fields,
                field_size: config.limit_request_field_size,
            },
            body_limit: config.body_limit(),
            timeout: (config.timeout > 0).then(|| config.timeout()),
            keep_alive: config.keep_alive(),
            min_rate: MinRate {
                grace: std::time::Duration::from_secs(config.body_timeout),
                bytes_per_sec: config.body_min_rate,
            },
            proxy_protocol: config
                .proxy_protocol
                .then(|| config.proxy_allow_from.clone()),
        },
        threads: config.thread_count(),
        max_queue: config.max_queue,
        max_connections: config.max_connections,
        graceful: config.graceful_timeout(),
        forwarded: config.forwarded_allow_ips.clone(),
        max_requests: 0,
        tls: None,
    }
}

/// Serves the app until a shutdown signal has been handled: a master process and its workers
/// (see [`process::arbiter`]). With `--check-config`, loads the app in this process, reports on it and
/// returns.
pub fn serve(config: &Config) -> Result<(), ServerError> {
    if config.check_config {
        let app = App::open(&config.app, config.settings.as_deref())?;
        println!(
            "portico: app {} loaded from {} and created: configuration OK",
            app.name,
            config.app.display()
        );
        app.destroy();
        return Ok(());
    }
    process::arbiter::run(config)
}

/// Builds `loops` event loops (the first with the listeners) and runs them to the end.
pub fn run(rt: &Arc<Runtime>, listeners: Vec<Listener>, loops: usize) -> Result<bool, ServerError> {
    let mut first = Some(listeners);
    let event_loops = (0..loops.max(1))
        .map(|id| EventLoop::new(rt, id, first.take().unwrap_or_default()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| ServerError::io("cannot create an event loop", e))?;
    serve::scheduler::run(rt, event_loops)
        .map_err(|e| ServerError::io("cannot start the server's threads", e))
}
