//! Owns the clocks that tell a stuck handler from a busy one: each thread that runs app calls
//! has a [`CallClock`] saying since when its current call has been running app code without
//! making progress (paused while the call waits on its client's socket: a slow client is
//! `--timeout`'s business in `exchange`, not a stuck handler; restarted whenever the call sends
//! part of its response, so a view that streams for minutes is not stuck), and a coarse process
//! clock the calls read instead of the system clock, ticked by the worker's watchdog.
//!
//! The watchdog (see `worker`) finds a call that has run app code for longer than `--timeout`
//! and marks it abandoned; the runtime then lends its app slot to the other requests, and the
//! worker is replaced. A thread in app code cannot be stopped from outside; gunicorn's answer,
//! kept here, is to replace the process.
//!
//! Per call this costs a relaxed load and two stores, all on the thread's own cache line.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The coarse clock: milliseconds of the monotonic clock, as of the watchdog's last tick
/// (0 until a watchdog runs; clocks then read as "just started", and nothing is ever stuck).
static COARSE_MS: AtomicU64 = AtomicU64::new(0);

/// Not in a call.
const IDLE: u64 = 0;
/// In a call, waiting on the client's socket (not running app code).
const WAITING: u64 = 1;
/// The watchdog gave up on this call.
const ABANDONED: u64 = u64::MAX;
/// Running values are the coarse start time plus this (so they never collide with the above).
const BASE: u64 = 2;

/// Advances the coarse clock (the watchdog, every tick).
pub fn tick(now_ms: u64) {
    COARSE_MS.store(now_ms, Ordering::Relaxed);
}

/// The coarse clock.
pub fn coarse_now() -> u64 {
    COARSE_MS.load(Ordering::Relaxed)
}

/// One thread's call clock, on a cache line of its own: every call writes it twice, and clocks
/// of different threads allocated side by side would otherwise bounce one line between cores.
#[derive(Default)]
#[repr(align(128))]
pub struct CallClock(AtomicU64);

/// How a call ended, as its clock saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// In time.
    Normal,
    /// After the watchdog had abandoned it (its app slot was lent out meanwhile).
    AfterAbandoned,
}

impl CallClock {
    /// A call starts running app code.
    pub fn begin(&self) {
        self.0.store(coarse_now() + BASE, Ordering::Relaxed);
    }

    /// The call returned.
    pub fn end(&self) -> CallEnd {
        match self.0.swap(IDLE, Ordering::AcqRel) {
            ABANDONED => CallEnd::AfterAbandoned,
            _ => CallEnd::Normal,
        }
    }

    /// The call waits on its client (unless it was abandoned).
    fn pause(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v >= BASE && v != ABANDONED).then_some(WAITING)
            });
    }

    /// The call runs app code again: its time restarts.
    fn resume(&self) {
        let _ = self.0.compare_exchange(
            WAITING,
            coarse_now() + BASE,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Abandons the call if it has run app code for more than `limit_ms` as of `now_ms`;
    /// returns whether this call did so.
    pub fn abandon_if_older(&self, now_ms: u64, limit_ms: u64) -> bool {
        let v = self.0.load(Ordering::Acquire);
        if v < BASE || v == ABANDONED || now_ms.saturating_sub(v - BASE) <= limit_ms {
            return false;
        }
        self.0
            .compare_exchange(v, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the current call was abandoned and has not returned.
    pub fn is_abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }
}

thread_local! {
    /// The clock of the call this thread is running, if any.
    static CURRENT: RefCell<Option<Arc<CallClock>>> = const { RefCell::new(None) };
}

/// Makes `clock` this thread's (for [`while_waiting`]).
pub fn set_current(clock: &Arc<CallClock>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(Arc::clone(clock)));
}

/// The current call made progress (sent part of its response): its time restarts.
pub fn progressed() {
    CURRENT.with(|c| {
        if let Some(clock) = c.borrow().as_ref() {
            let _ = clock
                .0
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                    (v >= BASE && v != ABANDONED).then(|| coarse_now() + BASE)
                });
        }
    });
}

/// Runs `wait` (a wait on the client's socket) with this thread's call clock paused.
pub fn while_waiting<R>(wait: impl FnOnce() -> R) -> R {
    let clock = CURRENT.with(|c| c.borrow().clone());
    if let Some(c) = &clock {
        c.pause();
    }
    let result = wait();
    if let Some(c) = &clock {
        c.resume();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: the coarse clock is process-wide, and tests run on parallel threads.
    #[test]
    fn calls_are_abandoned_only_after_running_app_code_past_the_limit() {
        tick(10_000);
        let c = CallClock::default();
        assert!(
            !c.abandon_if_older(20_000, 1_000),
            "idle: nothing to abandon"
        );
        c.begin();
        assert!(!c.abandon_if_older(10_900, 1_000));
        assert!(c.abandon_if_older(11_001, 1_000));
        assert!(c.is_abandoned());
        assert!(!c.abandon_if_older(30_000, 1_000), "only once");
        assert_eq!(c.end(), CallEnd::AfterAbandoned);
        c.begin();
        assert_eq!(c.end(), CallEnd::Normal);

        // Time spent waiting on the client does not count.
        let c = Arc::new(CallClock::default());
        set_current(&c);
        tick(50_000);
        c.begin();
        while_waiting(|| {
            // The client is slow: time passes while the call waits on it.
            tick(90_000);
            assert!(!c.abandon_if_older(90_000, 1_000), "waiting is not stuck");
        });
        assert!(!c.abandon_if_older(90_500, 1_000), "its time restarted");
        tick(91_200);
        progressed();
        assert!(
            !c.abandon_if_older(92_000, 1_000),
            "sending restarts it too"
        );
        assert!(c.abandon_if_older(92_300, 1_000));
        // An abandoned call stays abandoned through a wait.
        while_waiting(|| ());
        assert!(c.is_abandoned());
        assert_eq!(c.end(), CallEnd::AfterAbandoned);
    }
}
