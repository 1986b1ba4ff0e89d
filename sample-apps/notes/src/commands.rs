//! The app's start-up work and its management command (`management/commands/` in Django's
//! layout): the database migrated (contrib's migrations and the app's), and the users of
//! `[app.users]` created when missing, at start-up and by `portico manage … seed_users`.
//!
//! Several workers, or several instances on one PostgreSQL, may start at once. On PostgreSQL
//! the migration runs under an advisory lock, so one migrates and the others find it done;
//! on SQLite a start that lost the race to another process finds the work done when it looks
//! again. A user another process created first is no error either.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use handler_core::contrib::auth::backends::{create_user_with, get_by_natural_key, NewUser};
use handler_core::db::migrations::registry::installed;
use handler_core::db::migrations::Target;
use handler_core::db::{Connection, Databases, Engine, DEFAULT_DB_ALIAS};
use handler_core::http::Extensions;
use handler_core::management::{CommandError, FnCommand};

use crate::config::UserSeed;

/// The advisory lock the start-up migration holds on PostgreSQL (any number the app owns).
const MIGRATION_LOCK: i64 = 0x6e6f_7465_735f_6d69; // "notes_mi"

/// How many times a start-up migration is tried on SQLite, where another process may be
/// migrating the same file.
const SQLITE_ATTEMPTS: u32 = 3;

/// Django's `migrate` of every installed app (contrib's and this one's) on the default
/// database, as the app starts.
pub fn migrate(databases: &Arc<Databases>, extensions: &Extensions) -> Result<(), String> {
    let installed = installed(extensions);
    let conn = databases
        .connection(DEFAULT_DB_ALIAS)
        .map_err(|e| e.to_string())?;
    let run = || {
        installed
            .migrate(
                databases,
                DEFAULT_DB_ALIAS,
                &Target::All,
                &mut |step, outcome| {
                    if let Some(Ok(())) = outcome {
                        log::info!(target: "notes", "{step}... OK");
                    }
                },
            )
            .map(drop)
            .map_err(|e| e.to_string())
    };
    if conn.settings().engine == Engine::PostgreSql {
        conn.execute("SELECT pg_advisory_lock(%s)", &[MIGRATION_LOCK.into()])
            .map_err(|e| e.to_string())?;
        let outcome = run();
        let unlocked = conn
            .execute("SELECT pg_advisory_unlock(%s)", &[MIGRATION_LOCK.into()])
            .map_err(|e| e.to_string());
        return outcome.and(unlocked.map(drop));
    }
    let mut attempt = 1;
    loop {
        match run() {
            Ok(()) => return Ok(()),
            Err(e) if attempt < SQLITE_ATTEMPTS => {
                log::warn!(target: "notes", "migrate: {e}; another process may be migrating, trying again");
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// What [`ensure_users`] did to one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// The user was created with the settings' hash.
    Created,
    /// A user of that name existed (its password is left as it is).
    Existed,
}

/// Creates the users of `[app.users]` that do not exist yet, through contrib's
/// `create_user`, with the settings' hash stored as written (Django's format, never rehashed);
/// an existing user keeps the password it has.
pub fn ensure_users(
    databases: &Arc<Databases>,
    users: &BTreeMap<String, UserSeed>,
) -> Result<Vec<(String, Seeded)>, String> {
    let conn = databases
        .connection(DEFAULT_DB_ALIAS)
        .map_err(|e| e.to_string())?;
    let mut done = Vec::new();
    for (username, seed) in users {
        let outcome =
            ensure_user(&conn, username, seed).map_err(|e| format!("user {username:?}: {e}"))?;
        done.push((username.clone(), outcome));
    }
    Ok(done)
}

fn ensure_user(
    conn: &Connection,
    username: &str,
    seed: &UserSeed,
) -> Result<Seeded, handler_core::db::DatabaseError> {
    if get_by_natural_key(conn, username)?.is_some() {
        return Ok(Seeded::Existed);
    }
    // One transaction: the user appears with its hash or not at all.
    let created = conn.atomic(|| {
        let new = NewUser {
            is_staff: seed.staff,
            ..NewUser::default()
        };
        create_user_with(conn, username, &new)?;
        conn.execute(
            "UPDATE \"auth_user\" SET \"password\" = %s WHERE \"username\" = %s",
            &[seed.password.as_str().into(), username.into()],
        )
    });
    match created {
        Ok(_) => Ok(Seeded::Created),
        // Another worker created it between the look and the insert.
        Err(e) if e.is_integrity_error() && get_by_natural_key(conn, username)?.is_some() => {
            Ok(Seeded::Existed)
        }
        Err(e) => Err(e),
    }
}

/// `portico manage … seed_users`: creates the users of `[app.users]` that are missing and
/// says what it did for each.
pub fn seed_users(users: BTreeMap<String, UserSeed>) -> FnCommand {
    FnCommand::new(
        "Creates the users of [app.users] that do not exist yet (with the settings' password \
         hashes); existing users are left as they are.",
        move |ctx, _options| {
            let databases = Arc::clone(ctx.settings().connections());
            let done = ensure_users(&databases, &users);
            // Closed here, on the command's thread: a PostgreSQL client left in the thread's
            // connections would be dropped after its runtime's thread-locals at exit.
            databases.close_all();
            let done = done.map_err(CommandError::new)?;
            for (username, outcome) in done {
                let line = match outcome {
                    Seeded::Created => format!("Created user {username:?}."),
                    Seeded::Existed => format!("User {username:?} exists; left as it is."),
                };
                ctx.stdout.write(line)?;
            }
            Ok(())
        },
    )
}
