//! The articles app's contract (shared/contracts/articles-app.md), part 2: the JSON API:
//! articles CRUD (form and JSON bodies), users, token auth and staff, the API key, divide.
//!
//! Every test starts its own server on its own copy of the settings (own database).

mod articles_support;

use articles_support::*;
use serde_json::{json, Value};

fn create_form(app: &App, title: &str, content: &str) -> i64 {
    let t = format!("title={title}");
    let c = format!("content={content}");
    let r = app.curl(
        "/api/articles/",
        &["--data-urlencode", &t, "--data-urlencode", &c],
    );
    assert_status(&r, 201);
    let body = r.json();
    assert_eq!(body["message"], "Article created successfully", "{body}");
    body["id"].as_i64().expect("integer id")
}

#[test]
fn crud_sequence_with_form_and_json_bodies() {
    let app = App::start("crud");
    let r = app.curl("/api/articles/", &[]);
    assert_json(&r, 200, json!({"articles": []}));

    // Create: a form body, then a JSON body.
    let first = create_form(&app, "First & foremost", "café = ok");
    let r = app.curl(
        "/api/articles/",
        &[
            &JSON[..],
            &["--data-binary", r#"{"title": "Second", "content": "two"}"#],
        ]
        .concat(),
    );
    assert_json(
        &r,
        201,
        json!({"message": "Article created successfully", "id": first + 1}),
    );
    let second = first + 1;

    // The database sits next to the settings file.
    assert!(
        app.dir.database().exists(),
        "database created next to the settings"
    );

    let r = app.curl("/api/articles/", &[]);
    assert_json(
        &r,
        200,
        json!({"articles": [
            {"id": first, "title": "First & foremost", "content": "café = ok"},
            {"id": second, "title": "Second", "content": "two"},
        ]}),
    );

    let r = app.curl(&format!("/api/articles/{first}/"), &[]);
    assert_json(
        &r,
        200,
        json!({"id": first, "title": "First & foremost", "content": "café = ok"}),
    );

    // PUT with JSON updates only the given field.
    let r = app.curl(
        &format!("/api/articles/{first}/"),
        &[
            &JSON[..],
            &["-X", "PUT", "--data-binary", r#"{"title": "Renamed"}"#],
        ]
        .concat(),
    );
    assert_json(
        &r,
        200,
        json!({"id": first, "title": "Renamed", "content": "café = ok"}),
    );

    // PUT with a form body.
    let r = app.curl(
        &format!("/api/articles/{first}/"),
        &["-X", "PUT", "--data-urlencode", "content=new body"],
    );
    assert_json(
        &r,
        200,
        json!({"id": first, "title": "Renamed", "content": "new body"}),
    );
    let r = app.curl(&format!("/api/articles/{first}/"), &[]);
    assert_json(
        &r,
        200,
        json!({"id": first, "title": "Renamed", "content": "new body"}),
    );

    // DELETE: 204 with an empty body, then the article is gone.
    let r = app.curl(&format!("/api/articles/{first}/"), &["-X", "DELETE"]);
    assert_status(&r, 204);
    assert!(r.body.is_empty(), "204 body {:?}", r.text());
    for args in [&[][..], &["-X", "DELETE"], &["-X", "PUT", "-d", "title=x"]] {
        let r = app.curl(&format!("/api/articles/{first}/"), args);
        assert_json(&r, 404, json!({"error": "Article not found"}));
    }

    let r = app.curl("/api/articles/", &[]);
    assert_json(
        &r,
        200,
        json!({"articles": [{"id": second, "title": "Second", "content": "two"}]}),
    );
}

#[test]
fn list_is_ordered_by_id() {
    let app = App::start("ordered");
    let ids: Vec<i64> = ["c", "a", "b"]
        .iter()
        .map(|t| create_form(&app, t, "x"))
        .collect();
    let r = app.curl("/api/articles/", &[]);
    assert_status(&r, 200);
    let listed: Vec<i64> = r.json()["articles"]
        .as_array()
        .expect("articles array")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(listed, ids);
}

#[test]
fn unknown_article_ids_are_json_404() {
    let app = App::start("unknown-id");
    for method in ["GET", "PUT", "DELETE"] {
        let r = app.curl("/api/articles/4242/", &["-X", method]);
        assert_json(&r, 404, json!({"error": "Article not found"}));
    }
}

#[test]
fn create_requires_title_and_content() {
    let app = App::start("create-400");
    let missing = json!({"error": "Title and content are required"});
    let form_cases: [&[&str]; 4] = [
        &["-d", "title=only"],
        &["-d", "content=only"],
        &["-d", "title=&content=x"],
        &["-X", "POST"],
    ];
    for args in form_cases {
        let r = app.curl("/api/articles/", args);
        assert_json(&r, 400, missing.clone());
    }
    for body in [
        r#"{"title": "only"}"#,
        r#"{"content": "only"}"#,
        r#"{"title": "", "content": "x"}"#,
        r#"{}"#,
    ] {
        let r = app.curl(
            "/api/articles/",
            &[&JSON[..], &["--data-binary", body]].concat(),
        );
        assert_json(&r, 400, missing.clone());
    }
    // Nothing was created.
    let r = app.curl("/api/articles/", &[]);
    assert_json(&r, 200, json!({"articles": []}));
}

#[test]
fn invalid_json_is_400() {
    let app = App::start("invalid-json");
    for body in [
        r#"{"title": "x", "content": "#,
        "not json",
        "{'title': 'x'}",
    ] {
        let r = app.curl(
            "/api/articles/",
            &[&JSON[..], &["--data-binary", body]].concat(),
        );
        assert_json(&r, 400, json!({"error": "Invalid JSON"}));
    }
    let id = create_form(&app, "t", "c");
    let r = app.curl(
        &format!("/api/articles/{id}/"),
        &[&JSON[..], &["-X", "PUT", "--data-binary", "{nope"]].concat(),
    );
    assert_json(&r, 400, json!({"error": "Invalid JSON"}));
}

#[test]
fn users_post_validates_username_and_email() {
    let app = App::start("users");
    let r = app.curl(
        "/api/users/",
        &["-d", "username=alice", "-d", "email=a@example.com"],
    );
    assert_json(&r, 201, json!({"message": "User created"}));
    let r = app.curl(
        "/api/users/",
        &[
            &JSON[..],
            &[
                "--data-binary",
                r#"{"username": "bob", "email": "b@x.org"}"#,
            ],
        ]
        .concat(),
    );
    assert_json(&r, 201, json!({"message": "User created"}));

    let required = json!({"error": "Username and email are required"});
    for args in [
        &["-d", "username=alice"][..],
        &["-d", "email=a@example.com"],
        &["-d", "username=&email=a@b"],
        &["-X", "POST"],
    ] {
        let r = app.curl("/api/users/", args);
        assert_json(&r, 400, required.clone());
    }
    let r = app.curl(
        "/api/users/",
        &[&JSON[..], &["--data-binary", r#"{"username": "bob"}"#]].concat(),
    );
    assert_json(&r, 400, required);

    let r = app.curl("/api/users/", &["-d", "username=alice", "-d", "email=nope"]);
    assert_json(&r, 400, json!({"error": "Invalid email format"}));
    let r = app.curl(
        "/api/users/",
        &[
            &JSON[..],
            &["--data-binary", r#"{"username": "a", "email": "x.y"}"#],
        ]
        .concat(),
    );
    assert_json(&r, 400, json!({"error": "Invalid email format"}));
}

#[test]
fn users_other_methods_are_400_text() {
    let app = App::start("users-methods");
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let r = app.curl("/api/users/", &["-X", method]);
        assert_status(&r, 400);
        assert_eq!(r.text(), "Only POST method allowed", "{method}");
    }
}

#[test]
fn protected_needs_a_token() {
    let app = App::start("protected");
    let required = json!({"error": "Authentication required"});
    let r = app.curl("/api/protected/", &[]);
    assert_json(&r, 401, required.clone());
    for header in [
        "Authorization: Token wrong-token",
        "Authorization: Bearer user-token",
        "Authorization: user-token",
    ] {
        let r = app.curl("/api/protected/", &["-H", header]);
        assert_json(&r, 401, required.clone());
    }
    for token in ["user-token", "admin-token"] {
        let h = format!("Authorization: Token {token}");
        let r = app.curl("/api/protected/", &["-H", &h]);
        assert_json(&r, 200, json!({"data": "Secret information"}));
    }
}

#[test]
fn admin_needs_a_staff_user() {
    let app = App::start("admin");
    let r = app.curl("/api/admin/", &[]);
    assert_json(&r, 401, json!({"error": "Authentication required"}));
    let r = app.curl("/api/admin/", &["-H", "Authorization: Token user-token"]);
    assert_json(&r, 403, json!({"error": "You do not have permission"}));
    let r = app.curl("/api/admin/", &["-H", "Authorization: Token admin-token"]);
    assert_json(&r, 200, json!({"message": "Admin area"}));
}

#[test]
fn private_data_needs_the_api_key() {
    let app = App::start("api-key");
    for args in [
        &[][..],
        &["-H", "X-API-KEY: wrong"],
        &["-H", "X-API-KEY: expected_secret_key"],
        &["-H", "X-API-KEY:"],
    ] {
        let r = app.curl("/api/private/data/", args);
        assert_status(&r, 401);
        assert_eq!(r.text(), "Invalid or missing API Key", "{args:?}");
    }
    let r = app.curl(
        "/api/private/data/",
        &["-H", "X-API-KEY: EXPECTED_SECRET_KEY"],
    );
    assert_json(&r, 200, json!({"data": "private"}));
    // Header names are case-insensitive.
    let r = app.curl(
        "/api/private/data/",
        &["-H", "x-api-key: EXPECTED_SECRET_KEY"],
    );
    assert_json(&r, 200, json!({"data": "private"}));
    // The key is required under /api/private/ only.
    let r = app.curl("/api/success/", &[]);
    assert_status(&r, 200);
}

#[test]
fn the_api_key_comes_from_the_settings() {
    let app = App::start_with(
        "api-key-setting",
        &[(
            r#"api_key = "EXPECTED_SECRET_KEY""#,
            r#"api_key = "other-key""#,
        )],
    );
    let r = app.curl(
        "/api/private/data/",
        &["-H", "X-API-KEY: EXPECTED_SECRET_KEY"],
    );
    assert_status(&r, 401);
    let r = app.curl("/api/private/data/", &["-H", "X-API-KEY: other-key"]);
    assert_json(&r, 200, json!({"data": "private"}));
}

#[test]
fn powered_by_comes_from_the_settings() {
    let app = App::start_with(
        "powered-by-setting",
        &[(r#"powered_by = "handler-core""#, r#"powered_by = "tests""#)],
    );
    let r = app.curl("/", &[]);
    assert_eq!(r.header("X-Powered-By"), Some("tests"));
}

fn divide(app: &App, query: &str) -> (u16, Value, String) {
    let r = app.curl(&format!("/api/divide/?{query}"), &[]);
    assert_common_headers(&r);
    (r.status, r.json(), r.text())
}

#[test]
fn divide_returns_a_float() {
    let app = App::start("divide");
    let (status, body, _) = divide(&app, "a=7&b=2");
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": 3.5}));

    let (status, body, text) = divide(&app, "a=6&b=3");
    assert_eq!(status, 200);
    assert!(body["result"].is_f64(), "a float even when exact: {text}");
    assert_eq!(body["result"].as_f64(), Some(2.0));
    assert!(text.contains("2.0"), "{text}");

    let (status, body, _) = divide(&app, "a=-7&b=2");
    assert_eq!(status, 200);
    assert_eq!(body, json!({"result": -3.5}));

    let (status, body, _) = divide(&app, "a=1&b=3");
    assert_eq!(status, 200);
    let q = body["result"].as_f64().expect("float");
    assert!((q - 1.0 / 3.0).abs() < 1e-12, "{q}");
}

#[test]
fn divide_by_zero_is_400() {
    let app = App::start("divide-zero");
    for query in ["a=1&b=0", "a=0&b=0", "a=-5&b=0"] {
        let (status, body, _) = divide(&app, query);
        assert_eq!(status, 400, "{query}");
        assert_eq!(body, json!({"error": "Cannot divide by zero"}), "{query}");
    }
}

#[test]
fn divide_with_missing_or_bad_numbers_is_a_caught_500() {
    let app = App::start("divide-bad");
    for query in [
        "",
        "a=1",
        "b=2",
        "a=x&b=2",
        "a=1&b=two",
        "a=1.5&b=2",
        "a=&b=",
    ] {
        let (status, body, _) = divide(&app, query);
        assert_eq!(status, 500, "{query:?}");
        assert_eq!(body, json!({"error": "Server error"}), "{query:?}");
    }
}

#[test]
fn divide_follows_python_for_integers_of_any_size() {
    // The body text as Django's JsonResponse writes it: Python's int(a) / int(b), correctly
    // rounded, and the float as repr() writes it.
    // A longer request line than gunicorn's default 4094, for the 4301-digit case below.
    let app = App::start_with_args("divide-python", &["--limit-request-line", "8190"]);
    for (query, body) in [
        ("a=99999999999999999999&b=2", r#"{"result": 5e+19}"#),
        (
            "a=9007199254740995&b=3",
            r#"{"result": 3002399751580331.5}"#,
        ),
        (
            "a=9007199254740993&b=1",
            r#"{"result": 9007199254740992.0}"#,
        ),
        ("a=1&b=100000", r#"{"result": 1e-05}"#),
        ("a=1&b=10000", r#"{"result": 0.0001}"#),
        ("a=10000000000000000&b=1", r#"{"result": 1e+16}"#),
        ("a=-7&b=2", r#"{"result": -3.5}"#),
        ("a=0&b=-5", r#"{"result": -0.0}"#),
        ("a=%201_000%20&b=%2B3", r#"{"result": 333.3333333333333}"#),
        ("a=1&b=99999999999999999999", r#"{"result": 1e-20}"#),
    ] {
        let (status, _, text) = divide(&app, query);
        assert_eq!((status, text.as_str()), (200, body), "{query}");
    }
    let huge = format!("1{}", "0".repeat(400));
    // A quotient too large for a float: Python's OverflowError, caught as the view's 500.
    let (status, body, _) = divide(&app, &format!("a={huge}&b=1"));
    assert_eq!(
        (status, body),
        (500, json!({"error": "Server error"})),
        "overflow"
    );
    // Too small: 0.0, as Python underflows.
    let (status, _, text) = divide(&app, &format!("a=1&b={huge}"));
    assert_eq!((status, text.as_str()), (200, r#"{"result": 0.0}"#));
    // Past int()'s 4300-digit limit: a ValueError, the 500.
    let (status, _, _) = divide(&app, &format!("a={}&b=1", "1".repeat(4301)));
    assert_eq!(status, 500, "int() digit limit");
    let (status, body, _) = divide(&app, "a=99999999999999999999&b=0");
    assert_eq!(
        (status, body),
        (400, json!({"error": "Cannot divide by zero"}))
    );
    for query in ["a=1_&b=2", "a=1__0&b=2", "a=-%201&b=2", "a=0x10&b=2"] {
        let (status, _, _) = divide(&app, query);
        assert_eq!(status, 500, "{query}: not an int() literal");
    }
}

fn post_json(app: &App, path: &str, method: &str, body: &str) -> tests::CurlResponse {
    app.curl(
        path,
        &[&JSON[..], &["-X", method, "--data-binary", body]].concat(),
    )
}

#[test]
fn create_reads_request_post_as_django_does() {
    let app = App::start("create-post");
    // multipart/form-data is a form too (curl -F).
    let r = app.curl("/api/articles/", &["-F", "title=M", "-F", "content=P"]);
    assert_json(
        &r,
        201,
        json!({"message": "Article created successfully", "id": 1}),
    );
    // request.POST is empty for any other type, whatever the body looks like.
    for ct in ["text/plain", "application/octet-stream", "application/xml"] {
        let h = format!("Content-Type: {ct}");
        let r = app.curl(
            "/api/articles/",
            &["-H", &h, "--data-binary", "title=x&content=y"],
        );
        assert_json(&r, 400, json!({"error": "Title and content are required"}));
    }
    // A JSON request with no body is `json.loads(b"{}")`: no fields, not invalid JSON.
    let r = app.curl("/api/articles/", &[&JSON[..], &["-X", "POST"]].concat());
    assert_json(&r, 400, json!({"error": "Title and content are required"}));
    // A file upload is in request.FILES, not request.POST.
    let file = app.dir.dir.write("title.txt", "From a file");
    let at = format!("title=@{}", file.display());
    let r = app.curl("/api/articles/", &["-F", &at, "-F", "content=P"]);
    assert_json(&r, 400, json!({"error": "Title and content are required"}));
    let r = app.curl("/api/articles/", &[]);
    assert_json(
        &r,
        200,
        json!({"articles": [{"id": 1, "title": "M", "content": "P"}]}),
    );
}

#[test]
fn json_values_python_finds_falsy_are_missing() {
    let app = App::start("falsy");
    for (title, content) in [
        ("0", "false"),
        ("null", r#""x""#),
        (r#""""#, r#""x""#),
        ("[]", r#""x""#),
        ("{}", r#""x""#),
        ("0.0", r#""x""#),
        (r#""x""#, "-0"),
    ] {
        let body = format!(r#"{{"title": {title}, "content": {content}}}"#);
        let r = post_json(&app, "/api/articles/", "POST", &body);
        assert_json(&r, 400, json!({"error": "Title and content are required"}));
    }
    let r = app.curl("/api/articles/", &[]);
    assert_json(&r, 200, json!({"articles": []}));
}

#[test]
fn truthy_json_values_are_stored_as_python_str_of_them() {
    let app = App::start("str-values");
    for (title, content, stored_title, stored_content) in [
        ("5", "true", "5", "True"),
        (
            "99999999999999999999",
            "1e16",
            "99999999999999999999",
            "1e+16",
        ),
        ("1.5", "NaN", "1.5", "nan"),
        (
            r#"[1, "a'b", null]"#,
            r#"{"k": [false, 0.5]}"#,
            r#"[1, "a'b", None]"#,
            "{'k': [False, 0.5]}",
        ),
    ] {
        let body = format!(r#"{{"title": {title}, "content": {content}}}"#);
        let r = post_json(&app, "/api/articles/", "POST", &body);
        assert_status(&r, 201);
        let id = r.json()["id"].as_i64().expect("id");
        let r = app.curl(&format!("/api/articles/{id}/"), &[]);
        assert_json(
            &r,
            200,
            json!({"id": id, "title": stored_title, "content": stored_content}),
        );
    }
    // A lone surrogate is valid JSON to Python but cannot be stored: UnicodeEncodeError, the
    // error_handler's 500.
    let r = post_json(
        &app,
        "/api/articles/",
        "POST",
        r#"{"title": "\ud800", "content": "x"}"#,
    );
    assert_status(&r, 500);
    assert_eq!(r.json()["message"], "Internal Server Error", "{}", r.text());
}

#[test]
fn put_sets_every_field_present_as_the_seed_view_does() {
    let app = App::start("put-values");
    let id = create_form(&app, "t", "c");
    let url = format!("/api/articles/{id}/");
    // The response is the instance after setattr: the values as sent; the row has str() of them.
    let r = post_json(
        &app,
        &url,
        "PUT",
        r#"{"title": 5, "content": [1, {"a": null}]}"#,
    );
    assert_json(
        &r,
        200,
        json!({"id": id, "title": 5, "content": [1, {"a": null}]}),
    );
    let r = app.curl(&url, &[]);
    assert_json(
        &r,
        200,
        json!({"id": id, "title": "5", "content": "[1, {'a': None}]"}),
    );
    // A field present but falsy is still set (there is no `if not` in put).
    let r = post_json(&app, &url, "PUT", r#"{"title": "", "content": false}"#);
    assert_json(&r, 200, json!({"id": id, "title": "", "content": false}));
    let r = app.curl(&url, &[]);
    assert_json(&r, 200, json!({"id": id, "title": "", "content": "False"}));
    // null is stored as NULL, which the NOT NULL column refuses: IntegrityError, the JSON 500.
    let r = post_json(&app, &url, "PUT", r#"{"title": null}"#);
    assert_status(&r, 500);
    let message = r.json()["data"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("NOT NULL constraint failed"),
        "{}",
        r.text()
    );
    // An empty JSON body is {}: nothing changes.
    let r = app.curl(&url, &[&JSON[..], &["-X", "PUT"]].concat());
    assert_json(&r, 200, json!({"id": id, "title": "", "content": "False"}));
    // A non-JSON PUT is QueryDict(request.body), whatever its Content-Type.
    let r = app.curl(
        &url,
        &[
            "-X",
            "PUT",
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "title=T&x=1",
        ],
    );
    assert_json(&r, 200, json!({"id": id, "title": "T", "content": "False"}));
    // The seeds look the article up before they read the body: an unknown id is 404 even with
    // bad JSON.
    let r = post_json(&app, "/api/articles/4242/", "PUT", "{bad");
    assert_json(&r, 404, json!({"error": "Article not found"}));
}

#[test]
fn put_answers_404_for_a_missing_article_whatever_is_wrong_with_the_body() {
    let app = App::start("put-order");
    let id = create_form(&app, "t", "c");
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    // Each body fails on an existing article (the seeds' 400, or a 500 past the view: a lone
    // surrogate cannot be stored, NULL is refused, JSON past Python's recursion limit) ...
    for (body, status) in [
        ("{bad", 400),
        ("[1]", 400),
        (r#"{"title": "\ud800"}"#, 500),
        (r#"{"title": null}"#, 500),
        (deep.as_str(), 500),
    ] {
        let r = post_json(&app, &format!("/api/articles/{id}/"), "PUT", body);
        assert_status(&r, status);
        // ... and is the 404 on a missing one, as the article is looked up first.
        let r = post_json(&app, "/api/articles/4242/", "PUT", body);
        assert_json(&r, 404, json!({"error": "Article not found"}));
    }
    let r = app.curl(&format!("/api/articles/{id}/"), &[]);
    assert_json(&r, 200, json!({"id": id, "title": "t", "content": "c"}));
}

#[test]
fn users_read_their_fields_like_the_article_views() {
    let app = App::start("users-bodies");
    let r = app.curl(
        "/api/users/",
        &["-F", "username=alice", "-F", "email=a@example.com"],
    );
    assert_json(&r, 201, json!({"message": "User created"}));
    let r = app.curl(
        "/api/users/",
        &[
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "username=alice&email=a@example.com",
        ],
    );
    assert_json(&r, 400, json!({"error": "Username and email are required"}));
    let r = post_json(
        &app,
        "/api/users/",
        "POST",
        r#"{"username": 0, "email": "a@b"}"#,
    );
    assert_json(&r, 400, json!({"error": "Username and email are required"}));
    // `"@" in email` on a list is membership.
    let r = post_json(
        &app,
        "/api/users/",
        "POST",
        r#"{"username": "a", "email": ["@"]}"#,
    );
    assert_json(&r, 201, json!({"message": "User created"}));
    let r = post_json(
        &app,
        "/api/users/",
        "POST",
        r#"{"username": "a", "email": ["a@b"]}"#,
    );
    assert_json(&r, 400, json!({"error": "Invalid email format"}));
    // ... and a TypeError on a number: the JSON 500.
    let r = post_json(
        &app,
        "/api/users/",
        "POST",
        r#"{"username": "a", "email": 5}"#,
    );
    assert_status(&r, 500);
    assert_eq!(
        r.json()["data"]["message"],
        "argument of type 'int' is not iterable"
    );
}

#[test]
fn ids_beyond_sqlite_integers_are_not_found() {
    // Django's <int:id> matches them, and Django 5 answers a lookup out of the column's range
    // with an empty result: the view's JSON 404, not the html page of an unmatched URL.
    let app = App::start("huge-id");
    for id in [
        "99999999999999999999",
        "9223372036854775808",
        "9223372036854775807",
    ] {
        let url = format!("/api/articles/{id}/");
        for method in ["GET", "PUT", "DELETE"] {
            let r = app.curl(&url, &["-X", method]);
            assert_json(&r, 404, json!({"error": "Article not found"}));
        }
        let r = app.curl(&url, &["-X", "OPTIONS"]);
        assert_status(&r, 200);
        assert_eq!(r.header("Allow"), Some("GET, PUT, DELETE, HEAD, OPTIONS"));
        let r = app.curl(&url, &["-X", "PATCH"]);
        assert_status(&r, 405);
        let r = head(&app, &url, &[]);
        assert_status(&r, 404);
        assert!(r.body.is_empty());
    }
    let r = app.curl("/api/articles/99999999999999999999", &[]);
    assert_status(&r, 301);
    assert_eq!(
        r.header("Location"),
        Some("/api/articles/99999999999999999999/")
    );
}
