"""Logs USERNAME in with PASSWORD through Django's login machinery (authenticate(), then
login() on a fresh session, saved by the configured SESSION_ENGINE, as django.test.Client.login
does) and prints {"sessionid": ..., "user_id": ...}: the sessionid cookie's value, for another
server to be handed. Wrong credentials: exit 1 naming them."""
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client


class Command(BaseCommand):
    help = "Logs a user in through django.contrib.auth and prints the session cookie's value."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("password")

    def handle(self, *args, **options):
        client = Client()
        if not client.login(username=options["username"], password=options["password"]):
            raise CommandError(
                f"Django's authenticate() refused {options['username']!r} with that password"
            )
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.stdout.write(json.dumps({
            "sessionid": cookie.value,
            "user_id": client.session.get("_auth_user_id"),
        }))
