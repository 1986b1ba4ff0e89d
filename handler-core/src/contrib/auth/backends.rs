//! Django's `ModelBackend` on `auth_user` (the store `auth` uses when the app registers no
//! [`UserStore`]): users by id and by natural key, `last_login` on login, and permissions as
//! `ModelBackend.get_all_permissions` gathers them (the user's own through
//! `auth_user_user_permissions` and its groups' through `auth_user_groups` →
//! `auth_group_permissions`, named `app_label.codename` through `django_content_type`;
//! a superuser has all of them; an inactive user none). Also `UserManager`'s
//! [`create_user`], [`create_superuser`] and [`set_password`], for commands and tests.

use std::sync::Arc;

use chrono::Utc;

use super::hashers::{make_password, make_unusable_password};
use super::{StoreError, StoredUser, UserStore};
use crate::db::{Connection, DatabaseError, Databases, Row, Value};

/// The columns [`StoredUser`] is read from.
/// The user columns authentication reads, `auth_user` filtered by one column: a literal, so
/// the per-request `get_user` builds no query string.
macro_rules! select_user_where {
    ($column:literal) => {
        concat!(
            "SELECT \"id\", \"username\", \"password\", \"is_active\", \"is_staff\", ",
            "\"is_superuser\" FROM \"auth_user\" WHERE \"",
            $column,
            "\" = %s"
        )
    };
}

/// `ModelBackend` over `auth_user` on one database.
pub struct ModelBackend {
    databases: Arc<Databases>,
    alias: String,
}

impl ModelBackend {
    /// The backend on database `alias` of `databases`.
    pub fn new(databases: Arc<Databases>, alias: &str) -> ModelBackend {
        ModelBackend {
            databases,
            alias: alias.to_string(),
        }
    }

    fn conn(&self) -> Result<Connection, StoreError> {
        Ok(self.databases.connection(&self.alias)?)
    }
}

fn stored(row: &Row) -> Result<StoredUser, DatabaseError> {
    Ok(StoredUser {
        id: row.get::<i64>(0)?.to_string(),
        username: row.get(1)?,
        password: row.get(2)?,
        is_active: row.get(3)?,
        is_staff: row.get(4)?,
        is_superuser: row.get(5)?,
    })
}

/// The user with primary key `id` (`None` for an id that is not an integer, as Django's
/// `get_user` answers `None` on a `ValidationError`).
pub fn get_user_by_id(conn: &Connection, id: &str) -> Result<Option<StoredUser>, DatabaseError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    conn.query_row(select_user_where!("id"), &[id.into()])?
        .map(|r| stored(&r))
        .transpose()
}

/// `UserManager.get_by_natural_key(username)`.
pub fn get_by_natural_key(
    conn: &Connection,
    username: &str,
) -> Result<Option<StoredUser>, DatabaseError> {
    conn.query_row(select_user_where!("username"), &[username.into()])?
        .map(|r| stored(&r))
        .transpose()
}

/// `ModelBackend.get_all_permissions(user)`, sorted: none for an inactive user, every
/// permission for a superuser, else the user's and its groups'.
pub fn get_all_permissions(
    conn: &Connection,
    user: &StoredUser,
) -> Result<Vec<String>, DatabaseError> {
    if !user.is_active {
        return Ok(Vec::new());
    }
    let rows = if user.is_superuser {
        conn.query(
            "SELECT \"django_content_type\".\"app_label\", \"auth_permission\".\"codename\" \
             FROM \"auth_permission\" INNER JOIN \"django_content_type\" \
             ON \"auth_permission\".\"content_type_id\" = \"django_content_type\".\"id\"",
            &[],
        )?
    } else {
        let Ok(id) = user.id.parse::<i64>() else {
            return Ok(Vec::new());
        };
        conn.query(
            "SELECT \"django_content_type\".\"app_label\", \"auth_permission\".\"codename\" \
             FROM \"auth_permission\" INNER JOIN \"django_content_type\" \
             ON \"auth_permission\".\"content_type_id\" = \"django_content_type\".\"id\" \
             WHERE \"auth_permission\".\"id\" IN ( \
               SELECT \"permission_id\" FROM \"auth_user_user_permissions\" WHERE \"user_id\" = %s \
               UNION \
               SELECT \"auth_group_permissions\".\"permission_id\" FROM \"auth_group_permissions\" \
               INNER JOIN \"auth_user_groups\" \
               ON \"auth_group_permissions\".\"group_id\" = \"auth_user_groups\".\"group_id\" \
               WHERE \"auth_user_groups\".\"user_id\" = %s)",
            &[id.into(), id.into()],
        )?
    };
    let mut perms = rows
        .iter()
        .map(|r| Ok(format!("{}.{}", r.get::<String>(0)?, r.get::<String>(1)?)))
        .collect::<Result<Vec<_>, DatabaseError>>()?;
    perms.sort_unstable();
    perms.dedup();
    Ok(perms)
}

impl UserStore for ModelBackend {
    fn get_user(&self, user_id: &str) -> Result<Option<StoredUser>, StoreError> {
        Ok(get_user_by_id(&self.conn()?, user_id)?)
    }

    fn get_by_natural_key(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        Ok(get_by_natural_key(&self.conn()?, username)?)
    }

    fn get_all_permissions(&self, user: &StoredUser) -> Result<Vec<String>, StoreError> {
        Ok(get_all_permissions(&self.conn()?, user)?)
    }

    /// Django's `update_last_login` receiver.
    fn user_logged_in(&self, user: &StoredUser) -> Result<(), StoreError> {
        let Ok(id) = user.id.parse::<i64>() else {
            return Ok(());
        };
        self.conn()?.execute(
            "UPDATE \"auth_user\" SET \"last_login\" = %s WHERE \"id\" = %s",
            &[Value::DateTime(Utc::now()), id.into()],
        )?;
        Ok(())
    }
}

/// `BaseUserManager.normalize_email`: the domain part in lower case.
pub fn normalize_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_string(),
    }
}

/// What `create_user` / `create_superuser` set beyond the username.
#[derive(Debug, Clone, Default)]
pub struct NewUser<'a> {
    /// `email` (normalised).
    pub email: &'a str,
    /// The raw password; `None` gives an unusable one, as Django's `set_unusable_password`.
    pub password: Option<&'a str>,
    /// `is_staff`.
    pub is_staff: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
}

/// `UserManager._create_user`: inserts the user (active, joined now, no last login) and
/// returns it. A taken username is the database's `IntegrityError`.
pub fn create_user_with(
    conn: &Connection,
    username: &str,
    new: &NewUser<'_>,
) -> Result<StoredUser, DatabaseError> {
    let password = match new.password {
        Some(raw) => make_password(raw),
        None => make_unusable_password(),
    };
    conn.execute(
        "INSERT INTO \"auth_user\" (\"password\", \"last_login\", \"is_superuser\", \"username\", \
         \"first_name\", \"last_name\", \"email\", \"is_staff\", \"is_active\", \"date_joined\") \
         VALUES (%s, NULL, %s, %s, '', '', %s, %s, %s, %s)",
        &[
            password.into(),
            new.is_superuser.into(),
            username.into(),
            normalize_email(new.email).into(),
            new.is_staff.into(),
            true.into(),
            Value::DateTime(Utc::now()),
        ],
    )?;
    get_by_natural_key(conn, username)?.ok_or_else(|| {
        DatabaseError::new(
            crate::db::ErrorKind::DatabaseError,
            conn.alias(),
            "creating a user",
            format!("{username:?} was not inserted"),
        )
    })
}

/// `User.objects.create_user(username, email, password)`.
pub fn create_user(
    conn: &Connection,
    username: &str,
    email: &str,
    password: Option<&str>,
) -> Result<StoredUser, DatabaseError> {
    create_user_with(
        conn,
        username,
        &NewUser {
            email,
            password,
            ..NewUser::default()
        },
    )
}

/// `User.objects.create_superuser(username, email, password)`: staff and superuser.
pub fn create_superuser(
    conn: &Connection,
    username: &str,
    email: &str,
    password: Option<&str>,
) -> Result<StoredUser, DatabaseError> {
    create_user_with(
        conn,
        username,
        &NewUser {
            email,
            password,
            is_staff: true,
            is_superuser: true,
        },
    )
}

/// `user.set_password(raw); user.save(update_fields=["password"])`; `false` when there is
/// no such user.
pub fn set_password(conn: &Connection, username: &str, raw: &str) -> Result<bool, DatabaseError> {
    let changed = conn.execute(
        "UPDATE \"auth_user\" SET \"password\" = %s WHERE \"username\" = %s",
        &[make_password(raw).into(), username.into()],
    )?;
    Ok(changed > 0)
}
