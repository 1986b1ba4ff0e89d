//! Owns what ties a worker to its master: the status pipe (the worker says it is ready, that it
//! is retiring and why, or why it could not start) and the heartbeat, a word in a page of
//! memory both processes share, which the worker's watchdog stamps with the monotonic clock and
//! the master reads to tell a frozen worker from a busy one (gunicorn's worker temp file, without
//! the file).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest message line: a pipe write of at most `PIPE_BUF` (4096 on Linux, 512 by POSIX)
/// bytes is atomic, so lines from one worker never tear. 512 keeps it atomic everywhere and
/// holds any start-up error worth reading.
pub const MAX_LINE: usize = 512;

/// The most unread bytes kept of a worker's status pipe: a worker that writes more without a
/// newline is broken, and the master's memory stays bounded whatever it does.
const MAX_PENDING: usize = 16 * MAX_LINE;

/// What a worker tells its master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The app is created and the worker accepts connections.
    Ready {
        /// The app's name.
        app: String,
    },
    /// The worker stopped accepting and is finishing its requests; the master starts a
    /// replacement now (max requests reached, or a handler stuck past `--timeout`).
    Retiring {
        /// Why, for the log.
        reason: String,
    },
    /// The worker could not start (the library would not load, or `create` failed).
    BootError {
        /// The error, naming the library path and the problem.
        message: String,
    },
}

impl Message {
    /// The message as one line (newlines in the text become spaces; cut to [`MAX_LINE`]).
    pub fn encode(&self) -> Vec<u8> {
        let (kind, text) = match self {
            Message::Ready { app } => ("ready", app),
            Message::Retiring { reason } => ("retiring", reason),
            Message::BootError { message } => ("boot-error", message),
        };
        let mut line = Vec::with_capacity(kind.len() + 1 + text.len() + 1);
        line.extend_from_slice(kind.as_bytes());
        line.push(b' ');
        for &b in text.as_bytes() {
            line.push(if b == b'\n' || b == b'\r' { b' ' } else { b });
        }
        if line.len() > MAX_LINE - 1 {
            // Cut on a character boundary so the text stays valid UTF-8.
            let mut cut = MAX_LINE - 1;
            while cut > 0 && (line[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            line.truncate(cut);
        }
        line.push(b'\n');
        line
    }

    /// Parses one line (without its newline); `None` for anything unknown.
    pub fn decode(line: &[u8]) -> Option<Message> {
        let text = String::from_utf8_lossy(line);
        let (kind, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let rest = rest.to_string();
        match kind {
            "ready" => Some(Message::Ready { app: rest }),
            "retiring" => Some(Message::Retiring { reason: rest }),
            "boot-error" => Some(Message::BootError { message: rest }),
            _ => None,
        }
    }
}

/// The worker's end of its status pipe.
pub struct StatusWriter {
    fd: OwnedFd,
}

impl StatusWriter {
    /// Wraps the write end (made blocking: a message is written whole).
    pub fn new(fd: OwnedFd) -> StatusWriter {
        let _ = crate::sys::set_blocking(fd.as_raw_fd());
        StatusWriter { fd }
    }

    /// Sends one message; a master that is gone is not an error worth more than a debug line.
    pub fn send(&self, message: &Message) {
        let line = message.encode();
        // SAFETY: write(2) of a buffer we own, on a descriptor we own.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), line.as_ptr().cast(), line.len()) };
        if n < 0 {
            log::debug!(
                "cannot tell the master {message:?}: {}",
                io::Error::last_os_error()
            );
        }
    }
}

/// The master's end of a worker's status pipe.
pub struct StatusReader {
    fd: OwnedFd,
    partial: Vec<u8>,
}

impl StatusReader {
    /// Wraps the (non-blocking) read end.
    pub fn new(fd: OwnedFd) -> StatusReader {
        StatusReader {
            fd,
            partial: Vec::new(),
        }
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// Every complete message that arrived, and whether the worker closed its end.
    pub fn read(&mut self) -> (Vec<Message>, bool) {
        let mut closed = false;
        let mut buf = [0u8; 1024];
        loop {
            // SAFETY: read(2) into a stack buffer of the given length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                0 => {
                    closed = true;
                    break;
                }
                n if n > 0 => {
                    self.partial.extend_from_slice(&buf[..n as usize]);
                    if self.partial.len() > MAX_PENDING {
                        self.partial.clear();
                    }
                }
                _ => {
                    if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    break;
                }
            }
        }
        let mut messages = Vec::new();
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            if let Some(m) = Message::decode(&line[..line.len() - 1]) {
                messages.push(m);
            }
        }
        (messages, closed)
    }
}

/// A worker's heartbeat: one word of memory shared with its master (an anonymous shared
/// mapping made before the fork, so both processes see the same page).
pub struct Heartbeat {
    page: *mut libc::c_void,
}

// SAFETY: the page is only accessed through an AtomicU64, which is Sync; the mapping lives as
// long as the value.
unsafe impl Send for Heartbeat {}
// SAFETY: as above.
unsafe impl Sync for Heartbeat {}

/// The mapping's size: one page.
const PAGE: usize = 4096;

impl Heartbeat {
    /// Maps a fresh page, stamped with now.
    pub fn new() -> io::Result<Heartbeat> {
        // SAFETY: an anonymous shared mapping of one page; checked for failure.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let beat = Heartbeat { page };
        beat.beat(crate::sys::monotonic_ms());
        Ok(beat)
    }

    fn word(&self) -> &AtomicU64 {
        // SAFETY: the page is mapped, page-aligned (so aligned for u64) and zero-initialised,
        // and only ever accessed atomically.
        unsafe { &*(self.page as *const AtomicU64) }
    }

    /// Stamps the heartbeat with `now_ms` (the monotonic clock).
    pub fn beat(&self, now_ms: u64) {
        self.word().store(now_ms, Ordering::Release);
    }

    /// The last stamp.
    pub fn last(&self) -> u64 {
        self.word().load(Ordering::Acquire)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        // SAFETY: unmapping the page this value mapped; nothing refers to it any more.
        unsafe { libc::munmap(self.page, PAGE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_single_lines() {
        for m in [
            Message::Ready {
                app: "raw-hello".into(),
            },
            Message::Retiring {
                reason: "max requests (1000) reached".into(),
            },
            Message::BootError {
                message: "cannot load app /x.so: no such file".into(),
            },
        ] {
            let line = m.encode();
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(Message::decode(&line[..line.len() - 1]), Some(m));
        }
        assert_eq!(Message::decode(b"hello there"), None);
    }

    #[test]
    fn long_and_multi_line_texts_stay_one_atomic_line() {
        let m = Message::BootError {
            message: format!("first\nsecond {}", "é".repeat(1000)),
        };
        let line = m.encode();
        assert!(line.len() <= MAX_LINE, "{}", line.len());
        assert!(std::str::from_utf8(&line).is_ok(), "cut on a char boundary");
        assert!(line.starts_with(b"boot-error first second "));
    }

    #[test]
    fn a_reader_collects_whole_lines_and_sees_the_end() {
        let (r, w) = crate::sys::pipe().unwrap();
        let writer = StatusWriter::new(w);
        let mut reader = StatusReader::new(r);
        writer.send(&Message::Ready { app: "a".into() });
        writer.send(&Message::Retiring { reason: "r".into() });
        let (got, closed) = reader.read();
        assert_eq!(got.len(), 2);
        assert!(!closed);
        drop(writer);
        let (got, closed) = reader.read();
        assert!(got.is_empty() && closed);
    }

    #[test]
    fn a_heartbeat_keeps_its_last_stamp() {
        let h = Heartbeat::new().unwrap();
        assert!(h.last() > 0);
        h.beat(42);
        assert_eq!(h.last(), 42);
    }
}
