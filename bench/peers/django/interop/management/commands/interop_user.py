"""Creates (or updates) user USERNAME with a password hash as written (`--password-hash`, in
Django's format, e.g. the notes contract's users) or a password hashed by PASSWORD_HASHERS
(`--password`), and `--staff` / `--superuser` flags; prints {"id", "username", "password"}."""
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Creates or updates one user with a given password hash or password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        secret = parser.add_mutually_exclusive_group(required=True)
        secret.add_argument("--password-hash")
        secret.add_argument("--password")
        parser.add_argument("--staff", action="store_true")
        parser.add_argument("--superuser", action="store_true")

    def handle(self, *args, **options):
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=options["username"])
        if options["password_hash"] is not None:
            if "$" not in options["password_hash"]:
                raise CommandError("--password-hash takes a hash in Django's format (algo$...)")
            user.password = options["password_hash"]
        else:
            user.set_password(options["password"])
        user.is_staff = options["staff"] or options["superuser"]
        user.is_superuser = options["superuser"]
        user.save()
        self.stdout.write(json.dumps(
            {"id": user.pk, "username": user.get_username(), "password": user.password}
        ))
