//! The app's own settings: the `[app]` table of settings.toml (the users created at start-up).
//! The database is Django's `DATABASES` (`[databases.default]`, or `DATABASE_URL`), read by
//! handler-core and shared with contrib's sessions and users.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The `[app]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// The key of the app's own SQLite file before `DATABASES` existed. It is refused with a
    /// message saying where the database is named now: handler-core opens the database
    /// (before the app is built) for contrib's sessions and users as well as the notes.
    #[serde(default)]
    pub database: Option<toml::Value>,
    /// Users created at start-up when missing, by username.
    #[serde(default)]
    pub users: BTreeMap<String, UserSeed>,
}

/// A user the settings ask for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSeed {
    /// The password hash, in Django's format (`pbkdf2_sha256$iterations$salt$hash`).
    pub password: String,
    /// Django's `is_staff`.
    #[serde(default)]
    pub staff: bool,
}

/// The start-up error for `[app] database`.
pub fn moved_database_key(file: &str, value: &toml::Value) -> String {
    let name = value
        .as_str()
        .map_or_else(|| value.to_string(), |s| format!("{s:?}"));
    format!(
        "{file}: [app] database: the database is Django's DATABASES now, shared with the \
         sessions and users: write `[databases.default]` with `name = {name}` (SQLite, relative \
         to the settings file) instead, or set DATABASE_URL"
    )
}
