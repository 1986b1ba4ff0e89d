//! Access decorators (Django's `django.contrib.auth.decorators`): `login_required`,
//! `user_passes_test` and `permission_required`.

use std::sync::Arc;

use super::{has_perm, RequestUserExt, User};
use crate::exception::ViewError;
use crate::http::HttpRequest;
use crate::shortcuts::resolve_url;
use crate::views::decorators::{login_redirect, next_for};
use crate::views::{ViewFn, ViewResult};

pub use crate::views::decorators::{login_required, login_required_at, redirect_to_login};

/// A test on the request's user; it may look further (permissions) through the request.
pub type UserTest = Arc<dyn Fn(&mut HttpRequest) -> Result<bool, ViewError> + Send + Sync>;

/// Django's `user_passes_test(test_func, login_url)`: the view when `test` passes, else the
/// redirect to the login page (`login_url`, or the settings' `login_url`) with `next`.
pub fn user_passes_test(test: UserTest, login_url: Option<&'static str>, view: ViewFn) -> ViewFn {
    let inner = view.clone();
    ViewFn::wraps(&view, move |request: &mut HttpRequest| -> ViewResult {
        if test(request)? {
            return inner.call(request);
        }
        let target = login_url.unwrap_or(request.settings().login_url.as_str());
        let resolved = resolve_url(target)?;
        login_redirect(&next_for(request, &resolved), &resolved)
    })
}

/// A [`UserTest`] from a plain test on the user.
pub fn test_user<F>(f: F) -> UserTest
where
    F: Fn(&User) -> bool + Send + Sync + 'static,
{
    Arc::new(move |r: &mut HttpRequest| Ok(f(r.user())))
}

/// Django's `permission_required(perm, raise_exception=...)`: the view when the user has
/// every one of `perms`; otherwise a 403 (`raise_exception`) or the login redirect.
pub fn permission_required(
    perms: &'static [&'static str],
    raise_exception: bool,
    view: ViewFn,
) -> ViewFn {
    let test: UserTest = Arc::new(move |r: &mut HttpRequest| {
        for perm in perms {
            if !has_perm(r, perm)? {
                if raise_exception {
                    return Err(ViewError::PermissionDenied(String::new()));
                }
                return Ok(false);
            }
        }
        Ok(true)
    });
    user_passes_test(test, None, view)
}

/// Django's `staff_member_required`-style check as a test: an active staff user.
pub fn staff_required(view: ViewFn) -> ViewFn {
    user_passes_test(
        test_user(|u| u.is_authenticated() && u.is_staff),
        None,
        view,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpResponse;
    use crate::settings::Settings;
    use crate::views::view;

    fn ok(_r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new("ok"))
    }

    #[test]
    fn tests_redirect_or_deny() {
        let mut r = HttpRequest::new("GET", "/admin/", "", Arc::new(Settings::default()));
        let v = staff_required(view(ok));
        let resp = v.call(&mut r).unwrap();
        assert_eq!(resp.get("Location"), Some("/accounts/login/?next=/admin/"));
        r.set_user(User::authenticated("root", true));
        assert_eq!(v.call(&mut r).unwrap().status_code, 200);
        let mut su = User::authenticated("su", false);
        su.is_superuser = true;
        r.set_user(su);
        // A superuser has every permission without asking the store.
        let p = permission_required(&["notes.delete_note"], true, view(ok));
        assert_eq!(p.call(&mut r).unwrap().status_code, 200);
        r.set_user(User::anonymous());
        assert_eq!(p.call(&mut r).unwrap_err().status_code(), 403);
        let p = permission_required(&["notes.delete_note"], false, view(ok));
        assert_eq!(p.call(&mut r).unwrap().status_code, 302);
    }
}
