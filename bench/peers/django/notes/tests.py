"""The notes twin's own checks, and the other direction of the cookie interop: a `messages`
cookie Portico wrote (testdata/portico_messages_cookie.txt, from POST /notes/ on Portico's
notes app) loads in Django with the same key. The full contract suite is Portico's own,
run against this twin by run_notes_suite.sh.

Run: DJANGO_SETTINGS_MODULE=peer.notes_settings ../../.venv/bin/python manage.py test notes
"""
import tomllib
import unittest
from pathlib import Path

from django.apps import apps

if not apps.is_installed("notes"):
    # `manage.py test` with the articles peer's settings discovers this module too.
    raise unittest.SkipTest("the notes twin runs with DJANGO_SETTINGS_MODULE=peer.notes_settings")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.messages.storage.base import Message  # noqa: E402
from django.contrib.messages.storage.cookie import CookieStorage  # noqa: E402
from django.test import Client, RequestFactory, TestCase  # noqa: E402

TESTDATA = Path(__file__).parent / "testdata"
TEST_USERS = settings.REPO_ROOT / "tests" / "data" / "notes-test-users.toml"


class PorticoInteropTests(TestCase):
    def test_a_messages_cookie_made_by_portico_loads_in_django(self):
        value = (TESTDATA / "portico_messages_cookie.txt").read_text().strip()
        storage = CookieStorage(RequestFactory().get("/"))
        self.assertEqual(storage._decode(value), [Message(25, "Note saved.")])

    def test_a_tampered_one_does_not(self):
        value = (TESTDATA / "portico_messages_cookie.txt").read_text().strip()
        storage = CookieStorage(RequestFactory().get("/"))
        self.assertIsNone(storage._decode("x" + value))


class NotesTwinTests(TestCase):
    def setUp(self):
        for username, spec in tomllib.loads(TEST_USERS.read_text()).items():
            get_user_model().objects.create(
                username=username, password=spec["password"], is_staff=spec["staff"]
            )

    def test_counter_and_whoami(self):
        self.assertEqual(self.client.get("/session/counter/").json(), {"count": 1})
        self.assertEqual(self.client.get("/session/counter/").json(), {"count": 2})
        self.assertEqual(
            self.client.get("/api/whoami/").json(),
            {"username": "", "is_authenticated": False},
        )

    def test_login_is_never_an_upgrade(self):
        before = get_user_model().objects.get(username="alice").password
        client = Client(enforce_csrf_checks=False)
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": "alice-test-password"}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(get_user_model().objects.get(username="alice").password, before)

    def test_a_note_leaves_a_message_shown_once(self):
        self.client.login(username="alice", password="alice-test-password")
        response = self.client.post("/notes/", {"title": "t", "body": "b"})
        self.assertEqual(response["Location"], "/")
        self.assertIn('<li class="message">Note saved.</li>', self.client.get("/").text)
        self.assertNotIn("Note saved.", self.client.get("/").text)
