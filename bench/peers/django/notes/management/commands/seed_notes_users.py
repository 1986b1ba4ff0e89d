"""Creates the notes users that are missing, with their hashes as written: from the
[app.users] table of Portico's settings file (NOTES_SETTINGS, sample-apps/notes/settings.toml
by default) or, when NOTES_USERS_FILE names one, from a file of such lines (the end-to-end
tests' tests/data/notes-test-users.toml)."""
import os
import tomllib
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def load_users():
    users_file = os.environ.get("NOTES_USERS_FILE")
    if users_file:
        return tomllib.loads(Path(users_file).read_text())
    settings_file = Path(os.environ.get("NOTES_SETTINGS", settings.NOTES_SETTINGS_FILE))
    return tomllib.loads(settings_file.read_text())["app"]["users"]


class Command(BaseCommand):
    help = "Create the notes users (hashes as written, never rehashed)."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, spec in load_users().items():
            _, created = User.objects.get_or_create(
                username=username,
                defaults={"password": spec["password"], "is_staff": spec.get("staff", False)},
            )
            self.stdout.write(f"{username}: {'created' if created else 'exists'}")
