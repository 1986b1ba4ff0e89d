-- Django 5.2.19's `manage.py sqlmigrate --backwards sessions 0001_initial` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Create model Session
--
DROP TABLE "django_session" CASCADE;
