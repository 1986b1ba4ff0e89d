//! Owns the access log: one line per request, in gunicorn's `--access-logformat` (its default is
//! the Apache combined format, `%h - - [%t] "%r" %s %b "%{Referer}i" "%{User-agent}i"`) or as a
//! JSON object (`--access-log-json`), buffered and flushed once per event-loop batch so no
//! request waits on the file.
//!
//! Lines come from every thread that finishes a response (an event loop, or a thread whose app
//! call outlived its loop's hand-off), so the buffer sits behind a mutex: one uncontended lock per
//! request, paid only when `--access-logfile` is given, in exchange for whole lines that never
//! interleave. Several worker processes may share one output: a file is opened for appending
//! (each write lands whole at the end), and on a pipe (`-` under a supervisor) writes are cut at
//! line boundaries into pieces of at most `PIPE_BUF` bytes, which the kernel keeps whole.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::clock::{now_unix_ms, now_unix_secs};
use crate::edge::log_format::{render_json, LineFormat, Record};
use crate::error::ServerError;

/// Buffered bytes past which a line is written out at once rather than at the batch's end.
const BUFFER: usize = 64 * 1024;

/// The largest write a pipe keeps whole when several processes write to it (POSIX guarantees
/// 512; Linux's `PIPE_BUF` is 4096).
const PIPE_ATOMIC: usize = 4096;

/// How lines are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// A gunicorn format.
    Text(LineFormat),
    /// One JSON object per line.
    Json,
}

impl Default for Style {
    fn default() -> Style {
        Style::Text(LineFormat::default())
    }
}

struct Sink {
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
    /// The largest single write (line-aligned): `PIPE_ATOMIC` on a pipe or socket.
    piece: usize,
}

impl Sink {
    fn flush(&mut self) {
        let mut rest = &self.buf[..];
        while !rest.is_empty() {
            let mut end = rest.len();
            if end > self.piece {
                // The last line boundary within the piece; a single longer line goes alone.
                end = match rest[..self.piece].iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None => rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(rest.len(), |i| i + 1),
                };
            }
            if let Err(err) = self.out.write_all(&rest[..end]) {
                log::warn!("access log write failed: {err}");
                break;
            }
            rest = &rest[end..];
        }
        self.buf.clear();
        if let Err(err) = self.out.flush() {
            log::warn!("access log flush failed: {err}");
        }
    }
}

/// The buffered access-log writer, shared by the server's threads.
pub struct AccessLog {
    sink: Mutex<Sink>,
    dirty: AtomicBool,
    style: Style,
    pid: String,
    /// The file's path (`None`: stdout or another writer, never reopened).
    path: Option<String>,
}

impl AccessLog {
    /// Opens `-` (stdout) or appends to a file.
    pub fn open(target: &str, style: Style) -> Result<AccessLog, ServerError> {
        if target == "-" {
            let piece = piece_for(std::io::stdout().as_raw_fd());
            return Ok(AccessLog::with(Box::new(std::io::stdout()), style, piece));
        }
        let file = open_file(target)?;
        let piece = piece_for(file.as_raw_fd());
        let mut log = AccessLog::with(Box::new(file), style, piece);
        log.path = Some(target.to_string());
        Ok(log)
    }

    /// Reopens the file (after a log rotation moved it away: USR1, as gunicorn does).
    pub fn reopen(&self) {
        let Some(path) = &self.path else {
            return;
        };
        match open_file(path) {
            Ok(file) => {
                let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
                sink.flush();
                sink.piece = piece_for(file.as_raw_fd());
                sink.out = Box::new(file);
                log::info!("access log {path} reopened");
            }
            Err(e) => log::error!("{e}; still writing to the old file"),
        }
    }

    /// Logs into any writer, in the default format.
    pub fn to(out: Box<dyn Write + Send>) -> AccessLog {
        AccessLog::with(out, Style::default(), usize::MAX)
    }

    fn with(out: Box<dyn Write + Send>, style: Style, piece: usize) -> AccessLog {
        AccessLog {
            sink: Mutex::new(Sink {
                out,
                buf: Vec::with_capacity(BUFFER),
                piece,
            }),
            dirty: AtomicBool::new(false),
            style,
            pid: std::process::id().to_string(),
            path: None,
        }
    }

    /// Appends one line.
    pub fn log(&self, r: &Record<'_>) {
        let mut line = Vec::with_capacity(192);
        match &self.style {
            Style::Text(format) => format.render(&mut line, r, now_unix_secs(), &self.pid),
            Style::Json => render_json(&mut line, r, now_unix_ms(), &self.pid),
        }
        // A poisoned lock only means another thread panicked mid-write: keep logging.
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if sink.buf.len() + line.len() > BUFFER {
            sink.flush();
        }
        sink.buf.extend_from_slice(&line);
        self.dirty.store(true, Ordering::Release);
    }

    /// Flushes buffered lines (once per event-loop batch, when there are any).
    pub fn flush(&self) {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
            sink.flush();
        }
    }
}

fn open_file(path: &str) -> Result<std::fs::File, ServerError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| ServerError::io(format!("cannot open access log {path}"), e))
}

/// The largest write for the output on `fd`: a pipe's or socket's atomic size, else no limit.
fn piece_for(fd: std::os::fd::RawFd) -> usize {
    // SAFETY: fstat(2) into a zeroed stat on the stack.
    let mode = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 {
            return PIPE_ATOMIC;
        }
        st.st_mode & libc::S_IFMT
    };
    if mode == libc::S_IFIFO || mode == libc::S_IFSOCK {
        PIPE_ATOMIC
    } else {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::log_format::Headers;
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<Vec<u8>>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().concat()).unwrap()
        }
    }

    fn record(line: &[u8], status: u16, bytes: u64) -> Record<'_> {
        Record {
            client: "127.0.0.1",
            request_line: line,
            status,
            bytes,
            headers: Headers::NONE,
            elapsed: Duration::ZERO,
            request_id: 0,
        }
    }

    #[test]
    fn a_line_is_combined_format() {
        let sink = Shared::default();
        let log = AccessLog::to(Box::new(sink.clone()));
        log.log(&record(b"GET /a\"b HTTP/1.1", 200, 12));
        log.flush();
        let text = sink.text();
        assert!(text.starts_with("127.0.0.1 - - ["), "{text}");
        assert!(
            text.ends_with("] \"GET /a\\\"b HTTP/1.1\" 200 12 \"-\" \"-\"\n"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_request_without_a_line_logs_dashes() {
        let sink = Shared::default();
        let log = AccessLog::to(Box::new(sink.clone()));
        log.log(&Record {
            client: "-",
            ..record(b"", 408, 0)
        });
        log.flush();
        let text = sink.text();
        assert!(text.starts_with("- - - ["), "{text}");
        assert!(text.ends_with("] \"-\" 408 - \"-\" \"-\"\n"), "{text}");
    }

    #[test]
    fn writes_to_a_pipe_are_whole_lines_of_at_most_pipe_buf() {
        let sink = Shared::default();
        let log = AccessLog::with(Box::new(sink.clone()), Style::Json, PIPE_ATOMIC);
        let long_target = format!("GET /{} HTTP/1.1", "x".repeat(5000));
        for i in 0..200 {
            let line = if i == 100 {
                long_target.as_bytes()
            } else {
                b"GET / HTTP/1.1" as &[u8]
            };
            log.log(&record(line, 200, 1));
        }
        log.flush();
        let writes = sink.0.lock().unwrap().clone();
        assert!(writes.len() > 1);
        for w in &writes {
            assert!(w.ends_with(b"\n"), "a write ends a line");
            assert!(w.len() <= PIPE_ATOMIC || w.iter().filter(|&&b| b == b'\n').count() == 1);
        }
        assert_eq!(sink.text().lines().count(), 200);
    }
}
