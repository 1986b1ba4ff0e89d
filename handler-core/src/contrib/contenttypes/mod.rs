//! Content types (Django's `django.contrib.contenttypes`): the `django_content_type` table
//! (its [`migrations`]), and [`create_contenttypes`], the `post_migrate` step that gives each
//! installed model its row.

pub mod migrations;

use crate::db::migrations::ModelRef;
use crate::db::{Connection, DatabaseError};

/// The id of `app_label.model`'s row, if it has one (`ContentType.objects.get_by_natural_key`).
pub fn get_by_natural_key(
    conn: &Connection,
    app_label: &str,
    model: &str,
) -> Result<Option<i64>, DatabaseError> {
    match conn.query_row(
        "SELECT \"id\" FROM \"django_content_type\" WHERE \"app_label\" = %s AND \"model\" = %s",
        &[app_label.into(), model.into()],
    )? {
        Some(row) => Ok(Some(row.get(0)?)),
        None => Ok(None),
    }
}

/// Django's `create_contenttypes` for one app's `models`: inserts the rows that are missing,
/// in the models' order (so ids are given as Django gives them), and returns each model's id.
pub fn create_contenttypes(
    conn: &Connection,
    models: &[&ModelRef],
) -> Result<Vec<i64>, DatabaseError> {
    let mut ids = Vec::with_capacity(models.len());
    for model in models {
        let id = match get_by_natural_key(conn, &model.app_label, &model.model)? {
            Some(id) => id,
            None => {
                conn.execute(
                    "INSERT INTO \"django_content_type\" (\"app_label\", \"model\") VALUES (%s, %s)",
                    &[model.app_label.as_str().into(), model.model.as_str().into()],
                )?;
                get_by_natural_key(conn, &model.app_label, &model.model)?.ok_or_else(|| {
                    DatabaseError::new(
                        crate::db::ErrorKind::DatabaseError,
                        conn.alias(),
                        "creating content types",
                        format!("{}.{} was not inserted", model.app_label, model.model),
                    )
                })?
            }
        };
        ids.push(id);
    }
    Ok(ids)
}
