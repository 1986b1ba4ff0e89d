//! The axum peer of Portico's benchmarks: `GET /plaintext` and `GET /json` served by axum on a
//! tokio *current_thread* runtime, so it uses one core and compares per core with
//! `portico --threads 1`.
//!
//! Usage: `axum-peer PORT` (binds 127.0.0.1:PORT).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The JSON body, the same bytes as Portico's sample apps send.
#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn plaintext() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "Hello, World!")
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

fn app() -> Router {
    Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
}

fn parse_port(args: &[String]) -> Result<u16, String> {
    match args {
        [port] => port
            .parse::<u16>()
            .map_err(|_| format!("`{port}` is not a port number (0-65535)")),
        _ => Err("usage: axum-peer PORT".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match parse_port(&args) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("axum-peer: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("axum-peer: cannot build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: std::io::Result<()> = runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_argument() {
        assert_eq!(parse_port(&["8080".to_string()]), Ok(8080));
        assert!(parse_port(&["http".to_string()]).is_err());
        assert!(parse_port(&["70000".to_string()]).is_err());
        assert!(parse_port(&[]).is_err());
        assert!(parse_port(&["1".to_string(), "2".to_string()]).is_err());
    }

    #[test]
    fn json_body_matches_portico_apps() {
        let body = serde_json::to_string(&Message {
            message: "Hello, World!",
        });
        assert_eq!(body.ok().as_deref(), Some(r#"{"message":"Hello, World!"}"#));
    }
}
