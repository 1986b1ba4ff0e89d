//! Fuzzes the CSRF token handling: `check_token_format`, `unmask_cipher_token` and
//! `does_token_match` on any text, the mask / unmask round trip, and whole POSTs through
//! `CsrfViewMiddleware` with the fuzzer's cookie, form field and header. Never panics; a
//! well-formed 64-character token always unmasks to 32 allowed characters; a masked secret
//! always unmasks to itself and matches; the middleware answers 200 or 403, nothing else.
#![no_main]

use std::sync::Arc;

use handler_core::http::{HttpRequest, HttpResponse};
use handler_core::middleware::csrf::{
    check_token_format, does_token_match, mask_cipher_secret, unmask_cipher_token,
    CsrfViewMiddleware, CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, CSRF_TOKEN_LENGTH,
};
use handler_core::views::{view, ViewResult};
use handler_core::{Middleware, Settings};
use libfuzzer_sys::fuzz_target;

fn ok(_r: &mut HttpRequest) -> ViewResult {
    Ok(HttpResponse::new("ok"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The unmasking itself.
    let formatted = check_token_format(&text).is_ok();
    let unmasked = unmask_cipher_token(&text);
    if formatted && text.len() == CSRF_TOKEN_LENGTH {
        let secret = unmasked.expect("a well-formed token unmasks");
        assert_eq!(secret.len(), CSRF_SECRET_LENGTH);
        assert!(secret.bytes().all(|b| CSRF_ALLOWED_CHARS.contains(&b)));
    }
    // Round trip: 32 allowed characters made from the input.
    if data.len() >= CSRF_SECRET_LENGTH {
        let secret: String = data[..CSRF_SECRET_LENGTH]
            .iter()
            .map(|b| char::from(CSRF_ALLOWED_CHARS[usize::from(*b) % CSRF_ALLOWED_CHARS.len()]))
            .collect();
        let token = mask_cipher_secret(&secret);
        assert_eq!(
            unmask_cipher_token(&token).as_deref(),
            Some(secret.as_str())
        );
        assert!(does_token_match(&token, &secret));
        assert!(does_token_match(&secret, &secret));
    }
    // Anything against anything.
    let (a, b) = text.split_at(
        text.char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i),
    );
    if check_token_format(a).is_ok() && check_token_format(b).is_ok() {
        let _ = does_token_match(a, b);
    }

    // Whole requests: cookie, form field and header from the input's three parts.
    let mut parts = text.splitn(3, '\u{1}');
    let (cookie, field, header) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let mut s = Settings::default();
    s.allowed_hosts = vec!["testserver".into()];
    let s = Arc::new(s);
    let mw = CsrfViewMiddleware::new(&s).unwrap();
    let body = format!(
        "csrfmiddlewaretoken={}",
        handler_core::http::encoding::quote_plus(field)
    );
    let mut r = HttpRequest::new("POST", "/", "", Arc::clone(&s))
        .with_header("Host", "testserver")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_header("Cookie", &format!("csrftoken={cookie}"))
        .with_body(body.into_bytes());
    if !header.contains(['\r', '\n']) {
        r.headers.append("X-CSRFToken", header);
    }
    let v = view(ok);
    mw.process_request(&mut r).unwrap();
    let response = match mw.process_view(&mut r, &v).unwrap() {
        Some(refused) => refused,
        None => v.call(&mut r).unwrap(),
    };
    let response = mw.process_response(&mut r, response).unwrap();
    assert!(
        matches!(response.status_code, 200 | 403),
        "{}",
        response.status_code
    );
});
