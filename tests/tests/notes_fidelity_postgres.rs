//! The `notes_fidelity` suite on PostgreSQL: the same tests (notes_fidelity.rs), each server on a
//! database of its own on a throwaway PostgreSQL through `DATABASE_URL`
//! (notes_support::backend). Without PostgreSQL they run on SQLite and say so.

#[path = "notes_fidelity.rs"]
mod suite;
