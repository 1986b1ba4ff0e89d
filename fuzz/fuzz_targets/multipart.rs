//! Fuzzes the multipart parser: the first line of the input is the Content-Type, the rest the
//! body; parsing must never panic, and a parsed file never has an empty or path-like name.
#![no_main]

use handler_core::http::multipart::{boundary_from_content_type, parse_multipart, MultipartLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or(&[]);
    let limits = MultipartLimits {
        max_fields: 20,
        max_files: 5,
        max_part_header_bytes: 256,
    };
    let boundary = boundary_from_content_type(&content_type).unwrap_or_else(|_| "b".to_string());
    if let Ok(parsed) = parse_multipart(body, &boundary, &limits) {
        assert!(parsed.fields.iter().count() <= limits.max_fields);
        assert!(parsed.files.len() <= limits.max_files);
        for file in &parsed.files {
            assert!(!file.file_name.is_empty());
            assert!(!file.file_name.contains(['/', '\\']));
        }
    }
});
