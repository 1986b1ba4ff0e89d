//! The app's one model, `Note` (`notes_note`), and its migration (`notes/migrations/` in
//! Django's layout). Users and sessions are contrib's: `auth_user` through Django's
//! `ModelBackend` and `django_session` through the `db` session engine, both on `DATABASES`,
//! created by contrib's own migrations.
//!
//! The migration is the Django twin's `0001_initial` (bench/peers/django/notes), so a
//! database either side migrated serves the other: a `BigAutoField` key, two `TextField`s and
//! `owner`, a foreign key to `auth_user` with Django's index and constraint names.

use handler_core::db::migrations::{CreateModel, Field, FieldKind, Migration};
use handler_core::db::models::Model;
use handler_core::db::DatabaseError;
use serde::Serialize;

handler_core::model! {
    /// A note of a user (Django: `class Note(models.Model)` with `owner`, `title`, `body`).
    pub struct Note in "notes_note" {
        pk id: i64,
        title: String,
        body: String,
        owner_id: i64,
    }
}

/// A note as the JSON API shows it: `{"id", "title", "body"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteJson {
    /// The primary key.
    pub id: i64,
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
}

impl From<Note> for NoteJson {
    fn from(note: Note) -> NoteJson {
        NoteJson {
            id: note.id,
            title: note.title,
            body: note.body,
        }
    }
}

/// `notes/migrations/`: Django's `makemigrations` output for the twin's model.
pub fn migrations() -> Vec<Migration> {
    vec![Migration::new("notes", "0001_initial")
        .initial()
        // `swappable_dependency(settings.AUTH_USER_MODEL)`: auth's first migration.
        .dependency("auth", "0001_initial")
        .operation(
            CreateModel::new("Note")
                .field(Field::big_auto("id"))
                .field(Field::text("title"))
                .field(Field::text("body"))
                .field(Field::foreign_key(
                    "owner",
                    "auth_user",
                    FieldKind::AutoField,
                )),
        )]
}

/// `Note.objects.filter(owner=owner).order_by("id")`.
pub fn notes_of(owner: i64) -> Result<Vec<NoteJson>, DatabaseError> {
    Ok(Note::objects()
        .filter("owner_id", owner)
        .order_by("id")
        .all()?
        .into_iter()
        .map(NoteJson::from)
        .collect())
}

/// `Note.objects.create(owner=owner, title=title, body=body)`.
pub fn create_note(owner: i64, title: &str, body: &str) -> Result<Note, DatabaseError> {
    Note::objects().create(Note {
        id: 0,
        title: title.to_string(),
        body: body.to_string(),
        owner_id: owner,
    })
}

/// Deletes `owner`'s note `id`; false when they have no such note.
pub fn delete_note(owner: i64, id: i64) -> Result<bool, DatabaseError> {
    Ok(Note::objects()
        .filter("id", id)
        .filter("owner_id", owner)
        .delete()?
        > 0)
}
