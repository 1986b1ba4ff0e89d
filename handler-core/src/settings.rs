//! The app's settings (Django's `settings.py`), read from a TOML file: the fields handler-core
//! knows, and the `[app]` table handed to the app. Errors name the file, the line and the
//! problem.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` default: 2.5 MiB.
pub const DEFAULT_DATA_UPLOAD_MAX_MEMORY_SIZE: u64 = 2_621_440;

/// Django's `DATA_UPLOAD_MAX_NUMBER_FIELDS` default.
pub const DEFAULT_DATA_UPLOAD_MAX_NUMBER_FIELDS: usize = 1000;

/// Start-up failed: bad settings, an unknown middleware, a bad URL pattern, or the app's own
/// configuration. The message names what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl From<crate::urls::ImproperlyConfigured> for ConfigError {
    fn from(e: crate::urls::ImproperlyConfigured) -> Self {
        ConfigError::new(format!("ImproperlyConfigured: {e}"))
    }
}

#[derive(Deserialize)]
#[serde(default)]
struct RawSettings {
    debug: bool,
    allowed_hosts: Vec<String>,
    append_slash: bool,
    middleware: Vec<String>,
    default_charset: String,
    login_url: String,
    data_upload_max_memory_size: u64,
    data_upload_max_number_fields: usize,
    app: toml::Table,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            debug: false,
            allowed_hosts: Vec::new(),
            append_slash: true,
            middleware: Vec::new(),
            default_charset: "utf-8".to_string(),
            login_url: "/accounts/login/".to_string(),
            data_upload_max_memory_size: DEFAULT_DATA_UPLOAD_MAX_MEMORY_SIZE,
            data_upload_max_number_fields: DEFAULT_DATA_UPLOAD_MAX_NUMBER_FIELDS,
            app: toml::Table::new(),
        }
    }
}

/// The settings (Django's names, lower-case): `debug`, `allowed_hosts`, `append_slash`,
/// `middleware`, `default_charset`, `login_url`, the upload limits and `[app]`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DEBUG`: technical error pages.
    pub debug: bool,
    /// `ALLOWED_HOSTS`: what `get_host` accepts.
    pub allowed_hosts: Vec<String>,
    /// `APPEND_SLASH`: the `common` middleware's redirect.
    pub append_slash: bool,
    /// `MIDDLEWARE`: middleware names, outermost first.
    pub middleware: Vec<String>,
    /// `DEFAULT_CHARSET`.
    pub default_charset: String,
    /// `LOGIN_URL`: where `login_required` sends anonymous users (a path or a route name).
    pub login_url: String,
    /// `DATA_UPLOAD_MAX_MEMORY_SIZE`: a larger non-multipart body is refused with 400.
    pub data_upload_max_memory_size: u64,
    /// `DATA_UPLOAD_MAX_NUMBER_FIELDS`: a form with more fields is refused with 400.
    pub data_upload_max_number_fields: usize,
    /// The `[app]` table, for the app.
    pub app: toml::Table,
    path: Option<PathBuf>,
    source: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_raw(RawSettings::default(), None, String::new())
    }
}

impl Settings {
    fn from_raw(raw: RawSettings, path: Option<PathBuf>, source: String) -> Self {
        Settings {
            debug: raw.debug,
            allowed_hosts: raw.allowed_hosts,
            append_slash: raw.append_slash,
            middleware: raw.middleware,
            default_charset: raw.default_charset,
            login_url: raw.login_url,
            data_upload_max_memory_size: raw.data_upload_max_memory_size,
            data_upload_max_number_fields: raw.data_upload_max_number_fields,
            app: raw.app,
            path,
            source,
        }
    }

    /// Reads `path`. A missing file, a syntax error or a wrong type is an error naming the
    /// file and the line.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(format!(
                "{}: cannot read settings file: {e}",
                path.display()
            ))
        })?;
        Settings::parse(&source, Some(path))
    }

    /// Parses settings from `source`; `path` names the file in errors.
    pub fn parse(source: &str, path: Option<&Path>) -> Result<Settings, ConfigError> {
        let raw: RawSettings = toml::from_str(source).map_err(|e| toml_error(&e, source, path))?;
        let file = path.map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        for (key, line) in unknown_keys(source) {
            // Django ignores settings it does not know; a warning still catches a typo.
            log::warn!("{file}:{line}: unknown setting `{key}` is ignored");
        }
        Ok(Settings::from_raw(
            raw,
            path.map(Path::to_path_buf),
            source.to_string(),
        ))
    }

    /// Settings with defaults, for an app run without a settings file.
    pub fn defaults() -> Settings {
        Settings::default()
    }

    /// The settings file, if there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The directory of the settings file (Django's `BASE_DIR` habit): where an app resolves
    /// relative paths from its `[app]` table. The current directory without a file.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The `[app]` table deserialised into the app's own type; errors name the file and line.
    pub fn app_config<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        #[derive(Deserialize)]
        struct Wrapper<T> {
            app: T,
        }
        if self.source.is_empty() || !self.source_has_app_table() {
            return T::deserialize(toml::Value::Table(self.app.clone())).map_err(|e| {
                ConfigError::new(format!("{}: [app]: {}", self.file_name(), e.message()))
            });
        }
        toml::from_str::<Wrapper<T>>(&self.source)
            .map(|w| w.app)
            .map_err(|e| toml_error(&e, &self.source, self.path.as_deref()))
    }

    fn source_has_app_table(&self) -> bool {
        matches!(toml::from_str::<toml::Table>(&self.source), Ok(t) if t.contains_key("app"))
    }

    fn file_name(&self) -> String {
        match &self.path {
            Some(p) => p.display().to_string(),
            None => "<settings>".to_string(),
        }
    }

    /// An error about the value `needle` in the settings file, naming its line (used for an
    /// unknown middleware name).
    pub fn error_at_value(&self, needle: &str, problem: &str) -> ConfigError {
        let quoted = [format!("\"{needle}\""), format!("'{needle}'")];
        let line = self
            .source
            .lines()
            .position(|l| quoted.iter().any(|q| l.contains(q.as_str())))
            .or_else(|| {
                self.source
                    .lines()
                    .position(|l| l.trim_start().starts_with("middleware"))
            });
        match line {
            Some(i) => ConfigError::new(format!("{}:{}: {problem}", self.file_name(), i + 1)),
            None => ConfigError::new(format!("{}: {problem}", self.file_name())),
        }
    }
}

/// The settings handler-core reads; anything else at the top level is unknown.
const KNOWN_KEYS: [&str; 9] = [
    "debug",
    "allowed_hosts",
    "append_slash",
    "middleware",
    "default_charset",
    "login_url",
    "data_upload_max_memory_size",
    "data_upload_max_number_fields",
    "app",
];

/// Top-level keys handler-core does not know, with the line each is on.
fn unknown_keys(source: &str) -> Vec<(String, usize)> {
    let Ok(doc) = source.parse::<toml::Table>() else {
        return Vec::new();
    };
    doc.keys()
        .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
        .map(|k| {
            let line = source
                .lines()
                .position(|l| {
                    let t = l.trim_start().trim_start_matches('[');
                    t.starts_with(k.as_str()) || t.starts_with(&format!("\"{k}\""))
                })
                .map_or(0, |i| i + 1);
            (k.clone(), line)
        })
        .collect()
}

fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn toml_error(e: &toml::de::Error, source: &str, path: Option<&Path>) -> ConfigError {
    let file = path.map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let line = line_of(source, span.start);
            let text = source.lines().nth(line - 1).unwrap_or("").trim();
            ConfigError::new(format!("{file}:{line}: {message} (at `{text}`)"))
        }
        None => ConfigError::new(format!("{file}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_django() {
        let s = Settings::default();
        assert!(!s.debug && s.append_slash && s.allowed_hosts.is_empty());
        assert_eq!(s.login_url, "/accounts/login/");
        assert_eq!(s.default_charset, "utf-8");
    }

    #[test]
    fn parses_known_fields_and_app_table() {
        let src = "debug = true\nallowed_hosts = [\"localhost\"]\nmiddleware = [\"common\"]\n[app]\napi_key = \"k\"\n";
        let s = Settings::parse(src, Some(Path::new("/etc/x/settings.toml"))).unwrap();
        assert!(s.debug);
        assert_eq!(s.middleware, ["common"]);
        assert_eq!(s.app.get("api_key").and_then(|v| v.as_str()), Some("k"));
        assert_eq!(s.base_dir(), PathBuf::from("/etc/x"));
        #[derive(Deserialize)]
        struct AppCfg {
            api_key: String,
        }
        assert_eq!(s.app_config::<AppCfg>().unwrap().api_key, "k");
    }

    #[test]
    fn wrong_type_names_file_and_line() {
        let src = "allowed_hosts = []\n\ndebug = \"yes\"\n";
        let e = Settings::parse(src, Some(Path::new("s.toml"))).unwrap_err();
        assert!(e.message().starts_with("s.toml:3: "), "{e}");
        assert!(e.message().contains("debug"), "{e}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let src = "debug = false\nmiddleware = [\"common\"\n";
        let e = Settings::parse(src, Some(Path::new("s.toml"))).unwrap_err();
        assert!(e.message().starts_with("s.toml:"), "{e}");
        let line: usize = e.message()["s.toml:".len()..]
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(line >= 2, "{e}");
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let e = Settings::load(Path::new("/nonexistent/portico.toml")).unwrap_err();
        assert!(e.message().contains("/nonexistent/portico.toml"), "{e}");
    }

    #[test]
    fn unknown_keys_are_found_with_their_lines() {
        let src = "debug = true\ndebgu = false\n[app]\nx = 1\n[extra]\n";
        assert_eq!(
            unknown_keys(src),
            [("debgu".to_string(), 2), ("extra".to_string(), 5)]
        );
        assert!(Settings::parse(src, None).is_ok(), "unknown keys only warn");
    }

    #[test]
    fn error_at_value_finds_the_line() {
        let src = "middleware = [\n  \"common\",\n  \"nope\",\n]\n";
        let s = Settings::parse(src, Some(Path::new("s.toml"))).unwrap();
        let e = s.error_at_value("nope", "unknown middleware \"nope\"");
        assert_eq!(e.message(), "s.toml:3: unknown middleware \"nope\"");
    }

    #[test]
    fn app_config_type_errors_name_the_line() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct AppCfg {
            port: u16,
        }
        let src = "debug = false\n[app]\nport = \"x\"\n";
        let s = Settings::parse(src, Some(Path::new("s.toml"))).unwrap();
        let e = s.app_config::<AppCfg>().unwrap_err();
        assert!(e.message().starts_with("s.toml:3: "), "{e}");
    }
}
