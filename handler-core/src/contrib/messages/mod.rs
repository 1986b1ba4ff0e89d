//! One-shot messages (Django's `django.contrib.messages`): levels, [`Message`],
//! [`add_message`] and its shortcuts, [`get_messages`], the storages in [`storage`] (the
//! default `FallbackStorage`: a signed `messages` cookie, then the session, in Django's exact
//! cookie format) and [`middleware::MessageMiddleware`].

pub mod middleware;
pub mod storage;

use crate::exception::ViewError;
use crate::http::HttpRequest;

pub use storage::{Message, MessageStorage};

/// Django's message levels (`django.contrib.messages.constants`).
pub mod constants {
    /// `DEBUG`.
    pub const DEBUG: i32 = 10;
    /// `INFO`.
    pub const INFO: i32 = 20;
    /// `SUCCESS`.
    pub const SUCCESS: i32 = 25;
    /// `WARNING`.
    pub const WARNING: i32 = 30;
    /// `ERROR`.
    pub const ERROR: i32 = 40;

    /// Django's `DEFAULT_TAGS`: the `level_tag` of each level.
    pub fn level_tag(level: i32) -> &'static str {
        match level {
            DEBUG => "debug",
            INFO => "info",
            SUCCESS => "success",
            WARNING => "warning",
            ERROR => "error",
            _ => "",
        }
    }
}

/// Django's `MessageFailure`: a message added without `MessageMiddleware`.
fn message_failure() -> ViewError {
    ViewError::msg(
        "MessageFailure: You cannot add messages without installing \
         django.contrib.messages.middleware.MessageMiddleware",
    )
}

/// Django's `add_message(request, level, message, extra_tags)`: queued for the next page
/// that shows messages (an empty message or one below `message_level` is dropped).
pub fn add_message(
    request: &mut HttpRequest,
    level: i32,
    message: &str,
    extra_tags: &str,
) -> Result<(), ViewError> {
    let storage = request
        .extensions
        .get_mut::<MessageStorage>()
        .ok_or_else(message_failure)?;
    storage.add(level, message, extra_tags);
    Ok(())
}

/// Django's `messages.debug(request, message)`.
pub fn debug(request: &mut HttpRequest, message: &str) -> Result<(), ViewError> {
    add_message(request, constants::DEBUG, message, "")
}

/// Django's `messages.info(request, message)`.
pub fn info(request: &mut HttpRequest, message: &str) -> Result<(), ViewError> {
    add_message(request, constants::INFO, message, "")
}

/// Django's `messages.success(request, message)`.
pub fn success(request: &mut HttpRequest, message: &str) -> Result<(), ViewError> {
    add_message(request, constants::SUCCESS, message, "")
}

/// Django's `messages.warning(request, message)`.
pub fn warning(request: &mut HttpRequest, message: &str) -> Result<(), ViewError> {
    add_message(request, constants::WARNING, message, "")
}

/// Django's `messages.error(request, message)`.
pub fn error(request: &mut HttpRequest, message: &str) -> Result<(), ViewError> {
    add_message(request, constants::ERROR, message, "")
}

/// Runs `f` on the request's storage with the request at hand (the storage reads cookies and
/// the session); `None` without `MessageMiddleware`.
fn with_storage<T>(
    request: &mut HttpRequest,
    f: impl FnOnce(&mut MessageStorage, &mut HttpRequest) -> Result<T, ViewError>,
) -> Result<Option<T>, ViewError> {
    let Some(mut storage) = request.extensions.remove::<MessageStorage>() else {
        return Ok(None);
    };
    let out = f(&mut storage, request);
    request.extensions.insert(storage);
    out.map(Some)
}

/// Django's `for message in get_messages(request)`: every pending message, which are then
/// gone (the storage is marked used). Empty without `MessageMiddleware`.
pub fn get_messages(request: &mut HttpRequest) -> Result<Vec<Message>, ViewError> {
    Ok(with_storage(request, |s, r| s.iter(r))?.unwrap_or_default())
}

/// The pending messages without consuming them (Django's `len(storage)` and `in`).
pub fn pending_for_template(request: &mut HttpRequest) -> Result<Vec<Message>, ViewError> {
    Ok(with_storage(request, |s, r| s.peek(r))?.unwrap_or_default())
}

/// Marks the messages as shown (what iterating the storage does).
pub fn mark_used(request: &mut HttpRequest) {
    let _ = with_storage(request, |s, r| s.iter(r).map(|_| ()));
}

/// Django's `get_level(request)`: the minimum level recorded.
pub fn get_level(request: &HttpRequest) -> i32 {
    request
        .extensions
        .get::<MessageStorage>()
        .map_or(constants::INFO, MessageStorage::level)
}

/// Django's `set_level(request, level)`; false without `MessageMiddleware`.
pub fn set_level(request: &mut HttpRequest, level: i32) -> bool {
    match request.extensions.get_mut::<MessageStorage>() {
        Some(s) => {
            s.set_level(level);
            true
        }
        None => false,
    }
}
