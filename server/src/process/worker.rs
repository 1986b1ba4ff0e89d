//! Owns a worker process: what runs in the child the master forks. It loads its generation's
//! snapshot of the app library and calls `create` (a worker that cannot is a boot error, told
//! to the master and never serving), serves on the inherited listeners with its own event loops
//! and threads (`runtime`), and runs a watchdog thread that
//!
//! - stamps the heartbeat the master watches (a frozen worker is killed and replaced);
//! - gives up on a handler that has run app code past `--timeout`: the worker tells the master
//!   (which starts a replacement at once), lends the stuck call's app slot to the requests
//!   waiting, and, once the master says the replacement serves (SIGHUP), retires gently and
//!   exits as soon as everything but the stuck calls is finished (the stuck clients'
//!   connections close with the process: a clean close);
//! - asks for a replacement the same way once the worker has served `--max-requests` (plus its
//!   jitter), serving on until the replacement is up;
//! - exits at once on QUIT, and drains when the master is gone;
//! - reopens the access log on USR1 (log rotation).
//!
//! Retiring is the gentle drain (see `signals`): no new connections, each connection's next
//! response says `Connection: close`, idle keep-alive connections run out their `--keep-alive`,
//! so a reload never closes a connection under a client that is sending on it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::edge::access_log::AccessLog;
use crate::edge::metrics::MetricsPage;
use crate::loader::App;
use crate::process::worker_link::{Heartbeat, Message, StatusWriter};
use crate::serve::call_clock;
use crate::serve::event_loop::EventLoop;
use crate::serve::listener::Listener;
use crate::serve::runtime::Runtime;
use crate::serve::scheduler;
use crate::serve::signals::Shutdown;
use crate::sys;

/// The exit code of a worker that could not start (gunicorn's `WORKER_BOOT_ERROR`).
pub const BOOT_ERROR: i32 = 3;

/// How often the watchdog ticks: the heartbeat's resolution and the coarse clock's, fine enough
/// for second-based timeouts, and ten wake-ups a second cost nothing.
pub const WATCHDOG_TICK: Duration = Duration::from_millis(100);

/// What the master hands a new worker.
pub struct Assignment<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The listening sockets (the master's, inherited).
    pub listeners: Vec<Listener>,
    /// Where to load the generation's library snapshot from.
    pub library: &'a Path,
    /// The generation's number, for the log.
    pub generation: u32,
    /// The status pipe's write end.
    pub status: StatusWriter,
    /// The heartbeat page shared with the master.
    pub heartbeat: Heartbeat,
    /// The metrics page shared with the master, with `--metrics-bind`.
    pub metrics: Option<MetricsPage>,
    /// The master's pid.
    pub master: libc::pid_t,
}

/// Runs the worker to its end; returns its exit code. Called in the child right after the fork,
/// with every signal still blocked.
pub fn run(a: Assignment<'_>) -> i32 {
    let pid = sys::own_pid();
    sys::signal_on_parent_death(libc::SIGTERM);
    if sys::parent_pid() != a.master {
        // The master died between the fork and the line above.
        return 0;
    }
    let shutdown = match Shutdown::install() {
        Ok(s) => s,
        Err(e) => return boot_failed(&a.status, e.to_string()),
    };
    sys::unblock_signals();
    let config = a.config;
    let app = match App::open_as(a.library, &config.app, config.settings.as_deref()) {
        Ok(app) => app,
        Err(e) => return boot_failed(&a.status, e.to_string()),
    };
    let access_log = match &config.access_logfile {
        Some(target) => match AccessLog::open(target, config.access_log_style()) {
            Ok(log) => Some(log),
            Err(e) => return boot_failed(&a.status, e.to_string()),
        },
        None => None,
    };
    let mut listeners = a.listeners;
    for l in &mut listeners {
        l.share();
    }
    let name = app.name.clone();
    let max_requests = max_requests(config, pid);
    let tls = match config
        .tls_files()
        .map(|f| crate::edge::tls::load(&f))
        .transpose()
    {
        Ok(tls) => tls,
        Err(e) => return boot_failed(&a.status, e.to_string()),
    };
    let addresses: Vec<String> = listeners
        .iter()
        .map(|l| l.describe_as(tls.is_some()))
        .collect();
    let settings = crate::serve::runtime::Settings {
        max_requests,
        tls,
        ..crate::settings(config)
    };
    let rt = Runtime::new(app, settings, access_log, shutdown.clone());
    if let Some(page) = a.metrics {
        rt.set_metrics(page);
    }
    let loops = match build_loops(&rt, listeners, config.loop_count()) {
        Ok(loops) => loops,
        Err(e) => return boot_failed(&a.status, format!("cannot create an event loop: {e}")),
    };
    log::info!(
        "worker {pid} (generation {}) serving app {name} on {} ({} threads, {} event loops)",
        a.generation,
        addresses.join(", "),
        config.thread_count(),
        loops.len()
    );
    // The calls' clock must read the time before the first call starts.
    call_clock::tick(sys::monotonic_ms());
    a.status.send(&Message::Ready { app: name });
    let watch = Watchdog {
        rt: Arc::clone(&rt),
        shutdown,
        heartbeat: a.heartbeat,
        status: a.status,
        master: a.master,
        pid,
        timeout_ms: config.timeout.saturating_mul(1000),
        max_requests,
        max_requests_told: false,
        replacement_asked: false,
    };
    let watchdog = std::thread::Builder::new()
        .name("portico-watchdog".into())
        .spawn(move || watch.run());
    match &watchdog {
        Ok(handle) => rt.set_watchdog(handle.thread().clone()),
        Err(e) => log::error!("worker {pid}: cannot start its watchdog ({e}); serving without one"),
    }
    let clean = scheduler::run(&rt, loops).unwrap_or_else(|e| {
        log::error!("worker {pid}: cannot start its threads: {e}");
        false
    });
    if let Some(log) = &rt.access_log {
        log.flush();
    }
    if clean {
        rt.app.destroy();
        if let Ok(handle) = watchdog {
            let _ = handle.join();
        }
        log::info!("worker {pid} exiting");
        0
    } else {
        // Calls are still running app code: leave without running the library's destructors
        // under them.
        log::warn!("worker {pid} exiting with requests still running");
        exit_now(0)
    }
}

fn build_loops(
    rt: &Arc<Runtime>,
    listeners: Vec<Listener>,
    count: usize,
) -> std::io::Result<Vec<EventLoop>> {
    let mut first = Some(listeners);
    (0..count.max(1))
        .map(|id| EventLoop::new(rt, id, first.take().unwrap_or_default()))
        .collect()
}

fn boot_failed(status: &StatusWriter, message: String) -> i32 {
    status.send(&Message::BootError { message });
    BOOT_ERROR
}

/// `--max-requests` plus this worker's share of the jitter (0: never).
fn max_requests(config: &Config, pid: libc::pid_t) -> u64 {
    if config.max_requests == 0 {
        return 0;
    }
    let jitter = match config.max_requests_jitter {
        0 => 0,
        j => spread(pid as u64 ^ sys::monotonic_ms()) % (j + 1),
    };
    config.max_requests.saturating_add(jitter)
}

/// A well-mixed 64-bit value from a seed (splitmix64's finaliser): enough randomness to spread
/// the workers' recycling, with no random-number crate in the server.
fn spread(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Leaves the process now, without exit handlers (the app's code may still be running on
/// other threads, and its destructors must not run under it).
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) ends the process; nothing after it runs.
    unsafe { libc::_exit(code) }
}

struct Watchdog {
    rt: Arc<Runtime>,
    shutdown: Shutdown,
    heartbeat: Heartbeat,
    status: StatusWriter,
    master: libc::pid_t,
    pid: libc::pid_t,
    timeout_ms: u64,
    max_requests: u64,
    /// The master was told that `--max-requests` retired this worker.
    max_requests_told: bool,
    /// The master was asked for a replacement (for either reason): once is enough.
    replacement_asked: bool,
}

impl Watchdog {
    fn run(mut self) {
        let mut master_gone = false;
        loop {
            let now = sys::monotonic_ms();
            call_clock::tick(now);
            self.heartbeat.beat(now);
            self.rt.publish_gauges();
            if self.shutdown.quit_requested() {
                log::info!("worker {}: QUIT: exiting at once", self.pid);
                self.flush();
                exit_now(0);
            }
            if self.shutdown.reopen_requested() {
                if let Some(log) = &self.rt.access_log {
                    log.reopen();
                }
            }
            if !master_gone && sys::parent_pid() != self.master {
                master_gone = true;
                log::warn!("worker {}: the master is gone; draining", self.pid);
                self.shutdown.stop();
            }
            if self.timeout_ms > 0 {
                self.check_stuck(now);
            }
            if !self.max_requests_told
                && self
                    .rt
                    .max_requests_reached
                    .load(std::sync::atomic::Ordering::Acquire)
            {
                // The master starts the replacement, and has this worker finish once it serves.
                self.max_requests_told = true;
                log::info!(
                    "worker {}: served {} requests (--max-requests): retiring",
                    self.pid,
                    self.max_requests
                );
                self.retire(format!(
                    "served {} requests (--max-requests)",
                    self.max_requests
                ));
            }
            if self.rt.is_stopped() {
                return;
            }
            std::thread::park_timeout(WATCHDOG_TICK);
        }
    }

    fn check_stuck(&mut self, now: u64) {
        let newly = self.rt.abandon_stuck(now, self.timeout_ms);
        if newly > 0 {
            log::error!(
                "worker {}: WORKER TIMEOUT: {newly} request(s) ran app code for more than {}s \
                 without returning; replacing this worker (its other requests finish first)",
                self.pid,
                self.timeout_ms / 1000
            );
            self.retire(format!(
                "a handler ran past --timeout ({}s)",
                self.timeout_ms / 1000
            ));
        }
        let stuck = self.rt.abandoned_calls();
        if stuck > 0 && self.rt.is_draining() && self.rt.connection_count() <= stuck {
            log::warn!(
                "worker {}: every other request is finished; exiting with {stuck} stuck \
                 request(s) given up on (their connections close with the process)",
                self.pid
            );
            self.flush();
            exit_now(0);
        }
    }

    /// Tells the master, which starts a replacement now and has this worker finish (the
    /// gentle drain, by SIGHUP) once the replacement serves: until then this one goes on.
    fn retire(&mut self, reason: String) {
        if !std::mem::replace(&mut self.replacement_asked, true) {
            self.status.send(&Message::Retiring { reason });
        }
    }

    fn flush(&self) {
        if let Some(log) = &self.rt.access_log {
            log.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn max_requests_gets_a_jitter_within_bounds() {
        let config = |args: &[&str]| {
            let mut all = vec!["portico"];
            all.extend_from_slice(args);
            all.push("a.so");
            Config::try_parse_from(all).unwrap()
        };
        assert_eq!(max_requests(&config(&[]), 7), 0);
        assert_eq!(max_requests(&config(&["--max-requests", "100"]), 7), 100);
        let jittery = config(&["--max-requests", "100", "--max-requests-jitter", "50"]);
        let values: std::collections::HashSet<u64> =
            (1..200).map(|pid| max_requests(&jittery, pid)).collect();
        assert!(values.iter().all(|v| (100..=150).contains(v)), "{values:?}");
        assert!(values.len() > 10, "spread out: {values:?}");
    }
}
