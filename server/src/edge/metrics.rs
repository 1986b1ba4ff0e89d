//! Owns the Prometheus metrics: each worker's counters, kept in a page of memory it shares with
//! its master (an anonymous shared mapping made before the fork, as the heartbeat's), and the
//! text the master serves on `--metrics-bind` from the sum of every worker's page and of the
//! totals it kept from the workers that are gone.
//!
//! A request costs a few relaxed atomic additions in that page: no syscall, no lock, nothing
//! crosses a process. The gauges (requests in flight, threads busy, requests waiting, open
//! connections) are copied into the page by the worker's watchdog on each of its ticks, so the
//! request path pays nothing for them. A worker that dies leaves its page behind: the master
//! adds it to its own totals before it unmaps it, so counters never go back.

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The methods counted by name; any other is counted as `other`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];

/// Status classes, 1xx to 5xx.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The duration histogram's upper bounds, in microseconds (Prometheus' default buckets, with
/// two more below 5 ms: a request served from memory takes well under a millisecond).
const BUCKETS_US: [u64; 13] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    10_000_000,
];

/// Why the master replaced a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartCause {
    /// It exited on its own.
    Exit,
    /// A signal killed it (a crash, the OOM killer, `kill -9`).
    Signal,
    /// A handler ran past `--timeout`, or its heartbeat stopped.
    Timeout,
    /// It served `--max-requests`.
    MaxRequests,
}

impl RestartCause {
    const ALL: [RestartCause; 4] = [
        RestartCause::Exit,
        RestartCause::Signal,
        RestartCause::Timeout,
        RestartCause::MaxRequests,
    ];

    fn label(self) -> &'static str {
        match self {
            RestartCause::Exit => "exit",
            RestartCause::Signal => "signal",
            RestartCause::Timeout => "timeout",
            RestartCause::MaxRequests => "max-requests",
        }
    }
}

/// One worker's counters and gauges, as laid out in its shared page.
#[repr(C)]
#[derive(Default)]
pub struct WorkerMetrics {
    requests: [[AtomicU64; 5]; 8],
    /// Per bucket, not cumulative; the last counts those over every bound.
    duration: [AtomicU64; 14],
    duration_sum_us: AtomicU64,
    received_bytes: AtomicU64,
    sent_bytes: AtomicU64,
    queue_full: AtomicU64,
    slow_bodies: AtomicU64,
    slow_readers: AtomicU64,
    in_flight: AtomicU64,
    threads_busy: AtomicU64,
    waiting: AtomicU64,
    connections: AtomicU64,
}

fn method_index(method: &[u8]) -> usize {
    match method {
        b"GET" => 0,
        b"HEAD" => 1,
        b"POST" => 2,
        b"PUT" => 3,
        b"DELETE" => 4,
        b"PATCH" => 5,
        b"OPTIONS" => 6,
        _ => 7,
    }
}

impl WorkerMetrics {
    /// Counts one answered request: `received` bytes of head and body, `sent` bytes of
    /// response, `elapsed` from its head to its end.
    #[inline]
    pub fn request(&self, method: &[u8], status: u16, elapsed: Duration, received: u64, sent: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        let r = Ordering::Relaxed;
        self.requests[method_index(method)][class].fetch_add(1, r);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_US
            .iter()
            .position(|&bound| us <= bound)
            .unwrap_or(BUCKETS_US.len());
        self.duration[bucket].fetch_add(1, r);
        self.duration_sum_us.fetch_add(us, r);
        self.received_bytes.fetch_add(received, r);
        self.sent_bytes.fetch_add(sent, r);
    }

    /// Counts a 503 for a full wait queue.
    pub fn queue_full(&self) {
        self.queue_full.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed for a request body behind `--body-min-rate`.
    pub fn slow_body(&self) {
        self.slow_bodies.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed for a client too slow to take its response.
    pub fn slow_reader(&self) {
        self.slow_readers.fetch_add(1, Ordering::Relaxed);
    }

    /// Publishes the gauges (the watchdog does, on each tick).
    pub fn set_gauges(&self, in_flight: usize, threads_busy: usize, waiting: usize, conns: usize) {
        let r = Ordering::Relaxed;
        self.in_flight.store(in_flight as u64, r);
        self.threads_busy.store(threads_busy as u64, r);
        self.waiting.store(waiting as u64, r);
        self.connections.store(conns as u64, r);
    }
}

/// A worker's page: its [`WorkerMetrics`] in an anonymous shared mapping, made by the master
/// before the fork so that both processes see the same memory.
pub struct MetricsPage {
    page: *mut libc::c_void,
}

// SAFETY: the page is only accessed through the atomics of WorkerMetrics, which is Sync; the
// mapping lives as long as the value.
unsafe impl Send for MetricsPage {}
// SAFETY: as above.
unsafe impl Sync for MetricsPage {}

/// The mapping's size: whole pages.
const PAGE_LEN: usize = std::mem::size_of::<WorkerMetrics>().div_ceil(4096) * 4096;

impl MetricsPage {
    /// Maps a zeroed page (every counter and gauge at 0).
    pub fn new() -> io::Result<MetricsPage> {
        // SAFETY: an anonymous shared mapping, checked for failure.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(MetricsPage { page })
    }

    /// The counters.
    pub fn get(&self) -> &WorkerMetrics {
        // SAFETY: the mapping is page-aligned, zero-filled (a valid WorkerMetrics: atomics of
        // 0), large enough, and only ever accessed through those atomics.
        unsafe { &*(self.page as *const WorkerMetrics) }
    }
}

impl Drop for MetricsPage {
    fn drop(&mut self) {
        // SAFETY: unmapping the pages this value mapped; nothing refers to them any more.
        unsafe { libc::munmap(self.page, PAGE_LEN) };
    }
}

/// Counter values summed over workers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    requests: [[u64; 5]; 8],
    duration: [u64; 14],
    duration_sum_us: u64,
    received_bytes: u64,
    sent_bytes: u64,
    queue_full: u64,
    slow_bodies: u64,
    slow_readers: u64,
}

impl Totals {
    /// Adds one worker's counters.
    pub fn add(&mut self, m: &WorkerMetrics) {
        let r = Ordering::Relaxed;
        for (mine, theirs) in self.requests.iter_mut().zip(&m.requests) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b.load(r);
            }
        }
        for (a, b) in self.duration.iter_mut().zip(&m.duration) {
            *a += b.load(r);
        }
        self.duration_sum_us += m.duration_sum_us.load(r);
        self.received_bytes += m.received_bytes.load(r);
        self.sent_bytes += m.sent_bytes.load(r);
        self.queue_full += m.queue_full.load(r);
        self.slow_bodies += m.slow_bodies.load(r);
        self.slow_readers += m.slow_readers.load(r);
    }

    /// Every request counted.
    pub fn requests(&self) -> u64 {
        self.requests.iter().flatten().sum()
    }
}

/// What the master keeps itself: the totals of workers that are gone, and its own events.
#[derive(Debug, Default)]
pub struct MasterMetrics {
    retired: Totals,
    restarts: [u64; 4],
    reloads_ok: u64,
    reloads_failed: u64,
}

impl MasterMetrics {
    /// A worker is gone: its page's counters join the master's totals.
    pub fn worker_gone(&mut self, page: &MetricsPage) {
        self.retired.add(page.get());
    }

    /// A worker was replaced for `cause`.
    pub fn restarted(&mut self, cause: RestartCause) {
        self.restarts[cause as usize] += 1;
    }

    /// A reload ended: its new generation serves (`ok`) or it was abandoned.
    pub fn reloaded(&mut self, ok: bool) {
        if ok {
            self.reloads_ok += 1;
        } else {
            self.reloads_failed += 1;
        }
    }

    /// The exposition (Prometheus text format 0.0.4) over the live workers' pages.
    pub fn render<'a>(&self, live: impl Iterator<Item = &'a WorkerMetrics>) -> String {
        let mut t = self.retired.clone();
        let (mut in_flight, mut busy, mut waiting, mut conns, mut workers) = (0, 0, 0, 0, 0u64);
        for m in live {
            t.add(m);
            let r = Ordering::Relaxed;
            in_flight += m.in_flight.load(r);
            busy += m.threads_busy.load(r);
            waiting += m.waiting.load(r);
            conns += m.connections.load(r);
            workers += 1;
        }
        let mut out = String::with_capacity(8 * 1024);
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "portico_requests_total",
            "counter",
            "Requests answered, by method and status class.",
        );
        for (m, row) in METHODS.iter().zip(&t.requests) {
            for (c, n) in CLASSES.iter().zip(row) {
                let _ = writeln!(
                    out,
                    "portico_requests_total{{method=\"{m}\",status=\"{c}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            "portico_request_duration_seconds",
            "histogram",
            "Time from the start of a request's handling (its app call, or the server's own answer) to the end of its response; time queued for a thread is not included.",
        );
        let mut cumulative = 0;
        for (bound, n) in BUCKETS_US.iter().zip(&t.duration) {
            cumulative += n;
            let le = *bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "portico_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += t.duration[BUCKETS_US.len()];
        let _ = writeln!(
            out,
            "portico_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n\
             portico_request_duration_seconds_sum {}\n\
             portico_request_duration_seconds_count {cumulative}",
            t.duration_sum_us as f64 / 1e6
        );
        for (name, kind, help, value) in [
            (
                "portico_requests_in_flight",
                "gauge",
                "Requests being handled by the app (calls in progress).",
                in_flight,
            ),
            (
                "portico_app_threads_busy",
                "gauge",
                "Calls running app code, out of --threads per worker (calls waiting on their client do not count).",
                busy,
            ),
            (
                "portico_requests_waiting",
                "gauge",
                "Requests waiting for an app thread.",
                waiting,
            ),
            (
                "portico_connections_open",
                "gauge",
                "Open client connections.",
                conns,
            ),
            ("portico_workers", "gauge", "Live worker processes.", workers),
            (
                "portico_received_bytes_total",
                "counter",
                "Request bytes received (heads and decoded bodies).",
                t.received_bytes,
            ),
            (
                "portico_sent_bytes_total",
                "counter",
                "Response bytes sent (heads and bodies).",
                t.sent_bytes,
            ),
            (
                "portico_queue_full_responses_total",
                "counter",
                "503 answers to requests that found every app thread busy and the wait queue full.",
                t.queue_full,
            ),
        ] {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        family(
            &mut out,
            "portico_slow_client_closes_total",
            "counter",
            "Connections closed for a client behind --body-min-rate, sending its body or taking its response.",
        );
        let _ = writeln!(
            out,
            "portico_slow_client_closes_total{{direction=\"request\"}} {}\n\
             portico_slow_client_closes_total{{direction=\"response\"}} {}",
            t.slow_bodies, t.slow_readers
        );
        family(
            &mut out,
            "portico_worker_restarts_total",
            "counter",
            "Workers replaced, by cause.",
        );
        for cause in RestartCause::ALL {
            let _ = writeln!(
                out,
                "portico_worker_restarts_total{{cause=\"{}\"}} {}",
                cause.label(),
                self.restarts[cause as usize]
            );
        }
        family(
            &mut out,
            "portico_reloads_total",
            "counter",
            "Reloads (HUP, --reload), by outcome.",
        );
        let _ = writeln!(
            out,
            "portico_reloads_total{{outcome=\"success\"}} {}\n\
             portico_reloads_total{{outcome=\"failure\"}} {}",
            self.reloads_ok, self.reloads_failed
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(text: &'a str, series: &str) -> &'a str {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn requests_are_counted_by_method_class_and_duration_bucket() {
        let m = WorkerMetrics::default();
        m.request(b"GET", 200, Duration::from_micros(100), 80, 120);
        m.request(b"GET", 204, Duration::from_millis(3), 80, 100);
        m.request(b"BREW", 418, Duration::from_secs(60), 10, 20);
        m.queue_full();
        let mut master = MasterMetrics::default();
        master.restarted(RestartCause::Signal);
        master.reloaded(false);
        let text = master.render([&m].into_iter());
        assert_eq!(
            value(
                &text,
                "portico_requests_total{method=\"GET\",status=\"2xx\"}"
            ),
            "2"
        );
        assert_eq!(
            value(
                &text,
                "portico_requests_total{method=\"other\",status=\"4xx\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "portico_request_duration_seconds_bucket{le=\"0.00025\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "portico_request_duration_seconds_bucket{le=\"0.005\"}"
            ),
            "2"
        );
        assert_eq!(
            value(&text, "portico_request_duration_seconds_bucket{le=\"10\"}"),
            "2"
        );
        assert_eq!(
            value(
                &text,
                "portico_request_duration_seconds_bucket{le=\"+Inf\"}"
            ),
            "3"
        );
        assert_eq!(value(&text, "portico_request_duration_seconds_count"), "3");
        assert_eq!(value(&text, "portico_received_bytes_total"), "170");
        assert_eq!(value(&text, "portico_sent_bytes_total"), "240");
        assert_eq!(value(&text, "portico_queue_full_responses_total"), "1");
        assert_eq!(
            value(&text, "portico_worker_restarts_total{cause=\"signal\"}"),
            "1"
        );
        assert_eq!(
            value(&text, "portico_reloads_total{outcome=\"failure\"}"),
            "1"
        );
        assert_eq!(value(&text, "portico_workers"), "1");
    }

    #[test]
    fn a_gone_workers_counts_stay_in_the_master_totals() {
        let page = MetricsPage::new().unwrap();
        page.get()
            .request(b"POST", 201, Duration::from_millis(1), 1, 1);
        page.get().set_gauges(3, 2, 1, 7);
        let mut master = MasterMetrics::default();
        let live = master.render([page.get()].into_iter());
        assert_eq!(value(&live, "portico_connections_open"), "7");
        master.worker_gone(&page);
        drop(page);
        let after = master.render(std::iter::empty());
        assert_eq!(
            value(
                &after,
                "portico_requests_total{method=\"POST\",status=\"2xx\"}"
            ),
            "1"
        );
        // Gauges belong to live workers only.
        assert_eq!(value(&after, "portico_connections_open"), "0");
    }

    #[test]
    fn the_page_is_shared_across_a_fork() {
        let page = MetricsPage::new().unwrap();
        // SAFETY: the child only touches the shared page and exits at once.
        match unsafe { libc::fork() } {
            0 => {
                page.get().request(b"GET", 200, Duration::ZERO, 1, 1);
                unsafe { libc::_exit(0) };
            }
            pid => {
                assert!(pid > 0);
                let mut status = 0;
                // SAFETY: waiting for the child just forked.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                let mut t = Totals::default();
                t.add(page.get());
                assert_eq!(t.requests(), 1);
            }
        }
    }
}
