//! The core's built-in commands (Django's `django/core/management/commands/`), one module
//! each: [`check`].

pub mod check;
