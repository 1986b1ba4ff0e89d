//! Owns the master process, gunicorn's arbiter: it binds the listening sockets, takes a snapshot
//! of the app library (`snapshot`), forks `--workers` workers (`worker`) that share the sockets,
//! and then only supervises; it never loads the app and never serves a request, and it stays
//! single-threaded so that forking is safe.
//!
//! ```text
//!  master ── poll(signal pipe, each worker's status pipe, 200 ms) ──┐
//!    │  signals: TERM/INT drain · QUIT now · HUP reload · TTIN/TTOU ± worker · USR1 reopen logs
//!    │  status:  ready · retiring (max requests, stuck handler) · boot-error
//!    │  waitpid: a worker that died is logged (its exit code or signal) and replaced at once
//!    │  heartbeats: a worker silent for --timeout is frozen: killed, then replaced
//!    └─ fork ─▶ worker (generation N): load snapshot N, create, serve, retire when told
//! ```
//!
//! A reload (HUP, or `--reload` seeing the library or the settings file change) takes a new
//! snapshot and starts a full set of workers of the next generation beside the old ones. Only
//! when every new worker has loaded the library and created the app are the old workers told to
//! retire (they finish their requests, answering each connection's next one with `Connection:
//! close`, and exit). If a new worker cannot start, the reload is abandoned: its workers go, the
//! old generation keeps serving, and the error (naming the library and the problem) is logged.
//! No request is refused at any point: the sockets stay open in the master throughout, and at
//! every moment some worker accepts.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::config::{Config, MAX_WORKERS};
use crate::edge::access_log::AccessLog;
use crate::edge::metrics::{MasterMetrics, MetricsPage, RestartCause};
use crate::error::ServerError;
use crate::process::metrics_endpoint::MetricsEndpoint;
use crate::process::pidfile::PidFile;
use crate::process::snapshot::Snapshot;
use crate::process::systemd;
use crate::process::worker::{self, Assignment};
use crate::process::worker_link::{Heartbeat, Message, StatusReader, StatusWriter};
use crate::serve::listener::Listener;
use crate::sys::{self, Ending, Forked, MasterSignals};

/// The master's longest sleep: heartbeats, `--reload`'s file checks and deadlines are looked at
/// this often (`--reload` promises a change is served within 2 s).
const TICK: Duration = Duration::from_millis(200);

/// How often `--reload` looks at the files. A change is acted on once the file has looked the
/// same for one more look (a build still writing it is not loaded half-written).
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// How much longer than `--graceful-timeout` a retiring worker gets before it is killed: its
/// own drain deadline is the graceful timeout, this is for it to notice and exit.
const RETIRE_SLACK: Duration = Duration::from_secs(5);

/// How long a worker that asked to be replaced keeps serving while its replacement is not up
/// (a replacement that cannot start is logged and retried meanwhile): past it, it finishes
/// anyway, since what it asked for (memory back, a stuck thread gone) matters too.
const LEAVE_WAIT: Duration = Duration::from_secs(30);

/// How long QUIT's workers get to exit before they are killed.
const QUICK_STOP: Duration = Duration::from_secs(2);

/// The first wait before starting a worker again after one failed to start (the app's `create`
/// failing because a database is down, say), doubled on each failure up to
/// [`RESPAWN_BACKOFF_MAX`], so a broken environment is retried without a fork storm.
const RESPAWN_BACKOFF_MIN: Duration = Duration::from_secs(1);

/// The longest wait between attempts to start a worker.
const RESPAWN_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Runs the master until it has stopped every worker (TERM, INT, QUIT), or returns the error
/// that kept the first workers from starting.
pub fn run(config: &Config) -> Result<(), ServerError> {
    if sys::thread_count() > 1 {
        return Err(ServerError::io(
            "the master must be single-threaded to fork its workers",
            std::io::Error::other(format!("{} threads", sys::thread_count())),
        ));
    }
    let (listeners, activated) = match systemd::listen_fds()? {
        Some(inherited) => (inherited, true),
        None => (Listener::bind_all(config)?, false),
    };
    // Problems a worker would only find later are reported now, by the master.
    if let Some(target) = &config.access_logfile {
        AccessLog::open(target, config.access_log_style())?;
    }
    if let Some(files) = config.tls_files() {
        crate::edge::tls::load(&files).map_err(ServerError::Tls)?;
    }
    let snapshot = Snapshot::take(&config.app)?;
    let pidfile = config.pid.as_deref().map(PidFile::create).transpose()?;
    let signals = MasterSignals::install()
        .map_err(|e| ServerError::io("cannot install the master's signal handlers", e))?;
    let pid = sys::own_pid();
    for l in &listeners {
        log::info!(
            "portico {} master {pid} listening on {}{} ({} worker(s) of {} threads)",
            env!("CARGO_PKG_VERSION"),
            l.describe_as(config.certfile.is_some()),
            if activated { " (from systemd)" } else { "" },
            config.workers,
            config.thread_count(),
        );
    }
    log_limits(config);
    let metrics_endpoint = config.metrics_bind.map(MetricsEndpoint::bind).transpose()?;
    if let Some(ep) = &metrics_endpoint {
        if let Ok(addr) = ep.local_addr() {
            log::info!("master {pid}: metrics on http://{addr}/metrics");
        }
    }
    let mut arbiter = Arbiter {
        config,
        pid,
        listeners,
        signals,
        target: config.workers as usize,
        current: Generation { id: 1, snapshot },
        started: false,
        pending: None,
        reload_again: false,
        workers: Vec::new(),
        stop: None,
        fatal: None,
        backoff: Backoff::default(),
        watch: config.reload.then(|| Watch::new(config)),
        next_look: Instant::now(),
        metrics_endpoint,
        metrics: MasterMetrics::default(),
    };
    let result = arbiter.supervise();
    for l in &arbiter.listeners {
        l.unlink();
    }
    drop(pidfile);
    match &result {
        Ok(()) => log::info!("master {pid}: shutdown complete"),
        Err(e) => log::debug!("master {pid}: stopped: {e}"),
    }
    result
}

fn log_limits(config: &Config) {
    log::debug!(
        "limits: request line {} bytes, {} header fields of at most {} bytes, body {}; \
         timeout {}s, keep-alive {}s, graceful timeout {}s; queue {}, connections {}",
        config.limit_request_line,
        config.limit_request_fields,
        config.limit_request_field_size,
        config
            .body_limit()
            .map_or_else(|| "unlimited".to_string(), |n| format!("{n} bytes")),
        config.timeout,
        config.keep_alive,
        config.graceful_timeout,
        config.max_queue,
        config.max_connections
    );
}

/// A set of workers running one snapshot of the library.
struct Generation {
    id: u32,
    snapshot: Snapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Forked; loading the app. `deadline`: `--timeout` after the fork.
    Booting { deadline: Option<Instant> },
    /// Said it is ready.
    Serving,
    /// Asked to be replaced (`--max-requests` reached, or a handler stuck past `--timeout`) and
    /// still serving: it is told to finish once its replacement serves, so with one worker
    /// there is no moment when nobody accepts (gunicorn leaves that gap).
    Leaving { since: Instant },
    /// Told to finish (or decided to); killed if still there at `deadline`.
    Retiring { deadline: Instant },
}

struct Worker {
    pid: libc::pid_t,
    generation: u32,
    state: State,
    status: StatusReader,
    status_open: bool,
    heartbeat: Heartbeat,
    /// Its metrics page, with `--metrics-bind`.
    metrics: Option<MetricsPage>,
    /// Why it asked to be (or was) replaced, for `portico_worker_restarts_total`.
    restart_cause: Option<RestartCause>,
    /// What it said when it could not start.
    boot_error: Option<String>,
    /// Already sent SIGKILL (a second one would only repeat the log line).
    killed: bool,
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Graceful(Instant),
    Quick(Instant),
}

impl Stop {
    fn deadline(self) -> Instant {
        match self {
            Stop::Graceful(d) | Stop::Quick(d) => d,
        }
    }
}

/// The wait before starting a worker again after start-up failures.
struct Backoff {
    delay: Duration,
    not_before: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            delay: RESPAWN_BACKOFF_MIN,
            not_before: None,
        }
    }
}

impl Backoff {
    /// A worker failed to start: wait before the next attempt; returns the wait.
    fn failed(&mut self, now: Instant) -> Duration {
        let wait = self.delay;
        self.not_before = Some(now + wait);
        self.delay = (self.delay * 2).min(RESPAWN_BACKOFF_MAX);
        wait
    }

    fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    fn allows(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }
}

/// `--reload`: the files to watch and how they looked.
struct Watch {
    files: Vec<PathBuf>,
    seen: Vec<Option<Stamp>>,
    /// A change seen, waiting for the file to settle.
    settling: Option<PathBuf>,
}

/// What identifies a version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode: meta.ino(),
    })
}

impl Watch {
    fn new(config: &Config) -> Watch {
        let mut files = vec![config.app.clone()];
        files.extend(config.settings.clone());
        let seen = files.iter().map(|f| stamp(f)).collect();
        Watch {
            files,
            seen,
            settling: None,
        }
    }

    /// The file whose change should be acted on now, if any.
    fn look(&mut self) -> Option<PathBuf> {
        let mut changed = None;
        for (file, seen) in self.files.iter().zip(self.seen.iter_mut()) {
            let now = stamp(file);
            if now != *seen {
                *seen = now;
                changed = Some(file.clone());
            }
        }
        match changed {
            Some(file) => {
                self.settling = Some(file);
                None
            }
            None => self.settling.take(),
        }
    }
}

struct Arbiter<'a> {
    config: &'a Config,
    pid: libc::pid_t,
    listeners: Vec<Listener>,
    signals: MasterSignals,
    /// How many workers should serve (`--workers`, moved by TTIN and TTOU).
    target: usize,
    /// The generation that serves.
    current: Generation,
    /// Some worker of the first generation became ready: start-up is over, and a worker that
    /// fails to start from now on is retried instead of stopping the server.
    started: bool,
    /// A reload in progress: its workers are starting.
    pending: Option<Generation>,
    /// A reload was asked for while one was in progress.
    reload_again: bool,
    workers: Vec<Worker>,
    stop: Option<Stop>,
    /// Why start-up failed.
    fatal: Option<String>,
    backoff: Backoff,
    watch: Option<Watch>,
    next_look: Instant,
    /// The `--metrics-bind` listener.
    metrics_endpoint: Option<MetricsEndpoint>,
    /// The gone workers' totals and the master's own counts.
    metrics: MasterMetrics,
}

impl Arbiter<'_> {
    fn supervise(&mut self) -> Result<(), ServerError> {
        loop {
            if self.stop.is_none() {
                self.reconcile();
            } else if self.workers.is_empty() {
                break;
            }
            let mut fds = vec![self.signals.fd()];
            fds.extend(
                self.workers
                    .iter()
                    .filter(|w| w.status_open)
                    .map(|w| w.status.fd()),
            );
            fds.extend(self.metrics_endpoint.as_ref().map(MetricsEndpoint::fd));
            if let Err(e) = sys::poll_readable(&fds, TICK) {
                log::error!("master: poll failed: {e}");
                std::thread::sleep(TICK);
            }
            if let Some(ep) = &self.metrics_endpoint {
                ep.serve(|| {
                    let live = self.workers.iter().filter_map(|w| w.metrics.as_ref());
                    self.metrics.render(live.map(MetricsPage::get))
                });
            }
            for sig in self.signals.take() {
                self.on_signal(sig);
            }
            for i in 0..self.workers.len() {
                self.read_status(i);
            }
            while let Some((pid, status)) = sys::reap() {
                self.on_exit(pid, Ending::of(status));
            }
            self.check_deadlines();
            if self.stop.is_none() {
                self.look_for_changes();
            }
        }
        match self.fatal.take() {
            Some(message) => Err(ServerError::Boot { message }),
            None => Ok(()),
        }
    }

    // ---- signals ----

    fn on_signal(&mut self, sig: libc::c_int) {
        match sig {
            libc::SIGCHLD => {} // reaped below, every turn
            libc::SIGTERM | libc::SIGINT => self.begin_stop(false, sys::signal_name(sig)),
            libc::SIGQUIT => self.begin_stop(true, "SIGQUIT"),
            _ if self.stop.is_some() => {
                log::info!("master: {} ignored while stopping", sys::signal_name(sig));
            }
            libc::SIGHUP => self.begin_reload("SIGHUP"),
            libc::SIGTTIN => {
                if self.target < MAX_WORKERS as usize {
                    self.target += 1;
                }
                log::info!("SIGTTIN: {} worker(s) wanted", self.target);
            }
            libc::SIGTTOU => {
                if self.target > 1 {
                    self.target -= 1;
                    log::info!("SIGTTOU: {} worker(s) wanted", self.target);
                } else {
                    log::info!("SIGTTOU: already at one worker");
                }
            }
            libc::SIGUSR1 => {
                log::info!("SIGUSR1: the workers reopen the access log");
                for w in &self.workers {
                    let _ = sys::send_signal(w.pid, libc::SIGUSR1);
                }
            }
            other => log::debug!("master: signal {other} ignored"),
        }
    }

    // ---- the workers' messages ----

    fn read_status(&mut self, i: usize) {
        let Some(w) = self.workers.get_mut(i) else {
            return;
        };
        if !w.status_open {
            return;
        }
        let (messages, closed) = w.status.read();
        if closed {
            w.status_open = false;
        }
        for m in messages {
            self.on_message(i, m);
        }
    }

    fn on_message(&mut self, i: usize, message: Message) {
        let now = Instant::now();
        let Some(w) = self.workers.get_mut(i) else {
            return;
        };
        let (pid, generation) = (w.pid, w.generation);
        match message {
            Message::Ready { app } => {
                if matches!(w.state, State::Booting { .. }) {
                    w.state = State::Serving;
                }
                if generation == self.current.id {
                    if !self.started {
                        self.started = true;
                        log::info!(
                            "master {}: app {app} ready (worker {pid}, generation {generation})",
                            self.pid
                        );
                        systemd::notify("READY=1");
                    }
                    self.backoff.succeeded();
                } else if self.pending.as_ref().is_some_and(|p| p.id == generation) {
                    self.maybe_commit();
                }
            }
            Message::Retiring { reason } => {
                w.restart_cause = if reason.contains("--max-requests") {
                    Some(RestartCause::MaxRequests)
                } else if reason.contains("--timeout") {
                    Some(RestartCause::Timeout)
                } else {
                    w.restart_cause
                };
                if matches!(w.state, State::Serving | State::Booting { .. }) {
                    w.state = State::Leaving { since: now };
                }
                log::info!(
                    "worker {pid} (generation {generation}) retiring: {reason}; starting a replacement \
                     (it serves until the replacement is ready)"
                );
            }
            Message::BootError { message } => {
                log::debug!("worker {pid} could not start: {message}");
                w.boot_error = Some(message);
            }
        }
    }

    // ---- exits ----

    fn on_exit(&mut self, pid: libc::pid_t, ending: Ending) {
        let Some(i) = self.workers.iter().position(|w| w.pid == pid) else {
            log::debug!("master: reaped process {pid}, not a worker ({ending})");
            return;
        };
        // What it said just before it went.
        self.read_status(i);
        let w = self.workers.remove(i);
        let generation = w.generation;
        if let Some(page) = &w.metrics {
            self.metrics.worker_gone(page);
        }
        let replaced = match w.state {
            State::Serving => self.stop.is_none(),
            State::Retiring { .. } | State::Leaving { .. } => w.restart_cause.is_some(),
            State::Booting { .. } => false,
        };
        if replaced {
            self.metrics
                .restarted(w.restart_cause.unwrap_or(match ending {
                    Ending::Killed { .. } => RestartCause::Signal,
                    Ending::Exited(_) => RestartCause::Exit,
                }));
        }
        match w.state {
            State::Retiring { .. } | State::Leaving { .. } => {
                if ending.is_clean() {
                    log::info!("worker {pid} (generation {generation}) finished and exited");
                } else {
                    log::warn!("worker {pid} (generation {generation}) {ending} while finishing");
                }
            }
            State::Booting { .. } => {
                let why = w
                    .boot_error
                    .unwrap_or_else(|| format!("worker {pid} {ending} before it was ready"));
                if self.pending.as_ref().is_some_and(|p| p.id == generation) {
                    self.abandon_reload(&why);
                } else if generation == self.current.id && !self.started {
                    log::error!("master {}: the app could not start: {why}", self.pid);
                    if self.fatal.is_none() {
                        self.fatal = Some(why);
                    }
                    self.begin_stop(true, "start-up failure");
                } else if self.stop.is_none() && generation == self.current.id {
                    let wait = self.backoff.failed(Instant::now());
                    log::error!(
                        "worker {pid} (generation {generation}) failed to start: {why}; \
                         trying again in {}s",
                        wait.as_secs()
                    );
                } else {
                    log::info!("worker {pid} (generation {generation}) {ending} while starting");
                }
            }
            State::Serving => {
                if self.stop.is_some() {
                    log::info!("worker {pid} (generation {generation}) {ending}");
                } else {
                    log::error!(
                        "worker {pid} (generation {generation}) {ending}; starting a replacement"
                    );
                }
            }
        }
    }

    // ---- deadlines and heartbeats ----

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        let mono = sys::monotonic_ms();
        let timeout_ms = self.config.timeout.saturating_mul(1000);
        for w in &mut self.workers {
            if w.killed {
                continue;
            }
            let why = match w.state {
                State::Booting {
                    deadline: Some(deadline),
                } if now > deadline => {
                    let why = format!(
                        "worker {} did not start within --timeout ({}s)",
                        w.pid, self.config.timeout
                    );
                    w.boot_error = Some(why.clone());
                    Some(why)
                }
                State::Serving | State::Leaving { .. } | State::Retiring { .. }
                    if timeout_ms > 0 && mono.saturating_sub(w.heartbeat.last()) > timeout_ms =>
                {
                    w.restart_cause = Some(RestartCause::Timeout);
                    Some(format!(
                        "worker {} (generation {}) sent no heartbeat for {:.1}s: it is frozen",
                        w.pid,
                        w.generation,
                        mono.saturating_sub(w.heartbeat.last()) as f64 / 1000.0
                    ))
                }
                State::Retiring { deadline } if now > deadline => Some(format!(
                    "worker {} (generation {}) was still running {}s after it was asked to finish",
                    w.pid,
                    w.generation,
                    (self.config.graceful_timeout + RETIRE_SLACK.as_secs())
                )),
                _ => None,
            };
            if let Some(why) = why {
                log::error!("{why}: killing it");
                w.killed = true;
                let _ = sys::send_signal(w.pid, libc::SIGKILL);
            }
        }
        if let Some(stop) = self.stop {
            if now > stop.deadline() {
                for w in self.workers.iter_mut().filter(|w| !w.killed) {
                    log::warn!("worker {} did not stop in time: killing it", w.pid);
                    w.killed = true;
                    let _ = sys::send_signal(w.pid, libc::SIGKILL);
                }
            }
        }
    }

    // ---- the pool ----

    /// Starts workers of the current generation until `target` are starting or serving, and
    /// retires the oldest beyond it.
    fn reconcile(&mut self) {
        let current = self.current.id;
        self.release_leavers();
        let active: Vec<usize> = (0..self.workers.len())
            .filter(|&i| {
                let w = &self.workers[i];
                w.generation == current
                    && !matches!(w.state, State::Retiring { .. } | State::Leaving { .. })
            })
            .collect();
        if active.len() < self.target {
            if !self.backoff.allows(Instant::now()) {
                return;
            }
            for _ in active.len()..self.target {
                if let Err(e) = self.spawn(current) {
                    let wait = self.backoff.failed(Instant::now());
                    log::error!(
                        "master: cannot start a worker: {e}; trying again in {}s",
                        wait.as_secs()
                    );
                    return;
                }
            }
        } else if active.len() > self.target {
            // The oldest go first (workers are kept in the order they were started).
            for &i in active.iter().take(active.len() - self.target) {
                self.retire(i, "SIGTTOU");
            }
        }
    }

    /// Tells the workers that asked to be replaced to finish, once enough of the current
    /// generation serve without them (or once they have waited too long for a replacement
    /// that does not come up).
    fn release_leavers(&mut self) {
        let current = self.current.id;
        let serving = self
            .workers
            .iter()
            .filter(|w| w.generation == current && matches!(w.state, State::Serving))
            .count();
        let now = Instant::now();
        let ready = serving >= self.target;
        let leaving: Vec<usize> = (0..self.workers.len())
            .filter(|&i| match self.workers[i].state {
                State::Leaving { since } => ready || now.duration_since(since) > LEAVE_WAIT,
                _ => false,
            })
            .collect();
        for i in leaving {
            let why = if ready {
                "its replacement is serving"
            } else {
                "no replacement came up in time"
            };
            self.retire(i, why);
        }
    }

    fn graceful(&self) -> Duration {
        Duration::from_secs(self.config.graceful_timeout) + RETIRE_SLACK
    }

    /// Tells worker `i` to finish its requests and exit (the gentle drain).
    fn retire(&mut self, i: usize, why: &str) {
        let deadline = Instant::now() + self.graceful();
        let w = &mut self.workers[i];
        if matches!(w.state, State::Retiring { .. }) {
            return;
        }
        log::info!(
            "worker {} (generation {}) retiring: {why}",
            w.pid,
            w.generation
        );
        let sig = match w.state {
            // Not serving yet: nothing to be gentle with.
            State::Booting { .. } => libc::SIGTERM,
            State::Serving | State::Leaving { .. } | State::Retiring { .. } => libc::SIGHUP,
        };
        w.state = State::Retiring { deadline };
        let _ = sys::send_signal(w.pid, sig);
    }

    /// Forks a worker of generation `id`.
    fn spawn(&mut self, id: u32) -> std::io::Result<()> {
        let (read, write) = sys::pipe()?;
        let heartbeat = Heartbeat::new()?;
        let metrics = self
            .metrics_endpoint
            .is_some()
            .then(MetricsPage::new)
            .transpose()?;
        // What the master buffered would be written again by the child.
        let _ = std::io::stdout().flush();
        match sys::fork()? {
            Forked::Child => {
                drop(read);
                let code = self.become_worker(id, write, heartbeat, metrics);
                std::process::exit(code)
            }
            Forked::Parent(pid) => {
                drop(write);
                let deadline = (self.config.timeout > 0)
                    .then(|| Instant::now() + Duration::from_secs(self.config.timeout));
                self.workers.push(Worker {
                    pid,
                    generation: id,
                    state: State::Booting { deadline },
                    status: StatusReader::new(read),
                    status_open: true,
                    heartbeat,
                    metrics,
                    restart_cause: None,
                    boot_error: None,
                    killed: false,
                });
                log::debug!("master: started worker {pid} (generation {id})");
                Ok(())
            }
        }
    }

    /// In the child: let go of what belongs to the master and run the worker.
    fn become_worker(
        &mut self,
        id: u32,
        status: std::os::fd::OwnedFd,
        heartbeat: Heartbeat,
        metrics: Option<MetricsPage>,
    ) -> i32 {
        self.signals.forget_in_child();
        // SAFETY: closing the child's copies of descriptors it must not hold (the other
        // workers' status pipes, the other generation's snapshot, the metrics listener); their owners in this
        // address space are never dropped (the child leaves through exit).
        unsafe {
            for w in &self.workers {
                libc::close(w.status.fd());
            }
            if let Some(p) = &self.pending {
                if p.id != id {
                    libc::close(p.snapshot.fd());
                }
            }
            if self.current.id != id {
                libc::close(self.current.snapshot.fd());
            }
            // Scrapes are the master's: a worker holding the listener would keep its port
            // bound after the master is gone.
            if let Some(ep) = &self.metrics_endpoint {
                libc::close(ep.fd());
            }
        }
        let library = match &self.pending {
            Some(p) if p.id == id => p.snapshot.open_path().to_path_buf(),
            _ => self.current.snapshot.open_path().to_path_buf(),
        };
        worker::run(Assignment {
            config: self.config,
            listeners: std::mem::take(&mut self.listeners),
            library: &library,
            generation: id,
            status: StatusWriter::new(status),
            heartbeat,
            metrics,
            master: self.pid,
        })
    }

    // ---- reload ----

    fn begin_reload(&mut self, why: &str) {
        if self.pending.is_some() {
            self.reload_again = true;
            log::info!("{why}: a reload is under way; another one follows it");
            return;
        }
        // The workers read the TLS files again as they start; a bad one is reported here,
        // before any worker of the new generation is started.
        if let Some(files) = self.config.tls_files() {
            if let Err(e) = crate::edge::tls::load(&files) {
                self.metrics.reloaded(false);
                log::error!(
                    "reload failed: {e}; generation {} keeps serving with the certificates it \
                     read",
                    self.current.id
                );
                return;
            }
        }
        let snapshot = match Snapshot::take(&self.config.app) {
            Ok(s) => s,
            Err(e) => {
                self.metrics.reloaded(false);
                log::error!(
                    "reload failed: {e}; generation {} keeps serving",
                    self.current.id
                );
                return;
            }
        };
        let id = self.current.id + 1;
        log::info!(
            "{why}: reloading: starting {} worker(s) of generation {id} ({}, {} bytes)",
            self.target,
            snapshot.source().display(),
            snapshot.len
        );
        systemd::notify("RELOADING=1");
        self.pending = Some(Generation { id, snapshot });
        for _ in 0..self.target {
            if let Err(e) = self.spawn(id) {
                self.abandon_reload(&format!("cannot start a worker: {e}"));
                return;
            }
        }
    }

    /// Makes the pending generation current once all its workers are serving.
    fn maybe_commit(&mut self) {
        let Some(pending) = &self.pending else {
            return;
        };
        let id = pending.id;
        let mut mine = self.workers.iter().filter(|w| w.generation == id);
        if mine.any(|w| !matches!(w.state, State::Serving)) {
            return;
        }
        let Some(new) = self.pending.take() else {
            return;
        };
        let old = std::mem::replace(&mut self.current, new);
        self.started = true;
        let retiring: Vec<usize> = (0..self.workers.len())
            .filter(|&i| {
                let w = &self.workers[i];
                w.generation != id && !matches!(w.state, State::Retiring { .. })
            })
            .collect();
        for &i in &retiring {
            self.retire(i, &format!("replaced by generation {id}"));
        }
        self.metrics.reloaded(true);
        log::info!(
            "reload complete: generation {id} serving ({}); {} worker(s) of generation {} \
             finishing their requests",
            self.current.snapshot.source().display(),
            retiring.len(),
            old.id
        );
        systemd::notify("READY=1");
        if std::mem::take(&mut self.reload_again) {
            self.begin_reload("queued reload");
        }
    }

    /// A worker of the pending generation could not start: that generation goes, the current
    /// one keeps serving.
    fn abandon_reload(&mut self, why: &str) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        self.metrics.reloaded(false);
        log::error!(
            "reload failed: {why}; generation {} keeps serving",
            self.current.id
        );
        let theirs: Vec<usize> = (0..self.workers.len())
            .filter(|&i| self.workers[i].generation == pending.id)
            .collect();
        for i in theirs {
            self.retire(i, "its reload failed");
        }
        systemd::notify("READY=1");
        if std::mem::take(&mut self.reload_again) {
            self.begin_reload("queued reload");
        }
    }

    fn look_for_changes(&mut self) {
        let now = Instant::now();
        if now < self.next_look {
            return;
        }
        self.next_look = now + WATCH_EVERY;
        let Some(watch) = &mut self.watch else {
            return;
        };
        if let Some(file) = watch.look() {
            self.begin_reload(&format!("--reload: {} changed", file.display()));
        }
    }

    // ---- stopping ----

    fn begin_stop(&mut self, quick: bool, why: &str) {
        let quick = match self.stop {
            Some(Stop::Quick(_)) => return,
            // A second TERM/INT (a second Ctrl-C): stop at once.
            Some(Stop::Graceful(_)) => true,
            None => quick,
        };
        let now = Instant::now();
        let (sig, stop) = if quick {
            (libc::SIGQUIT, Stop::Quick(now + QUICK_STOP))
        } else {
            (libc::SIGTERM, Stop::Graceful(now + self.graceful()))
        };
        log::info!(
            "{why}: {} {} worker(s)",
            if quick {
                "stopping at once"
            } else {
                "draining and stopping"
            },
            self.workers.len()
        );
        systemd::notify("STOPPING=1");
        self.stop = Some(stop);
        self.pending = None;
        for w in &mut self.workers {
            w.state = State::Retiring {
                deadline: stop.deadline(),
            };
            let _ = sys::send_signal(w.pid, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_resets() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        assert!(b.allows(t0));
        assert_eq!(b.failed(t0), Duration::from_secs(1));
        assert!(!b.allows(t0));
        assert!(b.allows(t0 + Duration::from_secs(1)));
        let waits: Vec<u64> = (0..7).map(|_| b.failed(t0).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30, 30]);
        b.succeeded();
        assert!(b.allows(t0));
        assert_eq!(b.failed(t0), Duration::from_secs(1));
    }

    #[test]
    fn a_watched_file_is_acted_on_once_it_settles() {
        let dir = std::env::temp_dir().join(format!("portico-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libapp.so");
        std::fs::write(&lib, b"v1").unwrap();
        let mut w = Watch {
            files: vec![lib.clone()],
            seen: vec![stamp(&lib)],
            settling: None,
        };
        assert_eq!(w.look(), None, "nothing changed");
        // Replaced the way a build or a deploy does it: a new file renamed over the old one.
        let next = dir.join("libapp.so.new");
        std::fs::write(&next, b"version 2").unwrap();
        std::fs::rename(&next, &lib).unwrap();
        assert_eq!(w.look(), None, "changed: wait one more look");
        assert_eq!(w.look(), Some(lib.clone()), "settled: act");
        assert_eq!(w.look(), None, "once");
        // Removed: that is a change too (the reload will say the file is missing).
        std::fs::remove_file(&lib).unwrap();
        assert_eq!(w.look(), None);
        assert_eq!(w.look(), Some(lib.clone()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
