//! `DATABASES`: the `[databases.<alias>]` tables of the settings file and the `DATABASE_URL`
//! environment variable (as dj-database-url reads it), checked at start-up so a bad value is
//! an error naming the file, the line and the problem.
//!
//! ```toml
//! [databases.default]
//! engine = "sqlite"            # or "postgresql", or Django's "django.db.backends.sqlite3" ...
//! name = "db.sqlite3"          # SQLite: a file, relative to the settings file
//! conn_max_age = 0             # seconds; a negative number or "none" keeps it open (None)
//! conn_health_checks = false
//! atomic_requests = false
//! [databases.default.options]  # SQLite: timeout, transaction_mode, init_command;
//! timeout = 5                  # PostgreSQL: connect_timeout, options, application_name, sslmode
//! ```
//! Without a `[databases]` table the default is SQLite, `db.sqlite3` beside the settings file
//! (what `startproject` writes). `DATABASE_URL` (`sqlite:///relative.db`,
//! `sqlite:////absolute.db`, `postgres://user:pass@host:port/name?sslmode=disable`) replaces
//! the default database's engine, name, host, port, user, password and options; its
//! `conn_max_age`, `conn_health_checks` and `atomic_requests` stay those of the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::settings::{line_of, toml_error, ConfigError};

/// Django's `DEFAULT_DB_ALIAS`.
pub const DEFAULT_DB_ALIAS: &str = "default";

/// SQLite's default busy timeout (Python's `sqlite3.connect(timeout=5.0)`, which Django
/// keeps): how long a writer waits for another's lock.
pub const DEFAULT_SQLITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a PostgreSQL connection attempt may take. libpq waits forever by default; a
/// server that does not answer must turn into an error while the client still waits.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database backend (Django's `ENGINE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `django.db.backends.sqlite3`.
    Sqlite,
    /// `django.db.backends.postgresql`.
    PostgreSql,
}

impl Engine {
    /// Django's `connection.vendor`.
    pub fn vendor(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::PostgreSql => "postgresql",
        }
    }

    /// The engine for a settings name: the short names or Django's dotted ones.
    pub fn from_name(name: &str) -> Option<Engine> {
        match name.trim() {
            "sqlite" | "sqlite3" | "django.db.backends.sqlite3" => Some(Engine::Sqlite),
            "postgresql"
            | "postgres"
            | "django.db.backends.postgresql"
            | "django.db.backends.postgresql_psycopg2" => Some(Engine::PostgreSql),
            _ => None,
        }
    }
}

/// `OPTIONS`, checked: the keys each backend understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// SQLite `timeout` (seconds): the busy timeout.
    pub timeout: Duration,
    /// SQLite `transaction_mode` (Django 5.1): `DEFERRED` (SQLite's default), `IMMEDIATE`
    /// or `EXCLUSIVE`, the `BEGIN` of each `atomic` block.
    pub transaction_mode: Option<String>,
    /// SQLite `init_command` (Django 5.1): SQL run on every new connection.
    pub init_command: Option<String>,
    /// PostgreSQL `connect_timeout` (seconds).
    pub connect_timeout: Duration,
    /// PostgreSQL `options`: server settings at connection (`-c statement_timeout=5000`).
    pub options: Option<String>,
    /// PostgreSQL `application_name`.
    pub application_name: Option<String>,
    /// PostgreSQL `sslmode`: `disable`, `allow` or `prefer` (this build speaks no TLS, so
    /// `require` and above are refused at start-up rather than silently downgraded).
    pub sslmode: String,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            timeout: DEFAULT_SQLITE_TIMEOUT,
            transaction_mode: None,
            init_command: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            options: None,
            application_name: None,
            sslmode: "prefer".to_string(),
        }
    }
}

/// One entry of `DATABASES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// The alias (`default`).
    pub alias: String,
    /// `ENGINE`.
    pub engine: Engine,
    /// `NAME`: the SQLite file (resolved against the settings file; `:memory:` kept) or the
    /// PostgreSQL database.
    pub name: String,
    /// `HOST` (PostgreSQL; a path is a unix-socket directory). Empty: `localhost`.
    pub host: String,
    /// `PORT`; none: 5432.
    pub port: Option<u16>,
    /// `USER`.
    pub user: String,
    /// `PASSWORD`.
    pub password: String,
    /// `CONN_MAX_AGE`: `Some(0)` closes after every request (Django's default), `None` keeps
    /// the connection for the thread's life.
    pub conn_max_age: Option<Duration>,
    /// `CONN_HEALTH_CHECKS`: ping a reused connection before the request's first query.
    pub conn_health_checks: bool,
    /// `ATOMIC_REQUESTS`: each view runs in a transaction on this database.
    pub atomic_requests: bool,
    /// `OPTIONS`.
    pub options: DatabaseOptions,
}

impl DatabaseSettings {
    /// An SQLite database at `path`, with Django's defaults.
    pub fn sqlite(alias: &str, path: impl Into<PathBuf>) -> DatabaseSettings {
        DatabaseSettings {
            alias: alias.to_string(),
            engine: Engine::Sqlite,
            name: path.into().to_string_lossy().into_owned(),
            host: String::new(),
            port: None,
            user: String::new(),
            password: String::new(),
            conn_max_age: Some(Duration::ZERO),
            conn_health_checks: false,
            atomic_requests: false,
            options: DatabaseOptions::default(),
        }
    }

    /// A PostgreSQL database, with Django's defaults.
    pub fn postgresql(
        alias: &str,
        host: &str,
        port: u16,
        user: &str,
        name: &str,
    ) -> DatabaseSettings {
        DatabaseSettings {
            engine: Engine::PostgreSql,
            name: name.to_string(),
            host: host.to_string(),
            port: Some(port),
            user: user.to_string(),
            ..DatabaseSettings::sqlite(alias, "")
        }
    }

    /// Where the database is, for messages: `sqlite /srv/db.sqlite3`,
    /// `postgresql 127.0.0.1:5432/notes` (never the password).
    pub fn target(&self) -> String {
        match self.engine {
            Engine::Sqlite => format!("sqlite {}", self.name),
            Engine::PostgreSql => {
                let host = if self.host.is_empty() {
                    "localhost"
                } else {
                    &self.host
                };
                format!(
                    "postgresql {host}:{}/{}",
                    self.port.unwrap_or(5432),
                    self.name
                )
            }
        }
    }
}

/// `DATABASES`: the default database first, then the others by alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabasesSettings {
    entries: Vec<DatabaseSettings>,
}

impl DatabasesSettings {
    /// Only a default SQLite database at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> DatabasesSettings {
        DatabasesSettings {
            entries: vec![DatabaseSettings::sqlite(DEFAULT_DB_ALIAS, path)],
        }
    }

    /// Only `default`, as given (its alias is set to `default`).
    pub fn single(mut default: DatabaseSettings) -> DatabasesSettings {
        default.alias = DEFAULT_DB_ALIAS.to_string();
        DatabasesSettings {
            entries: vec![default],
        }
    }

    /// Adds (or replaces) a database.
    pub fn insert(&mut self, settings: DatabaseSettings) {
        match self.entries.iter_mut().find(|e| e.alias == settings.alias) {
            Some(entry) => *entry = settings,
            None => self.entries.push(settings),
        }
    }

    /// The database called `alias`.
    pub fn get(&self, alias: &str) -> Option<&DatabaseSettings> {
        self.entries.iter().find(|e| e.alias == alias)
    }

    /// The `default` database.
    pub fn default_database(&self) -> &DatabaseSettings {
        &self.entries[0]
    }

    /// The `default` database, to change it.
    pub fn default_mut(&mut self) -> &mut DatabaseSettings {
        &mut self.entries[0]
    }

    /// Every database, `default` first.
    pub fn iter(&self) -> impl Iterator<Item = &DatabaseSettings> {
        self.entries.iter()
    }

    /// The aliases, `default` first.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.alias.as_str())
    }

    /// Reads the `[databases]` tables of `source` (the settings file at `path`), resolves
    /// SQLite names against `base_dir`, and applies `database_url` (the `DATABASE_URL`
    /// environment variable) to the default database.
    pub fn parse(
        source: &str,
        path: Option<&Path>,
        base_dir: &Path,
        database_url: Option<&str>,
    ) -> Result<DatabasesSettings, ConfigError> {
        #[derive(Deserialize)]
        struct Doc {
            databases: Option<BTreeMap<Spanned<String>, RawDatabase>>,
        }
        let doc: Doc = toml::from_str(source).map_err(|e| toml_error(&e, source, path))?;
        let file = path.map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        let at = |offset: usize, problem: String| {
            ConfigError::new(format!("{file}:{}: {problem}", line_of(source, offset)))
        };
        let mut entries = Vec::new();
        match doc.databases {
            None => entries.push(DatabaseSettings::sqlite(
                DEFAULT_DB_ALIAS,
                base_dir.join("db.sqlite3"),
            )),
            Some(tables) => {
                let start = tables.keys().next().map_or(0, Spanned::start_offset);
                if !tables.keys().any(|k| k.get_ref() == DEFAULT_DB_ALIAS) {
                    return Err(at(
                        start,
                        "databases: you must define a 'default' database ([databases.default])"
                            .to_string(),
                    ));
                }
                for (alias, raw) in tables {
                    let alias = alias.into_inner();
                    let settings = raw.check(&alias, base_dir, &at)?;
                    if alias == DEFAULT_DB_ALIAS {
                        entries.insert(0, settings);
                    } else {
                        entries.push(settings);
                    }
                }
            }
        }
        if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
            let parsed = parse_database_url(url, base_dir)
                .map_err(|problem| ConfigError::new(format!("DATABASE_URL: {problem}")))?;
            let default = &mut entries[0];
            let keep = (
                default.conn_max_age,
                default.conn_health_checks,
                default.atomic_requests,
            );
            *default = parsed;
            (
                default.conn_max_age,
                default.conn_health_checks,
                default.atomic_requests,
            ) = keep;
        }
        Ok(DatabasesSettings { entries })
    }
}

impl Default for DatabasesSettings {
    fn default() -> Self {
        DatabasesSettings::sqlite("db.sqlite3")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    engine: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    host: Option<String>,
    port: Option<Spanned<toml::Value>>,
    user: Option<String>,
    password: Option<String>,
    conn_max_age: Option<Spanned<toml::Value>>,
    conn_health_checks: Option<bool>,
    atomic_requests: Option<bool>,
    options: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    /// Django's `TEST` settings: accepted so a pasted `DATABASES` reads, unused here.
    #[allow(dead_code)]
    test: Option<toml::Table>,
}

impl RawDatabase {
    fn check(
        self,
        alias: &str,
        base_dir: &Path,
        at: &dyn Fn(usize, String) -> ConfigError,
    ) -> Result<DatabaseSettings, ConfigError> {
        let key = |k: &str| format!("databases.{alias}.{k}");
        let engine = match &self.engine {
            None => Engine::Sqlite,
            Some(e) => Engine::from_name(e.get_ref()).ok_or_else(|| {
                at(
                    e.span().start,
                    format!(
                        "{}: unknown engine \"{}\" (use \"sqlite\" or \"postgresql\", or \
                         Django's django.db.backends.sqlite3 / django.db.backends.postgresql)",
                        key("engine"),
                        e.get_ref()
                    ),
                )
            })?,
        };
        let mut settings = DatabaseSettings::sqlite(alias, "");
        settings.engine = engine;
        settings.name = match (&self.name, engine) {
            (Some(n), Engine::Sqlite) if n.get_ref().trim().is_empty() => {
                return Err(at(n.span().start, format!("{}: is empty", key("name"))))
            }
            (Some(n), Engine::Sqlite) => resolve_sqlite_name(n.get_ref(), base_dir),
            (None, Engine::Sqlite) => resolve_sqlite_name("db.sqlite3", base_dir),
            (Some(n), Engine::PostgreSql) if !n.get_ref().trim().is_empty() => n.get_ref().clone(),
            (_, Engine::PostgreSql) => {
                let offset = self
                    .name
                    .as_ref()
                    .or(self.engine.as_ref())
                    .map_or(0, Spanned::start_offset);
                return Err(at(
                    offset,
                    format!(
                        "databases.{alias}: settings.DATABASES is improperly configured. \
                         Please supply the NAME value."
                    ),
                ));
            }
        };
        settings.host = self.host.unwrap_or_default();
        settings.user = self.user.unwrap_or_default();
        settings.password = self.password.unwrap_or_default();
        if let Some(port) = &self.port {
            settings.port = match port.get_ref() {
                toml::Value::String(s) if s.trim().is_empty() => None,
                toml::Value::String(s) => Some(s.trim().parse::<u16>().ok().filter(|&p| p > 0)),
                toml::Value::Integer(i) => Some(u16::try_from(*i).ok().filter(|&p| p > 0)),
                _ => Some(None),
            }
            .map(|p| {
                p.ok_or_else(|| {
                    at(
                        port.span().start,
                        format!("{}: not a port number (1-65535)", key("port")),
                    )
                })
            })
            .transpose()?;
        }
        if let Some(age) = &self.conn_max_age {
            settings.conn_max_age = conn_max_age(age.get_ref()).ok_or_else(|| {
                at(
                    age.span().start,
                    format!(
                        "{}: expected seconds (0 closes after each request) or \"none\" \
                         (persistent), found {}",
                        key("conn_max_age"),
                        age.get_ref()
                    ),
                )
            })?;
        }
        settings.conn_health_checks = self.conn_health_checks.unwrap_or(false);
        settings.atomic_requests = self.atomic_requests.unwrap_or(false);
        for (name, value) in self.options.unwrap_or_default() {
            set_option(
                &mut settings.options,
                engine,
                name.get_ref(),
                value.get_ref(),
            )
            .map_err(|problem| {
                at(
                    name.span().start,
                    format!("{}: {problem}", key(&format!("options.{}", name.get_ref()))),
                )
            })?;
        }
        Ok(settings)
    }
}

/// `Spanned::span().start`, as a function for `map_or`.
trait StartOffset {
    fn start_offset(&self) -> usize;
}

impl<T> StartOffset for Spanned<T> {
    fn start_offset(&self) -> usize {
        self.span().start
    }
}

/// `conn_max_age`: seconds, a negative number or `"none"` for Django's `None`.
fn conn_max_age(value: &toml::Value) -> Option<Option<Duration>> {
    match value {
        toml::Value::Integer(i) if *i < 0 => Some(None),
        toml::Value::Integer(i) => Some(Some(Duration::from_secs(u64::try_from(*i).ok()?))),
        toml::Value::Float(f) if *f < 0.0 => Some(None),
        toml::Value::Float(f) if f.is_finite() => Some(Some(Duration::from_secs_f64(*f))),
        toml::Value::String(s) if s.eq_ignore_ascii_case("none") => Some(None),
        _ => None,
    }
}

fn resolve_sqlite_name(name: &str, base_dir: &Path) -> String {
    if name == ":memory:" || name.starts_with("file:") {
        return name.to_string();
    }
    let path = Path::new(name);
    if path.is_absolute() {
        name.to_string()
    } else {
        base_dir.join(path).to_string_lossy().into_owned()
    }
}

fn seconds(value: &toml::Value) -> Option<Duration> {
    match value {
        toml::Value::Integer(i) if *i >= 0 => Some(Duration::from_secs(*i as u64)),
        toml::Value::Float(f) if *f >= 0.0 && f.is_finite() => Some(Duration::from_secs_f64(*f)),
        toml::Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(Duration::from_secs_f64),
        _ => None,
    }
}

fn text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string, found {other}")),
    }
}

/// Applies one `OPTIONS` key, or says why it cannot be.
fn set_option(
    options: &mut DatabaseOptions,
    engine: Engine,
    name: &str,
    value: &toml::Value,
) -> Result<(), String> {
    match (engine, name) {
        (Engine::Sqlite, "timeout") => {
            options.timeout = seconds(value).ok_or("expected seconds")?;
        }
        (Engine::Sqlite, "transaction_mode") => {
            let mode = text(value)?.to_ascii_uppercase();
            if !["DEFERRED", "IMMEDIATE", "EXCLUSIVE"].contains(&mode.as_str()) {
                return Err(format!(
                    "\"{mode}\" is not one of DEFERRED, IMMEDIATE, EXCLUSIVE"
                ));
            }
            options.transaction_mode = Some(mode);
        }
        (Engine::Sqlite, "init_command") => options.init_command = Some(text(value)?),
        (Engine::PostgreSql, "connect_timeout") => {
            options.connect_timeout = seconds(value).ok_or("expected seconds")?;
        }
        (Engine::PostgreSql, "options") => options.options = Some(text(value)?),
        (Engine::PostgreSql, "application_name") => {
            options.application_name = Some(text(value)?);
        }
        (Engine::PostgreSql, "sslmode") => {
            let mode = text(value)?;
            match mode.as_str() {
                "disable" | "allow" | "prefer" => options.sslmode = mode,
                "require" | "verify-ca" | "verify-full" => {
                    return Err(format!(
                        "sslmode \"{mode}\" needs TLS, which this build does not speak \
                         (use disable, allow or prefer, or a TLS-terminating proxy)"
                    ))
                }
                _ => return Err(format!("unknown sslmode \"{mode}\"")),
            }
        }
        (Engine::Sqlite, _) => {
            return Err(
                "unknown SQLite option (known: timeout, transaction_mode, init_command)".into(),
            )
        }
        (Engine::PostgreSql, _) => {
            return Err(
                "unknown PostgreSQL option (known: connect_timeout, options, \
                 application_name, sslmode)"
                    .into(),
            )
        }
    }
    Ok(())
}

fn decode(part: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| format!("\"{part}\" is not valid percent-encoded UTF-8"))
}

/// dj-database-url's `parse(url)`: `sqlite://` URLs (three slashes then a relative path, four
/// for an absolute one, `sqlite://:memory:`) and `postgres://` / `postgresql://` /
/// `pgsql://` URLs with user, password, host (`[v6]` or a percent-encoded socket
/// directory), port, name and `?option=value` pairs.
pub fn parse_database_url(url: &str, base_dir: &Path) -> Result<DatabaseSettings, String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("\"{url}\" is not a URL (expected scheme://...)"))?;
    let engine = match scheme.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => Engine::Sqlite,
        "postgres" | "postgresql" | "pgsql" => Engine::PostgreSql,
        other => {
            return Err(format!(
                "unsupported scheme \"{other}\" (use sqlite:// or postgres://)"
            ))
        }
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let mut settings = DatabaseSettings::sqlite(DEFAULT_DB_ALIAS, "");
    settings.engine = engine;
    if engine == Engine::Sqlite {
        let name = if rest.is_empty() || rest == ":memory:" {
            ":memory:".to_string()
        } else {
            let path = rest
                .strip_prefix('/')
                .ok_or_else(|| format!("\"{url}\": expected sqlite:///path"))?;
            resolve_sqlite_name(&decode(path)?, base_dir)
        };
        settings.name = name;
    } else {
        let (authority, name) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if let Some(userinfo) = userinfo {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            settings.user = decode(user)?;
            settings.password = decode(password)?;
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("\"{url}\": unclosed [ in the host"))?;
            (host.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (decode(h)?, Some(p)),
                None => (decode(hostport)?, None),
            }
        };
        settings.host = host;
        if let Some(port) = port.filter(|p| !p.is_empty()) {
            settings.port = Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("\"{port}\" is not a port number"))?,
            );
        }
        settings.name = decode(name)?;
        if settings.name.is_empty() {
            return Err(format!("\"{url}\" names no database (…/NAME)"));
        }
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(key)?, decode(value)?);
        set_option(
            &mut settings.options,
            engine,
            &key,
            &toml::Value::String(value),
        )
        .map_err(|problem| format!("option {key}: {problem}"))?;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str, url: Option<&str>) -> Result<DatabasesSettings, ConfigError> {
        DatabasesSettings::parse(
            source,
            Some(Path::new("/srv/site/settings.toml")),
            Path::new("/srv/site"),
            url,
        )
    }

    #[test]
    fn the_default_is_sqlite_beside_the_settings_file() {
        let d = parse("debug = true\n", None).unwrap();
        let default = d.default_database();
        assert_eq!(default.engine, Engine::Sqlite);
        assert_eq!(default.name, "/srv/site/db.sqlite3");
        assert_eq!(default.conn_max_age, Some(Duration::ZERO));
        assert!(!default.atomic_requests && !default.conn_health_checks);
        assert_eq!(d.aliases().collect::<Vec<_>>(), ["default"]);
    }

    #[test]
    fn tables_are_read_with_djangos_names() {
        let src = "[databases.default]\nengine = \"django.db.backends.postgresql\"\n\
                   name = \"notes\"\nhost = \"127.0.0.1\"\nport = \"5433\"\nuser = \"u\"\n\
                   password = \"p\"\nconn_max_age = \"none\"\nconn_health_checks = true\n\
                   atomic_requests = true\n[databases.default.options]\nconnect_timeout = 2\n\
                   options = \"-c statement_timeout=5000\"\n\
                   [databases.archive]\nengine = \"sqlite\"\nname = \"data/archive.db\"\n\
                   conn_max_age = 60\n[databases.archive.options]\ntransaction_mode = \"immediate\"\n";
        let d = parse(src, None).unwrap();
        let pg = d.default_database();
        assert_eq!(pg.engine, Engine::PostgreSql);
        assert_eq!(
            (
                pg.host.as_str(),
                pg.port,
                pg.user.as_str(),
                pg.password.as_str()
            ),
            ("127.0.0.1", Some(5433), "u", "p")
        );
        assert_eq!(pg.conn_max_age, None);
        assert!(pg.conn_health_checks && pg.atomic_requests);
        assert_eq!(pg.options.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            pg.options.options.as_deref(),
            Some("-c statement_timeout=5000")
        );
        assert_eq!(pg.target(), "postgresql 127.0.0.1:5433/notes");
        let archive = d.get("archive").unwrap();
        assert_eq!(archive.name, "/srv/site/data/archive.db");
        assert_eq!(archive.conn_max_age, Some(Duration::from_secs(60)));
        assert_eq!(
            archive.options.transaction_mode.as_deref(),
            Some("IMMEDIATE")
        );
        let negative = parse("[databases.default]\nconn_max_age = -1\n", None).unwrap();
        assert_eq!(negative.default_database().conn_max_age, None);
    }

    #[test]
    fn bad_values_name_the_file_line_and_problem() {
        let cases = [
            ("[databases.default]\nengine = \"mysql\"\n", "settings.toml:2: databases.default.engine: unknown engine \"mysql\""),
            ("[databases.default]\nengine = \"postgresql\"\n", "settings.toml:2: databases.default: settings.DATABASES is improperly configured. Please supply the NAME value."),
            ("[databases.default]\n\nport = 70000\n", "settings.toml:3: databases.default.port: not a port number"),
            ("[databases.default]\nconn_max_age = \"forever\"\n", "settings.toml:2: databases.default.conn_max_age: expected seconds"),
            ("[databases.default]\n[databases.default.options]\nsynchronous = 1\n", "settings.toml:3: databases.default.options.synchronous: unknown SQLite option"),
            ("[databases.default]\nengine = \"postgresql\"\nname = \"x\"\n[databases.default.options]\nsslmode = \"require\"\n", "settings.toml:5: databases.default.options.sslmode: sslmode \"require\" needs TLS"),
            ("[databases.other]\nname = \"x\"\n", "settings.toml:1: databases: you must define a 'default' database"),
            ("[databases.default]\nnmae = \"x\"\n", "settings.toml:2: unknown field `nmae`"),
            ("[databases.default]\nconn_health_checks = \"yes\"\n", "settings.toml:2: "),
        ];
        for (src, expected) in cases {
            let e = parse(src, None).unwrap_err();
            assert!(
                e.message().starts_with(&format!("/srv/site/{expected}")),
                "{src:?}: {e}"
            );
        }
    }

    #[test]
    fn database_url_overrides_the_default_as_dj_database_url_does() {
        let src = "[databases.default]\nname = \"local.db\"\nconn_max_age = 600\n\
                   conn_health_checks = true\n";
        let d = parse(
            src,
            Some("postgres://app%40corp:s%3Acret@db.example:6432/notes?sslmode=disable&connect_timeout=3"),
        )
        .unwrap();
        let pg = d.default_database();
        assert_eq!(pg.engine, Engine::PostgreSql);
        assert_eq!(
            (pg.user.as_str(), pg.password.as_str()),
            ("app@corp", "s:cret")
        );
        assert_eq!(
            (pg.host.as_str(), pg.port, pg.name.as_str()),
            ("db.example", Some(6432), "notes")
        );
        assert_eq!(pg.options.sslmode, "disable");
        assert_eq!(pg.options.connect_timeout, Duration::from_secs(3));
        assert_eq!(
            pg.conn_max_age,
            Some(Duration::from_secs(600)),
            "kept from the file"
        );
        assert!(pg.conn_health_checks);

        let base = Path::new("/srv/site");
        let rel = parse_database_url("sqlite:///data/db.sqlite3", base).unwrap();
        assert_eq!(rel.name, "/srv/site/data/db.sqlite3");
        let abs = parse_database_url("sqlite:////var/lib/db.sqlite3", base).unwrap();
        assert_eq!(abs.name, "/var/lib/db.sqlite3");
        assert_eq!(
            parse_database_url("sqlite://:memory:", base).unwrap().name,
            ":memory:"
        );
        let v6 = parse_database_url("postgresql://[::1]:5433/x", base).unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(5433)));
        let socket = parse_database_url("postgres://%2Fvar%2Frun%2Fpostgresql/x", base).unwrap();
        assert_eq!(
            (socket.host.as_str(), socket.port, socket.user.as_str()),
            ("/var/run/postgresql", None, "")
        );
        for (bad, problem) in [
            ("mysql://h/x", "unsupported scheme \"mysql\""),
            ("postgres://h:99999/x", "\"99999\" is not a port number"),
            ("postgres://h", "names no database"),
            (
                "postgres://h/x?nope=1",
                "option nope: unknown PostgreSQL option",
            ),
            ("db.sqlite3", "is not a URL"),
        ] {
            let e = parse_database_url(bad, base).unwrap_err();
            assert!(e.contains(problem), "{bad}: {e}");
        }
        let e = parse("", Some("mysql://h/x")).unwrap_err();
        assert!(
            e.message().starts_with("DATABASE_URL: unsupported scheme"),
            "{e}"
        );
        assert_eq!(
            parse("", Some("  ")).unwrap().default_database().engine,
            Engine::Sqlite
        );
    }
}
