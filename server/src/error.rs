//! Owns the server's startup error type: what can stop `portico` before it serves.

use std::fmt;
use std::path::PathBuf;

/// A failure that stops the server from starting.
#[derive(Debug)]
pub enum ServerError {
    /// The app library could not be loaded or is not a compatible app.
    Load {
        /// The library path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The app's create returned an error.
    Create {
        /// The library path.
        path: PathBuf,
        /// The app's name.
        app: String,
        /// The app's message.
        message: String,
    },
    /// `portico manage` on an app without management commands (a 1.0 table, a NULL entry).
    NoCommands {
        /// The library path.
        path: PathBuf,
        /// The app's name.
        app: String,
        /// Why: what its table lacks.
        why: String,
    },
    /// `portico manage`: the app could not start for the command (its message names the
    /// settings file, line and problem).
    Manage {
        /// The library path.
        path: PathBuf,
        /// The app's name.
        app: String,
        /// The app's message.
        message: String,
    },
    /// A listening socket could not be opened.
    Bind {
        /// The address, as given.
        address: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The pid file cannot be written, or names a running process.
    PidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A worker could not start the app at start-up: its message (which names the library
    /// and the problem).
    Boot {
        /// The worker's error.
        message: String,
    },
    /// The TLS files are missing, unreadable or unusable (the error names the file).
    Tls(crate::edge::tls::TlsError),
    /// Another I/O failure (poller, waker, log file, threads).
    Io {
        /// What the server was doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ServerError {
    /// Wraps an I/O error with what the server was doing.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> ServerError {
        ServerError::Io {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Load { path, problem } => {
                write!(f, "cannot load app {}: {problem}", path.display())
            }
            ServerError::Create { path, app, message } => write!(
                f,
                "cannot start app {} ({app}): create failed: {message}",
                path.display()
            ),
            ServerError::NoCommands { path, app, why } => write!(
                f,
                "app {} ({app}) has no management commands: {why}",
                path.display()
            ),
            ServerError::Manage { path, app, message } => write!(
                f,
                "cannot start app {} ({app}) for a management command: {message}",
                path.display()
            ),
            ServerError::Bind { address, source } => {
                write!(f, "cannot listen on {address}: {source}")
            }
            ServerError::PidFile { path, problem } => {
                write!(f, "pid file {}: {problem}", path.display())
            }
            ServerError::Boot { message } => f.write_str(message),
            ServerError::Tls(e) => e.fmt(f),
            ServerError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_errors_name_the_path_and_problem() {
        let e = ServerError::Load {
            path: "/x/y.so".into(),
            problem: "no such file".into(),
        };
        assert_eq!(e.to_string(), "cannot load app /x/y.so: no such file");
        let e = ServerError::Create {
            path: "/x/y.so".into(),
            app: "y".into(),
            message: "settings.toml line 3: bad key".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot start app /x/y.so (y): create failed: settings.toml line 3: bad key"
        );
        let e = ServerError::NoCommands {
            path: "/x/y.so".into(),
            app: "y".into(),
            why: "its table's `manage` entry is NULL".into(),
        };
        assert_eq!(
            e.to_string(),
            "app /x/y.so (y) has no management commands: its table's `manage` entry is NULL"
        );
        let e = ServerError::Manage {
            path: "/x/y.so".into(),
            app: "y".into(),
            message: "s.toml:3: bad key".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot start app /x/y.so (y) for a management command: s.toml:3: bad key"
        );
    }
}
