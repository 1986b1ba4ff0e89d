//! The views: the seeds' function views and the two class-based article views, as a Django
//! developer would write them in `views.py`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use handler_core::exception::ViewError;
use handler_core::http::querydict::QueryDict;
use handler_core::http::{
    HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse,
};
use handler_core::shortcuts::{redirect, redirect_permanent};
use handler_core::views::generic::{Method, View};
use handler_core::views::ViewResult;
use serde_json::{Map, Value};

use crate::bodies::{
    ArticleListBody, CreatedBody, DataBody, DivideBody, ErrorBody, MessageBody, PyFloat, SleptBody,
    SuccessBody,
};
use crate::forms::{
    bounded_count, is_json, json_object, json_text, looks_like_email, non_empty, InvalidJson,
};
use crate::models::{ArticleChanges, Articles, ModelError};
use crate::python::{self, DivisionError};

/// `/api/stream/` lines when `?n=` is not given.
pub const STREAM_DEFAULT_LINES: u64 = 10;
/// The most lines `/api/stream/` sends.
pub const STREAM_MAX_LINES: u64 = 10_000;
/// The longest `/api/slow/` sleeps, in milliseconds.
pub const SLOW_MAX_MS: u64 = 10_000;
/// How often `/api/slow/` checks whether the client is still there while it sleeps.
const SLOW_POLL: Duration = Duration::from_millis(50);
/// `/api/cached/`'s entity tag: the content never changes, so neither does the tag (strong).
pub const CACHED_ETAG: &str = "\"cacheable-v1\"";

fn json(status: u16, body: &impl serde::Serialize) -> ViewResult {
    JsonResponse::with_status(status, body)
}

fn json_error(status: u16, error: &str) -> ViewResult {
    json(status, &ErrorBody { error })
}

fn html(body: &str) -> HttpResponse {
    HttpResponse::new(body).content_type("text/html; charset=utf-8")
}

/// `/`: the seeds' `HttpResponse("Success!")`.
pub fn home(_request: &mut HttpRequest) -> ViewResult {
    Ok(html("Success!"))
}

/// `/login/`: where `login_required` sends anonymous users.
pub fn login(request: &mut HttpRequest) -> ViewResult {
    let next = request.GET()?.get("next").unwrap_or("/").to_string();
    let next = handler_core::http::encoding::escape_html(&next);
    Ok(html(&format!(
        "<!DOCTYPE html>\n<html><head><title>Log in</title></head><body>\n<h1>Log in</h1>\n\
         <p>Send <code>Authorization: Token &lt;token&gt;</code> with your requests.</p>\n\
         <p>Then continue to <a href=\"{next}\">{next}</a>.</p>\n</body></html>\n"
    )))
}

/// `/new-url/`: the target of `/old-url/`.
pub fn new_url(_request: &mut HttpRequest) -> ViewResult {
    Ok(html(
        "<!DOCTYPE html>\n<html><head><title>New URL</title></head><body>\n\
         <h1>This page has moved here.</h1>\n</body></html>\n",
    ))
}

/// `/old-url/`: `redirect("/new-url/", permanent=True)`.
pub fn old_url(_request: &mut HttpRequest) -> ViewResult {
    redirect_permanent("/new-url/")
}

/// `/temporary/`: `redirect("home")`, a 302 to the reversed route.
pub fn temporary(_request: &mut HttpRequest) -> ViewResult {
    redirect("home")
}

/// `/dashboard/` (under `login_required`): the signed-in user's page.
pub fn dashboard(request: &mut HttpRequest) -> ViewResult {
    let name = handler_core::http::encoding::escape_html(&request.user.username);
    Ok(html(&format!(
        "<!DOCTYPE html>\n<html><head><title>Dashboard</title></head><body>\n\
         <h1>Welcome, {name}</h1>\n</body></html>\n"
    )))
}

/// `/api/success/`.
pub fn api_success(_request: &mut HttpRequest) -> ViewResult {
    JsonResponse::new(&SuccessBody {
        message: "Success",
        data: [1, 2, 3],
    })
}

/// `/api/get-only/` (under `require_http_methods(["GET"])`).
pub fn get_only(_request: &mut HttpRequest) -> ViewResult {
    JsonResponse::new(&DataBody {
        data: "This is GET only",
    })
}

/// The fields of a request body: a JSON object when the request says JSON, the form fields
/// otherwise (the seeds' `json.loads(request.body)` / `request.POST`).
enum Payload {
    Json(Map<String, Value>),
    Form(QueryDict),
}

impl Payload {
    fn from_request(request: &HttpRequest) -> Result<Payload, InvalidJson> {
        if is_json(request.headers.get("Content-Type")) {
            return json_object(request.body()).map(Payload::Json);
        }
        // Django fills request.POST for POST only; PUT bodies are parsed the way Django code
        // does it by hand, QueryDict(request.body).
        Ok(Payload::Form(request.form_body()))
    }

    /// The field as text, `None` when absent or empty.
    fn required(&self, name: &str) -> Option<String> {
        let value = match self {
            Payload::Json(map) => json_text(map, name),
            Payload::Form(form) => form.get(name).map(str::to_string),
        };
        non_empty(value)
    }

    /// The field as text when present at all (an update may set a field to "").
    fn optional(&self, name: &str) -> Option<String> {
        match self {
            Payload::Json(map) => json_text(map, name),
            Payload::Form(form) => form.get(name).map(str::to_string),
        }
    }
}

fn model_error(e: ModelError) -> ViewResult {
    match e {
        ModelError::NotFound(_) => json_error(404, "Article not found"),
        other => Err(ViewError::from(other)),
    }
}

/// `/api/articles/` (`article-list`): GET lists, POST creates.
pub struct ArticleListView {
    /// The article store.
    pub articles: Arc<Articles>,
}

impl View for ArticleListView {
    const HANDLERS: &'static [Method] = &[Method::Get, Method::Post];

    fn get(&self, _request: &mut HttpRequest) -> ViewResult {
        let articles = self.articles.list()?;
        json(200, &ArticleListBody { articles })
    }

    fn post(&self, request: &mut HttpRequest) -> ViewResult {
        let Ok(payload) = Payload::from_request(request) else {
            return json_error(400, "Invalid JSON");
        };
        let (Some(title), Some(content)) = (payload.required("title"), payload.required("content"))
        else {
            return json_error(400, "Title and content are required");
        };
        let article = self.articles.create(&title, &content)?;
        json(
            201,
            &CreatedBody {
                message: "Article created successfully",
                id: article.id,
            },
        )
    }
}

/// `/api/articles/<int:id>/` (`article-detail`): GET, PUT (partial update), DELETE.
pub struct ArticleDetailView {
    /// The article store.
    pub articles: Arc<Articles>,
}

impl ArticleDetailView {
    fn id(request: &HttpRequest) -> Result<i64, ViewError> {
        // The URL conf's <int:id> guarantees it; a view wired to another route is a bug.
        request
            .kwarg_int("id")
            .ok_or_else(|| ViewError::msg("article-detail needs an <int:id> in its route"))
    }
}

impl View for ArticleDetailView {
    const HANDLERS: &'static [Method] = &[Method::Get, Method::Put, Method::Delete];

    fn get(&self, request: &mut HttpRequest) -> ViewResult {
        match self.articles.get(Self::id(request)?) {
            Ok(article) => json(200, &article),
            Err(e) => model_error(e),
        }
    }

    fn put(&self, request: &mut HttpRequest) -> ViewResult {
        let id = Self::id(request)?;
        let Ok(payload) = Payload::from_request(request) else {
            return json_error(400, "Invalid JSON");
        };
        let changes = ArticleChanges {
            title: payload.optional("title"),
            content: payload.optional("content"),
        };
        match self.articles.update(id, &changes) {
            Ok(article) => json(200, &article),
            Err(e) => model_error(e),
        }
    }

    fn delete(&self, request: &mut HttpRequest) -> ViewResult {
        match self.articles.delete(Self::id(request)?) {
            Ok(()) => Ok(HttpResponse::with_status(204, Vec::new())),
            Err(e) => model_error(e),
        }
    }
}

/// `/api/users/`: the seeds' hand-written method check, then field validation.
pub fn create_user(request: &mut HttpRequest) -> ViewResult {
    if request.method != "POST" {
        return Ok(HttpResponseBadRequest::new("Only POST method allowed"));
    }
    let payload = if is_json(request.headers.get("Content-Type")) {
        match json_object(request.body()) {
            Ok(map) => Payload::Json(map),
            Err(InvalidJson) => return json_error(400, "Invalid JSON"),
        }
    } else {
        Payload::Form(request.POST()?.clone())
    };
    let (Some(_username), Some(email)) = (payload.required("username"), payload.required("email"))
    else {
        return json_error(400, "Username and email are required");
    };
    if !looks_like_email(&email) {
        return json_error(400, "Invalid email format");
    }
    json(
        201,
        &MessageBody {
            message: "User created",
        },
    )
}

/// `/api/protected/`: any signed-in user.
pub fn protected(request: &mut HttpRequest) -> ViewResult {
    if !request.user.is_authenticated() {
        return json_error(401, "Authentication required");
    }
    json(
        200,
        &DataBody {
            data: "Secret information",
        },
    )
}

/// `/api/admin/`: staff only.
pub fn admin_area(request: &mut HttpRequest) -> ViewResult {
    if !request.user.is_authenticated() {
        return json_error(401, "Authentication required");
    }
    if !request.user.is_staff {
        return json_error(403, "You do not have permission");
    }
    json(
        200,
        &MessageBody {
            message: "Admin area",
        },
    )
}

/// `/api/private/data/` (behind `api_key_check`).
pub fn private_data(_request: &mut HttpRequest) -> ViewResult {
    json(200, &DataBody { data: "private" })
}

/// `/api/divide/?a=&b=`: Python's `int(a) / int(b)`; the view catches its own errors, as the
/// seeds' `try: ... except ZeroDivisionError: 400 ... except Exception: 500`.
///
/// Python's semantics throughout: `int()` reads any size of integer (with surrounding
/// whitespace, a sign, underscores between digits), the division is correctly rounded whatever
/// the operands' size, and a quotient too large for a float is an `OverflowError`, caught as
/// the 500. The float is written as Python's `repr` writes it (`5e+19`, `1e-05`, `2.0`).
pub fn divide(request: &mut HttpRequest) -> ViewResult {
    // `request.GET` is read inside the seeds' `try`, so even its error is the view's 500.
    let Ok(query) = request.GET() else {
        return json_error(500, "Server error");
    };
    // int(None) is a TypeError, int("x") a ValueError: both the 500.
    let a = query.get("a").map(python::parse_int);
    let b = query.get("b").map(python::parse_int);
    let (Some(Ok(a)), Some(Ok(b))) = (a, b) else {
        return json_error(500, "Server error");
    };
    match python::true_divide(&a, &b) {
        Ok(result) => json(
            200,
            &DivideBody {
                result: PyFloat(result),
            },
        ),
        Err(DivisionError::ZeroDivision) => json_error(400, "Cannot divide by zero"),
        Err(DivisionError::Overflow) => json_error(500, "Server error"),
    }
}

/// `/api/boom/`: an unhandled error, for `error_handler` and the debug page.
pub fn boom(_request: &mut HttpRequest) -> ViewResult {
    Err(ViewError::msg("Something went boom in the boom view"))
}

/// `/api/panic/`: a view that panics; handled exactly like `/api/boom/`.
pub fn panic_view(_request: &mut HttpRequest) -> ViewResult {
    panic!("deliberate panic in panic_view")
}

/// `/api/echo/` (POST only): the body back with the request's `Content-Type`.
pub fn echo(request: &mut HttpRequest) -> ViewResult {
    let content_type = request
        .headers
        .get("Content-Type")
        .unwrap_or("application/octet-stream")
        .to_string();
    Ok(HttpResponse::new(request.body().to_vec()).content_type(&content_type))
}

/// `/api/stream/?n=N`: N lines produced one by one (a `StreamingHttpResponse` of a generator).
pub fn stream(request: &mut HttpRequest) -> ViewResult {
    let Some(n) = bounded_count(
        request.GET()?.get("n"),
        STREAM_DEFAULT_LINES,
        STREAM_MAX_LINES,
    ) else {
        return json_error(400, "n must be an integer");
    };
    Ok(
        StreamingHttpResponse::new((0..n).map(|i| format!("line {i}\n")))
            .content_type("text/plain; charset=utf-8"),
    )
}

/// `/api/slow/?ms=N`: sleeps N ms (at most `SLOW_MAX_MS`), giving up early if the client left.
pub fn slow(request: &mut HttpRequest) -> ViewResult {
    let Some(ms) = bounded_count(request.GET()?.get("ms"), 0, SLOW_MAX_MS) else {
        return json_error(400, "ms must be an integer");
    };
    let deadline = Instant::now() + Duration::from_millis(ms);
    loop {
        let now = Instant::now();
        if now >= deadline || request.is_cancelled() {
            break;
        }
        std::thread::sleep(SLOW_POLL.min(deadline - now));
    }
    json(200, &SleptBody { slept_ms: ms })
}

/// `/api/cached/`: a fixed body with a strong `ETag` (the seeds' `@etag` decorator); the
/// `conditional_get` middleware answers `If-None-Match` with 304.
pub fn cached(_request: &mut HttpRequest) -> ViewResult {
    Ok(JsonResponse::new(&DataBody { data: "cacheable" })?.header("ETag", CACHED_ETAG))
}
