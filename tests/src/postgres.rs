//! A throwaway PostgreSQL server for a test: `initdb` on a temporary directory and `pg_ctl`
//! on a free port of 127.0.0.1 with trust authentication, run as the `postgres` user when the
//! test runs as root (initdb refuses root). [`PgServer::crash`] stops it with
//! `pg_ctl stop -m immediate` (PID 1 here reaps no zombies, so never `kill -9`),
//! [`PgServer::restart`] starts it again, and dropping it stops it.
//!
//! The binaries are found on PATH or under `/usr/lib/postgresql/<version>/bin` (Debian keeps
//! them off PATH); when there are none, Debian's `postgresql` is installed (as `.ci/run`
//! does), and only when that is impossible does [`PgServer::start`] return the reason, which
//! the test prints before skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{free_port, TempDir};

/// A running PostgreSQL.
pub struct PgServer {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    as_postgres: bool,
}

fn find_bindir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        // A symlink on PATH (/usr/local/bin/initdb): the real directory holds the other tools.
        .and_then(|d| std::fs::canonicalize(d.join("initdb")).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|d| d.join("createdb").is_file());
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn install() -> Result<PathBuf, String> {
    if !is_root() {
        return Err("PostgreSQL is not installed and installing it needs root".into());
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    eprintln!("PostgreSQL is not installed: installing Debian's postgresql");
    let mut out = apt(&["install", "-y", "-qq", "postgresql"])?;
    if !out.status.success() {
        let _ = apt(&["update", "-qq"])?;
        out = apt(&["install", "-y", "-qq", "postgresql"])?;
    }
    find_bindir().ok_or_else(|| {
        format!(
            "apt-get install postgresql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

impl PgServer {
    /// Starts a fresh server, or says why it cannot (the test then skips, printing it).
    pub fn start() -> Result<PgServer, String> {
        let bin = match find_bindir() {
            Some(bin) => bin,
            None => install()?,
        };
        let as_postgres = is_root();
        let dir = TempDir::new("postgres");
        if as_postgres {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .map_err(|e| format!("cannot run chown: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "chown postgres {}: {}",
                    dir.path().display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        let server = PgServer {
            bin,
            port: free_port(),
            dir,
            as_postgres,
        };
        let data = server.data_dir();
        let out = server.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        server.pg_ctl_start()?;
        Ok(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`, for `DATABASE_URL`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, String> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        )?;
        if !out.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}\n{log}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    fn pg_ctl_stop(&self, mode: &str) -> Result<(), String> {
        let data = self.data_dir();
        let out = self.run("pg_ctl", &["-D", path_str(&data), "-w", "-m", mode, "stop"])?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl stop -m {mode} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Creates database `name`.
    pub fn create_database(&self, name: &str) -> Result<(), String> {
        let port = self.port.to_string();
        let out = self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", name],
        )?;
        if !out.status.success() {
            return Err(format!(
                "createdb {name} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    /// Simulates a crash: `pg_ctl stop -m immediate` (no shutdown checkpoint, clients cut).
    pub fn crash(&self) -> Result<(), String> {
        self.pg_ctl_stop("immediate")
    }

    /// Starts the server again (after [`PgServer::crash`]: with crash recovery).
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl_start()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self.pg_ctl_stop("fast");
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
