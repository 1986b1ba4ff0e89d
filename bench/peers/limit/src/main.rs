//! The limit server: one thread, one mio poll, edge-triggered; per readiness event it reads
//! until the socket is empty, counts the complete request heads (`\r\n\r\n`), appends one canned
//! response per head to a write buffer, and writes it in one call. No parsing, no routing, no
//! date: the ceiling any real server on this machine sits under, for the pipelined benchmark.
//!
//! `limit-peer PORT` serves `GET /plaintext`-shaped requests on 127.0.0.1:PORT.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: limit\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    /// Bytes of an unfinished head carried over from the last read.
    partial: Vec<u8>,
    out: Vec<u8>,
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    poll.registry().register(
                        &mut stream,
                        Token(next),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conns.insert(
                        next,
                        Conn {
                            stream,
                            partial: Vec::new(),
                            out: Vec::new(),
                        },
                    );
                    next += 1;
                }
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(&key) else {
                continue;
            };
            let mut closed = false;
            loop {
                match conn.stream.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        conn.partial.extend_from_slice(&buf[..n]);
                        let mut used = 0;
                        while let Some(i) = memchr::memmem::find(&conn.partial[used..], b"\r\n\r\n") {
                            conn.out.extend_from_slice(RESPONSE);
                            used += i + 4;
                        }
                        conn.partial.drain(..used);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            while !conn.out.is_empty() {
                match conn.stream.write(&conn.out) {
                    Ok(n) => {
                        conn.out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                conns.remove(&key);
            }
        }
    }
}
