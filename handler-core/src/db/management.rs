//! The database layer's management commands and check (Django's `migrate`, `showmigrations`,
//! `dbshell`, and a "database reachable" system check): they run the app's
//! [`InstalledMigrations`] (its own and those contrib installed) on `DATABASES`.

use std::io::Write;

use clap::{Arg, ArgAction};

use super::migrations::registry::{installed, InstalledMigrations};
use super::migrations::{MigrationError, PlanStep, Target};
use super::{DatabaseSettings, Engine, DEFAULT_DB_ALIAS};
use crate::checks::{CheckContext, CheckMessage, CheckRegistry};
use crate::management::base::{BaseCommand, CommandContext, CommandError};
use crate::management::{CommandRegistry, CORE_LABEL};

/// Registers `migrate`, `showmigrations` and `dbshell`.
pub fn register(commands: &mut CommandRegistry) {
    commands.register(CORE_LABEL, "migrate", Migrate);
    commands.register(CORE_LABEL, "showmigrations", ShowMigrations);
    commands.register(CORE_LABEL, "dbshell", DbShell);
}

/// Registers the check that each database answers (tag `database`).
pub fn register_checks(checks: &mut CheckRegistry) {
    checks.register(&["database"], check_database_reachable);
}

fn database_arg(help: &str) -> Arg {
    Arg::new("database")
        .long("database")
        .value_name("DATABASE")
        .default_value(DEFAULT_DB_ALIAS)
        .help(help.to_string())
}

fn alias(options: &clap::ArgMatches) -> &str {
    options
        .get_one::<String>("database")
        .map_or(DEFAULT_DB_ALIAS, String::as_str)
}

fn command_error(e: MigrationError) -> CommandError {
    CommandError::new(e.to_string())
}

/// `migrate [app_label] [migration_name]`.
pub struct Migrate;

impl BaseCommand for Migrate {
    fn help(&self) -> &str {
        "Updates database schema. Manages both apps with migrations and those without."
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(
                Arg::new("app_label").help("App label of an application to synchronize the state."),
            )
            .arg(Arg::new("migration_name").help(
                "Database state will be brought to the state after that migration. Use the name \
                 \"zero\" to unapply all migrations.",
            ))
            .arg(
                Arg::new("noinput")
                    .long("noinput")
                    .visible_alias("no-input")
                    .action(ArgAction::SetTrue)
                    .help("Tells Django to NOT prompt the user for input of any kind."),
            )
            .arg(database_arg(
                "Nominates a database to synchronize. Defaults to the \"default\" database.",
            ))
            .arg(
                Arg::new("plan")
                    .long("plan")
                    .action(ArgAction::SetTrue)
                    .help("Shows a list of the migration actions that will be performed."),
            )
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let handler = ctx.handler;
        let migrations = installed(handler.extensions());
        let alias = alias(options);
        let app = options.get_one::<String>("app_label").map(String::as_str);
        let name = options
            .get_one::<String>("migration_name")
            .map(String::as_str);
        let target = Target::parse(app, name);
        let databases = handler.databases();
        if databases.settings().get(alias).is_none() {
            return Err(CommandError::new(format!(
                "The connection '{alias}' doesn't exist."
            )));
        }
        let executor = migrations
            .executor(databases, alias)
            .map_err(command_error)?;
        let plan = executor.migration_plan(&target).map_err(command_error)?;
        if options.get_flag("plan") {
            return show_plan(ctx, &migrations, &plan);
        }
        let verbosity = ctx.verbosity;
        if verbosity >= 1 {
            ctx.stdout.write("Operations to perform:")?;
            let labels = executor.graph().app_labels().join(", ");
            ctx.stdout.write(match &target {
                Target::All => format!("  Apply all migrations: {labels}"),
                Target::App(app) => format!("  Apply all migrations: {app}"),
                Target::Zero(app) => format!("  Unapply all migrations: {app}"),
                Target::Migration(app, name) => {
                    format!("  Target specific migration: {name}, from {app}")
                }
            })?;
            ctx.stdout.write("Running migrations:")?;
            if plan.is_empty() {
                ctx.stdout.write("  No migrations to apply.")?;
            }
        }
        drop(executor);
        let out = &mut ctx.stdout;
        let mut io_error = None;
        let result = migrations.migrate(databases, alias, &target, &mut |step, result| {
            if verbosity < 1 {
                return;
            }
            let written = match result {
                None => write!(out, "  {step}...").and_then(|()| out.flush()),
                Some(Ok(())) => writeln!(out, " OK"),
                Some(Err(_)) => writeln!(out, " FAILED"),
            };
            if let Err(e) = written {
                io_error.get_or_insert(e);
            }
        });
        if let Some(e) = io_error {
            return Err(e.into());
        }
        result.map(|_| ()).map_err(command_error)
    }
}

/// `migrate --plan`: Django's "Planned operations:" list.
fn show_plan(
    ctx: &mut CommandContext<'_>,
    migrations: &InstalledMigrations,
    plan: &[PlanStep],
) -> Result<(), CommandError> {
    ctx.stdout.write("Planned operations:")?;
    if plan.is_empty() {
        ctx.stdout.write("  No planned migration operations.")?;
    }
    for step in plan {
        ctx.stdout
            .write(format!("{}.{}", step.app_label, step.name))?;
        let Some(m) = migrations
            .migrations()
            .iter()
            .find(|m| m.app_label == step.app_label && m.name == step.name)
        else {
            continue;
        };
        let ops: Vec<_> = if step.backwards {
            m.operations.iter().rev().collect()
        } else {
            m.operations.iter().collect()
        };
        for op in ops {
            let prefix = if step.backwards { "Undo " } else { "" };
            ctx.stdout.write(format!("    {prefix}{}", op.describe()))?;
        }
    }
    Ok(())
}

/// `showmigrations [app_label ...] [--plan]`.
pub struct ShowMigrations;

impl BaseCommand for ShowMigrations {
    fn help(&self) -> &str {
        "Shows all available migrations for the current project"
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(
                Arg::new("app_label")
                    .num_args(0..)
                    .help("App labels of applications to limit the output to."),
            )
            .arg(database_arg(
                "Nominates a database to show migrations for. Defaults to the \"default\" database.",
            ))
            .arg(
                Arg::new("list")
                    .short('l')
                    .long("list")
                    .action(ArgAction::SetTrue)
                    .help(
                        "Shows a list of all migrations and which are applied. With a verbosity \
                         level of 2 or above, the applied datetimes will be included.",
                    ),
            )
            .arg(
                Arg::new("plan")
                    .short('p')
                    .long("plan")
                    .action(ArgAction::SetTrue)
                    .help(
                        "Shows all migrations in the order they will be applied. With a \
                         verbosity level of 2 or above all direct migration dependencies and \
                         reverse dependencies (run_before) will be included.",
                    ),
            )
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let migrations = installed(ctx.handler.extensions());
        let executor = migrations
            .executor(ctx.handler.databases(), alias(options))
            .map_err(command_error)?;
        let labels: Vec<&str> = options
            .get_many::<String>("app_label")
            .map(|v| v.map(String::as_str).collect())
            .unwrap_or_default();
        if options.get_flag("plan") {
            let applied = executor.applied().map_err(command_error)?;
            let plan = executor
                .graph()
                .plan(&Target::All, &Default::default())
                .map_err(command_error)?;
            if plan.is_empty() {
                ctx.stdout.write("(no migrations)")?;
            }
            for step in plan {
                let key = (step.app_label.clone(), step.name.clone());
                let mark = if applied.contains(&key) { "X" } else { " " };
                ctx.stdout
                    .write(format!("[{mark}]  {}.{}", step.app_label, step.name))?;
            }
            return Ok(());
        }
        let text = executor
            .show_migrations(&labels)
            .map_err(|e| CommandError::new(e.to_string().trim_start_matches(": ").to_string()))?;
        ctx.stdout.write(text.trim_end_matches('\n'))?;
        Ok(())
    }
}

/// `dbshell [--database ALIAS] [-- ARGS]`: execs `sqlite3` or `psql` on the connection's
/// parameters, as Django's `DatabaseClient`s do.
pub struct DbShell;

/// The program and arguments (and `PGPASSWORD`) Django's client runs for `settings`.
pub fn shell_command(settings: &DatabaseSettings, extra: &[String]) -> std::process::Command {
    match settings.engine {
        Engine::Sqlite => {
            let mut cmd = std::process::Command::new("sqlite3");
            cmd.arg(&settings.name).args(extra);
            cmd
        }
        Engine::PostgreSql => {
            let mut cmd = std::process::Command::new("psql");
            if !settings.user.is_empty() {
                cmd.arg("-U").arg(&settings.user);
            }
            if !settings.host.is_empty() {
                cmd.arg("-h").arg(&settings.host);
            }
            if let Some(port) = settings.port {
                cmd.arg("-p").arg(port.to_string());
            }
            cmd.args(extra);
            cmd.arg(if settings.name.is_empty() {
                "postgres"
            } else {
                &settings.name
            });
            if !settings.password.is_empty() {
                cmd.env("PGPASSWORD", &settings.password);
            }
            cmd
        }
    }
}

impl BaseCommand for DbShell {
    fn help(&self) -> &str {
        "Runs the command-line client for specified database, or the default database if none \
         is provided."
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(database_arg(
                "Nominates a database onto which to open a shell. Defaults to the \"default\" \
                 database.",
            ))
            .arg(
                Arg::new("parameters")
                    .num_args(0..)
                    .last(true)
                    .help("Additional parameters to pass to the client."),
            )
    }

    fn requires_system_checks(&self) -> bool {
        false
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let alias = alias(options);
        let settings = ctx
            .handler
            .databases()
            .settings()
            .get(alias)
            .ok_or_else(|| CommandError::new(format!("The connection '{alias}' doesn't exist.")))?;
        let extra: Vec<String> = options
            .get_many::<String>("parameters")
            .map(|v| v.cloned().collect())
            .unwrap_or_default();
        let mut cmd = shell_command(settings, &extra);
        let program = cmd.get_program().to_string_lossy().into_owned();
        // exec replaces the process, as Django's subprocess.run leaves the terminal to the
        // client; it only returns on failure.
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        if e.kind() == std::io::ErrorKind::NotFound {
            return Err(CommandError::new(format!(
                "You appear not to have the '{program}' program installed or on your path."
            )));
        }
        Err(CommandError::new(format!("{program}: {e}")))
    }
}

/// Each database (those `check --database` names, or every configured one) answers: a
/// PostgreSQL server is connected to; an SQLite file's directory exists (connecting would
/// create the file).
fn check_database_reachable(ctx: &CheckContext<'_>) -> Vec<CheckMessage> {
    let databases = ctx.handler.databases();
    let aliases: Vec<String> = if ctx.databases.is_empty() {
        databases.settings().aliases().map(str::to_string).collect()
    } else {
        ctx.databases.to_vec()
    };
    let mut messages = Vec::new();
    for alias in aliases {
        let Some(settings) = databases.settings().get(&alias) else {
            messages.push(CheckMessage::error(
                format!("The connection '{alias}' doesn't exist."),
                "database.E001",
            ));
            continue;
        };
        let named = ctx.databases.contains(&alias);
        let problem = match settings.engine {
            Engine::Sqlite if !named => {
                let path = std::path::Path::new(&settings.name);
                match path.parent() {
                    Some(dir)
                        if settings.name != ":memory:"
                            && !dir.as_os_str().is_empty()
                            && !dir.is_dir() =>
                    {
                        Some(format!("the directory {} does not exist", dir.display()))
                    }
                    _ => None,
                }
            }
            _ => databases
                .connection(&alias)
                .and_then(|c| c.ensure_connection())
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(problem) = problem {
            messages.push(
                CheckMessage::error(
                    format!(
                        "Database '{alias}' ({}) is unreachable: {problem}",
                        settings.target()
                    ),
                    "database.E001",
                )
                .hint("Check DATABASES (or DATABASE_URL) and that the server is running."),
            );
        }
    }
    messages
}
