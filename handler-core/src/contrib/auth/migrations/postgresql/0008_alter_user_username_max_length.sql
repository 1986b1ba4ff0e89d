-- Django 5.2.19's `manage.py sqlmigrate auth 0008_alter_user_username_max_length` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field username on user
--
ALTER TABLE "auth_user" ALTER COLUMN "username" TYPE varchar(150);
