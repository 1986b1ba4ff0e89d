//! auth's `post_migrate` work (Django's `django.contrib.auth.management`):
//! [`create_permissions`], the add / change / delete / view permissions of every installed
//! model, after their content types.

use std::collections::BTreeSet;

use crate::contrib::contenttypes::create_contenttypes;
use crate::db::migrations::{MigrationRecorder, ModelRef};
use crate::db::{Connection, DatabaseError};

/// Django's `Options.default_permissions`.
pub const DEFAULT_PERMISSIONS: [&str; 4] = ["add", "change", "delete", "view"];

/// The `post_migrate` receiver: for each app in the order its first model comes (contrib's
/// first, as `INSTALLED_APPS` lists them), its content types then its permissions
/// (`create_permissions` calls `create_contenttypes` first), in one transaction. Existing rows
/// are kept, so a database Django migrated gets nothing new.
///
/// As Django's receivers look the models up in the migrated state and return when they are
/// not there, nothing happens unless `contenttypes 0002` and `auth 0001` are applied (after a
/// `migrate auth zero`, say).
pub fn post_migrate(conn: &Connection, models: &[ModelRef]) -> Result<(), DatabaseError> {
    let applied = MigrationRecorder::new(conn).applied_migrations()?;
    let has = |app: &str, name: &str| applied.contains(&(app.to_string(), name.to_string()));
    if !has("contenttypes", "0002_remove_content_type_name") || !has("auth", "0001_initial") {
        return Ok(());
    }
    let mut apps: Vec<&str> = Vec::new();
    for m in models {
        if !apps.contains(&m.app_label.as_str()) {
            apps.push(&m.app_label);
        }
    }
    conn.atomic(|| {
        for app in apps {
            let app_models: Vec<&ModelRef> = models.iter().filter(|m| m.app_label == app).collect();
            create_permissions(conn, &app_models)?;
        }
        Ok(())
    })
}

/// Django's `create_permissions` for one app's models: their content types, then
/// `Can add note` / `add_note` and the others for each, those missing only.
pub fn create_permissions(conn: &Connection, models: &[&ModelRef]) -> Result<(), DatabaseError> {
    let ids = create_contenttypes(conn, models)?;
    let mut existing: BTreeSet<(i64, String)> = BTreeSet::new();
    for row in conn.query(
        "SELECT \"content_type_id\", \"codename\" FROM \"auth_permission\"",
        &[],
    )? {
        existing.insert((row.get(0)?, row.get(1)?));
    }
    for (model, ct) in models.iter().zip(ids) {
        for action in DEFAULT_PERMISSIONS {
            let codename = format!("{action}_{}", model.model);
            if existing.contains(&(ct, codename.clone())) {
                continue;
            }
            // Django truncates the name to the column's 255 characters.
            let name: String = format!("Can {action} {}", model.verbose_name)
                .chars()
                .take(255)
                .collect();
            conn.execute(
                "INSERT INTO \"auth_permission\" (\"name\", \"content_type_id\", \"codename\") \
                 VALUES (%s, %s, %s)",
                &[name.into(), ct.into(), codename.into()],
            )?;
        }
    }
    Ok(())
}
