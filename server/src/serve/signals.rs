//! Owns a worker's signal handling: each signal sets a flag the event loops check on every turn
//! (their poll wakes at least every sweep interval, so no self-pipe is needed) or the watchdog
//! checks on every tick. The master's signals are `process::MasterSignals`.
//!
//! A worker's signals, as gunicorn's workers read them: TERM and INT drain (finish what is in
//! flight, close idle connections at once) and exit; HUP retires (the master is replacing this
//! worker: stop accepting, answer each connection's next request with `Connection: close`, let
//! idle keep-alive connections run out their `--keep-alive`, exit when all are done); QUIT exits
//! at once; USR1 reopens the access log.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::ServerError;

#[derive(Default)]
struct Flags {
    /// TERM or INT: drain and exit.
    stop: Arc<AtomicBool>,
    /// HUP, or the worker's own decision: drain gently and exit.
    retire: Arc<AtomicBool>,
    /// QUIT: exit now.
    quit: Arc<AtomicBool>,
    /// USR1: reopen the access log (log rotation).
    reopen: Arc<AtomicBool>,
    /// A pipe that gets a byte whenever one of the flags above is set (by a signal or by hand),
    /// so the loop that accepts stops at once instead of at its next sweep: a worker being
    /// replaced must not take new connections the new one would serve.
    doorbell: Option<(OwnedFd, OwnedFd)>,
}

/// The shutdown request flags.
#[derive(Clone)]
pub struct Shutdown(Arc<Flags>);

impl Shutdown {
    /// Registers a worker's signals: TERM, INT, HUP, QUIT and USR1.
    pub fn install() -> Result<Shutdown, ServerError> {
        let failed = |e| ServerError::io("cannot install signal handlers", e);
        let doorbell = crate::sys::pipe().map_err(failed)?;
        let ring = doorbell.1.as_raw_fd();
        let flags = Flags {
            doorbell: Some(doorbell),
            ..Flags::default()
        };
        for (sig, flag) in [
            (signal_hook::consts::SIGTERM, &flags.stop),
            (signal_hook::consts::SIGINT, &flags.stop),
            (signal_hook::consts::SIGHUP, &flags.retire),
            (signal_hook::consts::SIGQUIT, &flags.quit),
            (signal_hook::consts::SIGUSR1, &flags.reopen),
        ] {
            // The flag first, then the byte: whoever the byte wakes sees the flag.
            signal_hook::flag::register(sig, Arc::clone(flag)).map_err(failed)?;
            if sig != signal_hook::consts::SIGUSR1 {
                // The pipe's write end lives as long as the flags, which are never dropped
                // while the handlers exist (the Shutdown is kept for the process's life).
                signal_hook::low_level::pipe::register_raw(sig, ring).map_err(failed)?;
            }
        }
        Ok(Shutdown(Arc::new(flags)))
    }

    /// The doorbell's read end, for the accepting loop's poll (`None` for manual flags).
    pub fn doorbell(&self) -> Option<RawFd> {
        self.0.doorbell.as_ref().map(|(read, _)| read.as_raw_fd())
    }

    /// Empties the doorbell (its edge-triggered poll reports the next ring only then).
    pub fn drain_doorbell(&self) {
        let Some((read, _)) = &self.0.doorbell else {
            return;
        };
        let mut buf = [0u8; 64];
        // SAFETY: read(2) into a stack buffer of its length, on our non-blocking descriptor.
        while unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }

    fn ring(&self) {
        if let Some((_, write)) = &self.0.doorbell {
            // SAFETY: write(2) of one byte from the stack; a full pipe has rung already.
            unsafe { libc::write(write.as_raw_fd(), (&1u8 as *const u8).cast(), 1) };
        }
    }

    /// Flags set by hand instead of by signals.
    pub fn manual() -> Shutdown {
        Shutdown(Arc::new(Flags::default()))
    }

    /// Whether the process should stop serving (any of the three).
    pub fn requested(&self) -> bool {
        self.0.stop.load(Ordering::Acquire)
            || self.0.retire.load(Ordering::Acquire)
            || self.0.quit.load(Ordering::Acquire)
    }

    /// Whether the drain is the gentle one (retiring, and no TERM or INT since).
    pub fn gentle(&self) -> bool {
        self.0.retire.load(Ordering::Acquire)
            && !self.0.stop.load(Ordering::Acquire)
            && !self.0.quit.load(Ordering::Acquire)
    }

    /// Whether QUIT arrived.
    pub fn quit_requested(&self) -> bool {
        self.0.quit.load(Ordering::Acquire)
    }

    /// Whether USR1 arrived since the last call.
    pub fn reopen_requested(&self) -> bool {
        self.0.reopen.swap(false, Ordering::AcqRel)
    }

    /// Whether this worker is retiring (HUP, or [`Shutdown::retire`]).
    pub fn retiring(&self) -> bool {
        self.0.retire.load(Ordering::Acquire)
    }

    /// Starts the gentle drain (the watchdog: max requests reached, or a handler stuck).
    pub fn retire(&self) {
        self.0.retire.store(true, Ordering::Release);
        self.ring();
    }

    /// Starts the ordinary drain, as TERM does.
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Release);
        self.ring();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_set_their_flags() {
        let s = Shutdown::install().unwrap();
        assert!(!s.requested());
        // SAFETY: raising signals whose handlers we just installed.
        unsafe { libc::raise(libc::SIGHUP) };
        assert!(s.requested() && s.gentle() && s.retiring());
        let bell = s.doorbell().expect("a doorbell");
        let rung = crate::sys::poll_readable(&[bell], std::time::Duration::from_secs(1));
        assert_eq!(rung.ok(), Some(vec![bell]), "the signal rang the doorbell");
        s.drain_doorbell();
        let quiet = crate::sys::poll_readable(&[bell], std::time::Duration::ZERO);
        assert_eq!(quiet.ok(), Some(vec![]));
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(
            s.requested() && !s.gentle(),
            "TERM after HUP: the ordinary drain"
        );
        assert!(!s.quit_requested());
        unsafe { libc::raise(libc::SIGQUIT) };
        assert!(s.quit_requested());
    }

    #[test]
    fn retire_then_stop_by_hand() {
        let s = Shutdown::manual();
        s.retire();
        assert!(s.gentle());
        s.stop();
        assert!(!s.gentle() && s.requested());
    }
}
