//! The axum peer of Portico's benchmarks: `GET /plaintext` and `GET /json` served by axum on a
//! tokio *current_thread* runtime (one thread, compared per core with `portico --threads 1`),
//! or with `--multi-thread` on tokio's multi-thread runtime (its default worker count; pinned
//! to one core by the benchmark, like Portico's default threads).
//!
//! Usage: `axum-peer PORT [--multi-thread]` (binds 127.0.0.1:PORT).

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

/// The port, and whether the multi-thread runtime was asked for.
fn parse_args(args: &[String]) -> Result<(u16, bool), String> {
    let (port, multi) = match args {
        [port] => (port, false),
        [port, flag] if flag == "--multi-thread" => (port, true),
        _ => return Err("usage: axum-peer PORT [--multi-thread]".to_string()),
    };
    port.parse::<u16>()
        .map(|p| (p, multi))
        .map_err(|_| format!("`{port}` is not a port number (0-65535)"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, multi_thread) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("axum-peer: {message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = match builder.enable_io().build() {
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
    fn port_and_runtime_arguments() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&args(&["8080"])), Ok((8080, false)));
        assert_eq!(parse_args(&args(&["8080", "--multi-thread"])), Ok((8080, true)));
        assert!(parse_args(&args(&["http"])).is_err());
        assert!(parse_args(&args(&["70000"])).is_err());
        assert!(parse_args(&[]).is_err());
        assert!(parse_args(&args(&["1", "2"])).is_err());
    }

    #[test]
    fn json_body_matches_portico_apps() {
        let body = serde_json::to_string(&Message {
            message: "Hello, World!",
        });
        assert_eq!(body.ok().as_deref(), Some(r#"{"message":"Hello, World!"}"#));
    }
}
