//! Owns the `Date` header value: an IMF-fixdate cached per thread and rebuilt once a second.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

struct Cached {
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    // Per thread rather than shared: no lock on the hot path, and each thread rebuilds at most
    // once a second.
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { second: u64::MAX, text: [0; DATE_LEN] }) };
}

/// Appends the current date (IMF-fixdate) to `out`.
pub fn append_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|cell| {
        let mut cache = cell.borrow_mut();
        if cache.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.second = second;
            } else {
                out.extend_from_slice(text.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&cache.text);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_an_imf_fixdate_and_parses() {
        let mut out = Vec::new();
        append_date(&mut out);
        assert_eq!(out.len(), DATE_LEN);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.ends_with(" GMT"));
        let parsed = httpdate::parse_http_date(text).unwrap();
        let age = SystemTime::now().duration_since(parsed).unwrap();
        assert!(age.as_secs() < 3);
        let mut again = Vec::new();
        append_date(&mut again);
        assert_eq!(again.len(), DATE_LEN);
    }
}
