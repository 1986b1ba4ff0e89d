//! Transactions (Django's `django.db.transaction`): [`atomic`] runs a closure in a
//! transaction, or in a savepoint when one is already open; an `Err` or a panic rolls back
//! what the closure did, `Ok` commits (or releases the savepoint). [`set_rollback`] marks the
//! innermost block to roll back without an error, and [`on_commit`] runs a callback once the
//! outermost transaction has committed (at once outside one; never when it rolls back).
//!
//! The statements are Django's: `BEGIN` (SQLite: `BEGIN IMMEDIATE` with
//! `options.transaction_mode`), `SAVEPOINT "s<thread>_x<n>"`, `RELEASE SAVEPOINT`,
//! `ROLLBACK TO SAVEPOINT`, `COMMIT`, `ROLLBACK`. A rollback that fails means the connection
//! is broken: it is closed, as Django closes it.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{connection, Connection, DatabaseError, ErrorKind};

/// Django's `transaction.atomic(using=alias)`: runs `f` in a transaction on `alias` (the
/// active databases' connection of this thread), or in a savepoint inside one.
///
/// ```
/// # use handler_core::db::{Databases, DatabasesSettings, DatabaseError, transaction};
/// # let dir = std::env::temp_dir().join(format!("portico-atomic-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let databases = Databases::new(DatabasesSettings::sqlite(dir.join("db.sqlite3")));
/// # let _active = databases.activate();
/// let db = handler_core::db::connection("default")?;
/// db.execute("CREATE TABLE IF NOT EXISTS t (x integer)", &[])?;
/// let failed: Result<(), DatabaseError> = transaction::atomic("default", || {
///     db.execute("INSERT INTO t VALUES (1)", &[])?;
///     db.execute("INSERT INTO nowhere VALUES (1)", &[])?; // fails: the first insert is undone
///     Ok(())
/// });
/// assert!(failed.is_err());
/// assert!(db.query("SELECT x FROM t", &[])?.is_empty());
/// # drop(_active); std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), DatabaseError>(())
/// ```
pub fn atomic<T, E>(alias: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E>
where
    E: From<DatabaseError>,
{
    let conn = connection(alias)?;
    conn.atomic(f)
}

/// Django's `transaction.set_rollback(rollback, using=alias)`: the innermost `atomic` block
/// rolls back when it ends, even without an error. An error outside a block.
pub fn set_rollback(alias: &str, rollback: bool) -> Result<(), DatabaseError> {
    connection(alias)?.set_rollback(rollback)
}

/// Django's `transaction.get_rollback(using=alias)`.
pub fn get_rollback(alias: &str) -> Result<bool, DatabaseError> {
    connection(alias)?.get_rollback()
}

/// Django's `transaction.on_commit(func, using=alias)`: `f` runs after the outermost
/// transaction commits, or now when no transaction is open; it is dropped if the transaction
/// (or the savepoint it was registered in) rolls back.
pub fn on_commit(alias: &str, f: impl FnOnce() + 'static) -> Result<(), DatabaseError> {
    connection(alias)?.on_commit(f);
    Ok(())
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// A small number for this thread, in savepoint names (Django uses the thread's ident).
    static THREAD_IDENT: Cell<u64> = const { Cell::new(0) };
}

fn thread_ident() -> u64 {
    THREAD_IDENT.with(|t| {
        if t.get() == 0 {
            t.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        t.get()
    })
}

/// Exits the block when the closure unwinds.
struct ExitOnUnwind<'a> {
    conn: &'a Connection,
    savepoint: Option<String>,
    armed: bool,
}

impl Drop for ExitOnUnwind<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = exit(self.conn, self.savepoint.take(), false);
        }
    }
}

impl Connection {
    /// [`atomic`] on this connection.
    pub fn atomic<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        E: From<DatabaseError>,
    {
        let savepoint = enter(self)?;
        let mut guard = ExitOnUnwind {
            conn: self,
            savepoint: savepoint.clone(),
            armed: true,
        };
        let result = f();
        guard.armed = false;
        let exited = exit(self, savepoint, result.is_ok());
        match (result, exited) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), _) => Err(e),
        }
    }

    /// [`set_rollback`] on this connection.
    pub fn set_rollback(&self, rollback: bool) -> Result<(), DatabaseError> {
        let mut state = self.state();
        if !state.in_atomic_block {
            return Err(self.error(
                ErrorKind::TransactionManagementError,
                "setting the rollback flag",
                "The rollback flag doesn't work outside of an 'atomic' block.",
            ));
        }
        state.needs_rollback = rollback;
        Ok(())
    }

    /// [`get_rollback`] on this connection.
    pub fn get_rollback(&self) -> Result<bool, DatabaseError> {
        let state = self.state();
        if !state.in_atomic_block {
            return Err(self.error(
                ErrorKind::TransactionManagementError,
                "reading the rollback flag",
                "The rollback flag doesn't work outside of an 'atomic' block.",
            ));
        }
        Ok(state.needs_rollback)
    }

    /// [`on_commit`] on this connection.
    pub fn on_commit(&self, f: impl FnOnce() + 'static) {
        let mut state = self.state();
        if state.in_atomic_block {
            let savepoints = state.savepoint_ids.clone();
            state.run_on_commit.push((savepoints, Box::new(f)));
        } else {
            drop(state);
            f();
        }
    }
}

/// Django's `Atomic.__enter__`: `BEGIN` outside a transaction, a savepoint inside one.
fn enter(conn: &Connection) -> Result<Option<String>, DatabaseError> {
    let (in_block, closed) = {
        let state = conn.state();
        (state.in_atomic_block, state.closed_in_transaction)
    };
    if !in_block {
        conn.with_backend(
            || "starting a transaction".to_string(),
            |b| {
                let begin = b.begin_sql().to_string();
                b.execute_batch(&begin)
            },
        )?;
        let mut state = conn.state();
        state.in_atomic_block = true;
        state.needs_rollback = false;
        state.closed_in_transaction = false;
        return Ok(None);
    }
    if closed {
        return Err(conn.error(
            ErrorKind::InterfaceError,
            "creating a savepoint",
            "connection already closed (it was lost inside a transaction)",
        ));
    }
    let sid = {
        let mut state = conn.state();
        state.savepoint_counter += 1;
        format!("s{}_x{}", thread_ident(), state.savepoint_counter)
    };
    conn.control(&format!("SAVEPOINT \"{sid}\""))?;
    conn.state().savepoint_ids.push(sid.clone());
    Ok(Some(sid))
}

/// Django's `Atomic.__exit__`. `success`: the block returned `Ok`.
fn exit(conn: &Connection, savepoint: Option<String>, success: bool) -> Result<(), DatabaseError> {
    let (closed, needs_rollback) = {
        let state = conn.state();
        (state.closed_in_transaction, state.needs_rollback)
    };
    let lost = || {
        conn.error(
            ErrorKind::InterfaceError,
            "ending a transaction",
            "the connection was lost inside the transaction; nothing of it was committed",
        )
    };
    match savepoint {
        None => {
            if closed {
                reset(conn);
                return if success { Err(lost()) } else { Ok(()) };
            }
            if success && !needs_rollback {
                match conn.control("COMMIT") {
                    Ok(()) => {
                        let hooks = {
                            let mut state = conn.state();
                            state.in_atomic_block = false;
                            state.needs_rollback = false;
                            state.savepoint_ids.clear();
                            std::mem::take(&mut state.run_on_commit)
                        };
                        for (_, hook) in hooks {
                            hook();
                        }
                        Ok(())
                    }
                    Err(e) => {
                        if conn.control("ROLLBACK").is_err() {
                            conn.close();
                        }
                        reset(conn);
                        Err(e)
                    }
                }
            } else {
                if conn.control("ROLLBACK").is_err() {
                    conn.close();
                }
                reset(conn);
                Ok(())
            }
        }
        Some(sid) => {
            conn.state().savepoint_ids.retain(|s| *s != sid);
            if closed {
                conn.state().needs_rollback = true;
                return if success { Err(lost()) } else { Ok(()) };
            }
            if success && !needs_rollback {
                if let Err(e) = conn.control(&format!("RELEASE SAVEPOINT \"{sid}\"")) {
                    rollback_to(conn, &sid);
                    return Err(e);
                }
                Ok(())
            } else {
                conn.state().needs_rollback = false;
                rollback_to(conn, &sid);
                Ok(())
            }
        }
    }
}

/// `ROLLBACK TO SAVEPOINT` then `RELEASE` (it will not be reused), dropping the `on_commit`
/// callbacks registered inside it; when that fails, the enclosing block must roll back.
fn rollback_to(conn: &Connection, sid: &str) {
    let rolled_back = conn
        .control(&format!("ROLLBACK TO SAVEPOINT \"{sid}\""))
        .and_then(|()| conn.control(&format!("RELEASE SAVEPOINT \"{sid}\"")));
    let mut state = conn.state();
    state
        .run_on_commit
        .retain(|(savepoints, _)| !savepoints.iter().any(|s| s == sid));
    if rolled_back.is_err() {
        state.needs_rollback = true;
    }
}

/// Leaves the outermost block: no transaction, no callbacks.
fn reset(conn: &Connection) {
    let mut state = conn.state();
    state.in_atomic_block = false;
    state.needs_rollback = false;
    state.closed_in_transaction = false;
    state.savepoint_ids.clear();
    state.run_on_commit.clear();
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::db::tests::temp_databases;

    fn count(conn: &Connection) -> i64 {
        conn.query("SELECT count(*) FROM t", &[]).unwrap()[0]
            .get(0)
            .unwrap()
    }

    #[test]
    fn atomic_commits_on_ok_and_rolls_back_on_err_and_panic() {
        let (databases, dir) = temp_databases("atomic");
        let _active = databases.activate();
        let db = connection("default").unwrap();
        db.execute("CREATE TABLE t (x integer)", &[]).unwrap();
        atomic("default", || db.execute("INSERT INTO t VALUES (1)", &[])).unwrap();
        assert_eq!(count(&db), 1);
        assert!(!db.in_atomic_block());

        let failed: Result<(), DatabaseError> = atomic("default", || {
            db.execute("INSERT INTO t VALUES (2)", &[])?;
            Err(db.error(ErrorKind::DatabaseError, "test", "the view failed"))
        });
        assert!(failed.is_err());
        assert_eq!(count(&db), 1, "an Err rolls back");

        let db2 = db.clone();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), DatabaseError> = atomic("default", || {
                db2.execute("INSERT INTO t VALUES (3)", &[])?;
                panic!("the view panicked");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(count(&db), 1, "a panic rolls back");
        assert!(!db.in_atomic_block());

        // set_rollback: no error, still rolled back; outside a block it is an error.
        atomic("default", || {
            db.execute("INSERT INTO t VALUES (4)", &[])?;
            set_rollback("default", true)?;
            assert!(get_rollback("default")?);
            Ok::<_, DatabaseError>(())
        })
        .unwrap();
        assert_eq!(count(&db), 1);
        let e = set_rollback("default", true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TransactionManagementError);
        drop(_active);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn nested_blocks_use_savepoints() {
        let (databases, dir) = temp_databases("savepoints");
        let db = databases.connection("default").unwrap();
        db.execute("CREATE TABLE t (x integer)", &[]).unwrap();
        db.atomic(|| {
            db.execute("INSERT INTO t VALUES (1)", &[])?;
            let inner: Result<(), DatabaseError> = db.atomic(|| {
                db.execute("INSERT INTO t VALUES (2)", &[])?;
                db.execute("INSERT INTO nowhere VALUES (2)", &[])?;
                Ok(())
            });
            assert!(inner.is_err());
            assert_eq!(count(&db), 1, "only the inner block is undone");
            db.atomic(|| db.execute("INSERT INTO t VALUES (3)", &[]))?;
            assert!(db.in_atomic_block());
            Ok::<_, DatabaseError>(())
        })
        .unwrap();
        assert_eq!(count(&db), 2);
        // An inner block that succeeds is undone by an outer one that fails.
        let _: Result<(), DatabaseError> = db.atomic(|| {
            db.atomic(|| db.execute("INSERT INTO t VALUES (5)", &[]))?;
            Err(db.error(ErrorKind::DatabaseError, "test", "outer fails"))
        });
        assert_eq!(count(&db), 2);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn on_commit_runs_after_the_outermost_commit_only() {
        let (databases, dir) = temp_databases("on-commit");
        let db = databases.connection("default").unwrap();
        let ran = Rc::new(RefCell::new(Vec::new()));
        let log = |tag: &'static str| {
            let ran = Rc::clone(&ran);
            move || ran.borrow_mut().push(tag)
        };
        db.on_commit(log("autocommit"));
        assert_eq!(*ran.borrow(), ["autocommit"], "outside a block: at once");
        db.atomic(|| {
            db.on_commit(log("outer"));
            let _: Result<(), DatabaseError> = db.atomic(|| {
                db.on_commit(log("rolled-back savepoint"));
                Err(db.error(ErrorKind::DatabaseError, "test", "inner fails"))
            });
            db.atomic(|| {
                db.on_commit(log("released savepoint"));
                Ok::<_, DatabaseError>(())
            })?;
            assert_eq!(ran.borrow().len(), 1, "nothing runs before the commit");
            Ok::<_, DatabaseError>(())
        })
        .unwrap();
        assert_eq!(*ran.borrow(), ["autocommit", "outer", "released savepoint"]);
        let _: Result<(), DatabaseError> = db.atomic(|| {
            db.on_commit(log("never"));
            Err(db.error(ErrorKind::DatabaseError, "test", "fails"))
        });
        assert_eq!(ran.borrow().len(), 3, "a rollback drops the callbacks");
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }
}
