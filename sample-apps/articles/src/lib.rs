//! Sample app.
