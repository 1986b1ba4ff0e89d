-- Django 5.2.19's `manage.py sqlmigrate --backwards contenttypes 0002_remove_content_type_name` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
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
ALTER TABLE "django_content_type" ALTER COLUMN "name" SET NOT NULL;
--
-- Change Meta options on contenttype
--
-- (no-op)
