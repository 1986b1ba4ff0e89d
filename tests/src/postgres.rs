//! Throwaway PostgreSQL servers for the tests: a cluster of its own in a temporary directory,
//! on a free loopback port, trust authentication for `postgres`, stopped and removed on drop.
//!
//! `initdb` refuses to run as root, so as root the cluster is made and run by the `postgres`
//! user (`runuser -u postgres`). PID 1 reaps no zombies on the CI machine, so the server is
//! only ever stopped through `pg_ctl stop` (`-m fast`, or `-m immediate` to simulate a crash),
//! never killed. When PostgreSQL is missing and we are root, Debian's `postgresql` is installed
//! (as `.ci/run` does); [`Postgres::start`] returns why it could not start otherwise, for the
//! test to print when it skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{free_port, TempDir};

/// The user that owns and runs the cluster when we are root.
const SERVER_USER: &str = "postgres";

/// A running throwaway PostgreSQL cluster.
pub struct Postgres {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    running: bool,
}

/// How to stop the server: `pg_ctl stop -m MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Disconnects the clients and shuts down cleanly.
    Fast,
    /// Aborts every server process, as a crash would (recovery runs at the next start).
    Immediate,
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The directory holding `initdb`, `pg_ctl` and `psql` of the newest installed PostgreSQL.
fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    })
}

/// PostgreSQL's binaries, installing Debian's `postgresql` when none are found and we are root.
pub fn bin_dir() -> Result<PathBuf, String> {
    crate::installed_or_install("PostgreSQL", "postgresql", find_bin_dir)
}

fn failed(what: &str, out: &Output) -> String {
    format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}

impl Postgres {
    /// Makes a cluster in a fresh temporary directory and starts it on a free port. `Err` says
    /// why PostgreSQL cannot run here (not installed and not installable, or initdb failing).
    pub fn start() -> Result<Postgres, String> {
        let bin = bin_dir()?;
        let dir = TempDir::new("pg");
        if is_root() {
            chown_to_server_user(dir.path())?;
        }
        let mut pg = Postgres {
            bin,
            dir,
            port: free_port(),
            running: false,
        };
        let data = pg.data_dir();
        let out = pg.as_server_user(&pg.bin.join("initdb"), |c| {
            c.arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"])
                .args(["--locale=C.UTF-8", "--no-sync"]);
        })?;
        if !out.status.success() {
            return Err(failed("initdb", &out));
        }
        pg.start_again()?;
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of PostgreSQL's programs, as the `postgres` user when we are root.
    fn as_server_user(
        &self,
        program: &Path,
        args: impl FnOnce(&mut Command),
    ) -> Result<Output, String> {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVER_USER, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        args(&mut cmd);
        cmd.stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))
    }

    /// Starts the server (again, after [`Postgres::stop`]) on the same port and data, waiting
    /// until it accepts connections.
    pub fn start_again(&mut self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let out = self.as_server_user(&self.bin.join("pg_ctl"), |c| {
            c.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options, "start"]);
        })?;
        if !out.status.success() {
            return Err(format!(
                "{}; server log: {}",
                failed("pg_ctl start", &out),
                std::fs::read_to_string(&log).unwrap_or_default().trim()
            ));
        }
        self.running = true;
        Ok(())
    }

    /// Stops the server with `pg_ctl stop -m MODE`, waiting until it is gone.
    pub fn stop(&mut self, mode: StopMode) {
        let mode = match mode {
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        };
        let data = self.data_dir();
        let out = self.as_server_user(&self.bin.join("pg_ctl"), |c| {
            c.arg("-D").arg(&data).args(["-w", "-m", mode, "stop"]);
        });
        match out {
            Ok(out) if out.status.success() => self.running = false,
            Ok(out) => panic!("{}", failed("pg_ctl stop", &out)),
            Err(e) => panic!("{e}"),
        }
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name`, as `DATABASE_URL` takes it.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// Runs `sql` in database `db` with psql and returns its unaligned output (`-At`: one row a
    /// line, columns split by `|`); panics with psql's error when it fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", db, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        assert!(
            out.status.success(),
            "{}",
            failed(&format!("psql {sql:?}"), &out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data_dir();
            let _ = self.as_server_user(&self.bin.join("pg_ctl"), |c| {
                c.arg("-D").arg(&data).args(["-w", "-m", "fast", "stop"]);
            });
        }
    }
}

/// Gives the temporary directory to the server user, who must write the cluster into it.
fn chown_to_server_user(dir: &Path) -> Result<(), String> {
    let name = std::ffi::CString::new(SERVER_USER).expect("no NUL in a user name");
    // SAFETY: getpwnam(3) gets a valid C string; its result is read before any other call that
    // could overwrite it.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        if pw.is_null() {
            return Err(format!(
                "there is no {SERVER_USER} user to run PostgreSQL as (initdb refuses root)"
            ));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))
        .map_err(|e| format!("cannot chown {} to {SERVER_USER}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crash drill the PostgreSQL tests rely on: `-m immediate` stops it, a restart on the
    /// same port recovers what was committed.
    #[test]
    fn a_throwaway_server_survives_an_immediate_stop() {
        let mut pg = match Postgres::start() {
            Ok(pg) => pg,
            Err(why) => return eprintln!("skipped: {why}"),
        };
        let url = pg.create_database("drill");
        assert_eq!(
            url,
            format!("postgres://postgres@127.0.0.1:{}/drill", pg.port())
        );
        pg.psql(
            "drill",
            "CREATE TABLE t (n integer); INSERT INTO t VALUES (7)",
        );
        pg.stop(StopMode::Immediate);
        assert!(std::net::TcpStream::connect(("127.0.0.1", pg.port())).is_err());
        pg.start_again().expect("restart after an immediate stop");
        assert_eq!(pg.psql("drill", "SELECT n FROM t").trim(), "7");
        assert!(
            pg.log().contains("database system is ready"),
            "{}",
            pg.log()
        );
    }
}
