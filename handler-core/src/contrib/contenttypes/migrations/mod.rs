//! contenttypes' migrations, Django 5.2's own (the SQL `sqlmigrate` prints, per backend).

use crate::contrib::captured;
use crate::db::migrations::Migration;

/// `add_legacy_name`, `0002`'s backwards Python step: each content type's `name` becomes its
/// model's class name (contrib's, known here; another app's model gets its `model` column,
/// Django's fallback for a model it cannot load).
const ADD_LEGACY_NAME: &str = "UPDATE \"django_content_type\" SET \"name\" = CASE \
     WHEN \"app_label\" = 'auth' AND \"model\" = 'permission' THEN 'Permission' \
     WHEN \"app_label\" = 'auth' AND \"model\" = 'group' THEN 'Group' \
     WHEN \"app_label\" = 'auth' AND \"model\" = 'user' THEN 'User' \
     WHEN \"app_label\" = 'contenttypes' AND \"model\" = 'contenttype' THEN 'ContentType' \
     WHEN \"app_label\" = 'sessions' AND \"model\" = 'session' THEN 'Session' \
     ELSE \"model\" END";

/// `django.contrib.contenttypes.migrations`.
pub fn migrations() -> Vec<Migration> {
    let mut initial = Migration::new("contenttypes", "0001_initial").initial();
    initial.operations = captured!("0001_initial").operations(None);
    let mut remove_name = Migration::new("contenttypes", "0002_remove_content_type_name")
        .dependency("contenttypes", "0001_initial");
    remove_name.operations = captured!("0002_remove_content_type_name")
        .operations(Some((ADD_LEGACY_NAME, ADD_LEGACY_NAME)));
    vec![initial, remove_name]
}
