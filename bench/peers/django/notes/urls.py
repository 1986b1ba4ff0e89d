"""The notes twin's URL conf (ROOT_URLCONF of peer.notes_settings)."""
from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notes/", views.note_list, name="note-list"),
    path("notes/<int:id>/", views.note_detail, name="note-detail"),
    path("session/counter/", views.session_counter),
    path("api/whoami/", views.whoami),
    path("api/ping/", views.ping),
    path("api/hook/", views.hook),
    path("big/", views.big),
]
