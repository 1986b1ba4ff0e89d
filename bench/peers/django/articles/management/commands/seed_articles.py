"""Seeds the benchmark's articles from bench/peers/articles-seed.json, the rows bench/run.sh
also posts to Portico's articles app, so both serve the same list."""
import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from articles.models import Article


class Command(BaseCommand):
    help = "Replace the articles table's rows with the benchmark's seed rows (ids from 1)."

    @transaction.atomic
    def handle(self, *args, **options):
        with open(settings.BENCH_SEED_FILE, encoding="utf-8") as f:
            seed = json.load(f)
        Article.objects.all().delete()
        for i, row in enumerate(seed, start=1):
            Article.objects.create(id=i, title=row["title"], content=row["content"])
        self.stdout.write(f"seeded {len(seed)} articles")
