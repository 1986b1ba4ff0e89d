//! The views: the seeds' function views and the two class-based article views, as a Django
//! developer would write them in `views.py`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use handler_core::contrib::auth::RequestUserExt;
use handler_core::exception::ViewError;
use handler_core::http::{
    HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotModified, JsonResponse,
    StreamingHttpResponse,
};
use handler_core::shortcuts::{redirect, redirect_permanent};
use handler_core::views::generic::{Method, View};
use handler_core::views::ViewResult;

use crate::bodies::{
    ArticleListBody, CreatedBody, DataBody, DivideBody, ErrorBody, MessageBody, SleptBody,
    SuccessBody,
};
use crate::forms::{bounded_count, CountError, Payload};
use crate::models::{Article, ArticleChanges, Articles, FieldChange, ModelError};
use crate::pyjson::{PyDict, PyStr, PyValue};
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

/// `/new-url/`: the target of `/old-url/` (the twin's `HttpResponse("<h1>New URL</h1>")`).
pub fn new_url(_request: &mut HttpRequest) -> ViewResult {
    Ok(html("<h1>New URL</h1>"))
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
    let name = handler_core::http::encoding::escape_html(&request.user().username);
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

/// `str(value)` encoded for the database: what a Django `CharField` stores for any value but
/// `None` (a lone surrogate fails the encoding, Django's `UnicodeEncodeError`: a 500).
fn stored_text(value: &PyValue) -> Result<Cow<'_, str>, ViewError> {
    match value {
        PyValue::Str(s) => Ok(Cow::Borrowed(s.to_utf8()?)),
        other => Ok(Cow::Owned(other.repr())),
    }
}

/// The change a PUT field asks for: `None` stores NULL (refused by the column), anything else
/// its `str()`.
fn field_change(value: Option<&PyValue>) -> Result<FieldChange, ViewError> {
    match value {
        None => Ok(FieldChange::Keep),
        Some(PyValue::None) => Ok(FieldChange::Null),
        Some(v) => Ok(FieldChange::Set(stored_text(v)?.into_owned())),
    }
}

/// The seeds' `JsonResponse(article.as_dict())` after `setattr(article, field, data[field])`:
/// a field the request set is shown as the request sent it (`5` stays a number in the
/// response, though the database stores `"5"`), the others as stored.
fn article_as_dict(
    article: &Article,
    title: Option<PyValue>,
    content: Option<PyValue>,
) -> HttpResponse {
    let mut dict = PyDict::default();
    dict.insert(PyStr::from("id"), PyValue::Int(article.id.into()));
    dict.insert(
        PyStr::from("title"),
        title.unwrap_or_else(|| PyValue::str(&article.title)),
    );
    dict.insert(
        PyStr::from("content"),
        content.unwrap_or_else(|| PyValue::str(&article.content)),
    );
    HttpResponse::new(PyValue::Dict(dict).dumps()).content_type("application/json")
}

fn not_found() -> ViewResult {
    json_error(404, "Article not found")
}

fn model_error(e: ModelError) -> ViewResult {
    match e {
        ModelError::NotFound(_) => not_found(),
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
        let Ok(data) = Payload::from_request(request)? else {
            return json_error(400, "Invalid JSON");
        };
        let (Some(title), Some(content)) = (data.truthy("title"), data.truthy("content")) else {
            return json_error(400, "Title and content are required");
        };
        let id = self
            .articles
            .create(&stored_text(&title)?, &stored_text(&content)?)?;
        json(
            201,
            &CreatedBody {
                message: "Article created successfully",
                id,
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
    /// The URL's `<int:id>`. It matches any integer, as Django's does; one beyond SQLite's
    /// 64-bit INTEGER (a `PathValue::BigInt`, so no `kwarg_int`) is not found, as Django 5's
    /// lookups answer an id out of the column's range with an empty result
    /// (`IntegerFieldOverflow`).
    fn id(request: &HttpRequest) -> Option<i64> {
        request.kwarg_int("id")
    }

    /// The seeds' `Article.objects.filter(pk=id).first()`.
    fn find(&self, id: i64) -> Result<Option<Article>, ViewError> {
        match self.articles.get(id) {
            Ok(article) => Ok(Some(article)),
            Err(ModelError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a PUT body asks for, with the values as sent (the response shows them).
struct PutBody {
    changes: ArticleChanges,
    title: Option<PyValue>,
    content: Option<PyValue>,
}

impl PutBody {
    /// The body's fields; `None` when it is not a JSON object (the "Invalid JSON" 400), the
    /// error when reading it raised (or a value cannot be stored as text).
    fn read(request: &HttpRequest) -> Result<Option<PutBody>, ViewError> {
        let Ok(mut data) = Payload::from_request(request)? else {
            return Ok(None);
        };
        let (title, content) = (data.take("title"), data.take("content"));
        let changes = ArticleChanges {
            title: field_change(title.as_ref())?,
            content: field_change(content.as_ref())?,
        };
        Ok(Some(PutBody {
            changes,
            title,
            content,
        }))
    }
}

impl View for ArticleDetailView {
    const HANDLERS: &'static [Method] = &[Method::Get, Method::Put, Method::Delete];

    fn get(&self, request: &mut HttpRequest) -> ViewResult {
        let Some(id) = Self::id(request) else {
            return not_found();
        };
        match self.find(id)? {
            Some(article) => json(200, &article),
            None => not_found(),
        }
    }

    /// The seeds' order: the article first (404), then the body (400), then each field present
    /// in the body is set (even to `""`, `0` or `null`) and the article saved.
    ///
    /// The body is read first so that a good one costs one query, the UPDATE (which finds a
    /// missing article itself); only when the body fails is the article looked up, so that a
    /// missing one is still the 404 whatever was wrong with the body.
    fn put(&self, request: &mut HttpRequest) -> ViewResult {
        let Some(id) = Self::id(request) else {
            return not_found();
        };
        let failed = match PutBody::read(request) {
            Ok(Some(body)) => {
                return match self.articles.update(id, &body.changes) {
                    Ok(saved) => Ok(article_as_dict(&saved, body.title, body.content)),
                    Err(e) => model_error(e),
                };
            }
            Ok(None) => json_error(400, "Invalid JSON"),
            Err(e) => Err(e),
        };
        match self.find(id)? {
            Some(_) => failed,
            None => not_found(),
        }
    }

    /// One query: the DELETE says whether there was an article to delete.
    fn delete(&self, request: &mut HttpRequest) -> ViewResult {
        let Some(id) = Self::id(request) else {
            return not_found();
        };
        match self.articles.delete(id) {
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
    // The same reading as the article views: JSON, or request.POST (urlencoded or multipart).
    let Ok(data) = Payload::from_request(request)? else {
        return json_error(400, "Invalid JSON");
    };
    let (Some(_username), Some(email)) = (data.truthy("username"), data.truthy("email")) else {
        return json_error(400, "Username and email are required");
    };
    // `if "@" not in email`: a substring test on a string, membership on a list or a dict, a
    // TypeError (500) on a number.
    if !email.contains_str("@")? {
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
    if !request.user().is_authenticated() {
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
    if !request.user().is_authenticated() {
        return json_error(401, "Authentication required");
    }
    if !request.user().is_staff {
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
        Ok(result) => json(200, &DivideBody { result }),
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

/// `/api/echo/` (any method, as the twin's undecorated view): the body back with the
/// request's `Content-Type`.
pub fn echo(request: &mut HttpRequest) -> ViewResult {
    let content_type = request
        .headers
        .get("Content-Type")
        .unwrap_or("application/octet-stream")
        .to_string();
    Ok(HttpResponse::new(request.checked_body()?.to_vec()).content_type(&content_type))
}

/// A count that is not an integer: the twin's uncaught `int()` `ValueError`, which
/// `error_handler` answers with a 500 naming it.
fn not_an_integer(e: CountError) -> ViewError {
    match e {
        CountError::NotAnInteger(e) => ViewError::msg(e.to_string()),
        CountError::Negative => ViewError::msg("sleep length must be non-negative"),
    }
}

/// `/api/stream/?n=N`: N lines `line i\n` produced one by one (a `StreamingHttpResponse` of a
/// generator), so each goes out as it is produced.
///
/// The twin's `min(int(request.GET.get("n", 10)), 10000)` and `range(n)`: absent, the
/// default (10); otherwise Python's `int()` of the text, an uncaught error (500) when it is not
/// an integer; negative, no lines; any value over the maximum (10000), however large, is the
/// maximum.
pub fn stream(request: &mut HttpRequest) -> ViewResult {
    let n = match bounded_count(
        request.GET()?.get("n"),
        STREAM_DEFAULT_LINES,
        STREAM_MAX_LINES,
    ) {
        Ok(n) => n,
        Err(CountError::Negative) => 0,
        Err(e) => return Err(not_an_integer(e)),
    };
    Ok(
        StreamingHttpResponse::new((0..n).map(|i| format!("line {i}\n")))
            .content_type("text/plain; charset=utf-8"),
    )
}

/// `/api/slow/?ms=N`: sleeps N ms, then `{"slept_ms": N}`, giving up early if the client left.
///
/// The twin's `min(int(request.GET.get("ms", 0)), 10000)` and `time.sleep(ms / 1000)`: absent,
/// 0; otherwise Python's `int()` of the text, an uncaught error (500) when it is not an integer
/// or is negative (`sleep length must be non-negative`); any value over the maximum
/// (`SLOW_MAX_MS`), however large, is the maximum, and the answer says what was slept.
pub fn slow(request: &mut HttpRequest) -> ViewResult {
    let ms = bounded_count(request.GET()?.get("ms"), 0, SLOW_MAX_MS).map_err(not_an_integer)?;
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
///
/// As the twin's view, it answers a matching `If-None-Match` itself (any method: 304 with the
/// tag); `conditional_get` covers the other forms of the header.
pub fn cached(request: &mut HttpRequest) -> ViewResult {
    if request.headers.get("If-None-Match") == Some(CACHED_ETAG) {
        return Ok(HttpResponseNotModified::new().header("ETag", CACHED_ETAG));
    }
    Ok(JsonResponse::new(&DataBody { data: "cacheable" })?.header("ETag", CACHED_ETAG))
}
