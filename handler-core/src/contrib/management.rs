//! contrib's management commands: auth's `createsuperuser` and `changepassword` (on
//! `auth_user` through [`backends`](super::auth::backends), Django's prompts and error texts)
//! and sessions' `clearsessions`.
//!
//! Prompts: when the process's stdin is a terminal, as Django's, with passwords read without
//! echo (`getpass`). Otherwise the answers are read as lines from the command's stdin (a pipe,
//! or [`call_command`](crate::management::call_command)'s input in tests); when that input is
//! empty, `createsuperuser` says Django's "skipped due to not running in a TTY".

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::SystemTime;

use clap::{Arg, ArgAction};

use super::auth::backends::{self, NewUser};
use super::sessions::{DjangoSessionTable, SessionDatabase, SessionStore};
use crate::db::{Connection, DEFAULT_DB_ALIAS};
use crate::management::base::{BaseCommand, CommandContext, CommandError};
use crate::management::CommandRegistry;

/// Registers `createsuperuser`, `changepassword` (app `auth`) and `clearsessions`
/// (`sessions`).
pub fn register(commands: &mut CommandRegistry) {
    commands.register("auth", "createsuperuser", CreateSuperuser);
    commands.register("auth", "changepassword", ChangePassword);
    commands.register("sessions", "clearsessions", ClearSessions);
}

/// Django's `UnicodeUsernameValidator` and the field's `max_length`; the error text when
/// `username` is not valid.
pub fn validate_username(username: &str) -> Option<String> {
    let count = username.chars().count();
    if count > 150 {
        return Some(format!(
            "Ensure this value has at most 150 characters (it has {count})."
        ));
    }
    let valid = username
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "@.+-".contains(c));
    (!valid).then(|| {
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ \
         characters."
            .to_string()
    })
}

fn database(options: &clap::ArgMatches) -> &str {
    options
        .get_one::<String>("database")
        .map_or(DEFAULT_DB_ALIAS, String::as_str)
}

fn connection(ctx: &CommandContext<'_>, alias: &str) -> Result<Connection, CommandError> {
    ctx.handler
        .databases()
        .connection(alias)
        .map_err(|e| CommandError::new(e.to_string()))
}

fn db_error(e: crate::db::DatabaseError) -> CommandError {
    CommandError::new(e.to_string())
}

/// A prompt answered from the terminal or from the command's stdin; `None` at the end of
/// the input.
fn prompt(
    ctx: &mut CommandContext<'_>,
    question: &str,
    secret: bool,
) -> Result<Option<String>, CommandError> {
    if std::io::stdin().is_terminal() && secret {
        ctx.stdout.flush()?;
        return match rpassword::prompt_password(question) {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    write!(ctx.stdout, "{question}")?;
    ctx.stdout.flush()?;
    let mut line = String::new();
    if ctx.stdin.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// Django's `getpass.getuser()` default, lower-cased (`get_system_username` /
/// `get_default_username`).
fn system_username() -> Option<String> {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|u| u.to_lowercase())
}

/// `createsuperuser`'s `_validate_username`.
fn username_error(conn: &Connection, username: &str) -> Result<Option<String>, CommandError> {
    if backends::get_by_natural_key(conn, username)
        .map_err(db_error)?
        .is_some()
    {
        return Ok(Some("Error: That username is already taken.".to_string()));
    }
    if username.is_empty() {
        return Ok(Some("Username cannot be blank.".to_string()));
    }
    Ok(validate_username(username))
}

/// `createsuperuser`.
pub struct CreateSuperuser;

const NOT_A_TTY: &str = "Superuser creation skipped due to not running in a TTY. You can run \
                         `manage.py createsuperuser` in your project to create one manually.";

impl BaseCommand for CreateSuperuser {
    fn help(&self) -> &str {
        "Used to create a superuser."
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(
                Arg::new("username")
                    .long("username")
                    .value_name("USERNAME")
                    .help("Specifies the login for the superuser."),
            )
            .arg(
                Arg::new("noinput")
                    .long("noinput")
                    .visible_alias("no-input")
                    .action(ArgAction::SetTrue)
                    .help(
                        "Tells Django to NOT prompt the user for input of any kind. You must use \
                         --username with --noinput, along with an option for any other required \
                         field. Superusers created with --noinput will not be able to log in \
                         until they're given a valid password.",
                    ),
            )
            .arg(
                Arg::new("database")
                    .long("database")
                    .value_name("DATABASE")
                    .default_value(DEFAULT_DB_ALIAS)
                    .help("Specifies the database to use. Default is \"default\"."),
            )
            .arg(
                Arg::new("email")
                    .long("email")
                    .value_name("EMAIL")
                    .help("Specifies the email for the superuser."),
            )
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let conn = connection(ctx, database(options))?;
        let env = |k: &str| std::env::var(k).ok();
        let mut username = options.get_one::<String>("username").cloned();
        let mut email = options.get_one::<String>("email").cloned();
        let password;
        if options.get_flag("noinput") {
            // Django: the environment fills what the options leave out.
            username = username.or_else(|| env("DJANGO_SUPERUSER_USERNAME"));
            email = email.or_else(|| env("DJANGO_SUPERUSER_EMAIL"));
            password = env("DJANGO_SUPERUSER_PASSWORD");
            let Some(name) = username.as_deref() else {
                return Err(CommandError::new("You must use --username with --noinput."));
            };
            if let Some(error) = username_error(&conn, name)? {
                return Err(CommandError::new(error));
            }
        } else {
            match self.interactive(ctx, &conn, username, email)? {
                Some((u, e, p)) => {
                    username = Some(u);
                    email = Some(e);
                    password = Some(p);
                }
                None => return Ok(()),
            }
        }
        let username = username.unwrap_or_default();
        backends::create_user_with(
            &conn,
            &username,
            &NewUser {
                email: email.as_deref().unwrap_or(""),
                password: password.as_deref(),
                is_staff: true,
                is_superuser: true,
            },
        )
        .map_err(db_error)?;
        if ctx.verbosity >= 1 {
            ctx.stdout.write("Superuser created successfully.")?;
        }
        Ok(())
    }
}

impl CreateSuperuser {
    /// The prompts: username (with the system user as default when it is free), email,
    /// password twice; `None` when the input ended (Django's "skipped" or "cancelled").
    fn interactive(
        &self,
        ctx: &mut CommandContext<'_>,
        conn: &Connection,
        mut username: Option<String>,
        email: Option<String>,
    ) -> Result<Option<(String, String, String)>, CommandError> {
        let mut first = true;
        if let Some(name) = username.as_deref() {
            if let Some(error) = username_error(conn, name)? {
                ctx.stderr.write(error)?;
                username = None;
            }
        }
        let default = match system_username() {
            Some(u) if username_error(conn, &u)?.is_none() => Some(u),
            _ => None,
        };
        let username = match username {
            Some(u) => u,
            None => loop {
                let question = match &default {
                    Some(d) => format!("Username (leave blank to use '{d}'): "),
                    None => "Username: ".to_string(),
                };
                let Some(mut answer) = prompt(ctx, &question, false)? else {
                    return self.ended(ctx, first);
                };
                first = false;
                if answer.is_empty() {
                    if let Some(d) = &default {
                        answer = d.clone();
                    }
                }
                match username_error(conn, &answer)? {
                    Some(error) => ctx.stderr.write(error)?,
                    None => break answer,
                }
            },
        };
        let email = match email {
            Some(e) => e,
            None => match prompt(ctx, "Email address: ", false)? {
                Some(e) => e,
                None => return self.ended(ctx, first),
            },
        };
        loop {
            let Some(password) = prompt(ctx, "Password: ", true)? else {
                return self.ended(ctx, false);
            };
            let Some(again) = prompt(ctx, "Password (again): ", true)? else {
                return self.ended(ctx, false);
            };
            if password != again {
                ctx.stderr.write("Error: Your passwords didn't match.")?;
                continue;
            }
            if password.trim().is_empty() {
                ctx.stderr.write("Error: Blank passwords aren't allowed.")?;
                continue;
            }
            return Ok(Some((
                username,
                backends::normalize_email(&email),
                password,
            )));
        }
    }

    /// The input ended: before any answer, Django's not-a-TTY skip; later, its
    /// "Operation cancelled." (exit status 1).
    fn ended<T>(
        &self,
        ctx: &mut CommandContext<'_>,
        first: bool,
    ) -> Result<Option<T>, CommandError> {
        if first {
            ctx.stdout.write(NOT_A_TTY)?;
            Ok(None)
        } else {
            ctx.stderr.write("\nOperation cancelled.")?;
            Err(CommandError::new("Operation cancelled."))
        }
    }
}

/// `changepassword [username]`.
pub struct ChangePassword;

/// Django's `MAX_TRIES`.
const MAX_TRIES: usize = 3;

impl BaseCommand for ChangePassword {
    fn help(&self) -> &str {
        "Change a user's password for django.contrib.auth."
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(
                Arg::new("username").help(
                    "Username to change password for; by default, it's the current username.",
                ),
            )
            .arg(
                Arg::new("database")
                    .long("database")
                    .value_name("DATABASE")
                    .default_value(DEFAULT_DB_ALIAS)
                    .help("Specifies the database to use. Default is \"default\"."),
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
        let username = options
            .get_one::<String>("username")
            .cloned()
            .or_else(system_username)
            .unwrap_or_default();
        let conn = connection(ctx, database(options))?;
        if backends::get_by_natural_key(&conn, &username)
            .map_err(db_error)?
            .is_none()
        {
            return Err(CommandError::new(format!(
                "user '{username}' does not exist"
            )));
        }
        ctx.stdout
            .write(format!("Changing password for user '{username}'"))?;
        let mut count = 0;
        let mut password = None;
        while count < MAX_TRIES {
            let (Some(p1), Some(p2)) = (
                prompt(ctx, "Password: ", true)?,
                prompt(ctx, "Password (again): ", true)?,
            ) else {
                break;
            };
            if p1 != p2 {
                ctx.stdout
                    .write("Passwords do not match. Please try again.")?;
                count += 1;
                continue;
            }
            password = Some(p1);
            break;
        }
        let Some(password) = password else {
            return Err(CommandError::new(format!(
                "Aborting password change for user '{username}' after {count} attempts"
            )));
        };
        backends::set_password(&conn, &username, &password).map_err(db_error)?;
        ctx.stdout.write(format!(
            "Password changed successfully for user '{username}'"
        ))?;
        Ok(())
    }
}

/// `clearsessions`: the session engine's `clear_expired` (the `db` engine deletes the rows of
/// `django_session` that expired; signed cookies have nothing to clear).
pub struct ClearSessions;

impl BaseCommand for ClearSessions {
    fn help(&self) -> &str {
        "Can be run as a cronjob or directly to clean out expired sessions when the backend \
         supports it."
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        _options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let extensions = ctx.handler.extensions();
        let result = if let Some(engine) = extensions.get::<Arc<dyn SessionStore>>() {
            engine.clear_expired()
        } else if let Some(db) = extensions.get::<Arc<dyn SessionDatabase>>() {
            db.clear_expired(SystemTime::now())
        } else if super::sessions::middleware::DB_ENGINES
            .contains(&ctx.settings().session_engine.as_str())
        {
            DjangoSessionTable::new(Arc::clone(ctx.handler.databases()), DEFAULT_DB_ALIAS)
                .clear_expired(SystemTime::now())
        } else {
            Ok(())
        };
        result.map_err(|e| CommandError::new(e.to_string()))
    }
}
