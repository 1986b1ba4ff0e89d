//! Owns the clock: wall-clock milliseconds for request deadlines (the ABI speaks Unix time) and
//! the second the cached `Date` header is keyed by. `Instant` is used everywhere else.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_and_seconds_agree() {
        let ms = now_unix_ms();
        let s = now_unix_secs();
        assert!(ms / 1000 <= s && s <= ms / 1000 + 1, "{ms} ms, {s} s");
        // After 2020-01-01: the clock is set.
        assert!(s > 1_577_836_800);
    }
}
