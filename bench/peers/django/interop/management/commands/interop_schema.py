"""Prints what the database holds, normalised as interop/schema.py does, as one JSON object:
{"schema": ..., "django_migrations": [...], "post_migrate": {...}} (the last two null when the
tables are missing). The interop tests compare it with handler-core/tests/django_ddl's vectors."""
import json

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

from interop import schema


class Command(BaseCommand):
    help = "Prints the database's normalised schema, django_migrations and post_migrate rows."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        tables = set(connection.introspection.table_names())
        out = {
            "schema": schema.schema(connection),
            "django_migrations": (
                schema.applied_migrations(connection) if "django_migrations" in tables else None
            ),
            "post_migrate": (
                schema.post_migrate_rows(connection)
                if {"django_content_type", "auth_permission"} <= tables
                else None
            ),
        }
        self.stdout.write(json.dumps(out, indent=1, sort_keys=True))
