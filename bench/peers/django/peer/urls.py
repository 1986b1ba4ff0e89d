"""Root URL conf of the benchmark peer."""
from django.urls import include, path

urlpatterns = [
    path("", include("articles.urls")),
]
