//! portico: the HTTP/1.1 server process. Parses the command line, installs the logger and hands
//! over to the `server` library, which loads the app and runs the event loop.

use std::process::ExitCode;

use clap::Parser;

use server::config::Config;

fn main() -> ExitCode {
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
