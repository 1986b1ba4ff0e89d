//! The `auth` middleware (Django's `AuthenticationMiddleware`): `request.user`, loaded from
//! the session on first use ([`RequestUserExt::user`]).

use std::sync::Arc;

use super::{get_user, AuthContext, RequestUserExt, User, UserStore};
use crate::contrib::sessions::RequestSessionExt;
use crate::exception::ViewError;
use crate::http::{Extensions, HttpRequest, HttpResponse};
use crate::middleware::Middleware;
use crate::settings::{ConfigError, Settings};
use crate::signing::SecretKeys;

/// Django's `AuthenticationMiddleware` over the app's [`UserStore`].
pub struct AuthenticationMiddleware {
    context: Arc<AuthContext>,
}

impl AuthenticationMiddleware {
    /// The middleware on `store`; the session auth hash needs `secret_key`.
    pub fn new(settings: &Settings, store: Arc<dyn UserStore>) -> Result<Self, ConfigError> {
        Ok(AuthenticationMiddleware {
            context: Arc::new(AuthContext {
                store,
                keys: SecretKeys::from_settings(settings)?,
            }),
        })
    }

    /// The registered factory: on the user store in the app's registry
    /// ([`App::user_store`](super::AppAuthExt::user_store)).
    pub fn from_extensions(
        settings: &Settings,
        extensions: &Extensions,
    ) -> Result<Self, ConfigError> {
        let store = extensions.get::<Arc<dyn UserStore>>().ok_or_else(|| {
            ConfigError::new(
                "AuthenticationMiddleware needs the app's users: the app must call \
                 App::user_store(...)",
            )
        })?;
        AuthenticationMiddleware::new(settings, Arc::clone(store))
    }
}

impl Middleware for AuthenticationMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        if !request.has_session() {
            return Err(ViewError::msg(
                "ImproperlyConfigured: The Django authentication middleware requires session \
                 middleware to be installed. Edit your middleware setting to insert \
                 \"sessions\" (django.contrib.sessions.middleware.SessionMiddleware) before \
                 \"auth\".",
            ));
        }
        request.extensions.insert(Arc::clone(&self.context));
        request.set_user_loader(Box::new(|r: &mut HttpRequest| {
            get_user(r).unwrap_or_else(|e| {
                // Django would raise on the attribute access; a loader cannot, so the failure
                // is logged and the request goes on as anonymous.
                log::error!(target: "django.request", "loading request.user failed: {e}");
                User::anonymous()
            })
        }));
        Ok(None)
    }
}
