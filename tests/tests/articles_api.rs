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
