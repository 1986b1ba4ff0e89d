//! Owns native TLS (`--certfile`, `--keyfile`, `--ca-certs`, `--cert-reqs`, gunicorn's flags):
//! reading the certificate files into a rustls configuration (ring provider, ALPN `http/1.1`,
//! client certificates for `--cert-reqs 1` and `2`), and [`TlsStream`], a TCP socket with a
//! rustls server session on it. rustls does no I/O of its own: the handshake and every record
//! run inside [`TlsStream`]'s `Read` and `Write`, which the event loop and the app threads call
//! exactly as they call a plain socket's, without blocking. A connection still in its handshake
//! reads as one that has sent nothing yet, so `--timeout` bounds a handshake as it bounds a first
//! request. A handshake that fails (plain HTTP on the TLS port, garbage, an unknown client
//! certificate) is a read error: the connection closes, and a warning is logged at most once a
//! second with a count.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::edge::ratelimit::RateLimited;

/// Handshakes that failed, logged at most once a second with a count.
static HANDSHAKE_FAILED: RateLimited = RateLimited::new();

/// `--cert-reqs`: whether a client must present a certificate (Python's `ssl.CERT_*` numbers,
/// as gunicorn takes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertReqs {
    /// 0: no certificate is asked for.
    #[default]
    None,
    /// 1: asked for; a client without one is served, one with a bad one is refused.
    Optional,
    /// 2: required (mutual TLS): a client without a certificate signed by `--ca-certs` is
    /// refused in the handshake.
    Required,
}

impl CertReqs {
    /// The flag's number: 0, 1 or 2.
    pub fn from_number(n: u8) -> Option<CertReqs> {
        match n {
            0 => Some(CertReqs::None),
            1 => Some(CertReqs::Optional),
            2 => Some(CertReqs::Required),
            _ => None,
        }
    }
}

/// The files the TLS flags name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--certfile`: the server's certificate chain (PEM), leaf first.
    pub certfile: PathBuf,
    /// `--keyfile`: its private key (PEM: PKCS#8, PKCS#1 or SEC1); the certificate file when
    /// not given (a file holding both, as gunicorn allows).
    pub keyfile: PathBuf,
    /// `--ca-certs`: the CAs client certificates must chain to (PEM).
    pub ca_certs: Option<PathBuf>,
    /// `--cert-reqs`.
    pub cert_reqs: CertReqs,
    /// `--tls-session-cache`: sessions kept for resumption (session ids, and TLS 1.3 tickets
    /// naming them); 0: none, every connection is a full handshake.
    pub session_cache: usize,
}

/// Why the TLS configuration cannot be built; each names the file and the problem.
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file's PEM content is malformed or holds nothing of the kind expected.
    Pem {
        /// The file.
        path: PathBuf,
        /// What was expected and what went wrong.
        problem: String,
    },
    /// The certificate and key do not make a usable pair (rustls refused them).
    KeyPair {
        /// The certificate file.
        certfile: PathBuf,
        /// The key file.
        keyfile: PathBuf,
        /// rustls's reason.
        problem: rustls::Error,
    },
    /// The client-certificate settings are inconsistent or the CA file is unusable.
    ClientAuth {
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, source } => {
                write!(f, "TLS: cannot read {}: {source}", path.display())
            }
            TlsError::Pem { path, problem } => write!(f, "TLS: {}: {problem}", path.display()),
            TlsError::KeyPair {
                certfile,
                keyfile,
                problem,
            } => write!(
                f,
                "TLS: the certificate {} and the key {} cannot be used together: {problem}",
                certfile.display(),
                keyfile.display()
            ),
            TlsError::ClientAuth { problem } => write!(f, "TLS: {problem}"),
        }
    }
}

impl std::error::Error for TlsError {}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            problem: format!("malformed PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_path_buf(),
            problem: format!("no CERTIFICATE block: {what}"),
        });
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        problem: match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PRIVATE KEY block (PKCS#8, RSA or EC) found: --keyfile must hold the \
                 certificate's private key"
                    .into()
            }
            e => format!("malformed private key PEM ({e})"),
        },
    })
}

/// Reads the files into a server configuration. Called by the master at start-up (a failure
/// stops it, naming the file) and at each reload, and by each worker as it starts.
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    // ring rather than aws-lc-rs: it builds with the C compiler alone (aws-lc-rs wants cmake
    // and nasm). rustls marks it deprecated only for its lack of post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = certificates(
        &files.certfile,
        "--certfile must hold the server's certificate (chain)",
    )?;
    let key = private_key(&files.keyfile)?;
    let verifier = match (files.cert_reqs, &files.ca_certs) {
        (CertReqs::None, _) => WebPkiClientVerifier::no_client_auth(),
        (_, None) => {
            return Err(TlsError::ClientAuth {
                problem: "--cert-reqs 1 or 2 needs --ca-certs (the CAs client certificates are \
                          checked against)"
                    .into(),
            })
        }
        (reqs, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca, "--ca-certs must hold the client CAs' certificates")? {
                roots.add(cert).map_err(|e| TlsError::Pem {
                    path: ca.clone(),
                    problem: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if reqs == CertReqs::Optional {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder.build().map_err(|e| TlsError::ClientAuth {
                problem: format!("{}: {e}", ca.display()),
            })?
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::ClientAuth {
            problem: format!("no protocol version available: {e}"),
        })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|problem| TlsError::KeyPair {
            certfile: files.certfile.clone(),
            keyfile: files.keyfile.clone(),
            problem,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if files.session_cache == 0 {
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    } else {
        config.session_storage = rustls::server::ServerSessionMemoryCache::new(files.session_cache);
    }
    Ok(Arc::new(config))
}

/// A TCP connection with a TLS server session on it.
pub struct TlsStream {
    sock: mio::net::TcpStream,
    conn: ServerConnection,
    /// The client certificate's subject (RFC 4514), once the handshake is done; `None` when the
    /// client presented none.
    subject: Option<Box<str>>,
    /// Whether the handshake finished (then `subject` is final).
    established: bool,
    /// The first byte the client sent, for the log line of a failed handshake.
    first_byte: Option<u8>,
}

/// The socket, as rustls reads it during the handshake: keeps the first byte the client sent.
struct FirstByte<'a> {
    sock: &'a mut mio::net::TcpStream,
    first: &'a mut Option<u8>,
}

impl Read for FirstByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.sock.read(buf)?;
        if n > 0 && self.first.is_none() {
            *self.first = Some(buf[0]);
        }
        Ok(n)
    }
}

impl TlsStream {
    /// Starts a server session on an accepted socket.
    pub fn new(sock: mio::net::TcpStream, config: &Arc<ServerConfig>) -> io::Result<TlsStream> {
        let conn = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        Ok(TlsStream {
            sock,
            conn,
            subject: None,
            established: false,
            first_byte: None,
        })
    }

    /// The socket.
    pub fn socket(&self) -> &mio::net::TcpStream {
        &self.sock
    }

    /// The socket, for (de)registration.
    pub fn socket_mut(&mut self) -> &mut mio::net::TcpStream {
        &mut self.sock
    }

    /// The client certificate's subject, RFC 4514 (`CN=alice,O=Example`): `None` before the
    /// handshake or when the client presented no certificate.
    pub fn client_subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// Whether encrypted bytes wait to be sent (the socket would not take them all).
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Sends pending encrypted bytes. `Ok(true)`: none is left; `Ok(false)`: the socket would
    /// block with some left.
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Sends `close_notify` (best effort) and shuts down the sending side.
    pub fn shutdown_write(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush_tls();
        let _ = self.sock.shutdown(std::net::Shutdown::Write);
    }

    /// Reads ciphertext once and processes it. `Ok(false)`: the socket has nothing now.
    fn pull(&mut self) -> io::Result<bool> {
        let read = if self.established {
            self.conn.read_tls(&mut self.sock)
        } else {
            self.conn.read_tls(&mut FirstByte {
                sock: &mut self.sock,
                first: &mut self.first_byte,
            })
        };
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
        if let Err(e) = self.conn.process_new_packets() {
            // rustls queued an alert for the peer: send it if the socket takes it now.
            let _ = self.flush_tls();
            self.log_failure(&e);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        if !self.established && !self.conn.is_handshaking() {
            self.established = true;
            self.subject = self
                .conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| subject_of(leaf.as_ref()))
                .map(String::into_boxed_str);
        }
        // Handshake messages (and alerts) go out as soon as they are made.
        self.flush_tls()?;
        Ok(true)
    }

    fn log_failure(&self, e: &rustls::Error) {
        let Some(n) = HANDSHAKE_FAILED.hit() else {
            return;
        };
        let peer = self
            .sock
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let why = match self.first_byte {
            Some(b) if !self.established && b.is_ascii_uppercase() => {
                format!("not TLS: a plain HTTP request on the TLS port? ({e})")
            }
            _ => e.to_string(),
        };
        log::warn!(
            "TLS: closed {n} connection(s) whose {} failed in the last second; last: {peer}: {why}",
            if self.established {
                "records"
            } else {
                "handshake"
            }
        );
    }
}

impl Read for TlsStream {
    /// Fills `buf` with decrypted bytes: stops when it is full, or when the socket has nothing
    /// more (`WouldBlock` only when nothing was read, as a plain socket's read). So a short read
    /// means the socket is drained and nothing decrypted is held back, which the edge-triggered
    /// loop relies on.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut filled = 0;
        loop {
            match self.conn.reader().read(&mut buf[filled..]) {
                Ok(0) => return Ok(filled), // close_notify
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The client closed the TCP connection without close_notify: an end all the
                // same (HTTP framing tells a cut request).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.pull() {
                Ok(true) => {}
                Ok(false) if filled > 0 => return Ok(filled),
                Ok(false) => return Err(io::ErrorKind::WouldBlock.into()),
                Err(e) if filled > 0 && e.kind() != io::ErrorKind::InvalidData => {
                    return Ok(filled)
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    /// Encrypts what rustls takes of `buf` once earlier records are out, and sends what the
    /// socket takes; records left over go out at the next write or [`TlsStream::flush_tls`].
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if !self.flush_tls()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.conn.writer().write_vectored(bufs)?;
        match self.flush_tls() {
            Ok(_) => Ok(n),
            Err(e) if n == 0 => Err(e),
            // The bytes were taken; the failure shows at the next write.
            Err(_) => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---- the client certificate's subject ----

/// One DER element: its tag, its content, and what follows it.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// The subject of a DER certificate as RFC 4514 text (`CN=alice,O=Example`: the last RDN
/// first), as nginx's `$ssl_client_s_dn` and Apache's `SSL_CLIENT_S_DN` give it. `None` when the
/// certificate cannot be parsed (rustls already verified it, so in practice: never).
pub fn subject_of(cert: &[u8]) -> Option<String> {
    let (tag, cert, _) = der_next(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = der_next(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] version (optional), serialNumber, signature, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = der_next(tbs)?.2;
    }
    for _ in 0..4 {
        tbs = der_next(tbs)?.2;
    }
    let (tag, name, _) = der_next(tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    name_text(name)
}

/// An X.501 Name's content (a SEQUENCE OF RDN) as RFC 4514 text.
fn name_text(mut name: &[u8]) -> Option<String> {
    let mut rdns = Vec::new();
    while !name.is_empty() {
        let (tag, set, rest) = der_next(name)?;
        if tag != SET {
            return None;
        }
        name = rest;
        let mut parts = Vec::new();
        let mut set = set;
        while !set.is_empty() {
            let (tag, atv, rest) = der_next(set)?;
            if tag != SEQUENCE {
                return None;
            }
            set = rest;
            let (tag, oid, value) = der_next(atv)?;
            if tag != OID {
                return None;
            }
            parts.push(attribute_text(oid, value)?);
        }
        rdns.push(parts.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

/// `TYPE=value` for one attribute: a known type's short name and its string escaped, or the
/// dotted OID and the value's DER in hex (RFC 4514 section 2.4).
fn attribute_text(oid: &[u8], value: &[u8]) -> Option<String> {
    let short = match oid {
        [0x55, 0x04, 0x03] => Some("CN"),
        [0x55, 0x04, 0x07] => Some("L"),
        [0x55, 0x04, 0x08] => Some("ST"),
        [0x55, 0x04, 0x0a] => Some("O"),
        [0x55, 0x04, 0x0b] => Some("OU"),
        [0x55, 0x04, 0x06] => Some("C"),
        [0x55, 0x04, 0x09] => Some("STREET"),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => Some("DC"),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => Some("UID"),
        // Not in RFC 4514's table, but what OpenSSL, nginx and Apache print.
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => Some("emailAddress"),
        _ => None,
    };
    let (tag, content, _) = der_next(value)?;
    let text = match tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString
        0x0c | 0x13 | 0x16 | 0x12 | 0x1a => std::str::from_utf8(content).ok().map(str::to_owned),
        // TeletexString, read as Latin-1 as OpenSSL does
        0x14 => Some(content.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2 big-endian
        0x1e if content.len() % 2 == 0 => char::decode_utf16(
            content
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        _ => None,
    };
    match (short, text) {
        (Some(short), Some(text)) => Some(format!("{short}={}", escape(&text))),
        _ => {
            let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!("{}=#{hex}", dotted(oid)?))
        }
    }
}

/// An OID's content as dotted decimal.
fn dotted(oid: &[u8]) -> Option<String> {
    let (&first, rest) = oid.split_first()?;
    let mut arcs = vec![u64::from(first / 40).min(2), 0];
    arcs[1] = u64::from(first) - arcs[0] * 40;
    let mut acc: u64 = 0;
    for &b in rest {
        acc = acc.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// RFC 4514 section 2.4's escaping of an attribute value.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
            continue;
        }
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of `tag` over `content` (short or long length form).
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 0x80 {
            out.push(content.len() as u8);
        } else {
            let len = (content.len() as u32).to_be_bytes();
            let skip = len.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (4 - skip) as u8);
            out.extend_from_slice(&len[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    fn rdn(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let atv = [der(OID, oid), der(tag, value)].concat();
        der(SET, &der(SEQUENCE, &atv))
    }

    fn cert_with_subject(subject: &[u8]) -> Vec<u8> {
        let version = der(0xa0, &der(0x02, &[2]));
        let serial = der(0x02, &[1; 200]); // long-form length on the way
        let alg = der(
            SEQUENCE,
            &der(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
        );
        let issuer = der(SEQUENCE, &rdn(&[0x55, 0x04, 0x03], 0x0c, b"Test CA"));
        let validity = der(SEQUENCE, &[]);
        let tbs = der(
            SEQUENCE,
            &[
                version,
                serial,
                alg.clone(),
                issuer,
                validity,
                subject.to_vec(),
            ]
            .concat(),
        );
        der(SEQUENCE, &[tbs, alg, der(0x03, &[0])].concat())
    }

    #[test]
    fn subjects_read_as_rfc4514_with_the_last_rdn_first() {
        let subject = der(
            SEQUENCE,
            &[
                rdn(&[0x55, 0x04, 0x06], 0x13, b"NZ"),
                rdn(&[0x55, 0x04, 0x0a], 0x0c, b"Example, Ltd"),
                rdn(&[0x55, 0x04, 0x03], 0x0c, b"alice"),
            ]
            .concat(),
        );
        let cert = cert_with_subject(&subject);
        assert_eq!(
            subject_of(&cert).as_deref(),
            Some("CN=alice,O=Example\\, Ltd,C=NZ")
        );
    }

    #[test]
    fn unknown_attributes_are_dotted_oids_with_hex_values_and_bad_der_is_none() {
        let subject = der(
            SEQUENCE,
            &rdn(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0x30], 0x0c, b"x"),
        );
        let cert = cert_with_subject(&subject);
        assert_eq!(
            subject_of(&cert).as_deref(),
            Some("1.3.6.1.4.1.432=#0c0178")
        );
        assert_eq!(subject_of(&cert[..cert.len() / 2]), None);
        assert_eq!(subject_of(b"garbage"), None);
        assert_eq!(subject_of(&[]), None);
    }

    #[test]
    fn values_are_escaped_at_their_edges() {
        assert_eq!(escape(" #a+b "), "\\ #a\\+b\\ ");
        assert_eq!(escape("#x"), "\\#x");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn cert_reqs_take_pythons_numbers() {
        assert_eq!(CertReqs::from_number(0), Some(CertReqs::None));
        assert_eq!(CertReqs::from_number(1), Some(CertReqs::Optional));
        assert_eq!(CertReqs::from_number(2), Some(CertReqs::Required));
        assert_eq!(CertReqs::from_number(3), None);
    }

    #[test]
    fn missing_and_bad_files_are_named_with_the_problem() {
        let dir = std::env::temp_dir().join(format!("portico-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a pem file\n").unwrap();
        let files = |cert: &Path, key: &Path| TlsFiles {
            certfile: cert.to_path_buf(),
            keyfile: key.to_path_buf(),
            ca_certs: None,
            cert_reqs: CertReqs::None,
            session_cache: 256,
        };
        let missing = dir.join("missing.pem");
        let e = load(&files(&missing, &missing)).unwrap_err().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
        let e = load(&files(&junk, &junk)).unwrap_err().to_string();
        assert!(
            e.contains("junk.pem") && e.contains("no CERTIFICATE"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
