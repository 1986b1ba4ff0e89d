//! The hello benchmark app on handler-core: `/plaintext` and `/json` without a settings file.

use tests::{app_lib, Server};

#[test]
fn plaintext_and_json() {
    let server = Server::start(app_lib("hello"));
    for _ in 0..3 {
        let r = server.curl("/plaintext", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "Hello, World!");
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert_eq!(r.header("Content-Length"), Some("13"));
        let r = server.curl("/json", &[]);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), r#"{"message":"Hello, World!"}"#);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
    }
    assert_eq!(server.curl("/nope", &[]).status, 404);
}
