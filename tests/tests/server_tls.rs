//! Native TLS end to end (`--certfile`, `--keyfile`, `--ca-certs`, `--cert-reqs`): a throwaway
//! CA, server and client certificate made at test time (rcgen), curl as the client. HTTPS with
//! keep-alive, the app told `https`, mutual TLS with the client's subject in `SSL_CLIENT_S_DN`,
//! garbage and plain HTTP on the TLS port closed while the server keeps serving, a stalled
//! handshake closed by `--timeout`, bad files refused at start-up and at a reload.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use tests::{app_lib, Server, TempDir};

/// The PEM files one test uses.
struct Pki {
    dir: TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl Pki {
    /// curl's arguments that present the client certificate.
    fn client_args(&self) -> [&str; 4] {
        [
            "--cert",
            self.client_cert.to_str().unwrap(),
            "--key",
            self.client_key.to_str().unwrap(),
        ]
    }
}

fn dn(pairs: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (t, v) in pairs {
        dn.push(t.clone(), *v);
    }
    dn
}

fn pki() -> Pki {
    let dir = TempDir::new("tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = dn(&[(DnType::CommonName, "portico test CA")]);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    server.distinguished_name = dn(&[(DnType::CommonName, "127.0.0.1")]);
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client.distinguished_name = dn(&[
        (DnType::OrganizationName, "Portico Tests"),
        (DnType::CommonName, "alice"),
    ]);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();

    Pki {
        ca: dir.write("ca.pem", ca_cert.pem()),
        cert: dir.write("server.pem", server_cert.pem()),
        key: dir.write("server.key", server_key.serialize_pem()),
        client_cert: dir.write("client.pem", client_cert.pem()),
        client_key: dir.write("client.key", client_key.serialize_pem()),
        dir,
    }
}

fn start(pki: &Pki, extra: &[&str]) -> Server {
    let settings = pki.dir.write(
        "settings.toml",
        "allowed_hosts = [\"127.0.0.1\", \"localhost\"]\n",
    );
    Server::builder(app_lib("testapp"))
        .settings(settings)
        .arg("--certfile")
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&pki.key)
        .args(extra.iter().copied())
        .start()
}

fn url(server: &Server, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", server.port)
}

/// curl's exit code, its stdout (the bodies) and its stderr (`-v`'s story).
fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn meta(server: &Server, pki: &Pki, extra: &[&str]) -> serde_json::Value {
    let ca = pki.ca.to_str().unwrap();
    let target = url(server, "/api/meta/1/");
    let mut args = vec!["--cacert", ca];
    args.extend_from_slice(extra);
    args.push(&target);
    let (code, body, err) = curl(&args);
    assert_eq!(code, 0, "curl failed: {err}\n{}", server.logs());
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// One HTTPS request's status, `-w '%{http_code}'`.
fn status(server: &Server, pki: &Pki) -> String {
    let (_, out, _) = curl(&[
        "--cacert",
        pki.ca.to_str().unwrap(),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url(server, "/ok/"),
    ]);
    out
}

#[test]
fn https_serves_with_keep_alive_alpn_and_the_app_sees_https() {
    let pki = pki();
    let server = start(&pki, &[]);
    let first = url(&server, "/ok/");
    let second = url(&server, "/api/meta/2/");
    let (code, body, err) = curl(&["-v", "--cacert", pki.ca.to_str().unwrap(), &first, &second]);
    assert_eq!(code, 0, "{err}\n{}", server.logs());
    assert!(err.contains("ALPN: server accepted http/1.1"), "{err}");
    assert!(err.contains("< HTTP/1.1 200"), "{err}");
    assert!(
        err.contains("Re-using existing connection"),
        "two requests on one TLS connection: {err}"
    );
    assert_eq!(err.matches("Connected to").count(), 1, "{err}");
    let json = &body[body.find('{').expect("the second body is the meta JSON")..];
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["scheme"], "https");
    assert_eq!(v["is_secure"], true);
    assert_eq!(
        v["ssl_client_s_dn"],
        serde_json::Value::Null,
        "no client certificate"
    );
    assert!(
        server.logs().contains("https://127.0.0.1:"),
        "the start-up line says https: {}",
        server.logs()
    );
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate_and_shows_the_subject() {
    let pki = pki();
    let ca = pki.ca.to_str().unwrap();
    let server = start(&pki, &["--ca-certs", ca, "--cert-reqs", "2"]);
    let (code, body, err) = curl(&["--cacert", ca, &url(&server, "/ok/")]);
    assert_ne!(code, 0, "served without a client certificate: {body} {err}");
    let v = meta(&server, &pki, &pki.client_args());
    assert_eq!(v["scheme"], "https");
    assert_eq!(v["ssl_client_s_dn"], "CN=alice,O=Portico Tests");
    assert!(
        server.wait_for_log("TLS: closed", Duration::from_secs(5)),
        "the refusal is logged: {}",
        server.logs()
    );
}

#[test]
fn optional_client_certificates_serve_both_kinds_of_client() {
    let pki = pki();
    let ca = pki.ca.to_str().unwrap();
    let server = start(&pki, &["--ca-certs", ca, "--cert-reqs", "1"]);
    assert_eq!(
        meta(&server, &pki, &[])["ssl_client_s_dn"],
        serde_json::Value::Null
    );
    let v = meta(&server, &pki, &pki.client_args());
    assert_eq!(v["ssl_client_s_dn"], "CN=alice,O=Portico Tests");
}

/// Sends `bytes` on a fresh TCP connection and reads until the server closes it.
fn send_and_read_to_close(server: &Server, bytes: &[u8]) -> (Vec<u8>, Duration) {
    let mut s = server.connect();
    let start = Instant::now();
    s.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // A reset is a close too (the server may close with our bytes unread).
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    (got, start.elapsed())
}

#[test]
fn plain_http_and_garbage_on_the_tls_port_are_closed_and_serving_goes_on() {
    let pki = pki();
    let server = start(&pki, &[]);
    let (got, _) = send_and_read_to_close(&server, b"GET /ok/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        !got.starts_with(b"HTTP/"),
        "no plaintext answer: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(status(&server, &pki), "200");
    let garbage: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    send_and_read_to_close(&server, &garbage);
    // A handshake record that lies about its contents.
    send_and_read_to_close(
        &server,
        &[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0xff],
    );
    assert_eq!(status(&server, &pki), "200");
    assert!(
        server.wait_for_log("plain HTTP request on the TLS port", Duration::from_secs(5)),
        "{}",
        server.logs()
    );
    assert!(server.logs().contains("TLS: closed"), "{}", server.logs());
}

#[test]
fn a_stalled_handshake_is_closed_by_the_timeout() {
    let pki = pki();
    let server = start(&pki, &["--timeout", "2", "--threads", "1"]);
    // The first bytes of a ClientHello record, and then nothing: the handshake waits in the
    // loop without holding it (one thread, and others are served meanwhile).
    let mut stalled: Vec<_> = (0..3).map(|_| server.connect()).collect();
    for s in &mut stalled {
        s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).unwrap();
    }
    let t = Instant::now();
    assert_eq!(status(&server, &pki), "200");
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "served beside the stalls"
    );
    let (got, took) = send_and_read_to_close(&server, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
    assert!(got.is_empty(), "{got:?}");
    for mut s in stalled {
        let mut buf = [0u8; 16];
        assert_eq!(
            s.read(&mut buf).unwrap_or(0),
            0,
            "closed by the timeout too"
        );
    }
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
        "closed after {took:?}"
    );
    // A connection that sends nothing at all is closed the same way.
    let mut idle = server.connect();
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(start.elapsed() < Duration::from_secs(8));
    assert_eq!(status(&server, &pki), "200");
}

#[test]
fn bad_files_stop_the_start_and_a_bad_reload_keeps_the_old_certificates() {
    let pki = pki();
    let missing = pki.dir.path().join("missing.key");
    let finished = Server::builder(app_lib("testapp"))
        .arg("--certfile")
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&missing)
        .run_to_exit(Duration::from_secs(20));
    assert!(!finished.status.success());
    assert!(
        finished.stderr.contains("missing.key") && finished.stderr.contains("cannot read"),
        "{}",
        finished.stderr
    );
    // A key that is not the certificate's.
    let other = pki
        .dir
        .write("other.key", KeyPair::generate().unwrap().serialize_pem());
    let finished = Server::builder(app_lib("testapp"))
        .arg("--certfile")
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&other)
        .run_to_exit(Duration::from_secs(20));
    assert!(!finished.status.success());
    assert!(
        finished.stderr.contains("other.key") && finished.stderr.contains("cannot be used"),
        "{}",
        finished.stderr
    );
    let junk = pki.dir.write("junk.pem", "hello\n");
    let finished = Server::builder(app_lib("testapp"))
        .arg("--certfile")
        .arg(&junk)
        .run_to_exit(Duration::from_secs(20));
    assert!(!finished.status.success());
    assert!(
        finished.stderr.contains("junk.pem") && finished.stderr.contains("no CERTIFICATE"),
        "{}",
        finished.stderr
    );

    let server = start(&pki, &[]);
    assert_eq!(status(&server, &pki), "200");
    let good = std::fs::read(&pki.cert).unwrap();
    std::fs::write(&pki.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    server.signal(libc::SIGHUP);
    assert!(
        server.wait_for_log("reload failed: TLS", Duration::from_secs(10)),
        "{}",
        server.logs()
    );
    assert_eq!(
        status(&server, &pki),
        "200",
        "the old certificates serve on"
    );
    std::fs::write(&pki.cert, good).unwrap();
    server.signal(libc::SIGHUP);
    assert!(
        server.wait_for_log("reload complete: generation 2", Duration::from_secs(20)),
        "{}",
        server.logs()
    );
    assert_eq!(status(&server, &pki), "200");
}

#[test]
fn large_bodies_stream_both_ways_through_tls() {
    let pki = pki();
    let server = Server::builder(app_lib("raw_hello"))
        .arg("--certfile")
        .arg(&pki.cert)
        .arg("--keyfile")
        .arg(&pki.key)
        .start();
    // 6 MiB that do not repeat in record-sized runs, echoed back while they are still arriving:
    // both directions outgrow the socket buffers and rustls's, so every wait path runs.
    let data: Vec<u8> = (0..6u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let upload = pki.dir.write("upload.bin", &data);
    let download = pki.dir.path().join("download.bin");
    let body = format!("@{}", upload.display());
    // Length-delimited, then chunked.
    for framing in [
        "Content-Type: application/octet-stream",
        "Transfer-Encoding: chunked",
    ] {
        let (code, out, err) = curl(&[
            "--cacert",
            pki.ca.to_str().unwrap(),
            "--data-binary",
            &body,
            "-H",
            framing,
            "-o",
            download.to_str().unwrap(),
            "-w",
            "%{http_code}",
            &url(&server, "/echo"),
        ]);
        assert_eq!((code, out.as_str()), (0, "200"), "{err}\n{}", server.logs());
        let got = std::fs::read(&download).unwrap();
        assert_eq!(got.len(), data.len(), "{framing}");
        assert!(got == data, "the echo differs from the upload ({framing})");
    }
}

#[test]
fn a_file_response_goes_through_the_record_layer_byte_for_byte() {
    // sendfile(2) cannot encrypt: over TLS the server reads the file and writes it through
    // rustls, under the same write bound, and the records it holds back still go out.
    let pki = pki();
    let server = start(&pki, &[]);
    let data: Vec<u8> = (0..5u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = pki.dir.write("big.bin", &data);
    let download = pki.dir.path().join("got.bin");
    let (code, out, err) = curl(&[
        "--cacert",
        pki.ca.to_str().unwrap(),
        "-o",
        download.to_str().unwrap(),
        "-w",
        "%{http_code} %{size_download}",
        &url(&server, &format!("/file/?path={}", file.display())),
    ]);
    assert_eq!(
        (code, out.as_str()),
        (0, format!("200 {}", data.len()).as_str()),
        "{err}\n{}",
        server.logs()
    );
    assert!(
        std::fs::read(&download).unwrap() == data,
        "the file differs"
    );
    // The connection was left in order: the next request is served.
    assert_eq!(status(&server, &pki), "200");
}
