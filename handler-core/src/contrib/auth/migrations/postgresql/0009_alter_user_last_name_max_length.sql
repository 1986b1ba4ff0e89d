-- Django 5.2.19's `manage.py sqlmigrate auth 0009_alter_user_last_name_max_length` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field last_name on user
--
ALTER TABLE "auth_user" ALTER COLUMN "last_name" TYPE varchar(150);
