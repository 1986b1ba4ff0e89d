from django.urls import path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("new-url/", views.new_url),
    path("old-url/", RedirectView.as_view(url="/new-url/", permanent=True)),
    path("temporary/", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("dashboard/", views.dashboard),
    path("api/success/", views.api_success),
    path("api/get-only/", views.get_only),
    path("api/articles/", views.ArticleListView.as_view(), name="article-list"),
    path("api/articles/<int:id>/", views.ArticleDetailView.as_view(), name="article-detail"),
    path("api/protected/", views.protected),
    path("api/admin/", views.admin_area),
    path("api/private/data/", views.private_data),
    path("api/users/", views.create_user),
    path("api/divide/", views.divide),
    path("api/boom/", views.boom),
    path("api/panic/", views.panic_view),
    path("api/echo/", views.echo),
    path("api/stream/", views.stream),
    path("api/slow/", views.slow),
    path("api/cached/", views.cached),
]
