//! The JSON bodies of the contract, as types: their fields serialise in the order the seeds'
//! Python dicts list them (serde_json's `Value` maps would sort the keys), and a typo in a key is
//! a compile error rather than a silent contract break.

use serde::Serialize;

use crate::models::Article;

/// `{"error": "..."}`: every 4xx the API answers.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// What went wrong, in the contract's words.
    pub error: &'a str,
}

/// `{"message": "..."}`.
#[derive(Debug, Serialize)]
pub struct MessageBody<'a> {
    /// The message.
    pub message: &'a str,
}

/// `{"data": ...}`.
#[derive(Debug, Serialize)]
pub struct DataBody<T: Serialize> {
    /// The payload.
    pub data: T,
}

/// `/api/success/`: `{"message": "Success", "data": [1, 2, 3]}`.
#[derive(Debug, Serialize)]
pub struct SuccessBody {
    /// Always "Success".
    pub message: &'static str,
    /// Always `[1, 2, 3]`.
    pub data: [u8; 3],
}

/// `GET /api/articles/`: `{"articles": [...]}`.
#[derive(Debug, Serialize)]
pub struct ArticleListBody {
    /// Every article, ordered by id.
    pub articles: Vec<Article>,
}

/// `POST /api/articles/` → 201: `{"message": "Article created successfully", "id": N}`.
#[derive(Debug, Serialize)]
pub struct CreatedBody {
    /// Always "Article created successfully".
    pub message: &'static str,
    /// The new article's id.
    pub id: i64,
}

/// `/api/divide/`: `{"result": a / b}`, always a float (Python's true division).
#[derive(Debug, Serialize)]
pub struct DivideBody {
    /// The quotient.
    pub result: f64,
}

/// `/api/slow/`: `{"slept_ms": N}`.
#[derive(Debug, Serialize)]
pub struct SleptBody {
    /// How long the view slept.
    pub slept_ms: u64,
}

/// The `error_handler` middleware's 500: `{"status_code": 500, "message": "Internal Server
/// Error", "data": {"message": "..."}}`.
#[derive(Debug, Serialize)]
pub struct ServerErrorBody<'a> {
    /// Always 500.
    pub status_code: u16,
    /// Always "Internal Server Error".
    pub message: &'static str,
    /// The error's own message.
    pub data: MessageBody<'a>,
}

impl<'a> ServerErrorBody<'a> {
    /// The body for an unhandled error whose text is `error`.
    pub fn new(error: &'a str) -> Self {
        ServerErrorBody {
            status_code: 500,
            message: "Internal Server Error",
            data: MessageBody { message: error },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &impl Serialize) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn keys_keep_the_seeds_order() {
        assert_eq!(
            text(&SuccessBody {
                message: "Success",
                data: [1, 2, 3]
            }),
            r#"{"message":"Success","data":[1,2,3]}"#
        );
        assert_eq!(
            text(&CreatedBody {
                message: "Article created successfully",
                id: 7
            }),
            r#"{"message":"Article created successfully","id":7}"#
        );
        assert_eq!(
            text(&ServerErrorBody::new("boom")),
            r#"{"status_code":500,"message":"Internal Server Error","data":{"message":"boom"}}"#
        );
    }

    #[test]
    fn division_results_are_python_floats() {
        for (x, json) in [
            (2.0, r#"{"result": 2.0}"#),
            (3.5, r#"{"result": 3.5}"#),
            (5e19, r#"{"result": 5e+19}"#),
            (1e-5, r#"{"result": 1e-05}"#),
            (-0.0, r#"{"result": -0.0}"#),
        ] {
            let body =
                handler_core::http::response::to_python_json(&DivideBody { result: x }).unwrap();
            assert_eq!(String::from_utf8(body).unwrap(), json);
        }
    }

    #[test]
    fn articles_serialise_id_title_content() {
        let body = ArticleListBody {
            articles: vec![Article {
                id: 1,
                title: "t".into(),
                content: "c".into(),
            }],
        };
        assert_eq!(
            text(&body),
            r#"{"articles":[{"id":1,"title":"t","content":"c"}]}"#
        );
    }
}
