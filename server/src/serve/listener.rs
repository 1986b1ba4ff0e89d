//! Owns the listening sockets: binding every `--bind` address (TCP with `SO_REUSEADDR`, IPv6
//! only on v6 addresses; unix sockets replacing a stale socket file) or adopting the ones systemd
//! passed (socket activation), and accepting clients with what the app will be told about both
//! ends. The master opens them and every worker inherits them: the kernel hands each new
//! connection to one worker, and a worker that stops accepting leaves the socket open for the
//! others (only the master removes a unix socket's file, at exit).

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Bind, Config};
use crate::edge::peer::Peer;
use crate::error::ServerError;
use crate::serve::io::Stream;

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(mio::net::TcpListener),
    /// Unix domain, with its path as the app sees it, and whether closing it removes the
    /// socket file (the process that bound it, at its exit; not a worker, not systemd's).
    Unix(mio::net::UnixListener, PathBuf, Arc<str>, bool),
}

impl Listener {
    /// Opens every address of the configuration, with the configured backlog.
    pub fn bind_all(config: &Config) -> Result<Vec<Listener>, ServerError> {
        config
            .binds()
            .into_iter()
            .map(|b| Listener::bind(&b, config.backlog as i32))
            .collect()
    }

    fn bind(bind: &Bind, backlog: i32) -> Result<Listener, ServerError> {
        use socket2::{Domain, SockAddr, Socket, Type};
        let err = |source: io::Error| ServerError::Bind {
            address: bind.to_string(),
            source,
        };
        match bind {
            Bind::Tcp(addr) => {
                let socket =
                    Socket::new(Domain::for_address(*addr), Type::STREAM, None).map_err(err)?;
                socket.set_reuse_address(true).map_err(err)?;
                if addr.is_ipv6() {
                    socket.set_only_v6(true).map_err(err)?;
                }
                socket.bind(&SockAddr::from(*addr)).map_err(err)?;
                socket.listen(backlog).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                Ok(Listener::Tcp(mio::net::TcpListener::from_std(
                    socket.into(),
                )))
            }
            Bind::Unix(path) => {
                // A socket file left by a previous run would make bind fail; remove only sockets.
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        let _ = std::fs::remove_file(path);
                    }
                }
                let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(err)?;
                socket
                    .bind(&SockAddr::unix(path).map_err(err)?)
                    .map_err(err)?;
                socket.listen(backlog).map_err(err)?;
                socket.set_nonblocking(true).map_err(err)?;
                let std_listener: std::os::unix::net::UnixListener = socket.into();
                let shown: Arc<str> = Arc::from(path.display().to_string());
                Ok(Listener::Unix(
                    mio::net::UnixListener::from_std(std_listener),
                    path.clone(),
                    shown,
                    true,
                ))
            }
        }
    }

    /// The address actually bound, for the startup log line.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "tcp".into(), |a| format!("http://{a}")),
            Listener::Unix(_, p, _, _) => format!("unix:{}", p.display()),
        }
    }

    /// [`Listener::describe`], with `https://` for a TCP address when the server speaks TLS.
    pub fn describe_as(&self, tls: bool) -> String {
        match self {
            Listener::Tcp(l) if tls => l
                .local_addr()
                .map_or_else(|_| "tcp".into(), |a| format!("https://{a}")),
            _ => self.describe(),
        }
    }

    /// Accepts one client (non-blocking).
    pub fn accept(&self) -> io::Result<(Stream, Peer)> {
        match self {
            Listener::Tcp(l) => {
                let (s, remote) = l.accept()?;
                let _ = s.set_nodelay(true);
                let local = s.local_addr().ok();
                Ok((Stream::Tcp(s), Peer::tcp(remote, local)))
            }
            Listener::Unix(l, _, shown, _) => {
                let (s, _) = l.accept()?;
                Ok((Stream::Unix(s), Peer::unix(Arc::clone(shown))))
            }
        }
    }

    /// The socket, for (de)registration.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix(l, _, _, _) => l,
        }
    }

    /// Stops listening; a unix socket's file is removed if this process owns it.
    pub fn close(mut self, registry: &mio::Registry) {
        let _ = registry.deregister(self.source());
        self.unlink();
    }

    /// Makes this a worker's copy of the master's socket: closing it leaves the file alone.
    pub fn share(&mut self) {
        if let Listener::Unix(_, _, _, owned) = self {
            *owned = false;
        }
    }

    /// Removes a unix socket's file, if this process owns it.
    pub fn unlink(&self) {
        if let Listener::Unix(_, path, _, true) = self {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Adopts a listening socket this process inherited (systemd socket activation): TCP or
    /// unix, whichever it is; its file, if any, is systemd's.
    pub fn inherited(fd: std::os::fd::RawFd) -> Result<Listener, ServerError> {
        use std::os::fd::FromRawFd;
        let err = |source: io::Error| ServerError::Bind {
            address: format!("inherited socket {fd}"),
            source,
        };
        // SAFETY: socket activation hands this process descriptors 3.. for it to own.
        let socket = unsafe { socket2::Socket::from_raw_fd(fd) };
        let local = socket.local_addr().map_err(err)?;
        socket.set_nonblocking(true).map_err(err)?;
        if let Some(addr) = local.as_socket() {
            let _ = addr;
            let std_listener: std::net::TcpListener = socket.into();
            return Ok(Listener::Tcp(mio::net::TcpListener::from_std(std_listener)));
        }
        let path = local
            .as_pathname()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("inherited-socket-{fd}")));
        let std_listener: std::os::unix::net::UnixListener = socket.into();
        let shown: Arc<str> = Arc::from(path.display().to_string());
        Ok(Listener::Unix(
            mio::net::UnixListener::from_std(std_listener),
            path,
            shown,
            false,
        ))
    }
}
