//! Fuzzes form/query parsing: never panics, respects the field limit, and `urlencode` of a
//! parsed dict parses back to the same dict.
#![no_main]

use handler_core::http::querydict::QueryDict;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dict = QueryDict::parse(data);
    assert!(dict.iter().count() <= data.split(|&b| b == b'&').count());
    let again = QueryDict::parse(dict.urlencode().as_bytes());
    assert_eq!(again, dict);
    if let Ok(limited) = QueryDict::parse_limited(data, 8) {
        assert_eq!(limited, dict);
    }
});
