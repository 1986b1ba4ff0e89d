//! Owns `portico manage` (django-admin's role): loads the app library as the server does, hands
//! the command line to the table's `manage` entry (gateway ABI 1.1) and returns the command's
//! exit status. No socket, no worker, no `create`: the app builds itself for the command.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use gateway_api::{ErrorBuf, GwStr};

use server::config::ManageArgs;
use server::error::ServerError;
use server::loader;

/// Capacity of the buffer the app writes a start-up error into (as for `create`).
const MANAGE_ERROR_CAP: usize = 4096;

/// The highest exit status a process can report; a larger value from the app is clamped to it
/// rather than wrapped (wrapping 256 would turn a failure into success).
const MAX_STATUS: i32 = 255;

/// Installs the logger for a command: RUST_LOG when set and non-empty, else `--log-level`;
/// records go to stderr, without the server's timestamp and pid (a command is one short
/// process in a terminal).
pub fn init_logging(args: &ManageArgs) {
    let mut builder = env_logger::Builder::new();
    builder.format(|buf, record| writeln!(buf, "{}: {}", record.level(), record.args()));
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => {
            builder.parse_filters(&spec);
        }
        _ => {
            builder.filter_level(args.log_level.filter());
        }
    }
    builder.target(env_logger::Target::Stderr).init();
}

/// Takes django-admin's `--settings PATH` / `--settings=PATH` out of the command's arguments
/// (it may stand anywhere, as `ManagementUtility` pre-parses it), the last one winning over
/// `before`, the value given before the library. An option with no value is left for the
/// command's parser to refuse.
fn split_settings(before: Option<&Path>, args: &[OsString]) -> (Option<PathBuf>, Vec<OsString>) {
    let mut settings = before.map(Path::to_path_buf);
    let mut rest = Vec::with_capacity(args.len());
    let mut items = args.iter().peekable();
    while let Some(arg) = items.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--settings" {
            if let Some(value) = items.next() {
                settings = Some(PathBuf::from(value));
                continue;
            }
        } else if let Some(value) = bytes.strip_prefix(b"--settings=") {
            settings = Some(PathBuf::from(OsStr::from_bytes(value)));
            continue;
        }
        rest.push(arg.clone());
    }
    (settings, rest)
}

/// The program name the app shows in usage messages (Django's `prog_name`): how this binary
/// was invoked, `manage` and the library as typed.
fn prog_name(app: &Path) -> OsString {
    let bin = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(OsStr::to_os_string))
        .unwrap_or_else(|| OsString::from("portico"));
    let mut name = bin;
    name.push(" manage ");
    name.push(app.as_os_str());
    name
}

/// Runs the command: loads the library at `args.app` (the server's loader and its refusals),
/// calls its `manage` entry and returns the command's exit status. An app without the entry
/// (a 1.0 table, or a NULL entry) and an app that cannot start are errors.
pub fn run(args: &ManageArgs) -> Result<u8, ServerError> {
    let table = loader::load(&args.app)?;
    // SAFETY: the table's name is static by contract.
    let app = String::from_utf8_lossy(unsafe { table.name.as_bytes() }).into_owned();
    let Some(manage) = table.manage_entry() else {
        return Err(ServerError::NoCommands {
            path: args.app.clone(),
            app,
            why: if table.abi_minor < 1 {
                format!(
                    "its table is gateway ABI {}.{}; the `manage` entry came in {}.1",
                    table.abi_major,
                    table.abi_minor,
                    gateway_api::ABI_MAJOR
                )
            } else {
                "its table's `manage` entry is NULL".to_string()
            },
        });
    };
    let (settings, rest) = split_settings(args.settings.as_deref(), &args.command);
    let settings_bytes = settings
        .as_deref()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default();
    let mut argv_strings = vec![prog_name(&args.app)];
    argv_strings.extend(rest);
    let argv: Vec<GwStr> = argv_strings
        .iter()
        .map(|a| GwStr::from_bytes(a.as_bytes()))
        .collect();
    let mut storage = vec![0u8; MANAGE_ERROR_CAP];
    let mut error = ErrorBuf {
        ptr: storage.as_mut_ptr(),
        cap: storage.len(),
        len: 0,
    };
    // Whatever this process printed must reach the terminal before the app's own output.
    let _ = std::io::stdout().flush();
    // SAFETY: every pointer is valid for the call (argv and its strings, the settings bytes, the
    // error buffer); the host table lives forever.
    let rc = unsafe {
        manage(
            loader::host_table(),
            GwStr::from_bytes(&settings_bytes),
            argv.len(),
            argv.as_ptr(),
            &mut error,
        )
    };
    if rc < 0 {
        let len = error.len.min(storage.len());
        let mut message = String::from_utf8_lossy(&storage[..len]).into_owned();
        if message.is_empty() {
            message = format!("manage returned error code {rc}");
        }
        return Err(ServerError::Manage {
            path: args.app.clone(),
            app,
            message,
        });
    }
    Ok(rc.min(MAX_STATUS) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(items: &[&str]) -> Vec<OsString> {
        items.iter().map(OsString::from).collect()
    }

    #[test]
    fn settings_come_out_of_the_arguments_wherever_they_stand() {
        let (s, rest) = split_settings(None, &os(&["check", "--settings", "a.toml", "-v", "2"]));
        assert_eq!(s.as_deref(), Some(Path::new("a.toml")));
        assert_eq!(rest, os(&["check", "-v", "2"]));
        let (s, rest) = split_settings(Some(Path::new("first.toml")), &os(&["check"]));
        assert_eq!(s.as_deref(), Some(Path::new("first.toml")));
        assert_eq!(rest, os(&["check"]));
        let (s, rest) = split_settings(
            Some(Path::new("first.toml")),
            &os(&["greet", "--settings=b.toml", "x"]),
        );
        assert_eq!(s.as_deref(), Some(Path::new("b.toml")), "the last one wins");
        assert_eq!(rest, os(&["greet", "x"]));
        // No value: left for the command's parser to refuse.
        let (s, rest) = split_settings(None, &os(&["check", "--settings"]));
        assert_eq!(s, None);
        assert_eq!(rest, os(&["check", "--settings"]));
    }
}
