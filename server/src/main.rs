//! portico: the HTTP/1.1 server process. Parses the command line, installs the logger and hands
//! over to the `server` library, which loads the app and runs the event loop; `portico manage`
//! runs one of the app's management commands instead (django-admin's role).

mod manage;

use std::process::ExitCode;

use clap::Parser;

use server::config::{Config, ManageArgs};

fn main() -> ExitCode {
    // `manage` is a word before the server's own positional APP_LIBRARY, so it is told apart
    // here rather than as a clap subcommand (which would make every library path a candidate
    // subcommand name).
    if std::env::args_os().nth(1).is_some_and(|a| a == "manage") {
        let args = ManageArgs::parse_from(std::env::args_os().skip(1));
        manage::init_logging(&args);
        return match manage::run(&args) {
            Ok(status) => ExitCode::from(status),
            Err(e) => {
                eprintln!("portico: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = Config::parse();
    server::init_logging(&config);
    match server::serve(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portico: {e}");
            ExitCode::FAILURE
        }
    }
}
