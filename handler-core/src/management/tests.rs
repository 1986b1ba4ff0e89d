//! The dispatcher and parsing: what `portico manage` prints and returns, in process.

use super::*;
use crate::app::App;
use crate::checks::CheckContext;
use crate::settings::Settings;

/// The app's own command: `greet NAME [--times N]`, failing with `--fail CODE`.
fn greet() -> FnCommand {
    FnCommand::new("Greets someone.", |ctx, options| {
        let name = options
            .get_one::<String>("name")
            .cloned()
            .unwrap_or_default();
        let times = options.get_one::<u32>("times").copied().unwrap_or(1);
        if let Some(code) = options.get_one::<i32>("fail") {
            return Err(CommandError::new(format!("cannot greet {name}")).with_returncode(*code));
        }
        for _ in 0..times {
            ctx.stdout
                .write(format!("Hello, {name}! (verbosity {})", ctx.verbosity))?;
        }
        Ok(())
    })
    .arguments(|p| {
        p.arg(clap::Arg::new("name").required(true))
            .arg(
                clap::Arg::new("times")
                    .long("times")
                    .value_parser(clap::value_parser!(u32)),
            )
            .arg(
                clap::Arg::new("fail")
                    .long("fail")
                    .value_parser(clap::value_parser!(i32)),
            )
    })
}

struct Run {
    /// The status, or the error's text.
    status: Result<i32, String>,
    stdout: String,
    stderr: String,
}

fn run_with(app: App, settings: Settings, argv: &[&str]) -> Run {
    let built = BuiltApp::new(app, settings, "testapp").unwrap();
    execute(Ok(built.setup()), argv)
}

fn execute(setup: Result<Setup<'_>, &ConfigError>, argv: &[&str]) -> Run {
    let argv: Vec<String> = std::iter::once("portico manage lib.so")
        .chain(argv.iter().copied())
        .map(String::from)
        .collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut stdin: &[u8] = b"";
    let status = execute_from_command_line(
        &argv,
        setup,
        &mut Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    Run {
        status: status.map_err(|e| match e {
            ManagementError::Setup(e) => e.to_string(),
            ManagementError::Output(e) => panic!("writing into a Vec failed: {e}"),
        }),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

/// The app's `greet`, with contrib's sessions and auth installed (their middleware used).
fn run(argv: &[&str]) -> Run {
    run_with_middleware("[\"sessions\", \"auth\"]", argv)
}

#[test]
fn help_lists_the_commands_by_app_as_django_admin_does() {
    for argv in [&[][..], &["help"], &["--help"]] {
        let r = run(argv);
        assert_eq!(r.status, Ok(0));
        assert_eq!(
            r.stdout,
            "\nType 'portico manage lib.so help <subcommand>' for help on a specific \
             subcommand.\n\nAvailable subcommands:\n\n[auth]\n    changepassword\n    \
             createsuperuser\n\n[django]\n    check\n    dbshell\n    migrate\n    \
             showmigrations\n\n[sessions]\n    clearsessions\n\n[testapp]\n    greet\n",
            "{argv:?}"
        );
    }
    let r = run(&["help", "--commands"]);
    assert_eq!(
        r.stdout,
        "changepassword\ncheck\nclearsessions\ncreatesuperuser\ndbshell\ngreet\nmigrate\n\
         showmigrations\n"
    );
}

/// The app's `greet` with `middleware` as the settings' middleware.
fn run_with_middleware(middleware: &str, argv: &[&str]) -> Run {
    let text = format!("secret_key = \"k\"\nmiddleware = {middleware}\n");
    let settings = Settings::parse(&text, None).unwrap();
    run_with(
        App::new(Vec::new()).command("greet", greet()),
        settings,
        argv,
    )
}

#[test]
fn contrib_commands_exist_only_for_the_contrib_apps_installed() {
    let head = "\nType 'portico manage lib.so help <subcommand>' for help on a specific \
                subcommand.\n\nAvailable subcommands:\n\n";
    let core = "[django]\n    check\n    dbshell\n    migrate\n    showmigrations\n";
    let r = run_with_middleware("[\"common\"]", &["help"]);
    assert_eq!(r.stdout, format!("{head}{core}\n[testapp]\n    greet\n"));
    for name in ["createsuperuser", "changepassword", "clearsessions"] {
        let r = run_with_middleware("[\"common\"]", &[name]);
        assert_eq!(r.status, Ok(1), "{name}");
        assert_eq!(
            r.stderr,
            format!("Unknown command: '{name}'\nType 'portico manage lib.so help' for usage.\n")
        );
        let r = run_with_middleware("[\"common\"]", &["help", name]);
        assert_eq!(r.status, Ok(1), "{name}");
    }
    // sessions without auth: clearsessions only.
    let r = run_with_middleware("[\"sessions\", \"common\"]", &["help"]);
    assert_eq!(
        r.stdout,
        format!("{head}{core}\n[sessions]\n    clearsessions\n\n[testapp]\n    greet\n")
    );
    let r = run_with_middleware("[\"sessions\", \"common\"]", &["createsuperuser"]);
    assert_eq!(r.status, Ok(1));
    // An app's own command of a contrib command's name is the app's, installed or not.
    let app = App::new(Vec::new()).command(
        "createsuperuser",
        FnCommand::new("The app's own.", |ctx, _| {
            ctx.stdout.write("mine")?;
            Ok(())
        }),
    );
    let r = run_with(app, Settings::default(), &["createsuperuser"]);
    assert_eq!((r.status, r.stdout.as_str()), (Ok(0), "mine\n"));
}

#[test]
fn help_on_a_command_shows_its_arguments() {
    let r = run(&["help", "greet"]);
    assert_eq!(r.status, Ok(0));
    assert!(r.stdout.starts_with("Greets someone.\n"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Usage: portico manage lib.so greet [OPTIONS] <name>"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--skip-checks") && r.stdout.contains("--verbosity"));
    let r = run(&["greet", "--help"]);
    assert_eq!(r.status, Ok(0));
    assert!(r.stdout.contains("--times"), "{}", r.stdout);
}

#[test]
fn an_unknown_command_is_djangos_message_and_status_1() {
    let r = run(&["chek"]);
    assert_eq!(r.status, Ok(1));
    assert_eq!(
        r.stderr,
        "Unknown command: 'chek'. Did you mean check?\nType 'portico manage lib.so help' for usage.\n"
    );
    let r = run(&["frobnicate"]);
    assert_eq!(
        r.stderr,
        "Unknown command: 'frobnicate'\nType 'portico manage lib.so help' for usage.\n"
    );
    let r = run(&["help", "nosuch"]);
    assert_eq!(r.status, Ok(1));
    assert!(
        r.stderr.starts_with("Unknown command: 'nosuch'\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_command_gets_its_arguments_and_its_error_is_the_status() {
    let r = run(&["greet", "ada", "--times", "2", "-v", "2"]);
    assert_eq!((r.status, r.stderr.as_str()), (Ok(0), ""));
    assert_eq!(
        r.stdout,
        "Hello, ada! (verbosity 2)\nHello, ada! (verbosity 2)\n"
    );
    let r = run(&["greet", "ada", "--fail", "3"]);
    assert_eq!(r.status, Ok(3));
    assert_eq!(r.stderr, "CommandError: cannot greet ada\n");
    // Bad arguments: clap's message and argparse's status 2.
    let r = run(&["greet"]);
    assert_eq!(r.status, Ok(2));
    assert!(r.stderr.contains("<name>"), "{}", r.stderr);
    let r = run(&["greet", "ada", "--times", "many"]);
    assert_eq!(r.status, Ok(2));
    assert!(r.stderr.contains("invalid value 'many'"), "{}", r.stderr);
    let r = run(&["greet", "ada", "-v", "4"]);
    assert_eq!(r.status, Ok(2), "verbosity is 0-3");
}

#[test]
fn check_reports_as_django_and_fails_at_the_fail_level() {
    let r = run(&["check"]);
    assert_eq!(r.status, Ok(0));
    assert_eq!(
        r.stdout,
        "System check identified no issues (0 silenced).\n"
    );

    let app = App::new(Vec::new())
        .check(&["mine"], |_: &CheckContext<'_>| {
            vec![
                CheckMessage::warning("Second.", "mine.W002"),
                CheckMessage::warning("First.", "mine.W001").hint("Do this."),
            ]
        })
        .command("greet", greet());
    let mut settings = Settings::default();
    settings.debug = true;
    let r = run_with(app, settings.clone(), &["check"]);
    assert_eq!(r.status, Ok(0), "warnings do not fail");
    assert_eq!(
        r.stderr,
        "System check identified some issues:\n\nWARNINGS:\n?: (mine.W001) First.\n\tHINT: Do \
         this.\n?: (mine.W002) Second.\n\nSystem check identified 2 issues (0 silenced).\n"
    );
    let app = || {
        App::new(Vec::new())
            .check(&["mine"], |_: &CheckContext<'_>| {
                vec![CheckMessage::warning("First.", "mine.W001")]
            })
            .command("greet", greet())
    };
    let r = run_with(
        app(),
        settings.clone(),
        &["check", "--fail-level", "WARNING"],
    );
    assert_eq!(r.status, Ok(1));
    assert!(
        r.stderr
            .starts_with("SystemCheckError: System check identified some issues:\n"),
        "{}",
        r.stderr
    );
    // --deploy adds the deployment checks; --tag selects.
    let r = run_with(
        app(),
        settings.clone(),
        &["check", "--deploy", "--tag", "security"],
    );
    assert!(r.stderr.contains("(security.W018)") && !r.stderr.contains("mine.W001"));
    let r = run_with(app(), settings.clone(), &["check", "--list-tags"]);
    // The database layer's "database reachable" check is registered too.
    assert_eq!(r.stdout, "database\nmine\n");
    let r = run_with(app(), settings, &["check", "--tag", "nosuch"]);
    assert_eq!(r.status, Ok(1));
    assert_eq!(
        r.stderr,
        "CommandError: There is no system check with the \"nosuch\" tag.\n"
    );
}

#[test]
fn a_serious_check_stops_other_commands_unless_skipped() {
    let app = || {
        App::new(Vec::new())
            .check(&[], |_: &CheckContext<'_>| {
                vec![CheckMessage::error("Broken.", "mine.E001")]
            })
            .command("greet", greet())
    };
    let r = run_with(app(), Settings::default(), &["greet", "ada"]);
    assert_eq!(r.status, Ok(1));
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "SystemCheckError: System check identified some issues:\n\nERRORS:\n?: (mine.E001) \
         Broken.\n"
    );
    let r = run_with(
        app(),
        Settings::default(),
        &["greet", "ada", "--skip-checks"],
    );
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (Ok(0), "Hello, ada! (verbosity 1)\n")
    );
}

#[test]
fn bad_settings_leave_help_with_the_core_commands_and_fail_the_rest() {
    let e = ConfigError::new("s.toml line 2: debug: invalid type");
    let r = execute(Err(&e), &["help"]);
    assert_eq!(r.status, Ok(0));
    assert!(r.stdout.contains("[django]\n    check\n"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("[auth]") && !r.stdout.contains("[sessions]"),
        "only the core's: {}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with(
            "Note that only the core commands are listed as settings are not properly \
             configured (error: s.toml line 2: debug: invalid type).\n"
        ),
        "{}",
        r.stdout
    );
    for argv in [&["check"][..], &["greet", "x"], &["help", "greet"]] {
        let r = execute(Err(&e), argv);
        assert_eq!(r.status, Err(e.to_string()), "{argv:?}");
    }
}

#[test]
fn an_apps_command_replaces_a_builtin_of_the_same_name() {
    let app = App::new(Vec::new()).command(
        "check",
        FnCommand::new("The app's own check.", |ctx, _| {
            ctx.stdout.write("mine")?;
            Ok(())
        }),
    );
    let r = run_with(app, Settings::default(), &["check"]);
    assert_eq!(r.stdout, "mine\n");
}

#[test]
fn call_command_runs_without_checks_and_returns_errors() {
    let app = App::new(Vec::new())
        .check(&[], |_: &CheckContext<'_>| {
            vec![CheckMessage::error("Broken.", "mine.E001")]
        })
        .command("greet", greet());
    let built = BuiltApp::new(app, Settings::default(), "testapp").unwrap();
    let out = built.call_command("greet", &["bob"], "");
    assert_eq!(out.result, Ok(()), "no checks first");
    assert_eq!(out.stdout, "Hello, bob! (verbosity 1)\n");
    let e = built.call_command("nosuch", &[], "").result.unwrap_err();
    assert_eq!(e.message(), "Unknown command: 'nosuch'");
    let e = built.call_command("greet", &[], "").result.unwrap_err();
    assert!(e.message().starts_with("Error: "), "{e}");
    let out = built.call_command("greet", &["bob", "--fail", "4"], "");
    assert_eq!(out.result.map_err(|e| e.returncode()), Err(4));
}

#[test]
fn close_matches_follow_difflib() {
    let names = ["check", "createsuperuser", "migrate", "showmigrations"];
    let close = |w: &str| get_close_matches(w, names.iter().copied(), CLOSE_MATCH_CUTOFF);
    assert_eq!(close("chek"), Some("check"));
    assert_eq!(close("migrat"), Some("migrate"));
    assert_eq!(close("showmigration"), Some("showmigrations"));
    assert_eq!(close("xyz"), None);
    // difflib: ratio("abcd", "bcde") = 2*3/8 = 0.75.
    assert_eq!(
        matching_characters(&['a', 'b', 'c', 'd'], &['b', 'c', 'd', 'e']),
        3
    );
}
