"""Runs one SQL query through Django's connection to the database and prints its rows as a JSON
list of lists (dates as ISO strings), so a test can look at any table on either backend without
a client of its own. Parameters are not supported: the tests write literal queries."""
import json

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections


class Command(BaseCommand):
    help = "Prints the rows of one SQL query as JSON."

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        with connections[options["database"]].cursor() as cursor:
            cursor.execute(options["query"])
            rows = cursor.fetchall() if cursor.description else []
        self.stdout.write(json.dumps([list(row) for row in rows], default=str))
