//! The app's settings (Django's `settings.py`), read from a TOML file: the fields handler-core
//! knows, and the `[app]` table handed to the app. Errors name the file, the line and the
//! problem.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use toml::Spanned;

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
    /// Spanned, so an unknown name is reported at the line of its own array element.
    middleware: Option<Spanned<Vec<Spanned<String>>>>,
    default_charset: String,
    login_url: String,
    login_redirect_url: String,
    logout_redirect_url: Option<String>,
    data_upload_max_memory_size: u64,
    data_upload_max_number_fields: usize,
    use_x_forwarded_host: bool,
    use_x_forwarded_port: bool,
    secure_proxy_ssl_header: Option<(String, String)>,
    secret_key: String,
    secret_key_fallbacks: Vec<String>,
    caches: BTreeMap<String, crate::cache::CacheConfig>,
    app: toml::Table,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            debug: false,
            allowed_hosts: Vec::new(),
            append_slash: true,
            middleware: None,
            default_charset: "utf-8".to_string(),
            login_url: "/accounts/login/".to_string(),
            login_redirect_url: "/accounts/profile/".to_string(),
            logout_redirect_url: None,
            data_upload_max_memory_size: DEFAULT_DATA_UPLOAD_MAX_MEMORY_SIZE,
            data_upload_max_number_fields: DEFAULT_DATA_UPLOAD_MAX_NUMBER_FIELDS,
            use_x_forwarded_host: false,
            use_x_forwarded_port: false,
            secure_proxy_ssl_header: None,
            secret_key: String::new(),
            secret_key_fallbacks: Vec::new(),
            caches: BTreeMap::new(),
            app: toml::Table::new(),
        }
    }
}

/// The settings of Django's default middleware stack and its contrib apps (sessions, CSRF,
/// auth redirects, messages, clickjacking, templates), with Django's names (lower-case) and
/// defaults. Read from the top level of the settings file like the others; a samesite value of
/// `""` leaves the attribute out (Django's `None`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StackSettings {
    /// `X_FRAME_OPTIONS`: `DENY` or `SAMEORIGIN`.
    pub x_frame_options: String,
    /// `CSRF_COOKIE_NAME`.
    pub csrf_cookie_name: String,
    /// `CSRF_COOKIE_AGE` in seconds (52 weeks).
    pub csrf_cookie_age: i64,
    /// `CSRF_COOKIE_DOMAIN`.
    pub csrf_cookie_domain: Option<String>,
    /// `CSRF_COOKIE_PATH`.
    pub csrf_cookie_path: String,
    /// `CSRF_COOKIE_SECURE`.
    pub csrf_cookie_secure: bool,
    /// `CSRF_COOKIE_HTTPONLY`.
    pub csrf_cookie_httponly: bool,
    /// `CSRF_COOKIE_SAMESITE`.
    pub csrf_cookie_samesite: String,
    /// `CSRF_HEADER_NAME`, as a `META` key (`HTTP_X_CSRFTOKEN` is the `X-CSRFToken` header).
    pub csrf_header_name: String,
    /// `CSRF_TRUSTED_ORIGINS`: `scheme://host[:port]`, a host may start with `*.`.
    pub csrf_trusted_origins: Vec<String>,
    /// `CSRF_USE_SESSIONS`: keep the CSRF secret in the session instead of a cookie.
    pub csrf_use_sessions: bool,
    /// `SESSION_ENGINE`: `db` (`django.contrib.sessions.backends.db`, the app's database),
    /// `signed_cookies`, `cache` or `cached_db` (Django's dotted names work too).
    pub session_engine: String,
    /// `SESSION_COOKIE_NAME`.
    pub session_cookie_name: String,
    /// `SESSION_COOKIE_AGE` in seconds (2 weeks).
    pub session_cookie_age: i64,
    /// `SESSION_COOKIE_DOMAIN`.
    pub session_cookie_domain: Option<String>,
    /// `SESSION_COOKIE_SECURE`.
    pub session_cookie_secure: bool,
    /// `SESSION_COOKIE_HTTPONLY`.
    pub session_cookie_httponly: bool,
    /// `SESSION_COOKIE_PATH`.
    pub session_cookie_path: String,
    /// `SESSION_COOKIE_SAMESITE`.
    pub session_cookie_samesite: String,
    /// `SESSION_SAVE_EVERY_REQUEST`.
    pub session_save_every_request: bool,
    /// `SESSION_EXPIRE_AT_BROWSER_CLOSE`.
    pub session_expire_at_browser_close: bool,
    /// `SESSION_CACHE_ALIAS`: the cache the `cache` and `cached_db` engines use.
    pub session_cache_alias: String,
    /// `CACHE_MIDDLEWARE_ALIAS`: the cache of `UpdateCacheMiddleware` / `FetchFromCacheMiddleware`.
    pub cache_middleware_alias: String,
    /// `CACHE_MIDDLEWARE_KEY_PREFIX`.
    pub cache_middleware_key_prefix: String,
    /// `CACHE_MIDDLEWARE_SECONDS`: how long the cache middleware keeps a page by default.
    pub cache_middleware_seconds: i64,
    /// `LOGIN_REDIRECT_URL`: where `login` goes without a safe `next` (a path or route name).
    pub login_redirect_url: String,
    /// `LOGOUT_REDIRECT_URL`: where `logout` goes (a path or route name); none renders the
    /// logged-out page.
    pub logout_redirect_url: Option<String>,
    /// `MESSAGE_STORAGE`: `fallback`, `cookie` or `session`, or Django's dotted class names.
    pub message_storage: String,
    /// `MESSAGE_LEVEL`: messages below it are dropped (`INFO`, 20).
    pub message_level: i32,
    /// `TEMPLATES`: where `render` finds templates.
    pub templates: TemplateSettings,
}

/// `TEMPLATES` (one Jinja2-syntax engine): `[templates] dirs = ["templates"]`, relative to the
/// settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateSettings {
    /// `DIRS`: the directories searched, in order.
    pub dirs: Vec<String>,
}

impl Default for StackSettings {
    fn default() -> Self {
        StackSettings {
            x_frame_options: "DENY".to_string(),
            csrf_cookie_name: "csrftoken".to_string(),
            csrf_cookie_age: 60 * 60 * 24 * 7 * 52,
            csrf_cookie_domain: None,
            csrf_cookie_path: "/".to_string(),
            csrf_cookie_secure: false,
            csrf_cookie_httponly: false,
            csrf_cookie_samesite: "Lax".to_string(),
            csrf_header_name: "HTTP_X_CSRFTOKEN".to_string(),
            csrf_trusted_origins: Vec::new(),
            csrf_use_sessions: false,
            session_engine: "django.contrib.sessions.backends.db".to_string(),
            session_cookie_name: "sessionid".to_string(),
            session_cookie_age: 60 * 60 * 24 * 7 * 2,
            session_cookie_domain: None,
            session_cookie_secure: false,
            session_cookie_httponly: true,
            session_cookie_path: "/".to_string(),
            session_cookie_samesite: "Lax".to_string(),
            session_save_every_request: false,
            session_expire_at_browser_close: false,
            session_cache_alias: "default".to_string(),
            cache_middleware_alias: "default".to_string(),
            cache_middleware_key_prefix: String::new(),
            cache_middleware_seconds: 600,
            login_redirect_url: "/accounts/profile/".to_string(),
            logout_redirect_url: None,
            message_storage: "django.contrib.messages.storage.fallback.FallbackStorage".to_string(),
            message_level: 20,
            templates: TemplateSettings::default(),
        }
    }
}

impl StackSettings {
    /// The top-level keys these settings read.
    const KEYS: [&'static str; 30] = [
        "x_frame_options",
        "csrf_cookie_name",
        "csrf_cookie_age",
        "csrf_cookie_domain",
        "csrf_cookie_path",
        "csrf_cookie_secure",
        "csrf_cookie_httponly",
        "csrf_cookie_samesite",
        "csrf_header_name",
        "csrf_trusted_origins",
        "csrf_use_sessions",
        "session_engine",
        "session_cookie_name",
        "session_cookie_age",
        "session_cookie_domain",
        "session_cookie_secure",
        "session_cookie_httponly",
        "session_cookie_path",
        "session_cookie_samesite",
        "session_save_every_request",
        "session_expire_at_browser_close",
        "session_cache_alias",
        "cache_middleware_alias",
        "cache_middleware_key_prefix",
        "cache_middleware_seconds",
        "login_redirect_url",
        "logout_redirect_url",
        "message_storage",
        "message_level",
        "templates",
    ];
}

/// The settings (Django's names, lower-case): `debug`, `allowed_hosts`, `append_slash`,
/// `middleware`, `default_charset`, `login_url`, the upload limits, `secret_key`,
/// `secret_key_fallbacks` and `[app]`.
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
    /// `LOGIN_REDIRECT_URL`: where a login goes when `next` is missing or unsafe (a path or a
    /// route name).
    pub login_redirect_url: String,
    /// `LOGOUT_REDIRECT_URL`: where a logout goes when `next` is missing or unsafe; `None`
    /// (Django's default) renders the logged-out page instead.
    pub logout_redirect_url: Option<String>,
    /// `DATA_UPLOAD_MAX_MEMORY_SIZE`: a larger non-multipart body is refused with 400.
    pub data_upload_max_memory_size: u64,
    /// `DATA_UPLOAD_MAX_NUMBER_FIELDS`: a form with more fields is refused with 400.
    pub data_upload_max_number_fields: usize,
    /// `USE_X_FORWARDED_HOST` (default false): `get_host` prefers `X-Forwarded-Host` to
    /// `Host`. Only behind a proxy that sets the header itself: a client's own value would
    /// otherwise choose the host (Host-header poisoning).
    pub use_x_forwarded_host: bool,
    /// `USE_X_FORWARDED_PORT` (default false): `get_port` prefers `X-Forwarded-Port` to
    /// `SERVER_PORT`.
    pub use_x_forwarded_port: bool,
    /// `SECURE_PROXY_SSL_HEADER`: a `META` name and the value that means HTTPS
    /// (`["HTTP_X_FORWARDED_PROTO", "https"]` in TOML); when the request carries that header,
    /// its first comma-separated value decides `scheme` / `is_secure`.
    pub secure_proxy_ssl_header: Option<(String, String)>,
    /// `SECRET_KEY`: what [`signing`](crate::signing) and everything signed is keyed with.
    /// Empty by default, as in Django, and an error only when something needs it
    /// ([`SecretKeys::from_settings`](crate::signing::SecretKeys::from_settings)).
    pub secret_key: String,
    /// `SECRET_KEY_FALLBACKS`: older keys a signature is still checked against (never signed
    /// with), so a key can be rotated without logging everyone out.
    pub secret_key_fallbacks: Vec<String>,
    /// The default stack's settings (sessions, CSRF, messages, ...), also reachable directly
    /// as `settings.csrf_cookie_name` and so on.
    pub stack: StackSettings,
    /// `CACHES`: `[caches.<alias>]` tables ([`crate::cache::CacheConfig`]); empty means
    /// Django's default, a locmem `default`.
    pub caches: BTreeMap<String, crate::cache::CacheConfig>,
    /// `DATABASES`: the `[databases.<alias>]` tables and `DATABASE_URL`
    /// ([`db::settings`](crate::db::settings)).
    pub databases: crate::db::DatabasesSettings,
    /// The `[app]` table, for the app.
    pub app: toml::Table,
    path: Option<PathBuf>,
    source: String,
    /// The template engine, built from `templates` on first use.
    template_engine: Arc<OnceLock<Result<crate::template::Engine, ConfigError>>>,
    /// The connection handler for `databases`, made on first use.
    connections: Arc<OnceLock<Arc<crate::db::Databases>>>,
    /// Where the `middleware` array and each of its elements sit in `source` (byte ranges).
    middleware_spans: MiddlewareSpans,
}

/// The byte ranges of the `middleware` array and of each element, as the file had them.
#[derive(Debug, Clone, Default)]
struct MiddlewareSpans {
    array: Option<Range<usize>>,
    elements: Vec<(String, Range<usize>)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_raw(
            RawSettings::default(),
            StackSettings::default(),
            None,
            String::new(),
        )
    }
}

impl Settings {
    fn from_raw(
        raw: RawSettings,
        stack: StackSettings,
        path: Option<PathBuf>,
        source: String,
    ) -> Self {
        let mut middleware_spans = MiddlewareSpans::default();
        let mut middleware = Vec::new();
        if let Some(array) = raw.middleware {
            middleware_spans.array = Some(array.span());
            for element in array.into_inner() {
                let span = element.span();
                let name = element.into_inner();
                middleware.push(name.clone());
                middleware_spans.elements.push((name, span));
            }
        }
        Settings {
            debug: raw.debug,
            allowed_hosts: raw.allowed_hosts,
            append_slash: raw.append_slash,
            middleware,
            default_charset: raw.default_charset,
            login_url: raw.login_url,
            login_redirect_url: raw.login_redirect_url,
            logout_redirect_url: raw.logout_redirect_url,
            data_upload_max_memory_size: raw.data_upload_max_memory_size,
            data_upload_max_number_fields: raw.data_upload_max_number_fields,
            use_x_forwarded_host: raw.use_x_forwarded_host,
            use_x_forwarded_port: raw.use_x_forwarded_port,
            secure_proxy_ssl_header: raw.secure_proxy_ssl_header,
            secret_key: raw.secret_key,
            secret_key_fallbacks: raw.secret_key_fallbacks,
            stack,
            caches: raw.caches,
            databases: crate::db::DatabasesSettings::default(),
            app: raw.app,
            path,
            source,
            template_engine: Arc::new(OnceLock::new()),
            connections: Arc::new(OnceLock::new()),
            middleware_spans,
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
        // A second pass for the stack's settings: parsed on their own (not flattened into
        // RawSettings, which would lose the parser's spans), so a wrong type still names its
        // line.
        let stack: StackSettings =
            toml::from_str(source).map_err(|e| toml_error(&e, source, path))?;
        let file = path.map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        for (key, line) in unknown_keys(source) {
            // Django ignores settings it does not know; a warning still catches a typo.
            log::warn!("{file}:{line}: unknown setting `{key}` is ignored");
        }
        let base_dir = path
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let database_url = std::env::var("DATABASE_URL").ok();
        let databases =
            crate::db::DatabasesSettings::parse(source, path, &base_dir, database_url.as_deref())?;
        let mut settings =
            Settings::from_raw(raw, stack, path.map(Path::to_path_buf), source.to_string());
        settings.databases = databases;
        Ok(settings)
    }

    /// Settings with defaults, for an app run without a settings file.
    pub fn defaults() -> Settings {
        Settings::default()
    }

    /// The template engine `[templates]` describes, built on first use (Django's
    /// `engines["jinja2"]`); an error names the file and the directory.
    pub fn template_engine(&self) -> Result<&crate::template::Engine, ConfigError> {
        self.template_engine
            .get_or_init(|| crate::template::Engine::from_settings(self))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Django's `django.db.connections` for these settings: made from `databases` on first
    /// use and shared by the handler and the app (nothing is opened until a query). Change
    /// `databases` before the first call.
    pub fn connections(&self) -> &Arc<crate::db::Databases> {
        self.connections
            .get_or_init(|| crate::db::Databases::new(self.databases.clone()))
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

    /// An error about the middleware name `needle`, naming the line of its element in the
    /// `middleware` array (from the parser's spans, so a comment or another key that happens
    /// to hold the same text is never taken for it); the array's line when `needle` is not
    /// one of the elements the file had, and no line without a file.
    pub fn error_at_value(&self, needle: &str, problem: &str) -> ConfigError {
        let element = self
            .middleware_spans
            .elements
            .iter()
            .find(|(name, _)| name == needle)
            .map(|(_, span)| span.start);
        self.error_at_offset(element.or(self.array_start()), problem)
    }

    /// An error about `middleware[index]`: the line of that very element when the list is
    /// still the one read from the file, else as [`Settings::error_at_value`].
    pub(crate) fn error_at_middleware(&self, index: usize, problem: &str) -> ConfigError {
        let name = self.middleware.get(index).map_or("", String::as_str);
        match self.middleware_spans.elements.get(index) {
            Some((parsed, span)) if parsed == name => {
                self.error_at_offset(Some(span.start), problem)
            }
            _ => self.error_at_value(name, problem),
        }
    }

    fn array_start(&self) -> Option<usize> {
        self.middleware_spans.array.as_ref().map(|s| s.start)
    }

    fn error_at_offset(&self, offset: Option<usize>, problem: &str) -> ConfigError {
        match offset {
            Some(offset) => ConfigError::new(format!(
                "{}:{}: {problem}",
                self.file_name(),
                line_of(&self.source, offset)
            )),
            None => ConfigError::new(format!("{}: {problem}", self.file_name())),
        }
    }
}

impl std::ops::Deref for Settings {
    type Target = StackSettings;
    fn deref(&self) -> &StackSettings {
        &self.stack
    }
}

impl std::ops::DerefMut for Settings {
    fn deref_mut(&mut self) -> &mut StackSettings {
        &mut self.stack
    }
}

/// The settings handler-core reads; anything else at the top level is unknown.
const KNOWN_KEYS: [&str; 18] = [
    "debug",
    "allowed_hosts",
    "append_slash",
    "middleware",
    "default_charset",
    "login_url",
    "login_redirect_url",
    "logout_redirect_url",
    "data_upload_max_memory_size",
    "data_upload_max_number_fields",
    "use_x_forwarded_host",
    "use_x_forwarded_port",
    "secure_proxy_ssl_header",
    "secret_key",
    "secret_key_fallbacks",
    "caches",
    "databases",
    "app",
];

/// Top-level keys handler-core does not know, with the line each is on (from the parser's
/// spans: a comment or an `[app]` key of the same name is not the setting).
fn unknown_keys(source: &str) -> Vec<(String, usize)> {
    let Ok(doc) = toml::from_str::<BTreeMap<Spanned<String>, IgnoredAny>>(source) else {
        return Vec::new();
    };
    let mut unknown: Vec<(String, usize)> = doc
        .into_keys()
        .filter(|k| {
            let k = k.get_ref().as_str();
            !KNOWN_KEYS.contains(&k) && !StackSettings::KEYS.contains(&k)
        })
        .map(|k| {
            let line = line_of(source, k.span().start);
            (k.into_inner(), line)
        })
        .collect();
    unknown.sort_by_key(|(_, line)| *line);
    unknown
}

/// The 1-based line holding byte `offset`.
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Where a parse error really is: the parser reports "expected `]`" at the point it gave up,
/// which for an unclosed array or string is the end of the file, on a line past the last one
/// (or a blank one). The problem is then on the last line with text before that point.
fn error_offset(source: &str, offset: usize) -> usize {
    let offset = offset.min(source.len());
    let bytes = source.as_bytes();
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    if !source[line_start..line_end].trim().is_empty() {
        return offset;
    }
    bytes[..line_start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .unwrap_or(offset)
}

pub(crate) fn toml_error(e: &toml::de::Error, source: &str, path: Option<&Path>) -> ConfigError {
    let file = path.map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
    // The parser's message runs over several lines ("invalid array\nexpected `]`"); one line
    // keeps the error greppable next to its file and line.
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    match e.span() {
        Some(span) => {
            let line = line_of(source, error_offset(source, span.start));
            let text = source.lines().nth(line - 1).unwrap_or("").trim();
            if text.is_empty() {
                ConfigError::new(format!("{file}:{line}: {message}"))
            } else {
                ConfigError::new(format!("{file}:{line}: {message} (at `{text}`)"))
            }
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
        assert_eq!(s.login_redirect_url, "/accounts/profile/");
        assert_eq!(s.logout_redirect_url, None);
        assert_eq!(s.default_charset, "utf-8");
        assert!(s.secret_key.is_empty() && s.secret_key_fallbacks.is_empty());
    }

    #[test]
    fn secret_keys_are_read() {
        let src = "secret_key = \"k1\"\nsecret_key_fallbacks = [\"k0\", \"old\"]\n";
        let s = Settings::parse(src, None).unwrap();
        assert_eq!(s.secret_key, "k1");
        assert_eq!(s.secret_key_fallbacks, ["k0", "old"]);
        assert!(unknown_keys(src).is_empty());
        let e = Settings::parse("secret_key = 1\n", Some(Path::new("s.toml"))).unwrap_err();
        assert!(e.message().starts_with("s.toml:1: "), "{e}");
    }

    #[test]
    fn parses_login_and_logout_redirect_urls() {
        let src = "login_redirect_url = \"/home/\"\nlogout_redirect_url = \"bye\"\n";
        let s = Settings::parse(src, None).unwrap();
        assert_eq!(s.login_redirect_url, "/home/");
        assert_eq!(s.logout_redirect_url.as_deref(), Some("bye"));
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
    fn syntax_error_names_the_line_and_the_problem() {
        // The parser gives up at the end of the file, past the last line: the unclosed array
        // is on line 3, and the text shown is that line's.
        let src = "debug = false\n\nmiddleware = [\"common\"\n";
        let e = Settings::parse(src, Some(Path::new("s.toml"))).unwrap_err();
        assert_eq!(
            e.message(),
            "s.toml:3: invalid array: expected `]` (at `middleware = [\"common\"`)"
        );
        // Without a final newline, and with blank lines after the problem.
        let e = Settings::parse("debug = false\nmiddleware = [\"common\"", None).unwrap_err();
        assert!(
            e.message().starts_with("<settings>:2: invalid array"),
            "{e}"
        );
        let e = Settings::parse("middleware = [\n  \"common\",\n\n\n", None).unwrap_err();
        assert!(e.message().starts_with("<settings>:2: "), "{e}");
        // An error in the middle of the file stays on its own line.
        let e = Settings::parse("debug = false\nfoo bar\nappend_slash = true\n", None).unwrap_err();
        assert_eq!(
            e.message(),
            "<settings>:2: expected `.`, `=` (at `foo bar`)"
        );
        let e = Settings::parse("debug = true\ndebug = false\n", None).unwrap_err();
        assert!(
            e.message().starts_with("<settings>:2: duplicate key"),
            "{e}"
        );
    }

    #[test]
    fn the_stack_settings_have_djangos_defaults_and_name_their_line_when_wrong() {
        let s = Settings::default();
        assert_eq!(s.csrf_cookie_name, "csrftoken");
        assert_eq!(s.csrf_cookie_age, 31_449_600);
        assert_eq!(s.session_cookie_age, 1_209_600);
        assert!(s.session_cookie_httponly && !s.csrf_cookie_httponly);
        assert_eq!(s.x_frame_options, "DENY");
        let src = "debug = false\ncsrf_trusted_origins = [\"https://a.example\"]\n\
                   [templates]\ndirs = [\"templates\"]\n";
        let s = Settings::parse(src, None).unwrap();
        assert_eq!(s.csrf_trusted_origins, ["https://a.example"]);
        assert_eq!(s.templates.dirs, ["templates"]);
        let e =
            Settings::parse("debug = false\n\nsession_cookie_age = \"2w\"\n", None).unwrap_err();
        assert!(e.message().starts_with("<settings>:3: "), "{e}");
        assert!(unknown_keys("session_cookie_age = 1\nx_frame_options = \"DENY\"\n").is_empty());
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
        // A comment or an [app] key that reads like the key is not where it is.
        let src = "# extra = 1\n[app]\nextra = 2\n\n[extra]\n";
        assert_eq!(unknown_keys(src), [("extra".to_string(), 5)]);
        let src = "\"quoted key\" = 1\n";
        assert_eq!(unknown_keys(src), [("quoted key".to_string(), 1)]);
    }

    #[test]
    fn error_at_value_finds_the_line_of_the_element() {
        let src = "middleware = [\n  \"common\",\n  \"nope\",\n]\n";
        let s = Settings::parse(src, Some(Path::new("s.toml"))).unwrap();
        let e = s.error_at_value("nope", "unknown middleware \"nope\"");
        assert_eq!(e.message(), "s.toml:3: unknown middleware \"nope\"");
    }

    #[test]
    fn unknown_middleware_ignores_comments_and_other_keys_with_the_name() {
        // The audit's case: a comment above names the middleware first.
        let src = "# old: \"nosuch\"\ndebug = false\nmiddleware = [\"common\",\n \"nosuch\"]\n";
        let s = Settings::parse(src, Some(Path::new("s.toml"))).unwrap();
        assert_eq!(
            s.error_at_middleware(1, "unknown middleware \"nosuch\"")
                .message(),
            "s.toml:4: unknown middleware \"nosuch\""
        );
        assert_eq!(s.error_at_value("nosuch", "x").message(), "s.toml:4: x");
        // The same name in [app] and twice in the list: the element asked about.
        let src = "middleware = [\"a\",\n\"b\",\n\"a\"]\n[app]\nname = \"a\"\n";
        let s = Settings::parse(src, Some(Path::new("s.toml"))).unwrap();
        assert_eq!(s.error_at_middleware(2, "x").message(), "s.toml:3: x");
        assert_eq!(s.error_at_middleware(0, "x").message(), "s.toml:1: x");
        // A list changed after parsing falls back to the element of that name, then to the
        // array's line; settings without a file have no line.
        let mut s = s;
        s.middleware.insert(0, "added".into());
        assert_eq!(s.error_at_middleware(2, "x").message(), "s.toml:2: x");
        assert_eq!(s.error_at_middleware(0, "x").message(), "s.toml:1: x");
        let mut d = Settings::default();
        d.middleware.push("nosuch".into());
        assert_eq!(d.error_at_middleware(0, "x").message(), "<settings>: x");
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
