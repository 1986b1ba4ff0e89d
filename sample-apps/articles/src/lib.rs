//! The `articles` sample app: the seeds' Django examples (../shared/contracts/articles-app.md)
//! on handler-core, served through the gateway ABI.
//!
//! Module map, as a Django project would lay it out: `bodies` (the contract's JSON bodies),
//! `config` (the `[app]` settings table), `forms` (reading bodies and query numbers as the views
//! need them), `middleware` (the seeds' middleware), `models` (the `Article` model and its
//! migration, on `DATABASES`: SQLite by default, PostgreSQL with `DATABASE_URL`),
//! `python` and `pyjson` (the Python semantics the views rely on: `int()`, true division,
//! `repr`, `json.loads`, `str()`), `urls` (the URL conf), `views` (function and class-based
//! views). [`build`] is the project: it reads the settings, registers the middleware and the
//! migrations, checks them, then migrates the database.
//!
//! Run it: `portico --settings sample-apps/articles/settings.toml libarticles.so`.

use std::sync::Arc;

use handler_core::{App, ConfigError, Settings};

pub mod bodies;
pub mod config;
pub mod forms;
pub mod middleware;
pub mod models;
pub mod pyjson;
pub mod python;
pub mod urls;
pub mod views;

use config::AppSettings;
use models::Articles;

/// Builds the app from its settings: the `[app]` table, the URL conf, the seeds' middleware
/// under the names settings use, and the migration of the database.
///
/// The database is migrated in a serve hook (`App::on_serve`: not in `portico manage`, where
/// `migrate` does it), which handler-core runs only once the URL conf and
/// the middleware list have passed their checks (as Django runs its system checks before
/// `migrate`), so a failed start-up writes nothing.
pub fn build(settings: &Settings) -> Result<App, ConfigError> {
    let app_settings: AppSettings = settings.app_config()?;
    let file = settings
        .path()
        .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
    if app_settings.database.is_some() {
        return Err(ConfigError::new(format!(
            "{file}: [app] database: the database is Django's DATABASES now: write \
             `[databases.default]` with `name = \"articles.sqlite3\"` (SQLite, relative to the \
             settings file) instead, or set DATABASE_URL"
        )));
    }
    Ok(project(Arc::new(Articles))
        .migrations(models::migrations())
        .on_serve(move |settings, extensions| {
            let databases = settings.connections();
            let outcome = migrate(databases, extensions);
            // Nothing stays open in the thread that started the app.
            databases.close_all();
            outcome.map_err(|e| ConfigError::new(format!("{file}: [databases.default]: {e}")))?;
            log::info!(
                target: "articles",
                "articles database: {}",
                databases.settings().default_database().target()
            );
            Ok(())
        }))
}

/// Django's `migrate` on the default database, as the app starts; tried again when another
/// worker migrating the same database at once made the first try fail.
fn migrate(
    databases: &Arc<handler_core::db::Databases>,
    extensions: &handler_core::http::Extensions,
) -> Result<(), String> {
    use handler_core::db::migrations::{registry::installed, Target};
    let installed = installed(extensions);
    let mut attempt = 1;
    loop {
        let outcome = installed
            .migrate(
                databases,
                handler_core::db::DEFAULT_DB_ALIAS,
                &Target::All,
                &mut |_, _| {},
            )
            .map(drop)
            .map_err(|e| e.to_string());
        match outcome {
            Err(e) if attempt < 3 => {
                log::warn!(target: "articles", "migrate: {e}; trying again");
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// The project: the URL conf on `articles` and the seeds' middleware, registered by name.
fn project(articles: Arc<Articles>) -> App {
    App::new(urls::urlpatterns(articles))
        .middleware("request_timer", |_: &Settings| Ok(middleware::RequestTimer))
        .middleware("powered_by", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::PoweredBy {
                value: cfg.powered_by,
            })
        })
        .middleware("api_logging", |_: &Settings| Ok(middleware::ApiLogging))
        .middleware("api_key_check", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::ApiKeyCheck {
                api_key: cfg.api_key,
            })
        })
        .middleware("token_auth", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::TokenAuth { tokens: cfg.tokens })
        })
        .middleware("error_handler", |s: &Settings| {
            Ok(middleware::ErrorHandler { debug: s.debug })
        })
}

handler_core::export_app!(build);

#[cfg(test)]
mod tests {
    //! The whole app in-process: the shipped settings, `build`, and handler-core's cycle, without
    //! a server (the end-to-end tests in tests/tests/articles_*.rs drive the real binary).
    use super::*;
    use handler_core::handler::Handler;
    use handler_core::http::{HttpRequest, HttpResponse};
    use serde_json::{json, Value};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    const SHIPPED_SETTINGS: &str = include_str!("../settings.toml");

    struct Site {
        dir: PathBuf,
        handler: Handler,
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn site(edit: Option<(&str, &str)>) -> Site {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "articles-app-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let text = match edit {
            Some((from, to)) => SHIPPED_SETTINGS.replacen(from, to, 1),
            None => SHIPPED_SETTINGS.to_string(),
        };
        let path = dir.join("settings.toml");
        std::fs::write(&path, text).unwrap();
        let settings = Settings::load(&path).unwrap();
        let handler = build(&settings).unwrap().into_handler(settings).unwrap();
        Site { dir, handler }
    }

    impl Site {
        fn send(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &str)],
            body: &[u8],
        ) -> HttpResponse {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let mut request =
                HttpRequest::new(method, path, query, Arc::clone(self.handler.settings()))
                    .with_header("Host", "localhost")
                    .with_body(body.to_vec());
            for (name, value) in headers {
                request = request.with_header(name, value);
            }
            self.handler.get_response(&mut request)
        }

        fn get(&self, path: &str) -> HttpResponse {
            self.send("GET", path, &[], b"")
        }
    }

    fn body_json(r: &HttpResponse) -> Value {
        serde_json::from_slice(r.content()).unwrap()
    }

    const JSON: (&str, &str) = ("Content-Type", "application/json");
    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

    #[test]
    fn the_database_is_created_next_to_the_settings() {
        let s = site(None);
        assert!(s.dir.join("articles.sqlite3").exists());
    }

    #[test]
    fn article_crud_through_the_whole_cycle() {
        let s = site(None);
        let r = s.send(
            "POST",
            "/api/articles/",
            &[FORM],
            b"title=A+b&content=c%26d",
        );
        assert_eq!(r.status_code, 201);
        assert_eq!(
            r.content(),
            br#"{"message": "Article created successfully", "id": 1}"#
        );
        let r = s.send("PUT", "/api/articles/1/", &[JSON], br#"{"content": "new"}"#);
        assert_eq!(
            body_json(&r),
            json!({"id": 1, "title": "A b", "content": "new"})
        );
        let r = s.get("/api/articles/");
        assert_eq!(
            body_json(&r),
            json!({"articles": [{"id": 1, "title": "A b", "content": "new"}]})
        );
        assert_eq!(
            s.send("DELETE", "/api/articles/1/", &[], b"").status_code,
            204
        );
        let r = s.get("/api/articles/1/");
        assert_eq!(r.status_code, 404);
        assert_eq!(body_json(&r), json!({"error": "Article not found"}));
        let r = s.send("POST", "/api/articles/", &[JSON], b"{oops");
        assert_eq!(
            (r.status_code, body_json(&r)),
            (400, json!({"error": "Invalid JSON"}))
        );
        let r = s.send("POST", "/api/articles/", &[JSON], br#"{"title": "t"}"#);
        assert_eq!(r.status_code, 400);
    }

    #[test]
    fn every_response_is_timed_and_stamped() {
        let s = site(None);
        for path in [
            "/",
            "/nowhere/",
            "/api/boom/",
            "/api/protected/",
            "/api/articles",
        ] {
            let r = s.get(path);
            assert!(
                r.get("X-Duration-ms")
                    .is_some_and(|v| v.parse::<f64>().is_ok()),
                "{path}"
            );
            assert_eq!(r.get("X-Powered-By"), Some("handler-core"), "{path}");
        }
    }

    #[test]
    fn tokens_sign_users_in() {
        let s = site(None);
        let user = [("Authorization", "Token user-token")];
        let admin = [("Authorization", "Token admin-token")];
        assert_eq!(s.get("/api/admin/").status_code, 401);
        assert_eq!(s.send("GET", "/api/admin/", &user, b"").status_code, 403);
        assert_eq!(s.send("GET", "/api/admin/", &admin, b"").status_code, 200);
        assert_eq!(
            s.send("GET", "/api/protected/", &user, b"").status_code,
            200
        );
        let r = s.get("/dashboard/");
        assert_eq!(r.get("Location"), Some("/login/?next=/dashboard/"));
    }

    #[test]
    fn the_api_key_guards_private_paths_only() {
        let s = site(None);
        let r = s.get("/api/private/data/");
        assert_eq!(
            (r.status_code, r.content()),
            (401, &b"Invalid or missing API Key"[..])
        );
        let key = [("X-API-KEY", "EXPECTED_SECRET_KEY")];
        assert_eq!(
            s.send("GET", "/api/private/data/", &key, b"").status_code,
            200
        );
    }

    #[test]
    fn unhandled_errors_and_panics_become_the_json_500() {
        let s = site(None);
        for path in ["/api/boom/", "/api/panic/"] {
            let r = s.get(path);
            assert_eq!(r.status_code, 500);
            let body = body_json(&r);
            assert_eq!(body["status_code"], 500);
            assert_eq!(body["message"], "Internal Server Error");
            assert!(body["data"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn debug_shows_the_technical_page_instead() {
        let s = site(Some(("debug = false", "debug = true")));
        let r = s.get("/api/boom/");
        assert_eq!(r.status_code, 500);
        let page = String::from_utf8_lossy(r.content()).into_owned();
        assert!(
            page.contains("Something went boom") && page.contains("views::boom"),
            "{page}"
        );
    }

    #[test]
    fn divide_follows_python() {
        let s = site(None);
        let r = s.get("/api/divide/?a=7&b=2");
        assert_eq!(r.content(), br#"{"result": 3.5}"#);
        assert_eq!(
            s.get("/api/divide/?a=99999999999999999999&b=2").content(),
            br#"{"result": 5e+19}"#
        );
        assert_eq!(
            s.get("/api/divide/?a=6&b=3").content(),
            br#"{"result": 2.0}"#
        );
        assert_eq!(s.get("/api/divide/?a=1&b=0").status_code, 400);
        assert_eq!(s.get("/api/divide/?a=1").status_code, 500);
        assert_eq!(s.get("/api/divide/?a=x&b=1").status_code, 500);
    }

    #[test]
    fn users_validate_their_fields() {
        let s = site(None);
        let r = s.send("POST", "/api/users/", &[FORM], b"username=a&email=a%40b");
        assert_eq!(r.status_code, 201);
        let r = s.send(
            "POST",
            "/api/users/",
            &[JSON],
            br#"{"username": "a", "email": "ab"}"#,
        );
        assert_eq!(body_json(&r), json!({"error": "Invalid email format"}));
        let r = s.send("POST", "/api/users/", &[FORM], b"username=a");
        assert_eq!(
            body_json(&r),
            json!({"error": "Username and email are required"})
        );
        let r = s.get("/api/users/");
        assert_eq!(
            (r.status_code, r.content()),
            (400, &b"Only POST method allowed"[..])
        );
    }

    #[test]
    fn a_rejected_middleware_list_creates_no_database() {
        let dir = std::env::temp_dir().join(format!("articles-no-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.toml");
        std::fs::write(
            &path,
            SHIPPED_SETTINGS.replace("\"powered_by\",", "\"powered_by_typo\","),
        )
        .unwrap();
        let settings = Settings::load(&path).unwrap();
        // What the adapter does at start-up: build the app, then check and load it.
        let err = build(&settings)
            .and_then(|app| app.into_handler(settings.clone()))
            .err()
            .expect("an unknown middleware is an error");
        let created = dir.join("articles.sqlite3").exists();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.to_string().contains("powered_by_typo"), "{err}");
        assert!(
            !created,
            "nothing is written before the settings are accepted"
        );
    }

    #[test]
    fn post_fields_come_from_request_post() {
        let s = site(None);
        let multipart = b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nM\r\n\
            --B\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nP\r\n--B--\r\n";
        let r = s.send(
            "POST",
            "/api/articles/",
            &[("Content-Type", "multipart/form-data; boundary=B")],
            multipart,
        );
        assert_eq!(
            r.status_code,
            201,
            "{:?}",
            String::from_utf8_lossy(r.content())
        );
        let r = s.send(
            "POST",
            "/api/articles/",
            &[("Content-Type", "text/plain")],
            b"title=x&content=y",
        );
        assert_eq!(
            (r.status_code, body_json(&r)),
            (400, json!({"error": "Title and content are required"}))
        );
        assert_eq!(
            body_json(&s.get("/api/articles/")),
            json!({"articles": [{"id": 1, "title": "M", "content": "P"}]})
        );
    }

    #[test]
    fn ids_past_i64_are_the_views_404() {
        let s = site(None);
        let r = s.get("/api/articles/99999999999999999999/");
        assert_eq!(
            (r.status_code, body_json(&r)),
            (404, json!({"error": "Article not found"}))
        );
    }

    #[test]
    fn bad_app_settings_fail_the_build_with_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("articles-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.toml");
        std::fs::write(
            &path,
            SHIPPED_SETTINGS.replace(r#"api_key = "EXPECTED_SECRET_KEY""#, "api_key = 5"),
        )
        .unwrap();
        let settings = Settings::load(&path).unwrap();
        let err = build(&settings)
            .err()
            .expect("a wrong api_key type is an error");
        let _ = std::fs::remove_dir_all(&dir);
        let msg = err.to_string();
        assert!(
            msg.contains("settings.toml") && msg.contains("api_key"),
            "{msg}"
        );
        let line = SHIPPED_SETTINGS
            .lines()
            .position(|l| l.starts_with("api_key"))
            .unwrap()
            + 1;
        assert!(msg.contains(&format!(":{line}:")), "{msg}");
    }
}
