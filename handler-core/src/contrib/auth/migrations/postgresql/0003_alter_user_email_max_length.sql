-- Django 5.2.19's `manage.py sqlmigrate auth 0003_alter_user_email_max_length` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field email on user
--
ALTER TABLE "auth_user" ALTER COLUMN "email" TYPE varchar(254);
