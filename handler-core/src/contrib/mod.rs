//! Django's `django.contrib` apps that the default middleware stack needs: [`auth`],
//! [`sessions`] and [`messages`]. They plug into the core through its seams, as Django's do:
//! per-request state in [`HttpRequest::extensions`](crate::http::HttpRequest::extensions)
//! behind extension traits ([`auth::RequestUserExt`], [`sessions::RequestSessionExt`]), stores
//! in the app's typed registry ([`App::extension`](crate::App::extension)), and middleware by
//! name in the [`MiddlewareRegistry`]. The core (`http`, `urls`, `handler`, `settings`,
//! `exception`) never names them.

pub mod auth;
pub mod contenttypes;
pub mod management;
pub mod messages;
pub mod sessions;
pub mod staticfiles;

use crate::http::Extensions;
use crate::middleware::MiddlewareRegistry;
use crate::settings::{ConfigError, Settings};

/// Registers the contrib middleware under their short names: `sessions` (on the engine
/// [`configure`] built; the signed-cookie engine also works on its own, the database engine
/// needs [`App::session_database`](sessions::AppSessionExt::session_database)), `auth` (needs
/// [`App::user_store`](auth::AppAuthExt::user_store)) and `messages`.
pub(crate) fn register_middleware(registry: &mut MiddlewareRegistry) {
    registry.register_with_extensions(
        "sessions",
        sessions::middleware::SessionMiddleware::from_extensions,
    );
    registry.register("messages", messages::middleware::MessageMiddleware::new);
    registry.register_with_extensions(
        "auth",
        auth::middleware::AuthenticationMiddleware::from_extensions,
    );
}

/// contrib's start-up work on the app's typed registry, before the middleware is loaded:
/// the session engine the settings name, built once for the middleware and the test client.
pub(crate) fn configure(
    settings: &Settings,
    extensions: &mut Extensions,
) -> Result<(), ConfigError> {
    install(settings, extensions);
    // Without the app's own users, Django's ModelBackend on auth_user.
    if uses(settings, "auth")
        && extensions
            .get::<std::sync::Arc<dyn auth::UserStore>>()
            .is_none()
    {
        let backend = auth::backends::ModelBackend::new(
            std::sync::Arc::clone(settings.connections()),
            crate::db::DEFAULT_DB_ALIAS,
        );
        extensions.insert(std::sync::Arc::new(backend) as std::sync::Arc<dyn auth::UserStore>);
    }
    sessions::configure(settings, extensions)
}

/// Whether the settings' middleware names `short` (`sessions`, `auth`).
fn uses(settings: &Settings, short: &str) -> bool {
    settings
        .middleware
        .iter()
        .any(|m| crate::middleware::short_name(m) == short)
}

/// The contrib apps the settings install, by app label, in `INSTALLED_APPS` order: `auth`
/// and `contenttypes` when the `auth` middleware is used, `sessions` when the `sessions`
/// middleware is (Portico's settings have no `INSTALLED_APPS`: a contrib app is installed by
/// its middleware). Their migrations, models and management commands exist only then.
pub(crate) fn installed_apps(settings: &Settings) -> Vec<&'static str> {
    let mut apps = Vec::new();
    if uses(settings, "auth") {
        apps.extend(["auth", "contenttypes"]);
    }
    if uses(settings, "sessions") {
        apps.push("sessions");
    }
    apps
}

/// contrib's apps in `INSTALLED_APPS` terms: `auth` (with `contenttypes`) when the `auth`
/// middleware is used, `sessions` when the `sessions` middleware is. Their migrations go
/// before the app's, their models into the registry, and auth's `post_migrate` receiver
/// (content types and permissions) is connected.
fn install(settings: &Settings, extensions: &mut Extensions) {
    use crate::db::migrations::{registry::installed_mut, ModelRef};
    let apps = installed_apps(settings);
    let (auth, sessions) = (apps.contains(&"auth"), apps.contains(&"sessions"));
    if !auth && !sessions {
        return;
    }
    let installed = installed_mut(extensions);
    if sessions && !installed.has_app("sessions") {
        installed.prepend(sessions::migrations::migrations());
    }
    if auth && !installed.has_app("auth") {
        let mut contrib = contenttypes::migrations::migrations();
        contrib.extend(auth::migrations::migrations());
        installed.prepend(contrib);
        // The models in Django's declaration order, the order it gives them ids in.
        let mut models = vec![
            ModelRef::new("auth", "Permission"),
            ModelRef::new("auth", "Group"),
            ModelRef::new("auth", "User"),
            ModelRef::new("contenttypes", "ContentType"),
        ];
        if sessions {
            models.push(ModelRef::new("sessions", "Session"));
        }
        for m in models {
            installed.add_model(m);
        }
        installed.connect_post_migrate(std::sync::Arc::new(auth::management::post_migrate));
    }
}

/// Django's line in `sqlmigrate`'s output where a `RunPython` step stands.
const PYTHON_STEP: &str = "-- THIS OPERATION CANNOT BE WRITTEN AS SQL";

/// One of contrib's migrations as Django 5.2 wrote it (`sqlmigrate`, forwards and
/// `--backwards`, per backend: the files under `contrib/APP/migrations/`, captured by
/// `handler-core/tests/django_ddl/capture.py`).
pub(crate) struct Captured {
    pub sqlite: &'static str,
    pub sqlite_reverse: &'static str,
    pub postgresql: &'static str,
    pub postgresql_reverse: &'static str,
}

/// The files of migration `$name` of the app whose `migrations/` holds the calling module.
macro_rules! captured {
    ($name:literal) => {
        $crate::contrib::Captured {
            sqlite: include_str!(concat!("sqlite/", $name, ".sql")),
            sqlite_reverse: include_str!(concat!("sqlite/", $name, ".reverse.sql")),
            postgresql: include_str!(concat!("postgresql/", $name, ".sql")),
            postgresql_reverse: include_str!(concat!("postgresql/", $name, ".reverse.sql")),
        }
    };
}
pub(crate) use captured;

impl Captured {
    /// The migration's operations: the forward file as one `RunSql` (contrib's forward
    /// `RunPython` steps change no row on its own models: `contenttypes 0002` runs
    /// `RunPython.noop`, `auth 0011` moves proxy models' permissions and contrib has none),
    /// undone by the reverse file. Where the reverse file has a Python step, the SQL before and
    /// after it are two operations and `python_reverse` (per backend) runs between them.
    pub fn operations(
        &self,
        python_reverse: Option<(&str, &str)>,
    ) -> Vec<crate::db::migrations::Operation> {
        use crate::db::migrations::RunSql;
        let split = |text: &'static str| match text.split_once(PYTHON_STEP) {
            Some((before, after)) => (before, after),
            None => (text, ""),
        };
        let (sqlite_before, sqlite_after) = split(self.sqlite_reverse);
        let (pg_before, pg_after) = split(self.postgresql_reverse);
        let has_python = self.sqlite_reverse.contains(PYTHON_STEP)
            || self.postgresql_reverse.contains(PYTHON_STEP);
        if !has_python {
            return vec![RunSql::per_vendor(self.sqlite, self.postgresql)
                .reverse_per_vendor(self.sqlite_reverse, self.postgresql_reverse)
                .into()];
        }
        // Undoing runs the operations last first: the SQL after the step, the step, the SQL
        // before it, in the file's order.
        let (python_sqlite, python_pg) = python_reverse.unwrap_or(("", ""));
        vec![
            RunSql::per_vendor(self.sqlite, self.postgresql)
                .reverse_per_vendor(sqlite_after, pg_after)
                .into(),
            RunSql::per_vendor("", "")
                .reverse_per_vendor(python_sqlite, python_pg)
                .into(),
            RunSql::per_vendor("", "")
                .reverse_per_vendor(sqlite_before, pg_before)
                .into(),
        ]
    }
}

#[cfg(test)]
mod tests;
