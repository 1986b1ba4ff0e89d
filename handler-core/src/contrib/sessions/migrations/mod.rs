//! sessions' migration, Django 5.2's own (the SQL `sqlmigrate` prints, per backend).

use crate::contrib::captured;
use crate::db::migrations::Migration;

/// `django.contrib.sessions.migrations`.
pub fn migrations() -> Vec<Migration> {
    let mut initial = Migration::new("sessions", "0001_initial").initial();
    initial.operations = captured!("0001_initial").operations(None);
    vec![initial]
}
