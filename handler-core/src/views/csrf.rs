//! The CSRF failure page (Django's `django.views.csrf.csrf_failure` with its built-in
//! `csrf_403.html`): 403, "CSRF verification failed. Request aborted.", the hints for a missing
//! Referer or cookie, and the reason itself only in debug. The page is byte for byte Django's.

use crate::http::encoding::escape_html;
use crate::http::{HttpRequest, HttpResponse, HttpResponseForbidden};
use crate::middleware::csrf::{REASON_NO_CSRF_COOKIE, REASON_NO_REFERER};

const HEAD: &str = r###"<!DOCTYPE html>
<html lang="en">
<head>
  <meta http-equiv="content-type" content="text/html; charset=utf-8">
  <meta name="robots" content="NONE,NOARCHIVE">
  <title>403 Forbidden</title>
  <style>
    html * { padding:0; margin:0; }
    body * { padding:10px 20px; }
    body * * { padding:0; }
    body { font-family: sans-serif; background:#eee; color:#000; }
    body>div { border-bottom:1px solid #ddd; }
    h1 { font-weight:normal; margin-bottom:.4em; }
    h1 span { font-size:60%; color:#666; font-weight:normal; }
    #info { background:#f6f6f6; }
    #info ul { margin: 0.5em 4em; }
    #info p, #summary p { padding-top:10px; }
    #summary { background: #ffc; }
    #explanation { background:#eee; border-bottom: 0px none; }
  </style>
</head>
<body>
<div id="summary">
  <h1>Forbidden <span>(403)</span></h1>
  <p>CSRF verification failed. Request aborted.</p>
"###;

const NO_REFERER: &str = r###"  <p>You are seeing this message because this HTTPS site requires a “Referer header” to be sent by your web browser, but none was sent. This header is required for security reasons, to ensure that your browser is not being hijacked by third parties.</p>
  <p>If you have configured your browser to disable “Referer” headers, please re-enable them, at least for this site, or for HTTPS connections, or for “same-origin” requests.</p>
  <p>If you are using the &lt;meta name=&quot;referrer&quot; content=&quot;no-referrer&quot;&gt; tag or including the “Referrer-Policy: no-referrer” header, please remove them. The CSRF protection requires the “Referer” header to do strict referer checking. If you’re concerned about privacy, use alternatives like &lt;a rel=&quot;noreferrer&quot; …&gt; for links to third-party sites.</p>
"###;

const NO_COOKIE: &str = r###"  <p>You are seeing this message because this site requires a CSRF cookie when submitting forms. This cookie is required for security reasons, to ensure that your browser is not being hijacked by third parties.</p>
  <p>If you have configured your browser to disable cookies, please re-enable them, at least for this site, or for “same-origin” requests.</p>
"###;

const EXPLANATION: &str = r###"<div id="explanation">
  <p><small>More information is available with DEBUG=True.</small></p>
</div>

"###;

const INFO_REST: &str = r###"

  <p>In general, this can occur when there is a genuine Cross Site Request Forgery, or when
  <a
  href="https://docs.djangoproject.com/en/5.2/ref/csrf/">Django’s
  CSRF mechanism</a> has not been used correctly.  For POST forms, you need to
  ensure:</p>

  <ul>
    <li>Your browser is accepting cookies.</li>

    <li>The view function passes a <code>request</code> to the template’s <a
    href="https://docs.djangoproject.com/en/5.2/topics/templates/#django.template.backends.base.Template.render"><code>render</code></a>
    method.</li>

    <li>In the template, there is a <code>{% csrf_token
    %}</code> template tag inside each POST form that
    targets an internal URL.</li>

    <li>If you are not using <code>CsrfViewMiddleware</code>, then you must use
    <code>csrf_protect</code> on any views that use the <code>csrf_token</code>
    template tag, as well as those that accept the POST data.</li>

    <li>The form has a valid CSRF token. After logging in in another browser
    tab or hitting the back button after a login, you may need to reload the
    page with the form, because the token is rotated after a login.</li>
  </ul>

  <p>You’re seeing the help section of this page because you have <code>DEBUG =
  True</code> in your Django settings file. Change that to <code>False</code>,
  and only the initial error message will be displayed.  </p>

  <p>You can customize this page using the CSRF_FAILURE_VIEW setting.</p>
</div>

"###;

/// Django's `csrf_failure(request, reason)`: the 403 page.
pub fn csrf_failure(request: &mut HttpRequest, reason: &str) -> HttpResponse {
    let debug = request.settings().debug;
    let mut page = String::with_capacity(4096);
    page.push_str(HEAD);
    page.push('\n');
    if reason == REASON_NO_REFERER {
        page.push_str(NO_REFERER);
        page.push('\n');
    }
    page.push('\n');
    if reason == REASON_NO_CSRF_COOKIE {
        page.push_str(NO_COOKIE);
        page.push('\n');
    }
    page.push_str("</div>\n\n");
    if debug {
        page.push_str("<div id=\"info\">\n  <h2>Help</h2>\n    ");
        if !reason.is_empty() {
            page.push_str("\n    <p>Reason given for failure:</p>\n    <pre>\n    ");
            page.push_str(&escape_html(reason));
            page.push_str("\n    </pre>\n    ");
        }
        page.push_str(INFO_REST);
    } else {
        page.push_str(EXPLANATION);
    }
    page.push_str("</body>\n</html>\n");
    HttpResponseForbidden::new(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::sync::Arc;

    fn page(debug: bool, reason: &str) -> String {
        let mut s = Settings::default();
        s.debug = debug;
        let mut r = HttpRequest::new("POST", "/", "", Arc::new(s));
        let resp = csrf_failure(&mut r, reason);
        assert_eq!(resp.status_code, 403);
        String::from_utf8(resp.content().to_vec()).unwrap()
    }

    #[test]
    fn the_page_is_djangos_byte_for_byte() {
        // Rendered once by Django 5.2's csrf_failure (testdata/django/).
        assert_eq!(
            page(false, REASON_NO_REFERER),
            include_str!("../../testdata/django/csrf_403_no_referer.html")
        );
        assert_eq!(
            page(false, REASON_NO_CSRF_COOKIE),
            include_str!("../../testdata/django/csrf_403_no_cookie.html")
        );
        assert_eq!(
            page(true, "CSRF token missing."),
            include_str!("../../testdata/django/csrf_403_debug_token_missing.html")
        );
        let plain = page(false, "CSRF token missing.");
        assert!(plain.contains("CSRF verification failed. Request aborted."));
        assert!(
            !plain.contains("CSRF token missing."),
            "no reason without debug"
        );
        assert!(page(true, "<b>").contains("&lt;b&gt;"));
    }
}
