//! The `notes` sample app: Django's default middleware stack on handler-core
//! (../shared/contracts/notes-app.md): sessions, password login, CSRF-protected forms and
//! JSON, one-shot messages, and the security and clickjacking headers, on `DATABASES`
//! (SQLite by default, PostgreSQL with `DATABASE_URL`).
//!
//! Module map, as a Django project lays it out: `config` (the `[app]` table), `models` (the
//! `Note` model and its migration), `views`, `urls`, `commands` (`seed_users`), and the
//! templates in `templates/` (Jinja2 syntax). Users and sessions are contrib's defaults:
//! `auth_user` through `ModelBackend` and `django_session` through the `db` session engine,
//! with contrib's migrations. [`build`] is the project: the URL conf, the migrations, the
//! command, and a serve hook (`App::on_serve`) that migrates the database and creates the
//! `[app.users]` that are missing, once the checks passed, before a worker serves (never in
//! `portico manage`, where `migrate` does it and says what it applied).
//!
//! Run it: `portico --settings sample-apps/notes/settings.toml libnotes.so`; on PostgreSQL,
//! with `DATABASE_URL=postgres://user:pass@host:5432/notes` in the environment.

use handler_core::{App, ConfigError, Settings};

pub mod commands;
pub mod config;
pub mod models;
pub mod urls;
pub mod views;

use config::AppSettings;

/// Builds the app from its settings.
pub fn build(settings: &Settings) -> Result<App, ConfigError> {
    let app_settings: AppSettings = settings.app_config()?;
    let file = settings
        .path()
        .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
    if let Some(value) = &app_settings.database {
        return Err(ConfigError::new(config::moved_database_key(&file, value)));
    }
    let users = app_settings.users;
    let seeds = users.clone();
    Ok(App::new(urls::urlpatterns())
        .migrations(models::migrations())
        .command("seed_users", commands::seed_users(seeds))
        .on_serve(move |settings, extensions| {
            let databases = settings.connections();
            let outcome = commands::migrate(databases, extensions)
                .and_then(|()| commands::ensure_users(databases, &users).map(drop));
            // Nothing stays open in the thread that started the app.
            databases.close_all();
            outcome.map_err(|e| ConfigError::new(format!("{file}: [databases.default]: {e}")))?;
            log::info!(
                target: "notes",
                "notes database: {}",
                databases.settings().default_database().target()
            );
            Ok(())
        }))
}

handler_core::export_app!(build);

#[cfg(test)]
mod tests {
    //! The whole app in process, driven by handler-core's test `Client` (the end-to-end tests
    //! in tests/tests/notes_*.rs drive the real binary with curl).
    use super::*;
    use handler_core::test::{Client, Data};
    use serde_json::json;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    const SHIPPED_SETTINGS: &str = include_str!("../settings.toml");
    const ALICE: &str = "alice-password";

    struct Site {
        dir: PathBuf,
        client: Client,
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn site() -> Site {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "notes-app-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let text = SHIPPED_SETTINGS.replace(
            "dirs = [\"templates\"]",
            &format!("dirs = [\"{templates}\"]"),
        );
        let path = dir.join("settings.toml");
        std::fs::write(&path, text).unwrap();
        let settings = Settings::load(&path).unwrap();
        let app = build(&settings).unwrap();
        let client = Client::from_app(app, settings)
            .unwrap()
            .enforce_csrf_checks(true);
        Site { dir, client }
    }

    /// Gives alice a password the test knows (the shipped hash's password is not in the
    /// repository), as `set_password` would.
    fn with_alice_password(site: &Site) {
        let hash = handler_core::auth::hashers::make_password_with(
            ALICE,
            None,
            &handler_core::auth::hashers::Pbkdf2Hasher::SHA256.with_iterations(10_000),
        )
        .unwrap();
        let db = database(site);
        let changed = db
            .connection("default")
            .unwrap()
            .execute(
                "UPDATE auth_user SET password = %s WHERE username = %s",
                &[hash.into(), "alice".into()],
            )
            .unwrap();
        assert_eq!(changed, 1);
        db.close_all();
    }

    /// The site's database, as another process would open it.
    fn database(site: &Site) -> std::sync::Arc<handler_core::db::Databases> {
        handler_core::db::Databases::new(handler_core::db::DatabasesSettings::sqlite(
            site.dir.join("notes.sqlite3"),
        ))
    }

    fn csrf_token(client: &mut Client) -> String {
        let page = client.get("/accounts/login/").text();
        page.split("name=\"csrfmiddlewaretoken\" value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_string()
    }

    fn login(site: &mut Site, next: &str) -> handler_core::test::TestResponse {
        let token = csrf_token(&mut site.client);
        site.client.post(
            "/accounts/login/",
            &[
                ("username", "alice"),
                ("password", ALICE),
                ("next", next),
                ("csrfmiddlewaretoken", &token),
            ],
        )
    }

    #[test]
    fn login_cycles_the_session_and_redirects_to_a_safe_next() {
        let mut s = site();
        with_alice_password(&s);
        assert_eq!(
            s.client.get("/session/counter/").json().unwrap(),
            json!({"count": 1})
        );
        let before = s.client.cookie("sessionid").unwrap().to_string();
        let r = login(&mut s, "/notes/");
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/notes/")));
        let after = s.client.cookie("sessionid").unwrap().to_string();
        assert_ne!(before, after, "login cycles the session key");
        // The data came along.
        assert_eq!(
            s.client.get("/session/counter/").json().unwrap(),
            json!({"count": 2})
        );
        assert_eq!(
            s.client.get("/api/whoami/").json().unwrap(),
            json!({"username": "alice", "is_authenticated": true})
        );
        // Off-host and tricky `next`s go to LOGIN_REDIRECT_URL.
        for next in [
            "//evil.example/",
            "/\\evil.example/",
            "http://testserver:8000/x",
            "https://evil.example/",
        ] {
            let r = login(&mut s, next);
            assert_eq!(r.get("Location"), Some("/"), "{next}");
        }
    }

    #[test]
    fn a_wrong_password_shows_the_form_again() {
        let mut s = site();
        let token = csrf_token(&mut s.client);
        let r = s.client.post(
            "/accounts/login/",
            &[
                ("username", "alice"),
                ("password", "nope"),
                ("csrfmiddlewaretoken", &token),
            ],
        );
        assert_eq!(r.status_code, 200);
        assert!(r
            .text()
            .contains("Please enter a correct username and password."));
        assert!(r.text().contains("value=\"alice\""));
        let r = s.client.post("/accounts/login/", &[("username", "alice")]);
        assert_eq!(r.status_code, 403, "no CSRF token");
    }

    #[test]
    fn notes_messages_and_logout() {
        let mut s = site();
        let r = s.client.get("/notes/");
        assert_eq!(r.get("Location"), Some("/accounts/login/?next=/notes/"));
        with_alice_password(&s);
        login(&mut s, "");
        let token = csrf_token(&mut s.client);
        let r = s.client.post(
            "/notes/",
            &[
                ("title", "First <b>"),
                ("body", "text"),
                ("csrfmiddlewaretoken", &token),
            ],
        );
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/")));
        let r = s
            .client
            .post("/notes/", &[("body", "x"), ("csrfmiddlewaretoken", &token)]);
        assert_eq!(
            (r.status_code, r.json().unwrap()),
            (400, json!({"error": "title is required"}))
        );
        let r = s.client.get("/notes/");
        assert_eq!(
            r.json().unwrap(),
            json!({"notes": [{"id": 1, "title": "First <b>", "body": "text"}]})
        );
        // The message waits for a page that shows it, then is gone.
        assert_eq!(s.client.get("/api/whoami/").status_code, 200);
        let home = s.client.get("/").text();
        assert!(
            home.contains("<li class=\"message\">Note saved.</li>"),
            "{home}"
        );
        assert!(home.contains("First &lt;b&gt;"), "{home}");
        assert!(home.contains("Hello, alice"));
        assert!(!s.client.get("/").text().contains("Note saved."));
        // The detail view, with the token in X-CSRFToken for DELETE.
        assert_eq!(
            s.client.get("/notes/1/").json().unwrap(),
            json!({"id": 1, "title": "First <b>", "body": "text"})
        );
        assert_eq!(s.client.delete("/notes/1/").status_code, 403);
        let r = s
            .client
            .request("DELETE", "/notes/1/")
            .header("X-CSRFToken", &token)
            .send();
        assert_eq!(r.status_code, 204);
        assert_eq!(s.client.get("/notes/1/").status_code, 404);
        // Logout is POST only.
        let r = s.client.get("/accounts/logout/");
        assert_eq!(
            (r.status_code, r.get("Allow")),
            (405, Some("POST, OPTIONS"))
        );
        let r = s
            .client
            .post("/accounts/logout/", &[("csrfmiddlewaretoken", &token)]);
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/")));
        assert!(s.client.get("/").text().contains("Hello, anonymous"));
    }

    #[test]
    fn a_password_change_ends_the_other_sessions() {
        let mut s = site();
        with_alice_password(&s);
        login(&mut s, "");
        assert_eq!(
            s.client.get("/api/whoami/").json().unwrap()["is_authenticated"],
            true
        );
        // Another hash: the session's auth hash no longer matches, the session is flushed.
        with_alice_password(&s);
        let r = s.client.get("/api/whoami/");
        assert_eq!(
            r.json().unwrap(),
            json!({"username": "", "is_authenticated": false})
        );
    }

    #[test]
    fn force_login_and_the_api_views() {
        let mut s = site();
        let db = database(&s);
        let root = handler_core::contrib::auth::backends::get_by_natural_key(
            &db.connection("default").unwrap(),
            "root",
        )
        .unwrap()
        .unwrap();
        db.close_all();
        assert!(root.is_staff);
        s.client.force_login(&root).unwrap();
        assert_eq!(
            s.client.get("/api/whoami/").json().unwrap()["username"],
            "root"
        );
        let r = s
            .client
            .request("POST", "/api/hook/")
            .data(Data::Raw {
                content_type: "text/plain".into(),
                body: b"12345".to_vec(),
            })
            .send();
        assert_eq!(r.json().unwrap(), json!({"received": 5}));
        assert_eq!(
            s.client.post_json("/api/ping/", &json!({})).status_code,
            403
        );
        let r = s
            .client
            .request("GET", "/big/")
            .header("Accept-Encoding", "gzip")
            .send();
        assert_eq!(r.get("Content-Encoding"), Some("gzip"));
        assert_eq!(r.get("X-Frame-Options"), Some("DENY"));
    }
}
