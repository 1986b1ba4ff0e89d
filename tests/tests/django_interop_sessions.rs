//! Django 5.2's users and sessions on a database it migrated, SQLite and a throwaway
//! PostgreSQL, through the helpers the Portico-side interop tests use (tests/src/django.rs): a
//! superuser made by Django's `createsuperuser --noinput` is in `auth_user`; a session made by
//! Django's `login()` is a `django_session` row that Django's middleware reads back as that
//! user; an unknown or tampered `sessionid` is anonymous; the notes contract's users (hashes as
//! written) log in with peer.interop_settings' hasher.
//!
//! Skips, saying why, when Django cannot be installed from PyPI or PostgreSQL cannot run.

use serde_json::{json, Value};
use tests::django::{Django, TestDatabase, Vendor};

/// The notes test users' hashes (tests/data/notes-test-users.toml): alice-test-password.
const ALICE_HASH: &str =
    "pbkdf2_sha256$10000$notessaltalice$99UFSkprmOqNPb6ZG7V9D+5w0LzqvmWot22vt3rMC/Y=";

fn truthy(v: &Value) -> bool {
    // SQLite gives booleans as 0/1, PostgreSQL as true/false.
    v == &json!(true) || v == &json!(1)
}

fn users_and_sessions(django: &Django, db: &TestDatabase) {
    let url = db.url();
    django.migrate(url);

    django.createsuperuser(url, "root", "root@example.com", "root-pass-word-9");
    let rows = django.sql(
        url,
        "SELECT id, username, email, is_superuser, is_staff, is_active, password FROM auth_user",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[1], "root");
    assert_eq!(row[2], "root@example.com");
    assert!(
        truthy(&row[3]) && truthy(&row[4]) && truthy(&row[5]),
        "{row:?}"
    );
    let hash = row[6].as_str().expect("a password hash");
    assert!(
        hash.starts_with("pbkdf2_sha256$1000000$"),
        "Django 5.2's default: {hash}"
    );
    let root_id = row[0].as_i64().expect("an integer id");

    // Django's login(): a fresh session in django_session, read back as root.
    let sessionid = django.login(url, "root", "root-pass-word-9");
    assert_eq!(sessionid.len(), 32, "{sessionid}");
    assert!(sessionid
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let stored = django.sql(
        url,
        &format!("SELECT session_data FROM django_session WHERE session_key = '{sessionid}'"),
    );
    assert_eq!(
        stored.len(),
        1,
        "the session is a row of django_session: {stored:?}"
    );
    let who = django.whois(url, &sessionid);
    assert!(who.authenticated, "{who:?}");
    assert_eq!(who.username.as_deref(), Some("root"));
    assert_eq!(who.user_id, Some(root_id));
    assert_eq!(who.session_key.as_deref(), Some(sessionid.as_str()));
    assert_eq!(who.session["_auth_user_id"], root_id.to_string());
    assert_eq!(
        who.session["_auth_user_backend"],
        "django.contrib.auth.backends.ModelBackend"
    );
    assert_eq!(
        who.session["_auth_user_hash"].as_str().map(str::len),
        Some(64)
    );
    // login() recorded the time (user_logged_in → update_last_login).
    let last_login = django.sql(
        url,
        "SELECT last_login FROM auth_user WHERE username = 'root'",
    );
    assert!(!last_login[0][0].is_null(), "{last_login:?}");

    // An unknown key and a tampered one are anonymous, empty sessions.
    for bogus in ["doesnotexist0000000000000000000x", &sessionid[..31]] {
        let who = django.whois(url, bogus);
        assert!(!who.authenticated, "{bogus}: {who:?}");
        assert_eq!(who.session, json!({}));
    }

    // Wrong credentials are refused; a notes contract user logs in with its hash as written.
    assert_eq!(django.try_login(url, "root", "not-the-password"), None);
    let alice = django.create_user(url, "alice", ALICE_HASH, false);
    let alice_session = django.login(url, "alice", "alice-test-password");
    let who = django.whois(url, &alice_session);
    assert_eq!(
        (who.username.as_deref(), who.user_id),
        (Some("alice"), Some(alice))
    );
    let kept = django.sql(
        url,
        "SELECT password FROM auth_user WHERE username = 'alice'",
    );
    assert_eq!(
        kept[0][0], ALICE_HASH,
        "the contract's hash is never upgraded"
    );
    // root's session is untouched by alice's.
    assert_eq!(
        django.whois(url, &sessionid).username.as_deref(),
        Some("root")
    );

    if db.vendor() == Vendor::Sqlite {
        assert!(db.sqlite_path().is_some_and(|p| p.is_file()));
    }
}

#[test]
fn django_users_and_sessions_on_sqlite() {
    if let Some(django) = Django::or_skip() {
        users_and_sessions(django, &TestDatabase::sqlite());
    }
}

#[test]
fn django_users_and_sessions_on_postgresql() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    if let Some(db) = TestDatabase::postgres_or_skip() {
        users_and_sessions(django, &db);
    }
}
