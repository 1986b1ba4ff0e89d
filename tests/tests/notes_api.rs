//! The notes contract (shared/contracts/notes-app.md), part 2: the notes API, the session
//! counter, whoami, the CSRF-protected and the exempt JSON endpoints, the CSRF rules the
//! contract pins, and GZip.

mod notes_support;

use notes_support::*;
use serde_json::json;

#[test]
fn notes_need_a_login() {
    let t = Target::start("login-required");
    let b = t.browser();
    let r = b.get("/notes/");
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/accounts/login/?next=/notes/"));
    let r = b.get("/notes/1/");
    assert_status(&r, 302);
    assert_eq!(
        r.header("Location"),
        Some("/accounts/login/?next=/notes/1/")
    );
}

#[test]
fn notes_are_created_from_a_form_and_listed_by_id() {
    let t = Target::start("notes");
    let b = t.browser();
    b.login_alice();
    let first = unique("first");
    let second = unique("second");
    let r = b.create_note(&first, "body one");
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/"));
    assert_eq!(b.create_note(&second, "").status, 302);
    let r = b.get("/notes/");
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let notes = r.json()["notes"].as_array().cloned().expect("a list");
    let ids: Vec<i64> = notes.iter().filter_map(|n| n["id"].as_i64()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "by id");
    let mine: Vec<&serde_json::Value> = notes
        .iter()
        .filter(|n| n["title"] == first.as_str() || n["title"] == second.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "{notes:?}");
    assert_eq!(mine[0]["body"], "body one");
    assert_eq!(mine[1]["body"], "");
    // Django's JsonResponse: keys in this order, `", "` and `": "` between them.
    let text = r.text();
    for n in &mine {
        let exact = format!(
            "{{\"id\": {}, \"title\": \"{}\", \"body\": \"{}\"}}",
            n["id"],
            n["title"].as_str().unwrap_or_default(),
            n["body"].as_str().unwrap_or_default()
        );
        assert!(text.contains(&exact), "{exact} in {text}");
    }
    // root sees none of them.
    let root = t.browser();
    assert_eq!(root.login("root", ROOT_PASSWORD, "").status, 302);
    assert!(root
        .notes()
        .iter()
        .all(|n| n["title"] != first.as_str() && n["title"] != second.as_str()));
}

#[test]
fn an_empty_or_missing_title_is_400() {
    let t = Target::start("title");
    let b = t.browser();
    b.login_alice();
    let token = b.csrf_token();
    for fields in [
        vec![
            ("title", ""),
            ("body", "x"),
            ("csrfmiddlewaretoken", token.as_str()),
        ],
        vec![("body", "x"), ("csrfmiddlewaretoken", token.as_str())],
    ] {
        let r = b.post_form("/notes/", &fields, &[]);
        assert_status(&r, 400);
        assert_eq!(r.json(), json!({"error": "title is required"}));
    }
}

#[test]
fn a_note_is_read_and_deleted_by_its_owner_only() {
    let t = Target::start("detail");
    let alice = t.browser();
    alice.login_alice();
    let title = unique("detail");
    alice.create_note(&title, "text");
    let note = alice
        .notes()
        .into_iter()
        .find(|n| n["title"] == title.as_str())
        .expect("the new note");
    let id = note["id"].as_i64().expect("an id");
    let path = format!("/notes/{id}/");
    let r = alice.get(&path);
    assert_status(&r, 200);
    assert_eq!(r.json(), json!({"id": id, "title": title, "body": "text"}));
    // Another user's note is a 404, read or delete.
    let root = t.browser();
    assert_eq!(root.login("root", ROOT_PASSWORD, "").status, 302);
    assert_status(&root.get(&path), 404);
    let root_token = root.cookie("csrftoken").expect("a CSRF cookie");
    let r = root.curl(
        &path,
        &["-X", "DELETE", "-H", &format!("X-CSRFToken: {root_token}")],
    );
    assert_status(&r, 404);
    // DELETE needs the token in X-CSRFToken.
    let r = alice.curl(&path, &["-X", "DELETE"]);
    assert_status(&r, 403);
    let token = alice.csrf_token();
    let r = alice.curl(
        &path,
        &["-X", "DELETE", "-H", &format!("X-CSRFToken: {token}")],
    );
    assert_status(&r, 204);
    assert!(r.body.is_empty());
    assert_status(&alice.get(&path), 404);
    let r = alice.curl(
        &path,
        &["-X", "DELETE", "-H", &format!("X-CSRFToken: {token}")],
    );
    assert_status(&r, 404);
    assert_status(&alice.get("/notes/999999999/"), 404);
}

#[test]
fn the_session_counter_counts_per_session_with_vary_cookie() {
    let t = Target::start("counter");
    let b = t.browser();
    for n in 1..=3 {
        let r = b.get("/session/counter/");
        assert_status(&r, 200);
        assert_eq!(r.json(), json!({"count": n}));
        assert_eq!(r.header("Vary"), Some("Cookie"));
        assert!(
            set_cookie(&r, "sessionid").is_some(),
            "modified: the cookie is sent"
        );
    }
    assert_eq!(
        t.browser().get("/session/counter/").json(),
        json!({"count": 1})
    );
}

#[test]
fn sessionid_is_set_only_when_the_session_was_modified() {
    let t = Target::start("modified");
    let b = t.browser();
    b.login_alice();
    for path in ["/api/whoami/", "/", "/notes/"] {
        let r = b.get(path);
        assert_status(&r, 200);
        assert!(
            set_cookie(&r, "sessionid").is_none(),
            "{path}: {:?}",
            r.headers
        );
        let vary = r.header("Vary").unwrap_or_default();
        assert!(
            vary.starts_with("Cookie"),
            "{path}: the session was read: {vary}"
        );
    }
}

#[test]
fn whoami_is_anonymous_without_a_session() {
    let t = Target::start("whoami");
    let r = t.browser().get("/api/whoami/");
    assert_status(&r, 200);
    assert_eq!(r.json(), json!({"username": "", "is_authenticated": false}));
}

#[test]
fn ping_needs_the_token_matching_the_cookie() {
    let t = Target::start("ping");
    let b = t.browser();
    let json_body = [
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        "{}",
    ];
    // No cookie at all.
    let r = b.curl("/api/ping/", &json_body);
    assert_status(&r, 403);
    assert!(r.text().contains(CSRF_FAILED), "{}", r.text());
    let token = b.csrf_token();
    let secret = b.cookie("csrftoken").expect("the cookie");
    let with = |value: &str| {
        let header = format!("X-CSRFToken: {value}");
        let mut args = json_body.to_vec();
        args.extend(["-H", header.as_str()]);
        b.curl("/api/ping/", &args)
    };
    let r = with(&token);
    assert_status(&r, 200);
    assert_eq!(r.json(), json!({"pong": true}));
    // The header may carry the cookie's 32-character secret as well.
    assert_eq!(with(&secret).json(), json!({"pong": true}));
    // Missing, wrong, or masked from another secret: 403.
    let r = b.curl("/api/ping/", &json_body);
    assert_status(&r, 403);
    let wrong_secret = "a".repeat(32);
    for bad in [wrong_secret.as_str(), "short", &token[..63]] {
        let r = with(bad);
        assert_status(&r, 403);
        assert!(r.text().contains(CSRF_FAILED));
    }
    let other = t.browser().csrf_token();
    assert_status(&with(&other), 403);
    // A safe method is never checked.
    assert_eq!(b.get("/api/ping/").status, 405);
}

#[test]
fn an_origin_that_is_not_this_host_is_refused() {
    let t = Target::start("origin");
    let b = t.browser();
    let token = b.csrf_token();
    let ping = |origin: &str| {
        b.curl(
            "/api/ping/",
            &[
                "-X",
                "POST",
                "-H",
                &format!("X-CSRFToken: {token}"),
                "-H",
                &format!("Origin: {origin}"),
            ],
        )
    };
    assert_eq!(ping(&t.origin()).status, 200);
    let host = t.host();
    let (domain, port) = host.rsplit_once(':').expect("host:port");
    let other_port = format!(
        "http://{domain}:{}",
        port.parse::<u16>().expect("a port").wrapping_add(1).max(1)
    );
    for bad in [
        "null",
        "http://evil.example",
        "https://127.0.0.1",
        other_port.as_str(),
    ] {
        let r = ping(bad);
        assert_status(&r, 403);
        assert!(r.text().contains(CSRF_FAILED), "{bad}");
    }
}

#[test]
fn a_form_post_needs_the_form_token() {
    let t = Target::start("form-csrf");
    let b = t.browser();
    b.login_alice();
    let token = b.csrf_token();
    let r = b.post_form("/notes/", &[("title", "x")], &[]);
    assert_status(&r, 403);
    let r = b.post_form(
        "/notes/",
        &[
            ("title", "x"),
            ("csrfmiddlewaretoken", "wrongwrongwrongwrongwrongwrong00"),
        ],
        &[],
    );
    assert_status(&r, 403);
    // Without the cookie the token alone is refused too.
    let fresh = t.browser();
    let r = fresh.post_form(
        "/accounts/login/",
        &[
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
            ("csrfmiddlewaretoken", &token),
        ],
        &[],
    );
    assert_status(&r, 403);
    assert!(r.text().contains(CSRF_FAILED));
}

#[test]
fn the_hook_is_csrf_exempt() {
    let t = Target::start("hook");
    let r = t.browser().curl(
        "/api/hook/",
        &[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "{\"event\": 1}",
        ],
    );
    assert_status(&r, 200);
    assert_eq!(r.json(), json!({"received": 12}));
    let r = t.browser().curl("/api/hook/", &["-X", "POST"]);
    assert_eq!(r.json(), json!({"received": 0}));
}

#[test]
fn big_is_compressed_for_gzip_clients() {
    let t = Target::start("gzip");
    let b = t.browser();
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    let r = b.get("/big/");
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.text(), expected);
    assert_eq!(r.header("Content-Encoding"), None);
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    let r = b.curl("/big/", &["-H", "Accept-Encoding: gzip"]);
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.header("Vary"), Some("Accept-Encoding"));
    assert!(r.body.len() < expected.len() / 4, "{} bytes", r.body.len());
    assert_eq!(&r.body[..3], &[0x1f, 0x8b, 8], "a gzip stream");
    // curl --compressed decodes it back.
    let r = b.curl("/big/", &["--compressed"]);
    assert_eq!(r.header("Content-Encoding"), Some("gzip"));
    assert_eq!(r.text(), expected);
}

#[test]
fn other_methods_are_405() {
    let t = Target::start("methods");
    let b = t.browser();
    b.login_alice();
    let token = b.csrf_token();
    let h = format!("X-CSRFToken: {token}");
    let r = b.curl("/notes/", &["-X", "PUT", "-H", &h]);
    assert_status(&r, 405);
    assert_eq!(r.header("Allow"), Some("GET, POST"));
    let r = b.curl("/notes/1/", &["-X", "POST", "-H", &h]);
    assert_status(&r, 405);
    assert_eq!(r.header("Allow"), Some("GET, DELETE"));
    let r = b.curl("/session/counter/", &["-X", "POST", "-H", &h]);
    assert_status(&r, 405);
}
