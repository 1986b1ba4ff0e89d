-- Django 5.2.19's `manage.py sqlmigrate --backwards contenttypes 0001_initial` on SQLite, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter unique_together for contenttype (1 constraint(s))
--
DROP INDEX "django_content_type_app_label_model_76bd3d3b_uniq";
--
-- Create model ContentType
--
DROP TABLE "django_content_type";
