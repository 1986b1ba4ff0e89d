//! Testing tools (Django's `django.test`): [`RequestFactory`] builds requests, and [`Client`]
//! drives a built app in process, with no server: every request goes through the whole
//! middleware chain, with a cookie jar kept across calls, `follow` for redirects,
//! [`Client::force_login`], and CSRF checks off unless [`Client::enforce_csrf_checks`] asks
//! for them (Django's `Client(enforce_csrf_checks=True)`).
//!
//! Requests carry `Host: testserver`; as Django's test runner does, a client built with
//! [`Client::from_app`] adds `testserver` to `allowed_hosts`.
//!
//! ```
//! use handler_core::prelude::*;
//! use handler_core::test::Client;
//!
//! fn hello(request: &mut HttpRequest) -> ViewResult {
//!     let name = request.GET()?.get("name").unwrap_or("world").to_string();
//!     Ok(HttpResponse::new(format!("Hello, {name}")))
//! }
//!
//! let app = App::new(vec![path("hello/", view(hello))]);
//! let mut client = Client::from_app(app, Settings::default()).unwrap();
//! let response = client.get("/hello/?name=Ada");
//! assert_eq!(response.status_code, 200);
//! assert_eq!(response.text(), "Hello, Ada");
//! ```

use std::sync::Arc;

use serde::Serialize;

use crate::app::App;
use crate::contrib::auth::{AuthContext, StoredUser, User, UserStore};
use crate::contrib::sessions::{RequestSessionExt, Session, SessionState, SessionStore};
use crate::exception::ViewError;
use crate::handler::Handler;
use crate::http::encoding::quote_plus;
use crate::http::response::Body;
use crate::http::{Headers, HttpRequest, HttpResponse};
use crate::settings::{ConfigError, Settings};

/// The host test requests are made to (Django's `testserver`).
pub const TEST_HOST: &str = "testserver";

/// How many redirects `follow` goes through before it gives up (Django raises
/// `RedirectCycleError` at 20).
pub const MAX_REDIRECTS: usize = 20;

/// A request body: a urlencoded form, JSON, or raw bytes with a content type.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` from pairs (Django's `data={...}` on a POST is
    /// multipart; urlencoded is what a browser form sends, and what curl's `-d` sends).
    Form(Vec<(String, String)>),
    /// `application/json`.
    Json(serde_json::Value),
    /// Bytes with their content type.
    Raw {
        /// The `Content-Type`.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
}

impl Data {
    /// A form from `(name, value)` pairs.
    pub fn form(pairs: &[(&str, &str)]) -> Data {
        Data::Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// JSON from anything serialisable.
    pub fn json<T: Serialize>(value: &T) -> Data {
        Data::Json(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
    }

    fn encode(&self) -> Option<(String, Vec<u8>)> {
        match self {
            Data::Empty => None,
            Data::Form(pairs) => {
                let body: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                    .collect();
                Some((
                    "application/x-www-form-urlencoded".to_string(),
                    body.join("&").into_bytes(),
                ))
            }
            Data::Json(v) => Some((
                "application/json".to_string(),
                serde_json::to_vec(v).unwrap_or_default(),
            )),
            Data::Raw { content_type, body } => Some((content_type.clone(), body.clone())),
        }
    }
}

/// Django's `RequestFactory`: requests as the server would hand them to the app, for calling
/// a view or a middleware directly.
#[derive(Debug, Clone)]
pub struct RequestFactory {
    settings: Arc<Settings>,
    headers: Vec<(String, String)>,
}

impl RequestFactory {
    /// A factory for requests under `settings`.
    pub fn new(settings: Arc<Settings>) -> Self {
        RequestFactory {
            settings,
            headers: Vec::new(),
        }
    }

    /// A header every request gets (Django's `RequestFactory(headers=...)`).
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A request: `path` may hold a query string; the body comes from `data`.
    pub fn request(&self, method: &str, path: &str, data: &Data) -> HttpRequest {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut r = HttpRequest::new(method, path, query, Arc::clone(&self.settings));
        r.headers = Headers::new();
        r.headers.append("Host", TEST_HOST);
        r.connection.server_name = TEST_HOST.to_string();
        r.connection.server_port = 80;
        r.connection.remote_addr = "127.0.0.1".to_string();
        for (k, v) in &self.headers {
            r.headers.append(k.as_str(), v.as_str());
        }
        if let Some((content_type, body)) = data.encode() {
            r.headers.append("Content-Type", content_type);
            r.headers.append("Content-Length", body.len().to_string());
            r = r.with_body(body);
        }
        r
    }

    /// A GET.
    pub fn get(&self, path: &str) -> HttpRequest {
        self.request("GET", path, &Data::Empty)
    }

    /// A POST.
    pub fn post(&self, path: &str, data: &Data) -> HttpRequest {
        self.request("POST", path, data)
    }
}

/// A response as the client saw it (Django's test response).
#[derive(Debug)]
pub struct TestResponse {
    /// `status_code`.
    pub status_code: u16,
    /// The headers, `Set-Cookie` included.
    pub headers: Headers,
    /// The body (a streaming body read to its end).
    pub content: Vec<u8>,
    /// The cookies this response set, as `(name, value)` (a deleted cookie has an empty
    /// value); Django's `response.cookies`.
    pub cookies: Vec<(String, String)>,
    /// With `follow`, each redirect taken: `(url, status)` (Django's `redirect_chain`).
    pub redirect_chain: Vec<(String, u16)>,
}

impl TestResponse {
    fn from_response(mut response: HttpResponse) -> Self {
        let content = match response.take_body() {
            Body::Bytes(b) => b,
            Body::Stream(chunks) => chunks.flatten().collect(),
            // The bytes the server would send from the file (a read error: what was read).
            Body::File(file) => file.into_chunks().flatten().collect(),
        };
        let cookies = response
            .headers
            .get_all("Set-Cookie")
            .filter_map(parse_set_cookie)
            .map(|c| (c.name, c.value))
            .collect();
        TestResponse {
            status_code: response.status_code,
            headers: response.headers,
            content,
            cookies,
            redirect_chain: Vec::new(),
        }
    }

    /// A header's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }

    /// Django's `response.json()`: the body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.content)
    }

    /// The value of a cookie this response set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One `Set-Cookie` as the jar reads it.
struct SetCookie {
    name: String,
    value: String,
    deleted: bool,
}

fn parse_set_cookie(line: &str) -> Option<SetCookie> {
    let mut parts = line.split(';');
    let first = parts.next()?;
    let (name, value) = first.split_once('=')?;
    let value = crate::http::cookies::parse_cookie(&format!("x={}", value.trim()))
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_default();
    let deleted = parts.any(|a| {
        let a = a.trim().to_ascii_lowercase();
        a == "max-age=0" || a.starts_with("max-age=-")
    });
    Some(SetCookie {
        name: name.trim().to_string(),
        value,
        deleted,
    })
}

/// Django's test `Client`: requests through the whole app in process, a cookie jar, redirects
/// followed on request, login without a password.
pub struct Client {
    handler: Handler,
    cookies: Vec<(String, String)>,
    enforce_csrf_checks: bool,
    headers: Vec<(String, String)>,
}

impl Client {
    /// A client for a built handler.
    pub fn new(handler: Handler) -> Self {
        Client {
            handler,
            cookies: Vec::new(),
            enforce_csrf_checks: false,
            headers: Vec::new(),
        }
    }

    /// Builds `app` with `settings` (`testserver` added to `allowed_hosts`) and a client for
    /// it.
    pub fn from_app(app: App, mut settings: Settings) -> Result<Self, ConfigError> {
        if !settings.allowed_hosts.iter().any(|h| h == TEST_HOST) {
            settings.allowed_hosts.push(TEST_HOST.to_string());
        }
        Ok(Client::new(app.into_handler(settings)?))
    }

    /// Django's `Client(enforce_csrf_checks=True)`: requests are checked like a browser's.
    pub fn enforce_csrf_checks(mut self, enforce: bool) -> Self {
        self.enforce_csrf_checks = enforce;
        self
    }

    /// A header sent with every request (Django's `Client(headers=...)`).
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The handler (its settings, its stores).
    pub fn handler(&self) -> &Handler {
        &self.handler
    }

    /// The cookie jar (Django's `client.cookies`).
    pub fn cookies(&self) -> &[(String, String)] {
        &self.cookies
    }

    /// A cookie's value in the jar.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Puts a cookie in the jar.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_string(), value.to_string()));
    }

    /// GET `path` (which may hold a query string).
    pub fn get(&mut self, path: &str) -> TestResponse {
        self.request("GET", path).send()
    }

    /// POST a form (Django's `client.post(path, data)`).
    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        self.request("POST", path).data(Data::form(form)).send()
    }

    /// POST JSON.
    pub fn post_json<T: Serialize>(&mut self, path: &str, value: &T) -> TestResponse {
        self.request("POST", path).data(Data::json(value)).send()
    }

    /// PUT with `data`.
    pub fn put(&mut self, path: &str, data: Data) -> TestResponse {
        self.request("PUT", path).data(data).send()
    }

    /// PATCH with `data`.
    pub fn patch(&mut self, path: &str, data: Data) -> TestResponse {
        self.request("PATCH", path).data(data).send()
    }

    /// DELETE.
    pub fn delete(&mut self, path: &str) -> TestResponse {
        self.request("DELETE", path).send()
    }

    /// HEAD.
    pub fn head(&mut self, path: &str) -> TestResponse {
        self.request("HEAD", path).send()
    }

    /// OPTIONS.
    pub fn options(&mut self, path: &str) -> TestResponse {
        self.request("OPTIONS", path).send()
    }

    /// A request to build further: headers, body, `follow`, `secure`.
    pub fn request<'c>(&'c mut self, method: &str, path: &str) -> ClientRequest<'c> {
        ClientRequest {
            client: self,
            method: method.to_string(),
            path: path.to_string(),
            data: Data::Empty,
            headers: Vec::new(),
            follow: false,
            secure: false,
        }
    }

    /// Django's `client.force_login(user)`: a session signed in as `user`, saved, its cookie
    /// in the jar (no password, no request through the app).
    pub fn force_login(&mut self, user: &StoredUser) -> Result<(), ViewError> {
        let store = self
            .handler
            .extensions()
            .get::<Arc<dyn SessionStore>>()
            .cloned()
            .ok_or_else(|| ViewError::msg("force_login needs the app's session engine"))?;
        let users = self
            .handler
            .extensions()
            .get::<Arc<dyn UserStore>>()
            .cloned()
            .ok_or_else(|| ViewError::msg("force_login needs App::user_store"))?;
        let settings = Arc::clone(self.handler.settings());
        let mut request =
            RequestFactory::new(Arc::clone(&settings)).request("GET", "/", &Data::Empty);
        let key = self
            .cookie(&settings.session_cookie_name)
            .map(str::to_string);
        let state = SessionState::new(
            key.as_deref(),
            settings.session_cookie_age,
            settings.session_expire_at_browser_close,
        );
        request.extensions.insert(Session::new(store, state));
        request.extensions.insert(Arc::new(AuthContext {
            store: users,
            keys: crate::signing::SecretKeys::from_settings(&settings)?,
        }));
        crate::contrib::auth::login(&mut request, user)?;
        let session = request.session()?;
        session.save()?;
        let key = session.session_key().unwrap_or_default().to_string();
        self.set_cookie(&settings.session_cookie_name, &key);
        Ok(())
    }

    /// Django's `client.logout()`: the session flushed, the jar emptied.
    pub fn logout(&mut self) -> Result<(), ViewError> {
        let settings = Arc::clone(self.handler.settings());
        if let (Some(store), Some(key)) = (
            self.handler
                .extensions()
                .get::<Arc<dyn SessionStore>>()
                .cloned(),
            self.cookie(&settings.session_cookie_name)
                .map(str::to_string),
        ) {
            let state = SessionState::new(Some(&key), settings.session_cookie_age, false);
            Session::new(store, state).flush()?;
        }
        self.cookies.clear();
        Ok(())
    }

    fn store_cookies(&mut self, response: &TestResponse) {
        for line in response.headers.get_all("Set-Cookie") {
            if let Some(c) = parse_set_cookie(line) {
                self.cookies.retain(|(n, _)| *n != c.name);
                if !c.deleted {
                    self.cookies.push((c.name, c.value));
                }
            }
        }
    }
}

/// A request being built by [`Client::request`].
pub struct ClientRequest<'c> {
    client: &'c mut Client,
    method: String,
    path: String,
    data: Data,
    headers: Vec<(String, String)>,
    follow: bool,
    secure: bool,
}

impl ClientRequest<'_> {
    /// The body.
    pub fn data(mut self, data: Data) -> Self {
        self.data = data;
        self
    }

    /// A header (Django's `headers={...}`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Django's `follow=True`: redirects are followed (GET, as a browser does after a 302 or
    /// 303; 307 and 308 keep the method and body), each recorded in `redirect_chain`.
    pub fn follow(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Django's `secure=True`: the request comes over HTTPS.
    pub fn secure(mut self) -> Self {
        self.secure = true;
        self
    }

    /// Sends it through the app.
    pub fn send(self) -> TestResponse {
        let ClientRequest {
            client,
            method,
            path,
            data,
            headers,
            follow,
            secure,
        } = self;
        let mut response = one_request(client, &method, &path, &data, &headers, secure);
        if !follow {
            return response;
        }
        let mut chain = Vec::new();
        let (mut method, mut data) = (method, data);
        while matches!(response.status_code, 301 | 302 | 303 | 307 | 308)
            && chain.len() < MAX_REDIRECTS
        {
            let Some(location) = response.get("Location").map(str::to_string) else {
                break;
            };
            chain.push((location.clone(), response.status_code));
            if !matches!(response.status_code, 307 | 308) {
                method = "GET".to_string();
                data = Data::Empty;
            }
            // An absolute URL on the test host is followed by its path; another host is
            // where the app hands over (Django's client does not leave testserver either).
            let target = match location.split_once("://") {
                Some((_, rest)) => match rest.split_once('/') {
                    Some((host, path)) if host == TEST_HOST => format!("/{path}"),
                    _ => break,
                },
                None => location,
            };
            response = one_request(client, &method, &target, &data, &headers, secure);
        }
        response.redirect_chain = chain;
        response
    }
}

fn one_request(
    client: &mut Client,
    method: &str,
    path: &str,
    data: &Data,
    headers: &[(String, String)],
    secure: bool,
) -> TestResponse {
    let factory = RequestFactory::new(Arc::clone(client.handler.settings()));
    let mut request = factory.request(method, path, data);
    if secure {
        request.connection.scheme = "https".into();
        request.connection.server_port = 443;
    }
    for (k, v) in client.headers.iter().chain(headers) {
        request.headers.append(k.as_str(), v.as_str());
    }
    if !client.cookies.is_empty() {
        let jar: Vec<String> = client
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        request.headers.append("Cookie", jar.join("; "));
    }
    if !client.enforce_csrf_checks {
        crate::middleware::csrf::dont_enforce_csrf_checks(&mut request);
    }
    let response = TestResponse::from_response(client.handler.get_response(&mut request));
    client.store_cookies(&response);
    response
}

/// The user `force_login` signed in, as `request.user` shows it.
pub fn user_of(stored: &StoredUser) -> User {
    User::from_stored(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::csrf::get_token;
    use crate::urls::path;
    use crate::views::{view, ViewResult};

    fn token(r: &mut HttpRequest) -> ViewResult {
        Ok(HttpResponse::new(get_token(r)))
    }

    fn echo(r: &mut HttpRequest) -> ViewResult {
        let title = r.POST()?.get("title").unwrap_or("").to_string();
        Ok(HttpResponse::new(format!("{} {title}", r.method)))
    }

    fn go(_r: &mut HttpRequest) -> ViewResult {
        crate::http::HttpResponseRedirect::new("/token/")
    }

    fn client(enforce: bool) -> Client {
        let mut s = Settings::default();
        s.middleware = vec!["csrf".into()];
        let app = App::new(vec![
            path("token/", view(token)),
            path("echo/", view(echo)),
            path("go/", view(go)),
        ]);
        Client::from_app(app, s)
            .unwrap()
            .enforce_csrf_checks(enforce)
    }

    #[test]
    fn cookies_persist_and_csrf_is_enforced_only_on_request() {
        let mut c = client(true);
        let r = c.post("/echo/", &[("title", "x")]);
        assert_eq!(r.status_code, 403);
        let r = c.get("/token/");
        let secret = r.cookie("csrftoken").unwrap().to_string();
        assert_eq!(c.cookie("csrftoken"), Some(secret.as_str()));
        let token = r.text();
        let r = c.post(
            "/echo/",
            &[("title", "a b&c"), ("csrfmiddlewaretoken", &token)],
        );
        assert_eq!((r.status_code, r.text()), (200, "POST a b&c".to_string()));
        let r = c
            .request("DELETE", "/echo/")
            .header("X-CSRFToken", &token)
            .send();
        assert_eq!(r.status_code, 200);

        let mut lax = client(false);
        assert_eq!(lax.post("/echo/", &[("title", "x")]).status_code, 200);
    }

    #[test]
    fn follow_records_the_chain() {
        let mut c = client(false);
        let r = c.request("GET", "/go/").follow().send();
        assert_eq!(r.status_code, 200);
        assert_eq!(r.redirect_chain, [("/token/".to_string(), 302)]);
        assert_eq!(c.get("/nowhere/").status_code, 404);
        assert_eq!(c.head("/token/").status_code, 200);
    }

    #[test]
    fn the_factory_builds_json_and_form_requests() {
        let f = RequestFactory::new(Arc::new(Settings::default()));
        let r = f.post("/x/?a=1", &Data::json(&serde_json::json!({"k": 1})));
        assert_eq!(r.content_type(), "application/json");
        assert_eq!(r.body(), br#"{"k":1}"#);
        assert_eq!(r.GET().unwrap().get("a"), Some("1"));
        let r = f.post("/x/", &Data::form(&[("a b", "c&d")]));
        assert_eq!(r.body(), b"a+b=c%26d");
        assert_eq!(r.POST().unwrap().get("a b"), Some("c&d"));
    }
}
