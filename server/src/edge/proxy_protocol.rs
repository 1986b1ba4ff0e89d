//! Owns the PROXY protocol (HAProxy's, versions 1 and 2): the header a TCP load balancer
//! (HAProxy with `send-proxy` / `send-proxy-v2`, AWS NLB, ...) sends before the client's bytes
//! to say whom the connection is really from. With `--proxy-protocol`, every connection must
//! start with one, from a peer in `--proxy-allow-from` (gunicorn's names and default,
//! `127.0.0.1`); a missing, malformed or untrusted header closes the connection, since
//! believing it from anyone would let any client choose its address.
//!
//! Parsing is pure: [`parse`] looks at the bytes read so far and says how many the header took
//! and what it said, or that more are needed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 header's fixed signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The longest v1 header, CRLF included (the specification's bound: "PROXY UNKNOWN" with two
/// full IPv6 addresses and ports).
pub const V1_MAX: usize = 107;

/// The most address-and-TLV bytes a v2 header may carry here: room for both IPv6 addresses and
/// the TLVs load balancers add (AWS's VPC endpoint id, HAProxy's unique id, SSL details), and a
/// bound on what a peer can make us buffer before the first request.
pub const V2_MAX_BODY: usize = 1024;

/// Why a header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// The connection does not start with a PROXY header.
    Missing,
    /// A v1 header that is not `PROXY TCP4|TCP6|UNKNOWN ...` with valid addresses.
    BadV1,
    /// A v2 header with an unknown version or command, or addresses shorter than its family's.
    BadV2,
    /// A v2 header longer than [`V2_MAX_BODY`].
    TooLong,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProxyError::Missing => "no PROXY protocol header",
            ProxyError::BadV1 => "malformed PROXY protocol v1 header",
            ProxyError::BadV2 => "malformed PROXY protocol v2 header",
            ProxyError::TooLong => "PROXY protocol v2 header too long",
        })
    }
}

/// A complete header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Bytes it took.
    pub len: usize,
    /// The client's address; `None` for a v1 `UNKNOWN` or a v2 `LOCAL` (the balancer's own
    /// health check) or an address family other than IP: the connection's own peer stands.
    pub source: Option<SocketAddr>,
}

/// Parses the header at the start of `buf`: `Ok(None)` while it is incomplete.
pub fn parse(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'P' {
        return parse_v1(buf);
    }
    let sig = buf.len().min(V2_SIGNATURE.len());
    if buf[..sig] != V2_SIGNATURE[..sig] {
        return Err(ProxyError::Missing);
    }
    parse_v2(buf)
}

fn parse_v1(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    let prefix = b"PROXY ";
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return Err(ProxyError::Missing);
    }
    let Some(lf) = memchr::memchr(b'\n', &buf[..buf.len().min(V1_MAX)]) else {
        return if buf.len() >= V1_MAX {
            Err(ProxyError::BadV1)
        } else {
            Ok(None)
        };
    };
    let line = buf[..lf].strip_suffix(b"\r").ok_or(ProxyError::BadV1)?;
    let line = std::str::from_utf8(&line[prefix.len()..]).map_err(|_| ProxyError::BadV1)?;
    let mut words = line.split(' ');
    let source = match words.next() {
        // "the receiver must ignore anything presented before the CRLF is found".
        Some("UNKNOWN") => None,
        Some(proto @ ("TCP4" | "TCP6")) => {
            let fields: Vec<&str> = words.collect();
            let [src, dst, sport, dport] = fields[..] else {
                return Err(ProxyError::BadV1);
            };
            let (src, dst): (IpAddr, IpAddr) = (
                src.parse().map_err(|_| ProxyError::BadV1)?,
                dst.parse().map_err(|_| ProxyError::BadV1)?,
            );
            if (proto == "TCP4") != src.is_ipv4() || src.is_ipv4() != dst.is_ipv4() {
                return Err(ProxyError::BadV1);
            }
            let port = |p: &str| {
                // Decimal without leading zeros or signs, as the specification writes them.
                (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !p.starts_with('0')
                    || p == "0")
                    .then(|| p.parse::<u16>().ok())
                    .flatten()
                    .ok_or(ProxyError::BadV1)
            };
            let (sport, _) = (port(sport)?, port(dport)?);
            Some(SocketAddr::new(src, sport))
        }
        _ => return Err(ProxyError::BadV1),
    };
    Ok(Some(Header {
        len: lf + 1,
        source,
    }))
}

fn parse_v2(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let (ver_cmd, family) = (buf[12], buf[13]);
    let body_len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::BadV2);
    }
    if body_len > V2_MAX_BODY {
        return Err(ProxyError::TooLong);
    }
    if buf.len() < 16 + body_len {
        return Ok(None);
    }
    let body = &buf[16..16 + body_len];
    let source = match ver_cmd & 0x0f {
        // LOCAL: the balancer speaking for itself.
        0x0 => None,
        // PROXY.
        0x1 => match family >> 4 {
            // AF_INET: src, dst, sport, dport.
            0x1 => {
                let a: [u8; 12] = body
                    .get(..12)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(ProxyError::BadV2)?;
                let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
                Some(SocketAddr::new(ip.into(), u16::from_be_bytes([a[8], a[9]])))
            }
            // AF_INET6.
            0x2 => {
                let a: [u8; 36] = body
                    .get(..36)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(ProxyError::BadV2)?;
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&a[..16]);
                Some(SocketAddr::new(
                    Ipv6Addr::from(ip).into(),
                    u16::from_be_bytes([a[32], a[33]]),
                ))
            }
            // AF_UNSPEC or AF_UNIX: nothing we can put in remote_addr.
            _ => None,
        },
        _ => return Err(ProxyError::BadV2),
    };
    Ok(Some(Header {
        len: 16 + body_len,
        source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(cmd: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(0x20 | cmd);
        out.push(family);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn v1_gives_the_client_and_the_length() {
        let buf = b"PROXY TCP4 192.0.2.7 10.0.0.1 56324 8000\r\nGET / HTTP/1.1\r\n";
        assert_eq!(
            parse(buf),
            Ok(Some(Header {
                len: 42,
                source: Some("192.0.2.7:56324".parse().unwrap())
            }))
        );
        let buf = b"PROXY TCP6 2001:db8::1 ::1 443 8000\r\n";
        assert_eq!(
            parse(buf).unwrap().unwrap().source,
            Some("[2001:db8::1]:443".parse().unwrap())
        );
        let unknown = b"PROXY UNKNOWN ffff:f...f:ffff 1 2\r\nGET";
        assert_eq!(parse(unknown).unwrap().unwrap().source, None);
    }

    #[test]
    fn v1_waits_for_its_line_and_refuses_a_bad_one() {
        assert_eq!(parse(b"PRO"), Ok(None));
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4"), Ok(None));
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"[..],
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert_eq!(
                parse(bad),
                Err(ProxyError::BadV1),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let endless = [b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat();
        assert_eq!(parse(&endless), Err(ProxyError::BadV1));
    }

    #[test]
    fn a_connection_without_a_header_is_refused_at_its_first_byte() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(ProxyError::Missing));
        assert_eq!(parse(b"POST"), Err(ProxyError::Missing));
        assert_eq!(parse(b"\r\n\r\nGET"), Err(ProxyError::Missing));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn v2_gives_the_client_for_ipv4_and_ipv6_and_skips_tlvs() {
        let mut body = vec![192, 0, 2, 7, 10, 0, 0, 1];
        body.extend_from_slice(&56324u16.to_be_bytes());
        body.extend_from_slice(&8000u16.to_be_bytes());
        body.extend_from_slice(&[0x04, 0x00, 0x02, b'i', b'd']);
        let mut buf = v2(1, 0x11, &body);
        let len = buf.len();
        buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(
            parse(&buf),
            Ok(Some(Header {
                len,
                source: Some("192.0.2.7:56324".parse().unwrap())
            }))
        );
        // Incomplete at every cut.
        for cut in 0..len {
            assert_eq!(parse(&buf[..cut]), Ok(None), "cut at {cut}");
        }

        let mut body = Vec::new();
        body.extend_from_slice(&"2001:db8::9".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        body.extend_from_slice(&[0x01, 0xbb, 0x1f, 0x40]);
        assert_eq!(
            parse(&v2(1, 0x21, &body)).unwrap().unwrap().source,
            Some("[2001:db8::9]:443".parse().unwrap())
        );
    }

    #[test]
    fn v2_local_and_unspec_keep_the_peer_and_bad_ones_are_refused() {
        assert_eq!(parse(&v2(0, 0x00, &[])).unwrap().unwrap().source, None);
        assert_eq!(parse(&v2(1, 0x00, &[])).unwrap().unwrap().source, None);
        assert_eq!(parse(&v2(1, 0x11, &[1, 2, 3])), Err(ProxyError::BadV2));
        assert_eq!(parse(&v2(2, 0x11, &[0; 12])), Err(ProxyError::BadV2));
        let mut v1_version = v2(1, 0x11, &[0; 12]);
        v1_version[12] = 0x11;
        assert_eq!(parse(&v1_version), Err(ProxyError::BadV2));
        let mut huge = V2_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&huge), Err(ProxyError::TooLong));
    }
}
