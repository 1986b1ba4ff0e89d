"""Checks of the interop commands and of peer.interop_settings' DATABASE_URL parsing:
DATABASE_URL=sqlite:////tmp/t.sqlite3 DJANGO_SETTINGS_MODULE=peer.interop_settings manage.py test interop"""
import io
import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import SimpleTestCase, TestCase

from peer.interop_settings import database_from_url


class DatabaseUrlTests(SimpleTestCase):
    def test_sqlite_paths_as_dj_database_url(self):
        self.assertEqual(database_from_url("sqlite:////tmp/x.db")["NAME"], "/tmp/x.db")
        self.assertEqual(database_from_url("sqlite:///x.db")["NAME"], "x.db")
        self.assertEqual(database_from_url("sqlite://:memory:")["NAME"], ":memory:")
        self.assertEqual(database_from_url("sqlite://")["NAME"], ":memory:")

    def test_postgres_parts(self):
        db = database_from_url("postgres://us%40r:p%3Ass@127.0.0.1:5433/app?sslmode=disable")
        self.assertEqual(db["ENGINE"], "django.db.backends.postgresql")
        self.assertEqual(
            (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]),
            ("app", "us@r", "p:ss", "127.0.0.1", "5433"),
        )
        self.assertEqual(db["OPTIONS"], {"sslmode": "disable"})
        socket_dir = database_from_url("postgresql://%2Fvar%2Frun%2Fpostgresql/app")
        self.assertEqual(socket_dir["HOST"], "/var/run/postgresql")

    def test_bad_urls_are_named(self):
        for url in ("mysql://h/db", "postgres://h:port/db", "postgres://h/"):
            with self.assertRaises(ImproperlyConfigured) as cm:
                database_from_url(url)
            self.assertIn(url, str(cm.exception))


class CommandTests(TestCase):
    def run_json(self, *args):
        out = io.StringIO()
        call_command(*args, stdout=out)
        return json.loads(out.getvalue())

    def test_login_then_whois(self):
        user = self.run_json("interop_user", "carol", "--password", "carol-pass-1")
        session = self.run_json("interop_login", "carol", "carol-pass-1")
        who = self.run_json("interop_whois", session["sessionid"])
        self.assertEqual((who["username"], who["user_id"]), ("carol", user["id"]))
        self.assertEqual(who["session"]["_auth_user_id"], str(user["id"]))
        self.assertFalse(self.run_json("interop_whois", "nope")["authenticated"])
        with self.assertRaises(CommandError):
            call_command("interop_login", "carol", "wrong", stdout=io.StringIO())

    def test_a_changed_password_ends_the_session(self):
        self.run_json("interop_user", "dave", "--password", "dave-pass-1")
        session = self.run_json("interop_login", "dave", "dave-pass-1")
        user = get_user_model().objects.get(username="dave")
        user.set_password("another-one-2")
        user.save()
        self.assertFalse(self.run_json("interop_whois", session["sessionid"])["authenticated"])

    def test_hash_as_written(self):
        hashed = "pbkdf2_sha256$10000$notessaltalice$99UFSkprmOqNPb6ZG7V9D+5w0LzqvmWot22vt3rMC/Y="
        made = self.run_json("interop_user", "alice", "--password-hash", hashed, "--staff")
        self.assertEqual(made["password"], hashed)
        self.assertTrue(get_user_model().objects.get(username="alice").is_staff)
        self.run_json("interop_login", "alice", "alice-test-password")

    def test_schema_dump(self):
        dump = self.run_json("interop_schema")
        self.assertEqual(dump["schema"]["vendor"], "sqlite")
        self.assertEqual(len(dump["django_migrations"]), 15)
        self.assertEqual(len(dump["post_migrate"]["django_content_type"]), 5)
