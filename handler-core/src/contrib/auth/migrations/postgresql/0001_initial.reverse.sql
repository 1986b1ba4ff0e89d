-- Django 5.2.19's `manage.py sqlmigrate --backwards auth 0001_initial` on PostgreSQL, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Create model User
--
DROP TABLE "auth_user_groups" CASCADE;
DROP TABLE "auth_user_user_permissions" CASCADE;
DROP TABLE "auth_user" CASCADE;
--
-- Create model Group
--
DROP TABLE "auth_group_permissions" CASCADE;
DROP TABLE "auth_group" CASCADE;
--
-- Create model Permission
--
DROP TABLE "auth_permission" CASCADE;
