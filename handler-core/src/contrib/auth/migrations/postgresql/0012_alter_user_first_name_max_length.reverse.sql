-- Django 5.2.19's `manage.py sqlmigrate --backwards auth 0012_alter_user_first_name_max_length` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field first_name on user
--
ALTER TABLE "auth_user" ALTER COLUMN "first_name" TYPE varchar(30);
