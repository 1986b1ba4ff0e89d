//! End-to-end test harness: starts the real `portico` binary on a real app library (a free port
//! each), drives it with curl and raw sockets, and reads what it logged.
//!
//! The binaries come from `cargo build --workspace` (the README's test command runs it before
//! `cargo test`); a missing one fails the test with that instruction rather than a confusing error.
#![allow(clippy::missing_panics_doc)]

pub mod django;
pub mod load;
pub mod postgres;
pub mod redis;

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server gets to start listening before the test fails.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The folder cargo builds the debug profile into.
pub fn build_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        workspace_root().join(target)
    };
    target.join("debug")
}

fn must_exist(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} does not exist: run `cargo build --workspace` before `cargo test` (the README's test command does both)",
        path.display()
    );
    path
}

/// The `portico` binary.
pub fn portico_bin() -> PathBuf {
    must_exist(build_dir().join("portico"))
}

/// The dynamic library of a workspace app crate, by its library name (`raw_hello`, `articles`).
pub fn app_lib(lib_name: &str) -> PathBuf {
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        lib_name,
        std::env::consts::DLL_SUFFIX
    );
    must_exist(build_dir().join(file))
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary directory, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a new, empty directory under the system temp dir.
    pub fn new(label: &str) -> TempDir {
        let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "portico-test-{label}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Captures a child's output stream into a shared string, line by line, on its own thread.
fn capture(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buf = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&buf);
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&String::from_utf8_lossy(&line));
            }
            line.clear();
        }
    });
    buf
}

/// Options for starting `portico`.
pub struct ServerBuilder {
    lib: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    env_removed: Vec<OsString>,
    bind: Option<String>,
    wait_ready: bool,
}

impl ServerBuilder {
    /// Adds one command-line argument (before the library path).
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds several command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--settings PATH`.
    pub fn settings(self, path: impl AsRef<Path>) -> Self {
        self.arg("--settings").arg(path.as_ref().as_os_str())
    }

    /// Sets an environment variable for the server process.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Removes an environment variable from the server process (e.g. a `RUST_LOG` the test
    /// runner happens to have, when the test is about `--log-level`).
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env_removed.push(key.into());
        self
    }

    /// Binds this address instead of a free 127.0.0.1 port (e.g. `unix:/tmp/x.sock`); the
    /// harness then does not wait for a TCP port to answer.
    pub fn bind(mut self, bind: impl Into<String>) -> Self {
        self.bind = Some(bind.into());
        self
    }

    /// Does not wait for the server to listen (for start-up failures).
    pub fn no_wait(mut self) -> Self {
        self.wait_ready = false;
        self
    }

    /// The `portico` command line: `--bind` when given, `--log-level info` unless the test set a
    /// level (when `default_log_level`), the test's arguments, the library; stdin closed and both
    /// outputs piped.
    fn command(&self, bind: Option<&str>, default_log_level: bool) -> Command {
        let mut cmd = Command::new(portico_bin());
        if let Some(bind) = bind {
            cmd.arg("--bind").arg(bind);
        }
        if default_log_level && !self.args.iter().any(|a| a == "--log-level") {
            cmd.arg("--log-level").arg("info");
        }
        cmd.args(&self.args)
            .arg(&self.lib)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for k in &self.env_removed {
            cmd.env_remove(k);
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts the server and waits until it accepts connections (or fails with its log).
    ///
    /// Without an explicit `bind` the server binds `127.0.0.1:0` and the harness reads the port
    /// the kernel gave it from `/proc`: probing for a free port and handing it over would race
    /// with the other tests running in parallel (two servers told the same port, one failing
    /// while its test talks to the other's).
    pub fn start(self) -> Server {
        let bind = self.bind.clone().unwrap_or_else(|| "127.0.0.1:0".into());
        let mut cmd = self.command(Some(&bind), true);
        let mut child = cmd.spawn().expect("spawn portico");
        let stderr = capture(child.stderr.take().expect("stderr piped"));
        let stdout = capture(child.stdout.take().expect("stdout piped"));
        let explicit_port = self
            .bind
            .as_deref()
            .and_then(|b| b.rsplit_once(':'))
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(0);
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], explicit_port)),
            port: explicit_port,
            stderr,
            stdout,
        };
        if !self.wait_ready {
            return server;
        }
        if self.bind.is_some() {
            // An explicit address may not be TCP on 127.0.0.1 (unix:, [::1]); the test waits
            // for it in its own way.
            thread::sleep(Duration::from_millis(500));
            return server;
        }
        // The master may listen on other ports of its own (`--metrics-bind`): those are not
        // the app's.
        let others: Vec<u16> = self
            .args
            .windows(2)
            .filter(|w| w[0] == "--metrics-bind")
            .filter_map(|w| w[1].to_str()?.rsplit_once(':')?.1.parse().ok())
            .collect();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(port) = listening_port(server.child.id(), &others) {
                server.port = port;
                server.addr = SocketAddr::from(([127, 0, 0, 1], port));
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "portico exited during start-up ({status}):\n{}",
                    server.logs()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "portico did not listen within {STARTUP_TIMEOUT:?}:\n{}",
                    server.logs()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the server to completion (for `--check-config`, `--version`, start-up errors) with a
    /// time limit, and returns its exit status and output.
    pub fn run_to_exit(self, limit: Duration) -> Finished {
        let mut cmd = self.command(self.bind.as_deref(), false);
        let mut child = cmd.spawn().expect("spawn portico");
        let stderr = capture(child.stderr.take().expect("stderr piped"));
        let stdout = capture(child.stdout.take().expect("stdout piped"));
        let status = wait_timeout(&mut child, limit).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "portico did not exit within {limit:?}; stderr:\n{}",
                stderr.lock().map(|s| s.clone()).unwrap_or_default()
            )
        });
        // Give the capture threads a moment to drain the pipes.
        thread::sleep(Duration::from_millis(50));
        Finished {
            status,
            stdout: stdout.lock().map(|s| s.clone()).unwrap_or_default(),
            stderr: stderr.lock().map(|s| s.clone()).unwrap_or_default(),
        }
    }
}

/// A process that ran to its end.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

/// The port of the IPv4 TCP socket process `pid` listens on, if it listens yet: the socket
/// inodes among its open files, looked up in `/proc/net/tcp` (state `0A` is LISTEN), leaving
/// out the ports in `others`.
fn listening_port(pid: u32, others: &[u16]) -> Option<u16> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                inodes.push(inode.to_string());
            }
        }
    }
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
        if *state != "0A" || !inodes.iter().any(|i| i == inode) {
            return None;
        }
        let port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
        (!others.contains(&port)).then_some(port)
    })
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// A running `portico`; killed when dropped.
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its port.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Server {
    /// Options for serving `lib` (a path to an app library).
    pub fn builder(lib: impl AsRef<Path>) -> ServerBuilder {
        ServerBuilder {
            lib: lib.as_ref().to_path_buf(),
            args: Vec::new(),
            envs: Vec::new(),
            env_removed: Vec::new(),
            bind: None,
            wait_ready: true,
        }
    }

    /// Starts `lib` with default options.
    pub fn start(lib: impl AsRef<Path>) -> Server {
        Server::builder(lib).start()
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The server's process id (the master's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The master's worker processes now.
    pub fn worker_pids(&self) -> Vec<u32> {
        children_of(self.child.id())
    }

    /// Waits up to `limit` until the master has `count` workers; returns their pids.
    pub fn wait_for_workers(&self, count: usize, limit: Duration) -> Vec<u32> {
        let deadline = Instant::now() + limit;
        loop {
            let pids = self.worker_pids();
            if pids.len() == count || Instant::now() > deadline {
                return pids;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's resident memory in KiB: the master's and its workers' (`VmRSS` from
    /// `/proc`).
    pub fn rss_kib(&self) -> u64 {
        tree_rss_kib(self.child.id()).expect("read the server's /proc status")
    }

    /// Sends a signal (`libc::SIGTERM`, …) to the server.
    pub fn signal(&self, sig: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid we own and a valid signal number.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_timeout(&mut self.child, limit)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Everything the server wrote to stderr so far (its log).
    pub fn logs(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything the server wrote to stdout so far (e.g. `--access-logfile -`).
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until the log (stderr) contains `needle`, up to `limit`; returns whether it did.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Opens a raw TCP connection to the server (read timeout 10 s).
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect to portico");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set read timeout");
        s.set_nodelay(true).expect("nodelay");
        s
    }

    /// Runs curl against `path` with extra arguments.
    pub fn curl(&self, path: &str, extra: &[&str]) -> CurlResponse {
        let url = self.url(path);
        let mut args: Vec<&str> = extra.to_vec();
        args.push(&url);
        curl(&args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // The workers too: a worker outlives a killed master only until it notices, and a
            // test should not leave processes behind even that long.
            let workers = self.worker_pids();
            let _ = self.child.kill();
            for pid in workers {
                signal_pid(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// Sends `sig` to `pid`, ignoring a process that is already gone.
pub fn signal_pid(pid: u32, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a positive pid and a valid signal number.
        unsafe { libc::kill(pid, sig) };
    }
}

/// The processes whose parent is `pid` (from `/proc/*/stat`), zombies excluded.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
                return false;
            };
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let mut fields = after.split_whitespace();
            let state = fields.next();
            let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
            ppid == Some(pid) && state != Some("Z")
        })
        .collect();
    out.sort_unstable();
    out
}

/// The resident memory of `pid` and all its descendants, in KiB.
pub fn tree_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let own: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(
        own + children_of(pid)
            .into_iter()
            .filter_map(tree_rss_kib)
            .sum::<u64>(),
    )
}

/// A response as curl saw it.
#[derive(Debug, Clone)]
pub struct CurlResponse {
    /// The final status code (0 when curl got no response).
    pub status: u16,
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// The final response's headers, in order (interim `100 Continue` blocks are skipped).
    pub headers: Vec<(String, String)>,
    /// The body, decoded from chunked framing by curl.
    pub body: Vec<u8>,
    /// curl's exit code.
    pub exit_code: i32,
    /// What curl wrote on stderr.
    pub stderr: String,
    /// The raw header dump, every block (including `100 Continue`).
    pub raw_headers: String,
}

impl CurlResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header named `name` (case-insensitive).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): status {} body {:?}",
                self.status,
                self.text()
            )
        })
    }
}

/// Runs `curl -sS` with `args` (which include the URL) and collects the final response.
pub fn curl(args: &[&str]) -> CurlResponse {
    let dir = TempDir::new("curl");
    let head_file = dir.path().join("headers");
    let body_file = dir.path().join("body");
    let out = Command::new("curl")
        .arg("-sS")
        .arg("--max-time")
        .arg("60")
        .arg("--dump-header")
        .arg(&head_file)
        .arg("--output")
        .arg(&body_file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl (is it installed?)");
    let raw_headers = std::fs::read_to_string(&head_file).unwrap_or_default();
    let body = std::fs::read(&body_file).unwrap_or_default();
    let (status, status_line, headers) = parse_last_header_block(&raw_headers);
    CurlResponse {
        status,
        status_line,
        headers,
        body,
        exit_code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        raw_headers,
    }
}

/// Runs curl with `args` as given (nothing added) and returns its raw output, for calls the
/// wrapper cannot express (several URLs, `--write-out`, …).
pub fn curl_raw(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl (is it installed?)")
}

fn parse_last_header_block(raw: &str) -> (u16, String, Vec<(String, String)>) {
    let mut status = 0;
    let mut status_line = String::new();
    let mut headers = Vec::new();
    for line in raw.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            let code = line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            // Interim 1xx blocks are replaced by the final one.
            status = code;
            status_line = line.to_string();
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    (status, status_line, headers)
}

/// One HTTP/1.1 response parsed from raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body (chunked framing removed).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses consecutive responses from `bytes`. `head_only[i]` says whether response i answers a
/// HEAD request (no body whatever the headers say); missing entries count as false. Returns the
/// responses and the unparsed rest. Interim 1xx responses are returned like any other.
pub fn parse_responses(mut bytes: &[u8], head_only: &[bool]) -> (Vec<RawResponse>, Vec<u8>) {
    let mut out = Vec::new();
    while let Some(end) = find(bytes, b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let rest = &bytes[end + 4..];
        let resp_head = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        let is_head = head_only
            .get(
                out.iter()
                    .filter(|r: &&RawResponse| r.status >= 200)
                    .count(),
            )
            .copied()
            .unwrap_or(false);
        let no_body = is_head || status < 200 || status == 204 || status == 304;
        if no_body {
            out.push(resp_head);
            bytes = rest;
            continue;
        }
        if resp_head
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            match decode_chunked(rest) {
                Some((body, used)) => {
                    out.push(RawResponse { body, ..resp_head });
                    bytes = &rest[used..];
                }
                None => break,
            }
        } else if let Some(len) = resp_head
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
        {
            if rest.len() < len {
                break;
            }
            out.push(RawResponse {
                body: rest[..len].to_vec(),
                ..resp_head
            });
            bytes = &rest[len..];
        } else {
            // Close-delimited: everything left is the body.
            out.push(RawResponse {
                body: rest.to_vec(),
                ..resp_head
            });
            bytes = &[];
        }
    }
    (out, bytes.to_vec())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body at the start of `bytes`; returns the body and the bytes consumed, or
/// None when it is incomplete.
pub fn decode_chunked(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let (chunks, used) = decode_chunks(bytes)?;
    Some((chunks.concat(), used))
}

/// Decodes a chunked body at the start of `bytes` chunk by chunk: each chunk's data in order
/// (as the sender cut it) and the bytes consumed (through the trailers' empty line), or None
/// when it is incomplete.
pub fn decode_chunks(bytes: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
    let mut pos = 0;
    let mut chunks = Vec::new();
    loop {
        let line_end = pos + find(&bytes[pos..], b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[pos..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers, then an empty line.
            loop {
                let end = pos + find(&bytes[pos..], b"\r\n")?;
                let empty = end == pos;
                pos = end + 2;
                if empty {
                    return Some((chunks, pos));
                }
            }
        }
        if bytes.len() < pos + size + 2 {
            return None;
        }
        chunks.push(&bytes[pos..pos + size]);
        pos += size + 2;
    }
}

/// Sends `request` on a fresh connection and reads until the server closes it or `limit` passes
/// with nothing more arriving; returns every byte received.
pub fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(limit)).expect("read timeout");
    s.write_all(request).expect("send request");
    read_to_close(&mut s)
}

/// Reads until EOF, an error, or the stream's read timeout; returns what arrived.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// Reads from `s` until `count` complete final responses (status >= 200) have arrived, or the
/// read timeout passes; returns them (and interim ones).
pub fn read_responses(s: &mut TcpStream, count: usize, head_only: &[bool]) -> Vec<RawResponse> {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let (parsed, _) = parse_responses(&data, head_only);
        if parsed.iter().filter(|r| r.status >= 200).count() >= count {
            return parsed;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return parsed,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Deterministic pseudo-random bytes (for large bodies that must round-trip exactly).
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    while out.len() < len {
        let mut h = DefaultHasher::new();
        state.hash(&mut h);
        state = h.finish();
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads until the peer closes the connection (EOF or reset); `Err` when the stream's read
/// timeout passes first, i.e. the connection stayed open. Returns every byte received.
pub fn read_until_closed(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Ok(out)
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether the server closes `s` within `limit` (anything still arriving is discarded).
pub fn closes_within(s: &mut TcpStream, limit: Duration) -> bool {
    if s.set_read_timeout(Some(limit)).is_err() {
        return false;
    }
    read_until_closed(s).is_ok()
}

/// Reads from `s` into `data` until it holds at least `count` complete final responses (status
/// 200 or more) or the read timeout or EOF ends it; unlike [`read_responses`] the bytes are kept,
/// so the caller can check what followed them.
pub fn read_more_responses(
    s: &mut TcpStream,
    data: &mut Vec<u8>,
    count: usize,
    head_only: &[bool],
) -> (Vec<RawResponse>, Vec<u8>) {
    let mut buf = [0u8; 65536];
    loop {
        let (parsed, rest) = parse_responses(data, head_only);
        if parsed.iter().filter(|r| r.status >= 200).count() >= count {
            return (parsed, rest);
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return (parsed, rest),
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Waits until something accepts TCP connections at `addr`, up to `limit`.
pub fn wait_for_listener(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(25));
    }
    false
}

/// Connects to `addr` with the socket's receive buffer set to `bytes` before the handshake (so
/// the advertised window stays small): a client that can be made to stop reading for real.
pub fn connect_with_small_receive_buffer(addr: SocketAddr, bytes: usize) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else {
        panic!("connect_with_small_receive_buffer takes an IPv4 address, not {addr}");
    };
    // SAFETY: plain socket(2)/setsockopt(2)/connect(2) calls on a descriptor we own; the
    // sockaddr_in is fully initialised and outlives the call.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        // Wrap at once so the descriptor is closed on every path.
        let stream = TcpStream::from_raw_fd(fd);
        let size = libc::c_int::try_from(bytes).expect("buffer size fits c_int");
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = v4.port().to_be();
        sin.sin_addr = libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect {addr}: {}", std::io::Error::last_os_error());
        stream
    }
}

/// The request fixtures in `tests/requests/<kind>/` (`valid` or `invalid`): each `.http` file's
/// wire bytes and the text of its `.expected` file, in file-name order.
pub fn request_fixtures(kind: &str) -> Vec<(PathBuf, Vec<u8>, String)> {
    let dir = workspace_root().join("tests/requests").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read(&path).expect("read fixture");
            let expected = std::fs::read_to_string(path.with_extension("expected"))
                .unwrap_or_else(|e| panic!("{}: no .expected file ({e})", path.display()));
            (path, fixture_wire_bytes(&text), expected)
        })
        .collect()
}

/// A fixture's bytes on the wire, as the server's parser tests read them: every `\n` becomes
/// `\r\n` (fixtures stay readable), except after a line ending in `\`, which keeps a bare `\n`.
pub fn fixture_wire_bytes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            if out.last() == Some(&b'\\') {
                out.pop();
                out.push(b'\n');
            } else {
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(line);
    }
    out
}

/// The reason phrase of the first status line in `raw` (`Not Found` in `HTTP/1.1 404 Not Found`).
pub fn reason_phrase(raw: &[u8]) -> String {
    let end = find(raw, b"\r\n").unwrap_or(raw.len());
    let line = String::from_utf8_lossy(&raw[..end]).into_owned();
    line.splitn(3, ' ')
        .nth(2)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// What `find` finds, installing Debian's `package` first when it finds nothing (as `.ci/run`
/// does for CI); `Err` says why there is none, for the test to print as its reason to skip.
pub fn installed_or_install<T>(
    what: &str,
    package: &str,
    find: impl Fn() -> Option<T>,
) -> Result<T, String> {
    if let Some(found) = find() {
        return Ok(found);
    }
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "{what} is not installed and installing it needs root"
        ));
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    eprintln!("{what} is not installed: installing Debian's {package}");
    let mut out = apt(&["install", "-y", "-qq", package])?;
    if !out.status.success() {
        let _ = apt(&["update", "-qq"])?;
        out = apt(&["install", "-y", "-qq", package])?;
    }
    find().ok_or_else(|| {
        format!(
            "apt-get install {package} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pipelined_responses_of_every_framing() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\
HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx";
        let (resps, rest) = parse_responses(raw, &[false, false, true]);
        assert!(rest.is_empty());
        let bodies: Vec<&[u8]> = resps.iter().map(|r| r.body.as_slice()).collect();
        assert_eq!(bodies, vec![&b"hi"[..], b"abc", b"", b"x"]);
        assert_eq!(resps[3].status, 404);
    }

    #[test]
    fn incomplete_chunked_body_is_not_a_response() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab";
        let (resps, _) = parse_responses(raw, &[]);
        assert!(resps.is_empty());
    }

    #[test]
    fn curl_header_dump_keeps_only_the_final_block() {
        let dump = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-A: 1\r\n\r\n";
        let (status, line, headers) = parse_last_header_block(dump);
        assert_eq!(status, 201);
        assert_eq!(line, "HTTP/1.1 201 Created");
        assert_eq!(headers, vec![("X-A".to_string(), "1".to_string())]);
    }

    #[test]
    fn fixture_bytes_use_crlf_unless_a_line_ends_in_a_backslash() {
        assert_eq!(
            fixture_wire_bytes(b"GET / HTTP/1.1\nHost: x\\\n\n"),
            b"GET / HTTP/1.1\r\nHost: x\n\r\n"
        );
    }

    #[test]
    fn reason_phrase_is_the_rest_of_the_status_line() {
        assert_eq!(
            reason_phrase(b"HTTP/1.1 414 URI Too Long\r\nA: b\r\n\r\n"),
            "URI Too Long"
        );
        assert_eq!(reason_phrase(b"HTTP/1.1 200\r\n\r\n"), "");
    }

    #[test]
    fn pseudo_random_bytes_are_deterministic_and_varied() {
        let a = pseudo_random_bytes(1000, 7);
        assert_eq!(a, pseudo_random_bytes(1000, 7));
        assert_ne!(a, pseudo_random_bytes(1000, 8));
        let distinct: std::collections::HashSet<u8> = a.iter().copied().collect();
        assert!(distinct.len() > 200, "bytes should cover most values");
    }
}
