//! Owns the master's `--metrics-bind` listener: `GET /metrics` answered with the Prometheus
//! text the master renders from its workers' pages, on a port of its own (never the app's).
//!
//! The master is single-threaded (it forks), so a scrape is served inline in its loop: the
//! listener is polled beside the signal pipe and the status pipes, and each connection gets at
//! most [`READ_WAIT`] to send its request line (a scraper sends it at once) and [`WRITE_WAIT`]
//! to take the answer, so a client there can delay the master's loop by a bounded moment only.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use crate::error::ServerError;

/// The longest a scrape may take to send its request head.
const READ_WAIT: Duration = Duration::from_millis(100);

/// The longest a scrape may take to read its answer.
const WRITE_WAIT: Duration = Duration::from_secs(1);

/// Most connections answered per wake-up (the rest wait in the backlog for the next turn).
const PER_WAKE: usize = 8;

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// The metrics listener.
pub struct MetricsEndpoint {
    listener: TcpListener,
}

impl MetricsEndpoint {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr) -> Result<MetricsEndpoint, ServerError> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| ServerError::io(format!("cannot bind --metrics-bind {addr}"), e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| ServerError::io("cannot set the metrics listener non-blocking", e))?;
        Ok(MetricsEndpoint { listener })
    }

    /// The address bound (the port chosen, for port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.listener.as_raw_fd()
    }

    /// Answers the connections waiting, rendering the exposition with `render` for each scrape.
    pub fn serve(&self, render: impl Fn() -> String) {
        for _ in 0..PER_WAKE {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = answer(stream, &render) {
                        log::debug!("metrics: a scrape failed: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::warn!("metrics: accept failed: {e}");
                    return;
                }
            }
        }
    }
}

/// One scrape: the request line, then the answer, then the close.
fn answer(mut stream: TcpStream, render: &impl Fn() -> String) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(READ_WAIT))?;
    stream.set_write_timeout(Some(WRITE_WAIT))?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, content_type, body) = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(),
        ),
        (b"GET" | b"HEAD", _) => (
            "404 Not Found",
            "text/plain",
            "Not Found: try /metrics\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "Method Not Allowed\n".into(),
        ),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != b"HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(endpoint: &MetricsEndpoint, request: &[u8]) -> String {
        let mut client = TcpStream::connect(endpoint.local_addr().unwrap()).unwrap();
        client.write_all(request).unwrap();
        // The master's loop would see the listener readable; here it is served directly.
        std::thread::sleep(Duration::from_millis(20));
        endpoint.serve(|| "portico_up 1\n".to_string());
        let mut text = String::new();
        client.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn metrics_is_served_and_other_paths_are_not() {
        let endpoint = MetricsEndpoint::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let ok = scrape(&endpoint, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("version=0.0.4"));
        assert!(ok.ends_with("\r\n\r\nportico_up 1\n"), "{ok}");
        let missing = scrape(&endpoint, b"GET / HTTP/1.1\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let post = scrape(&endpoint, b"POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        // Nothing waiting: serve returns at once.
        endpoint.serve(|| unreachable!("no scrape is waiting"));
    }
}
