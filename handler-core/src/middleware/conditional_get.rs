//! The `conditional_get` middleware (Django's `ConditionalGetMiddleware` with
//! `utils/cache.py` `get_conditional_response`): an ETag from the content when the response
//! has none, then `If-None-Match` / `If-Modified-Since` answered with 304 (`If-Match` /
//! `If-Unmodified-Since` with 412).

use md5::{Digest, Md5};

use super::Middleware;
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse, HttpResponseNotModified};

/// Django's `ConditionalGetMiddleware`: an ETag for a GET's content, then the request's
/// preconditions through `get_conditional_response` (RFC 9110 13.2.2).
///
/// One deliberate difference: Django's middleware returns early for anything but GET (for
/// a HEAD it cannot compute the ETag, the body being empty there). Portico's contract is
/// "304 on GET and HEAD", and here a HEAD's response is the GET's full response (the server
/// drops the body), so the tag is the GET's and a HEAD is answered the same way.
pub struct ConditionalGetMiddleware;

impl Middleware for ConditionalGetMiddleware {
    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if request.method != "GET" && request.method != "HEAD" {
            return Ok(response);
        }
        if needs_etag(&response) && !response.has_header("ETag") {
            set_response_etag(&mut response);
        }
        let etag = response.get("ETag").map(str::to_string);
        let last_modified = response
            .get("Last-Modified")
            .and_then(|v| httpdate::parse_http_date(v).ok());
        if etag.is_some() || last_modified.is_some() {
            return Ok(get_conditional_response(
                request,
                etag.as_deref(),
                last_modified,
                response,
            ));
        }
        Ok(response)
    }
}

/// Django's `needs_etag`: not when `Cache-Control` says `no-store`.
fn needs_etag(response: &HttpResponse) -> bool {
    response.get("Cache-Control").is_none_or(|cc| {
        cc.split(',')
            .all(|d| !d.trim().eq_ignore_ascii_case("no-store"))
    })
}

/// Django's `set_response_etag`: the quoted MD5 of a non-empty, non-streaming content.
pub fn set_response_etag(response: &mut HttpResponse) {
    if response.is_streaming() || response.content().is_empty() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(response.content());
    // `"` + 32 hex digits + `"`, on the stack: this runs for every response.
    let mut tag = [b'"'; 34];
    for (i, b) in digest.iter().enumerate() {
        tag[1 + 2 * i] = HEX[usize::from(b >> 4)];
        tag[2 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    // Hex digits and quotes are ASCII.
    let tag = std::str::from_utf8(&tag).unwrap_or_default();
    response.headers.set("ETag", tag);
}

/// Django's `parse_etags`: `["*"]` for `*`, else every comma-separated entry that is a
/// quoted, possibly weak, tag (`"x"`, `W/"x"`); malformed entries are dropped, so a header
/// holding none is no precondition at all.
fn parse_etags(header: &str) -> Vec<&str> {
    if header.trim() == "*" {
        return vec!["*"];
    }
    header
        .split(',')
        .map(str::trim)
        .filter(|tag| {
            let quoted = tag.strip_prefix("W/").unwrap_or(tag);
            quoted.len() >= 2
                && quoted.starts_with('"')
                && quoted.ends_with('"')
                && !quoted[1..quoted.len() - 1].contains('"')
        })
        .collect()
}

fn strip_weak(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Django's `get_conditional_response` for a response already computed.
pub fn get_conditional_response(
    request: &HttpRequest,
    etag: Option<&str>,
    last_modified: Option<std::time::SystemTime>,
    response: HttpResponse,
) -> HttpResponse {
    if !(200..300).contains(&response.status_code) {
        return response;
    }
    // Django reads each header as "absent" when it holds no valid tag or date.
    let if_match = parse_etags(request.headers.get("If-Match").unwrap_or(""));
    let if_unmodified_since = request
        .headers
        .get("If-Unmodified-Since")
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let if_none_match = parse_etags(request.headers.get("If-None-Match").unwrap_or(""));
    let if_modified_since = request
        .headers
        .get("If-Modified-Since")
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let safe = request.method == "GET" || request.method == "HEAD";

    // Step 1 (RFC 9110 13.2.2): If-Match.
    if !if_match.is_empty() {
        let passes = match etag {
            None => false,
            Some(t) if if_match == ["*"] => !t.is_empty(),
            // Strong comparison: a weak tag never matches.
            Some(t) => !t.starts_with("W/") && if_match.contains(&t),
        };
        if !passes {
            return precondition_failed();
        }
    }
    // Step 2: If-Unmodified-Since, only without If-Match. Django's
    // `_if_unmodified_since_passes` is `last_modified and last_modified <= since`: a
    // response without Last-Modified cannot show it is unmodified, so it fails (412).
    if if_match.is_empty() {
        if let Some(since) = if_unmodified_since {
            if last_modified.is_none_or(|lm| lm > since) {
                return precondition_failed();
            }
        }
    }
    // Step 3: If-None-Match (weak comparison).
    if !if_none_match.is_empty() {
        let passes = match etag {
            None => true,
            Some(_) if if_none_match == ["*"] => false,
            Some(t) => !if_none_match.iter().any(|x| strip_weak(x) == strip_weak(t)),
        };
        if !passes {
            return if safe {
                not_modified(response)
            } else {
                precondition_failed()
            };
        }
    }
    // Step 4: If-Modified-Since, only without If-None-Match, for GET and HEAD.
    if if_none_match.is_empty() && safe {
        if let (Some(since), Some(lm)) = (if_modified_since, last_modified) {
            if lm <= since {
                return not_modified(response);
            }
        }
    }
    response
}

/// Django's `_not_modified`: a 304 keeping the validator and caching headers and cookies.
fn not_modified(response: HttpResponse) -> HttpResponse {
    let mut r = HttpResponseNotModified::new();
    for name in [
        "Cache-Control",
        "Content-Location",
        "Date",
        "ETag",
        "Expires",
        "Last-Modified",
        "Vary",
    ] {
        if let Some(v) = response.get(name) {
            r.headers.set(name, v);
        }
    }
    for cookie in response.headers.get_all("Set-Cookie") {
        r.headers.append("Set-Cookie", cookie);
    }
    r
}

fn precondition_failed() -> HttpResponse {
    HttpResponse::with_status(412, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::sync::Arc;

    fn req(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = HttpRequest::new(method, "/c/", "", Arc::new(Settings::default()));
        for (k, v) in headers {
            r.headers.append(*k, *v);
        }
        r
    }

    fn run(method: &str, headers: &[(&str, &str)], resp: HttpResponse) -> HttpResponse {
        ConditionalGetMiddleware
            .process_response(&mut req(method, headers), resp)
            .unwrap()
    }

    #[test]
    fn etag_is_set_and_if_none_match_gives_304() {
        let r = run("GET", &[], HttpResponse::new("hello"));
        let tag = r.get("ETag").unwrap().to_string();
        assert_eq!(tag, "\"5d41402abc4b2a76b9719d911017c592\"");
        let r = run(
            "GET",
            &[("If-None-Match", &tag)],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 304);
        assert!(r.content().is_empty());
        assert_eq!(r.get("ETag"), Some(tag.as_str()));
        let weak = format!("W/{tag}");
        let r = run(
            "HEAD",
            &[("If-None-Match", &weak)],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 304);
        let r = run(
            "GET",
            &[("If-None-Match", "\"other\"")],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 200);
        let r = run(
            "POST",
            &[("If-None-Match", &tag)],
            HttpResponse::new("hello"),
        );
        assert_eq!((r.status_code, r.get("ETag")), (200, None));
    }

    #[test]
    fn last_modified_and_errors() {
        let lm = "Wed, 21 Oct 2015 07:28:00 GMT";
        let resp = || {
            HttpResponse::new("x")
                .header("Last-Modified", lm)
                .header("Cache-Control", "no-store")
        };
        let r = run("GET", &[("If-Modified-Since", lm)], resp());
        assert_eq!(r.status_code, 304);
        let r = run(
            "GET",
            &[("If-Modified-Since", "Tue, 20 Oct 2015 07:28:00 GMT")],
            resp(),
        );
        assert_eq!(r.status_code, 200);
        assert!(r.get("ETag").is_none(), "no-store: no ETag");
        let r = run(
            "GET",
            &[("If-None-Match", "*")],
            HttpResponse::with_status(404, "x"),
        );
        assert_eq!(r.status_code, 404);
        let r = run(
            "GET",
            &[("If-Match", "\"nope\"")],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 412);
    }

    #[test]
    fn parses_etag_lists() {
        assert_eq!(parse_etags("\"a\", W/\"b\""), ["\"a\"", "W/\"b\""]);
        assert_eq!(parse_etags(" * "), ["*"]);
        // Django's ETAG_MATCH per comma-separated entry: malformed ones are dropped.
        assert_eq!(
            parse_etags("\"a,b\", \"c\", d, W/e, \"\""),
            ["\"c\"", "\"\""]
        );
        assert!(parse_etags("garbage").is_empty());
        assert!(parse_etags("").is_empty());
    }

    #[test]
    fn if_unmodified_since_without_last_modified_fails_as_django() {
        let since = "Wed, 21 Oct 2015 07:28:00 GMT";
        // The audit's case: an ETag but no Last-Modified cannot pass If-Unmodified-Since.
        let r = run(
            "GET",
            &[("If-Unmodified-Since", since)],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 412);
        assert!(r.content().is_empty());
        let r = run(
            "HEAD",
            &[("If-Unmodified-Since", since)],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 412);
        // With Last-Modified it is a date comparison.
        let with_lm = |lm: &str| HttpResponse::new("hello").header("Last-Modified", lm);
        let r = run("GET", &[("If-Unmodified-Since", since)], with_lm(since));
        assert_eq!(r.status_code, 200);
        let later = "Thu, 22 Oct 2015 07:28:00 GMT";
        let r = run("GET", &[("If-Unmodified-Since", since)], with_lm(later));
        assert_eq!(r.status_code, 412);
        // If-Match takes precedence (step 2 only runs without it), and an unparsable date
        // is no precondition.
        let tag = "\"5d41402abc4b2a76b9719d911017c592\"";
        let r = run(
            "GET",
            &[("If-Match", tag), ("If-Unmodified-Since", since)],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 200);
        let r = run(
            "GET",
            &[("If-Unmodified-Since", "yesterday")],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 200);
        // A malformed If-Match is no precondition either (Django's parse_etags drops it),
        // and a malformed If-None-Match lets If-Modified-Since decide.
        let r = run(
            "GET",
            &[("If-Match", "garbage")],
            HttpResponse::new("hello"),
        );
        assert_eq!(r.status_code, 200);
        let r = run(
            "GET",
            &[("If-None-Match", "garbage"), ("If-Modified-Since", since)],
            with_lm(since),
        );
        assert_eq!(r.status_code, 304);
    }
}
