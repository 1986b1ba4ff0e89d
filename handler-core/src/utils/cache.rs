//! Django's `django.utils.cache`: the `Vary` header.

use crate::http::HttpResponse;

/// Django's `patch_vary_headers`: adds each of `new_headers` to `Vary` unless it is already
/// there (any case), keeping the existing order; a `*` anywhere makes the header `*`.
pub fn patch_vary_headers(response: &mut HttpResponse, new_headers: &[&str]) {
    let mut vary: Vec<String> = match response.get("Vary") {
        // Django's cc_delim_re: `\s*,\s*`.
        Some(v) => v.split(',').map(|h| h.trim().to_string()).collect(),
        None => Vec::new(),
    };
    // Python's re.split keeps the empty pieces; a header of "" is one empty element.
    let existing: Vec<String> = vary.iter().map(|h| h.to_ascii_lowercase()).collect();
    for new in new_headers {
        if !existing.contains(&new.to_ascii_lowercase()) {
            vary.push((*new).to_string());
        }
    }
    if vary.iter().any(|h| h == "*") {
        response.headers.set("Vary", "*");
    } else {
        response.headers.set("Vary", vary.join(", "));
    }
}

/// Django's `has_vary_header`: is `header` (any case) listed in `Vary`?
pub fn has_vary_header(response: &HttpResponse, header: &str) -> bool {
    response
        .get("Vary")
        .is_some_and(|v| v.split(',').any(|h| h.trim().eq_ignore_ascii_case(header)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_keeps_order_and_case_and_does_not_repeat() {
        let mut r = HttpResponse::new("x");
        patch_vary_headers(&mut r, &["Cookie"]);
        assert_eq!(r.get("Vary"), Some("Cookie"));
        patch_vary_headers(&mut r, &["Accept-Encoding", "cookie"]);
        assert_eq!(r.get("Vary"), Some("Cookie, Accept-Encoding"));
        assert!(has_vary_header(&r, "accept-encoding"));
        let mut r = HttpResponse::new("x").header("Vary", "Accept-Language ,  *");
        patch_vary_headers(&mut r, &["Cookie"]);
        assert_eq!(r.get("Vary"), Some("*"));
    }
}
