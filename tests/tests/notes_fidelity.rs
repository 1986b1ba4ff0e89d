//! Issue 17 on the notes app: where it differed from its Django twin (bench/peers/django,
//! Django 5.2 on gunicorn), each as the repro request and the twin's answer. Like the other
//! notes suites, this runs against the twin too (`NOTES_BASE_URL`, see
//! bench/peers/django/run_notes_suite.sh), except where the note says Portico differs on
//! purpose.

mod notes_support;

use notes_support::*;
use serde_json::json;

#[test]
fn point_7_a_title_is_stripped_as_python_strips_it() {
    let t = Target::start("fid-title");
    let b = t.browser();
    b.login_alice();
    // str.strip() takes the separators \x1c-\x1f too: nothing is left, so 400.
    let r = b.create_note("\u{1f}\u{1c} ", "body");
    assert_status(&r, 400);
    assert_eq!(r.json(), json!({"error": "title is required"}));
    // Padding around a title goes, the title stays.
    let r = b.create_note("  padded\u{1e} ", "body");
    assert_status(&r, 302);
    assert!(
        b.notes().iter().any(|n| n["title"] == "padded"),
        "{:?}",
        b.notes()
    );
}

#[test]
fn point_4_a_form_in_another_charset_is_a_bad_request() {
    // CSRF's process_view reads request.POST, which raises Django 5.2's BadRequest: 400.
    // (Django itself then fails: handler400 is under requires_csrf_token, whose process_view
    // raises the same BadRequest again, and gunicorn answers its own bare 500. Portico's
    // handler400 answers; so this is not run against the twin.)
    if Target::is_external() {
        eprintln!("SKIPPED against the twin: Django's handler400 raises again here (a 500)");
        return;
    }
    let t = Target::start("fid-charset");
    let b = t.browser();
    let token = b.csrf_token();
    let r = b.curl(
        "/accounts/login/",
        &[
            "-H",
            "Content-Type: application/x-www-form-urlencoded; charset=latin-1",
            "-d",
            &format!("username=alice&password=x&csrfmiddlewaretoken={token}"),
        ],
    );
    assert_status(&r, 400);
}

#[test]
fn point_8_method_checks_follow_the_twins_decorators() {
    // The twin decorates note_list with require_http_methods(["GET", "POST"]) and whoami with
    // require_GET: HEAD and OPTIONS are 405 there, as here.
    let t = Target::start("fid-methods");
    let b = t.browser();
    b.login_alice();
    for method in ["HEAD", "OPTIONS"] {
        let r = b.curl("/notes/", &["-X", method, "--max-time", "5"]);
        assert_eq!(r.status, 405, "{method} /notes/: {}", r.status_line);
        assert_eq!(r.header("Allow"), Some("GET, POST"), "{method}");
    }
    let r = b.curl("/api/whoami/", &["-X", "HEAD", "--max-time", "5"]);
    assert_eq!(r.status, 405, "{}", r.status_line);
    assert_eq!(r.header("Allow"), Some("GET"));
}

#[test]
fn point_2_cookie_fields_sent_twice_are_one_cookie_header() {
    // The server joins repeated Cookie fields with "; " (RFC 9113 section 8.2.3), as the issue
    // asks, so the CSRF cookie in the second field counts. gunicorn joins them with "," and
    // Django then finds no csrftoken (403): a deliberate difference, so this is not run
    // against the twin.
    if Target::is_external() {
        eprintln!("SKIPPED against the twin: Portico joins Cookie fields with \"; \" on purpose");
        return;
    }
    let t = Target::start("fid-cookies");
    let b = t.browser();
    b.login_alice();
    let token = b.csrf_token();
    let csrf = b.cookie("csrftoken").expect("a csrftoken cookie");
    let session = b.cookie("sessionid").expect("a session");
    let url = t.url("/notes/");
    let r = tests::curl(&[
        "-H",
        "Cookie: a=b",
        "-H",
        &format!("Cookie: csrftoken={csrf}; sessionid={session}"),
        "--data-urlencode",
        "title=two cookie fields",
        "--data-urlencode",
        &format!("csrfmiddlewaretoken={token}"),
        &url,
    ]);
    assert_eq!(r.status, 302, "{} {}", r.status_line, r.text());
    assert_eq!(r.header("Location"), Some("/"));
}
