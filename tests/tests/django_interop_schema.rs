//! Django 5.2 migrates a fresh database, SQLite and a throwaway PostgreSQL: `showmigrations`
//! lists every contrib migration applied, and the schema, `django_migrations` rows and
//! post_migrate rows equal the vectors captured by `handler-core/tests/django_ddl/capture.py`
//! (which Portico's migrations are checked against). Guards the vectors and the helpers the
//! Portico-side interop tests stand on (tests/src/django.rs).
//!
//! Skips, saying why, when Django cannot be installed from PyPI or PostgreSQL cannot run.

use tests::django::{assert_same_schema, django_vectors, migration_plan, Django, TestDatabase};

fn django_migrates(django: &Django, db: &TestDatabase) {
    let before = django.showmigrations(db.url());
    assert!(before.iter().all(|m| !m.applied), "{before:?}");

    django.migrate(db.url());

    let shown = django.showmigrations(db.url());
    assert!(
        shown.iter().all(|m| m.applied),
        "not all applied: {shown:?}"
    );
    let mut shown: Vec<(String, String)> = shown.into_iter().map(|m| (m.app, m.name)).collect();
    let mut plan = migration_plan();
    shown.sort();
    plan.sort();
    assert_eq!(shown, plan);

    let dump = django.dump(db.url());
    assert_same_schema(&dump, &django_vectors(db.vendor()));

    // A second migrate is a no-op: the same schema and rows.
    let again = django.migrate(db.url());
    assert!(again.contains("No migrations to apply."), "{again}");
    assert_eq!(django.dump(db.url()), dump);
}

#[test]
fn django_migrates_sqlite_to_the_captured_schema() {
    if let Some(django) = Django::or_skip() {
        django_migrates(django, &TestDatabase::sqlite());
    }
}

#[test]
fn django_migrates_postgresql_to_the_captured_schema() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    if let Some(db) = TestDatabase::postgres_or_skip() {
        django_migrates(django, &db);
    }
}

/// The comparison fails, naming what differs, on a schema that is not Django's.
#[test]
fn a_different_schema_is_told_apart() {
    let Some(django) = Django::or_skip() else {
        return;
    };
    let db = TestDatabase::sqlite();
    django.migrate(db.url());
    django.sql(db.url(), "CREATE INDEX extra_idx ON auth_user (email)");
    let dump = django.dump(db.url());
    let failure = std::panic::catch_unwind(|| {
        assert_same_schema(&dump, &django_vectors(db.vendor()));
    })
    .expect_err("an extra index is a different schema");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("extra_idx"), "{message}");
}
