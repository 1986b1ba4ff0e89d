//! Requests and responses (Django's `django.http`).
mod codecs;
pub mod cookies;
pub mod encoding;
pub mod multipart;
pub mod querydict;

pub mod headers;
pub mod request;
pub mod response;
pub mod status;

pub use cookies::CookieOptions;
pub use headers::Headers;
pub use multipart::UploadedFile;
pub use querydict::QueryDict;
pub use request::{Extensions, HttpRequest, JsonError};
pub use response::{
    Body, FileBody, FileResponse, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden,
    HttpResponseGone, HttpResponseNotAllowed, HttpResponseNotFound, HttpResponseNotModified,
    HttpResponsePermanentRedirect, HttpResponseRedirect, HttpResponseServerError, JsonResponse,
    StreamingHttpResponse,
};
