//! Shortcuts (Django's `django.shortcuts` and `resolve_url`): `render`, `redirect`,
//! `reverse`, `get_object_or_404`.

use crate::db::models::{Model, QuerySet};
use crate::db::Value;
use crate::exception::ViewError;
use crate::http::{HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect};
use crate::urls::PathValue;

pub use crate::handler::reverse;
pub use crate::template::render;

/// Django's `resolve_url(to)`: a relative URL (`./…`, `../…`) is kept; anything else is first
/// reversed as a route name, and when that fails it is kept as a URL if it looks like one
/// (it holds a `/` or a `.`). Otherwise the `NoReverseMatch` is the error (a 500), as in
/// Django: `redirect("nosuch")` is a bug, not a redirect to `nosuch`.
pub fn resolve_url(to: &str) -> Result<String, ViewError> {
    if to.starts_with("./") || to.starts_with("../") {
        return Ok(to.to_string());
    }
    match reverse(to, &[], &[]) {
        Ok(url) => Ok(url),
        Err(_) if to.contains('/') || to.contains('.') => Ok(to.to_string()),
        Err(no_reverse_match) => Err(no_reverse_match),
    }
}

/// Django's `redirect(to)`: a 302 to a URL or to the URL of a route name. A name that does
/// not reverse is `NoReverseMatch` (500), an unsafe scheme `DisallowedRedirect` (400).
pub fn redirect(to: &str) -> Result<HttpResponse, ViewError> {
    HttpResponseRedirect::new(&resolve_url(to)?)
}

/// Django's `redirect(to, permanent=True)`: a 301, with the errors of [`redirect`].
pub fn redirect_permanent(to: &str) -> Result<HttpResponse, ViewError> {
    HttpResponsePermanentRedirect::new(&resolve_url(to)?)
}

/// Django's `redirect(viewname, *args, **kwargs)`: a 302 to a reversed route; an unknown
/// route is an error (Django's `NoReverseMatch`, a 500).
pub fn redirect_to_route(
    name: &str,
    args: &[PathValue],
    kwargs: &[(&str, PathValue)],
) -> Result<HttpResponse, ViewError> {
    HttpResponseRedirect::new(&reverse(name, args, kwargs)?)
}

/// Django's `get_object_or_404(Model, pk=pk)`: the row of `M` with that primary key, or
/// `Http404` (`No Note matches the given query.`); a database failure stays a 500.
pub fn get_object_or_404<M: Model>(pk: impl Into<Value>) -> Result<M, ViewError> {
    get_object_or_404_in(&M::objects(), pk)
}

/// Django's `get_object_or_404(queryset, pk=pk)`: the same within a filtered queryset (a
/// user's own notes: another user's is a 404).
pub fn get_object_or_404_in<M: Model>(
    queryset: &QuerySet<M>,
    pk: impl Into<Value>,
) -> Result<M, ViewError> {
    match queryset.get(pk) {
        Ok(object) => Ok(object),
        Err(e) if e.is_does_not_exist() => Err(ViewError::Http404(format!(
            "No {} matches the given query.",
            M::NAME
        ))),
        Err(e) => Err(ViewError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_urls_and_404_helper() {
        let r = redirect("/new-url/").unwrap();
        assert_eq!((r.status_code, r.get("Location")), (302, Some("/new-url/")));
        assert_eq!(
            redirect_permanent("https://e.com/").unwrap().status_code,
            301
        );
        assert_eq!(resolve_url("./next").unwrap(), "./next");
        assert_eq!(resolve_url("../up").unwrap(), "../up");
        assert_eq!(resolve_url("page.html").unwrap(), "page.html");
        // Not a URL and not a route: Django's NoReverseMatch, not `Location: nosuch`.
        let e = redirect("nosuch").unwrap_err();
        assert_eq!(e.status_code(), 500);
        assert!(e.message().contains("nosuch"), "{e}");
        let e = redirect_permanent("javascript:alert(document.domain)").unwrap_err();
        assert!(matches!(e, ViewError::DisallowedRedirect(_)), "{e}");
        assert_eq!(e.status_code(), 400);
    }

    crate::model! {
        /// A row for the shortcut.
        pub struct Item in "shortcut_item" {
            pk id: i64,
            name: String,
        }
    }

    #[test]
    fn get_object_or_404_finds_the_row_or_is_a_404() {
        let dir = std::env::temp_dir().join(format!("portico-404-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let databases =
            crate::db::Databases::new(crate::db::DatabasesSettings::sqlite(dir.join("db.sqlite3")));
        let _active = databases.activate();
        let db = crate::db::connection("default").unwrap();
        db.execute_script("CREATE TABLE shortcut_item (id integer PRIMARY KEY, name text)")
            .unwrap();
        db.execute("INSERT INTO shortcut_item VALUES (3, 'x')", &[])
            .unwrap();
        assert_eq!(get_object_or_404::<Item>(3).unwrap().name, "x");
        let e = get_object_or_404::<Item>(4).unwrap_err();
        assert_eq!(e.status_code(), 404);
        assert_eq!(e.message(), "No Item matches the given query.");
        let others = Item::objects().exclude("id", 3);
        assert_eq!(
            get_object_or_404_in(&others, 3).unwrap_err().status_code(),
            404
        );
        db.execute_script("DROP TABLE shortcut_item").unwrap();
        assert_eq!(get_object_or_404::<Item>(3).unwrap_err().status_code(), 500);
        drop(_active);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }
}
