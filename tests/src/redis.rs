//! A throwaway Redis for the tests: `redis-server` on a free port of 127.0.0.1, in a temp
//! directory, with no persistence (no RDB, no AOF), stopped when dropped. `stop()` and
//! `restart()` (same port) simulate an outage, `pause()` / `resume()` a stuck server. When redis-server is missing it installs
//! Debian's `redis-server` (as `.ci/run` does); if that is impossible, [`RedisServer::start`]
//! returns the reason for the test to print as its skip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, TempDir};

/// How long redis-server gets to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A redis-server of the test's own.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    child: Option<Child>,
    /// Declared last: the server stops before its directory goes.
    dir: TempDir,
}

fn find() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// The redis-server binary, installing Debian's package when none is found.
pub fn redis_server_bin() -> Result<PathBuf, String> {
    crate::installed_or_install("redis-server", "redis-server", find)
}

impl RedisServer {
    /// A new redis-server, answering PING; `Err` says why there is none (the test skips).
    pub fn start() -> Result<RedisServer, String> {
        let bin = redis_server_bin()?;
        let mut server = RedisServer {
            port: free_port(),
            bin,
            child: None,
            dir: TempDir::new("redis"),
        };
        server.spawn()?;
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT/db`.
    pub fn url(&self, db: u8) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.path().join("redis.log"))
            .map_err(|e| format!("redis log: {e}"))?;
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
        self.stop();
        Err(format!(
            "redis-server did not answer PING within {READY_TIMEOUT:?}: {log}"
        ))
    }

    /// True when the server answers PING.
    pub fn ping(&self) -> bool {
        self.command("PING").is_some_and(|r| r.starts_with("+PONG"))
    }

    /// One inline command's raw answer (`None` when the server is not reachable).
    pub fn command(&self, line: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{line}\r\n").as_bytes()).ok()?;
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Stops the server (SIGTERM, then waits: the test's process reaps its own child).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                crate::signal_pid(child.id(), libc::SIGCONT);
                crate::signal_pid(child.id(), libc::SIGTERM);
                let deadline = Instant::now() + Duration::from_secs(5);
                while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections still open, nothing answers, as a stuck
    /// Redis would.
    pub fn pause(&self) {
        if let Some(child) = &self.child {
            crate::signal_pid(child.id(), libc::SIGSTOP);
        }
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        if let Some(child) = &self.child {
            crate::signal_pid(child.id(), libc::SIGCONT);
        }
    }

    /// Starts it again on the same port (empty: nothing persists).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
