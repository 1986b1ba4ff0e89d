//! Fuzzes path decoding and the quoting helpers: never panics, and `iri_to_uri` output is
//! always plain ASCII without spaces.
#![no_main]

use handler_core::http::encoding::{
    escape_html, iri_to_uri, parse_header_parameters, path_from_raw, unquote_plus,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = path_from_raw(data);
    let uri = iri_to_uri(&path);
    assert!(uri.bytes().all(|b| b.is_ascii_graphic()));
    let _ = escape_html(&path);
    let _ = unquote_plus(data);
    let _ = parse_header_parameters(&String::from_utf8_lossy(data));
});
