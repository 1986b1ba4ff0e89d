//! Fuzzes Cookie parsing and Set-Cookie rendering: never panics, and a rendered header never
//! carries a line break (header injection).
#![no_main]

use handler_core::http::cookies::{parse_cookie, render_set_cookie, CookieOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (name, value) in parse_cookie(&text) {
        let opts = CookieOptions {
            max_age: Some(i64::from(data.first().copied().unwrap_or(0)) - 128),
            domain: Some(value.clone()),
            samesite: Some(name.clone()),
            ..CookieOptions::default()
        };
        for opts in [CookieOptions::default(), opts] {
            if let Ok(header) = render_set_cookie(&name, &value, &opts) {
                assert!(!header.contains(['\r', '\n', '\0']));
            }
        }
    }
});
