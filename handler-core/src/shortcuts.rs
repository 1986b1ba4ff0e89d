//! Shortcuts (Django's `django.shortcuts` and `resolve_url`): `redirect`, `reverse`,
//! `get_object_or_404`.

use crate::exception::ViewError;
use crate::http::{HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect};
use crate::urls::PathValue;

pub use crate::handler::reverse;

/// Django's `resolve_url`: a URL (anything with `/` or `.`) is returned as is; otherwise it is
/// tried as a route name, and kept as given when it does not reverse.
pub fn resolve_url(to: &str) -> String {
    if to.contains('/') || to.contains('.') {
        return to.to_string();
    }
    reverse(to, &[], &[]).unwrap_or_else(|_| to.to_string())
}

/// Django's `redirect(to)`: a 302 to a URL or to the URL of a route name.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponseRedirect::new(&resolve_url(to))
}

/// Django's `redirect(to, permanent=True)`: a 301.
pub fn redirect_permanent(to: &str) -> HttpResponse {
    HttpResponsePermanentRedirect::new(&resolve_url(to))
}

/// Django's `redirect(viewname, *args, **kwargs)`: a 302 to a reversed route; an unknown
/// route is an error (Django's `NoReverseMatch`, a 500).
pub fn redirect_to_route(
    name: &str,
    args: &[PathValue],
    kwargs: &[(&str, PathValue)],
) -> Result<HttpResponse, ViewError> {
    Ok(HttpResponseRedirect::new(&reverse(name, args, kwargs)?))
}

/// Django's `get_object_or_404`: `None` becomes `Http404`.
pub fn get_object_or_404<T>(found: Option<T>) -> Result<T, ViewError> {
    found.ok_or_else(|| ViewError::Http404("No object matches the given query.".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_urls_and_404_helper() {
        let r = redirect("/new-url/");
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/new-url/")));
        assert_eq!(redirect_permanent("https://e.com/").status_code, 301);
        assert_eq!(get_object_or_404(Some(3)).unwrap(), 3);
        assert_eq!(
            get_object_or_404::<u8>(None).unwrap_err().status_code(),
            404
        );
    }
}
