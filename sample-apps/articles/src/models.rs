//! The `Article` model (`articles_article`) on the db layer, its migration, and `Articles`,
//! the queries the views make (Django's `Article.objects`).
//!
//! The table is the Django twin's (bench/peers/django/articles: a `BigAutoField` key, `title`
//! a `CharField(max_length=200)`, `content` a `TextField`), made by the migration below on
//! `DATABASES` (SQLite by default, PostgreSQL with `DATABASE_URL`). The queries run on the
//! request thread's connection, which `conn_max_age` keeps across requests (the shipped
//! settings keep it for ten minutes, as the store's own pool did before).

use std::fmt;

use handler_core::db::migrations::{CreateModel, Field, Migration};
use handler_core::db::models::Model;
use handler_core::db::{DatabaseError, Value};
use serde::Serialize;

handler_core::model! {
    /// One article, as stored and as serialised in API responses.
    #[derive(Serialize)]
    pub struct Article in "articles_article" {
        pk id: i64,
        title: String,
        content: String,
    }
}

/// `articles/migrations/`: `0001_initial`, as Django's `makemigrations` writes it for the
/// twin's model.
pub fn migrations() -> Vec<Migration> {
    vec![Migration::new("articles", "0001_initial")
        .initial()
        .operation(
            CreateModel::new("Article")
                .field(Field::big_auto("id"))
                .field(Field::char("title", 200))
                .field(Field::text("content")),
        )]
}

/// What an update does to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FieldChange {
    /// Leaves the field as it is.
    #[default]
    Keep,
    /// Stores this text.
    Set(String),
    /// Stores NULL, what Django's `save()` does with a `None` attribute: the column is
    /// `NOT NULL`, so the update fails with the database's constraint error (Django's
    /// `IntegrityError`).
    Null,
}

impl FieldChange {
    fn value(&self) -> Option<Value> {
        match self {
            FieldChange::Keep => None,
            FieldChange::Set(text) => Some(Value::from(text.as_str())),
            FieldChange::Null => Some(Value::Null),
        }
    }
}

/// A partial update of an article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleChanges {
    /// The title.
    pub title: FieldChange,
    /// The content.
    pub content: FieldChange,
}

/// Why a model operation failed.
#[derive(Debug)]
pub enum ModelError {
    /// No article has that id (Django's `Article.DoesNotExist`).
    NotFound(i64),
    /// The database refused or failed.
    Database(DatabaseError),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::NotFound(id) => write!(f, "article {id} does not exist"),
            // The database's own words, as Django's str(IntegrityError) passes them on
            // (`NOT NULL constraint failed: articles_article.title`).
            ModelError::Database(e) => f.write_str(e.message()),
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::NotFound(_) => None,
            ModelError::Database(e) => Some(e),
        }
    }
}

impl From<DatabaseError> for ModelError {
    fn from(e: DatabaseError) -> Self {
        ModelError::Database(e)
    }
}

/// The article queries: Django's `Article.objects` on the default database.
#[derive(Debug, Default)]
pub struct Articles;

impl Articles {
    /// Every article, ordered by id.
    pub fn list(&self) -> Result<Vec<Article>, ModelError> {
        Ok(Article::objects().order_by("id").all()?)
    }

    /// The article with `id`, or `NotFound`.
    pub fn get(&self, id: i64) -> Result<Article, ModelError> {
        match Article::objects().get(id) {
            Ok(article) => Ok(article),
            Err(e) if e.is_does_not_exist() => Err(ModelError::NotFound(id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Inserts a new article and returns its id.
    pub fn create(&self, title: &str, content: &str) -> Result<i64, ModelError> {
        let article = Article::objects().create(Article {
            id: 0,
            title: title.to_string(),
            content: content.to_string(),
        })?;
        Ok(article.id)
    }

    /// Applies `changes` to the article with `id` and returns the updated article, or
    /// `NotFound`; the update and the read back are one transaction.
    pub fn update(&self, id: i64, changes: &ArticleChanges) -> Result<Article, ModelError> {
        let mut set: Vec<(&str, Value)> = Vec::with_capacity(2);
        if let Some(v) = changes.title.value() {
            set.push(("title", v));
        }
        if let Some(v) = changes.content.value() {
            set.push(("content", v));
        }
        handler_core::db::transaction::atomic(handler_core::db::DEFAULT_DB_ALIAS, || {
            if !set.is_empty() && Article::objects().filter("id", id).update(&set)? == 0 {
                return Err(ModelError::NotFound(id));
            }
            self.get(id)
        })
    }

    /// Deletes the article with `id`, or returns `NotFound`.
    pub fn delete(&self, id: i64) -> Result<(), ModelError> {
        if Article::objects().filter("id", id).delete()? == 0 {
            return Err(ModelError::NotFound(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use handler_core::db::{Databases, DatabasesSettings};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A migrated database file in its own temp directory, active on the test's thread,
    /// removed when dropped.
    struct TempDb {
        dir: PathBuf,
        databases: Arc<Databases>,
    }

    impl TempDb {
        fn new() -> TempDb {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "articles-models-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let databases = Databases::new(DatabasesSettings::sqlite(dir.join("db.sqlite3")));
            handler_core::db::migrations::migrate(&databases, "default", &migrations(), None)
                .unwrap();
            TempDb { dir, databases }
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            self.databases.close_all();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Creates an article and returns it as it is now stored.
    fn create(store: &Articles, title: &str, content: &str) -> Article {
        let id = store.create(title, content).unwrap();
        Article {
            id,
            title: title.to_string(),
            content: content.to_string(),
        }
    }

    #[test]
    fn crud_round_trip() {
        let tmp = TempDb::new();
        let _active = tmp.databases.activate();
        let store = Articles;
        let a = create(&store, "First", "one");
        let b = create(&store, "Second", "two");
        assert!(b.id > a.id);
        assert_eq!(store.get(a.id).unwrap(), a);
        assert_eq!(store.list().unwrap(), vec![a.clone(), b.clone()]);

        let changed = store
            .update(
                a.id,
                &ArticleChanges {
                    title: FieldChange::Set("Renamed".into()),
                    content: FieldChange::Keep,
                },
            )
            .unwrap();
        assert_eq!(changed.title, "Renamed");
        assert_eq!(
            changed.content, "one",
            "a partial update keeps the other field"
        );
        assert_eq!(store.get(a.id).unwrap(), changed);

        store.delete(a.id).unwrap();
        assert!(matches!(store.get(a.id), Err(ModelError::NotFound(id)) if id == a.id));
        assert_eq!(store.list().unwrap(), vec![b]);
    }

    #[test]
    fn unknown_ids_are_not_found() {
        let tmp = TempDb::new();
        let _active = tmp.databases.activate();
        let store = Articles;
        assert!(matches!(store.get(42), Err(ModelError::NotFound(42))));
        assert!(matches!(store.delete(42), Err(ModelError::NotFound(42))));
        let changes = ArticleChanges {
            title: FieldChange::Set("x".into()),
            content: FieldChange::Keep,
        };
        assert!(matches!(
            store.update(42, &changes),
            Err(ModelError::NotFound(42))
        ));
        assert!(matches!(
            store.update(42, &ArticleChanges::default()),
            Err(ModelError::NotFound(42))
        ));
    }

    #[test]
    fn ids_are_not_reused_after_delete() {
        let tmp = TempDb::new();
        let _active = tmp.databases.activate();
        let store = Articles;
        let a = create(&store, "a", "a");
        store.delete(a.id).unwrap();
        let b = create(&store, "b", "b");
        assert!(b.id > a.id);
    }

    #[test]
    fn concurrent_writers_do_not_fail() {
        let tmp = TempDb::new();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let databases = Arc::clone(&tmp.databases);
                std::thread::spawn(move || {
                    let _active = databases.activate();
                    let store = Articles;
                    for i in 0..25 {
                        let a = create(&store, &format!("t{t}-{i}"), "body");
                        store
                            .update(
                                a.id,
                                &ArticleChanges {
                                    title: FieldChange::Keep,
                                    content: FieldChange::Set(format!("edited {i}")),
                                },
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let _active = tmp.databases.activate();
        let all = Articles.list().unwrap();
        assert_eq!(all.len(), 200);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
        assert!(all.iter().all(|a| a.content.starts_with("edited ")));
    }

    #[test]
    fn null_is_refused_by_the_not_null_column() {
        let tmp = TempDb::new();
        let _active = tmp.databases.activate();
        let store = Articles;
        let a = create(&store, "t", "c");
        let err = store
            .update(
                a.id,
                &ArticleChanges {
                    title: FieldChange::Null,
                    content: FieldChange::Keep,
                },
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "NOT NULL constraint failed: articles_article.title"
        );
        assert_eq!(store.get(a.id).unwrap(), a, "nothing changed");
    }
}
