//! Owns the command line: every `portico` flag, declared once with its help and default.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::edge::access_log::Style;
use crate::edge::log_format::{LineFormat, DEFAULT_FORMAT};
use crate::edge::proxy::{ForwardedAllow, DEFAULT_ALLOW};
use crate::edge::tls::{CertReqs, TlsFiles};
use crate::http1::parse::Limits;

/// `--body-timeout`'s default: mod_reqtimeout's `body=20`.
pub const DEFAULT_BODY_TIMEOUT: u64 = 20;

/// `--body-min-rate`'s default: mod_reqtimeout's `MinRate=500`.
pub const DEFAULT_BODY_MIN_RATE: u64 = 500;

/// Default maximum number of open client connections. Each idle connection costs a socket and
/// two small buffers (a few KiB), so 10 000 stays well under a typical `ulimit -n` of 65 536
/// while being far above what one process serves with good latency.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Default number of requests allowed to wait while every app thread is busy. 1024 absorbs
/// bursts while bounding memory (each waiting request holds its connection's read window);
/// beyond it the server sheds load with 503 rather than queueing without end.
pub const DEFAULT_MAX_QUEUE: usize = 1024;

/// Default request body limit: 64 MiB, like a proxy's `client_max_body_size` set generously.
/// Bodies stream through a small window, so the limit protects the app, not the server's memory.
pub const DEFAULT_LIMIT_REQUEST_BODY: u64 = 64 * 1024 * 1024;

/// The most worker processes: far beyond any machine's useful count (gunicorn suggests 2-4 per
/// core), low enough that a typo cannot fork-bomb the host.
pub const MAX_WORKERS: u32 = 1024;

/// `portico [OPTIONS] APP_LIBRARY`: serve a gateway-api application library over HTTP/1.1.
#[derive(Parser, Debug, Clone)]
#[command(name = "portico", version, about, after_help = MANAGE_NOTE)]
pub struct Config {
    /// Path of the app library (.so / .dylib) exporting `portico_app_entry`.
    #[arg(value_name = "APP_LIBRARY")]
    pub app: PathBuf,

    /// Address to listen on: HOST[:PORT] (port 8000 when omitted), [::1]:PORT or unix:PATH;
    /// repeatable [default: 127.0.0.1:8000].
    #[arg(short = 'b', long = "bind", value_name = "ADDRESS", value_parser = parse_bind)]
    pub bind: Vec<Bind>,

    /// Worker processes, as gunicorn's --workers: each loads the app itself and serves with its
    /// own event loops and --threads, all on the same listening sockets, under a master that
    /// does no request work and replaces a worker that dies. Signals to the master: TERM/INT
    /// drain and exit, QUIT exits at once, HUP reloads the app without dropping a request,
    /// TTIN/TTOU add/remove a worker, USR1 reopens the access log.
    #[arg(short = 'w', long, env = "WEB_CONCURRENCY", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=MAX_WORKERS as i64))]
    pub workers: u32,

    /// How many requests may run app code at once in each worker, as gunicorn's --threads
    /// [default: 2 x available cores]. Requests run on the event loop that read them (one loop
    /// per core, at most this many); a call still running after about a millisecond hands its
    /// loop to a spare thread, so a slow view never stalls the other connections. Requests
    /// beyond this many wait (--max-queue).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: Option<u32>,

    /// Settings file handed to the app's create (empty when not given).
    #[arg(long, value_name = "PATH")]
    pub settings: Option<PathBuf>,

    /// Seconds an idle keep-alive connection is kept open (0: no keep-alive).
    #[arg(long = "keep-alive", value_name = "SECS", default_value_t = 2)]
    pub keep_alive: u64,

    /// Seconds a client has to send a whole request head; each request's deadline; and, as
    /// gunicorn's worker timeout, how long a handler may run app code without returning or
    /// sending part of its response before its worker is replaced (its other requests finish
    /// first), and how long a worker may take to start (0: none of these).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,

    /// Seconds a request body (or a response the client is slow to take) may take before
    /// --body-min-rate applies, as mod_reqtimeout's `body=`.
    #[arg(long = "body-timeout", value_name = "SECS", default_value_t = DEFAULT_BODY_TIMEOUT)]
    pub body_timeout: u64,

    /// Bytes a second a client must average, past --body-timeout, sending a request body or
    /// taking a response a handler waits on; each such bytes buy a second more (0: no minimum).
    /// A client behind it gets 408 (or, taking a response, is closed).
    #[arg(long = "body-min-rate", value_name = "BYTES", default_value_t = DEFAULT_BODY_MIN_RATE)]
    pub body_min_rate: u64,

    /// Serve Prometheus metrics (GET /metrics) on HOST:PORT from the master, on a listener of
    /// its own, summed over every worker [default: none].
    #[arg(long = "metrics-bind", value_name = "HOST:PORT")]
    pub metrics_bind: Option<std::net::SocketAddr>,

    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT, and in a worker being
    /// replaced (HUP, --max-requests, TTOU, a stuck handler).
    #[arg(long = "graceful-timeout", value_name = "SECS", default_value_t = 30)]
    pub graceful_timeout: u64,

    /// Requests a worker serves before it is replaced (a defence against leaks in apps);
    /// 0: never.
    #[arg(long = "max-requests", value_name = "N", default_value_t = 0)]
    pub max_requests: u64,

    /// Up to this many more requests, chosen at random per worker, so workers are not all
    /// replaced at once.
    #[arg(long = "max-requests-jitter", value_name = "N", default_value_t = 0)]
    pub max_requests_jitter: u64,

    /// Reload (as on HUP) when the app library or the --settings file changes: for
    /// development.
    #[arg(long)]
    pub reload: bool,

    /// Write the master's process id to this file (removed at exit).
    #[arg(short = 'p', long = "pid", value_name = "PATH")]
    pub pid: Option<PathBuf>,

    /// Trusted proxies, whose X-Forwarded-For and X-Forwarded-Proto set the client address and
    /// scheme the app sees (X-Forwarded-Host never sets the Host, as in gunicorn):
    /// comma-separated addresses or networks, or `*` for any. Unix-socket peers are always trusted.
    #[arg(long = "forwarded-allow-ips", value_name = "LIST", env = "FORWARDED_ALLOW_IPS",
          default_value = DEFAULT_ALLOW, value_parser = ForwardedAllow::parse)]
    pub forwarded_allow_ips: ForwardedAllow,

    /// Expect the PROXY protocol (v1 or v2, as HAProxy's send-proxy / send-proxy-v2 and AWS
    /// NLB send it) at the start of every connection: its client address becomes the one the
    /// app and the access log see. A connection without one, or from a peer not in
    /// --proxy-allow-from, is closed.
    #[arg(long = "proxy-protocol")]
    pub proxy_protocol: bool,

    /// Peers allowed to send a PROXY protocol header: comma-separated addresses or networks,
    /// or `*` for any. Unix-socket peers are always allowed.
    #[arg(long = "proxy-allow-from", value_name = "LIST", default_value = DEFAULT_ALLOW,
          value_parser = ForwardedAllow::parse)]
    pub proxy_allow_from: ForwardedAllow,

    /// Listen backlog: connections the kernel queues before accept.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub backlog: u32,

    /// Maximum open client connections of each worker. At the limit, idle connections are closed
    /// oldest first (kept-alive ones between requests, and ones that sent nothing for a short
    /// while) to make room; only when none is idle do new clients wait in the backlog.
    #[arg(long = "max-connections", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = positive_usize)]
    pub max_connections: usize,

    /// Requests allowed to wait in each worker while all its app threads (--threads) are busy;
    /// beyond it: 503 with Retry-After.
    #[arg(long = "max-queue", default_value_t = DEFAULT_MAX_QUEUE, value_parser = positive_usize)]
    pub max_queue: usize,

    /// Maximum bytes of the request line (414 beyond).
    #[arg(long = "limit-request-line", default_value_t = Limits::GUNICORN.request_line, value_parser = positive_usize)]
    pub limit_request_line: usize,

    /// Maximum number of request header fields (431 beyond).
    #[arg(long = "limit-request-fields", default_value_t = Limits::GUNICORN.fields, value_parser = positive_usize)]
    pub limit_request_fields: usize,

    /// Maximum bytes of one request header field (431 beyond).
    #[arg(long = "limit-request-field-size", default_value_t = Limits::GUNICORN.field_size, value_parser = positive_usize)]
    pub limit_request_field_size: usize,

    /// Maximum request body bytes (413 beyond); 0 = unlimited.
    #[arg(long = "limit-request-body", value_name = "BYTES", default_value_t = DEFAULT_LIMIT_REQUEST_BODY)]
    pub limit_request_body: u64,

    /// Access log file, `-` for stdout [default: none].
    #[arg(long = "access-logfile", value_name = "PATH|-")]
    pub access_logfile: Option<String>,

    /// Access log line format, with gunicorn's atoms: h l u t r m U q H s B b f a T M D L p
    /// and %({header}i)s.
    #[arg(long = "access-logformat", value_name = "FORMAT", default_value = DEFAULT_FORMAT,
          value_parser = LineFormat::parse)]
    pub access_logformat: LineFormat,

    /// Write the access log as one JSON object per line (for log shippers) instead of
    /// --access-logformat.
    #[arg(long = "access-log-json")]
    pub access_log_json: bool,

    /// Log level, gunicorn's names (debug, info, warning, error, critical) or trace, warn, off;
    /// RUST_LOG wins when set.
    #[arg(long = "log-level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Load the app, call its create with the settings, print the result and exit 0 or 1.
    #[arg(long = "check-config")]
    pub check_config: bool,

    /// TLS: serve HTTPS on every TCP address with this certificate chain (PEM, leaf first),
    /// as gunicorn's --certfile. Read at start-up (a bad file stops the server, naming it) and
    /// again at each reload (a bad one keeps the running workers). ALPN offers http/1.1. Unix
    /// sockets stay plain.
    #[arg(long, value_name = "FILE", conflicts_with = "proxy_protocol")]
    pub certfile: Option<PathBuf>,

    /// TLS: the certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1) [default: the
    /// --certfile file].
    #[arg(long, value_name = "FILE", requires = "certfile")]
    pub keyfile: Option<PathBuf>,

    /// TLS: the CA certificates (PEM) client certificates must chain to (--cert-reqs 1, 2).
    #[arg(long = "ca-certs", value_name = "FILE", requires = "certfile")]
    pub ca_certs: Option<PathBuf>,

    /// TLS: whether clients must present a certificate, gunicorn's numbers: 0 not asked, 1
    /// optional (checked when given), 2 required (mutual TLS). The app sees the subject as
    /// SSL_CLIENT_S_DN.
    #[arg(long = "cert-reqs", value_name = "0|1|2", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=2), requires = "certfile")]
    pub cert_reqs: u8,

    /// TLS: sessions each worker keeps for resumption (nginx's ssl_session_cache; rustls's
    /// stateful cache, no ticket keys); 0: off, every connection a full handshake.
    #[arg(
        long = "tls-session-cache",
        value_name = "N",
        default_value_t = 256,
        requires = "certfile"
    )]
    pub tls_session_cache: usize,
}

/// The line `portico --help` ends with: the other way to run the binary.
const MANAGE_NOTE: &str =
    "Management commands (django-admin's role): portico manage [--settings PATH] \
                           APP_LIBRARY COMMAND [ARGS...]; see portico manage --help.";

/// `portico manage [--settings PATH] APP_LIBRARY COMMAND [ARGS...]`: django-admin's role. The
/// library is loaded as the server loads it (the same checks and refusals) and one of the app's
/// management commands runs in this process, through the ABI's `manage` entry (1.1), on this
/// process's stdin, stdout and stderr; `portico manage` exits with the command's status.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "portico manage",
    bin_name = "portico manage",
    version,
    about = "Run one of an app's management commands (django-admin's role): \
             `portico manage APP_LIBRARY help` lists them.",
    long_about = "Run one of an app's management commands, as django-admin does: the library is \
                  loaded as the server loads it, the app builds itself from --settings, and the \
                  command runs in this process on its stdin, stdout and stderr. The exit status \
                  is the command's. `portico manage APP_LIBRARY help` lists the commands, \
                  `portico manage APP_LIBRARY help COMMAND` (or `COMMAND --help`) shows one's \
                  arguments. An app built against gateway ABI 1.0, or without a `manage` entry, \
                  has no commands."
)]
pub struct ManageArgs {
    /// Settings file the app builds itself from, as for serving (empty when not given); as
    /// django-admin's --settings it may also stand among the command's arguments.
    #[arg(long, value_name = "PATH")]
    pub settings: Option<PathBuf>,

    /// Most verbose level of the log records printed on stderr (the app's, through the host's
    /// logging callback): trace, debug, info, warning, error, critical or off; RUST_LOG wins
    /// when set.
    #[arg(long = "log-level", value_enum, default_value_t = LogLevel::Warning,
          hide_possible_values = true)]
    pub log_level: LogLevel,

    /// Path of the app library (.so / .dylib) exporting `portico_app_entry`.
    #[arg(value_name = "APP_LIBRARY")]
    pub app: PathBuf,

    /// The command (`help` when none is given) and its arguments, handed to the app as typed.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// The port an address without one gets, as in gunicorn (`-b 127.0.0.1` is 127.0.0.1:8000).
pub const DEFAULT_PORT: u16 = 8000;

/// `--log-level`: gunicorn's level names, plus the `log` crate's `trace`, `warn` and `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogLevel {
    /// Everything, including per-byte detail.
    Trace,
    /// Diagnostics for developers.
    Debug,
    /// Start-up, shutdown and refused requests (the default).
    Info,
    /// Problems the server recovered from.
    #[value(alias = "warn")]
    Warning,
    /// Failures.
    Error,
    /// gunicorn's highest level; `log` has nothing above error, so the same as error.
    Critical,
    /// Nothing.
    Off,
}

impl LogLevel {
    /// The `log` filter this level means.
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Trace => log::LevelFilter::Trace,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Warning => log::LevelFilter::Warn,
            LogLevel::Error | LogLevel::Critical => log::LevelFilter::Error,
            LogLevel::Off => log::LevelFilter::Off,
        }
    }
}

/// One listening address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// A TCP address.
    Tcp(std::net::SocketAddr),
    /// A unix-domain socket path.
    Unix(PathBuf),
}

impl std::fmt::Display for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bind::Tcp(addr) => write!(f, "http://{addr}"),
            Bind::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Parses a `--bind` value the way gunicorn does: `unix:PATH`, `HOST:PORT`, `[V6]:PORT`, an
/// optional `tcp://` prefix, and a host without a port on [`DEFAULT_PORT`] (`127.0.0.1`,
/// `localhost`, `[::1]`, or a bare `::1`).
fn parse_bind(text: &str) -> Result<Bind, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("unix: needs a socket path".into());
        }
        return Ok(Bind::Unix(PathBuf::from(path)));
    }
    let address = text.strip_prefix("tcp://").unwrap_or(text);
    if let Ok(addr) = address.parse::<std::net::SocketAddr>() {
        return Ok(Bind::Tcp(addr));
    }
    if let Ok(ip) = address.parse::<std::net::IpAddr>() {
        return Ok(Bind::Tcp(std::net::SocketAddr::new(ip, DEFAULT_PORT)));
    }
    let bad = || format!("`{text}` is not HOST, HOST:PORT, [::1]:PORT or unix:PATH");
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match address.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    let port: u16 = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse()
            .map_err(|_| format!("`{port}` is not a port number (0-65535)"))?,
    };
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    use std::net::ToSocketAddrs;
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .next()
        .map(Bind::Tcp)
        .ok_or_else(|| format!("`{host}` resolves to no address"))
}

fn positive_usize(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a positive integer")),
    }
}

impl Config {
    /// The listening addresses, with the default when none was given.
    pub fn binds(&self) -> Vec<Bind> {
        if self.bind.is_empty() {
            vec![Bind::Tcp(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                DEFAULT_PORT,
            )))]
        } else {
            self.bind.clone()
        }
    }

    /// Worker thread count: the flag, else 2 x available cores (like gunicorn's advice of
    /// 2-4 x cores for threads, since app threads block on I/O).
    pub fn thread_count(&self) -> usize {
        match self.threads {
            Some(n) => n as usize,
            None => 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Event loops: one per core this process may run on, at most one per app thread.
    pub fn loop_count(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.min(self.thread_count()).max(1)
    }

    /// `--keep-alive` as a duration.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.keep_alive)
    }

    /// `--timeout` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// `--graceful-timeout` as a duration.
    pub fn graceful_timeout(&self) -> Duration {
        Duration::from_secs(self.graceful_timeout)
    }

    /// The body limit, `None` when unlimited.
    pub fn body_limit(&self) -> Option<u64> {
        (self.limit_request_body != 0).then_some(self.limit_request_body)
    }

    /// The TLS flags' files, with `--certfile` (the key in the certificate file when
    /// `--keyfile` is not given, as gunicorn reads them).
    pub fn tls_files(&self) -> Option<TlsFiles> {
        let certfile = self.certfile.clone()?;
        Some(TlsFiles {
            keyfile: self.keyfile.clone().unwrap_or_else(|| certfile.clone()),
            certfile,
            ca_certs: self.ca_certs.clone(),
            cert_reqs: CertReqs::from_number(self.cert_reqs).unwrap_or_default(),
            session_cache: self.tls_session_cache,
        })
    }

    /// How access-log lines are written.
    pub fn access_log_style(&self) -> Style {
        if self.access_log_json {
            Style::Json
        } else {
            Style::Text(self.access_logformat.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_gunicorn() {
        let c = Config::try_parse_from(["portico", "app.so"]).unwrap();
        assert_eq!(
            c.binds(),
            vec![Bind::Tcp("127.0.0.1:8000".parse().unwrap())]
        );
        assert_eq!(c.keep_alive, 2);
        assert_eq!(c.timeout, 30);
        assert_eq!(c.limit_request_line, 4094);
        assert_eq!(c.limit_request_fields, 100);
        assert_eq!(c.limit_request_field_size, 8190);
        assert_eq!(c.backlog, 2048);
        assert!(c.thread_count() >= 2);
        assert_eq!(c.graceful_timeout, 30);
        assert_eq!((c.max_requests, c.max_requests_jitter), (0, 0));
        assert_eq!(c.forwarded_allow_ips, ForwardedAllow::default());
        assert_eq!(c.access_log_style(), Style::default());
        if std::env::var_os("WEB_CONCURRENCY").is_none() {
            assert_eq!(c.workers, 1, "gunicorn's default: one worker");
        }
    }

    #[test]
    fn binds_parse_every_form() {
        let c = Config::try_parse_from([
            "portico",
            "-b",
            "127.0.0.1:9",
            "--bind",
            "[::1]:10",
            "-b",
            "unix:/tmp/x.sock",
            "a.so",
        ])
        .unwrap();
        assert_eq!(
            c.binds(),
            vec![
                Bind::Tcp("127.0.0.1:9".parse().unwrap()),
                Bind::Tcp("[::1]:10".parse().unwrap()),
                Bind::Unix("/tmp/x.sock".into())
            ]
        );
        assert!(matches!(parse_bind("localhost:80"), Ok(Bind::Tcp(_))));
    }

    #[test]
    fn an_address_without_a_port_gets_8000_as_in_gunicorn() {
        let tcp = |text: &str| match parse_bind(text) {
            Ok(Bind::Tcp(addr)) => addr,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(tcp("127.0.0.1"), "127.0.0.1:8000".parse().unwrap());
        assert_eq!(tcp("[::1]"), "[::1]:8000".parse().unwrap());
        assert_eq!(tcp("::1"), "[::1]:8000".parse().unwrap());
        assert_eq!(tcp("tcp://127.0.0.1:9"), "127.0.0.1:9".parse().unwrap());
        assert_eq!(tcp("localhost").port(), 8000);
        assert_eq!(tcp(":7000"), "0.0.0.0:7000".parse().unwrap());
        assert!(parse_bind("127.0.0.1:").is_err());
        assert!(parse_bind("[::1]x").is_err());
        assert!(parse_bind("[::1:80").is_err());
    }

    #[test]
    fn log_levels_take_gunicorns_names() {
        let level = |name: &str| {
            Config::try_parse_from(["portico", "--log-level", name, "a.so"])
                .map(|c| c.log_level.filter())
                .map_err(|e| e.to_string())
        };
        use log::LevelFilter as F;
        for (name, filter) in [
            ("debug", F::Debug),
            ("info", F::Info),
            ("warning", F::Warn),
            ("error", F::Error),
            ("critical", F::Error),
            ("warn", F::Warn),
            ("trace", F::Trace),
            ("off", F::Off),
        ] {
            assert_eq!(level(name), Ok(filter), "{name}");
        }
        assert_eq!(
            Config::try_parse_from(["portico", "a.so"])
                .unwrap()
                .log_level,
            LogLevel::Info
        );
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Config::try_parse_from(["portico", "-b", "nope", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "-b", "1.2.3.4:99999", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "--threads", "0", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "--log-level", "loud", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "--max-queue", "0", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "--workers", "0", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico", "--workers", "1025", "a.so"]).is_err());
        assert!(Config::try_parse_from(["portico"]).is_err());
    }

    #[test]
    fn tls_flags_take_gunicorns_names_and_the_key_defaults_to_the_certificate_file() {
        let parse = |args: &[&str]| {
            Config::try_parse_from(["portico"].iter().chain(args).chain(&["a.so"]))
                .map_err(|e| e.to_string())
        };
        let c = parse(&[]).unwrap();
        assert_eq!(c.tls_files(), None, "no --certfile: plain HTTP");
        let files = parse(&["--certfile", "both.pem"])
            .unwrap()
            .tls_files()
            .unwrap();
        assert_eq!(files.keyfile, PathBuf::from("both.pem"));
        assert_eq!(files.cert_reqs, CertReqs::None);
        let c = parse(&[
            "--certfile",
            "c.pem",
            "--keyfile",
            "k.pem",
            "--ca-certs",
            "ca.pem",
            "--cert-reqs",
            "2",
        ])
        .unwrap();
        let files = c.tls_files().unwrap();
        assert_eq!(
            (files.keyfile, files.ca_certs, files.cert_reqs),
            (
                PathBuf::from("k.pem"),
                Some(PathBuf::from("ca.pem")),
                CertReqs::Required
            )
        );
        assert!(parse(&["--certfile", "c.pem", "--cert-reqs", "3"]).is_err());
        assert!(
            parse(&["--keyfile", "k.pem"]).is_err(),
            "a key without a certificate"
        );
        assert!(parse(&["--certfile", "c.pem", "--proxy-protocol"]).is_err());
    }

    #[test]
    fn operations_flags_name_the_bad_value() {
        let err = |args: &[&str]| {
            let mut all = vec!["portico"];
            all.extend_from_slice(args);
            all.push("a.so");
            Config::try_parse_from(all).unwrap_err().to_string()
        };
        let e = err(&["--forwarded-allow-ips", "10.0.0.1,nope"]);
        assert!(
            e.contains("--forwarded-allow-ips") && e.contains("`nope`"),
            "{e}"
        );
        let e = err(&["--access-logformat", "%(h)s %(x)s"]);
        assert!(
            e.contains("--access-logformat") && e.contains("%(x)s"),
            "{e}"
        );
        let c = Config::try_parse_from([
            "portico",
            "-w",
            "3",
            "--max-requests",
            "100",
            "--max-requests-jitter",
            "10",
            "--reload",
            "--pid",
            "/run/p.pid",
            "--forwarded-allow-ips",
            "*",
            "--access-log-json",
            "a.so",
        ])
        .unwrap();
        assert_eq!(c.workers, 3);
        assert!(c.reload && c.pid.is_some() && c.access_log_json);
        assert_eq!(c.access_log_style(), Style::Json);
        assert!(c.forwarded_allow_ips.trusts("8.8.8.8".parse().unwrap()));
    }
}
