-- The table Django's MigrationRecorder creates before the first migration, on SQLite
-- (Django 5.2.19, schema_editor collect_sql; capture.py).
CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL);
