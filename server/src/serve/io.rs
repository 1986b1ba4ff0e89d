//! Owns a connection's bytes in and out: the socket type, the read window and the write buffer
//! (recycled through a per-thread pool, so an idle connection holds neither), and the blocking
//! wait an app call uses when its socket is not ready (`poll(2)` on that one socket, outside
//! the event loop).

use std::cell::RefCell;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::edge::tls::TlsStream;

/// Bytes in a pooled read buffer: the window request heads and bodies stream through. A typical
/// head, or a batch of small pipelined requests, fits; a larger head grows its own buffer up to
/// the head limits, and a body never needs more than the window.
pub const READ_BUF: usize = 16 * 1024;

/// Write buffers kept in the pool are at most this large; a buffer that grew past it for a big
/// response is freed when the response is sent instead of pinning the memory.
const POOLED_WRITE_CAP: usize = 64 * 1024;

/// Buffers of each kind a thread keeps for reuse. Enough for the connections that are busy at
/// once on one loop; the rest are freed, so memory returns after a burst.
const POOL_DEPTH: usize = 64;

thread_local! {
    static READ_POOL: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
    static WRITE_POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A client socket.
pub enum Stream {
    /// TCP.
    Tcp(mio::net::TcpStream),
    /// Unix domain.
    Unix(mio::net::UnixStream),
    /// TCP with TLS (`--certfile`): records and the handshake run inside its reads and writes.
    Tls(Box<TlsStream>),
}

impl Stream {
    /// Shuts down the sending side (the client reads the end of the last response; a TLS
    /// client gets `close_notify` first).
    pub fn shutdown_write(&mut self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Tls(s) => {
                s.shutdown_write();
                Ok(())
            }
        };
    }

    /// Whether a TLS session holds records the socket did not take yet (a handshake flight
    /// larger than the socket's buffer); never for a plain socket.
    #[inline]
    pub fn wants_write(&self) -> bool {
        match self {
            Stream::Tls(s) => s.wants_write(),
            _ => false,
        }
    }

    /// Whether this is a TLS connection (the app is told `https`).
    #[inline]
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The TLS client certificate's subject (RFC 4514), when the client presented one.
    pub fn tls_client_subject(&self) -> Option<&str> {
        match self {
            Stream::Tls(s) => s.client_subject(),
            _ => None,
        }
    }
}

impl Stream {
    /// The socket `sendfile(2)` can write a file's bytes to, when bytes handed to the kernel go
    /// to the client as they are (plain TCP, unix sockets). A transport that must transform
    /// them on the way (TLS) answers `None`, and [`send_file_once`] reads and writes instead.
    pub fn sendfile_fd(&self) -> Option<RawFd> {
        match self {
            Stream::Tcp(s) => Some(s.as_raw_fd()),
            Stream::Unix(s) => Some(s.as_raw_fd()),
            // TLS encrypts in user space: the file goes through pread and the record layer.
            Stream::Tls(_) => None,
        }
    }
}

/// The most one `sendfile(2)` call is asked for (Linux moves at most 0x7ffff000 bytes a call).
const SENDFILE_MAX: u64 = 0x7fff_f000;

/// Bytes a copying [`send_file_once`] reads from the file at a time (the only part of the file
/// ever held in memory on that path).
pub const FILE_COPY_BUF: usize = 64 * 1024;

/// Sends what the socket takes now of `len` bytes of `file` at `offset`, without moving the
/// file's position: `sendfile(2)` where the stream allows, else `pread` into a small buffer
/// and a `write` (bytes the socket did not take are read again next time). `Ok(0)` with
/// `len > 0` is the end of the file; `WouldBlock` means the socket is full.
pub fn send_file_once(
    stream: &mut Stream,
    file: RawFd,
    offset: u64,
    len: u64,
) -> io::Result<usize> {
    let len = len.min(SENDFILE_MAX);
    let off = i64::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    match stream.sendfile_fd() {
        Some(sock) => loop {
            let mut at: libc::off_t = off;
            // SAFETY: both descriptors are open for the call; `at` is a valid off_t.
            let rc = unsafe { libc::sendfile(sock, file, &mut at, len as usize) };
            if rc >= 0 {
                return Ok(rc as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        },
        None => copy_file_once(stream, file, off, len),
    }
}

/// The copying path of [`send_file_once`].
fn copy_file_once(stream: &mut Stream, file: RawFd, off: i64, len: u64) -> io::Result<usize> {
    let mut buf = [0u8; FILE_COPY_BUF];
    let want = (len as usize).min(buf.len());
    let got = loop {
        // SAFETY: `buf` has `want` writable bytes.
        let rc = unsafe { libc::pread(file, buf.as_mut_ptr().cast(), want, off) };
        if rc >= 0 {
            break rc as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    if got == 0 {
        return Ok(0);
    }
    loop {
        match stream.write(&buf[..got]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tls(s) => s.socket().as_raw_fd(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::Tls(s) => s.write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(r, t, i),
            Stream::Unix(s) => s.register(r, t, i),
            Stream::Tls(s) => s.socket_mut().register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(r, t, i),
            Stream::Unix(s) => s.reregister(r, t, i),
            Stream::Tls(s) => s.socket_mut().reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(r),
            Stream::Unix(s) => s.deregister(r),
            Stream::Tls(s) => s.socket_mut().deregister(r),
        }
    }
}

/// Bytes read from the socket and not consumed yet: `[start..end)` of a fixed allocation, zeroed
/// once when made and reused after, so reads land in it without a copy.
///
/// The memory is held through a raw pointer rather than a `Box<[u8]>` because a request's head
/// stays borrowed by the app (as raw `gw_str` pointers) while its body is read into the space
/// after it: every access below touches only its own range, never the whole allocation, so the
/// head's pointers stay valid.
pub struct ReadBuf {
    ptr: std::ptr::NonNull<u8>,
    cap: usize,
    start: usize,
    end: usize,
}

// SAFETY: ReadBuf owns its allocation exclusively, like a Box<[u8]>.
unsafe impl Send for ReadBuf {}

impl ReadBuf {
    fn from_box(data: Box<[u8]>) -> ReadBuf {
        let cap = data.len();
        let raw = Box::into_raw(data) as *mut u8;
        ReadBuf {
            // SAFETY: Box::into_raw never returns null.
            ptr: unsafe { std::ptr::NonNull::new_unchecked(raw) },
            cap,
            start: 0,
            end: 0,
        }
    }

    fn into_box(self) -> Box<[u8]> {
        let me = std::mem::ManuallyDrop::new(self);
        // SAFETY: ptr/cap came from Box::into_raw of a boxed slice of exactly cap bytes.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(me.ptr.as_ptr(), me.cap)) }
    }

    /// A buffer from this thread's pool, or a new one.
    pub fn take() -> ReadBuf {
        let data = READ_POOL
            .with(|pool| pool.borrow_mut().pop())
            .unwrap_or_else(|| vec![0u8; READ_BUF].into_boxed_slice());
        ReadBuf::from_box(data)
    }

    /// Returns the memory to this thread's pool (a grown buffer is freed instead).
    pub fn give_back(self) {
        if self.cap != READ_BUF {
            return;
        }
        let data = self.into_box();
        READ_POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < POOL_DEPTH {
                pool.push(data);
            }
        });
    }

    /// `[from..to)` of the buffer.
    fn range(&self, from: usize, to: usize) -> &[u8] {
        debug_assert!(from <= to && to <= self.end);
        // SAFETY: within the allocation and initialised (zeroed at creation).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(from), to - from) }
    }

    /// The unconsumed bytes.
    pub fn bytes(&self) -> &[u8] {
        self.range(self.start, self.end)
    }

    /// Where the unconsumed bytes start in the buffer.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Where the bytes read end in the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// Bytes `[from..end)`: what was read from `from` on, consumed or not (a head stays
    /// readable at its place while its request runs).
    pub fn from(&self, from: usize) -> &[u8] {
        self.range(from.min(self.end), self.end)
    }

    /// A pointer to byte `at`, for views handed to the app that outlive any one borrow.
    pub fn ptr_at(&self, at: usize) -> *const u8 {
        debug_assert!(at <= self.cap);
        // SAFETY: within (or one past) the allocation.
        unsafe { self.ptr.as_ptr().add(at) }
    }

    /// Whether every byte read was consumed.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Consumes everything up to `at` (an absolute position).
    pub fn consume_to(&mut self, at: usize) {
        if at > self.start {
            self.consume(at - self.start);
        }
    }

    /// Forgets the bytes from `at` on (all consumed): later reads land at `at` again. A body
    /// read past its head reuses the window this way without moving the head.
    pub fn rewind_to(&mut self, at: usize) {
        debug_assert!(at >= self.start && at <= self.end);
        self.end = at.max(self.start);
    }

    /// Drops every unconsumed byte.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Room left after the last byte read.
    pub fn room(&self) -> usize {
        self.cap - self.end
    }

    /// The buffer's size.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Moves the bytes at `from..end` to the front of the buffer (`from` is at most `start`:
    /// bytes before it are dropped). Returns how far they moved.
    pub fn compact_from(&mut self, from: usize) -> usize {
        let from = from.min(self.start);
        if from > 0 {
            // SAFETY: both ranges lie within the allocation; ptr::copy allows overlap.
            unsafe {
                std::ptr::copy(
                    self.ptr.as_ptr().add(from),
                    self.ptr.as_ptr(),
                    self.end - from,
                )
            };
            self.start -= from;
            self.end -= from;
        }
        from
    }

    /// Makes room for at least `total` bytes in all (for a head larger than the window), up to
    /// `max`. Returns false when `total` is over `max`. Moves the bytes: never while a request's
    /// head is lent to the app.
    pub fn grow_to(&mut self, total: usize, max: usize) -> bool {
        if total > max {
            return false;
        }
        if total > self.cap {
            let size = total.max(self.cap * 2).min(max);
            let mut data = vec![0u8; size].into_boxed_slice();
            data[..self.end].copy_from_slice(self.range(0, self.end));
            let (start, end) = (self.start, self.end);
            let old = std::mem::replace(self, ReadBuf::from_box(data));
            drop(old.into_box());
            self.start = start;
            self.end = end;
        }
        true
    }

    /// The room after the last byte read, as a slice to read into.
    fn room_mut(&mut self, limit: usize) -> &mut [u8] {
        let n = self.room().min(limit);
        // SAFETY: [end..end+n) lies within the allocation, is initialised, and no other
        // reference covers it (views handed out cover only bytes before `end`).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.end), n) }
    }

    /// Reads once from `stream` into the room left. `Ok(0)` is the end of the stream (or no
    /// room: callers check [`ReadBuf::room`] first).
    pub fn read_from(&mut self, stream: &mut Stream) -> io::Result<usize> {
        let n = stream.read(self.room_mut(usize::MAX))?;
        self.end += n;
        Ok(n)
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        let me = ReadBuf {
            ptr: self.ptr,
            cap: self.cap,
            start: 0,
            end: 0,
        };
        drop(me.into_box());
    }
}

/// Bytes owed to the client: `data[pos..]` is unsent.
#[derive(Default)]
pub struct WriteBuf {
    data: Vec<u8>,
    pos: usize,
    /// Bytes sent before `data[0]`: with it, positions are counted over the connection's life
    /// and stay meaningful after the buffer empties.
    flushed: u64,
    /// Every byte was handed to the stream, but its TLS session still holds records the
    /// socket did not take: the buffer is not empty until they are out.
    tls_owed: bool,
}

impl WriteBuf {
    /// The buffer to append response bytes to. Takes pooled memory the first time.
    pub fn vec(&mut self) -> &mut Vec<u8> {
        if self.data.capacity() == 0 {
            if let Some(v) = WRITE_POOL.with(|pool| pool.borrow_mut().pop()) {
                self.data = v;
            }
        }
        &mut self.data
    }

    /// Bytes of the buffer not handed to the stream yet (records a TLS session still holds
    /// are not counted: they are a record or two, and [`WriteBuf::is_empty`] owns them).
    #[inline]
    pub fn unsent(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Bytes ever appended, counted over the connection's life.
    pub fn total_len(&self) -> u64 {
        self.flushed + self.data.len() as u64
    }

    /// Bytes ever sent, counted over the connection's life.
    pub fn total_sent(&self) -> u64 {
        self.flushed + self.pos as u64
    }

    /// Whether nothing is owed: every byte went to the stream, and a TLS session holds no
    /// record the socket did not take.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos == self.data.len() && !self.tls_owed
    }

    /// How many bytes at the front were already sent.
    pub fn sent(&self) -> usize {
        self.pos
    }

    /// Cuts what was appended back to `total` bytes (over the connection's life): a response
    /// none of whose bytes were sent, replaced by another. Sent bytes are never cut.
    pub fn truncate_total(&mut self, total: u64) {
        let keep = total
            .saturating_sub(self.flushed)
            .min(self.data.len() as u64) as usize;
        self.data.truncate(keep.max(self.pos));
    }

    /// Writes what the socket takes now. `Ok(true)`: everything was sent; `Ok(false)`: the
    /// socket would block with bytes left.
    pub fn write_to(&mut self, stream: &mut Stream) -> io::Result<bool> {
        while self.pos < self.data.len() {
            match stream.write(&self.data[self.pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.reset();
        self.settle_tls(stream)
    }

    /// After every buffered byte went to `stream`: a TLS session may still hold records the
    /// socket did not take; they count as owed until they are out (`Ok(false)`). A plain
    /// socket has none and leaves the flag alone (it is never set for one).
    #[inline]
    fn settle_tls(&mut self, stream: &mut Stream) -> io::Result<bool> {
        if let Stream::Tls(s) = stream {
            self.tls_owed = !s.flush_tls()?;
            return Ok(!self.tls_owed);
        }
        Ok(true)
    }

    /// Writes the unsent bytes and then `tail` with one vectored call where the socket takes
    /// them, without copying `tail` into the buffer. Returns how many bytes of `tail` went out;
    /// stops (`Ok`) when the socket would block.
    pub fn write_with_tail(&mut self, stream: &mut Stream, tail: &[u8]) -> io::Result<usize> {
        let mut sent_tail = 0;
        loop {
            let head = &self.data[self.pos..];
            if head.is_empty() && sent_tail == tail.len() {
                break;
            }
            let slices = [IoSlice::new(head), IoSlice::new(&tail[sent_tail..])];
            match stream.write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    let from_head = n.min(head.len());
                    self.pos += from_head;
                    sent_tail += n - from_head;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.pos == self.data.len() {
            self.reset();
            if sent_tail == tail.len() {
                self.settle_tls(stream)?;
            }
        }
        Ok(sent_tail)
    }

    /// Counts `n` bytes that went to the socket past the buffer (a file sent with
    /// `sendfile(2)` while nothing was owed), so positions over the connection's life stay true.
    pub fn sent_directly(&mut self, n: u64) {
        debug_assert!(self.is_empty());
        self.flushed += n;
    }

    /// Empties the buffer once everything was sent, keeping its memory for the next response.
    fn reset(&mut self) {
        self.flushed += self.data.len() as u64;
        self.data.clear();
        self.pos = 0;
    }

    /// Returns the memory to this thread's pool once nothing is owed (an idle connection holds
    /// no buffer).
    pub fn release(&mut self) {
        if !self.is_empty() || self.data.capacity() == 0 {
            return;
        }
        self.flushed += self.data.len() as u64;
        let mut data = std::mem::take(&mut self.data);
        self.pos = 0;
        if data.capacity() <= POOLED_WRITE_CAP {
            data.clear();
            WRITE_POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < POOL_DEPTH {
                    pool.push(data);
                }
            });
        }
    }
}

/// What one socket is ready for after [`wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Readiness {
    /// Bytes (or the end of the stream) can be read.
    pub readable: bool,
    /// Bytes can be written.
    pub writable: bool,
    /// The socket has an error or was reset.
    pub broken: bool,
}

/// Blocks until the socket `fd` is readable (`read`) or writable (`write`), or `timeout` passes
/// (`Ok(None)`). Used only on a thread running an app call, which owns the connection: the
/// event loop has handed itself on by then (see the crate docs), so the wait stalls no one else.
pub fn wait(
    fd: RawFd,
    read: bool,
    write: bool,
    timeout: Duration,
) -> io::Result<Option<Readiness>> {
    let deadline = Instant::now() + timeout;
    let mut events = 0;
    if read {
        events |= libc::POLLIN;
    }
    if write {
        events |= libc::POLLOUT;
    }
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if rc == 0 {
            if Instant::now() >= deadline {
                return Ok(None);
            }
            continue;
        }
        return Ok(Some(Readiness {
            readable: pfd.revents & (libc::POLLIN | libc::POLLHUP) != 0,
            writable: pfd.revents & libc::POLLOUT != 0,
            broken: pfd.revents & (libc::POLLERR | libc::POLLNVAL) != 0
                || (pfd.revents & libc::POLLHUP != 0 && write),
        }));
    }
}

/// Whether the socket has failed (reset by the client, or an error pending): a check that does
/// not block and does not consume anything. A client that only closed its sending side has not
/// failed: its request is still answered.
pub fn is_broken(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    rc > 0 && pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Stream, std::os::unix::net::UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (Stream::Unix(mio::net::UnixStream::from_std(a)), b)
    }

    #[test]
    fn read_buffers_keep_consumed_bytes_in_place_until_compacted() {
        let (mut s, mut peer) = pair();
        peer.write_all(b"HEAD|body").unwrap();
        let mut buf = ReadBuf::take();
        assert_eq!(buf.capacity(), READ_BUF);
        assert_eq!(buf.read_from(&mut s).unwrap(), 9);
        buf.consume(5);
        assert_eq!(buf.bytes(), b"body");
        assert_eq!(
            &buf.from(0)[..4],
            b"HEAD",
            "consumed bytes stay where they were"
        );
        assert_eq!(buf.compact_from(5), 5);
        assert_eq!((buf.start(), buf.bytes()), (0, &b"body"[..]));
        assert!(matches!(buf.read_from(&mut s), Err(e) if e.kind() == io::ErrorKind::WouldBlock));
        buf.consume(4);
        assert!(buf.is_empty());
        assert!(buf.grow_to(READ_BUF * 3, READ_BUF * 4));
        assert!(buf.capacity() >= READ_BUF * 3);
        assert!(!buf.grow_to(READ_BUF * 5, READ_BUF * 4));
        buf.give_back();
    }

    #[test]
    fn write_buffers_send_what_the_socket_takes_and_keep_the_rest() {
        let (mut s, mut peer) = pair();
        let mut w = WriteBuf::default();
        w.vec().extend_from_slice(&vec![7u8; 4 << 20]);
        assert!(!w.write_to(&mut s).unwrap(), "a socket buffer is not 4 MiB");
        assert!(w.unsent() > 0 && w.sent() > 0);
        // Drain the peer and finish.
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).unwrap();
            all.len()
        });
        while !w.write_to(&mut s).unwrap() {
            wait(s.as_raw_fd(), false, true, Duration::from_secs(5)).unwrap();
        }
        assert!(w.is_empty());
        let tail = vec![1u8; 1000];
        w.vec().extend_from_slice(b"head");
        // The buffered bytes go first, then the tail; the socket may take them in steps.
        let mut sent = 0;
        while sent < tail.len() {
            sent += w.write_with_tail(&mut s, &tail[sent..]).unwrap();
            if sent < tail.len() {
                assert!(
                    sent == 0 || w.is_empty(),
                    "the tail never overtakes the buffer"
                );
                wait(s.as_raw_fd(), false, true, Duration::from_secs(5)).unwrap();
            }
        }
        assert!(w.is_empty());
        drop(s);
        assert_eq!(reader.join().unwrap(), (4 << 20) + 1004);
        w.release();
    }

    #[test]
    fn unsent_bytes_can_be_cut_back_and_sent_ones_cannot() {
        let (mut s, mut peer) = pair();
        let mut w = WriteBuf::default();
        w.vec().extend_from_slice(b"first");
        assert!(w.write_to(&mut s).unwrap());
        assert_eq!((w.total_sent(), w.total_len()), (5, 5));
        w.vec().extend_from_slice(b"second");
        w.truncate_total(8);
        assert_eq!(w.unsent(), 3);
        w.truncate_total(2);
        assert_eq!((w.unsent(), w.total_len()), (0, 5), "sent bytes stay sent");
        let mut got = [0u8; 5];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"first");
    }

    fn file_with(data: &[u8]) -> std::fs::File {
        let path =
            std::env::temp_dir().join(format!("portico-io-{}-{}", std::process::id(), data.len()));
        std::fs::write(&path, data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    /// Sends `len` bytes at `offset` with `send` until done, draining the peer on a thread.
    fn send_all(
        send: impl Fn(&mut Stream, RawFd, u64, u64) -> io::Result<usize>,
        data: &[u8],
        offset: u64,
        len: u64,
    ) -> Vec<u8> {
        let (mut s, mut peer) = pair();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).unwrap();
            all
        });
        let file = file_with(data);
        let (mut at, mut left) = (offset, len);
        while left > 0 {
            match send(&mut s, file.as_raw_fd(), at, left) {
                Ok(0) => panic!("end of file"),
                Ok(n) => {
                    at += n as u64;
                    left -= n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(s.as_raw_fd(), false, true, Duration::from_secs(5)).unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
        // The file's own position never moved.
        assert_eq!(
            std::io::Seek::stream_position(&mut &file).unwrap(),
            0,
            "pread semantics"
        );
        assert_eq!(
            send(&mut s, file.as_raw_fd(), data.len() as u64, 10).unwrap(),
            0
        );
        drop(s);
        reader.join().unwrap()
    }

    #[test]
    fn a_file_range_goes_out_by_sendfile_and_by_copying() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (from, len) = (1234u64, 2_500_000u64);
        let want = &data[from as usize..(from + len) as usize];
        assert!(
            pair().0.sendfile_fd().is_some(),
            "a unix socket takes sendfile"
        );
        assert_eq!(send_all(send_file_once, &data, from, len), want);
        let copying = |s: &mut Stream, fd, off: u64, len| copy_file_once(s, fd, off as i64, len);
        assert_eq!(send_all(copying, &data, from, len), want);
    }

    #[test]
    fn waits_time_out_and_see_readiness() {
        let (s, mut peer) = pair();
        let fd = s.as_raw_fd();
        assert_eq!(
            wait(fd, true, false, Duration::from_millis(20)).unwrap(),
            None
        );
        peer.write_all(b"x").unwrap();
        let r = wait(fd, true, false, Duration::from_secs(5))
            .unwrap()
            .unwrap();
        assert!(r.readable && !r.broken);
        assert!(!is_broken(fd));
        // A peer that only stops sending has not broken the socket.
        peer.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(!is_broken(fd));
        drop(peer);
        assert!(is_broken(fd), "a peer gone entirely is");
    }
}
