//! The articles app's contract (shared/contracts/articles-app.md), part 1: the page routes,
//! redirects, method rules, the middleware every response passes through (`X-Duration-ms`,
//! `X-Powered-By`, APPEND_SLASH, allowed hosts, ETag / 304), HEAD and OPTIONS.
//!
//! Every test starts its own server on its own copy of the settings (own database).

mod articles_support;

use articles_support::*;
use serde_json::json;

#[test]
fn home_is_success_html_and_head_has_no_body() {
    let app = App::start("home");
    let r = app.curl("/", &[]);
    assert_html(&r, 200);
    assert_eq!(r.text(), "Success!");

    let head = head(&app, "/", &[]);
    assert_html(&head, 200);
    assert!(head.body.is_empty(), "HEAD body {:?}", head.text());
    assert_same_length(&r, &head, "/");
    assert_eq!(
        head.header("Content-Length"),
        Some("8"),
        "len(b\"Success!\")"
    );
}

/// `Content-Length` is on both the GET and the HEAD, and the same: HEAD announces the body it
/// leaves out (Django's `CommonMiddleware` sets the length; the server only drops the body).
fn assert_same_length(get: &tests::CurlResponse, head: &tests::CurlResponse, path: &str) {
    let g = get.header("Content-Length");
    let h = head.header("Content-Length");
    assert!(
        g.is_some(),
        "{path}: GET has no Content-Length: {:?}",
        get.headers
    );
    assert!(
        h.is_some(),
        "{path}: HEAD has no Content-Length: {:?}",
        head.headers
    );
    assert_eq!(h, g, "{path}: HEAD announces the GET's length");
    assert_eq!(
        g.and_then(|n| n.parse::<usize>().ok()),
        Some(get.body.len()),
        "{path}: the GET's Content-Length is its body's"
    );
}

#[test]
fn home_answers_any_method_as_the_twins_undecorated_view() {
    // Issue 17, point 8: the Django twin's `home` has no method decorator, so POST, PUT,
    // DELETE and odd methods get its page (the contract's row names GET and HEAD and is silent
    // on the others).
    let app = App::start("home-post");
    for method in ["POST", "PUT", "DELETE", "PATCH", "BREW"] {
        let r = app.curl("/", &["-X", method, "-d", "x=1"]);
        assert_html(&r, 200);
        assert_eq!(r.text(), "Success!", "{method}");
    }
}

#[test]
fn login_and_new_url_are_html_pages() {
    let app = App::start("pages");
    for path in ["/login/", "/new-url/"] {
        let r = app.curl(path, &[]);
        assert_html(&r, 200);
        assert!(!r.body.is_empty(), "{path} has a page");
    }
}

#[test]
fn old_url_is_a_permanent_redirect_for_any_method() {
    let app = App::start("old-url");
    for method in ["GET", "POST", "PUT", "DELETE"] {
        let r = app.curl("/old-url/", &["-X", method]);
        assert_status(&r, 301);
        assert_eq!(r.header("Location"), Some("/new-url/"), "{method}");
    }
}

#[test]
fn temporary_redirects_to_the_reversed_home() {
    let app = App::start("temporary");
    for method in ["GET", "POST"] {
        let r = app.curl("/temporary/", &["-X", method]);
        assert_status(&r, 302);
        assert_eq!(r.header("Location"), Some("/"), "{method}");
    }
}

#[test]
fn dashboard_needs_a_signed_in_user() {
    let app = App::start("dashboard");
    let anon = app.curl("/dashboard/", &[]);
    assert_status(&anon, 302);
    assert_eq!(anon.header("Location"), Some("/login/?next=/dashboard/"));

    for token in ["user-token", "admin-token"] {
        let auth = format!("Authorization: Token {token}");
        let r = app.curl("/dashboard/", &["-H", &auth]);
        assert_html(&r, 200);
    }

    let bad = app.curl("/dashboard/", &["-H", "Authorization: Token nobody"]);
    assert_status(&bad, 302);
}

#[test]
fn api_success_has_the_exact_django_json() {
    let app = App::start("success");
    let r = app.curl("/api/success/", &[]);
    assert_json(&r, 200, json!({"message": "Success", "data": [1, 2, 3]}));
    assert_eq!(r.text(), r#"{"message": "Success", "data": [1, 2, 3]}"#);
}

#[test]
fn get_only_view_answers_get_and_405s_everything_else() {
    let app = App::start("get-only");
    let r = app.curl("/api/get-only/", &[]);
    assert_json(&r, 200, json!({"data": "This is GET only"}));

    for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let r = app.curl("/api/get-only/", &["-X", method]);
        assert_status(&r, 405);
        assert_eq!(r.header("Allow"), Some("GET"), "{method}");
        assert!(r.body.is_empty(), "{method} body {:?}", r.text());
    }
    let head = head(&app, "/api/get-only/", &[]);
    assert_status(&head, 405);
    assert_eq!(head.header("Allow"), Some("GET"));
}

#[test]
fn class_based_views_405_with_their_allow_header() {
    let app = App::start("cbv-405");
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = app.curl("/api/articles/", &["-X", method]);
        assert_status(&r, 405);
        assert_eq!(
            r.header("Allow"),
            Some("GET, POST, HEAD, OPTIONS"),
            "{method}"
        );
    }
    let created = app.curl("/api/articles/", &["-d", "title=t", "-d", "content=c"]);
    assert_status(&created, 201);
    let id = created.json()["id"].as_i64().expect("id");
    for method in ["POST", "PATCH"] {
        let r = app.curl(&format!("/api/articles/{id}/"), &["-X", method]);
        assert_status(&r, 405);
        assert_eq!(
            r.header("Allow"),
            Some("GET, PUT, DELETE, HEAD, OPTIONS"),
            "{method}"
        );
    }
}

#[test]
fn options_on_class_based_views_is_200_with_allow() {
    let app = App::start("options");
    let r = app.curl("/api/articles/", &["-X", "OPTIONS"]);
    assert_status(&r, 200);
    assert_eq!(r.header("Allow"), Some("GET, POST, HEAD, OPTIONS"));
    assert!(r.body.is_empty(), "body {:?}", r.text());

    // OPTIONS does not look the article up: Allow describes the view, whatever the id.
    let r = app.curl("/api/articles/12345/", &["-X", "OPTIONS"]);
    assert_status(&r, 200);
    assert_eq!(r.header("Allow"), Some("GET, PUT, DELETE, HEAD, OPTIONS"));
}

#[test]
fn head_on_class_based_views_mirrors_get_without_body() {
    let app = App::start("head-cbv");
    let created = app.curl(
        "/api/articles/",
        &["-d", "title=Head", "-d", "content=less"],
    );
    let id = created.json()["id"].as_i64().expect("id");
    for path in ["/api/articles/".to_string(), format!("/api/articles/{id}/")] {
        let get = app.curl(&path, &[]);
        let head = head(&app, &path, &[]);
        assert_status(&get, 200);
        assert_status(&head, 200);
        assert!(head.body.is_empty(), "{path}: HEAD body {:?}", head.text());
        assert_eq!(
            head.header("Content-Type"),
            get.header("Content-Type"),
            "{path}"
        );
        assert_eq!(head.header("ETag"), get.header("ETag"), "{path}");
        assert_same_length(&get, &head, &path);
    }
    // An unknown id: the GET's 404 and its length, no body.
    let get = app.curl("/api/articles/999999/", &[]);
    let head = head(&app, "/api/articles/999999/", &[]);
    assert_status(&head, 404);
    assert!(head.body.is_empty());
    assert_same_length(&get, &head, "/api/articles/999999/");
}

#[test]
fn head_on_an_undecorated_function_view_mirrors_get() {
    let app = App::start("head-fn");
    for path in ["/login/", "/new-url/", "/api/success/"] {
        let get = app.curl(path, &[]);
        let head = head(&app, path, &[]);
        assert_status(&head, get.status);
        assert_eq!(
            head.header("Content-Type"),
            get.header("Content-Type"),
            "{path}"
        );
        assert!(head.body.is_empty(), "{path}: HEAD body {:?}", head.text());
        assert_same_length(&get, &head, path);
    }
}

#[test]
fn unknown_paths_are_404_html() {
    let app = App::start("not-found");
    for path in [
        "/no-such-page/",
        "/api/nothing/here/",
        "/api/articles/abc/",
        "/nope",
    ] {
        let r = app.curl(path, &[]);
        assert_status(&r, 404);
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("text/html"), "{path}: Content-Type {ct:?}");
        assert!(r.header("Location").is_none(), "{path} is not redirected");
    }
}

#[test]
fn append_slash_redirects_when_only_the_slashed_path_resolves() {
    let app = App::start("append-slash");
    let r = app.curl("/api/articles", &[]);
    assert_status(&r, 301);
    assert_eq!(r.header("Location"), Some("/api/articles/"));

    // The query string is kept, as Django's CommonMiddleware keeps it.
    let r = app.curl("/api/success?x=1", &[]);
    assert_status(&r, 301);
    assert_eq!(r.header("Location"), Some("/api/success/?x=1"));

    // Following the redirect lands on the view.
    let r = app.curl("/api/articles", &["-L"]);
    assert_json(&r, 200, json!({"articles": []}));
}

#[test]
fn append_slash_false_gives_404() {
    let app = App::start_with(
        "no-append-slash",
        &[("append_slash = true", "append_slash = false")],
    );
    let r = app.curl("/api/articles", &[]);
    assert_status(&r, 404);
}

#[test]
fn a_host_outside_allowed_hosts_is_400() {
    let app = App::start("bad-host");
    let r = app.curl("/", &["-H", "Host: evil.example.com"]);
    assert_status(&r, 400);
    let r = app.curl("/api/success/", &["-H", "Host: evil.example.com:8000"]);
    assert_status(&r, 400);
    // Every listed host is served, with or without a port.
    for host in [
        "localhost",
        "127.0.0.1",
        "[::1]",
        "localhost:8000",
        "[::1]:8000",
    ] {
        let h = format!("Host: {host}");
        let r = app.curl("/", &["-H", &h]);
        assert_html(&r, 200);
    }
}

#[test]
fn cached_has_a_strong_etag_and_answers_304() {
    let app = App::start("cached");
    let r = app.curl("/api/cached/", &[]);
    assert_json(&r, 200, json!({"data": "cacheable"}));
    let etag = r.header("ETag").expect("ETag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "a strong ETag: {etag:?}"
    );
    let again = app.curl("/api/cached/", &[]);
    assert_eq!(again.header("ETag"), Some(etag.as_str()), "stable ETag");

    let inm = format!("If-None-Match: {etag}");
    let r = app.curl("/api/cached/", &["-H", &inm]);
    assert_status(&r, 304);
    assert!(r.body.is_empty(), "304 body {:?}", r.text());
    assert_eq!(r.header("ETag"), Some(etag.as_str()));

    let r = head(&app, "/api/cached/", &[&inm]);
    assert_status(&r, 304);

    let r = app.curl("/api/cached/", &["-H", "If-None-Match: \"something-else\""]);
    assert_json(&r, 200, json!({"data": "cacheable"}));

    let r = app.curl("/api/cached/", &["-H", "If-None-Match: *"]);
    assert_status(&r, 304);
}

#[test]
fn every_kind_of_response_carries_the_timer_and_powered_by_headers() {
    let app = App::start("common-headers");
    let cases: [(&str, &[&str], u16); 9] = [
        ("/", &[], 200),
        ("/no-such-page/", &[], 404),
        ("/api/articles", &[], 301),
        ("/temporary/", &[], 302),
        ("/api/protected/", &[], 401),
        ("/api/private/data/", &[], 401),
        ("/api/boom/", &[], 500),
        ("/api/panic/", &[], 500),
        ("/api/get-only/", &["-X", "POST"], 405),
    ];
    for (path, args, status) in cases {
        let r = app.curl(path, args);
        assert_status(&r, status);
    }
}
