"""The interop project's one page: who a request's session cookie belongs to, through Django's
SessionMiddleware and AuthenticationMiddleware (`manage.py interop_whois` requests it)."""
from django.urls import path

from interop import views

urlpatterns = [path("whoami/", views.whoami)]
