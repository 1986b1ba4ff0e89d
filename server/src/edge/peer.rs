//! Owns what a connection says about its two ends: the client's and the local address as text,
//! formatted once at accept and kept inline, so an idle connection holds no heap strings.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// Longest IP address text: an IPv6 address with an embedded IPv4 one.
const ADDR_TEXT_MAX: usize = 46;

/// An IP address as text, stored inline.
#[derive(Clone, Copy)]
pub struct AddrText {
    len: u8,
    bytes: [u8; ADDR_TEXT_MAX],
}

impl AddrText {
    /// No address (a unix-socket peer).
    pub const EMPTY: AddrText = AddrText {
        len: 0,
        bytes: [0; ADDR_TEXT_MAX],
    };

    /// The text of `ip`.
    pub fn of(ip: std::net::IpAddr) -> AddrText {
        struct Inline(AddrText);
        impl std::fmt::Write for Inline {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                let at = usize::from(self.0.len);
                let end = at + s.len();
                if end > ADDR_TEXT_MAX {
                    return Err(std::fmt::Error);
                }
                self.0.bytes[at..end].copy_from_slice(s.as_bytes());
                self.0.len = end as u8;
                Ok(())
            }
        }
        let mut out = Inline(AddrText::EMPTY);
        // An IpAddr's text always fits; on the impossible failure the address is left empty.
        if write!(out, "{ip}").is_err() {
            return AddrText::EMPTY;
        }
        out.0
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: only ever filled from whole `str`s (see `of`), so the bytes are UTF-8; this
        // runs for every request, where validating again would be pure cost.
        unsafe { std::str::from_utf8_unchecked(&self.bytes[..usize::from(self.len)]) }
    }
}

impl std::fmt::Debug for AddrText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The local end: an IP address, or the path of a unix socket (shared by its listener).
#[derive(Clone, Debug)]
pub enum Local {
    /// A TCP connection's local address.
    Ip(AddrText, u16),
    /// A unix-domain socket's path.
    Path(Arc<str>),
}

/// Both ends of a connection.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's IP address (empty for a unix-socket peer).
    pub remote: AddrText,
    /// The client's port (0 for a unix-socket peer).
    pub remote_port: u16,
    /// Where the connection came in.
    pub local: Local,
}

impl Peer {
    /// A TCP connection between `remote` and `local`.
    pub fn tcp(remote: SocketAddr, local: Option<SocketAddr>) -> Peer {
        Peer {
            remote: AddrText::of(remote.ip()),
            remote_port: remote.port(),
            local: match local {
                Some(a) => Local::Ip(AddrText::of(a.ip()), a.port()),
                None => Local::Ip(AddrText::EMPTY, 0),
            },
        }
    }

    /// A connection on the unix socket at `path`.
    pub fn unix(path: Arc<str>) -> Peer {
        Peer {
            remote: AddrText::EMPTY,
            remote_port: 0,
            local: Local::Path(path),
        }
    }

    /// The client's address for log lines: `-` on a unix socket.
    pub fn client(&self) -> &str {
        match self.remote.as_str() {
            "" => "-",
            text => text,
        }
    }

    /// The local address as the app sees it (`SERVER_NAME`-like: the IP, or the socket path).
    pub fn server_addr(&self) -> &str {
        match &self.local {
            Local::Ip(ip, _) => ip.as_str(),
            Local::Path(path) => path,
        }
    }

    /// The local port (0 on a unix socket).
    pub fn server_port(&self) -> u16 {
        match &self.local {
            Local::Ip(_, port) => *port,
            Local::Path(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_formatted_inline() {
        let v4: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let v6: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:1"
            .parse()
            .unwrap();
        let p = Peer::tcp(v6, Some(v4));
        assert_eq!(p.remote.as_str(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assert_eq!((p.server_addr(), p.server_port()), ("127.0.0.1", 5000));
        let u = Peer::unix(Arc::from("/tmp/s.sock"));
        assert_eq!(
            (u.client(), u.server_addr(), u.server_port()),
            ("-", "/tmp/s.sock", 0)
        );
        let mapped: std::net::IpAddr = "::ffff:192.168.100.200".parse().unwrap();
        assert_eq!(AddrText::of(mapped).as_str(), "::ffff:192.168.100.200");
    }
}
