//! Django's management framework (`django.core.management`): the [`CommandRegistry`] the
//! commands of handler-core's modules and of the app are registered in, the dispatcher
//! `portico manage` runs ([`execute_from_command_line`], Django's `ManagementUtility`), each
//! command's parsing and running ([`run_from_argv`]), [`call_command`], and `help`.
//!
//! # Registering commands and checks
//! * A handler-core module (the database layer's `migrate`, contrib's `createsuperuser`) adds
//!   its commands to [`Management::with_builtins`], one `register` line per module, under its
//!   app label (`db`, `auth`, `sessions`), and its checks to
//!   [`CheckRegistry::with_builtins`](crate::checks::CheckRegistry::with_builtins).
//! * An app adds its own with [`App::command`](crate::App::command) and
//!   [`App::check`](crate::App::check); they are listed under the app's name, and an app's
//!   command replaces a built-in one of the same name, as in Django.
//!
//! A command implements [`BaseCommand`] (or is an [`FnCommand`]): its help, its arguments on a
//! clap parser, and `handle`, which gets the built app and the process's streams in a
//! [`CommandContext`] and fails with a [`CommandError`] (printed `CommandError: message` on
//! stderr, exit status 1 or its `returncode`).
//!
//! ```
//! use handler_core::checks::{CheckContext, CheckMessage};
//! use handler_core::clap::Arg;
//! use handler_core::management::{BuiltApp, CommandError, FnCommand};
//! use handler_core::prelude::*;
//!
//! fn build(_settings: &Settings) -> Result<App, ConfigError> {
//!     // `portico manage LIB greet NAME`
//!     let greet = FnCommand::new("Greets NAME.", |ctx, options| {
//!         let name = options.get_one::<String>("name").map_or("", String::as_str);
//!         if name == "nobody" {
//!             return Err(CommandError::new("nobody to greet").with_returncode(3));
//!         }
//!         ctx.stdout.write(format!("Hello, {name}!"))?;
//!         Ok(())
//!     })
//!     .arguments(|parser| parser.arg(Arg::new("name").required(true)));
//!     Ok(App::new(Vec::new())
//!         .command("greet", greet)
//!         // `check` reports it; an error stops every command that requires system checks.
//!         .check(&["myapp"], |ctx: &CheckContext<'_>| {
//!             if ctx.handler.settings().allowed_hosts.is_empty() {
//!                 vec![CheckMessage::warning("No allowed host.", "myapp.W001")]
//!             } else {
//!                 Vec::new()
//!             }
//!         }))
//! }
//!
//! handler_core::export_app!(build);
//!
//! // In a test: build as `portico manage` does, then call the command.
//! let settings = Settings::default();
//! let app = BuiltApp::new(build(&settings).unwrap(), settings, "myapp").unwrap();
//! let out = app.call_command("greet", &["ada"], "");
//! assert_eq!((out.result, out.stdout.as_str()), (Ok(()), "Hello, ada!\n"));
//! let e = app.call_command("greet", &["nobody"], "").result.unwrap_err();
//! assert_eq!((e.message(), e.returncode()), ("nobody to greet", 3));
//! ```

pub mod base;
pub mod commands;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use base::{BaseCommand, CommandContext, CommandError, FnCommand, Io, OutputWrapper};

use crate::checks::{CheckContext, CheckMessage, CheckOptions, CheckRegistry, Level};
use crate::handler::Handler;
use crate::settings::ConfigError;

/// The app label of handler-core's core commands in `help` (Django's `[django]` group).
pub const CORE_LABEL: &str = "django";

/// How close a misspelt command must be to a real one for "Did you mean ...?" (difflib's
/// `get_close_matches` cutoff, which Django uses).
const CLOSE_MATCH_CUTOFF: f64 = 0.6;

/// One registered command.
#[derive(Clone)]
struct Registered {
    /// The app it belongs to; `None`: the app being run (known only at dispatch).
    app_label: Option<String>,
    command: Arc<dyn BaseCommand>,
}

/// The commands by name (Django's `get_commands()`).
#[derive(Clone, Default)]
pub struct CommandRegistry {
    commands: BTreeMap<String, Registered>,
}

impl CommandRegistry {
    /// No commands.
    pub fn new() -> CommandRegistry {
        CommandRegistry::default()
    }

    /// Registers (or replaces) `name`, listed in `help` under `app_label`.
    pub fn register<C: BaseCommand + 'static>(&mut self, app_label: &str, name: &str, command: C) {
        self.insert(name, Some(app_label.to_string()), Arc::new(command));
    }

    /// Registers (or replaces) one of the app's own commands, listed under the app's name.
    pub fn register_app<C: BaseCommand + 'static>(&mut self, name: &str, command: C) {
        self.insert(name, None, Arc::new(command));
    }

    fn insert(&mut self, name: &str, app_label: Option<String>, command: Arc<dyn BaseCommand>) {
        self.commands
            .insert(name.to_string(), Registered { app_label, command });
    }

    /// Adds every command of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: CommandRegistry) {
        self.commands.extend(other.commands);
    }

    /// Drops the commands of apps that are not installed, as Django's `get_commands()` lists
    /// only the `INSTALLED_APPS`' ones: a command registered under an app label other than the
    /// core's (contrib's `auth`, `sessions`) stays only when `is_installed(label)`; the core's
    /// and the app's own always stay.
    pub fn retain_installed(&mut self, is_installed: impl Fn(&str) -> bool) {
        self.commands.retain(|_, r| match r.app_label.as_deref() {
            None | Some(CORE_LABEL) => true,
            Some(label) => is_installed(label),
        });
    }

    /// The command called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn BaseCommand>> {
        self.commands.get(name).map(|r| &r.command)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.commands.keys().map(String::as_str)
    }

    /// The names grouped by app label, both sorted; the app's own under `app_label`.
    fn by_app<'a>(&'a self, app_label: &'a str) -> BTreeMap<&'a str, Vec<&'a str>> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, r) in &self.commands {
            let label = r.app_label.as_deref().unwrap_or(app_label);
            groups.entry(label).or_default().push(name);
        }
        groups
    }
}

/// What an app brings to `portico manage`: its commands and its system checks, handler-core's
/// modules' included.
#[derive(Clone, Default)]
pub struct Management {
    /// The commands.
    pub commands: CommandRegistry,
    /// The system checks.
    pub checks: CheckRegistry,
}

impl Management {
    /// handler-core's own commands and checks: `check` for now. The database layer
    /// (`migrate`, `showmigrations`) and contrib (`createsuperuser`, `changepassword`,
    /// `clearsessions`, `dbshell`) register theirs here, one line per module, e.g.
    /// `crate::db::management::register(&mut m.commands)`.
    pub fn with_builtins() -> Management {
        let mut m = Management {
            commands: CommandRegistry::new(),
            checks: CheckRegistry::with_builtins(),
        };
        m.commands
            .register(CORE_LABEL, "check", commands::check::Command);
        crate::db::management::register(&mut m.commands);
        crate::db::management::register_checks(&mut m.checks);
        crate::contrib::management::register(&mut m.commands);
        m
    }
}

impl crate::app::App {
    /// Registers one of the app's management commands (Django's `management/commands/NAME.py`):
    /// `portico manage LIB NAME ...` runs it; `help` lists it under the app's name. It replaces
    /// a built-in command of the same name.
    pub fn command<C: BaseCommand + 'static>(mut self, name: &str, command: C) -> Self {
        self.management.commands.register_app(name, command);
        self
    }

    /// Registers one of the app's system checks (Django's `@checks.register(*tags)`): `check`
    /// runs it, and so does every command that requires system checks.
    pub fn check<F>(mut self, tags: &[&str], check: F) -> Self
    where
        F: Fn(&CheckContext<'_>) -> Vec<CheckMessage> + Send + Sync + 'static,
    {
        self.management.checks.register(tags, check);
        self
    }

    /// Takes the app's commands and checks out, for `portico manage` (before `into_handler`).
    pub(crate) fn take_management(&mut self) -> Management {
        std::mem::take(&mut self.management)
    }
}

/// The app a command runs in: built from its settings, with its commands and checks.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    /// The built app.
    pub handler: &'a Handler,
    /// Its commands and checks.
    pub management: &'a Management,
    /// The app's name, the group its own commands are listed under in `help`.
    pub app_label: &'a str,
}

/// An app built for management commands, owning what a [`Setup`] borrows: what
/// `portico manage` builds, for tests and tools that run commands in process (the database
/// layer's `migrate` twice on one database, say).
pub struct BuiltApp {
    management: Management,
    handler: Handler,
    app_label: String,
}

/// What [`BuiltApp::call_command`] printed and returned.
#[derive(Debug)]
pub struct CommandOutput {
    /// The command's outcome.
    pub result: Result<(), CommandError>,
    /// What it wrote on stdout.
    pub stdout: String,
    /// What it wrote on stderr.
    pub stderr: String,
}

impl BuiltApp {
    /// Builds `app` with `settings` as `portico manage` does (its commands and checks taken
    /// out, then the handler, with its `ready` hooks but not its
    /// [`on_serve`](crate::App::on_serve) ones), its own commands listed under `app_label`.
    pub fn new(
        mut app: crate::app::App,
        settings: crate::settings::Settings,
        app_label: &str,
    ) -> Result<BuiltApp, ConfigError> {
        let mut management = app.take_management();
        let handler = app.into_handler_for_commands(settings)?;
        let installed = crate::contrib::installed_apps(handler.settings());
        management
            .commands
            .retain_installed(|label| installed.contains(&label));
        Ok(BuiltApp {
            management,
            handler,
            app_label: app_label.to_string(),
        })
    }

    /// The built app.
    pub fn handler(&self) -> &Handler {
        &self.handler
    }

    /// What the dispatcher and [`call_command`] take.
    pub fn setup(&self) -> Setup<'_> {
        Setup {
            handler: &self.handler,
            management: &self.management,
            app_label: &self.app_label,
        }
    }

    /// [`call_command`] with `stdin` as input, collecting the output.
    pub fn call_command(&self, name: &str, args: &[&str], stdin: &str) -> CommandOutput {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut input = stdin.as_bytes();
        let result = call_command(
            self.setup(),
            name,
            args,
            &mut Io {
                stdin: &mut input,
                stdout: &mut stdout,
                stderr: &mut stderr,
            },
        );
        CommandOutput {
            result,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

/// Django's `ManagementUtility.execute()`: runs `argv` (`argv[0]` the program name for
/// messages, `argv[1]` the command, `help` when absent, then its arguments) and returns the
/// exit status. `setup` is the app built from its settings, or why it could not be: then only
/// `help` and `version` work (listing the core commands, with a note), and any other command
/// returns the start-up error for the caller to report.
pub fn execute_from_command_line(
    argv: &[String],
    setup: Result<Setup<'_>, &ConfigError>,
    io: &mut Io<'_>,
) -> Result<i32, ManagementError> {
    let prog = argv.first().map_or("portico manage", String::as_str);
    let subcommand = argv.get(1).map_or("help", String::as_str);
    let args = argv.get(2..).unwrap_or_default();
    let builtins;
    let (management, app_label) = match &setup {
        Ok(s) => (s.management, s.app_label),
        Err(_) => {
            // Only the core's commands, as Django lists without settings.
            let mut core = Management::with_builtins();
            core.commands.retain_installed(|_| false);
            builtins = core;
            (&builtins, CORE_LABEL)
        }
    };
    let note = setup.as_ref().err().map(|e| e.to_string());
    let main_help = main_help_text(prog, management, app_label, note.as_deref());
    let status = match subcommand {
        "help" => {
            if args.iter().any(|a| a == "--commands") {
                for name in management.commands.names() {
                    writeln!(io.stdout, "{name}")?;
                }
                0
            } else if let Some(name) = args.iter().find(|a| !a.starts_with('-')) {
                match management.commands.get(name) {
                    Some(command) => {
                        let help = create_parser(prog, name, command.as_ref()).render_help();
                        write!(io.stdout, "{help}")?;
                        0
                    }
                    None => unknown_command(prog, name, management, setup.err(), io)?,
                }
            } else {
                writeln!(io.stdout, "{main_help}")?;
                0
            }
        }
        "--help" | "-h" => {
            writeln!(io.stdout, "{main_help}")?;
            0
        }
        "version" | "--version" => {
            writeln!(io.stdout, "{}", env!("CARGO_PKG_VERSION"))?;
            0
        }
        name => {
            let setup = setup.map_err(Clone::clone)?;
            match setup.management.commands.get(name) {
                Some(command) => run_from_argv(setup, prog, name, command.as_ref(), args, io)?,
                None => unknown_command(prog, name, management, None, io)?,
            }
        }
    };
    io.stdout.flush()?;
    io.stderr.flush()?;
    Ok(status)
}

/// Why [`execute_from_command_line`] could not give an exit status.
#[derive(Debug)]
pub enum ManagementError {
    /// The app could not be built from its settings: the start-up error, naming the file, line
    /// and problem, for the caller to report as the server reports a failed `create`.
    Setup(ConfigError),
    /// The command's output could not be written (a closed pipe).
    Output(std::io::Error),
}

impl fmt::Display for ManagementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagementError::Setup(e) => e.fmt(f),
            ManagementError::Output(e) => write!(f, "cannot write the command's output: {e}"),
        }
    }
}

impl std::error::Error for ManagementError {}

impl From<ConfigError> for ManagementError {
    fn from(e: ConfigError) -> ManagementError {
        ManagementError::Setup(e)
    }
}

impl From<std::io::Error> for ManagementError {
    fn from(e: std::io::Error) -> ManagementError {
        ManagementError::Output(e)
    }
}

/// Django's `fetch_command` failing: `Unknown command: 'x'. Did you mean y?` and how to get
/// the list, on stderr, exit status 1. With settings that did not load, the settings error
/// instead (the command may be the app's), as Django re-raises it.
fn unknown_command(
    prog: &str,
    name: &str,
    management: &Management,
    setup_error: Option<&ConfigError>,
    io: &mut Io<'_>,
) -> Result<i32, ManagementError> {
    if let Some(e) = setup_error {
        return Err(ManagementError::Setup(e.clone()));
    }
    write!(
        io.stderr,
        "Unknown command: {}",
        crate::python::str_repr(name)
    )?;
    if let Some(close) = get_close_matches(name, management.commands.names(), CLOSE_MATCH_CUTOFF) {
        write!(io.stderr, ". Did you mean {close}?")?;
    }
    writeln!(io.stderr, "\nType '{prog} help' for usage.")?;
    Ok(1)
}

/// Django's `main_help_text()`: the commands grouped by app, with a note when the settings did
/// not load (then only the core commands are known).
fn main_help_text(
    prog: &str,
    management: &Management,
    app_label: &str,
    settings_error: Option<&str>,
) -> String {
    let mut usage = vec![
        String::new(),
        format!("Type '{prog} help <subcommand>' for help on a specific subcommand."),
        String::new(),
        "Available subcommands:".to_string(),
    ];
    for (app, names) in management.commands.by_app(app_label) {
        usage.push(String::new());
        usage.push(format!("[{app}]"));
        usage.extend(names.into_iter().map(|n| format!("    {n}")));
    }
    if let Some(e) = settings_error {
        usage.push(format!(
            "Note that only the core commands are listed as settings are not properly \
             configured (error: {e})."
        ));
    }
    usage.join("\n")
}

/// The command's parser (Django's `create_parser`): the common options, then the command's
/// own.
pub fn create_parser(prog: &str, name: &str, command: &dyn BaseCommand) -> clap::Command {
    use clap::{Arg, ArgAction};
    let parser = clap::Command::new(name.to_string())
        .bin_name(format!("{prog} {name}"))
        .about(command.help().to_string())
        .no_binary_name(true)
        .color(clap::ColorChoice::Never)
        .arg(
            Arg::new("verbosity")
                .short('v')
                .long("verbosity")
                .value_name("{0,1,2,3}")
                .value_parser(clap::value_parser!(u8).range(0..=3))
                .default_value("1")
                .help(
                    "Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, \
                     3=very verbose output",
                ),
        );
    let parser = if command.requires_system_checks() {
        parser.arg(
            Arg::new("skip_checks")
                .long("skip-checks")
                .action(ArgAction::SetTrue)
                .help("Skip system checks."),
        )
    } else {
        parser
    };
    command.add_arguments(parser)
}

/// Django's `BaseCommand.run_from_argv()` and `execute()`: parses `args` (a usage error is
/// clap's message on stderr and exit status 2, as argparse's; `--help` the help on stdout),
/// runs the system checks unless the command opts out or `--skip-checks` is given, then the
/// command. A [`CommandError`] is printed on stderr and its return code returned.
pub fn run_from_argv(
    setup: Setup<'_>,
    prog: &str,
    name: &str,
    command: &dyn BaseCommand,
    args: &[String],
    io: &mut Io<'_>,
) -> Result<i32, ManagementError> {
    let matches = match create_parser(prog, name, command).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let text = e.render().to_string();
            if e.use_stderr() {
                write!(io.stderr, "{text}")?;
            } else {
                write!(io.stdout, "{text}")?;
            }
            return Ok(e.exit_code());
        }
    };
    if command.requires_system_checks() && !matches.get_flag("skip_checks") {
        let issues = setup
            .management
            .checks
            .run_checks(setup.handler, &CheckOptions::default());
        if let Err(e) = report_checks(issues, false, Level::Error, io) {
            OutputWrapper::new(&mut *io.stderr).write(e.display_text())?;
            return Ok(e.returncode());
        }
    }
    let verbosity = matches.get_one::<u8>("verbosity").copied().unwrap_or(1);
    let outcome = {
        let Io {
            stdin,
            stdout,
            stderr,
        } = io;
        let mut ctx = CommandContext {
            handler: setup.handler,
            stdout: OutputWrapper::new(&mut **stdout),
            stderr: OutputWrapper::new(&mut **stderr),
            stdin: &mut **stdin,
            prog_name: prog,
            verbosity,
            checks: &setup.management.checks,
        };
        command.handle(&mut ctx, &matches)
    };
    match outcome {
        Ok(()) => Ok(0),
        Err(e) => {
            OutputWrapper::new(&mut *io.stderr).write(e.display_text())?;
            Ok(e.returncode())
        }
    }
}

/// Django's `call_command(name, *args)`: runs a command from code with `args` as its command
/// line, without the system checks (as Django's `skip_checks=True` default), on `io`. An
/// unknown command or bad arguments are a [`CommandError`] instead of a message and a status.
/// For the tests of a module's commands, and for a command that runs another.
pub fn call_command(
    setup: Setup<'_>,
    name: &str,
    args: &[&str],
    io: &mut Io<'_>,
) -> Result<(), CommandError> {
    let command = setup.management.commands.get(name).ok_or_else(|| {
        CommandError::new(format!(
            "Unknown command: {}",
            crate::python::str_repr(name)
        ))
    })?;
    // Django's call_command has no program name either (its parser's prog is empty).
    let prog = setup.app_label;
    let matches = create_parser(prog, name, command.as_ref())
        .try_get_matches_from(args)
        .map_err(|e| CommandError::new(format!("Error: {}", e.render().to_string().trim_end())))?;
    let verbosity = matches.get_one::<u8>("verbosity").copied().unwrap_or(1);
    let Io {
        stdin,
        stdout,
        stderr,
    } = io;
    let mut ctx = CommandContext {
        handler: setup.handler,
        stdout: OutputWrapper::new(&mut **stdout),
        stderr: OutputWrapper::new(&mut **stderr),
        stdin: &mut **stdin,
        prog_name: prog,
        verbosity,
        checks: &setup.management.checks,
    };
    command.handle(&mut ctx, &matches)
}

/// Django's `BaseCommand.check()` report: the issues grouped by level (`ERRORS:`,
/// `WARNINGS:`, ...), each group sorted, with the count when `display_num_errors`. An issue at
/// `fail_level` or above makes it a `SystemCheckError`; otherwise the report goes to stderr
/// when there are issues and to stdout when there are none (`System check identified no
/// issues (0 silenced).`).
pub fn report_checks(
    issues: Vec<CheckMessage>,
    display_num_errors: bool,
    fail_level: Level,
    io: &mut Io<'_>,
) -> Result<(), CommandError> {
    let visible = issues.len();
    let mut body = String::new();
    for level in Level::ALL {
        let mut group: Vec<String> = issues
            .iter()
            .filter(|m| m.level == level)
            .map(ToString::to_string)
            .collect();
        if group.is_empty() {
            continue;
        }
        group.sort();
        body.push_str(&format!(
            "\n{}:\n{}\n",
            level.group_name(),
            group.join("\n")
        ));
    }
    let header = if visible > 0 {
        "System check identified some issues:\n"
    } else {
        ""
    };
    let mut footer = String::new();
    if display_num_errors {
        if visible > 0 {
            footer.push('\n');
        }
        let count = match visible {
            0 => "no issues".to_string(),
            1 => "1 issue".to_string(),
            n => format!("{n} issues"),
        };
        footer.push_str(&format!("System check identified {count} (0 silenced)."));
    }
    if issues.iter().any(|m| m.is_serious(fail_level)) {
        return Err(CommandError::system_check(format!(
            "SystemCheckError: {header}{body}{footer}"
        )));
    }
    let msg = format!("{header}{body}{footer}");
    if !msg.is_empty() {
        let out = if visible > 0 {
            &mut io.stderr
        } else {
            &mut io.stdout
        };
        OutputWrapper::new(&mut **out).write(&msg)?;
    }
    Ok(())
}

/// difflib's `get_close_matches(word, possibilities, n=1, cutoff)`: the possibility most
/// similar to `word` by the Ratcliff/Obershelp ratio (`2 * matches / total length`), if it
/// reaches `cutoff`; ties go to the later possibility in sorted order, as difflib's heap does.
fn get_close_matches<'a>(
    word: &str,
    possibilities: impl Iterator<Item = &'a str>,
    cutoff: f64,
) -> Option<&'a str> {
    let word: Vec<char> = word.chars().collect();
    let mut best: Option<(f64, &str)> = None;
    for candidate in possibilities {
        let chars: Vec<char> = candidate.chars().collect();
        let total = word.len() + chars.len();
        if total == 0 {
            continue;
        }
        let ratio = 2.0 * matching_characters(&word, &chars) as f64 / total as f64;
        // difflib's nlargest keeps the higher ratio, then the greater string.
        let better = best.is_none_or(|(r, c)| ratio > r || (ratio == r && candidate > c));
        if ratio >= cutoff && better {
            best = Some((ratio, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// The characters `a` and `b` have in common by Ratcliff/Obershelp: the longest common block
/// (the earliest in `a` on a tie, as difflib's `find_longest_match`), then recursively the
/// parts on each side of it.
fn matching_characters(a: &[char], b: &[char]) -> usize {
    let (mut best_len, mut best_i, mut best_j) = (0, 0, 0);
    for i in 0..a.len() {
        for j in 0..b.len() {
            let mut k = 0;
            while i + k < a.len() && j + k < b.len() && a[i + k] == b[j + k] {
                k += 1;
            }
            if k > best_len {
                (best_len, best_i, best_j) = (k, i, j);
            }
        }
    }
    if best_len == 0 {
        return 0;
    }
    best_len
        + matching_characters(&a[..best_i], &b[..best_j])
        + matching_characters(&a[best_i + best_len..], &b[best_j + best_len..])
}

#[cfg(test)]
mod tests;
