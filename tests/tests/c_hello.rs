//! The C sample app (`sample-apps/c-hello`, built by `tests/build.rs`) served by portico:
//! the ABI works from plain C.

use std::time::Duration;

use tests::{pseudo_random_bytes, Server, TempDir};

fn c_hello() -> Server {
    Server::start(env!("C_HELLO_LIB"))
}

#[test]
fn c_hello_serves_plaintext_and_404() {
    let server = c_hello();
    let r = server.curl("/plaintext", &[]);
    assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "Hello, World!");
    assert_eq!(r.header("content-length"), Some("13"));
    assert_eq!(server.curl("/nope", &[]).status, 404);
    assert!(server.wait_for_log("c-hello ready", Duration::from_secs(10)));
}

#[test]
fn c_hello_echoes_one_mib_byte_for_byte() {
    let server = c_hello();
    let dir = TempDir::new("cecho");
    let data = pseudo_random_bytes(1024 * 1024, 11);
    let file = dir.write("body.bin", &data);
    let at = format!("@{}", file.display());
    for extra in [&[][..], &["-H", "Transfer-Encoding: chunked"][..]] {
        let mut args = vec!["-H", "Content-Type: application/x-c", "--data-binary", &at];
        args.extend_from_slice(extra);
        let r = server.curl("/echo", &args);
        assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
        assert_eq!(r.status, 200, "{extra:?}");
        assert_eq!(r.header("content-type"), Some("application/x-c"));
        assert_eq!(r.body.len(), data.len(), "{extra:?}");
        assert!(r.body == data, "the echoed body differs ({extra:?})");
    }
}

#[test]
fn c_hello_answers_a_wrong_method_with_405_and_allow() {
    let server = c_hello();
    for (path, method, allow) in [
        ("/echo", "GET", "POST"),
        ("/echo", "PUT", "POST"),
        ("/echo", "DELETE", "POST"),
        ("/plaintext", "POST", "GET, HEAD"),
        ("/plaintext", "DELETE", "GET, HEAD"),
    ] {
        let r = server.curl(path, &["-X", method]);
        assert_eq!(r.exit_code, 0, "curl failed: {}", r.stderr);
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert!(r.body.is_empty(), "{method} {path}: {:?}", r.text());
    }
    let r = server.curl("/echo", &["-I"]);
    assert_eq!(r.status, 405, "HEAD /echo");
    assert_eq!(r.header("allow"), Some("POST"));
    // The other paths are still unknown.
    assert_eq!(server.curl("/echo/", &[]).status, 404);
}
