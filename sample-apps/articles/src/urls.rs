//! The URL conf (`urls.py`): every route of the contract, with the names `reverse` uses.

use std::sync::Arc;

use handler_core::urls::{include, path, UrlEntry};
use handler_core::views::decorators::{login_required_at, require_http_methods};
use handler_core::views::generic::View;
use handler_core::views::{view, ViewFn};

use crate::models::Articles;
use crate::views;

/// Django's `urlpatterns`; the article views share `articles`.
pub fn urlpatterns(articles: Arc<Articles>) -> Vec<UrlEntry<ViewFn>> {
    vec![
        // Undecorated, as the Django twin's `home`: any method is answered.
        path("", view(views::home)).name("home"),
        path("login/", view(views::login)).name("login"),
        path("new-url/", view(views::new_url)),
        path("old-url/", view(views::old_url)),
        path("temporary/", view(views::temporary)),
        path(
            "dashboard/",
            login_required_at("login", view(views::dashboard)),
        ),
        include("api/", api_patterns(articles)),
    ]
}

fn api_patterns(articles: Arc<Articles>) -> Vec<UrlEntry<ViewFn>> {
    vec![
        path("success/", view(views::api_success)),
        path(
            "get-only/",
            require_http_methods(&["GET"], view(views::get_only)),
        ),
        path(
            "articles/",
            views::ArticleListView {
                articles: Arc::clone(&articles),
            }
            .as_view(),
        )
        .name("article-list"),
        path(
            "articles/<int:id>/",
            views::ArticleDetailView { articles }.as_view(),
        )
        .name("article-detail"),
        path("users/", view(views::create_user)),
        path("protected/", view(views::protected)),
        path("admin/", view(views::admin_area)),
        path("private/data/", view(views::private_data)),
        path("divide/", view(views::divide)),
        path("boom/", view(views::boom)),
        path("panic/", view(views::panic_view)),
        // Undecorated, as the twin's `echo`: any method gets its body back.
        path("echo/", view(views::echo)),
        path("stream/", view(views::stream)),
        path("slow/", view(views::slow)),
        path("cached/", view(views::cached)),
    ]
}
