//! Owns the process-level plumbing the master and its workers share: `fork` with every signal
//! blocked around it, the master's signal self-pipe, decoding a wait status into words, signal
//! names, the monotonic clock in milliseconds (one clock for every process, so a heartbeat
//! written by a worker means the same to its master), and the parent-death signal.
//!
//! The master is single-threaded on purpose: `fork` copies only the calling thread, so a master
//! with threads could fork while another thread holds a lock (the allocator's, the logger's) and
//! the child would deadlock on it. Nothing here starts a thread.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// The signals the master handles (gunicorn's set, less WINCH and USR2: portico has no
/// daemon mode and no binary upgrade).
pub const MASTER_SIGNALS: [libc::c_int; 8] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGHUP,
    libc::SIGTTIN,
    libc::SIGTTOU,
    libc::SIGCHLD,
    libc::SIGUSR1,
];

/// Signals a worker ignores: TTIN and TTOU would stop it (their default action), WINCH means
/// nothing to it. Only the master resizes the pool.
const WORKER_IGNORED: [libc::c_int; 3] = [libc::SIGTTIN, libc::SIGTTOU, libc::SIGWINCH];

/// The write end of the master's signal pipe (-1: none), for the signal handler.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// The errno of the calling thread.
fn errno_location() -> *mut libc::c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: returns the calling thread's errno slot; always valid.
    unsafe {
        libc::__errno_location()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: as above (the BSDs' and macOS' name for it).
    unsafe {
        libc::__error()
    }
}

/// The master's handler: one byte (the signal number) into the self-pipe. Only `write(2)` and
/// errno are touched, both async-signal-safe.
extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let errno = errno_location();
    // SAFETY: errno_location is the thread's errno; write(2) on a descriptor we own, one byte
    // from the stack. A full pipe (EAGAIN) loses the byte, and a signal already pending in it
    // means the master will look anyway.
    unsafe {
        let saved = *errno;
        let byte = sig as u8;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *errno = saved;
    }
}

/// A pipe whose two ends are non-blocking and close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe(2) fills the two descriptors on success.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&read, &write] {
        set_flags(fd.as_raw_fd())?;
    }
    Ok((read, write))
}

fn set_flags(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(2) on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd_flags = libc::fcntl(fd, libc::F_GETFD);
        if fd_flags < 0 || libc::fcntl(fd, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes a descriptor blocking again (a worker writes its status messages whole).
pub fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(2) on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set_disposition(sig: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid starting point; the handler is either a constant
    // disposition or `on_signal`, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The master's signals: each one handled becomes a byte in a pipe the master polls with its
/// workers' status pipes, so signals are handled in the main loop, one at a time, never in a
/// handler.
pub struct MasterSignals {
    read: OwnedFd,
    write: OwnedFd,
}

impl MasterSignals {
    /// Installs the handlers for [`MASTER_SIGNALS`].
    pub fn install() -> io::Result<MasterSignals> {
        let (read, write) = pipe()?;
        SIGNAL_PIPE.store(write.as_raw_fd(), Ordering::Relaxed);
        for sig in MASTER_SIGNALS {
            set_disposition(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )?;
        }
        Ok(MasterSignals { read, write })
    }

    /// The descriptor to poll.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// The signals that arrived since the last call, in order.
    pub fn take(&self) -> Vec<libc::c_int> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: read(2) into a stack buffer of the given length.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return out;
            }
            out.extend(buf[..n as usize].iter().map(|&b| libc::c_int::from(b)));
        }
    }

    /// In a freshly forked worker: the master's handlers go (default dispositions, and the
    /// signals a worker must not act on ignored) and the pipe is closed. Signals stay blocked
    /// (see [`fork`]) until the worker has installed its own handlers.
    pub fn forget_in_child(&self) {
        SIGNAL_PIPE.store(-1, Ordering::Relaxed);
        for sig in MASTER_SIGNALS {
            let _ = set_disposition(sig, libc::SIG_DFL);
        }
        for sig in WORKER_IGNORED {
            let _ = set_disposition(sig, libc::SIG_IGN);
        }
        // SAFETY: the child's copies of the pipe's descriptors; the OwnedFds are never dropped
        // in the child (it leaves through `exit`), so nothing closes them twice.
        unsafe {
            libc::close(self.read.as_raw_fd());
            libc::close(self.write.as_raw_fd());
        }
    }
}

impl Drop for MasterSignals {
    fn drop(&mut self) {
        SIGNAL_PIPE.store(-1, Ordering::Relaxed);
    }
}

/// Which side of a fork this is.
pub enum Forked {
    /// The new process. Every signal is blocked in it: call [`unblock_signals`] once its
    /// handlers are in place.
    Child,
    /// The parent, with the child's pid.
    Parent(libc::pid_t),
}

/// `fork(2)` with every signal blocked around it, so that nothing is delivered to the child
/// through the master's handlers before the child replaces them. The caller must be
/// single-threaded (the master is).
pub fn fork() -> io::Result<Forked> {
    // SAFETY: sigset manipulation on stack values; fork(2) in a single-threaded process; the
    // parent restores its mask at once.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
        let pid = libc::fork();
        if pid != 0 {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        match pid {
            -1 => Err(io::Error::last_os_error()),
            0 => Ok(Forked::Child),
            pid => Ok(Forked::Parent(pid)),
        }
    }
}

/// Unblocks every signal (a worker, once its handlers are installed).
pub fn unblock_signals() {
    // SAFETY: sigprocmask with an empty set on the stack.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// Asks the kernel to send `sig` to this process when its parent dies (Linux), so a worker does
/// not outlive a master killed with SIGKILL. Returns false where that is not available; the
/// worker's watchdog also compares `getppid` with the master's pid.
pub fn signal_on_parent_death(sig: libc::c_int) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: prctl(2) with PR_SET_PDEATHSIG and a signal number.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) == 0 }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = sig;
        false
    }
}

/// This process's parent.
pub fn parent_pid() -> libc::pid_t {
    // SAFETY: getppid(2) cannot fail.
    unsafe { libc::getppid() }
}

/// This process's pid.
pub fn own_pid() -> libc::pid_t {
    // SAFETY: getpid(2) cannot fail.
    unsafe { libc::getpid() }
}

/// Sends `sig` to `pid`.
pub fn send_signal(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill(2) with a positive pid (never 0 or -1: never a process group).
    if pid <= 0 {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether a process with this pid exists (and could be signalled).
pub fn is_alive(pid: libc::pid_t) -> bool {
    // SAFETY: kill(2) with signal 0 only checks.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// One child that ended: its pid and raw wait status. `None` when no child has ended.
pub fn reap() -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid(2) with WNOHANG and a status slot on the stack.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            return Some((pid, status));
        }
        if pid < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
}

/// How a process ended, from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It called exit with this code.
    Exited(i32),
    /// A signal killed it; `core` when it dumped core.
    Killed {
        /// The signal.
        signal: i32,
        /// Whether a core was dumped.
        core: bool,
    },
}

impl Ending {
    /// Decodes a raw wait status.
    pub fn of(status: libc::c_int) -> Ending {
        if libc::WIFSIGNALED(status) {
            Ending::Killed {
                signal: libc::WTERMSIG(status),
                core: libc::WCOREDUMP(status),
            }
        } else {
            Ending::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// Exit code 0.
    pub fn is_clean(self) -> bool {
        self == Ending::Exited(0)
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Ending::Exited(code) => write!(f, "exited with code {code}"),
            Ending::Killed { signal, core } => {
                write!(f, "was killed by signal {signal} ({})", signal_name(signal))?;
                if core {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
        }
    }
}

/// A signal's conventional name (`SIGKILL`), or `signal N`.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        libc::SIGWINCH => "SIGWINCH",
        _ => "unnamed signal",
    }
}

/// Milliseconds of `CLOCK_MONOTONIC`: the same clock in every process of the machine, so a
/// worker's heartbeat can be compared with its master's now.
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) fills the timespec on the stack; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// Waits until one of `fds` is readable or `timeout` passes; returns the readable ones.
pub fn poll_readable(fds: &[RawFd], timeout: std::time::Duration) -> io::Result<Vec<RawFd>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll(2) over a vector of pollfds of the given length.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    Ok(pfds
        .iter()
        .filter(|p| p.revents != 0)
        .map(|p| p.fd)
        .collect())
}

/// How many threads this process has (Linux; 1 where it cannot be told).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_words() {
        // exit(3): status 3 << 8; killed by SIGKILL: 9; SIGSEGV with a core: 11 | 0x80.
        assert_eq!(Ending::of(3 << 8), Ending::Exited(3));
        assert_eq!(Ending::of(3 << 8).to_string(), "exited with code 3");
        assert!(Ending::of(0).is_clean());
        assert_eq!(
            Ending::of(libc::SIGKILL).to_string(),
            "was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            Ending::of(libc::SIGSEGV | 0x80).to_string(),
            "was killed by signal 11 (SIGSEGV), core dumped"
        );
        assert_eq!(signal_name(libc::SIGABRT), "SIGABRT");
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = monotonic_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = monotonic_ms();
        assert!(b >= a + 15, "{a} then {b}");
    }

    #[test]
    fn a_pipe_is_non_blocking_and_polls_readable() {
        let (r, w) = pipe().unwrap();
        let mut byte = 0u8;
        // SAFETY: reading one byte into a stack slot.
        let n = unsafe { libc::read(r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        assert_eq!(n, -1, "nothing to read: would block, not wait");
        let none = poll_readable(&[r.as_raw_fd()], std::time::Duration::from_millis(10)).unwrap();
        assert!(none.is_empty());
        // SAFETY: writing one byte from a stack slot.
        unsafe { libc::write(w.as_raw_fd(), (&7u8 as *const u8).cast(), 1) };
        let ready = poll_readable(&[r.as_raw_fd()], std::time::Duration::from_secs(1)).unwrap();
        assert_eq!(ready, vec![r.as_raw_fd()]);
    }

    #[test]
    fn signals_to_nobody_are_refused() {
        assert!(send_signal(0, libc::SIGTERM).is_err());
        assert!(send_signal(-1, libc::SIGTERM).is_err());
        assert!(is_alive(own_pid()));
    }
}
