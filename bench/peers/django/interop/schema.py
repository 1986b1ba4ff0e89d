"""What a database holds after contrib's migrations, normalised so two databases can be compared
as JSON: the schema (SQLite: sqlite_master; PostgreSQL: columns, constraints, indexes and
sequences from pg_catalog), the django_migrations rows, and the rows post_migrate creates
(django_content_type, auth_permission). handler-core/tests/django_ddl/capture.py writes Django's
own as vectors; the interop tests (tests/src/django.rs) dump a database made elsewhere with
`manage.py interop_schema` and compare."""

# Tables of the schema itself, not of an app: sqlite_sequence is SQLite's (AUTOINCREMENT).
_SQLITE_SCHEMA = """
    SELECT type, name, tbl_name, sql FROM sqlite_master
    ORDER BY type, name, tbl_name, sql
"""

# Every user table's columns in the order SQLite or PostgreSQL lists them; position is the
# rank among live columns (a dropped column leaves a gap in attnum).
_PG_COLUMNS = """
    SELECT c.relname, a.attname,
           row_number() OVER (PARTITION BY c.relname ORDER BY a.attnum),
           format_type(a.atttypid, a.atttypmod), a.attnotnull,
           pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
           coll.collname
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> 0
         AND coll.collname <> 'default'
    WHERE n.nspname = current_schema() AND c.relkind = 'r'
      AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum
"""
_PG_CONSTRAINTS = """
    SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema()
    ORDER BY c.relname, con.conname
"""
_PG_INDEXES = """
    SELECT tablename, indexname, indexdef FROM pg_indexes
    WHERE schemaname = current_schema()
    ORDER BY tablename, indexname
"""
_PG_SEQUENCES = """
    SELECT s.relname, t.relname, a.attname, seq.seqtypid::regtype::text,
           seq.seqstart, seq.seqincrement, seq.seqmin, seq.seqmax, seq.seqcycle
    FROM pg_sequence seq
    JOIN pg_class s ON s.oid = seq.seqrelid
    JOIN pg_namespace n ON n.oid = s.relnamespace
    LEFT JOIN pg_depend dep ON dep.objid = s.oid AND dep.classid = 'pg_class'::regclass
         AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = dep.refobjid
    LEFT JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
    WHERE n.nspname = current_schema()
    ORDER BY s.relname
"""


def schema(connection):
    """The normalised schema of `connection`'s database as a JSON-ready dict."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(_SQLITE_SCHEMA)
            return {
                "vendor": "sqlite",
                "sqlite_master": [
                    {"type": t, "name": n, "tbl_name": tbl, "sql": sql}
                    for t, n, tbl, sql in cursor.fetchall()
                ],
            }
        if connection.vendor == "postgresql":
            cursor.execute(_PG_COLUMNS)
            columns = [
                {
                    "table": table,
                    "column": column,
                    "position": position,
                    "type": type_,
                    "not_null": not_null,
                    "default": default,
                    "identity": identity,
                    "generated": generated,
                    "collation": collation,
                }
                for (table, column, position, type_, not_null, default, identity, generated,
                     collation) in cursor.fetchall()
            ]
            cursor.execute(_PG_CONSTRAINTS)
            constraints = [
                {"table": table, "name": name, "type": contype, "definition": definition}
                for table, name, contype, definition in cursor.fetchall()
            ]
            cursor.execute(_PG_INDEXES)
            indexes = [
                {"table": table, "name": name, "definition": definition}
                for table, name, definition in cursor.fetchall()
            ]
            cursor.execute(_PG_SEQUENCES)
            sequences = [
                {
                    "name": name,
                    "owned_by": f"{table}.{column}" if table else None,
                    "type": type_,
                    "start": start,
                    "increment": increment,
                    "min": min_,
                    "max": max_,
                    "cycle": cycle,
                }
                for (name, table, column, type_, start, increment, min_, max_, cycle)
                in cursor.fetchall()
            ]
            return {
                "vendor": "postgresql",
                "columns": columns,
                "constraints": constraints,
                "indexes": indexes,
                "sequences": sequences,
            }
    raise ValueError(f"no schema normaliser for the {connection.vendor} backend")


def applied_migrations(connection):
    """django_migrations' (app, name) rows in the order they were applied (id order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        return [{"app": app, "name": name} for app, name in cursor.fetchall()]


def post_migrate_rows(connection):
    """The rows of django_content_type and auth_permission, by natural key (the ids depend on
    the order things were created in, which is not part of the contract)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT app_label, model FROM django_content_type ORDER BY app_label, model")
        content_types = [{"app_label": a, "model": m} for a, m in cursor.fetchall()]
        cursor.execute(
            """SELECT ct.app_label, ct.model, p.codename, p.name
               FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
               ORDER BY ct.app_label, ct.model, p.codename"""
        )
        permissions = [
            {"app_label": a, "model": m, "codename": c, "name": n}
            for a, m, c, n in cursor.fetchall()
        ]
    return {"django_content_type": content_types, "auth_permission": permissions}
