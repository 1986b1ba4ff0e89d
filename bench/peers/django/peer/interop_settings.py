"""Settings of the Django side of the interop tests (tests/src/django.rs): contrib's
contenttypes, auth and sessions on the database named by DATABASE_URL, with the notes app's
secret key and password hasher (sample-apps/notes/settings.toml, shared/contracts/notes-app.md),
so sessions and password hashes made here are Portico's notes' and the other way round.
Use it with DJANGO_SETTINGS_MODULE=peer.interop_settings.

DATABASE_URL is read as dj-database-url reads it: `sqlite:///relative.db`,
`sqlite:////absolute/path.db`, `sqlite://:memory:`, `postgres://user:pass@host:port/name`
(also `postgresql://` and `pgsql://`; `?option=value` pairs become OPTIONS, as `sslmode`)."""
import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from peer.settings import BASE_DIR

REPO_ROOT = BASE_DIR.parent.parent.parent

SECRET_KEY = "notes-insecure-test-key-7f3c9a1e5b2d4c6e8a0b1d3f5e7c9a2b4d6f8e0a"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

# The notes twin's order (peer/notes_settings.py), so post_migrate creates the same rows in the
# same order as Django serving notes would.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "interop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "interop.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# The notes contract's hashes are verified as written, never upgraded (see notes/hashers.py).
PASSWORD_HASHERS = ["notes.hashers.ContractPBKDF2PasswordHasher"]


def database_from_url(url):
    """One DATABASES entry from a dj-database-url style URL; ImproperlyConfigured names the
    problem."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        # dj-database-url: the path after the third slash, so four slashes make it absolute.
        name = unquote(parts.path[1:]) if parts.path else ""
        if parts.netloc == ":memory:" or name in ("", ":memory:"):
            name = ":memory:"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "OPTIONS": options}
    if scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path[1:])
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL {url!r} names no database")
        try:
            port = parts.port
        except ValueError as e:
            raise ImproperlyConfigured(f"DATABASE_URL {url!r}: {e}") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            # A percent-encoded host is a socket directory (`%2Fvar%2Frun%2Fpostgresql`).
            "HOST": unquote(parts.hostname or ""),
            "PORT": str(port) if port else "",
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL {url!r}: the scheme must be sqlite, postgres, postgresql or pgsql"
    )


_url = os.environ.get("DATABASE_URL")
if not _url:
    raise ImproperlyConfigured(
        "peer.interop_settings needs DATABASE_URL (sqlite:////path/db.sqlite3 or "
        "postgres://user:pass@host:port/name)"
    )
DATABASES = {"default": database_from_url(_url)}
