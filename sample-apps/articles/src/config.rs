//! The app's own settings: the `[app]` table of settings.toml (the custom names a Django project
//! would add to settings.py). The database is Django's `DATABASES` (`[databases.default]`, or
//! `DATABASE_URL`), read by handler-core.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The `X-Powered-By` value when `[app] powered_by` is not given.
pub const DEFAULT_POWERED_BY: &str = "handler-core";

/// The `[app]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    /// The `X-Powered-By` response header's value.
    #[serde(default = "default_powered_by")]
    pub powered_by: String,
    /// The key `/api/private/` requests must send in `X-API-KEY`. Required: a sample app that
    /// guessed a default secret would teach the wrong habit.
    pub api_key: String,
    /// The key of the app's own SQLite file before `DATABASES`: refused at start-up with a
    /// message saying where the database is named now.
    #[serde(default)]
    pub database: Option<toml::Value>,
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

impl AppSettings {
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
        assert_eq!(s.database, None);
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
}
