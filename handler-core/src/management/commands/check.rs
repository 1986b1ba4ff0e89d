//! `check` (Django's `check` command): the app was built from its settings (settings loaded,
//! URL conf checked, middleware loaded: a failure there stops `portico manage` before any
//! command, with the file, line and problem), then the registered system checks run and are
//! reported as Django reports them.

use clap::{Arg, ArgAction};

use crate::checks::{CheckOptions, Level};
use crate::management::base::{BaseCommand, CommandContext, CommandError, Io};
use crate::management::report_checks;

/// The `check` command.
pub struct Command;

impl BaseCommand for Command {
    fn help(&self) -> &str {
        "Checks the entire Django project for potential problems."
    }

    fn add_arguments(&self, parser: clap::Command) -> clap::Command {
        parser
            .arg(
                Arg::new("tags")
                    .short('t')
                    .long("tag")
                    .value_name("TAGS")
                    .action(ArgAction::Append)
                    .help("Run only checks labeled with given tag."),
            )
            .arg(
                Arg::new("list_tags")
                    .long("list-tags")
                    .action(ArgAction::SetTrue)
                    .help("List available tags."),
            )
            .arg(
                Arg::new("deploy")
                    .long("deploy")
                    .action(ArgAction::SetTrue)
                    .help("Check deployment settings."),
            )
            .arg(
                Arg::new("fail_level")
                    .long("fail-level")
                    .value_name("{CRITICAL,ERROR,WARNING,INFO,DEBUG}")
                    .value_parser(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"])
                    .default_value("ERROR")
                    .hide_possible_values(true)
                    .help(
                        "Message level that will cause the command to exit with a non-zero \
                         status.",
                    ),
            )
            .arg(
                Arg::new("databases")
                    .long("database")
                    .value_name("DATABASE")
                    .action(ArgAction::Append)
                    .help("Run database related checks against these aliases."),
            )
    }

    /// `check` is the checks: they do not run twice.
    fn requires_system_checks(&self) -> bool {
        false
    }

    fn handle(
        &self,
        ctx: &mut CommandContext<'_>,
        options: &clap::ArgMatches,
    ) -> Result<(), CommandError> {
        let deploy = options.get_flag("deploy");
        if options.get_flag("list_tags") {
            let tags: Vec<String> = ctx.checks().tags_available(deploy).into_iter().collect();
            ctx.stdout.write(tags.join("\n"))?;
            return Ok(());
        }
        let tags: Option<Vec<String>> = options
            .get_many::<String>("tags")
            .map(|t| t.cloned().collect());
        if let Some(tags) = &tags {
            let available = ctx.checks().tags_available(deploy);
            if let Some(invalid) = tags.iter().find(|t| !available.contains(*t)) {
                return Err(CommandError::new(format!(
                    "There is no system check with the \"{invalid}\" tag."
                )));
            }
        }
        let fail_level = options
            .get_one::<String>("fail_level")
            .and_then(|l| Level::from_name(l))
            .unwrap_or(Level::Error);
        let check_options = CheckOptions {
            tags,
            include_deployment_checks: deploy,
            databases: options
                .get_many::<String>("databases")
                .map(|d| d.cloned().collect())
                .unwrap_or_default(),
        };
        let issues = ctx.checks().run_checks(ctx.handler, &check_options);
        let CommandContext {
            stdin,
            stdout,
            stderr,
            ..
        } = ctx;
        let mut io = Io {
            stdin: &mut **stdin,
            stdout,
            stderr,
        };
        report_checks(issues, true, fail_level, &mut io)
    }
}
