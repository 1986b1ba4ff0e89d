from django.apps import AppConfig


class InteropConfig(AppConfig):
    """Management commands for the Django interop tests (tests/src/django.rs); no models."""

    name = "interop"
