//! The app's own settings: the `[app]` table of settings.toml (where the database lives, and
//! the users created at start-up).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The database file name when `[app] database` is not given.
pub const DEFAULT_DATABASE: &str = "notes.sqlite3";

/// The `[app]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// The SQLite file (sessions, users, notes), relative to the settings file's folder unless
    /// absolute.
    #[serde(default = "default_database")]
    pub database: PathBuf,
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

fn default_database() -> PathBuf {
    PathBuf::from(DEFAULT_DATABASE)
}

impl AppSettings {
    /// The database file: `database` as given when absolute, else inside `base_dir`.
    pub fn database_path(&self, base_dir: &Path) -> PathBuf {
        if self.database.is_absolute() {
            self.database.clone()
        } else {
            base_dir.join(&self.database)
        }
    }
}
