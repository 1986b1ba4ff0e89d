//! The `conditional_get` middleware (Django's `ConditionalGetMiddleware` with
//! `utils/cache.py` `get_conditional_response`): an ETag from the content when the response
//! has none, then `If-None-Match` / `If-Modified-Since` answered with 304 (`If-Match` /
//! `If-Unmodified-Since` with 412).

use md5::{Digest, Md5};

use super::Middleware;
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse, HttpResponseNotModified};

/// Django's `ConditionalGetMiddleware`. Django acts on GET only; Portico also answers HEAD,
/// whose response here is the GET's (the server drops the body), so the tag is the same.
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
    let digest = Md5::digest(response.content());
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in digest {
        tag.push_str(&format!("{b:02x}"));
    }
    tag.push('"');
    response.headers.set("ETag", tag);
}

/// Django's `parse_etags`: `*`, or the quoted (possibly weak) tags of a comma list.
fn parse_etags(header: &str) -> Vec<String> {
    if header.trim() == "*" {
        return vec!["*".to_string()];
    }
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find('"') {
        let weak = rest[..start].trim_end().ends_with("W/");
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let tag = &after[..end];
        out.push(if weak {
            format!("W/\"{tag}\"")
        } else {
            format!("\"{tag}\"")
        });
        rest = &after[end + 1..];
    }
    out
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
    let if_match = request.headers.get("If-Match").map(parse_etags);
    let if_unmodified_since = request
        .headers
        .get("If-Unmodified-Since")
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let if_none_match = request.headers.get("If-None-Match").map(parse_etags);
    let if_modified_since = request
        .headers
        .get("If-Modified-Since")
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let safe = request.method == "GET" || request.method == "HEAD";

    // Step 1 (RFC 9110 13.2.2): If-Match.
    if let Some(tags) = &if_match {
        let passes = match etag {
            None => false,
            Some(t) if tags.len() == 1 && tags[0] == "*" => !t.is_empty(),
            // Strong comparison: a weak tag never matches.
            Some(t) => !t.starts_with("W/") && tags.iter().any(|x| x == t),
        };
        if !passes {
            return precondition_failed();
        }
    }
    // Step 2: If-Unmodified-Since, only without If-Match.
    if if_match.is_none() {
        if let (Some(since), Some(lm)) = (if_unmodified_since, last_modified) {
            if lm > since {
                return precondition_failed();
            }
        }
    }
    // Step 3: If-None-Match (weak comparison).
    if let Some(tags) = &if_none_match {
        let passes = match etag {
            None => true,
            Some(_) if tags.len() == 1 && tags[0] == "*" => false,
            Some(t) => !tags.iter().any(|x| strip_weak(x) == strip_weak(t)),
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
    if if_none_match.is_none() && safe {
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
    }
}
