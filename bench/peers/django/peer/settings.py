"""Settings of the gunicorn + Django benchmark peer: the same app, settings and middleware as
Portico's `articles` sample (shared/contracts/articles-app.md), written the Django way."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Only ever served on loopback by bench/run.sh; the key signs nothing this app uses.
SECRET_KEY = "bench-peer-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
APPEND_SLASH = True

INSTALLED_APPS = [
    "articles",
]

MIDDLEWARE = [
    "articles.middleware.RequestTimerMiddleware",
    "articles.middleware.PoweredByMiddleware",
    "articles.middleware.ApiLoggingMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "articles.middleware.ApiKeyCheckMiddleware",
    "articles.middleware.TokenAuthMiddleware",
    "articles.middleware.ErrorHandlerMiddleware",
]

ROOT_URLCONF = "peer.urls"
WSGI_APPLICATION = "peer.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # ARTICLES_DATABASE lets a run use a database of its own (differential.py does).
        "NAME": os.environ.get("ARTICLES_DATABASE", BASE_DIR / "db.sqlite3"),
        # Persistent connections, as a production deployment configures them: Portico's app
        # keeps a pool too, so neither side pays a connect per request.
        "CONN_MAX_AGE": None,
    }
}

USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The app's own settings (the [app] table of Portico's settings.toml).
POWERED_BY = "Django"
API_KEY = "EXPECTED_SECRET_KEY"
API_TOKENS = {
    "user-token": {"username": "alice", "staff": False},
    "admin-token": {"username": "root", "staff": True},
}

# WARNING by default so that api_logging's per-request INFO line is not written during a
# benchmark (Portico runs with --log-level warn for the same reason).
LOG_LEVEL = os.environ.get("PEER_LOG_LEVEL", "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "api_logging": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# The rows `manage.py seed_articles` writes; bench/run.sh posts the same ones to Portico.
BENCH_SEED_FILE = BASE_DIR.parent / "articles-seed.json"
