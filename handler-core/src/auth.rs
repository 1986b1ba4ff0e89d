//! The user attached to a request (Django's `contrib.auth` `User` and `AnonymousUser`).

pub mod hashers;

/// Who made the request. Middleware sets it (Django's `AuthenticationMiddleware`); a request
/// starts anonymous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// The user name; empty for the anonymous user.
    pub username: String,
    /// Django's `is_staff`.
    pub is_staff: bool,
    /// Django's `is_superuser`.
    pub is_superuser: bool,
    authenticated: bool,
}

impl User {
    /// Django's `AnonymousUser`.
    pub fn anonymous() -> Self {
        User::default()
    }

    /// A signed-in user.
    pub fn authenticated(username: impl Into<String>, is_staff: bool) -> Self {
        User {
            username: username.into(),
            is_staff,
            is_superuser: false,
            authenticated: true,
        }
    }

    /// Django's `is_authenticated`.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// Django's `is_anonymous`.
    pub fn is_anonymous(&self) -> bool {
        !self.authenticated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_and_signed_in_users_differ() {
        let a = User::anonymous();
        assert!(a.is_anonymous() && !a.is_authenticated() && !a.is_staff);
        let u = User::authenticated("root", true);
        assert!(u.is_authenticated() && u.is_staff);
        assert_eq!(u.username, "root");
    }
}
