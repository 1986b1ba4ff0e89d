//! Message storage (Django's `contrib/messages/storage/`): `CookieStorage` (a `messages`
//! cookie signed with the cookie signer, salt `django.contrib.messages`, at most 2048 bytes),
//! `SessionStorage` (`request.session["_messages"]`) and the default `FallbackStorage` (the
//! cookie, then the session for what does not fit). The cookie's bytes are Django's: a value
//! Django wrote with the same `secret_key` is read here and the other way round.

use std::sync::Arc;

use serde_json::Value;

use super::constants;
use crate::contrib::sessions::RequestSessionExt;
use crate::exception::ViewError;
use crate::http::cookies::CookieOptions;
use crate::http::{HttpRequest, HttpResponse};
use crate::middleware::csrf::samesite;
use crate::settings::{ConfigError, Settings};
use crate::signing::{get_cookie_signer, JsonSerializer, SecretKeys, TimestampSigner};

/// Django's `CookieStorage.cookie_name`.
pub const COOKIE_NAME: &str = "messages";
/// Django's `CookieStorage.max_cookie_size`.
pub const MAX_COOKIE_SIZE: usize = 2048;
/// Django's `CookieStorage.not_finished`: the cookie's last item when the rest is in the
/// session.
pub const NOT_FINISHED: &str = "__messagesnotfinished__";
/// Django's `CookieStorage.key_salt`.
pub const KEY_SALT: &str = "django.contrib.messages";
/// Django's `MessageEncoder.message_key`.
pub const MESSAGE_KEY: &str = "__json_message";
/// Django's `SessionStorage.session_key`.
pub const SESSION_KEY: &str = "_messages";

/// A message (Django's `storage.base.Message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The level (`constants::INFO`, ...).
    pub level: i32,
    /// The text.
    pub message: String,
    /// Extra tags (`""` from `add_message`; `None` only in data written without them).
    pub extra_tags: Option<String>,
    /// The text was `mark_safe`d (not escaped in templates).
    pub safe: bool,
}

impl Message {
    /// Django's `level_tag`: `info`, `success`, ...
    pub fn level_tag(&self) -> &'static str {
        constants::level_tag(self.level)
    }

    /// Django's `tags`: the extra tags and the level tag, space-separated.
    pub fn tags(&self) -> String {
        [self.extra_tags.as_deref().unwrap_or(""), self.level_tag()]
            .iter()
            .filter(|t| !t.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Django's `MessageEncoder.default`: `["__json_message", safe, level, message,
    /// extra_tags]`, the tags left out when `None`.
    pub fn to_json(&self) -> Value {
        let mut v = vec![
            Value::from(MESSAGE_KEY),
            Value::from(u8::from(self.safe)),
            Value::from(self.level),
            Value::from(self.message.clone()),
        ];
        if let Some(tags) = &self.extra_tags {
            v.push(Value::from(tags.clone()));
        }
        Value::Array(v)
    }

    /// Django's `MessageDecoder` for one item: `None` when it is not a message.
    pub fn from_json(v: &Value) -> Option<Message> {
        let items = v.as_array()?;
        if items.first()?.as_str()? != MESSAGE_KEY {
            return None;
        }
        let safe = match items.get(1)? {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            _ => return None,
        };
        let level = match items.get(2)? {
            Value::Number(n) => i32::try_from(n.as_i64()?).ok()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        let message = items.get(3)?.as_str()?.to_string();
        let extra_tags = match items.get(4) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return None,
        };
        if items.len() > 5 {
            return None;
        }
        Some(Message {
            level,
            message,
            extra_tags,
            safe,
        })
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("level", &self.level)?;
        m.serialize_entry("tags", &self.tags())?;
        m.serialize_entry("level_tag", self.level_tag())?;
        m.serialize_entry("extra_tags", &self.extra_tags)?;
        m.end()
    }
}

/// Which storage `message_storage` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CookieStorage`.
    Cookie,
    /// `SessionStorage`.
    Session,
    /// `FallbackStorage` (Django's default).
    Fallback,
}

/// What every request's storage shares: the kind, the signer, the cookie's attributes.
pub struct StorageConfig {
    kind: Kind,
    level: i32,
    signer: Option<TimestampSigner>,
    set_options: CookieOptions,
    delete_options: CookieOptions,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("kind", &self.kind)
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

impl StorageConfig {
    /// The storage `message_storage` names (short or Django's dotted name), the cookie
    /// signed with `secret_key` and set with the `session_cookie_*` domain, secure, httponly
    /// and samesite, as Django's `CookieStorage` does.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let kind = match settings.message_storage.as_str() {
            "fallback" | "django.contrib.messages.storage.fallback.FallbackStorage" => {
                Kind::Fallback
            }
            "cookie" | "django.contrib.messages.storage.cookie.CookieStorage" => Kind::Cookie,
            "session" | "django.contrib.messages.storage.session.SessionStorage" => Kind::Session,
            other => {
                return Err(ConfigError::new(format!(
                    "message_storage = {other:?} is not a storage (fallback, cookie, session)"
                )))
            }
        };
        let signer = match kind {
            Kind::Session => None,
            _ => Some(get_cookie_signer(
                &SecretKeys::from_settings(settings)?,
                KEY_SALT,
            )),
        };
        let samesite = samesite(&settings.session_cookie_samesite, "session_cookie_samesite")?;
        let set_options = CookieOptions {
            max_age: None,
            expires: None,
            path: "/".to_string(),
            domain: settings.session_cookie_domain.clone(),
            secure: settings.session_cookie_secure,
            httponly: settings.session_cookie_httponly,
            samesite: samesite.clone(),
        };
        let delete_options = CookieOptions::for_delete(
            COOKIE_NAME,
            "/",
            settings.session_cookie_domain.as_deref(),
            samesite.as_deref(),
        );
        Ok(StorageConfig {
            kind,
            level: settings.message_level,
            signer,
            set_options,
            delete_options,
        })
    }

    /// Django's `CookieStorage._encode_parts`: the signed, compressed cookie value of
    /// `parts` (each a message serialized on its own).
    fn encode_parts(&self, parts: &[String]) -> String {
        let joined = format!("[{}]", parts.join(","));
        match &self.signer {
            Some(signer) => signer.sign_payload(joined.as_bytes(), true),
            None => String::new(),
        }
    }

    /// Django's `CookieStorage._decode`: the items of a cookie value (messages and the
    /// not-finished marker), `None` when it does not verify or parse.
    pub fn decode_cookie(&self, data: &str) -> Option<Vec<Item>> {
        if data.is_empty() {
            return None;
        }
        let payload = self.signer.as_ref()?.unsign_payload(data, None).ok()?;
        let value: Value = JsonSerializer::loads(&payload).ok()?;
        decode_items(&value)
    }

    /// The cookie value Django writes for `messages` (no size limit applied): what a test
    /// or another service needs to hand a browser messages.
    pub fn encode_cookie(&self, messages: &[Message]) -> String {
        self.encode_parts(&serialize_parts(messages))
    }
}

/// An item of the cookie's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A message.
    Message(Message),
    /// Django's `not_finished` marker.
    NotFinished,
}

fn decode_items(value: &Value) -> Option<Vec<Item>> {
    value
        .as_array()?
        .iter()
        .map(|v| match v {
            Value::String(s) if s == NOT_FINISHED => Some(Item::NotFinished),
            other => Message::from_json(other).map(Item::Message),
        })
        .collect()
}

/// Django's `MessagePartSerializer().dumps`: each message as compact JSON.
fn serialize_parts(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            JsonSerializer::dumps(&m.to_json())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Python's `json.dumps(NOT_FINISHED)`.
fn not_finished_json() -> String {
    format!("\"{NOT_FINISHED}\"")
}

/// Django's `bisect_keep_left`: the first index where `fn(a[..=mid])` holds.
fn bisect_keep_left(len: usize, too_large: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if too_large(mid + 1) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Django's `bisect_keep_right`: the first index where `fn(a[mid..])` fails.
fn bisect_keep_right(len: usize, too_large: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if too_large(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The messages of one request (Django's `request._messages`, a `BaseStorage`).
#[derive(Debug)]
pub struct MessageStorage {
    config: Arc<StorageConfig>,
    queued: Vec<Message>,
    loaded: Option<Vec<Message>>,
    used: bool,
    added_new: bool,
    level: Option<i32>,
    /// Fallback's `_used_storages`: the cookie and the session held messages.
    used_cookie: bool,
    used_session: bool,
}

impl MessageStorage {
    /// A fresh storage for a request.
    pub fn new(config: Arc<StorageConfig>) -> Self {
        MessageStorage {
            config,
            queued: Vec::new(),
            loaded: None,
            used: false,
            added_new: false,
            level: None,
            used_cookie: false,
            used_session: false,
        }
    }

    /// Django's `storage.level`.
    pub fn level(&self) -> i32 {
        self.level.unwrap_or(self.config.level)
    }

    /// Sets `storage.level`.
    pub fn set_level(&mut self, level: i32) {
        self.level = Some(level);
    }

    /// Django's `add`.
    pub fn add(&mut self, level: i32, message: &str, extra_tags: &str) {
        if message.is_empty() || level < self.level() {
            return;
        }
        self.added_new = true;
        self.queued.push(Message {
            level,
            message: message.to_string(),
            extra_tags: Some(extra_tags.to_string()),
            safe: false,
        });
    }

    /// Django's `CookieStorage._get`: the cookie's messages (`None` without a valid cookie)
    /// and whether they are all of them.
    fn cookie_get(&mut self, request: &HttpRequest) -> (Option<Vec<Message>>, bool) {
        let items = request
            .cookie(COOKIE_NAME)
            .and_then(|data| self.config.decode_cookie(data));
        let Some(mut items) = items else {
            return (None, true);
        };
        let all_retrieved = items.last() != Some(&Item::NotFinished);
        if !all_retrieved {
            items.pop();
        }
        let messages = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Message(m) => Some(m),
                Item::NotFinished => None,
            })
            .collect();
        (Some(messages), all_retrieved)
    }

    /// Django's `SessionStorage._get`.
    fn session_get(request: &mut HttpRequest) -> Result<Option<Vec<Message>>, ViewError> {
        let session = request.session()?;
        let Some(Value::String(data)) = session.get(SESSION_KEY)?.cloned() else {
            return Ok(None);
        };
        let value: Value = serde_json::from_str(&data).map_err(ViewError::from)?;
        Ok(decode_items(&value).map(|items| {
            items
                .into_iter()
                .filter_map(|i| match i {
                    Item::Message(m) => Some(m),
                    Item::NotFinished => None,
                })
                .collect()
        }))
    }

    /// Django's `_get` of the configured storage.
    fn get(&mut self, request: &mut HttpRequest) -> Result<Vec<Message>, ViewError> {
        match self.config.kind {
            Kind::Cookie => Ok(self.cookie_get(request).0.unwrap_or_default()),
            Kind::Session => Ok(Self::session_get(request)?.unwrap_or_default()),
            Kind::Fallback => {
                let mut all = Vec::new();
                let (cookie, all_retrieved) = self.cookie_get(request);
                let Some(cookie) = cookie else {
                    return Ok(all);
                };
                self.used_cookie = !cookie.is_empty();
                all.extend(cookie);
                if all_retrieved {
                    return Ok(all);
                }
                if let Some(session) = Self::session_get(request)? {
                    self.used_session = !session.is_empty();
                    all.extend(session);
                }
                Ok(all)
            }
        }
    }

    fn loaded(&mut self, request: &mut HttpRequest) -> Result<&mut Vec<Message>, ViewError> {
        if self.loaded.is_none() {
            let messages = self.get(request)?;
            self.loaded = Some(messages);
        }
        Ok(self.loaded.get_or_insert_with(Vec::new))
    }

    /// Django's `__iter__`: every message, and the storage is used (they will not be stored
    /// again).
    pub fn iter(&mut self, request: &mut HttpRequest) -> Result<Vec<Message>, ViewError> {
        self.used = true;
        let queued = std::mem::take(&mut self.queued);
        let loaded = self.loaded(request)?;
        loaded.extend(queued);
        Ok(loaded.clone())
    }

    /// The messages without using the storage (`len(storage)`).
    pub fn peek(&mut self, request: &mut HttpRequest) -> Result<Vec<Message>, ViewError> {
        let mut all = self.loaded(request)?.clone();
        all.extend(self.queued.iter().cloned());
        Ok(all)
    }

    /// Django's `update(response)`: stores what was not shown; returns what fit nowhere.
    pub fn update(
        &mut self,
        request: &mut HttpRequest,
        response: &mut HttpResponse,
    ) -> Result<Vec<Message>, ViewError> {
        if self.used {
            let queued = std::mem::take(&mut self.queued);
            self.store(queued, request, response)
        } else if self.added_new {
            let mut messages = self.loaded(request)?.clone();
            messages.append(&mut self.queued);
            self.store(messages, request, response)
        } else {
            Ok(Vec::new())
        }
    }

    fn store(
        &mut self,
        messages: Vec<Message>,
        request: &mut HttpRequest,
        response: &mut HttpResponse,
    ) -> Result<Vec<Message>, ViewError> {
        match self.config.kind {
            Kind::Cookie => self.cookie_store(messages, response, true),
            Kind::Session => Self::session_store(&messages, request),
            Kind::Fallback => {
                let mut messages = messages;
                if !messages.is_empty() {
                    messages = self.cookie_store(messages, response, false)?;
                } else if self.used_cookie {
                    self.cookie_store(Vec::new(), response, false)?;
                    self.used_cookie = false;
                }
                if !messages.is_empty() {
                    messages = Self::session_store(&messages, request)?;
                } else if self.used_session {
                    Self::session_store(&[], request)?;
                    self.used_session = false;
                }
                Ok(messages)
            }
        }
    }

    /// Django's `CookieStorage._store`.
    fn cookie_store(
        &mut self,
        messages: Vec<Message>,
        response: &mut HttpResponse,
        remove_oldest: bool,
    ) -> Result<Vec<Message>, ViewError> {
        let config = &self.config;
        let parts = serialize_parts(&messages);
        let mut unstored = Vec::new();
        let mut encoded = (!parts.is_empty()).then(|| config.encode_parts(&parts));
        // Python's `_quote` leaves a signed value (base64, `:` and `.`) as it is.
        let too_large = |data: &str| data.len() > MAX_COOKIE_SIZE;
        let compute = |slice: &[String]| {
            let mut with_marker = slice.to_vec();
            with_marker.push(not_finished_json());
            config.encode_parts(&with_marker)
        };
        if encoded.as_deref().is_some_and(too_large) {
            if remove_oldest {
                let idx = bisect_keep_right(parts.len(), |mid| too_large(&compute(&parts[mid..])));
                unstored = messages[..idx].to_vec();
                encoded = Some(compute(&parts[idx..]));
            } else {
                let idx = bisect_keep_left(parts.len(), |end| too_large(&compute(&parts[..end])));
                unstored = messages[idx..].to_vec();
                encoded = Some(compute(&parts[..idx]));
            }
        }
        match encoded {
            Some(data) => response.set_cookie(COOKIE_NAME, &data, &config.set_options)?,
            None => response.set_cookie(COOKIE_NAME, "", &config.delete_options)?,
        }
        Ok(unstored)
    }

    /// Django's `SessionStorage._store`: the messages as Python's default `json.dumps`
    /// writes them, or the key removed.
    fn session_store(
        messages: &[Message],
        request: &mut HttpRequest,
    ) -> Result<Vec<Message>, ViewError> {
        let session = request.session()?;
        if messages.is_empty() {
            session.remove(SESSION_KEY)?;
        } else {
            let list = Value::Array(messages.iter().map(Message::to_json).collect());
            let text = crate::http::response::to_python_json(&list)?;
            session.set(SESSION_KEY, String::from_utf8_lossy(&text).into_owned())?;
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> StorageConfig {
        let mut s = Settings::default();
        s.secret_key = "notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a".into();
        s.message_storage = kind.into();
        StorageConfig::from_settings(&s).unwrap()
    }

    fn msg(level: i32, text: &str) -> Message {
        Message {
            level,
            message: text.into(),
            extra_tags: Some(String::new()),
            safe: false,
        }
    }

    #[test]
    fn messages_serialize_as_djangos_encoder_does() {
        let m = msg(25, "Note saved.");
        assert_eq!(
            JsonSerializer::dumps(&m.to_json()).unwrap(),
            br#"["__json_message",0,25,"Note saved.",""]"#
        );
        assert_eq!(Message::from_json(&m.to_json()), Some(m.clone()));
        assert_eq!(m.tags(), "success");
        let tagged = Message {
            extra_tags: Some("urgent".into()),
            ..msg(40, "x")
        };
        assert_eq!(tagged.tags(), "urgent error");
        assert_eq!(
            Message::from_json(&serde_json::json!(["x", 0, 1, "m"])),
            None
        );
    }

    #[test]
    fn the_cookie_round_trips_and_refuses_tampering() {
        let c = config("fallback");
        let value = c.encode_cookie(&[msg(25, "Note saved."), msg(20, "Hi")]);
        let items = c.decode_cookie(&value).unwrap();
        assert_eq!(
            items,
            [
                Item::Message(msg(25, "Note saved.")),
                Item::Message(msg(20, "Hi"))
            ]
        );
        assert_eq!(c.decode_cookie(&format!("{value}x")), None);
        assert_eq!(c.decode_cookie(""), None);
        assert_eq!(c.decode_cookie("garbage"), None);
        assert!(
            StorageConfig::from_settings(&Settings::default()).is_err(),
            "needs a key"
        );
    }

    #[test]
    fn a_cookie_made_by_django_is_read_and_ours_has_the_same_bytes() {
        let c = config("fallback");
        let django = include_str!("../../../testdata/django/messages_cookie.txt").trim();
        let expected = [
            msg(25, "Note saved."),
            Message {
                extra_tags: Some("urgent".into()),
                ..msg(40, "Café <b>& \u{2603}")
            },
        ];
        let items = c.decode_cookie(django).unwrap();
        assert_eq!(
            items,
            expected
                .iter()
                .cloned()
                .map(Item::Message)
                .collect::<Vec<_>>()
        );
        // Same payload (everything before the timestamp); only the time and so the
        // signature differ.
        let ours = c.encode_cookie(&expected);
        assert_eq!(ours.split(':').next(), django.split(':').next());
    }

    #[test]
    fn bisection_matches_djangos() {
        // Five parts, each "too large" once more than two are kept.
        assert_eq!(bisect_keep_left(5, |end| end > 2), 2);
        assert_eq!(bisect_keep_right(5, |mid| 5 - mid > 2), 3);
        assert_eq!(bisect_keep_left(5, |_| true), 0);
        assert_eq!(bisect_keep_right(5, |_| false), 0);
    }
}
