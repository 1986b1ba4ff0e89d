"""Settings of the Django twin of Portico's `notes` app (sample-apps/notes/settings.toml,
shared/contracts/notes-app.md): the same key, hosts, redirects and the 8 middleware of
`django-admin startproject` plus GZip, database sessions, the same Jinja2 templates.
Use it with DJANGO_SETTINGS_MODULE=peer.notes_settings."""
import os

from peer.settings import *  # noqa: F401,F403
from peer.settings import BASE_DIR

REPO_ROOT = BASE_DIR.parent.parent.parent

SECRET_KEY = "notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "notes.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # NOTES_DATABASE lets a run use a database of its own (run_notes_suite.sh does).
        "NAME": os.environ.get("NOTES_DATABASE", BASE_DIR / "notes.sqlite3"),
        "CONN_MAX_AGE": None,
        # As Portico's notes app runs its file: WAL, and no sync at every commit (a session
        # is written on every request that changes it).
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }
}

# NOTES_POSTGRES_URL (postgres://user:pass@host:port/name) puts the twin on PostgreSQL
# instead, with persistent connections (bench/run.sh scenario g, against Portico's notes on the
# same server).
_postgres_url = os.environ.get("NOTES_POSTGRES_URL")
if _postgres_url:
    from urllib.parse import unquote, urlsplit

    _url = urlsplit(_postgres_url)
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(_url.path.lstrip("/")),
        "USER": unquote(_url.username or ""),
        "PASSWORD": unquote(_url.password or ""),
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        "CONN_MAX_AGE": None,
    }

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [REPO_ROOT / "sample-apps" / "notes" / "templates"],
        "OPTIONS": {
            "context_processors": ["django.contrib.messages.context_processors.messages"],
        },
    }
]

# The settings' hashes are verified as written, never upgraded (see notes/hashers.py).
PASSWORD_HASHERS = ["notes.hashers.ContractPBKDF2PasswordHasher"]

# Where `manage.py seed_notes_users` reads the users by default.
NOTES_SETTINGS_FILE = REPO_ROOT / "sample-apps" / "notes" / "settings.toml"
