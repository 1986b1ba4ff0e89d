//! An app for the end-to-end tests of handler-core: views that fail, panic and stream, a
//! class-based view, and middleware that leave a trace of the hooks they ran in the response.
//!
//! Settings `[app]`: optional `handler500 = "panics"` makes the app's `handler500` panic
//! (the last-resort plain 500). Middleware names it registers: `trace_outer`, `trace_inner`
//! (hook form, each appends to `X-Trace`), `wrap` (wrapper form), `json_errors`
//! (`process_exception` answering a JSON 500, like the articles app's `error_handler`), and
//! `panicky` (panics in `process_request` for `?panic=request`, in `process_response` for
//! `?panic=response`).
//!
//! Management (`portico manage`): the command `greet NAME [--times N] [--shout] [--exit-code N]`
//! (its output, its arguments and its exit status are the end-to-end tests'), and a system
//! check that reports `[app] check_warning` / `check_error` as `testapp.W001` / `testapp.E001`.

use handler_core::checks::{CheckContext, CheckMessage};
use handler_core::clap::{self, Arg, ArgAction};
use handler_core::management::{CommandError, FnCommand};
use handler_core::prelude::*;
use serde_json::json;

/// Per-request list of the hooks run so far.
struct Trace(Vec<String>);

fn trace(request: &mut HttpRequest, step: String) {
    match request.extensions.get_mut::<Trace>() {
        Some(t) => t.0.push(step),
        None => {
            request.extensions.insert(Trace(vec![step]));
        }
    }
}

/// A hook-form middleware that records its hooks, and writes the trace into `X-Trace` on the
/// way out.
struct Tracer {
    name: &'static str,
}

impl Middleware for Tracer {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        trace(request, format!("{}.request", self.name));
        if request.GET()?.get("stop") == Some(self.name) {
            return Ok(Some(HttpResponse::new(format!("stopped by {}", self.name))));
        }
        Ok(None)
    }

    fn process_view(
        &self,
        request: &mut HttpRequest,
        _view: &ViewFn,
    ) -> Result<Option<HttpResponse>, ViewError> {
        trace(request, format!("{}.view", self.name));
        Ok(None)
    }

    fn process_exception(
        &self,
        request: &mut HttpRequest,
        _error: &ViewError,
    ) -> Option<HttpResponse> {
        trace(request, format!("{}.exception", self.name));
        None
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        trace(request, format!("{}.response", self.name));
        let steps = request
            .extensions
            .get::<Trace>()
            .map(|t| t.0.join(","))
            .unwrap_or_default();
        Ok(response.header("X-Trace", steps))
    }
}

/// The wrapper form: Django's `__call__`.
struct Wrap;

impl Middleware for Wrap {
    fn call(
        &self,
        request: &mut HttpRequest,
        get_response: Next<'_>,
    ) -> Result<HttpResponse, ViewError> {
        trace(request, "wrap.before".to_string());
        let response = get_response.run(request);
        trace(request, "wrap.after".to_string());
        Ok(response.header("X-Wrapped", "yes"))
    }
}

/// Answers an unhandled view error with JSON (not a 404 or 403: those keep Django's pages).
struct JsonErrors;

impl Middleware for JsonErrors {
    fn process_exception(
        &self,
        _request: &mut HttpRequest,
        error: &ViewError,
    ) -> Option<HttpResponse> {
        if error.status_code() != 500 {
            return None;
        }
        JsonResponse::with_status(
            500,
            &json!({"status_code": 500, "message": "Internal Server Error", "data": {"message": error.message()}}),
        )
        .ok()
    }
}

/// Panics in the hook the query names: a middleware bug, for the 500 path.
struct Panicky;

impl Middleware for Panicky {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        if request.GET()?.get("panic") == Some("request") {
            panic!("process_request panicked on purpose");
        }
        Ok(None)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if request.GET()?.get("panic") == Some("response") {
            panic!("process_response panicked on purpose");
        }
        Ok(response)
    }
}

/// An error with a cause, for the "Caused by" chain.
#[derive(Debug)]
struct ReportFailed(std::io::Error);

impl std::fmt::Display for ReportFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the report could not be built")
    }
}

impl std::error::Error for ReportFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn chained(_request: &mut HttpRequest) -> ViewResult {
    let cause = std::io::Error::other("the disk holding reports is gone");
    Err(ReportFailed(cause).into())
}

fn bad_request(_request: &mut HttpRequest) -> ViewResult {
    Err(ViewError::BadRequest("The title is missing".into()))
}

fn bad_redirect(_request: &mut HttpRequest) -> ViewResult {
    redirect("nosuch")
}

fn unsafe_redirect(_request: &mut HttpRequest) -> ViewResult {
    HttpResponseRedirect::new("javascript:alert(document.cookie)")
}

fn ok(_request: &mut HttpRequest) -> ViewResult {
    Ok(HttpResponse::new("ok"))
}

fn boom(_request: &mut HttpRequest) -> ViewResult {
    let n: i64 = "not a number".parse()?;
    Ok(HttpResponse::new(n.to_string()))
}

fn panics(_request: &mut HttpRequest) -> ViewResult {
    panic!("the view panicked on purpose")
}

fn missing(_request: &mut HttpRequest) -> ViewResult {
    let found: Option<u8> = None;
    found.ok_or_else(|| ViewError::not_found("No object matches the given query."))?;
    Ok(HttpResponse::new("unreachable"))
}

fn forbidden(_request: &mut HttpRequest) -> ViewResult {
    Err(ViewError::PermissionDenied("no".into()))
}

fn meta(request: &mut HttpRequest) -> ViewResult {
    JsonResponse::new(&json!({
        "method": request.method,
        "path": request.path,
        "query": request.GET()?.get("q"),
        "remote_addr": request.meta("REMOTE_ADDR"),
        "scheme": request.meta("wsgi.url_scheme"),
        "ssl_client_s_dn": request.meta("SSL_CLIENT_S_DN"),
        "host": request.meta("HTTP_HOST"),
        "forwarded_host": request.meta("HTTP_X_FORWARDED_HOST"),
        "get_host": request.get_host()?,
        "get_port": request.get_port(),
        "is_secure": request.is_secure(),
        "user_agent": request.meta("HTTP_USER_AGENT"),
        "cookie": request.cookie("flavour"),
        "form": request.POST()?.get("title"),
        "id": request.kwarg_int("id"),
    }))
}

/// `?n=` lines; `?panic_at=k` makes the iterator panic instead of producing line k.
/// `/file/?path=ABS&from=N&len=N&attachment=1`: the file at `path` through `FileResponse` (a
/// range when `from` or `len` is given), for the server's zero-copy tests.
fn file(request: &mut HttpRequest) -> ViewResult {
    let query = request.GET()?;
    let Some(path) = query.get("path").map(std::path::PathBuf::from) else {
        return Ok(HttpResponseBadRequest::new("path= is required"));
    };
    let number = |name: &str| query.get(name).and_then(|v| v.parse::<u64>().ok());
    let attachment = query.get("attachment") == Some("1");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let f = std::fs::File::open(&path)?;
    match (number("from"), number("len")) {
        (None, None) => FileResponse::named(f, &name, attachment),
        (from, len) => {
            let from = from.unwrap_or(0);
            let len = match len {
                Some(len) => len,
                None => f.metadata()?.len().saturating_sub(from),
            };
            FileResponse::named_range(f, &name, attachment, from, len)
        }
    }
}

fn stream(request: &mut HttpRequest) -> ViewResult {
    let query = request.GET()?;
    let n: usize = query.get("n").and_then(|v| v.parse().ok()).unwrap_or(3);
    let panic_at: Option<usize> = query.get("panic_at").and_then(|v| v.parse().ok());
    Ok(StreamingHttpResponse::new((0..n).map(move |i| {
        if Some(i) == panic_at {
            panic!("the stream panicked on purpose at line {i}");
        }
        format!("line {i}\n")
    }))
    .content_type("text/plain"))
}

fn go_home(_request: &mut HttpRequest) -> ViewResult {
    redirect("home")
}

/// A class-based view with GET and POST.
struct Items;

impl View for Items {
    const HANDLERS: &'static [Method] = &[Method::Get, Method::Post];

    fn get(&self, _request: &mut HttpRequest) -> ViewResult {
        JsonResponse::new(&json!({"items": [1, 2, 3]}))
    }

    fn post(&self, _request: &mut HttpRequest) -> ViewResult {
        JsonResponse::with_status(201, &json!({"created": true}))
    }
}

/// The table of the `db/` views, made on first use (the testapp has no migrations).
fn writes_table() -> Result<handler_core::db::Connection, ViewError> {
    let db = handler_core::db::connection("default")?;
    let key = match db.vendor() {
        "postgresql" => "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        _ => "integer PRIMARY KEY AUTOINCREMENT",
    };
    db.execute_script(&format!(
        "CREATE TABLE IF NOT EXISTS testapp_write (id {key}, note text NOT NULL)"
    ))?;
    Ok(db)
}

/// `db/writes/`: how many rows `testapp_write` holds.
fn db_writes(_request: &mut HttpRequest) -> ViewResult {
    let db = writes_table()?;
    let rows = db.query("SELECT COUNT(*) FROM testapp_write", &[])?;
    let count: i64 = match rows.first() {
        Some(row) => row.get(0)?,
        None => 0,
    };
    JsonResponse::new(&json!({"count": count}))
}

/// `db/write/`: inserts a row (201).
fn db_write(_request: &mut HttpRequest) -> ViewResult {
    writes_table()?.execute(
        "INSERT INTO testapp_write (note) VALUES (%s)",
        &["kept".into()],
    )?;
    JsonResponse::with_status(201, &json!({"written": true}))
}

/// `db/write-then-fail/`: inserts a row, then fails (a 500): with `atomic_requests` the row
/// is rolled back with the view's transaction.
fn db_write_then_fail(_request: &mut HttpRequest) -> ViewResult {
    writes_table()?.execute(
        "INSERT INTO testapp_write (note) VALUES (%s)",
        &["lost".into()],
    )?;
    Err(ReportFailed(std::io::Error::other("the view failed after its write")).into())
}

/// `greet`: the app's own management command.
fn greet() -> FnCommand {
    FnCommand::new(
        "Greets NAME on stdout; --exit-code N fails with a CommandError and status N.",
        |ctx, options| {
            let name = options.get_one::<String>("name").map_or("", String::as_str);
            let mut line = format!("Hello, {name}!");
            if options.get_flag("shout") {
                line = line.to_uppercase();
            }
            // Through the host's logging callback: `--log-level info` shows it.
            log::info!(target: "testapp.commands", "greeting {name}");
            for _ in 0..options.get_one::<u32>("times").copied().unwrap_or(1) {
                ctx.stdout.write(&line)?;
            }
            if ctx.verbosity >= 2 {
                ctx.stderr
                    .write(format!("greeted {name} as {}", ctx.prog_name))?;
            }
            match options.get_one::<i32>("exit_code") {
                Some(&code) if code != 0 => Err(CommandError::new(format!(
                    "{name} was greeted, exiting with {code}"
                ))
                .with_returncode(code)),
                _ => Ok(()),
            }
        },
    )
    .arguments(|parser| {
        parser
            .arg(Arg::new("name").required(true).help("Who to greet."))
            .arg(
                Arg::new("times")
                    .long("times")
                    .value_parser(clap::value_parser!(u32))
                    .help("How many times."),
            )
            .arg(
                Arg::new("shout")
                    .long("shout")
                    .action(ArgAction::SetTrue)
                    .help("In capitals."),
            )
            .arg(
                Arg::new("exit_code")
                    .long("exit-code")
                    .value_parser(clap::value_parser!(i32))
                    .help("Fail with this exit status."),
            )
    })
}

/// The app's system check: the `[app]` table's `check_warning` and `check_error`, reported.
fn app_settings_check(ctx: &CheckContext<'_>) -> Vec<CheckMessage> {
    let table = &ctx.handler.settings().app;
    let text = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let mut found = Vec::new();
    if let Some(msg) = text("check_warning") {
        found.push(CheckMessage::warning(msg, "testapp.W001"));
    }
    if let Some(msg) = text("check_error") {
        found.push(CheckMessage::error(msg, "testapp.E001").hint("Remove [app] check_error."));
    }
    found
}

/// The app.
pub fn build(settings: &Settings) -> Result<App, ConfigError> {
    let urlpatterns = vec![
        path("", view(ok)).name("home"),
        path("ok/", view(ok)),
        path("boom/", view(boom)),
        path("chained/", view(chained)),
        path("bad-request/", view(bad_request)),
        path("bad-redirect/", view(bad_redirect)),
        path("unsafe-redirect/", view(unsafe_redirect)),
        path("private-broken/", login_required_at("nosuch", view(ok))),
        path("panic/", view(panics)),
        path("missing/", view(missing)),
        path("forbidden/", view(forbidden)),
        path("go-home/", view(go_home)),
        path("get-only/", require_http_methods(&["GET"], view(ok))),
        path("private/", login_required(view(ok))),
        path("stream/", view(stream)),
        path("file/", view(file)),
        path("items/", Items.as_view()).name("items"),
        path("db/writes/", view(db_writes)),
        path("db/write/", view(db_write)),
        path("db/write-then-fail/", view(db_write_then_fail)),
        include(
            "api/",
            vec![path("meta/<int:id>/", view(meta)).name("meta")],
        ),
    ];
    let mut app = App::new(urlpatterns)
        .middleware("trace_outer", |_: &Settings| Ok(Tracer { name: "outer" }))
        .middleware("trace_inner", |_: &Settings| Ok(Tracer { name: "inner" }))
        .middleware("wrap", |_: &Settings| Ok(Wrap))
        .middleware("json_errors", |_: &Settings| Ok(JsonErrors))
        .middleware("panicky", |_: &Settings| Ok(Panicky))
        .command("greet", greet())
        .check(&["testapp"], app_settings_check);
    if settings.app.get("handler500").and_then(|v| v.as_str()) == Some("panics") {
        app = app.handler500(
            |_request: &mut HttpRequest, _error: &ViewError| -> HttpResponse {
                panic!("handler500 panicked on purpose")
            },
        );
    }
    Ok(app)
}

handler_core::export_app!(build);
