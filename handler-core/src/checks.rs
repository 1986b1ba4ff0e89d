//! The system check framework (Django's `django.core.checks`): [`CheckMessage`] and its levels,
//! the [`CheckRegistry`] that handler-core's modules and the app register checks into, and the
//! built-in deployment checks (`check --deploy`).
//!
//! A check is a function of the built app ([`CheckContext`]) returning the problems it found.
//! handler-core's modules register theirs in [`CheckRegistry::with_builtins`] (the database
//! layer adds "database reachable" there, tagged [`tags::DATABASE`]); an app adds its own with
//! [`App::check`](crate::App::check). `portico manage APP check` runs them all, and every
//! command that requires system checks runs them first, as Django's `BaseCommand.execute` does.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use crate::handler::Handler;

/// Django's `checks.Tags`: the groups `check --tag` selects.
pub mod tags {
    /// Checks of the database (Django runs them only for the aliases `check --database` names).
    pub const DATABASE: &str = "database";
    /// Security checks (the deployment checks among them).
    pub const SECURITY: &str = "security";
    /// URL conf checks.
    pub const URLS: &str = "urls";
    /// Checks of settings and their values.
    pub const COMPATIBILITY: &str = "compatibility";
}

/// How serious a message is, with Django's numbers (`checks.DEBUG` 10 ... `CRITICAL` 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `DEBUG`.
    Debug = 10,
    /// `INFO`.
    Info = 20,
    /// `WARNING`.
    Warning = 30,
    /// `ERROR`: a command that requires checks does not run.
    Error = 40,
    /// `CRITICAL`.
    Critical = 50,
}

impl Level {
    /// Every level, the most serious first: the order `check` prints its groups in.
    pub const ALL: [Level; 5] = [
        Level::Critical,
        Level::Error,
        Level::Warning,
        Level::Info,
        Level::Debug,
    ];

    /// Django's name, as `--fail-level` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The heading of this level's group in `check`'s report (`ERRORS:`).
    pub fn group_name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUGS",
            Level::Info => "INFOS",
            Level::Warning => "WARNINGS",
            Level::Error => "ERRORS",
            Level::Critical => "CRITICALS",
        }
    }

    /// The level named `name` (`ERROR`), as `--fail-level` takes it.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// One problem a check found (Django's `CheckMessage`): printed as `obj: (id) msg` and, with a
/// hint, a `\tHINT: hint` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckMessage {
    /// How serious it is.
    pub level: Level,
    /// What is wrong.
    pub msg: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// What it is about (a setting, a URL pattern); `?` when nothing in particular.
    pub obj: Option<String>,
    /// A stable identifier, `app.E001` (Django's `id`), e.g. `security.W018`.
    pub id: String,
}

impl CheckMessage {
    /// A message at `level`.
    pub fn new(level: Level, msg: impl Into<String>, id: impl Into<String>) -> CheckMessage {
        CheckMessage {
            level,
            msg: msg.into(),
            hint: None,
            obj: None,
            id: id.into(),
        }
    }

    /// Django's `checks.Error`.
    pub fn error(msg: impl Into<String>, id: impl Into<String>) -> CheckMessage {
        CheckMessage::new(Level::Error, msg, id)
    }

    /// Django's `checks.Warning`.
    pub fn warning(msg: impl Into<String>, id: impl Into<String>) -> CheckMessage {
        CheckMessage::new(Level::Warning, msg, id)
    }

    /// Django's `checks.Critical`.
    pub fn critical(msg: impl Into<String>, id: impl Into<String>) -> CheckMessage {
        CheckMessage::new(Level::Critical, msg, id)
    }

    /// Django's `checks.Info`.
    pub fn info(msg: impl Into<String>, id: impl Into<String>) -> CheckMessage {
        CheckMessage::new(Level::Info, msg, id)
    }

    /// With a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> CheckMessage {
        self.hint = Some(hint.into());
        self
    }

    /// About `obj`.
    pub fn obj(mut self, obj: impl Into<String>) -> CheckMessage {
        self.obj = Some(obj.into());
        self
    }

    /// Django's `is_serious(level=ERROR)`: at `level` or above.
    pub fn is_serious(&self, level: Level) -> bool {
        self.level >= level
    }
}

impl fmt::Display for CheckMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: ({}) {}",
            self.obj.as_deref().unwrap_or("?"),
            self.id,
            self.msg
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n\tHINT: {hint}")?;
        }
        Ok(())
    }
}

/// What a check looks at: the built app (its settings, URL conf and stores), and the database
/// aliases `check --database` named (empty: none, and database checks should then do nothing,
/// as Django's do).
pub struct CheckContext<'a> {
    /// The app, built from its settings.
    pub handler: &'a Handler,
    /// `--database` aliases.
    pub databases: &'a [String],
}

/// A check: the problems it finds in the app.
pub type CheckFn = Arc<dyn Fn(&CheckContext<'_>) -> Vec<CheckMessage> + Send + Sync>;

#[derive(Clone)]
struct Registered {
    check: CheckFn,
    tags: Vec<String>,
    deploy: bool,
}

/// The registered checks (Django's `checks.registry`).
#[derive(Clone, Default)]
pub struct CheckRegistry {
    checks: Vec<Registered>,
}

/// What [`CheckRegistry::run_checks`] runs.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only checks with one of these tags (`--tag`); `None`: every one.
    pub tags: Option<Vec<String>>,
    /// Also the deployment checks (`--deploy`).
    pub include_deployment_checks: bool,
    /// `--database` aliases, handed to each check.
    pub databases: Vec<String>,
}

impl CheckRegistry {
    /// No checks.
    pub fn new() -> CheckRegistry {
        CheckRegistry::default()
    }

    /// The checks of handler-core's own modules: for now the deployment checks of settings
    /// Django also checks (`security.W009`, `W018`, `W020`). The database layer and contrib
    /// register theirs here, one line each.
    pub fn with_builtins() -> CheckRegistry {
        let mut r = CheckRegistry::new();
        r.register_deploy(&[tags::SECURITY], check_secret_key);
        r.register_deploy(&[tags::SECURITY], check_debug);
        r.register_deploy(&[tags::SECURITY], check_allowed_hosts);
        r
    }

    /// Registers `check` under `tags` (Django's `@register(*tags)`).
    pub fn register<F>(&mut self, tags: &[&str], check: F)
    where
        F: Fn(&CheckContext<'_>) -> Vec<CheckMessage> + Send + Sync + 'static,
    {
        self.push(tags, Arc::new(check), false);
    }

    /// Registers a deployment check, run only by `check --deploy` (Django's
    /// `@register(deploy=True)`).
    pub fn register_deploy<F>(&mut self, tags: &[&str], check: F)
    where
        F: Fn(&CheckContext<'_>) -> Vec<CheckMessage> + Send + Sync + 'static,
    {
        self.push(tags, Arc::new(check), true);
    }

    fn push(&mut self, tags: &[&str], check: CheckFn, deploy: bool) {
        self.checks.push(Registered {
            check,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            deploy,
        });
    }

    /// Appends every check of `other`.
    pub fn extend(&mut self, other: CheckRegistry) {
        self.checks.extend(other.checks);
    }

    /// The tags of the checks `check --list-tags` would run (deployment ones only with
    /// `include_deployment_checks`), sorted (Django's `tags_available`).
    pub fn tags_available(&self, include_deployment_checks: bool) -> BTreeSet<String> {
        self.checks
            .iter()
            .filter(|c| include_deployment_checks || !c.deploy)
            .flat_map(|c| c.tags.iter().cloned())
            .collect()
    }

    /// Runs the checks `options` select, in registration order (Django's `run_checks`).
    pub fn run_checks(&self, handler: &Handler, options: &CheckOptions) -> Vec<CheckMessage> {
        let ctx = CheckContext {
            handler,
            databases: &options.databases,
        };
        self.checks
            .iter()
            .filter(|c| options.include_deployment_checks || !c.deploy)
            .filter(|c| {
                options
                    .tags
                    .as_ref()
                    .is_none_or(|wanted| c.tags.iter().any(|t| wanted.contains(t)))
            })
            .flat_map(|c| (c.check)(&ctx))
            .collect()
    }
}

/// Django's `SECRET_KEY_MIN_LENGTH`.
const SECRET_KEY_MIN_LENGTH: usize = 50;
/// Django's `SECRET_KEY_MIN_UNIQUE_CHARACTERS`.
const SECRET_KEY_MIN_UNIQUE_CHARACTERS: usize = 5;
/// Django's `SECRET_KEY_INSECURE_PREFIX`: what `startproject` writes.
const SECRET_KEY_INSECURE_PREFIX: &str = "django-insecure-";

/// `security.W009`: a short, repetitive or generated `secret_key`.
fn check_secret_key(ctx: &CheckContext<'_>) -> Vec<CheckMessage> {
    let key = &ctx.handler.settings().secret_key;
    let unique: BTreeSet<char> = key.chars().collect();
    let strong = unique.len() >= SECRET_KEY_MIN_UNIQUE_CHARACTERS
        && key.chars().count() >= SECRET_KEY_MIN_LENGTH
        && !key.starts_with(SECRET_KEY_INSECURE_PREFIX);
    if strong {
        return Vec::new();
    }
    vec![CheckMessage::warning(
        format!(
            "Your SECRET_KEY has less than {SECRET_KEY_MIN_LENGTH} characters, less than \
             {SECRET_KEY_MIN_UNIQUE_CHARACTERS} unique characters, or it's prefixed with \
             '{SECRET_KEY_INSECURE_PREFIX}' indicating that it was generated automatically by \
             Django. Please generate a long and random value, otherwise many of Django's \
             security-critical features will be vulnerable to attack."
        ),
        "security.W009",
    )]
}

/// `security.W018`: `debug = true`.
fn check_debug(ctx: &CheckContext<'_>) -> Vec<CheckMessage> {
    if !ctx.handler.settings().debug {
        return Vec::new();
    }
    vec![CheckMessage::warning(
        "You should not have DEBUG set to True in deployment.",
        "security.W018",
    )]
}

/// `security.W020`: no `allowed_hosts`.
fn check_allowed_hosts(ctx: &CheckContext<'_>) -> Vec<CheckMessage> {
    if !ctx.handler.settings().allowed_hosts.is_empty() {
        return Vec::new();
    }
    vec![CheckMessage::warning(
        "ALLOWED_HOSTS must not be empty in deployment.",
        "security.W020",
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use crate::settings::Settings;

    fn handler(settings: Settings) -> Handler {
        App::new(Vec::new()).into_handler(settings).unwrap()
    }

    #[test]
    fn messages_print_as_djangos() {
        let m = CheckMessage::error("Bad thing.", "app.E001");
        assert_eq!(m.to_string(), "?: (app.E001) Bad thing.");
        let m = m.hint("Fix it.").obj("settings.toml");
        assert_eq!(
            m.to_string(),
            "settings.toml: (app.E001) Bad thing.\n\tHINT: Fix it."
        );
        assert!(m.is_serious(Level::Error) && !m.is_serious(Level::Critical));
        assert_eq!(Level::from_name("WARNING"), Some(Level::Warning));
        assert_eq!(Level::from_name("warning"), None);
    }

    #[test]
    fn tags_and_deploy_select_the_checks() {
        let mut r = CheckRegistry::with_builtins();
        r.register(&["mine"], |_: &CheckContext<'_>| {
            vec![CheckMessage::info("hello", "mine.I001")]
        });
        r.register(&[tags::DATABASE], |ctx: &CheckContext<'_>| {
            ctx.databases
                .iter()
                .map(|d| CheckMessage::error(format!("{d} unreachable"), "db.E001"))
                .collect()
        });
        let mut s = Settings::default();
        s.debug = true;
        let h = handler(s);
        let ids = |options: &CheckOptions| -> Vec<String> {
            r.run_checks(&h, options)
                .into_iter()
                .map(|m| m.id)
                .collect()
        };
        assert_eq!(ids(&CheckOptions::default()), ["mine.I001"]);
        let deploy = CheckOptions {
            include_deployment_checks: true,
            ..CheckOptions::default()
        };
        assert_eq!(
            ids(&deploy),
            [
                "security.W009",
                "security.W018",
                "security.W020",
                "mine.I001"
            ]
        );
        let only_db = CheckOptions {
            tags: Some(vec![tags::DATABASE.into()]),
            databases: vec!["default".into()],
            ..deploy
        };
        assert_eq!(ids(&only_db), ["db.E001"]);
        assert_eq!(
            r.tags_available(false).into_iter().collect::<Vec<_>>(),
            ["database", "mine"]
        );
        assert!(r.tags_available(true).contains("security"));
    }

    #[test]
    fn a_long_random_key_passes_the_secret_key_check() {
        let mut s = Settings::default();
        s.secret_key = "django-insecure-".to_string() + &"abcdefghij".repeat(5);
        let h = handler(s.clone());
        let ctx = CheckContext {
            handler: &h,
            databases: &[],
        };
        assert_eq!(check_secret_key(&ctx).len(), 1, "the generated prefix");
        s.secret_key = "abcdefghij".repeat(5);
        let h = handler(s.clone());
        let ctx = CheckContext {
            handler: &h,
            databases: &[],
        };
        assert!(check_secret_key(&ctx).is_empty());
        s.secret_key = "abcd".repeat(20);
        let h = handler(s);
        let ctx = CheckContext {
            handler: &h,
            databases: &[],
        };
        assert_eq!(check_secret_key(&ctx).len(), 1, "four unique characters");
    }
}
