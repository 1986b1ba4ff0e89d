//! The `debug = true` technical pages (Django's `views/debug.py`): the 404 page listing the URL
//! patterns tried, and the 500 page with the error, its causes, the view and the request, with
//! secrets masked as `SafeExceptionReporterFilter` masks them.

use std::sync::OnceLock;

use regex::Regex;

use crate::exception::ViewError;
use crate::http::encoding::escape_html;
use crate::http::request::meta_key;
use crate::http::{HttpRequest, HttpResponse};

/// Django's `SafeExceptionReporterFilter.hidden_settings`: a key matching this anywhere, in
/// any case, has its value masked.
pub const HIDDEN_SETTINGS: &str = "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE";

/// Django's `cleansed_substitute`: what a masked value is shown as.
pub const CLEANSED_SUBSTITUTE: &str = "********************";

/// Django's `SafeExceptionReporterFilter.cleanse_setting` for a string value: the substitute
/// when `key` matches [`HIDDEN_SETTINGS`] (case-insensitively, as Django's `re.I`), else the
/// value. Django applies it to every `META` key, whatever `debug` says.
pub fn cleanse_setting<'a>(key: &str, value: &'a str) -> &'a str {
    static HIDDEN: OnceLock<Regex> = OnceLock::new();
    let hidden = HIDDEN.get_or_init(|| {
        Regex::new(&format!("(?i){HIDDEN_SETTINGS}")).expect("HIDDEN_SETTINGS is a valid regex")
    });
    if hidden.is_match(key) {
        CLEANSED_SUBSTITUTE
    } else {
        value
    }
}

const STYLE: &str = "<style>body{font:small sans-serif;background:#eee;margin:0}\
header{background:#ffc;padding:10px 20px;border-bottom:1px solid #ddd}\
main{padding:10px 20px}table{border-collapse:collapse}td,th{padding:2px 8px;\
text-align:left;vertical-align:top;font-family:monospace}pre{background:#fff;padding:6px}</style>";

/// Django's `technical_404_response`: the patterns tried, in order.
pub fn technical_404_response(request: &HttpRequest, error: &ViewError) -> HttpResponse {
    let path = escape_html(&request.path_info);
    let mut body = String::with_capacity(2048);
    body.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    body.push_str(&format!(
        "<title>Page not found at {path}</title>\n{STYLE}\n</head>\n<body>\n"
    ));
    body.push_str("<header><h1>Page not found <span>(404)</span></h1>\n<table>\n");
    body.push_str(&format!(
        "<tr><th>Request Method:</th><td>{}</td></tr>\n<tr><th>Request URL:</th><td>{}</td></tr>\n",
        escape_html(&request.method),
        escape_html(&request.get_full_path())
    ));
    if let Some(rm) = &request.resolver_match {
        body.push_str(&format!(
            "<tr><th>Raised by:</th><td>{}</td></tr>\n",
            escape_html(rm.func.name())
        ));
    }
    body.push_str("</table></header>\n<main>\n");
    match &request.resolver404 {
        Some(r404) => {
            body.push_str("<p>Using the URLconf of this app, the URL patterns were tried in this order:</p>\n<ol>\n");
            for pattern in &r404.tried {
                body.push_str(&format!("<li>{}</li>\n", escape_html(pattern)));
            }
            body.push_str("</ol>\n");
            if path.is_empty() || path == "/" {
                body.push_str("<p>The empty path didn't match any of these.</p>\n");
            } else {
                body.push_str(&format!(
                    "<p>The current path, <code>{}</code>, didn't match any of these.</p>\n",
                    escape_html(request.path_info.trim_start_matches('/'))
                ));
            }
        }
        None => {
            body.push_str(&format!("<pre>{}</pre>\n", escape_html(&error.message())));
        }
    }
    body.push_str("<p>You're seeing this error because you have <code>debug = true</code> in your settings file. Change that to <code>false</code>, and the server will display a standard 404 page.</p>\n</main>\n</body>\n</html>\n");
    HttpResponse::with_status(404, body)
}

/// Django's `technical_500_response`: the error, its cause chain, the view and the request
/// (method, path, GET, headers and META). `status` is 500, or 400 for a suspicious request.
pub fn technical_500_response(
    request: &HttpRequest,
    error: &ViewError,
    status: u16,
) -> HttpResponse {
    let kind = escape_html(error.kind());
    let message = escape_html(&error.message());
    let path = escape_html(&request.path_info);
    let mut b = String::with_capacity(4096);
    b.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    b.push_str(&format!(
        "<title>{kind} at {path}</title>\n{STYLE}\n</head>\n<body>\n"
    ));
    b.push_str(&format!(
        "<header id=\"summary\"><h1>{kind} at {path}</h1>\n<pre class=\"exception_value\">{message}</pre>\n<table>\n"
    ));
    let rows = [
        ("Request Method:", escape_html(&request.method)),
        ("Request URL:", escape_html(&request.get_full_path())),
        ("Exception Type:", kind.clone()),
        ("Exception Value:", message.clone()),
    ];
    for (k, v) in rows {
        b.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>\n"));
    }
    if let Some(loc) = error.location() {
        b.push_str(&format!(
            "<tr><th>Exception Location:</th><td>{}</td></tr>\n",
            escape_html(loc)
        ));
    }
    if let Some(rm) = &request.resolver_match {
        b.push_str(&format!(
            "<tr><th>Raised during:</th><td>{}</td></tr>\n",
            escape_html(rm.func.name())
        ));
    }
    b.push_str("</table></header>\n<main>\n");
    let sources = error.sources();
    if !sources.is_empty() {
        b.push_str("<h2>Caused by</h2>\n<ol>\n");
        for s in &sources {
            b.push_str(&format!("<li><pre>{}</pre></li>\n", escape_html(s)));
        }
        b.push_str("</ol>\n");
    }
    b.push_str("<h2>Request information</h2>\n<h3>GET</h3>\n");
    match request.GET() {
        Ok(get) => table(&mut b, get.iter()),
        Err(e) => b.push_str(&format!("<p>{}</p>\n", escape_html(&e.to_string()))),
    }
    // Django's page shows META through `get_safe_request_meta`; the headers table here is the
    // same data by header name, so each header is cleansed under its META key (`Cookie` is
    // `HTTP_COOKIE`, `Authorization` is `HTTP_AUTHORIZATION`).
    b.push_str("<h3>Headers</h3>\n");
    table(
        &mut b,
        request
            .headers
            .iter()
            .map(|(k, v)| (k, cleanse_setting(&meta_key(k), v))),
    );
    b.push_str("<h3>META</h3>\n");
    table(
        &mut b,
        request
            .META()
            .iter()
            .map(|(k, v)| (k.as_str(), cleanse_setting(k, v))),
    );
    b.push_str("<p>You're seeing this error because you have <code>debug = true</code> in your settings file. Change that to <code>false</code>, and the server will display a standard page generated by the handler for this status code.</p>\n</main>\n</body>\n</html>\n");
    HttpResponse::with_status(status, b)
}

fn table<'a>(out: &mut String, rows: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut any = false;
    out.push_str("<table>\n<tr><th>Variable</th><th>Value</th></tr>\n");
    for (k, v) in rows {
        any = true;
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>\n",
            escape_html(k),
            escape_html(v)
        ));
    }
    out.push_str("</table>\n");
    if !any {
        out.push_str("<p>No data.</p>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::sync::Arc;

    #[test]
    fn cleanse_setting_follows_safe_exception_reporter_filter() {
        for key in [
            "HTTP_AUTHORIZATION",
            "HTTP_COOKIE",
            "HTTP_X_API_KEY",
            "HTTP_X_CSRFTOKEN",
            "DB_PASSWORD",
            "secret_thing",
            "HTTP_X_AMZ_SIGNATURE",
            "http_cookie",
        ] {
            assert_eq!(cleanse_setting(key, "s3cr3t"), CLEANSED_SUBSTITUTE, "{key}");
        }
        for key in [
            "HTTP_USER_AGENT",
            "PATH_INFO",
            "QUERY_STRING",
            "HTTP_ACCEPT",
            "COOKIES",
        ] {
            assert_eq!(cleanse_setting(key, "shown"), "shown", "{key}");
        }
    }

    #[test]
    fn the_500_page_masks_secrets_in_headers_and_meta_and_shows_the_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("loading failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let r = HttpRequest::new("GET", "/x/", "q=visible", Arc::new(Settings::default()))
            .with_header("Authorization", "Token tok-123")
            .with_header("Cookie", "sessionid=cookie-456")
            .with_header("X-Api-Key", "key-789")
            .with_header("X-CSRFToken", "csrf-000")
            .with_header("User-Agent", "agent-visible");
        let error = ViewError::from(Outer(std::io::Error::other("disk gone")));
        let page =
            String::from_utf8(technical_500_response(&r, &error, 500).content().to_vec()).unwrap();
        for secret in ["tok-123", "cookie-456", "key-789", "csrf-000"] {
            assert!(!page.contains(secret), "{secret} leaked: {page}");
        }
        assert!(page.contains("<tr><td>Authorization</td><td>********************</td></tr>"));
        assert!(page.contains("<tr><td>HTTP_COOKIE</td><td>********************</td></tr>"));
        assert!(page.contains("<tr><td>HTTP_USER_AGENT</td><td>agent-visible</td></tr>"));
        assert!(page.contains("visible"), "GET is shown as Django shows it");
        assert!(
            page.contains("<h2>Caused by</h2>\n<ol>\n<li><pre>disk gone</pre></li>\n</ol>"),
            "{page}"
        );
    }
}
