//! The app's own settings: the `[app]` table of settings.toml (the custom names a Django project
//! would add to settings.py), and where the database file lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The database file name when `[app] database` is not given.
pub const DEFAULT_DATABASE: &str = "articles.sqlite3";

/// The `X-Powered-By` value when `[app] powered_by` is not given.
pub const DEFAULT_POWERED_BY: &str = "handler-core";

/// The `[app]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// The `X-Powered-By` response header's value.
    #[serde(default = "default_powered_by")]
    pub powered_by: String,
    /// The key `/api/private/` requests must send in `X-API-KEY`. Required: a sample app that
    /// guessed a default secret would teach the wrong habit.
    pub api_key: String,
    /// The SQLite file, relative to the settings file's folder unless absolute.
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// `Authorization: Token <t>` tokens and the users they sign in.
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenUser>,
}

/// The user a token signs in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenUser {
    /// The user's name.
    pub username: String,
    /// Django's `is_staff`: may enter `/api/admin/`.
    #[serde(default)]
    pub staff: bool,
}

fn default_powered_by() -> String {
    DEFAULT_POWERED_BY.to_string()
}

fn default_database() -> PathBuf {
    PathBuf::from(DEFAULT_DATABASE)
}

impl AppSettings {
    /// The database file: `database` as given when absolute, otherwise inside `base_dir` (the
    /// settings file's folder, so the app finds the same file whatever the server's working
    /// directory).
    pub fn database_path(&self, base_dir: &Path) -> PathBuf {
        if self.database.is_absolute() {
            return self.database.clone();
        }
        base_dir.join(&self.database)
    }

    /// The user signed in by `token`, if any.
    pub fn user_for_token(&self, token: &str) -> Option<&TokenUser> {
        self.tokens.get(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<AppSettings, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn reads_the_contract_table() {
        let s = parse(json!({
            "powered_by": "handler-core",
            "api_key": "EXPECTED_SECRET_KEY",
            "database": "articles.sqlite3",
            "tokens": {
                "user-token": {"username": "alice", "staff": false},
                "admin-token": {"username": "root", "staff": true},
            }
        }))
        .unwrap();
        assert_eq!(s.api_key, "EXPECTED_SECRET_KEY");
        assert_eq!(s.user_for_token("user-token").unwrap().username, "alice");
        assert!(s.user_for_token("admin-token").unwrap().staff);
        assert!(s.user_for_token("nobody").is_none());
    }

    #[test]
    fn optional_fields_have_defaults() {
        let s = parse(json!({"api_key": "k"})).unwrap();
        assert_eq!(s.powered_by, DEFAULT_POWERED_BY);
        assert_eq!(s.database, PathBuf::from(DEFAULT_DATABASE));
        assert!(s.tokens.is_empty());
        let s = parse(json!({"api_key": "k", "tokens": {"t": {"username": "u"}}})).unwrap();
        assert!(!s.tokens["t"].staff);
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(parse(json!({})).is_err(), "api_key is required");
        assert!(parse(json!({"api_key": 5})).is_err());
        assert!(parse(json!({"api_key": "k", "api_kye": "typo"})).is_err());
        assert!(parse(json!({"api_key": "k", "tokens": {"t": {"staff": true}}})).is_err());
    }

    #[test]
    fn the_database_is_relative_to_the_settings_folder() {
        let s = parse(json!({"api_key": "k"})).unwrap();
        assert_eq!(
            s.database_path(Path::new("/srv/site")),
            PathBuf::from("/srv/site/articles.sqlite3")
        );
        let abs = parse(json!({"api_key": "k", "database": "/var/db/a.sqlite3"})).unwrap();
        assert_eq!(
            abs.database_path(Path::new("/srv")),
            PathBuf::from("/var/db/a.sqlite3")
        );
    }
}
