"""Captures Django 5.2's own DDL for contrib's migrations (contenttypes, auth, sessions) on SQLite
and PostgreSQL, for handler-core's migrations to run as they are, and vectors of the schema and
rows Django's `migrate` leaves, for the interop tests to compare with. See README.md beside it.

Run from the repository root with the Django peer's venv (bench/peers/django/venv.sh makes it):

    bench/.venv/bin/python handler-core/tests/django_ddl/capture.py

It starts a throwaway PostgreSQL (initdb/pg_ctl, as the postgres user when run as root) on a
free port in a temporary directory and stops it at the end. For each backend, in a child
process with DATABASE_URL set and peer.interop_settings:
  1. on a fresh database, for every migration in `migrate`'s plan order: `sqlmigrate APP NAME`
     with everything before it applied (so what Django introspects is what a real run sees),
     then the migration applied, `sqlmigrate --backwards APP NAME`, the migration unapplied and
     applied again, recording the statements the schema editor runs each time;
  2. on a second fresh database, `migrate`: the schema, django_migrations and post_migrate rows;
  4. on a fourth, Django migrates fully and then unapplies one migration at a time from the
     last: it must run the reverse statements of step 1, and each schema is kept for step 3;
  3. on a third, the captured forward files are run in plan order (as a migration executor
     would): the schema must equal step 2's; then the reverse files from the last: each must
     leave step 4's schema. Any difference fails the capture.
The output is deterministic; running it again gives the same files. Commit them all.
"""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
DJANGO_PROJECT = ROOT / "bench" / "peers" / "django"
CONTRIB = ROOT / "handler-core" / "src" / "contrib"
APPS = ("contenttypes", "auth", "sessions")
VENDORS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


# ---------------------------------------------------------------------------------------------
# The child: Django set up on one database URL (three databases per backend, by suffix).
# ---------------------------------------------------------------------------------------------

def strip_transaction(output, atomic, connection):
    """sqlmigrate's text without the BEGIN;/COMMIT; it prints around an atomic migration: the
    executor runs each migration in its own transaction, as Django's does."""
    begin = connection.ops.start_transaction_sql()
    end = connection.ops.end_transaction_sql()
    if atomic and connection.features.can_rollback_ddl and output:
        lines = output.split("\n")
        assert lines[0] == begin and lines[-1] == end, output
        return "\n".join(lines[1:-1])
    return output


def run_recorded(executor, target):
    """Migrates to `target` as `migrate` does, returning the statements the schema editor ran,
    each formatted as sqlmigrate formats it (parameters quoted in, a `;` at the end)."""
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

    ran = []
    original = BaseDatabaseSchemaEditor.execute

    def execute(self, sql, params=()):
        text = str(sql)
        if params is not None:
            text = text % tuple(map(self.quote_value, params))
        ran.append(text + ("" if text.rstrip().endswith(";") else ";"))
        return original(self, sql, params)

    BaseDatabaseSchemaEditor.execute = execute
    try:
        executor.migrate([target])
    finally:
        BaseDatabaseSchemaEditor.execute = original
    return ran


def as_executed(output, executed, key):
    """sqlmigrate's text with each statement replaced by the one `migrate` really runs in its
    place. They differ only where SQLite rebuilds a table: sqlmigrate renders the model states
    in another order, so the rebuilt table lists the altered column elsewhere than migrate's
    (which puts it last). The comments and the statements' count and order are sqlmigrate's."""
    lines = output.split("\n") if output else []
    statements = [i for i, line in enumerate(lines) if not line.startswith("--")]
    if len(statements) != len(executed):
        raise SystemExit(f"{key}: sqlmigrate prints {len(statements)} statements, migrate runs "
                         f"{len(executed)}:\n{output}\n---\n" + "\n".join(executed))
    for i, statement in zip(statements, executed):
        if "\n" in statement:
            raise SystemExit(f"{key}: a statement on several lines: {statement}")
        lines[i] = statement
    return "\n".join(lines)


def split_sqlite(sql):
    """A file's statements, one by one: sqlite3's execute() takes a single statement, and
    executescript() would commit the transaction run_file opened."""
    import sqlite3

    statements, current = [], ""
    for line in sql.split("\n"):
        if not current and line.startswith("--"):
            continue
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    assert not current.strip(), current
    return statements


def child(urls):
    import django
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from django.db.migrations.exceptions import IrreversibleError
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.recorder import MigrationRecorder

    django.setup()
    from interop import schema

    # One statement takes a time: auth 0005's reverse fills NULL last_login with
    # timezone.now(), the field's default. A fixed clock keeps the files the same run to run.
    import datetime as dt
    from django.utils import timezone

    class FixedClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2000, 1, 1, tzinfo=tz)

    timezone.datetime = FixedClock

    def switch(url):
        """Points the default connection at another database of the same backend."""
        from peer.interop_settings import database_from_url

        connection.close()
        connections.settings["default"].update(database_from_url(url))
        connection.settings_dict.update(database_from_url(url))

    # 1. sqlmigrate, migration by migration, on a database that has what precedes each; then
    #    the migration applied, unapplied and applied again, recording what the schema editor
    #    runs each time.
    switch(urls[0])
    MigrationRecorder(connection).ensure_schema()  # before, so no migration's record has it
    executor = MigrationExecutor(connection)
    targets = [key for key in executor.loader.graph.leaf_nodes() if key[0] in APPS]
    plan = executor.migration_plan(targets)
    migrations = []
    for migration, _backwards in plan:
        key = (migration.app_label, migration.name)
        parents = [p for p in executor.loader.graph.node_map[key].parents if p.key[0] == key[0]]
        before = (key[0], parents[0].key[1]) if parents else (key[0], None)
        forward = call_command("sqlmigrate", *key, stdout=io.StringIO(), no_color=True)
        forward = strip_transaction(forward, migration.atomic, connection)
        executed_forward = run_recorded(MigrationExecutor(connection), key)
        try:
            reverse = call_command("sqlmigrate", *key, backwards=True, stdout=io.StringIO(),
                                   no_color=True)
            reverse = strip_transaction(reverse, migration.atomic, connection)
        except IrreversibleError:
            reverse = None
        if reverse is not None:
            executed_reverse = run_recorded(MigrationExecutor(connection), before)
            again = run_recorded(MigrationExecutor(connection), key)
            assert again == executed_forward, (key, again, executed_forward)
        migrations.append({
            "app": migration.app_label,
            "name": migration.name,
            "dependencies": [list(d) for d in migration.dependencies],
            "atomic": migration.atomic,
            "operations": [
                {"type": type(op).__name__, "description": op.describe(),
                 "reversible": op.reversible}
                for op in migration.operations
            ],
            "sqlmigrate": forward,
            "sqlmigrate_reverse": reverse,
            "forward": as_executed(forward, executed_forward, key),
            "reverse": None if reverse is None else as_executed(reverse, executed_reverse, key),
            "executed_reverse": executed_reverse if reverse is not None else None,
            "before": before,
        })
    stepwise = schema.schema(connection)

    # The table the recorder makes before the first migration: not a migration of any app.
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        editor.create_model(MigrationRecorder.Migration)
    recorder_sql = list(editor.collected_sql)

    # 2. Django's own migrate, post_migrate included.
    switch(urls[1])
    call_command("migrate", interactive=False, verbosity=0)
    migrated = {
        "schema": schema.schema(connection),
        "django_migrations": schema.applied_migrations(connection),
        "post_migrate": schema.post_migrate_rows(connection),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app_label, model FROM django_content_type ORDER BY id")
        content_type_ids = [{"id": i, "app_label": a, "model": m} for i, a, m in cursor.fetchall()]
        cursor.execute(
            """SELECT p.id, ct.app_label, ct.model, p.codename FROM auth_permission p
               JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY p.id""")
        permission_ids = [{"id": i, "app_label": a, "model": m, "codename": c}
                          for i, a, m, c in cursor.fetchall()]
    migrated["creation_order"] = {"django_content_type": content_type_ids,
                                  "auth_permission": permission_ids}

    # 4 (first, for 3 to compare with). Django migrates a fresh database fully, then unapplies
    #    the migrations one by one in the opposite order: what it runs must be the reverse files'
    #    statements, and the schema after each is what replaying the reverse files must leave.
    switch(urls[3])
    MigrationRecorder(connection).ensure_schema()
    MigrationExecutor(connection).migrate(targets)
    unapplied = []
    reverse_mismatches = []
    for m in reversed(migrations):
        ran = run_recorded(MigrationExecutor(connection), tuple(m["before"]))
        if ran != m["executed_reverse"]:
            reverse_mismatches.append(f"{m['app']} {m['name']} (statements)")
        unapplied.append(schema.schema(connection))

    # 3. The captured SQL replayed in plan order, as handler-core's executor will run it; then
    #    the reverse files in the opposite order, each leaving what Django's unapply left.
    switch(urls[2])
    connection.ensure_connection()
    raw = connection.connection

    def run_file(sql):
        if connection.vendor == "sqlite":
            # As Django's SQLite schema editor: foreign keys off around the table rebuilds
            # (PRAGMA foreign_keys cannot change inside a transaction), checked before commit.
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("BEGIN")
            for statement in split_sqlite(sql):
                raw.execute(statement)
            violations = raw.execute("PRAGMA foreign_key_check").fetchall()
            assert not violations, violations
            raw.execute("COMMIT")
            raw.execute("PRAGMA foreign_keys = ON")
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)

    with connection.cursor() as cursor:
        for statement in recorder_sql:
            cursor.execute(statement)
    for m in migrations:
        run_file(m["forward"])
    replayed = schema.schema(connection)
    for m, expected in zip(reversed(migrations), unapplied):
        run_file(m["reverse"])
        if schema.schema(connection) != expected:
            reverse_mismatches.append(f"{m['app']} {m['name']} (schema)")

    return {
        "migrations": migrations,
        "recorder_sql": recorder_sql,
        "stepwise_schema_equal": stepwise == migrated["schema"],
        "replayed_schema_equal": replayed == migrated["schema"],
        "replayed_schema": replayed,
        "reverse_mismatches": reverse_mismatches,
        **migrated,
    }


# ---------------------------------------------------------------------------------------------
# The parent: databases, children, files.
# ---------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name):
    for d in PG_BIN_DIRS:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"capture.py: no {name}: install postgresql (apt-get install postgresql)")
    return found


class Postgres:
    """A throwaway PostgreSQL cluster in a temporary directory, trust auth on 127.0.0.1."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="portico-capture-pg-")
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        data = os.path.join(self.dir, "data")
        self.data = data
        subprocess.run(self.as_postgres + [pg_bin("initdb"), "-D", data, "-A", "trust", "-U",
                                           "postgres", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(self.as_postgres + [
            pg_bin("pg_ctl"), "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start"], check=True, stdout=subprocess.DEVNULL)

    def url(self, name):
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name):
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def version(self):
        import psycopg

        with psycopg.connect(self.url("postgres")) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def stop(self):
        subprocess.run(self.as_postgres + [pg_bin("pg_ctl"), "-D", self.data, "-m", "fast",
                                           "-w", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_child(urls):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="peer.interop_settings", DATABASE_URL=urls[0])
    proc = subprocess.run([sys.executable, __file__, "--child", *urls], cwd=DJANGO_PROJECT,
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"capture.py: the Django child failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def header(vendor, app, name, backwards, sql, sqlmigrate):
    flag = " --backwards" if backwards else ""
    text = (f"-- Django {DJANGO_VERSION}'s `manage.py sqlmigrate{flag} {app} {name}` on "
            f"{VENDORS[vendor]}, unedited but for the BEGIN;/COMMIT; around it\n")
    if sql != sqlmigrate:
        text += ("-- and for the statements `migrate` runs in place of sqlmigrate's: the table "
                 "rebuild lists the\n-- altered column last, as Django's migrate makes it "
                 "(sqlmigrate renders another order).\n")
    text += "-- (handler-core/tests/django_ddl/capture.py; README.md there).\n"
    if not sql:
        text += "-- Nothing: sqlmigrate prints \"No operations found.\" (the migration has none).\n"
    return text + sql


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n")


def main():
    global DJANGO_VERSION
    import django

    DJANGO_VERSION = django.get_version()
    work = tempfile.mkdtemp(prefix="portico-capture-")
    pg = Postgres()
    try:
        results = {
            "sqlite": run_child([f"sqlite:///{work}/{n}.sqlite3" for n in "abcd"]),
        }
        for n in "abcd":
            pg.create_database(f"capture_{n}")
        results["postgresql"] = run_child([pg.url(f"capture_{n}") for n in "abcd"])
        pg_version = pg.version()
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)

    failures = []
    for m in results["postgresql"]["migrations"]:
        if m["forward"] != m["sqlmigrate"] or m["reverse"] != m["sqlmigrate_reverse"]:
            failures.append(f"postgresql: {m['app']} {m['name']}: migrate runs other statements "
                            "than sqlmigrate prints")
    for vendor, r in results.items():
        if not r["stepwise_schema_equal"]:
            failures.append(f"{vendor}: migrating step by step gave another schema than migrate")
        if r["reverse_mismatches"]:
            failures.append(f"{vendor}: the reverse files leave another schema than Django's "
                            f"unapply (from a fully migrated database) for {', '.join(r['reverse_mismatches'])}")
        if not r["replayed_schema_equal"]:
            failures.append(f"{vendor}: the captured SQL replayed gives another schema than migrate")
    if failures:
        for vendor, r in results.items():
            (Path(tempfile.gettempdir()) / f"capture-{vendor}-replayed.json").write_text(
                json.dumps(r["replayed_schema"], indent=1))
            (Path(tempfile.gettempdir()) / f"capture-{vendor}-migrated.json").write_text(
                json.dumps(r["schema"], indent=1))
        sys.exit("capture.py: " + "; ".join(failures))

    plans = {v: [(m["app"], m["name"]) for m in r["migrations"]] for v, r in results.items()}
    assert plans["sqlite"] == plans["postgresql"], plans

    manifest = []
    for i, m in enumerate(results["sqlite"]["migrations"]):
        entry = {k: m[k] for k in ("app", "name", "dependencies", "atomic", "operations")}
        entry["files"] = {}
        for vendor, r in results.items():
            mv = r["migrations"][i]
            base = CONTRIB / mv["app"] / "migrations" / vendor
            write(base / f"{mv['name']}.sql", header(vendor, mv["app"], mv["name"], False, mv["forward"], mv["sqlmigrate"]))
            files = {"forward": str((base / f"{mv['name']}.sql").relative_to(ROOT)),
                     "differs_from_sqlmigrate": mv["forward"] != mv["sqlmigrate"]
                     or mv["reverse"] != mv["sqlmigrate_reverse"]}
            reverse = base / f"{mv['name']}.reverse.sql"
            if mv["reverse"] is not None:
                write(reverse, header(vendor, mv["app"], mv["name"], True, mv["reverse"],
                                      mv["sqlmigrate_reverse"]))
                files["reverse"] = str(reverse.relative_to(ROOT))
            elif reverse.exists():
                reverse.unlink()
            entry["files"][vendor] = files
        manifest.append(entry)

    for vendor, r in results.items():
        write(HERE / f"django_migrations.{vendor}.sql",
              f"-- The table Django's MigrationRecorder creates before the first migration, on "
              f"{VENDORS[vendor]}\n-- (Django {DJANGO_VERSION}, schema_editor collect_sql; "
              f"capture.py).\n" + "\n".join(r["recorder_sql"]))
        vectors = {
            "django": DJANGO_VERSION,
            "server": f"PostgreSQL {pg_version}" if vendor == "postgresql" else None,
            "command": "manage.py migrate (peer.interop_settings: auth, contenttypes, sessions)",
            "schema": r["schema"],
            "django_migrations": r["django_migrations"],
            "post_migrate": r["post_migrate"],
        }
        write(HERE / f"schema.{vendor}.json", json.dumps(vectors, indent=1, sort_keys=True))
    for part in ("post_migrate", "creation_order"):
        assert results["sqlite"][part] == results["postgresql"][part], part
    write(HERE / "post_migrate.json", json.dumps({
        "django": DJANGO_VERSION,
        "command": "manage.py migrate (peer.interop_settings: auth, contenttypes, sessions); the "
                   "rows create_contenttypes and create_permissions write, the same on both "
                   "backends, by natural key; creation_order: the ids Django gave them",
        **results["sqlite"]["post_migrate"],
        "creation_order": results["sqlite"]["creation_order"],
    }, indent=1, sort_keys=True))
    write(HERE / "migrations.json", json.dumps({
        "django": DJANGO_VERSION,
        "postgresql_server": pg_version,
        "plan": manifest,
    }, indent=1, sort_keys=True))
    print(f"capture.py: Django {DJANGO_VERSION}, {len(manifest)} migrations on SQLite and "
          f"PostgreSQL {pg_version}; on both, the forward files replay to migrate's schema and "
          f"the reverse files, run back, leave what Django's unapply does at each step")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(DJANGO_PROJECT))
        print(json.dumps(child(sys.argv[2:])))
    else:
        main()
