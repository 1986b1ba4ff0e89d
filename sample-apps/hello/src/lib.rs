//! The benchmark app (TechEmpower's plaintext and JSON tests) on handler-core, with no
//! middleware and no settings file.
//!
//! Allocation per request, for the record: the adapter copies the method, the decoded path
//! (twice: `path` and `path_info`), the query and each header's name and value, and builds the
//! header array for `start_response`; the URL resolver builds its `ResolverMatch`; each view
//! allocates its body and the response's `Content-Type` field. `GET`, `META` and `COOKIES` are
//! parsed only when a view asks, so here never. The JSON body is serialised per request from a
//! fresh object, as the benchmark's rules require.

use handler_core::prelude::*;
use serde::Serialize;

/// The JSON test's object.
#[derive(Serialize)]
struct Message {
    message: &'static str,
}

/// `GET /plaintext`: `Hello, World!` as `text/plain`.
pub fn plaintext(_request: &mut HttpRequest) -> ViewResult {
    Ok(HttpResponse::new(&b"Hello, World!"[..]).content_type("text/plain"))
}

/// `GET /json`: `{"message":"Hello, World!"}`, compact as the benchmark expects.
pub fn json(_request: &mut HttpRequest) -> ViewResult {
    JsonResponse::compact(&Message {
        message: "Hello, World!",
    })
}

/// The app: two routes, no middleware.
pub fn build(_settings: &Settings) -> Result<App, ConfigError> {
    Ok(App::new(vec![
        path("plaintext", view(plaintext)),
        path("json", view(json)),
    ]))
}

handler_core::export_app!(build);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn get(path: &str) -> HttpResponse {
        let handler = build(&Settings::defaults())
            .and_then(|app| app.into_handler(Settings::defaults()))
            .unwrap();
        let mut r = HttpRequest::new("GET", path, "", Arc::new(Settings::defaults()));
        handler.get_response(&mut r)
    }

    #[test]
    fn plaintext_and_json() {
        let r = get("/plaintext");
        assert_eq!((r.status_code, r.content()), (200, &b"Hello, World!"[..]));
        assert_eq!(r.get("Content-Type"), Some("text/plain"));
        let r = get("/json");
        assert_eq!(r.content(), br#"{"message":"Hello, World!"}"#);
        assert_eq!(r.get("Content-Type"), Some("application/json"));
        assert_eq!(get("/nope").status_code, 404);
    }
}
