//! The `common` middleware (Django's `CommonMiddleware`): validates the host on the way in, and
//! on a 404 redirects (301) to the slash-appended URL when only that one resolves
//! (`APPEND_SLASH`), keeping the query string.

use super::Middleware;
use crate::exception::ViewError;
use crate::handler::is_valid_path;
use crate::http::{HttpRequest, HttpResponse, HttpResponsePermanentRedirect};
use crate::settings::Settings;

/// Django's `CommonMiddleware`.
pub struct CommonMiddleware {
    append_slash: bool,
}

impl CommonMiddleware {
    /// Reads `append_slash` from the settings.
    pub fn new(settings: &Settings) -> Self {
        CommonMiddleware {
            append_slash: settings.append_slash,
        }
    }

    /// Django's `should_redirect_with_slash`.
    fn should_redirect_with_slash(&self, request: &HttpRequest) -> bool {
        self.append_slash
            && !request.path_info.ends_with('/')
            && !is_valid_path(&request.path_info)
            && is_valid_path(&format!("{}/", request.path_info))
    }

    /// Django's `get_full_path_with_slash`; in DEBUG a POST, PUT or PATCH is a RuntimeError
    /// because the redirect would lose the body.
    fn full_path_with_slash(&self, request: &HttpRequest) -> Result<String, ViewError> {
        let mut new_path = request.get_full_path_with_slash();
        // Django's escape_leading_slashes: `//evil.com` must not become a scheme-relative URL.
        if new_path.starts_with("//") {
            new_path.replace_range(..2, "/%2F");
        }
        if request.settings().debug && matches!(request.method.as_str(), "POST" | "PUT" | "PATCH") {
            return Err(ViewError::runtime(format!(
                "You called this URL via {method}, but the URL doesn't end in a slash and you have \
                 append_slash set. Portico can't redirect to the slash URL while maintaining \
                 {method} data. Change your form to point to {new_path} (note the trailing \
                 slash), or set append_slash = false in your settings.",
                method = request.method
            )));
        }
        Ok(new_path)
    }
}

impl Middleware for CommonMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        request.checked_host()?;
        Ok(None)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if response.status_code == 404 && self.should_redirect_with_slash(request) {
            return HttpResponsePermanentRedirect::new(&self.full_path_with_slash(request)?);
        }
        if !response.is_streaming() && !response.has_header("Content-Length") {
            let len = response.content().len().to_string();
            response.headers.set("Content-Length", len);
        }
        Ok(response)
    }
}
