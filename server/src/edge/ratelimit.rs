//! Owns rate-limited logging: a warning that any client can trigger at will (a full queue, the
//! connection limit, failing accepts) is logged at most once a second, with the number of times
//! it happened since the last line, so an overload is reported without the log itself becoming
//! the overload.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::now_unix_ms;

/// How often one kind of event may be logged.
const PERIOD_MS: u64 = 1000;

/// One kind of event's log budget: shared by every thread that reports it.
pub struct RateLimited {
    /// When the last line was written (ms since the epoch; 0: never).
    last_ms: AtomicU64,
    /// Events since that line, including the one that wrote it.
    count: AtomicU64,
}

impl RateLimited {
    /// A budget with nothing logged yet.
    pub const fn new() -> RateLimited {
        RateLimited {
            last_ms: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Records one event. Returns `Some(n)` when this one should be logged, where `n` counts it
    /// and every event suppressed since the last line; `None` when it is suppressed.
    pub fn hit(&self) -> Option<u64> {
        self.hit_at(now_unix_ms())
    }

    fn hit_at(&self, now: u64) -> Option<u64> {
        self.count.fetch_add(1, Ordering::AcqRel);
        let last = self.last_ms.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < PERIOD_MS {
            return None;
        }
        // One thread wins the period; the others count as suppressed.
        if self
            .last_ms
            .compare_exchange(last, now.max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return None;
        }
        Some(self.count.swap(0, Ordering::AcqRel).max(1))
    }
}

impl Default for RateLimited {
    fn default() -> Self {
        RateLimited::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_with_the_count_of_what_was_suppressed() {
        let r = RateLimited::new();
        assert_eq!(r.hit_at(10_000), Some(1), "the first event is logged");
        for t in 10_001..10_200 {
            assert_eq!(r.hit_at(t), None);
        }
        assert_eq!(r.hit_at(10_999), None);
        assert_eq!(r.hit_at(11_000), Some(201), "200 suppressed and this one");
        assert_eq!(r.hit_at(20_000), Some(1));
    }

    #[test]
    fn many_threads_log_at_most_once_per_period() {
        let r = std::sync::Arc::new(RateLimited::new());
        let logged: u64 = (0..4)
            .map(|_| {
                let r = std::sync::Arc::clone(&r);
                std::thread::spawn(move || (0..1000).filter(|_| r.hit_at(50_000).is_some()).count())
            })
            .map(|t| t.join().unwrap() as u64)
            .sum();
        assert_eq!(logged, 1);
    }
}
