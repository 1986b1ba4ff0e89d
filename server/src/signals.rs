//! Owns signal handling: SIGTERM and SIGINT set a flag the event loop checks on every turn
//! (its poll wakes at least every sweep interval, so no self-pipe is needed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::ServerError;

/// The shutdown request flag.
#[derive(Clone)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// Registers SIGTERM and SIGINT.
    pub fn install() -> Result<Shutdown, ServerError> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, Arc::clone(&flag))
                .map_err(|e| ServerError::io("cannot install signal handlers", e))?;
        }
        Ok(Shutdown(flag))
    }

    /// A flag set by hand instead of by a signal.
    #[cfg(test)]
    pub fn manual() -> (Shutdown, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        (Shutdown(Arc::clone(&flag)), flag)
    }

    /// Whether a shutdown signal arrived.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigterm_sets_the_flag() {
        let s = Shutdown::install().unwrap();
        assert!(!s.requested());
        // SAFETY: raising a signal whose handler we just installed.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(s.requested());
    }
}
