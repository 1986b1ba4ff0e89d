//! A steady load in the test itself, counted the way wrk counts: N keep-alive connections, each
//! sending its next request as soon as the last answer is in; a connection the server closes
//! with `Connection: close` is reopened (no error, as in wrk); a failure to connect, to write,
//! or to read a whole answer (a reset, or the connection closing before the answer is whole) is
//! a socket error; an answer not 2xx is counted apart. It also remembers, for each distinct
//! body, how many times and when it was first and last seen, so a test can tell which app
//! answered when.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How long one answer may take before the request counts as a timeout (wrk's default is 2 s).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What a load saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Answers read whole.
    pub requests: u64,
    /// Connections that could not be opened.
    pub connect_errors: u64,
    /// Requests that could not be written.
    pub write_errors: u64,
    /// Answers cut by a reset or a close.
    pub read_errors: u64,
    /// Answers that did not come within [`ANSWER_TIMEOUT`].
    pub timeouts: u64,
    /// Answers whose status was not 2xx.
    pub non_2xx: u64,
    /// Per distinct body: (count, first seen, last seen), times since the load began.
    pub bodies: BTreeMap<String, (u64, Duration, Duration)>,
    /// The first few errors, described.
    pub errors: Vec<String>,
}

impl Report {
    /// Every kind of socket error, as wrk's "Socket errors" line adds them up.
    pub fn socket_errors(&self) -> u64 {
        self.connect_errors + self.write_errors + self.read_errors + self.timeouts
    }

    fn merge(&mut self, other: Report) {
        self.requests += other.requests;
        self.connect_errors += other.connect_errors;
        self.write_errors += other.write_errors;
        self.read_errors += other.read_errors;
        self.timeouts += other.timeouts;
        self.non_2xx += other.non_2xx;
        for (body, (n, first, last)) in other.bodies {
            let e = self.bodies.entry(body).or_insert((0, first, last));
            e.0 += n;
            e.1 = e.1.min(first);
            e.2 = e.2.max(last);
        }
        self.errors.extend(other.errors);
        self.errors.truncate(20);
    }

    fn note(&mut self, what: String) {
        if self.errors.len() < 20 {
            self.errors.push(what);
        }
    }
}

/// A load running on its own threads until [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<Report>>,
    started: Instant,
}

impl Load {
    /// Starts `connections` clients asking `GET path` of `addr` in a loop.
    pub fn start(addr: SocketAddr, path: &str, connections: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let request = Arc::new(
            format!("GET {path} HTTP/1.1\r\nHost: load.test\r\nUser-Agent: portico-load\r\n\r\n")
                .into_bytes(),
        );
        let threads = (0..connections)
            .map(|_| {
                let (stop, request) = (Arc::clone(&stop), Arc::clone(&request));
                thread::spawn(move || client(addr, &request, &stop, started))
            })
            .collect();
        Load {
            stop,
            threads,
            started,
        }
    }

    /// Time since the load began.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Stops the clients (each finishes its request in flight) and adds up what they saw.
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::Release);
        let mut report = Report::default();
        for t in self.threads {
            if let Ok(r) = t.join() {
                report.merge(r);
            }
        }
        report
    }
}

/// Runs a load for `length` and returns its report; `during` runs on the test's thread with the
/// load's start time, meanwhile (to signal the server and so on).
pub fn run_for(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    length: Duration,
    during: impl FnOnce(&Load),
) -> Report {
    let load = Load::start(addr, path, connections);
    during(&load);
    let left = length.saturating_sub(load.elapsed());
    thread::sleep(left);
    load.finish()
}

fn client(addr: SocketAddr, request: &[u8], stop: &AtomicBool, started: Instant) -> Report {
    let mut r = Report::default();
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(4096);
    while !stop.load(Ordering::Acquire) {
        let stream = match conn.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(ANSWER_TIMEOUT));
                    conn.insert(s)
                }
                Err(e) => {
                    r.connect_errors += 1;
                    r.note(format!("connect: {e}"));
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        if let Err(e) = stream.write_all(request) {
            r.write_errors += 1;
            r.note(format!("write: {e}"));
            conn = None;
            continue;
        }
        buf.clear();
        match read_answer(stream, &mut buf) {
            Ok(answer) => {
                r.requests += 1;
                if !(200..300).contains(&answer.status) {
                    r.non_2xx += 1;
                    r.note(format!("status {}", answer.status));
                }
                let at = started.elapsed();
                let e = r.bodies.entry(answer.body).or_insert((0, at, at));
                e.0 += 1;
                e.2 = at;
                if answer.close {
                    conn = None;
                }
            }
            Err(Failure::Timeout) => {
                r.timeouts += 1;
                r.note("timeout".into());
                conn = None;
            }
            Err(Failure::Cut(what)) => {
                r.read_errors += 1;
                r.note(format!("read: {what}"));
                conn = None;
            }
        }
    }
    r
}

struct Answer {
    status: u16,
    body: String,
    close: bool,
}

enum Failure {
    Timeout,
    Cut(String),
}

/// Reads one whole answer (Content-Length framing, as the apps under test send).
fn read_answer(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Answer, Failure> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        fill(s, buf, &mut chunk)?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    let mut close = false;
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .parse()
                    .map_err(|_| Failure::Cut(format!("bad length {value}")))?;
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                close = true;
            }
        }
    }
    while buf.len() < head_end + length {
        fill(s, buf, &mut chunk)?;
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Ok(Answer {
        status,
        body,
        close,
    })
}

fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> Result<(), Failure> {
    match s.read(chunk) {
        Ok(0) => Err(Failure::Cut("closed before the answer was whole".into())),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Err(Failure::Timeout)
        }
        Err(e) => Err(Failure::Cut(e.to_string())),
    }
}
