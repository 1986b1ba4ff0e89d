//! The `articles` sample app: the seeds' Django examples (../shared/contracts/articles-app.md)
//! on handler-core, served through the gateway ABI.
//!
//! Module map, as a Django project would lay it out: `bodies` (the contract's JSON bodies),
//! `config` (the `[app]` settings table), `forms` (reading bodies and query numbers as the views
//! need them), `middleware` (the seeds' middleware), `models` (the `Article` model on SQLite),
//! `urls` (the URL conf), `views` (function and class-based views). [`build`] is the project:
//! it reads the settings, opens the database and registers the middleware.
//!
//! Run it: `portico --settings sample-apps/articles/settings.toml libarticles.so`.

use std::sync::Arc;

use handler_core::{App, ConfigError, Settings};

pub mod bodies;
pub mod config;
pub mod forms;
pub mod middleware;
pub mod models;
pub mod urls;
pub mod views;

use config::AppSettings;
use models::Articles;

/// Builds the app from its settings: the `[app]` table, the database (created with its schema
/// when missing), the URL conf and the seeds' middleware under the names settings use.
pub fn build(settings: &Settings) -> Result<App, ConfigError> {
    let app_settings: AppSettings = settings.app_config()?;
    let database = app_settings.database_path(&settings.base_dir());
    let articles = Articles::open(&database).map_err(|e| {
        let file = settings
            .path()
            .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
        ConfigError::new(format!("{file}: [app] database: {e}"))
    })?;
    log::info!(target: "articles", "articles database: {}", database.display());

    let app = App::new(urls::urlpatterns(Arc::new(articles)))
        .middleware("request_timer", |_: &Settings| Ok(middleware::RequestTimer))
        .middleware("powered_by", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::PoweredBy {
                value: cfg.powered_by,
            })
        })
        .middleware("api_logging", |_: &Settings| Ok(middleware::ApiLogging))
        .middleware("api_key_check", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::ApiKeyCheck {
                api_key: cfg.api_key,
            })
        })
        .middleware("token_auth", |s: &Settings| {
            let cfg: AppSettings = s.app_config()?;
            Ok(middleware::TokenAuth { tokens: cfg.tokens })
        })
        .middleware("error_handler", |s: &Settings| {
            Ok(middleware::ErrorHandler { debug: s.debug })
        });
    Ok(app)
}

handler_core::export_app!(build);
