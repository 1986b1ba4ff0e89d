//! Migrations (Django's `django.db.migrations`): an app declares its ordered [`Migration`]s
//! (contrib declares its own); [`migrate`] applies what `django_migrations` does not list,
//! each in a transaction with its record, and goes back to a target by unapplying reversible
//! ones; [`showmigrations`] prints Django's `[X] 0001_initial` list.
//!
//! - [`operations`]: `CreateModel`, `AddField`, `AddIndex`, `RunSql`, and the DDL Django 5.2
//!   writes for them on SQLite and PostgreSQL.
//! - [`recorder`]: `django_migrations`, the same table Django makes, so one database can be
//!   migrated by either side.
//! - [`executor`]: the graph, the plan, and applying it.
//!
//! Each migration depends on the one before it in its app (as `makemigrations` writes them)
//! and on the other apps' migrations it names (`.dependency("auth", "0012_alter_user_first_name_max_length")`).

pub mod executor;
pub mod operations;
pub mod recorder;
pub mod registry;

pub use executor::{
    sqlmigrate, MigrationError, MigrationExecutor, MigrationGraph, PlanStep, Target,
};
pub use operations::{AddField, AddIndex, CreateModel, Field, FieldKind, Operation, RunSql};
pub use recorder::MigrationRecorder;
pub use registry::{InstalledMigrations, ModelRef, PostMigrate};

use crate::db::Databases;

/// One migration of an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The app (`notes`, `auth`).
    pub app_label: String,
    /// Its name (`0001_initial`).
    pub name: String,
    /// Other apps' migrations it needs (`(app, name)`); the app's previous one is implied.
    pub dependencies: Vec<(String, String)>,
    /// What it does, in order.
    pub operations: Vec<Operation>,
    /// Run in one transaction (Django's default).
    pub atomic: bool,
    /// Django's `initial = True`.
    pub initial: bool,
}

impl Migration {
    /// An empty, atomic migration `app_label.name`.
    pub fn new(app_label: &str, name: &str) -> Migration {
        Migration {
            app_label: app_label.to_string(),
            name: name.to_string(),
            dependencies: Vec::new(),
            operations: Vec::new(),
            atomic: true,
            initial: false,
        }
    }

    /// Depends on `app.name`.
    pub fn dependency(mut self, app: &str, name: &str) -> Migration {
        self.dependencies.push((app.to_string(), name.to_string()));
        self
    }

    /// Adds an operation.
    pub fn operation(mut self, op: impl Into<Operation>) -> Migration {
        self.operations.push(op.into());
        self
    }

    /// `initial = True`.
    pub fn initial(mut self) -> Migration {
        self.initial = true;
        self
    }

    /// `atomic = False`: each statement commits on its own (for what cannot run in a
    /// transaction, such as PostgreSQL's `CREATE INDEX CONCURRENTLY`).
    pub fn non_atomic(mut self) -> Migration {
        self.atomic = false;
        self
    }

    /// `app.name`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.app_label, self.name)
    }
}

/// `manage.py migrate [app] [name] --database alias`: runs the plan to `target` (`None`:
/// everything) on `alias`, logging Django's `Applying notes.0001_initial... OK` lines, and
/// returns the steps it ran. Running it again is a no-op.
pub fn migrate(
    databases: &Databases,
    alias: &str,
    migrations: &[Migration],
    target: Option<Target>,
) -> Result<Vec<PlanStep>, MigrationError> {
    let executor = MigrationExecutor::new(databases.connection(alias)?, migrations)?;
    executor.migrate(&target.unwrap_or(Target::All), &mut |step, result| {
        if let Some(result) = result {
            match result {
                Ok(()) => log::info!(target: "django.db.migrations", "  {step}... OK"),
                Err(e) => log::error!(target: "django.db.migrations", "  {step}... FAILED: {e}"),
            }
        }
    })
}

/// `manage.py showmigrations [app ...] --database alias`: each app, then ` [X] name` for an
/// applied migration and ` [ ] name` for one that is not.
pub fn showmigrations(
    databases: &Databases,
    alias: &str,
    migrations: &[Migration],
    app_labels: &[&str],
) -> Result<String, MigrationError> {
    let executor = MigrationExecutor::new(databases.connection(alias)?, migrations)?;
    executor.show_migrations(app_labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tests::temp_databases;
    use crate::db::{Connection, ErrorKind};

    fn migrations() -> Vec<Migration> {
        vec![
            Migration::new("auth", "0001_initial").initial().operation(
                CreateModel::new("User")
                    .field(Field::auto("id"))
                    .field(Field::char("username", 150).unique()),
            ),
            Migration::new("notes", "0001_initial")
                .initial()
                .dependency("auth", "0001_initial")
                .operation(
                    CreateModel::new("Note")
                        .field(Field::big_auto("id"))
                        .field(Field::char("title", 200))
                        .field(Field::foreign_key(
                            "owner",
                            "auth_user",
                            FieldKind::AutoField,
                        )),
                ),
            Migration::new("notes", "0002_note_edited")
                .operation(AddField::new("Note", Field::datetime("edited").null()))
                .operation(AddIndex::new("Note", "notes_title_idx", &["title"])),
        ]
    }

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        conn.query(
            &format!("SELECT name FROM pragma_table_info('{table}')"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect()
    }

    #[test]
    fn migrate_applies_in_dependency_order_records_and_is_a_no_op_twice() {
        let (databases, dir) = temp_databases("migrate");
        let all = migrations();
        // Declared out of order: the dependency still comes first.
        let shuffled = vec![all[1].clone(), all[2].clone(), all[0].clone()];
        let steps = migrate(&databases, "default", &shuffled, None).unwrap();
        let names: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "Applying auth.0001_initial",
                "Applying notes.0001_initial",
                "Applying notes.0002_note_edited"
            ]
        );
        let conn = databases.connection("default").unwrap();
        assert_eq!(
            columns(&conn, "notes_note"),
            ["id", "title", "owner_id", "edited"]
        );
        let recorded = MigrationRecorder::new(&conn).applied_migrations().unwrap();
        assert_eq!(recorded.len(), 3);
        assert_eq!(
            columns(&conn, "django_migrations"),
            ["id", "app", "name", "applied"]
        );
        assert!(migrate(&databases, "default", &all, None)
            .unwrap()
            .is_empty());
        assert_eq!(
            showmigrations(&databases, "default", &all, &[]).unwrap(),
            "auth\n [X] 0001_initial\nnotes\n [X] 0001_initial\n [X] 0002_note_edited\n"
        );
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_failing_migration_rolls_back_and_names_itself() {
        let (databases, dir) = temp_databases("migrate-fail");
        let mut all = migrations();
        all.push(
            Migration::new("notes", "0003_broken")
                .operation(RunSql::new("CREATE TABLE notes_tag (id integer)"))
                .operation(RunSql::new(
                    "ALTER TABLE no_such_table ADD COLUMN x integer",
                )),
        );
        let e = migrate(&databases, "default", &all, None).unwrap_err();
        assert_eq!(e.migration(), Some("notes.0003_broken"));
        let text = e.to_string();
        assert!(text.contains("Applying notes.0003_broken failed"), "{text}");
        assert!(text.contains("no such table: no_such_table"), "{text}");
        assert_eq!(
            e.database_error().map(|d| d.kind()),
            Some(ErrorKind::OperationalError)
        );
        let conn = databases.connection("default").unwrap();
        assert!(
            !recorder::has_table(&conn, "notes_tag").unwrap(),
            "the failing migration's first statement was rolled back"
        );
        let shown = showmigrations(&databases, "default", &all, &["notes"]).unwrap();
        assert_eq!(
            shown,
            "notes\n [X] 0001_initial\n [X] 0002_note_edited\n [ ] 0003_broken\n"
        );
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn migrating_back_unapplies_reversible_ones_and_names_an_irreversible_one() {
        let (databases, dir) = temp_databases("migrate-back");
        let mut all = migrations();
        all.push(Migration::new("notes", "0003_seed").operation(RunSql::new(
            "INSERT INTO auth_user (username) VALUES ('seed')",
        )));
        migrate(&databases, "default", &all, None).unwrap();
        let conn = databases.connection("default").unwrap();
        let e = migrate(
            &databases,
            "default",
            &all,
            Some(Target::parse(Some("notes"), Some("0001"))),
        )
        .unwrap_err();
        assert_eq!(e.migration(), Some("notes.0003_seed"));
        assert!(e.to_string().contains("is irreversible"), "{e}");
        // Made reversible, it goes back to 0001: 0003 and 0002 are unapplied, in that order.
        all[3] = Migration::new("notes", "0003_seed").operation(
            RunSql::new("INSERT INTO auth_user (username) VALUES ('seed')")
                .reverse("DELETE FROM auth_user WHERE username = 'seed'"),
        );
        let steps = migrate(
            &databases,
            "default",
            &all,
            Some(Target::parse(Some("notes"), Some("0001"))),
        )
        .unwrap();
        assert_eq!(
            steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            [
                "Unapplying notes.0003_seed",
                "Unapplying notes.0002_note_edited"
            ]
        );
        assert_eq!(columns(&conn, "notes_note"), ["id", "title", "owner_id"]);
        // auth back to zero takes notes with it.
        let steps = migrate(
            &databases,
            "default",
            &all,
            Some(Target::Zero("auth".into())),
        )
        .unwrap();
        assert_eq!(
            steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            [
                "Unapplying notes.0001_initial",
                "Unapplying auth.0001_initial"
            ]
        );
        assert!(!recorder::has_table(&conn, "auth_user").unwrap());
        assert!(MigrationRecorder::new(&conn)
            .applied_migrations()
            .unwrap()
            .is_empty());
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_graph_refuses_missing_parents_cycles_and_bad_targets() {
        let missing =
            vec![Migration::new("notes", "0001_initial").dependency("auth", "0001_initial")];
        let e = MigrationGraph::new(&missing).err().unwrap();
        assert_eq!(
            e.to_string(),
            "migration notes.0001_initial: its dependencies reference nonexistent parent node ('auth', '0001_initial')"
        );
        let cycle = vec![
            Migration::new("a", "0001").dependency("b", "0001"),
            Migration::new("b", "0001").dependency("a", "0001"),
        ];
        assert!(MigrationGraph::new(&cycle)
            .err()
            .unwrap()
            .to_string()
            .contains("circular"));
        let all = migrations();
        let graph = MigrationGraph::new(&all).unwrap();
        let none = Default::default();
        for (target, problem) in [
            (
                Target::parse(Some("blog"), None),
                "App 'blog' does not have migrations.",
            ),
            (
                Target::parse(Some("notes"), Some("0009")),
                "Cannot find a migration matching '0009' from app 'notes'.",
            ),
            (
                Target::parse(Some("notes"), Some("000")),
                "More than one migration matches '000' in app 'notes'.",
            ),
        ] {
            let e = graph.plan(&target, &none).unwrap_err();
            assert!(e.to_string().starts_with(problem), "{e}");
        }
        // An applied migration whose dependency is not: Django's InconsistentMigrationHistory.
        let applied = [("notes".to_string(), "0001_initial".to_string())]
            .into_iter()
            .collect();
        let e = graph
            .check_consistent_history(&applied, "default")
            .unwrap_err();
        assert!(
            e.to_string().contains("InconsistentMigrationHistory"),
            "{e}"
        );
    }

    #[test]
    fn sqlmigrate_prints_what_django_prints() {
        let all = migrations();
        let sql = sqlmigrate(&all[0], crate::db::Engine::PostgreSql, false).unwrap();
        assert_eq!(
            sql,
            "BEGIN;\n--\n-- Create model User\n--\nCREATE TABLE \"auth_user\" (\"id\" integer NOT NULL \
             PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, \"username\" varchar(150) NOT NULL UNIQUE);\n\
             CREATE INDEX \"auth_user_username_6821ab7c_like\" ON \"auth_user\" (\"username\" varchar_pattern_ops);\n\
             COMMIT;\n"
        );
    }
}
