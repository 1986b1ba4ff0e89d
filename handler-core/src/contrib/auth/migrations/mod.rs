//! auth's migrations, Django 5.2's own (the SQL `sqlmigrate` prints, per backend).

use crate::contrib::captured;
use crate::db::migrations::Migration;

/// `django.contrib.auth.migrations`, with Django's dependencies.
pub fn migrations() -> Vec<Migration> {
    let step = |name: &str, previous: &str, captured: crate::contrib::Captured| {
        let mut m = Migration::new("auth", name).dependency("auth", previous);
        m.operations = captured.operations(None);
        m
    };
    let mut initial = Migration::new("auth", "0001_initial")
        .initial()
        .dependency("contenttypes", "0001_initial");
    initial.operations = captured!("0001_initial").operations(None);
    vec![
        initial,
        step(
            "0002_alter_permission_name_max_length",
            "0001_initial",
            captured!("0002_alter_permission_name_max_length"),
        ),
        step(
            "0003_alter_user_email_max_length",
            "0002_alter_permission_name_max_length",
            captured!("0003_alter_user_email_max_length"),
        ),
        step(
            "0004_alter_user_username_opts",
            "0003_alter_user_email_max_length",
            captured!("0004_alter_user_username_opts"),
        ),
        step(
            "0005_alter_user_last_login_null",
            "0004_alter_user_username_opts",
            captured!("0005_alter_user_last_login_null"),
        ),
        step(
            "0006_require_contenttypes_0002",
            "0005_alter_user_last_login_null",
            captured!("0006_require_contenttypes_0002"),
        )
        .dependency("contenttypes", "0002_remove_content_type_name"),
        step(
            "0007_alter_validators_add_error_messages",
            "0006_require_contenttypes_0002",
            captured!("0007_alter_validators_add_error_messages"),
        ),
        step(
            "0008_alter_user_username_max_length",
            "0007_alter_validators_add_error_messages",
            captured!("0008_alter_user_username_max_length"),
        ),
        step(
            "0009_alter_user_last_name_max_length",
            "0008_alter_user_username_max_length",
            captured!("0009_alter_user_last_name_max_length"),
        ),
        step(
            "0010_alter_group_name_max_length",
            "0009_alter_user_last_name_max_length",
            captured!("0010_alter_group_name_max_length"),
        ),
        step(
            "0011_update_proxy_permissions",
            "0010_alter_group_name_max_length",
            captured!("0011_update_proxy_permissions"),
        )
        .dependency("contenttypes", "0002_remove_content_type_name"),
        step(
            "0012_alter_user_first_name_max_length",
            "0011_update_proxy_permissions",
            captured!("0012_alter_user_first_name_max_length"),
        ),
    ]
}
