-- Django 5.2.19's `manage.py sqlmigrate --backwards auth 0005_alter_user_last_login_null` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field last_login on user
--
ALTER TABLE "auth_user" ALTER COLUMN "last_login" SET DEFAULT '2000-01-01 00:00:00+00:00'::timestamptz;
UPDATE "auth_user" SET "last_login" = '2000-01-01 00:00:00+00:00'::timestamptz WHERE "last_login" IS NULL; SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE "auth_user" ALTER COLUMN "last_login" SET NOT NULL;
ALTER TABLE "auth_user" ALTER COLUMN "last_login" DROP DEFAULT;
