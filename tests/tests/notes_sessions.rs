//! The notes contract (shared/contracts/notes-app.md), part 3: sessions in the database (they
//! survive a restart; a tampered key is an anonymous, empty session) and messages (shown
//! once, kept until shown, Django's signed cookie read both ways, the session taking what
//! does not fit in 2,048 bytes).

mod notes_support;

use notes_support::*;

/// The `<li class="message">` texts of a page, in order.
fn messages_on(page: &str) -> Vec<String> {
    page.split("<li class=\"message\">")
        .skip(1)
        .filter_map(|s| s.split("</li>").next())
        .map(str::to_string)
        .collect()
}

#[test]
fn sessions_and_notes_survive_a_restart() {
    if Target::is_external() {
        eprintln!("skipped against NOTES_BASE_URL: restarts only the portico a test started");
        return;
    }
    let mut t = Target::start("restart");
    let title = unique("kept");
    let session = {
        let b = t.browser();
        b.login_alice();
        b.create_note(&title, "across restarts");
        assert_eq!(b.get("/session/counter/").json()["count"], 1);
        b.cookie("sessionid").expect("a session")
    };
    t.restart();
    let b = t.browser();
    b.set_cookie("sessionid", &session);
    assert_eq!(b.get("/session/counter/").json()["count"], 2);
    let r = b.get("/api/whoami/");
    assert_eq!(r.json()["username"], "alice");
    assert!(b.notes().iter().any(|n| n["title"] == title.as_str()));
    if t.database_url.is_none() {
        assert!(
            t.database().exists(),
            "the database is next to the settings"
        );
    }
}

#[test]
fn a_tampered_or_unknown_session_is_anonymous_and_empty() {
    let t = Target::start("tampered");
    let b = t.browser();
    b.login_alice();
    let good = b.cookie("sessionid").expect("a session");
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    for bad in [
        flipped.as_str(),
        "x",
        "nosuchsessionkeynosuchsessionkey",
        "../../etc/passwd",
        "\"quoted\"",
        &"z".repeat(500),
    ] {
        let other = t.browser();
        other.set_cookie("sessionid", bad);
        let r = other.get("/api/whoami/");
        assert_status(&r, 200);
        assert_eq!(
            r.json(),
            serde_json::json!({"username": "", "is_authenticated": false}),
            "{bad:?}"
        );
        let r = other.get("/session/counter/");
        assert_status(&r, 200);
        assert_eq!(r.json()["count"], 1, "{bad:?}: an empty session");
        let page = other.get("/");
        assert_status(&page, 200);
        assert!(page.text().contains("Hello, anonymous"));
    }
    // The good one still works.
    assert_eq!(b.get("/api/whoami/").json()["username"], "alice");
}

#[test]
fn a_message_is_shown_once_and_survives_pages_that_do_not_show_it() {
    let t = Target::start("messages");
    let b = t.browser();
    b.login_alice();
    let r = b.create_note(&unique("message"), "");
    assert_eq!(r.status, 302);
    let cookie = set_cookie(&r, "messages").expect("the message travels in a cookie");
    assert!(
        cookie.contains("; HttpOnly;") && cookie.contains("; Path=/; SameSite=Lax"),
        "{cookie}"
    );
    // Pages that do not show messages leave it pending.
    for path in [
        "/api/whoami/",
        "/notes/",
        "/session/counter/",
        "/accounts/login/",
    ] {
        assert_eq!(b.get(path).status, 200, "{path}");
    }
    let page = b.get("/").text();
    assert_eq!(messages_on(&page), [NOTE_SAVED], "{page}");
    assert!(messages_on(&b.get("/").text()).is_empty(), "shown once");
    assert!(
        b.cookie("messages").is_none(),
        "the cookie is deleted once shown"
    );
    // Two notes, two messages, in order, shown together.
    b.create_note(&unique("one"), "");
    b.create_note(&unique("two"), "");
    assert_eq!(messages_on(&b.get("/").text()), [NOTE_SAVED, NOTE_SAVED]);
}

#[test]
fn a_messages_cookie_made_by_django_is_read() {
    let t = Target::start("django-cookie");
    let b = t.browser();
    b.set_cookie("messages", data("notes-django-messages-cookie.txt").trim());
    let page = b.get("/").text();
    assert_eq!(messages_on(&page), ["Made by Django."], "{page}");
    assert!(messages_on(&b.get("/").text()).is_empty());
    // A tampered cookie is no messages, and no error.
    let other = t.browser();
    let mut tampered = data("notes-django-messages-cookie.txt").trim().to_string();
    tampered.insert(5, 'x');
    other.set_cookie("messages", &tampered);
    let r = other.get("/");
    assert_status(&r, 200);
    assert!(messages_on(&r.text()).is_empty());
}

#[test]
fn the_messages_cookie_falls_back_to_the_session_above_2048_bytes() {
    let t = Target::start("fallback");
    let b = t.browser();
    b.login_alice();
    // 60 pending messages in a 2,496-byte cookie Django made; a new note adds one more, and
    // storing them all again no longer fits in one cookie.
    b.set_cookie("messages", data("notes-big-messages-cookie.txt").trim());
    let r = b.create_note(&unique("spill"), "");
    assert_eq!(r.status, 302);
    let cookie = set_cookie(&r, "messages").expect("the cookie is rewritten");
    let value = cookie["messages=".len()..]
        .split(';')
        .next()
        .unwrap_or_default();
    assert!(value.len() <= 2048, "{} bytes", value.len());
    assert!(
        set_cookie(&r, "sessionid").is_some(),
        "the rest went into the session"
    );
    let mut expected: Vec<String> = data("notes-big-messages.txt")
        .lines()
        .map(str::to_string)
        .collect();
    expected.push(NOTE_SAVED.to_string());
    let page = b.get("/").text();
    assert_eq!(messages_on(&page), expected);
    assert!(messages_on(&b.get("/").text()).is_empty());
}

/// `portico manage … seed_users` with the target's settings (and database) to its end: exit
/// status and stdout.
fn seed_users(t: &Target) -> (bool, String) {
    let mut command = std::process::Command::new(tests::portico_bin());
    command
        .arg("manage")
        .arg("--settings")
        .arg(t.dir.path().join("settings.toml"))
        .arg(tests::app_lib("notes"))
        .arg("seed_users")
        .stdin(std::process::Stdio::null());
    match &t.database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    let out = command.output().expect("run portico manage");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn seed_users_creates_the_settings_users_that_are_missing() {
    if Target::is_external() {
        eprintln!("skipped against NOTES_BASE_URL: the command runs on the test's own database");
        return;
    }
    let t = Target::start("seed-users");
    // The server's start created both once its worker is up (a command's start does not: the
    // serve hook is the server's only); the command leaves them as they are.
    assert_eq!(t.server().curl("/accounts/login/", &[]).status, 200);
    let (ok, out) = seed_users(&t);
    assert!(ok, "{out}");
    assert!(
        out.contains("User \"alice\" exists; left as it is."),
        "{out}"
    );
    assert!(
        out.contains("User \"root\" exists; left as it is."),
        "{out}"
    );
    // They are the users the server signs in.
    t.browser().login_alice();
}
