//! What a management command is (Django's `django.core.management.base`): the
//! [`BaseCommand`] trait, [`CommandError`], the [`CommandContext`] a command runs in (the built
//! app, its output streams) and [`FnCommand`] for a command written as a closure.

use std::fmt;
use std::io::{self, BufRead, Write};
use std::sync::Arc;

use crate::checks::CheckRegistry;
use crate::handler::Handler;
use crate::settings::Settings;

/// The exit status of a failed command, as Django's `CommandError` has by default.
pub const DEFAULT_RETURNCODE: i32 = 1;

/// A management command (Django's `BaseCommand`): its help, its arguments, and what it does.
///
/// The command's arguments are declared on a clap parser ([`add_arguments`](Self::add_arguments),
/// Django's argparse one) that already has the options every command has (`-v/--verbosity`,
/// and `--skip-checks` when the command requires system checks); `handle` gets the parsed
/// options.
pub trait BaseCommand: Send + Sync {
    /// One line (or a paragraph) saying what the command does: `help COMMAND` shows it.
    fn help(&self) -> &str;

    /// Declares the command's own arguments (Django's `add_arguments(parser)`).
    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
    }

    /// Whether the system checks run before the command (Django's `requires_system_checks`,
    /// every check by default); an error among them stops it, as Django's `SystemCheckError`.
    fn requires_system_checks(&self) -> bool {
        true
    }

    /// Runs the command (Django's `handle(*args, **options)`). Output goes to `ctx.stdout` and
    /// `ctx.stderr`; a failure is a [`CommandError`], printed on stderr as
    /// `CommandError: message`, and its return code is the process's exit status.
    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError>;
}

/// Why a command failed (Django's `CommandError`, and its `SystemCheckError` kind): the message
/// printed on stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    message: String,
    returncode: i32,
    system_check: bool,
}

impl CommandError {
    /// A failure with `message` and exit status 1.
    pub fn new(message: impl Into<String>) -> CommandError {
        CommandError {
            message: message.into(),
            returncode: DEFAULT_RETURNCODE,
            system_check: false,
        }
    }

    /// The same failure with exit status `returncode` (Django's `CommandError(returncode=)`).
    pub fn with_returncode(mut self, returncode: i32) -> CommandError {
        self.returncode = returncode;
        self
    }

    /// Django's `SystemCheckError`: the system checks found a serious problem; `report` is
    /// the whole report, printed as it is.
    pub fn system_check(report: String) -> CommandError {
        CommandError {
            message: report,
            returncode: DEFAULT_RETURNCODE,
            system_check: true,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit status.
    pub fn returncode(&self) -> i32 {
        self.returncode
    }

    /// What `run_from_argv` prints on stderr: `CommandError: message`, or a system check
    /// report as it is.
    pub fn display_text(&self) -> String {
        if self.system_check {
            self.message.clone()
        } else {
            format!("CommandError: {}", self.message)
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

impl From<io::Error> for CommandError {
    /// An output stream that cannot be written (a closed pipe).
    fn from(e: io::Error) -> CommandError {
        CommandError::new(format!("cannot write the command's output: {e}"))
    }
}

/// An output stream of a command (Django's `OutputWrapper`): [`write`](Self::write) ends what it
/// writes with a newline unless it already ends with one.
pub struct OutputWrapper<'a> {
    out: &'a mut dyn Write,
}

impl<'a> OutputWrapper<'a> {
    /// Wraps `out`.
    pub fn new(out: &'a mut dyn Write) -> OutputWrapper<'a> {
        OutputWrapper { out }
    }

    /// Writes `msg` and, unless it ends with one, a newline (Django's `ending="\n"`).
    pub fn write(&mut self, msg: impl AsRef<str>) -> io::Result<()> {
        let msg = msg.as_ref();
        self.out.write_all(msg.as_bytes())?;
        if !msg.ends_with('\n') {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl Write for OutputWrapper<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The streams a command runs on: the process's in `portico manage`, buffers in tests and in
/// [`call_command`](super::call_command).
pub struct Io<'a> {
    /// Input (prompts read from it).
    pub stdin: &'a mut dyn BufRead,
    /// Output.
    pub stdout: &'a mut dyn Write,
    /// Errors and diagnostics.
    pub stderr: &'a mut dyn Write,
}

/// Where a command runs: the app built from its settings, the streams, the program name for
/// messages and the common options.
pub struct CommandContext<'a> {
    /// The app, built from its settings (URL conf checked, middleware loaded, ready hooks run).
    pub handler: &'a Handler,
    /// Normal output.
    pub stdout: OutputWrapper<'a>,
    /// Errors and diagnostics.
    pub stderr: OutputWrapper<'a>,
    /// Input, for prompts.
    pub stdin: &'a mut dyn BufRead,
    /// How the command was invoked, for messages (`portico manage path/libapp.so`).
    pub prog_name: &'a str,
    /// `-v/--verbosity`: 0 minimal, 1 normal, 2 verbose, 3 very verbose.
    pub verbosity: u8,
    pub(crate) checks: &'a CheckRegistry,
}

impl CommandContext<'_> {
    /// The app's settings.
    pub fn settings(&self) -> &Settings {
        self.handler.settings()
    }

    /// The system checks registered for this app (handler-core's modules' and the app's).
    pub fn checks(&self) -> &CheckRegistry {
        self.checks
    }
}

/// What an [`FnCommand`] runs.
type HandleFn = Arc<
    dyn Fn(&mut CommandContext<'_>, &clap::ArgMatches) -> Result<(), CommandError> + Send + Sync,
>;

/// What an [`FnCommand`] declares its arguments with.
type ArgumentsFn = Arc<dyn Fn(clap::Command) -> clap::Command + Send + Sync>;

/// A command written as a closure: `FnCommand::new(help, handle).arguments(|p| p.arg(...))`.
#[derive(Clone)]
pub struct FnCommand {
    help: String,
    handle: HandleFn,
    arguments: Option<ArgumentsFn>,
    requires_system_checks: bool,
}

impl FnCommand {
    /// A command that runs `handle`, described by `help`.
    pub fn new<F>(help: impl Into<String>, handle: F) -> FnCommand
    where
        F: Fn(&mut CommandContext<'_>, &clap::ArgMatches) -> Result<(), CommandError>
            + Send
            + Sync
            + 'static,
    {
        FnCommand {
            help: help.into(),
            handle: Arc::new(handle),
            arguments: None,
            requires_system_checks: true,
        }
    }

    /// Declares the command's arguments on its parser.
    pub fn arguments<F>(mut self, declare: F) -> FnCommand
    where
        F: Fn(clap::Command) -> clap::Command + Send + Sync + 'static,
    {
        self.arguments = Some(Arc::new(declare));
        self
    }

    /// Runs without the system checks first.
    pub fn skip_system_checks(mut self) -> FnCommand {
        self.requires_system_checks = false;
        self
    }
}

impl BaseCommand for FnCommand {
    fn help(&self) -> &str {
        &self.help
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        match &self.arguments {
            Some(declare) => declare(parser),
            None => parser,
        }
    }

    fn requires_system_checks(&self) -> bool {
        self.requires_system_checks
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        (self.handle)(ctx, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_ends_each_message_with_one_newline() {
        let mut buf = Vec::new();
        {
            let mut out = OutputWrapper::new(&mut buf);
            out.write("one").unwrap();
            out.write("two\n").unwrap();
        }
        assert_eq!(buf, b"one\ntwo\n");
    }

    #[test]
    fn errors_print_with_their_kind() {
        let e = CommandError::new("no such user").with_returncode(3);
        assert_eq!(
            (e.display_text().as_str(), e.returncode()),
            ("CommandError: no such user", 3)
        );
        let e = CommandError::system_check("SystemCheckError: ...".into());
        assert_eq!(
            (e.display_text().as_str(), e.returncode()),
            ("SystemCheckError: ...", 1)
        );
    }
}
