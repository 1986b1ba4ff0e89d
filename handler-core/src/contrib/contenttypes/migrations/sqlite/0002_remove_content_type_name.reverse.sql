-- Django 5.2.19's `manage.py sqlmigrate --backwards contenttypes 0002_remove_content_type_name` on SQLite, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Remove field name from contenttype
--
ALTER TABLE "django_content_type" ADD COLUMN "name" varchar(100) NULL;
--
-- Raw Python operation
--
-- THIS OPERATION CANNOT BE WRITTEN AS SQL
--
-- Alter field name on contenttype
--
CREATE TABLE "new__django_content_type" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(100) NOT NULL, "app_label" varchar(100) NOT NULL, "model" varchar(100) NOT NULL);
INSERT INTO "new__django_content_type" ("id", "app_label", "model", "name") SELECT "id", "app_label", "model", coalesce("name", NULL) FROM "django_content_type";
DROP TABLE "django_content_type";
ALTER TABLE "new__django_content_type" RENAME TO "django_content_type";
CREATE UNIQUE INDEX "django_content_type_app_label_model_76bd3d3b_uniq" ON "django_content_type" ("app_label", "model");
--
-- Change Meta options on contenttype
--
-- (no-op)
