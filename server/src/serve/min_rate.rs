//! Owns the minimum data rate a client must keep up while a call waits on it, in both
//! directions: sending its request body, and taking its response. Apache's mod_reqtimeout
//! model (`body=20,MinRate=500`): a transfer gets a grace period, extended by one second for
//! every `rate` bytes that moved, so a large upload on a slow but honest link goes through while
//! a client trickling a byte a second is cut off once the grace is spent, whatever its
//! `Content-Length` promised. `--timeout` alone cannot do this: it bounds each wait, and a byte
//! every 29 seconds resets it.
//!
//! A call waiting on its client does not count against `--threads` (see `exchange`), so what a
//! slow client costs is one blocked OS thread (its stack, mostly untouched) and the
//! connection's buffers, for at most `grace + bytes / rate`.

use std::time::{Duration, Instant};

/// The rule: after `grace`, at least `bytes_per_sec` on average.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    /// Time any transfer gets before the rate applies.
    pub grace: Duration,
    /// Bytes a second that extend the grace by a second each; 0: no minimum rate.
    pub bytes_per_sec: u64,
}

impl MinRate {
    /// No minimum rate (only `--timeout` bounds the waits).
    pub const NONE: MinRate = MinRate {
        grace: Duration::ZERO,
        bytes_per_sec: 0,
    };

    /// How long a transfer that has moved `bytes` may have lasted in all.
    fn allowance(&self, bytes: u64) -> Duration {
        let extra_ms = bytes.saturating_mul(1000) / self.bytes_per_sec.max(1);
        self.grace.saturating_add(Duration::from_millis(extra_ms))
    }

    /// Time left, as of `now`, before a transfer that began at `since` and has moved `bytes`
    /// falls behind; `None` when there is no minimum rate. Zero: it is behind.
    pub fn time_left(&self, since: Instant, bytes: u64, now: Instant) -> Option<Duration> {
        if self.bytes_per_sec == 0 {
            return None;
        }
        Some(
            self.allowance(bytes)
                .saturating_sub(now.saturating_duration_since(since)),
        )
    }

    /// Whether that transfer is behind the rate as of `now`.
    pub fn behind(&self, since: Instant, bytes: u64, now: Instant) -> bool {
        self.time_left(since, bytes, now) == Some(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: MinRate = MinRate {
        grace: Duration::from_secs(20),
        bytes_per_sec: 500,
    };

    #[test]
    fn the_grace_grows_a_second_for_every_rate_bytes() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // A byte a second is behind once the grace is spent.
        assert!(!RULE.behind(t0, 19, at(19)));
        assert!(RULE.behind(t0, 21, at(21)));
        // 500 bytes buy a second more; an honest 1 KB/s upload is never behind.
        assert!(!RULE.behind(t0, 500, at(20) + Duration::from_millis(900)));
        assert!(RULE.behind(t0, 500, at(21) + Duration::from_millis(1)));
        assert!(!RULE.behind(t0, 1000 * 600, at(600)));
        assert_eq!(
            RULE.time_left(t0, 1000, at(10)),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn no_rate_means_never_behind() {
        let t0 = Instant::now();
        assert_eq!(
            MinRate::NONE.time_left(t0, 0, t0 + Duration::from_secs(1 << 20)),
            None
        );
        assert!(!MinRate::NONE.behind(t0, 0, t0 + Duration::from_secs(1 << 20)));
    }
}
