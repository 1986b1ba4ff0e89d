//! The `articles` sample app: the seeds' Django examples (../shared/contracts/articles-app.md)
//! on handler-core, served through the gateway ABI.
//!
//! Module map, as a Django project would lay it out: `bodies` (the contract's JSON bodies),
//! `config` (the `[app]` settings table), `forms` (reading bodies and query numbers as the views
//! need them), `middleware` (the seeds' middleware), `models` (the `Article` model on SQLite).
pub mod bodies;
pub mod config;
pub mod forms;
pub mod middleware;
pub mod models;
