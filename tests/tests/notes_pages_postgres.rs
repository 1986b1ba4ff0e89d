//! The `notes_pages` suite on PostgreSQL: the same tests (notes_pages.rs), each server on a
//! database of its own on a throwaway PostgreSQL through `DATABASE_URL`
//! (notes_support::backend). Without PostgreSQL they run on SQLite and say so.

#[path = "notes_pages.rs"]
mod suite;
