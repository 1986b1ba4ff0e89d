//! Owns proxy awareness: which peers are trusted proxies (`--forwarded-allow-ips`, gunicorn's
//! flag and default, `127.0.0.1`; `*` trusts every peer; unix-socket peers are trusted, as
//! gunicorn treats them), and what a trusted proxy's `X-Forwarded-For` and `X-Forwarded-Proto`
//! make of the request: the client address and the scheme the app sees (and the access log
//! shows). From any other peer those headers are passed to the app as they are and change
//! nothing. `X-Forwarded-Host` never changes the Host, from any peer, as in gunicorn: it reaches
//! the app as `HTTP_X_FORWARDED_HOST`, which Django reads only with `USE_X_FORWARDED_HOST`
//! (a proxy may pass a client's own header through: Host-header poisoning).
//!
//! `X-Forwarded-For` is read from the right, the way a chain of proxies appends to it: entries
//! that are themselves trusted proxies are skipped, and the first untrusted one is the client
//! (all trusted: the leftmost). So a client cannot pose as another address by sending the
//! header itself: its fake entry sits left of the one the proxy appended. `X-Forwarded-Proto`
//! is set (not appended) by a proxy in front; of a list, the first value is the client-facing
//! one (as Django reads `SECURE_PROXY_SSL_HEADER`).

use std::net::IpAddr;
use std::ops::Range;

use crate::edge::peer::{AddrText, Local, Peer};
use crate::http1::parse::Head;

/// gunicorn's default `forwarded_allow_ips`.
pub const DEFAULT_ALLOW: &str = "127.0.0.1";

/// The peers whose `X-Forwarded-*` headers are believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedAllow {
    any: bool,
    /// Networks: an address and its prefix length.
    nets: Vec<(IpAddr, u8)>,
}

impl ForwardedAllow {
    /// Parses gunicorn's syntax: `*`, or a comma-separated list of addresses and networks
    /// (`127.0.0.1,10.0.0.0/8,::1`); an empty list trusts no TCP peer.
    pub fn parse(text: &str) -> Result<ForwardedAllow, String> {
        let mut allow = ForwardedAllow {
            any: false,
            nets: Vec::new(),
        };
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "*" {
                allow.any = true;
                continue;
            }
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| {
                format!("`{item}` is not an IP address, a network (a.b.c.d/n) or *")
            })?;
            let ip = canonical(ip);
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|&p| p <= max)
                    .ok_or_else(|| format!("`{item}`: the prefix length must be 0 to {max}"))?,
            };
            allow.nets.push((ip, prefix));
        }
        Ok(allow)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        if self.any {
            return true;
        }
        let ip = canonical(ip);
        self.nets
            .iter()
            .any(|&(net, prefix)| in_net(ip, net, prefix))
    }

    /// Whether this connection's peer is a trusted proxy (a unix-socket peer always is).
    pub fn trusts_peer(&self, peer: &Peer) -> bool {
        if matches!(peer.local, Local::Path(_)) {
            return true;
        }
        self.any
            || peer
                .remote
                .as_str()
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.trusts(ip))
    }
}

impl Default for ForwardedAllow {
    fn default() -> ForwardedAllow {
        ForwardedAllow {
            any: false,
            nets: vec![(IpAddr::from([127, 0, 0, 1]), 32)],
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// What a trusted proxy's headers say about a request.
#[derive(Debug, Default, Clone)]
pub struct Forwarded {
    /// The client's address, from `X-Forwarded-For`.
    pub client: Option<AddrText>,
    /// `https` or `http`, from `X-Forwarded-Proto`.
    pub scheme: Option<&'static str>,
}

const XFF: &[u8] = b"x-forwarded-for";
const XFP: &[u8] = b"x-forwarded-proto";

impl Forwarded {
    /// Reads the `X-Forwarded-*` fields of `head` (whose ranges index `bytes`) if `peer` is
    /// trusted by `allow`; `None` when there are none (the common case, paid for with a look at
    /// each name's length) or the peer is not trusted.
    #[inline]
    pub fn resolve(
        allow: &ForwardedAllow,
        peer: &Peer,
        head: &Head,
        bytes: &[u8],
    ) -> Option<Forwarded> {
        let found = head.headers.iter().any(|(name, _)| {
            matches!(name.len(), 15 | 17)
                && bytes
                    .get(name.start..name.start + 12)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"x-forwarded-"))
        });
        if found {
            Forwarded::from_trusted(allow, peer, head, bytes)
        } else {
            None
        }
    }

    #[cold]
    #[inline(never)]
    fn from_trusted(
        allow: &ForwardedAllow,
        peer: &Peer,
        head: &Head,
        bytes: &[u8],
    ) -> Option<Forwarded> {
        if !allow.trusts_peer(peer) {
            return None;
        }
        let named = |want: &'static [u8]| {
            head.headers
                .iter()
                .filter(move |(n, _)| bytes[n.clone()].eq_ignore_ascii_case(want))
                .map(|(_, v)| v.clone())
        };
        let fors: Vec<Range<usize>> = named(XFF).collect();
        Some(Forwarded {
            client: client_of(allow, &fors, bytes),
            scheme: named(XFP)
                .next()
                .map(|v| first_item(bytes, v))
                .and_then(|v| {
                    let value = &bytes[v];
                    if value.eq_ignore_ascii_case(b"https") {
                        Some("https")
                    } else if value.eq_ignore_ascii_case(b"http") {
                        Some("http")
                    } else {
                        None
                    }
                }),
        })
    }
}

/// The client address of the `X-Forwarded-For` fields (in order received): from the right,
/// skipping trusted proxies. `None` when the fields hold no usable address.
fn client_of(allow: &ForwardedAllow, fields: &[Range<usize>], bytes: &[u8]) -> Option<AddrText> {
    let mut leftmost = None;
    for field in fields.iter().rev() {
        for item in bytes[field.clone()].rsplit(|&b| b == b',') {
            let ip = parse_entry(item.trim_ascii())?;
            if !allow.trusts(ip) {
                return Some(AddrText::of(canonical(ip)));
            }
            leftmost = Some(ip);
        }
    }
    leftmost.map(|ip| AddrText::of(canonical(ip)))
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(item: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(item).ok()?;
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The first comma-separated item of a field value, trimmed, as a range of `bytes`.
fn first_item(bytes: &[u8], value: Range<usize>) -> Range<usize> {
    let v = &bytes[value.clone()];
    let end = v.iter().position(|&b| b == b',').unwrap_or(v.len());
    let start = v[..end]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(end);
    let stop = v[..end]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    value.start + start..value.start + stop
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::parse::{parse_head, Limits};
    use std::sync::Arc;

    const LIMITS: Limits = Limits::GUNICORN;

    fn peer(ip: &str) -> Peer {
        let remote: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
        Peer::tcp(remote, "127.0.0.1:8000".parse().ok())
    }

    fn resolve(allow: &str, peer: &Peer, fields: &str) -> (Forwarded, Vec<u8>) {
        let raw = format!("GET / HTTP/1.1\r\nHost: inner\r\n{fields}\r\n").into_bytes();
        let head = parse_head(&raw, &LIMITS).unwrap().unwrap();
        let allow = ForwardedAllow::parse(allow).unwrap();
        let found = Forwarded::resolve(&allow, peer, &head, &raw);
        (found.unwrap_or_default(), raw)
    }

    #[test]
    fn allow_lists_parse_like_gunicorns() {
        let a = ForwardedAllow::parse("127.0.0.1, 10.0.0.0/8,::1").unwrap();
        assert!(a.trusts("10.1.2.3".parse().unwrap()));
        assert!(a.trusts("::ffff:127.0.0.1".parse().unwrap()), "mapped v4");
        assert!(a.trusts("::1".parse().unwrap()));
        assert!(!a.trusts("11.0.0.1".parse().unwrap()));
        assert!(ForwardedAllow::parse("*")
            .unwrap()
            .trusts("8.8.8.8".parse().unwrap()));
        assert!(!ForwardedAllow::parse("")
            .unwrap()
            .trusts("127.0.0.1".parse().unwrap()));
        assert_eq!(
            ForwardedAllow::parse(DEFAULT_ALLOW).unwrap(),
            ForwardedAllow::default()
        );
        assert!(ForwardedAllow::parse("localhost")
            .unwrap_err()
            .contains("`localhost`"));
        assert!(ForwardedAllow::parse("10.0.0.0/33")
            .unwrap_err()
            .contains("0 to 32"));
        let zero = ForwardedAllow::parse("0.0.0.0/0").unwrap();
        assert!(zero.trusts("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_sets_client_and_scheme_never_the_host() {
        let (f, _) = resolve(
            "127.0.0.1",
            &peer("127.0.0.1"),
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: HTTPS\r\nx-forwarded-host:  shop.example:8443 , inner\r\n",
        );
        assert_eq!(
            f.client.map(|c| c.as_str().to_string()).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(f.scheme, Some("https"));
    }

    #[test]
    fn an_untrusted_peer_changes_nothing() {
        let (f, _) = resolve(
            "127.0.0.1",
            &peer("198.51.100.1"),
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n",
        );
        assert!(f.client.is_none() && f.scheme.is_none());
    }

    #[test]
    fn a_spoofed_entry_left_of_the_proxys_is_not_the_client() {
        // The client sent "1.1.1.1" itself; nginx appended the address it saw.
        let (f, _) = resolve(
            "127.0.0.1,10.0.0.0/8",
            &peer("127.0.0.1"),
            "X-Forwarded-For: 1.1.1.1, 198.51.100.4\r\nX-Forwarded-For: 10.0.0.2\r\n",
        );
        assert_eq!(f.client.unwrap().as_str(), "198.51.100.4");
        // Everything trusted: the leftmost.
        let (f, _) = resolve(
            "*",
            &peer("127.0.0.1"),
            "X-Forwarded-For: 1.1.1.1, 198.51.100.4\r\n",
        );
        assert_eq!(f.client.unwrap().as_str(), "1.1.1.1");
        // Ports and brackets are tolerated; garbage leaves the peer's address.
        let (f, _) = resolve(
            "127.0.0.1",
            &peer("127.0.0.1"),
            "X-Forwarded-For: [2001:db8::1]:443\r\n",
        );
        assert_eq!(f.client.unwrap().as_str(), "2001:db8::1");
        let (f, _) = resolve(
            "127.0.0.1",
            &peer("127.0.0.1"),
            "X-Forwarded-For: unknown\r\n",
        );
        assert!(f.client.is_none());
        let (f, _) = resolve(
            "127.0.0.1",
            &peer("127.0.0.1"),
            "X-Forwarded-Proto: gopher\r\n",
        );
        assert_eq!(f.scheme, None);
    }

    #[test]
    fn a_unix_socket_peer_is_trusted() {
        let unix = Peer::unix(Arc::from("/run/portico.sock"));
        let (f, _) = resolve("", &unix, "X-Forwarded-For: 203.0.113.7\r\n");
        assert_eq!(f.client.unwrap().as_str(), "203.0.113.7");
    }
}
