//! The `debug = true` technical pages (Django's `views/debug.py`): the 404 page listing the URL
//! patterns tried, and the 500 page with the error, its causes, the view and the request.

use crate::exception::ViewError;
use crate::http::encoding::escape_html;
use crate::http::{HttpRequest, HttpResponse};

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
    b.push_str("<h3>Headers</h3>\n");
    table(&mut b, request.headers.iter());
    b.push_str("<h3>META</h3>\n");
    table(
        &mut b,
        request.META().iter().map(|(k, v)| (k.as_str(), v.as_str())),
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
