//! The `messages` middleware (Django's `MessageMiddleware`): a storage for each request, and
//! on the way out the messages not shown are stored (in debug, messages that fit nowhere are
//! an error, as Django raises `ValueError`).

use std::sync::Arc;

use super::storage::{MessageStorage, StorageConfig};
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};
use crate::middleware::Middleware;
use crate::settings::{ConfigError, Settings};

/// Django's `MessageMiddleware`.
pub struct MessageMiddleware {
    config: Arc<StorageConfig>,
    debug: bool,
}

impl MessageMiddleware {
    /// The middleware with the storage `message_storage` names.
    pub fn new(settings: &Settings) -> Result<Self, ConfigError> {
        Ok(MessageMiddleware {
            config: Arc::new(StorageConfig::from_settings(settings)?),
            debug: settings.debug,
        })
    }
}

impl Middleware for MessageMiddleware {
    fn process_request(
        &self,
        request: &mut HttpRequest,
    ) -> Result<Option<HttpResponse>, ViewError> {
        request
            .extensions
            .insert(MessageStorage::new(Arc::clone(&self.config)));
        Ok(None)
    }

    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if let Some(mut storage) = request.extensions.remove::<MessageStorage>() {
            let unstored = storage.update(request, &mut response)?;
            if !unstored.is_empty() && self.debug {
                return Err(ViewError::msg(
                    "ValueError: Not all temporary messages could be stored.",
                ));
            }
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contrib::messages::{add_message, constants, get_messages};
    use crate::contrib::sessions::base::tests::MemoryStore;
    use crate::contrib::sessions::middleware::SessionMiddleware;

    struct Browser {
        settings: Arc<Settings>,
        sessions: SessionMiddleware,
        messages: MessageMiddleware,
        cookies: Vec<(String, String)>,
    }

    impl Browser {
        fn new() -> Browser {
            let mut s = Settings::default();
            s.secret_key = "notes-insecure-test-key".into();
            Browser {
                sessions: SessionMiddleware::new(&s, Arc::new(MemoryStore::default())).unwrap(),
                messages: MessageMiddleware::new(&s).unwrap(),
                settings: Arc::new(s),
                cookies: Vec::new(),
            }
        }

        /// One request through sessions and messages, `view` in the middle.
        fn visit(
            &mut self,
            view: impl FnOnce(&mut HttpRequest) -> Result<HttpResponse, ViewError>,
        ) -> HttpResponse {
            let mut r = HttpRequest::new("GET", "/", "", Arc::clone(&self.settings));
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            r.headers.append("Cookie", jar.join("; "));
            self.sessions.process_request(&mut r).unwrap();
            self.messages.process_request(&mut r).unwrap();
            let resp = view(&mut r).unwrap();
            let resp = self.messages.process_response(&mut r, resp).unwrap();
            let resp = self.sessions.process_response(&mut r, resp).unwrap();
            for line in resp.headers.get_all("Set-Cookie") {
                let (name, rest) = line.split_once('=').unwrap();
                let value = rest
                    .split(';')
                    .next()
                    .unwrap()
                    .trim_matches('"')
                    .to_string();
                self.cookies.retain(|(k, _)| k != name);
                if !line.contains("Max-Age=0") {
                    self.cookies.push((name.to_string(), value));
                }
            }
            resp
        }

        fn shown(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            self.visit(|r| {
                out = get_messages(r)?.into_iter().map(|m| m.message).collect();
                Ok(HttpResponse::new("page"))
            });
            out
        }
    }

    #[test]
    fn a_message_is_shown_once_and_survives_pages_that_do_not_show_it() {
        let mut b = Browser::new();
        b.visit(|r| {
            add_message(r, constants::SUCCESS, "Note saved.", "")?;
            add_message(r, constants::DEBUG, "below the level", "")?;
            Ok(HttpResponse::new("x"))
        });
        assert!(b.cookies.iter().any(|(k, _)| k == "messages"));
        b.visit(|_r| Ok(HttpResponse::new("does not show them")));
        assert_eq!(b.shown(), ["Note saved."]);
        assert!(b.shown().is_empty(), "shown once");
        assert!(
            !b.cookies.iter().any(|(k, _)| k == "messages"),
            "cookie deleted"
        );
    }

    #[test]
    fn past_2048_bytes_the_rest_goes_to_the_session() {
        let mut b = Browser::new();
        // Text that does not compress, so the cookie really fills up.
        let mut seed: u64 = 7;
        let mut noise = || {
            (0..60)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + ((seed >> 33) % 26) as u8)
                })
                .collect::<String>()
        };
        let long: Vec<String> = (0..40)
            .map(|i| format!("message {i} {}", noise()))
            .collect();
        let texts = long.clone();
        b.visit(move |r| {
            for t in &texts {
                add_message(r, constants::INFO, t, "")?;
            }
            Ok(HttpResponse::new("x"))
        });
        let cookie = &b.cookies.iter().find(|(k, _)| k == "messages").unwrap().1;
        assert!(cookie.len() <= 2048, "{}", cookie.len());
        assert!(
            b.cookies.iter().any(|(k, _)| k == "sessionid"),
            "the session took the rest"
        );
        assert_eq!(b.shown(), long);
        assert!(b.shown().is_empty());
    }

    #[test]
    fn adding_without_the_middleware_is_an_error() {
        let mut r = HttpRequest::new("GET", "/", "", Arc::new(Settings::default()));
        let e = add_message(&mut r, constants::INFO, "x", "").unwrap_err();
        assert!(e.message().contains("MessageFailure"), "{e}");
        assert!(get_messages(&mut r).unwrap().is_empty());
    }
}
