//! Test app.
