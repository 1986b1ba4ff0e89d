//! Templates (Django's `django.template.backends.jinja2`, on `minijinja`): Jinja2 syntax,
//! templates loaded from the directories `[templates] dirs` names (relative to the settings
//! file), HTML autoescaping as markupsafe does it, and the context Django's Jinja2 backend
//! gives a template rendered with a request: `request`, `csrf_input`, `csrf_token`, plus
//! `messages` (Django's messages context processor). [`render`] is the shortcut.
//!
//! `csrf_input` and `csrf_token` are lazy as in Django: the CSRF cookie is only sent when the
//! template really printed the token. `messages` are consumed only when the template iterates
//! over them, so a page that does not show them leaves them pending.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};
use crate::middleware::csrf::{self, CsrfState};
use crate::settings::{ConfigError, Settings};

/// The template engine: a minijinja environment over the settings' template directories.
pub struct Engine {
    env: Environment<'static>,
    dirs: Vec<PathBuf>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("dirs", &self.dirs).finish()
    }
}

/// markupsafe's `escape`, what Django's Jinja2 backend autoescapes with.
fn escape_markupsafe(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

impl Engine {
    /// An engine searching `dirs` in order. A directory that does not exist is an error, so
    /// a typo in the settings stops start-up instead of failing on the first page.
    pub fn new(dirs: Vec<PathBuf>) -> Result<Engine, ConfigError> {
        for d in &dirs {
            if !d.is_dir() {
                return Err(ConfigError::new(format!(
                    "[templates] dirs: {} is not a directory",
                    d.display()
                )));
            }
        }
        let mut env = Environment::new();
        let search = dirs.clone();
        env.set_loader(move |name| {
            for dir in &search {
                if let Some(source) = minijinja::path_loader(dir)(name)? {
                    return Ok(Some(source));
                }
            }
            Ok(None)
        });
        // Django's Jinja2 backend autoescapes every template.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == AutoEscape::None || value.is_safe() {
                minijinja::escape_formatter(out, state, value)
            } else if crate::forms::is_html_safe(value) {
                // A form, bound field or error list prints its own escaped HTML (__html__).
                out.write_str(&value.to_string())
                    .map_err(minijinja::Error::from)
            } else {
                let mut escaped = String::new();
                escape_markupsafe(&value.to_string(), &mut escaped);
                out.write_str(&escaped).map_err(minijinja::Error::from)
            }
        });
        Ok(Engine { env, dirs })
    }

    /// The engine the settings describe (`[templates] dirs`, relative to the settings file).
    pub fn from_settings(settings: &Settings) -> Result<Engine, ConfigError> {
        let base = settings.base_dir();
        let dirs = settings
            .templates
            .dirs
            .iter()
            .map(|d| {
                let p = Path::new(d);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                }
            })
            .collect();
        Engine::new(dirs).map_err(|e| {
            let file = settings
                .path()
                .map_or_else(|| "<settings>".to_string(), |p| p.display().to_string());
            ConfigError::new(format!("{file}: {e}"))
        })
    }

    /// Renders `name` with `context` (no request: no CSRF, no messages).
    pub fn render_to_string<S: Serialize>(
        &self,
        name: &str,
        context: S,
    ) -> Result<String, ViewError> {
        let template = self.env.get_template(name).map_err(template_error)?;
        template.render(context).map_err(template_error)
    }

    /// Renders `name` with `context` and what Django's Jinja2 backend adds for a request.
    pub fn render_with_request<S: Serialize>(
        &self,
        request: &mut HttpRequest,
        name: &str,
        context: S,
    ) -> Result<String, ViewError> {
        let template = self.env.get_template(name).map_err(template_error)?;
        // The token is made now but only committed (cookie sent) if the output shows it.
        let existing = request
            .extensions
            .get::<CsrfState>()
            .and_then(|s| s.cookie.clone());
        let secret = existing.clone().unwrap_or_else(csrf::get_new_csrf_string);
        let token = csrf::mask_cipher_secret(&secret);
        let csrf_input = format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{token}\">",
            csrf::CSRF_FORM_FIELD
        );
        let used = Arc::new(AtomicBool::new(false));
        let messages = crate::contrib::messages::pending_for_template(request)?;
        let messages = Value::from_object(TemplateMessages {
            items: messages
                .into_iter()
                .map(|m| Value::from_object(TemplateMessage(m)))
                .collect(),
            used: Arc::clone(&used),
        });
        let request_value = minijinja::context! {
            path => request.path.clone(),
            method => request.method.clone(),
            full_path => request.get_full_path(),
        };
        let ctx = minijinja::context! {
            request => request_value,
            csrf_input => Value::from_safe_string(csrf_input),
            csrf_token => token.clone(),
            messages => messages,
            ..Value::from_serialize(&context)
        };
        let output = template.render(ctx).map_err(template_error)?;
        if output.contains(&token) {
            // Django's lazy csrf_input: get_token ran, with the secret the request had.
            if existing.is_none() {
                let st = request.extensions.get_mut::<CsrfState>();
                match st {
                    Some(st) => st.cookie = Some(secret),
                    None => {
                        request.extensions.insert(CsrfState {
                            cookie: Some(secret),
                            ..CsrfState::default()
                        });
                    }
                }
            }
            if let Some(st) = request.extensions.get_mut::<CsrfState>() {
                st.needs_update = true;
            }
        }
        if used.load(Ordering::Relaxed) {
            crate::contrib::messages::mark_used(request);
        }
        Ok(output)
    }
}

/// The messages as a template sees them: iterating consumes them (Django's storage sets
/// `used` when iterated); `{% if messages %}` does not.
#[derive(Debug)]
struct TemplateMessages {
    items: Vec<Value>,
    used: Arc<AtomicBool>,
}

impl Object for TemplateMessages {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = key.as_usize()?;
        self.used.store(true, Ordering::Relaxed);
        self.items.get(index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.used.store(true, Ordering::Relaxed);
        Enumerator::Values(self.items.clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.items.len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.items.is_empty()
    }
}

/// One message in a template: `{{ message }}` is its text (Django's `str(message)`), with
/// `message.level`, `.tags`, `.level_tag`, `.extra_tags` and `.message`.
#[derive(Debug)]
struct TemplateMessage(crate::contrib::messages::Message);

impl Object for TemplateMessage {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let m = &self.0;
        Some(match key.as_str()? {
            "message" => Value::from(m.message.clone()),
            "level" => Value::from(m.level),
            "tags" => Value::from(m.tags()),
            "level_tag" => Value::from(m.level_tag()),
            "extra_tags" => Value::from(m.extra_tags.clone()),
            _ => return None,
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

/// A template error as a view error (Django's `TemplateDoesNotExist` /
/// `TemplateSyntaxError`: a 500).
fn template_error(e: minijinja::Error) -> ViewError {
    let kind = match e.kind() {
        minijinja::ErrorKind::TemplateNotFound => "TemplateDoesNotExist",
        minijinja::ErrorKind::SyntaxError => "TemplateSyntaxError",
        _ => "TemplateError",
    };
    ViewError::msg(format!("{kind}: {e}"))
}

/// The engine of the running app, built from the settings on first use.
pub fn engine(settings: &Settings) -> Result<&Engine, ViewError> {
    settings
        .template_engine()
        .map_err(|e| ViewError::msg(format!("ImproperlyConfigured: {e}")))
}

/// Django's `render(request, template_name, context)`: a 200 html response with the template
/// rendered for this request.
pub fn render<S: Serialize>(
    request: &mut HttpRequest,
    template_name: &str,
    context: S,
) -> Result<HttpResponse, ViewError> {
    let settings = Arc::clone(request.settings_arc());
    let body = engine(&settings)?.render_with_request(request, template_name, context)?;
    Ok(HttpResponse::new(body))
}

/// Django's `render_to_string(template_name, context, request)`.
pub fn render_to_string<S: Serialize>(
    request: &mut HttpRequest,
    template_name: &str,
    context: S,
) -> Result<String, ViewError> {
    let settings = Arc::clone(request.settings_arc());
    engine(&settings)?.render_with_request(request, template_name, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn site(files: &[(&str, &str)]) -> (Dir, Arc<Settings>) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hc-templates-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join("templates").join(name), text).unwrap();
        }
        let path = dir.join("settings.toml");
        std::fs::write(&path, "[templates]\ndirs = [\"templates\"]\n").unwrap();
        let settings = Settings::load(&path).unwrap();
        (Dir(dir), Arc::new(settings))
    }

    #[test]
    fn renders_with_autoescape_inheritance_and_the_lazy_csrf_input() {
        let (_d, s) = site(&[
            (
                "base.html",
                "<title>{% block title %}{% endblock %}</title>{% block body %}{% endblock %}",
            ),
            (
                "form.html",
                "{% extends \"base.html\" %}{% block title %}{{ title }}{% endblock %}\
                 {% block body %}<form>{{ csrf_input }}</form>{% endblock %}",
            ),
            ("plain.html", "{{ title }} at {{ request.path }}"),
        ]);
        let mut r = HttpRequest::new("GET", "/f/", "", Arc::clone(&s));
        let resp = render(&mut r, "form.html", json!({"title": "<a & 'b'/>"})).unwrap();
        let page = String::from_utf8(resp.content().to_vec()).unwrap();
        assert!(
            page.starts_with("<title>&lt;a &amp; &#39;b&#39;/&gt;</title>"),
            "{page}"
        );
        let token = page
            .split("name=\"csrfmiddlewaretoken\" value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap();
        let st = r.extensions.get::<CsrfState>().unwrap();
        assert!(st.needs_update);
        let secret = st.cookie.clone().unwrap();
        assert_eq!(csrf::unmask_cipher_token(token), Some(secret));

        // A template without the token leaves the CSRF state alone.
        let mut r = HttpRequest::new("GET", "/p/", "", Arc::clone(&s));
        let resp = render(&mut r, "plain.html", json!({"title": "T"})).unwrap();
        assert_eq!(resp.content(), b"T at /p/");
        assert!(r.extensions.get::<CsrfState>().is_none());

        let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&s));
        let e = render(&mut r, "missing.html", json!({})).unwrap_err();
        assert!(e.message().contains("TemplateDoesNotExist"), "{e}");
    }

    #[test]
    fn a_missing_directory_is_a_start_up_error() {
        let e = Engine::new(vec![PathBuf::from("/nonexistent/templates")]).unwrap_err();
        assert!(e.message().contains("/nonexistent/templates"), "{e}");
    }
}
