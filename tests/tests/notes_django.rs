//! Portico's notes and Django 5.2 on one database that Django migrated first, on SQLite and
//! on a throwaway PostgreSQL (issue 15): a superuser made by Django's `createsuperuser` logs
//! in through Portico's notes; a session made by Django's `login()` is accepted by notes, and
//! one made by notes' login form is accepted by Django's middleware (the same `secret_key`,
//! peer.interop_settings). Skips, saying why, when Django or PostgreSQL cannot be installed.

mod notes_support;

use notes_support::*;
use tests::django::{Django, TestDatabase};

const BOSS_PASSWORD: &str = "boss-pass-word-42";

fn whoami(b: &Browser<'_>) -> (String, bool) {
    let r = b.get("/api/whoami/");
    assert_status(&r, 200);
    let j = r.json();
    (
        j["username"].as_str().unwrap_or("").to_string(),
        j["is_authenticated"] == true,
    )
}

fn django_first(django: &Django, db: &TestDatabase) {
    let url = db.url();
    django.migrate(url);
    django.createsuperuser(url, "boss", "boss@example.com", BOSS_PASSWORD);

    // notes on the database as Django left it: only its own migration is missing, and the
    // contract's users are added beside Django's.
    let t = Target::start_on("django-first", &[], Some(url));
    let applied = django.sql(
        url,
        "SELECT app, name FROM django_migrations WHERE app = 'notes'",
    );
    assert_eq!(
        applied.len(),
        1,
        "notes' 0001_initial recorded: {applied:?}"
    );

    // Django's superuser logs in through notes.
    let portico = t.browser();
    let r = portico.login("boss", BOSS_PASSWORD, "/notes/");
    assert_status(&r, 302);
    assert_eq!(r.header("Location"), Some("/notes/"));
    assert_eq!(whoami(&portico), ("boss".to_string(), true));
    let r = portico.create_note("from portico", "a note of Django's user");
    assert_status(&r, 302);
    assert_eq!(portico.notes().len(), 1);

    // A session made by notes' login is accepted by Django.
    let sessionid = portico.cookie("sessionid").expect("notes set a session");
    let who = django.whois(url, &sessionid);
    assert!(who.authenticated, "{who:?}");
    assert_eq!(who.username.as_deref(), Some("boss"));
    // So is one of a contract user notes created at start-up (its hash as written).
    let alice = t.browser();
    alice.login_alice();
    let who = django.whois(url, &alice.cookie("sessionid").expect("a session"));
    assert_eq!(who.username.as_deref(), Some("alice"), "{who:?}");

    // A session made by Django's login() is accepted by notes.
    let from_django = django.login(url, "boss", BOSS_PASSWORD);
    let b = t.browser();
    b.set_cookie("sessionid", &from_django);
    assert_eq!(whoami(&b), ("boss".to_string(), true));
    assert_eq!(b.notes().len(), 1, "the same user's notes");
    // And notes' logout ends it for Django too.
    let token = b.csrf_token();
    let r = b.post_form("/accounts/logout/", &[("csrfmiddlewaretoken", &token)], &[]);
    assert_status(&r, 302);
    assert!(!django.whois(url, &from_django).authenticated);
}

#[test]
fn django_migrates_first_on_sqlite() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    django_first(django, &TestDatabase::sqlite());
}

#[test]
fn django_migrates_first_on_postgresql() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    let Some(db) = TestDatabase::postgres_or_skip() else {
        return;
    };
    django_first(django, &db);
}
