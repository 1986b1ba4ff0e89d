//! Owns the access log: one Apache combined line per request, like gunicorn's default
//! (`%h - - [%t] "%r" %s %b "%{Referer}i" "%{User-agent}i"`), buffered and flushed once per
//! event-loop batch so no request waits on the file.
//!
//! Lines come from every thread that finishes a response (an event loop, or a thread whose app
//! call outlived its loop's hand-off), so the buffer sits behind a mutex: one uncontended lock per
//! request, paid only when `--access-logfile` is given, in exchange for whole lines that never
//! interleave.

use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::clock::now_unix_secs;
use crate::error::ServerError;

/// The buffered access-log writer, shared by the server's threads.
pub struct AccessLog {
    out: Mutex<BufWriter<Box<dyn Write + Send>>>,
    dirty: AtomicBool,
}

/// What one line says about a request.
pub struct Entry<'a> {
    /// Client address (`-` when unknown).
    pub host: &'a str,
    /// The request line as received (empty: none was read).
    pub request_line: &'a [u8],
    /// Response status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// Referer header value.
    pub referer: &'a [u8],
    /// User-Agent header value.
    pub user_agent: &'a [u8],
}

impl AccessLog {
    /// Opens `-` (stdout) or appends to a file.
    pub fn open(target: &str) -> Result<AccessLog, ServerError> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)
                    .map_err(|e| ServerError::io(format!("cannot open access log {target}"), e))?,
            )
        };
        Ok(AccessLog::to(out))
    }

    /// Logs into any writer.
    pub fn to(out: Box<dyn Write + Send>) -> AccessLog {
        AccessLog {
            out: Mutex::new(BufWriter::with_capacity(64 * 1024, out)),
            dirty: AtomicBool::new(false),
        }
    }

    /// Appends one line.
    pub fn log(&self, e: &Entry<'_>) {
        let mut line = Vec::with_capacity(160);
        line.extend_from_slice(e.host.as_bytes());
        line.extend_from_slice(b" - - [");
        line.extend_from_slice(clf_time(now_unix_secs()).as_bytes());
        line.extend_from_slice(b"] \"");
        // A request refused before its request line was read has none: `-`, as for headers.
        quoted_or_dash(&mut line, e.request_line);
        line.extend_from_slice(b"\" ");
        line.extend_from_slice(e.status.to_string().as_bytes());
        line.push(b' ');
        if e.bytes == 0 {
            line.push(b'-');
        } else {
            line.extend_from_slice(e.bytes.to_string().as_bytes());
        }
        line.extend_from_slice(b" \"");
        quoted_or_dash(&mut line, e.referer);
        line.extend_from_slice(b"\" \"");
        quoted_or_dash(&mut line, e.user_agent);
        line.extend_from_slice(b"\"\n");
        // A poisoned lock only means another thread panicked mid-write: keep logging.
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = out.write_all(&line) {
            log::warn!("access log write failed: {err}");
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// Flushes buffered lines (once per event-loop batch, when there are any).
    pub fn flush(&self) {
        if self.dirty.swap(false, Ordering::AcqRel) {
            let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(err) = out.flush() {
                log::warn!("access log flush failed: {err}");
            }
        }
    }
}

fn quoted_or_dash(out: &mut Vec<u8>, value: &[u8]) {
    if value.is_empty() {
        out.push(b'-');
    } else {
        escape(out, value);
    }
}

/// Escapes quotes, backslashes and non-printable bytes so a client cannot forge log lines.
fn escape(out: &mut Vec<u8>, value: &[u8]) {
    for &b in value {
        match b {
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
}

/// `10/Oct/2000:13:55:36 +0000` for a Unix time (UTC).
fn clf_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (Howard Hinnant's algorithm), valid for every date after 1970.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn clf_time_formats_known_instants() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(clf_time(971_186_136), "10/Oct/2000:13:55:36 +0000");
        assert_eq!(clf_time(1_709_210_096), "29/Feb/2024:12:34:56 +0000");
    }

    #[test]
    fn a_line_is_combined_format() {
        let sink = Shared::default();
        let log = AccessLog::to(Box::new(sink.clone()));
        log.log(&Entry {
            host: "127.0.0.1",
            request_line: b"GET /a\"b HTTP/1.1",
            status: 200,
            bytes: 12,
            referer: b"",
            user_agent: b"curl/8",
        });
        log.flush();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("127.0.0.1 - - ["), "{text}");
        assert!(
            text.ends_with("] \"GET /a\\\"b HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_request_without_a_line_logs_dashes() {
        let sink = Shared::default();
        let log = AccessLog::to(Box::new(sink.clone()));
        log.log(&Entry {
            host: "-",
            request_line: b"",
            status: 408,
            bytes: 0,
            referer: b"",
            user_agent: b"",
        });
        log.flush();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("- - - ["), "{text}");
        assert!(text.ends_with("] \"-\" 408 - \"-\" \"-\"\n"), "{text}");
    }
}
