-- Django 5.2.19's `manage.py sqlmigrate --backwards auth 0010_alter_group_name_max_length` on SQLite, unedited but for the BEGIN;/COMMIT; around it
-- (handler-core/tests/django_ddl/capture.py; README.md there).
--
-- Alter field name on group
--
CREATE TABLE "new__auth_group" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(80) NOT NULL UNIQUE);
INSERT INTO "new__auth_group" ("id", "name") SELECT "id", "name" FROM "auth_group";
DROP TABLE "auth_group";
ALTER TABLE "new__auth_group" RENAME TO "auth_group";
