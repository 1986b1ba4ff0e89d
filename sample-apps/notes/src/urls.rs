//! The URL conf (`urls.py`): every route of the contract, with its names and decorators.

use handler_core::prelude::*;
use handler_core::urls::UrlEntry;
use handler_core::views::decorators::{csrf_exempt, never_cache};

use crate::views;

/// Django's `urlpatterns`.
pub fn urlpatterns() -> Vec<UrlEntry<ViewFn>> {
    vec![
        path("", require_safe(view(views::home))).name("home"),
        path("accounts/login/", never_cache(views::LoginView.as_view())).name("login"),
        path("accounts/logout/", never_cache(views::LogoutView.as_view())).name("logout"),
        path(
            "notes/",
            login_required(require_http_methods(
                &["GET", "POST"],
                view(views::note_list),
            )),
        )
        .name("note-list"),
        path(
            "notes/<int:id>/",
            login_required(require_http_methods(
                &["GET", "DELETE"],
                view(views::note_detail),
            )),
        )
        .name("note-detail"),
        path(
            "session/counter/",
            require_GET(view(views::session_counter)),
        ),
        path("api/whoami/", require_GET(view(views::whoami))),
        path("api/ping/", require_POST(view(views::ping))),
        path("api/hook/", csrf_exempt(require_POST(view(views::hook)))),
        path("big/", require_GET(view(views::big))),
    ]
}
