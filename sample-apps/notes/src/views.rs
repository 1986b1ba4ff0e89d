//! The views (`views.py`): the home page, Django's `LoginView` and `LogoutView` as this app
//! configures them, the notes JSON API, the session counter and the small API views of the
//! contract.

use handler_core::auth::{self, User};
use handler_core::contrib::messages;
use handler_core::db::models::Model;
use handler_core::prelude::*;
use handler_core::shortcuts::{get_object_or_404_in, resolve_url};
use handler_core::utils::http::url_has_allowed_host_and_scheme;
use serde_json::json;

use crate::models::{self, Note, NoteJson};

/// Django's `AuthenticationForm` error for a wrong username or password.
pub const INVALID_LOGIN: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";

/// Django's `Field.default_error_messages["required"]`.
pub const REQUIRED: &str = "This field is required.";

/// The message a new note leaves.
pub const NOTE_SAVED: &str = "Note saved.";

/// The signed-in user's id as the database knows it.
fn user_id(user: &User) -> Option<i64> {
    user.id.as_deref().and_then(|id| id.parse().ok())
}

/// `/`: who is signed in, their note titles, and the pending messages.
pub fn home(request: &mut HttpRequest) -> ViewResult {
    let user = request.user().clone();
    let notes = match user_id(&user) {
        Some(id) => models::notes_of(id)?,
        None => Vec::new(),
    };
    let username = if user.is_authenticated() {
        user.username.clone()
    } else {
        "anonymous".to_string()
    };
    render(
        request,
        "home.html",
        json!({
            "username": username,
            "is_authenticated": user.is_authenticated(),
            "notes": notes,
        }),
    )
}

/// Django's `RedirectURLMixin.get_redirect_url`: `next` from the form or the query, if it
/// is safe (same host and port, an http(s) scheme when HTTPS), else empty.
fn safe_next(request: &HttpRequest) -> Result<String, ViewError> {
    let from_post = request
        .POST()?
        .get(auth::REDIRECT_FIELD_NAME)
        .map(str::to_string);
    let next = match from_post {
        Some(n) => n,
        None => request
            .GET()?
            .get(auth::REDIRECT_FIELD_NAME)
            .unwrap_or("")
            .to_string(),
    };
    let host = request.get_host()?;
    let safe = url_has_allowed_host_and_scheme(&next, &[host.as_str()], request.is_secure());
    Ok(if safe { next } else { String::new() })
}

/// Django's `LoginView` (`registration/login.html`, `LOGIN_REDIRECT_URL`), with its
/// `AuthenticationForm`.
pub struct LoginView;

impl LoginView {
    fn form(
        request: &mut HttpRequest,
        username: &str,
        errors: (Vec<&str>, Vec<&str>, Vec<&str>),
    ) -> ViewResult {
        let next = safe_next(request)?;
        let (non_field, username_errors, password_errors) = errors;
        render(
            request,
            "registration/login.html",
            json!({
                "username": username,
                "next": next,
                "non_field_errors": non_field,
                "username_errors": username_errors,
                "password_errors": password_errors,
            }),
        )
    }
}

impl View for LoginView {
    // Django's ProcessFormView has get, post and put (put is post).
    const HANDLERS: &'static [Method] = &[Method::Get, Method::Post, Method::Put];

    fn get(&self, request: &mut HttpRequest) -> ViewResult {
        LoginView::form(request, "", Default::default())
    }

    fn post(&self, request: &mut HttpRequest) -> ViewResult {
        let post = request.POST()?;
        // UsernameField strips for the check; the form shows back what was typed
        // (BoundField.value()), and the password is taken as typed.
        let typed = post.get("username").unwrap_or("").to_string();
        let username = typed.trim().to_string();
        let password = post.get("password").unwrap_or("").to_string();
        let mut errors: (Vec<&str>, Vec<&str>, Vec<&str>) = Default::default();
        if username.is_empty() {
            errors.1.push(REQUIRED);
        }
        if password.is_empty() {
            errors.2.push(REQUIRED);
        }
        if errors.1.is_empty() && errors.2.is_empty() {
            match auth::authenticate(request, &username, &password)? {
                Some(user) => {
                    auth::login(request, &user)?;
                    let next = safe_next(request)?;
                    let target = if next.is_empty() {
                        resolve_url(&request.settings().login_redirect_url)?
                    } else {
                        next
                    };
                    return HttpResponseRedirect::new(&target);
                }
                None => errors.0.push(INVALID_LOGIN),
            }
        }
        LoginView::form(request, &typed, errors)
    }

    fn put(&self, request: &mut HttpRequest) -> ViewResult {
        self.post(request)
    }
}

/// Django 5's `LogoutView`: POST only (and OPTIONS); the session flushed, then
/// `LOGOUT_REDIRECT_URL`.
pub struct LogoutView;

impl View for LogoutView {
    const HANDLERS: &'static [Method] = &[Method::Post];

    fn post(&self, request: &mut HttpRequest) -> ViewResult {
        auth::logout(request)?;
        let next = safe_next(request)?;
        let target = if !next.is_empty() {
            next
        } else {
            match request.settings().logout_redirect_url.clone() {
                Some(url) => resolve_url(&url)?,
                None => request.path.clone(),
            }
        };
        HttpResponseRedirect::new(&target)
    }
}

/// `/notes/`: the user's notes (GET), or a new one from a form (POST).
pub fn note_list(request: &mut HttpRequest) -> ViewResult {
    let owner =
        user_id(request.user()).ok_or_else(|| ViewError::PermissionDenied(String::new()))?;
    if request.method == "POST" {
        let post = request.POST()?;
        // The twin's `request.POST.get("title", "").strip()`: Python's `str.isspace()` is
        // Unicode's White_Space and the separators \x1c-\x1f.
        let title = post
            .get("title")
            .unwrap_or("")
            .trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
            .to_string();
        let body = post.get("body").unwrap_or("").to_string();
        if title.is_empty() {
            return JsonResponse::with_status(400, &json!({"error": "title is required"}));
        }
        models::create_note(owner, &title, &body)?;
        messages::success(request, NOTE_SAVED)?;
        return redirect("home");
    }
    JsonResponse::new(&json!({"notes": models::notes_of(owner)?}))
}

/// `/notes/<int:id>/`: one of the user's notes (GET) or its deletion (DELETE); anyone
/// else's note is a 404.
pub fn note_detail(request: &mut HttpRequest) -> ViewResult {
    let owner =
        user_id(request.user()).ok_or_else(|| ViewError::PermissionDenied(String::new()))?;
    let not_found = || ViewError::Http404("No Note matches the given query.".to_string());
    let Some(id) = request.kwarg_int("id") else {
        return Err(not_found());
    };
    if request.method == "DELETE" {
        if !models::delete_note(owner, id)? {
            return Err(not_found());
        }
        return Ok(HttpResponse::with_status(204, Vec::new()));
    }
    // `get_object_or_404(Note, pk=id, owner=request.user)`.
    let note = get_object_or_404_in(&Note::objects().filter("owner_id", owner), id)?;
    JsonResponse::new(&NoteJson::from(note))
}

/// `/session/counter/`: `request.session["count"]` plus one.
pub fn session_counter(request: &mut HttpRequest) -> ViewResult {
    let session = request.session()?;
    let count = session.get("count")?.and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    session.set("count", count)?;
    JsonResponse::new(&json!({"count": count}))
}

/// `/api/whoami/`.
pub fn whoami(request: &mut HttpRequest) -> ViewResult {
    let user = request.user();
    JsonResponse::new(&json!({
        "username": user.username,
        "is_authenticated": user.is_authenticated(),
    }))
}

/// `/api/ping/`: a CSRF-protected JSON endpoint.
pub fn ping(_request: &mut HttpRequest) -> ViewResult {
    JsonResponse::new(&json!({"pong": true}))
}

/// `/api/hook/`: `csrf_exempt`, answers the body's length.
pub fn hook(request: &mut HttpRequest) -> ViewResult {
    JsonResponse::new(&json!({"received": request.body().len()}))
}

/// `/big/`: a thousand lines of text, for the GZip middleware.
pub fn big(_request: &mut HttpRequest) -> ViewResult {
    let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    Ok(HttpResponse::new(text).content_type("text/plain"))
}
