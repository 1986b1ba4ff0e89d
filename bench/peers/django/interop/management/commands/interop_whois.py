"""Sends one request with the cookie `sessionid=SESSIONID` through Django's middleware
(SessionMiddleware, AuthenticationMiddleware; django.test.Client) and prints what Django makes of
it: {"authenticated", "username", "user_id", "session_key", "session"}. A session made by another
server with the same SECRET_KEY and tables is Django's if this names its user. As on any Django
request, a session whose auth hash does not match the user's password is flushed."""
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client


class Command(BaseCommand):
    help = "Prints the user and data Django finds for a sessionid cookie."

    def add_arguments(self, parser):
        parser.add_argument("sessionid")

    def handle(self, *args, **options):
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = options["sessionid"]
        response = client.get("/whoami/")
        if response.status_code != 200:
            raise CommandError(f"/whoami/ answered {response.status_code}: {response.content!r}")
        self.stdout.write(json.dumps(response.json()))
