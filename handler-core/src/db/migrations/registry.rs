//! The migrations an app runs and what `migrate` does after them (Django's migration modules
//! of `INSTALLED_APPS` and the `post_migrate` signal): [`InstalledMigrations`], kept in the
//! app's typed registry. The app adds its own with [`App::migrations`]; contrib adds its
//! apps' (and connects its `post_migrate` receivers, `create_contenttypes` and
//! `create_permissions`) when it is configured, so this module never names contrib.

use std::sync::Arc;

use super::executor::{MigrationExecutor, PlanStep, Progress, Target};
use super::{Migration, MigrationError, Operation};
use crate::app::App;
use crate::db::{Connection, DatabaseError, Databases};
use crate::http::Extensions;

/// A model as `post_migrate` receivers see it (Django's `app_config.get_models()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The app label (`notes`).
    pub app_label: String,
    /// `_meta.model_name`: the class name in lower case (`note`).
    pub model: String,
    /// `_meta.verbose_name`: the class name split on its capitals (`content type`).
    pub verbose_name: String,
}

impl ModelRef {
    /// The model of class `object_name` (`ContentType`) in `app_label`.
    pub fn new(app_label: &str, object_name: &str) -> ModelRef {
        ModelRef {
            app_label: app_label.to_string(),
            model: object_name.to_lowercase(),
            verbose_name: camel_case_to_spaces(object_name),
        }
    }
}

/// Django's `camel_case_to_spaces`: a space before a capital that follows a lower-case
/// letter or that starts a capitalised word, then lower case (`ContentType` is
/// `content type`, `HTTPLog` is `http log`).
pub fn camel_case_to_spaces(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let after_lower = chars[i - 1].is_lowercase();
            let starts_word = chars.get(i + 1).is_some_and(|n| !n.is_uppercase());
            if after_lower || starts_word {
                out.push(' ');
            }
        }
        out.extend(c.to_lowercase());
    }
    out.trim().to_string()
}

/// A `post_migrate` receiver: runs on the migrated connection after every `migrate` (a no-op
/// plan included, as Django's signal), with every installed model.
pub type PostMigrate =
    Arc<dyn Fn(&Connection, &[ModelRef]) -> Result<(), DatabaseError> + Send + Sync>;

/// Every installed app's migrations, models and `post_migrate` receivers.
#[derive(Clone, Default)]
pub struct InstalledMigrations {
    migrations: Vec<Migration>,
    models: Vec<ModelRef>,
    post_migrate: Vec<PostMigrate>,
}

impl InstalledMigrations {
    /// Appends an app's migrations (its models are those its `CreateModel`s name).
    pub fn add(&mut self, migrations: impl IntoIterator<Item = Migration>) {
        self.migrations.extend(migrations);
    }

    /// Puts an app's migrations before the others (contrib's, as `INSTALLED_APPS` lists
    /// `django.contrib.*` first).
    pub fn prepend(&mut self, migrations: impl IntoIterator<Item = Migration>) {
        let mut all: Vec<Migration> = migrations.into_iter().collect();
        all.append(&mut self.migrations);
        self.migrations = all;
    }

    /// Declares a model the migrations do not create with a `CreateModel` (a table made
    /// with `RunSql`, as contrib's are).
    pub fn add_model(&mut self, model: ModelRef) {
        if !self.models.contains(&model) {
            self.models.push(model);
        }
    }

    /// Connects a `post_migrate` receiver.
    pub fn connect_post_migrate(&mut self, receiver: PostMigrate) {
        self.post_migrate.push(receiver);
    }

    /// The migrations, in the order they were added.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Whether an app has migrations here.
    pub fn has_app(&self, app_label: &str) -> bool {
        self.migrations.iter().any(|m| m.app_label == app_label)
    }

    /// The models: those declared, then each `CreateModel` of the migrations, in order.
    pub fn models(&self) -> Vec<ModelRef> {
        let mut models = self.models.clone();
        for m in &self.migrations {
            for op in &m.operations {
                if let Operation::CreateModel(create) = op {
                    let model = ModelRef::new(&m.app_label, &create.name);
                    if !models.contains(&model) {
                        models.push(model);
                    }
                }
            }
        }
        models
    }

    /// `manage.py migrate`: runs the plan to `target` on `alias` (`progress` sees each step),
    /// then sends `post_migrate` (forwards or not, as Django does) unless the plan failed.
    pub fn migrate(
        &self,
        databases: &Databases,
        alias: &str,
        target: &Target,
        progress: &mut Progress<'_>,
    ) -> Result<Vec<PlanStep>, MigrationError> {
        let executor = MigrationExecutor::new(databases.connection(alias)?, &self.migrations)?;
        let plan = executor.migrate(target, progress)?;
        self.emit_post_migrate(executor.connection())?;
        Ok(plan)
    }

    /// Sends `post_migrate` on `conn`.
    pub fn emit_post_migrate(&self, conn: &Connection) -> Result<(), MigrationError> {
        let models = self.models();
        for receiver in &self.post_migrate {
            receiver(conn, &models)
                .map_err(|e| MigrationError::new(None, format!("post_migrate failed: {e}")))?;
        }
        Ok(())
    }

    /// The executor on `alias`, for `showmigrations` and `--plan`.
    pub fn executor(
        &self,
        databases: &Databases,
        alias: &str,
    ) -> Result<MigrationExecutor<'_>, MigrationError> {
        MigrationExecutor::new(databases.connection(alias)?, &self.migrations)
    }
}

/// The installed migrations of an app's registry (an empty set when nothing was added).
pub fn installed(extensions: &Extensions) -> InstalledMigrations {
    extensions
        .get::<InstalledMigrations>()
        .cloned()
        .unwrap_or_default()
}

/// The registry's [`InstalledMigrations`], made when missing, for contrib's configuration.
pub fn installed_mut(extensions: &mut Extensions) -> &mut InstalledMigrations {
    if extensions.get::<InstalledMigrations>().is_none() {
        extensions.insert(InstalledMigrations::default());
    }
    extensions
        .get_mut::<InstalledMigrations>()
        .expect("inserted just above")
}

impl App {
    /// The app's migrations (Django's `APP/migrations/`), in order; `portico manage LIB
    /// migrate` applies them with contrib's. Call it once per app label.
    pub fn migrations(mut self, migrations: Vec<Migration>) -> Self {
        installed_mut(&mut self.extensions).add(migrations);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_names_are_djangos() {
        assert_eq!(camel_case_to_spaces("ContentType"), "content type");
        assert_eq!(camel_case_to_spaces("Note"), "note");
        assert_eq!(camel_case_to_spaces("HTTPLog"), "http log");
        let m = ModelRef::new("contenttypes", "ContentType");
        assert_eq!(
            (m.model.as_str(), m.verbose_name.as_str()),
            ("contenttype", "content type")
        );
    }
}
