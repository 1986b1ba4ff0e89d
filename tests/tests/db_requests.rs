//! Transactions end to end, through the real binary on the testapp: with `atomic_requests`
//! a view that writes and then fails leaves no row (its request's transaction rolls back),
//! and a view that succeeds keeps its row; on SQLite and on a throwaway PostgreSQL.

use tests::postgres::Postgres;
use tests::{app_lib, Server, TempDir};

const SETTINGS: &str = "debug = false
allowed_hosts = [\"127.0.0.1\", \"localhost\"]
middleware = [\"common\"]
[databases.default]
engine = \"sqlite\"
name = \"db.sqlite3\"
atomic_requests = true
";

fn count(server: &Server) -> i64 {
    let r = server.curl("/db/writes/", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["count"].as_i64().expect("a count")
}

fn a_failing_view_leaves_no_row(database_url: Option<&str>) {
    let dir = TempDir::new("db-atomic");
    let path = dir.write("settings.toml", SETTINGS);
    let builder = Server::builder(app_lib("testapp")).settings(path);
    let server = match database_url {
        Some(url) => builder.env("DATABASE_URL", url),
        None => builder.env_remove("DATABASE_URL"),
    }
    .start();
    assert_eq!(count(&server), 0);
    let r = server.curl("/db/write-then-fail/", &["-X", "POST"]);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(count(&server), 0, "the failed view's row was rolled back");
    let r = server.curl("/db/write/", &["-X", "POST"]);
    assert_eq!(r.status, 201, "{}", server.logs());
    let r = server.curl("/db/write-then-fail/", &["-X", "POST"]);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(count(&server), 1, "only the successful view's row is kept");
}

#[test]
fn atomic_requests_roll_back_a_failing_view_on_sqlite() {
    a_failing_view_leaves_no_row(None);
}

#[test]
fn atomic_requests_roll_back_a_failing_view_on_postgresql() {
    let pg = match Postgres::start() {
        Ok(pg) => pg,
        Err(reason) => {
            eprintln!("SKIPPED: PostgreSQL is unavailable: {reason}");
            return;
        }
    };
    let url = pg.create_database("atomic");
    a_failing_view_leaves_no_row(Some(&url));
}
