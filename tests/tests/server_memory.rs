//! Memory stays bounded per connection whatever a client does: pipelining big answers and never
//! reading them, uploading a gigabyte while reading the echo slowly, or sending a body the app
//! never reads. Each test watches the server's resident memory from `/proc` while it happens
//! (the master's and its worker's together).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tests::{app_lib, read_more_responses, Server};

const MIB: u64 = 1024;

/// Samples the server's RSS (KiB) every 20 ms on its own thread until dropped; keeps the peak.
struct Watch {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watch {
    fn start(server: &Server) -> Watch {
        let pid = server.pid();
        let peak = Arc::new(AtomicU64::new(server.rss_kib()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    if let Some(kib) = rss_of(pid) {
                        peak.fetch_max(kib, Ordering::AcqRel);
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Watch {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The server's RSS: its master's and its workers'.
fn rss_of(pid: u32) -> Option<u64> {
    tests::tree_rss_kib(pid)
}

/// A server that has served a few requests already (its pools and caches are warm).
fn warm_server(args: &[&str]) -> Server {
    let server = Server::builder(app_lib("raw_hello")).args(args).start();
    for _ in 0..3 {
        assert_eq!(server.curl("/plaintext", &[]).status, 200);
    }
    server
}

#[test]
fn clients_that_pipeline_big_answers_and_never_read_cannot_grow_memory() {
    let server = warm_server(&[]);
    let start = server.rss_kib();
    let watch = Watch::start(&server);
    // 8 connections, each asking for 50 streamed answers of about 100 KiB, reading none.
    let request = b"GET /stream?n=10000 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
    let conns: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(&request).expect("send the batch");
            s
        })
        .collect();
    thread::sleep(Duration::from_millis(1500));
    let grown = watch.peak().saturating_sub(start);
    eprintln!("pipelined, never read: RSS {start} KiB, peak +{grown} KiB");
    assert!(
        grown < 32 * MIB,
        "RSS grew by {} KiB (from {start} KiB) with 8 clients owed 40 MiB of answers",
        grown
    );
    // The clients leave (with unread data: their connections are reset); memory comes back.
    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = server.rss_kib();
        if now <= 2 * start {
            eprintln!("pipelined, never read: RSS {now} KiB after the clients left");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "RSS {now} KiB 10 s after the clients left, started at {start} KiB"
        );
        thread::sleep(Duration::from_millis(100));
    }
    // And the server still serves.
    assert_eq!(server.curl("/plaintext", &[]).status, 200);
}

#[test]
fn a_one_gib_chunked_upload_echoed_to_a_slow_reader_keeps_memory_flat() {
    // No body limit: the default 64 MiB would cut the upload.
    let server = warm_server(&["--limit-request-body", "0"]);
    let start = server.rss_kib();
    let watch = Watch::start(&server);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut writer = s.try_clone().expect("clone");
    const CHUNK: usize = 64 * 1024;
    const CHUNKS: usize = 16 * 1024; // 1 GiB
    let upload = thread::spawn(move || {
        writer
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            .expect("head");
        let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
        chunk.extend(std::iter::repeat_n(b'e', CHUNK));
        chunk.extend_from_slice(b"\r\n");
        for _ in 0..CHUNKS {
            writer.write_all(&chunk).expect("a chunk");
        }
        writer.write_all(b"0\r\n\r\n").expect("the last chunk");
    });
    // Read the echo in bursts with pauses: slower than the server can produce it.
    let mut raw = Vec::with_capacity(64 * 1024);
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    let mut bursts = 0u64;
    let body_start = loop {
        let n = s.read(&mut buf).expect("read the head");
        assert!(n > 0, "closed before the head");
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..body_start]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut tail: Vec<u8> = raw[body_start..].to_vec();
    total += tail.len() as u64;
    loop {
        let n = s.read(&mut buf).expect("read the echo");
        assert!(n > 0, "the echo was cut after {total} bytes");
        total += n as u64;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 16 {
            tail.drain(..tail.len() - 16);
        }
        if tail.ends_with(b"\r\n0\r\n\r\n") {
            break;
        }
        bursts += 1;
        if bursts.is_multiple_of(8) {
            thread::sleep(Duration::from_millis(2));
        }
    }
    upload.join().expect("the upload");
    // The echo is chunked: at least the gigabyte came back.
    assert!(total > (CHUNK * CHUNKS) as u64, "{total} bytes echoed");
    let grown = watch.peak().saturating_sub(start);
    eprintln!("1 GiB echo: {total} bytes back, RSS {start} KiB, peak +{grown} KiB");
    assert!(
        grown < 16 * MIB,
        "RSS grew by {grown} KiB (from {start} KiB) while 1 GiB streamed through"
    );
}

#[test]
fn a_64_mib_body_the_app_never_reads_gets_its_answer_without_growing_memory() {
    let server = warm_server(&[]);
    let start = server.rss_kib();
    let watch = Watch::start(&server);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    const BODY: usize = 64 * 1024 * 1024;
    let mut writer = s.try_clone().expect("clone");
    let upload = thread::spawn(move || {
        let head = format!("GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\n\r\n");
        writer.write_all(head.as_bytes()).expect("head");
        // The server answers without reading this, and may close before it is all sent.
        let block = vec![b'b'; 1024 * 1024];
        (0..BODY / block.len()).all(|_| writer.write_all(&block).is_ok())
    });
    let mut data = Vec::new();
    let (resps, _) = read_more_responses(&mut s, &mut data, 1, &[]);
    assert_eq!(resps.first().map(|r| r.status), Some(200), "the answer");
    assert_eq!(resps[0].body, b"Hello, World!");
    let _ = upload.join();
    let grown = watch.peak().saturating_sub(start);
    eprintln!("64 MiB unread body: RSS {start} KiB, peak +{grown} KiB");
    assert!(
        grown < 16 * MIB,
        "RSS grew by {grown} KiB (from {start} KiB) for a 64 MiB body nobody read"
    );
}
