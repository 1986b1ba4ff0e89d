//! The notes contract (shared/contracts/notes-app.md), part 1: the pages. The home page, the
//! login form (CSRF cookie, session cycling, `next`), logout, the 404 page, a bad `Host`,
//! and the headers every response carries. Driven with curl and a cookie jar through the real
//! `portico` (or, with `NOTES_BASE_URL`, the server running there).

mod notes_support;

use notes_support::*;

#[test]
fn home_greets_anonymous_then_alice_with_her_note_titles() {
    let t = Target::start("home");
    let b = t.browser();
    let r = b.get("/");
    assert_status(&r, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("Hello, anonymous"), "{}", r.text());
    b.login_alice();
    let title = unique("Shopping & <list>");
    assert_eq!(b.create_note(&title, "eggs").status, 302);
    let r = b.get("/");
    assert_status(&r, 200);
    let page = r.text();
    assert!(page.contains("Hello, alice"), "{page}");
    assert!(
        page.contains(
            &title
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        ),
        "{page}"
    );
    // Another user does not see alice's titles.
    let root = t.browser();
    assert_eq!(root.login("root", ROOT_PASSWORD, "").status, 302);
    let page = root.get("/").text();
    assert!(
        page.contains("Hello, root") && !page.contains("Shopping"),
        "{page}"
    );
}

#[test]
fn the_login_form_sets_the_csrf_cookie_with_djangos_attributes() {
    let t = Target::start("login-form");
    let b = t.browser();
    let r = b.get("/accounts/login/");
    assert_status(&r, 200);
    let page = r.text();
    let token = form_token(&page);
    assert_eq!(token.len(), 64, "a masked token");
    assert!(token.bytes().all(|c| c.is_ascii_alphanumeric()));
    let cookie = set_cookie(&r, "csrftoken").expect("csrftoken is set");
    let secret = cookie["csrftoken=".len()..]
        .split(';')
        .next()
        .unwrap_or_default();
    assert_eq!(secret.len(), 32, "{cookie}");
    assert!(cookie.contains("; Max-Age=31449600;"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("expires="), "{cookie}");
    assert!(!cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(b.cookie("csrftoken").as_deref(), Some(secret));
    // The masked token is not the secret itself, and a new one comes with each page.
    assert_ne!(&token[32..], secret);
    assert_ne!(form_token(&b.get("/accounts/login/").text()), token);
}

#[test]
fn login_cycles_the_session_key_and_sets_sessionid() {
    let t = Target::start("login");
    let b = t.browser();
    // A session before login: the counter.
    let r = b.get("/session/counter/");
    assert_eq!(r.json(), serde_json::json!({"count": 1}));
    let before = b.cookie("sessionid").expect("a session");
    let r = b.login("alice", ALICE_PASSWORD, "/notes/");
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/notes/"));
    let cookie = set_cookie(&r, "sessionid").expect("sessionid is set at login");
    assert!(cookie.contains("; HttpOnly;"), "{cookie}");
    assert!(cookie.contains("; Max-Age=1209600;"), "{cookie}");
    assert!(cookie.contains("; Path=/"), "{cookie}");
    assert!(cookie.contains("; SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("expires="), "{cookie}");
    let after = b.cookie("sessionid").expect("a session");
    assert_ne!(before, after, "the session key changes at login");
    // The session's data came along; the old key no longer works.
    assert_eq!(b.get("/session/counter/").json()["count"], 2);
    let old = t.browser();
    old.set_cookie("sessionid", &before);
    assert_eq!(old.get("/session/counter/").json()["count"], 1);
    // Signed in: whoami.
    let r = b.get("/api/whoami/");
    assert_eq!(
        r.json(),
        serde_json::json!({"username": "alice", "is_authenticated": true})
    );
}

#[test]
fn a_valid_login_without_next_goes_to_the_login_redirect_url() {
    let t = Target::start("login-default");
    let r = t.browser().login("alice", ALICE_PASSWORD, "");
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/"));
}

#[test]
fn a_wrong_password_shows_the_form_again() {
    let t = Target::start("login-bad");
    let b = t.browser();
    for (user, password) in [
        ("alice", "wrong"),
        ("nobody", "x"),
        ("root", ALICE_PASSWORD),
    ] {
        let r = b.login(user, password, "/notes/");
        assert_status(&r, 200);
        let page = r.text();
        assert!(
            page.contains("Please enter a correct username and password."),
            "{page}"
        );
        assert!(
            page.contains("name=\"csrfmiddlewaretoken\""),
            "the form again"
        );
        assert!(
            set_cookie(&r, "sessionid").is_none(),
            "no session for a failed login"
        );
    }
    assert_eq!(b.get("/api/whoami/").json()["is_authenticated"], false);
}

#[test]
fn next_is_followed_only_on_the_same_host_and_port() {
    let t = Target::start("next");
    let b = t.browser();
    let host = t.host();
    let (domain, port) = host.rsplit_once(':').expect("host:port");
    let other_port: u16 = port.parse::<u16>().expect("a port").wrapping_add(1).max(1);
    let same = format!("http://{host}/notes/");
    let cases: Vec<(String, &str)> = vec![
        ("/notes/".into(), "/notes/"),
        (same.clone(), same.as_str()),
        ("/\\evil.example/".into(), "/"),
        ("//evil.example/".into(), "/"),
        ("https://evil.example/".into(), "/"),
        (format!("http://{domain}:{other_port}/notes/"), "/"),
        ("javascript:alert(1)".into(), "/"),
        ("///evil.example/".into(), "/"),
    ];
    for (next, expected) in cases {
        let r = b.login("alice", ALICE_PASSWORD, &next);
        assert_status(&r, 302);
        assert_eq!(r.header("Location"), Some(expected), "next={next:?}");
    }
    // `next` from the query string counts too, and the form carries it on.
    let r = b.get("/accounts/login/?next=/notes/");
    assert!(
        r.text().contains("name=\"next\" value=\"/notes/\""),
        "{}",
        r.text()
    );
}

#[test]
fn logout_is_post_only_and_flushes_the_session() {
    let t = Target::start("logout");
    let b = t.browser();
    b.login_alice();
    let r = b.get("/accounts/logout/");
    assert_status(&r, 405);
    assert_eq!(r.header("Allow"), Some("POST, OPTIONS"));
    let session = b.cookie("sessionid").expect("signed in");
    // Without the CSRF token: 403.
    let r = b.post_form("/accounts/logout/", &[], &[]);
    assert_status(&r, 403);
    assert!(r.text().contains(CSRF_FAILED));
    let token = b.csrf_token();
    let r = b.post_form("/accounts/logout/", &[("csrfmiddlewaretoken", &token)], &[]);
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/"));
    let deleted = set_cookie(&r, "sessionid").expect("the cookie is deleted");
    assert!(deleted.contains("Max-Age=0"), "{deleted}");
    assert!(b.get("/").text().contains("Hello, anonymous"));
    // The old session is gone from the database, not only from the jar.
    let replay = t.browser();
    replay.set_cookie("sessionid", &session);
    assert_eq!(replay.get("/api/whoami/").json()["is_authenticated"], false);
}

#[test]
fn an_unknown_path_is_the_404_page() {
    let t = Target::start("404");
    let r = t.browser().get("/no/such/page/");
    assert_status(&r, 404);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(r.text().contains("Not Found"), "{}", r.text());
}

#[test]
fn a_host_outside_allowed_hosts_is_400_without_x_frame_options() {
    let t = Target::start("badhost");
    let b = t.browser();
    for path in ["/", "/api/whoami/", "/nowhere/"] {
        let r = b.curl(path, &["-H", "Host: evil.example"]);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(r.header("Referrer-Policy"), Some("same-origin"));
        assert_eq!(r.header("Cross-Origin-Opener-Policy"), Some("same-origin"));
        assert_eq!(r.header("X-Frame-Options"), None, "{:?}", r.headers);
    }
    // localhost and [::1] are allowed, with any port.
    let port = t
        .host()
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap_or_default();
    for host in [format!("localhost:{port}"), format!("[::1]:{port}")] {
        let r = b.curl("/api/whoami/", &["-H", &format!("Host: {host}")]);
        assert_status(&r, 200);
    }
}

#[test]
fn every_route_carries_the_security_and_clickjacking_headers() {
    let t = Target::start("headers");
    let b = t.browser();
    let token = b.csrf_token();
    let responses = vec![
        b.get("/"),
        b.get("/accounts/login/"),
        b.get("/accounts/logout/"),
        b.get("/notes/"),
        b.get("/notes/1/"),
        b.get("/session/counter/"),
        b.get("/api/whoami/"),
        b.post_form("/api/ping/", &[], &[]),
        b.post_form("/api/hook/", &[("a", "b")], &[]),
        b.get("/big/"),
        b.get("/missing/"),
        b.curl(
            "/api/ping/",
            &["-X", "POST", "-H", &format!("X-CSRFToken: {token}")],
        ),
    ];
    for r in &responses {
        assert_stack_headers(r);
    }
}
