//! Issue 17 on the articles app: the differences from its Django twin (bench/peers/django,
//! Django 5.2 on gunicorn) that seeded random requests found, each as the repro request and
//! the twin's answer (status and the body's key fields), checked against the twin by hand
//! and by `bench/peers/django/differential.py`.

mod articles_support;

use std::io::Write;

use articles_support::*;
use serde_json::json;

/// The `error_handler` middleware's 500 naming `message` (the twin's `process_exception`).
fn handled(message: &str) -> serde_json::Value {
    json!({
        "status_code": 500,
        "message": "Internal Server Error",
        "data": {"message": message},
    })
}

/// One raw request on its own connection; the answer's status and body.
fn raw(app: &App, request: &str) -> (u16, Vec<u8>) {
    let mut s = app.connect();
    s.write_all(request.as_bytes()).expect("send the request");
    let bytes = tests::read_to_close(&mut s);
    let (mut responses, _) = tests::parse_responses(&bytes, &[false]);
    let r = responses.pop().expect("one response");
    (r.status, r.body)
}

#[test]
fn point_1_x_forwarded_host_does_not_replace_the_host() {
    // From 127.0.0.1, the default trusted proxy: Django 200, where the rewritten Host was a
    // DisallowedHost 400.
    let app = App::start("fid-xfh");
    let r = app.curl("/api/success/", &["-H", "X-Forwarded-Host: evil.example"]);
    assert_json(&r, 200, json!({"message": "Success", "data": [1, 2, 3]}));
}

#[test]
fn point_2_a_repeated_field_is_read_joined() {
    let app = App::start("fid-repeat");
    // `right,wrong` is not the key: 401, as gunicorn + Django.
    let r = app.curl(
        "/api/private/data/",
        &[
            "-H",
            "X-API-KEY: EXPECTED_SECRET_KEY",
            "-H",
            "X-API-KEY: wrong",
        ],
    );
    assert_status(&r, 401);
    assert_eq!(r.text(), "Invalid or missing API Key");
    // `Token admin-token,Token admin-token` splits into three words: anonymous.
    let twice = [
        "-H",
        "Authorization: Token admin-token",
        "-H",
        "Authorization: Token admin-token",
    ];
    let r = app.curl("/api/admin/", &twice);
    assert_json(&r, 401, json!({"error": "Authentication required"}));
    // Sent once, the same key and token still work.
    let r = app.curl(
        "/api/private/data/",
        &["-H", "X-API-KEY: EXPECTED_SECRET_KEY"],
    );
    assert_json(&r, 200, json!({"data": "private"}));
    let r = app.curl("/api/admin/", &twice[..2]);
    assert_json(&r, 200, json!({"message": "Admin area"}));
}

#[test]
fn point_3_a_fragment_is_dropped_from_the_target() {
    // curl strips fragments itself, so these go out raw.
    let app = App::start("fid-fragment");
    let (status, body) = raw(
        &app,
        "GET /api/success/#x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, body) = raw(
        &app,
        "GET /api/divide/?a=10&b=4#x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(doc, json!({"result": 2.5}));
}

#[test]
fn point_4_a_form_in_another_charset_is_refused() {
    // Django 5.2's BadRequest, raised by request.POST inside the view, so the twin's
    // error_handler answers it (its process_exception takes every error).
    let app = App::start("fid-charset");
    let r = app.curl(
        "/api/articles/",
        &[
            "-H",
            "Content-Type: application/x-www-form-urlencoded; charset=latin-1",
            "-d",
            "title=a&content=b",
        ],
    );
    assert_json(
        &r,
        500,
        handled(
            "HTTP requests with the 'application/x-www-form-urlencoded' content type must be \
             UTF-8 encoded.",
        ),
    );
    // A charset Python does not know is ignored (WSGIRequest never takes it): created.
    let r = app.curl(
        "/api/articles/",
        &[
            "-H",
            "Content-Type: application/x-www-form-urlencoded; charset=x-nonesuch",
            "-d",
            "title=a&content=b",
        ],
    );
    assert_status(&r, 201);
}

#[test]
fn point_5_multipart_is_refused_where_djangos_parser_refuses_it() {
    let app = App::start("fid-multipart");
    // 3 MiB of file: api_logging reads request.body first, which is RequestDataTooBig (400).
    let dir = tests::TempDir::new("fid-multipart-body");
    let mut big =
        b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
    big.extend_from_slice(b"\r\n--B--\r\n");
    let file = dir.write("big.txt", &big);
    let at = format!("@{}", file.display());
    for path in ["/api/echo/", "/api/articles/"] {
        let r = app.curl(
            path,
            &[
                "-H",
                "Content-Type: multipart/form-data; boundary=B",
                "--data-binary",
                &at,
            ],
        );
        assert_status(&r, 400);
        assert!(
            r.text().contains("Bad Request (400)"),
            "{path}: {}",
            r.text()
        );
    }
    // No boundary: MultiPartParserError, which the app's error handler answers.
    let r = app.curl(
        "/api/articles/",
        &[
            "-H",
            "Content-Type: multipart/form-data",
            "-d",
            "title=a&content=b",
        ],
    );
    assert_json(&r, 500, handled("Invalid boundary in multipart: None"));
    // Parts whose headers end in bare LFs are RAW parts to Django: no fields.
    let lf = "--XyZ\nContent-Disposition: form-data; name=\"title\"\n\nT\n\
              --XyZ\nContent-Disposition: form-data; name=\"content\"\n\nC\n--XyZ--\n";
    let r = app.curl(
        "/api/articles/",
        &[
            "-H",
            "Content-Type: multipart/form-data; boundary=XyZ",
            "--data-binary",
            lf,
        ],
    );
    assert_json(&r, 400, json!({"error": "Title and content are required"}));
    // The same form with CRLFs is read.
    let crlf = lf.replace('\n', "\r\n");
    let r = app.curl(
        "/api/articles/",
        &[
            "-H",
            "Content-Type: multipart/form-data; boundary=XyZ",
            "--data-binary",
            &crlf,
        ],
    );
    assert_status(&r, 201);
}

#[test]
fn point_6_an_empty_json_body_is_the_twins_empty_object() {
    // The twin reads `json.loads(request.body or b"{}")`, so an empty JSON body is `{}`:
    // the fields are missing on POST and nothing changes on PUT (the issue expected
    // json.loads(b"") to raise; handler-core's `request.json()` does, the twin does not call it).
    let app = App::start("fid-empty-json");
    let json_type = ["-H", "Content-Type: application/json"];
    let r = app.curl(
        "/api/articles/",
        &[&json_type[..], &["-X", "POST"]].concat(),
    );
    assert_json(&r, 400, json!({"error": "Title and content are required"}));
    let r = app.curl(
        "/api/articles/",
        &[&json_type[..], &["-d", r#"{"title": "t", "content": "c"}"#]].concat(),
    );
    assert_status(&r, 201);
    let id = r.json()["id"].as_i64().expect("an id");
    let r = app.curl(
        &format!("/api/articles/{id}/"),
        &[&json_type[..], &["-X", "PUT"]].concat(),
    );
    assert_json(&r, 200, json!({"id": id, "title": "t", "content": "c"}));
}

#[test]
fn point_8_methods_and_integer_errors_follow_the_twin() {
    let app = App::start("fid-methods");
    // Undecorated views answer any method.
    let r = app.curl("/", &["-X", "DELETE"]);
    assert_html(&r, 200);
    assert_eq!(r.text(), "Success!");
    let r = app.curl("/api/echo/", &["-X", "GET"]);
    assert_status(&r, 200);
    // The twin's `int()` is not caught.
    let r = app.curl("/api/stream/?n=x", &[]);
    assert_json(
        &r,
        500,
        handled("invalid literal for int() with base 10: 'x'"),
    );
    // The twin lower-cases the scheme (`parts[0].lower() == "token"`): signed in either way.
    let r = app.curl("/api/admin/", &["-H", "Authorization: token admin-token"]);
    assert_json(&r, 200, json!({"message": "Admin area"}));
}
