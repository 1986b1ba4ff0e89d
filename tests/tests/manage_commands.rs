//! `portico manage` end to end (django-admin's role), with the real binary: `help` lists the
//! commands by app, `check` passes good settings and names the file, line and problem of bad
//! ones, an unknown command gets Django's message, the app's own command runs with its
//! arguments and its exit status is the process's, the app's system check stops a command,
//! and an app without the ABI 1.1 `manage` entry says it has no commands while the server
//! still serves apps of both minors.

use std::process::{Command, Output, Stdio};

use tests::{app_lib, portico_bin, Server, TempDir};

/// What one `portico manage` run printed and returned.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// `portico manage ARGS...` (stdin closed), to its end.
fn manage(args: &[&str]) -> Run {
    let mut command = Command::new(portico_bin());
    command.arg("manage").args(args);
    run(command)
}

/// `command` (a `portico manage` line) with RUST_LOG removed and stdin closed, to its end.
fn run(mut command: Command) -> Run {
    let output: Output = command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run portico manage");
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn testapp() -> String {
    app_lib("testapp").display().to_string()
}

fn settings(dir: &TempDir, text: &str) -> String {
    dir.write("settings.toml", text).display().to_string()
}

#[test]
fn help_lists_the_commands_grouped_by_app() {
    let lib = testapp();
    // The default settings install no contrib app: the core's commands and the app's.
    let r = manage(&[&lib, "help"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(
        r.stdout.ends_with(
            "Available subcommands:\n\n[django]\n    check\n    dbshell\n    migrate\n    \
             showmigrations\n\n[testapp]\n    greet\n"
        ),
        "{r:?}"
    );
    // With sessions and auth in the middleware, their commands too.
    let dir = TempDir::new("manage-help");
    let s = settings(
        &dir,
        "secret_key = \"k\"\nmiddleware = [\"sessions\", \"auth\"]\n",
    );
    for args in [
        vec!["--settings", &s, lib.as_str(), "help"],
        vec!["--settings", &s, lib.as_str()],
    ] {
        let r = manage(&args);
        assert_eq!(r.status, Some(0), "{r:?}");
        let expected = format!(
            "\nType 'portico manage {lib} help <subcommand>' for help on a specific \
             subcommand.\n\nAvailable subcommands:\n\n[auth]\n    changepassword\n    \
             createsuperuser\n\n[django]\n    check\n    dbshell\n    migrate\n    \
             showmigrations\n\n[sessions]\n    clearsessions\n\n[testapp]\n    greet\n"
        );
        assert_eq!(r.stdout, expected, "{r:?}");
    }
    let r = manage(&[&lib, "help", "greet"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(r.stdout.contains("Greets NAME on stdout"), "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "Usage: portico manage {lib} greet [OPTIONS] <name>"
        )),
        "{r:?}"
    );
}

/// articles' settings in `dir` (its SQLite file there too).
fn articles_settings(dir: &TempDir) -> String {
    let shipped = tests::workspace_root().join("sample-apps/articles/settings.toml");
    let text = std::fs::read_to_string(shipped).expect("articles' settings");
    settings(dir, &text)
}

#[test]
fn an_app_without_auth_or_sessions_has_none_of_their_commands() {
    // articles' middleware names neither `sessions` nor `auth`: contrib's apps are not
    // installed, so their commands are not there, as in a Django project without them in
    // INSTALLED_APPS.
    let dir = TempDir::new("manage-noauth");
    let s = articles_settings(&dir);
    let lib = app_lib("articles").display().to_string();
    let r = manage(&["--settings", &s, &lib, "help"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    // articles has no command of its own either.
    assert!(
        r.stdout.ends_with(
            "Available subcommands:\n\n[django]\n    check\n    dbshell\n    migrate\n    \
             showmigrations\n"
        ),
        "{r:?}"
    );
    for name in ["createsuperuser", "changepassword", "clearsessions"] {
        assert!(!r.stdout.contains(name), "{name}: {r:?}");
        let run = manage(&["--settings", &s, &lib, name, "--noinput"]);
        assert_eq!(run.status, Some(1), "{run:?}");
        assert_eq!(
            run.stderr,
            format!("Unknown command: '{name}'\nType 'portico manage {lib} help' for usage.\n"),
            "{run:?}"
        );
        assert_eq!(run.stdout, "", "{run:?}");
    }
    // The core's commands are there.
    let r = manage(&["--settings", &s, &lib, "showmigrations"]);
    assert_eq!(r.status, Some(0), "{r:?}");
}

#[test]
fn manage_help_says_what_it_does() {
    let r = manage(&["--help"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(r.stdout.contains("management commands"), "{r:?}");
    assert!(
        r.stdout
            .contains("Usage: portico manage [OPTIONS] <APP_LIBRARY> [COMMAND]..."),
        "{r:?}"
    );
    let out = Command::new(portico_bin())
        .arg("--help")
        .output()
        .expect("portico --help");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("portico manage"),
        "the server's help points at manage"
    );
}

#[test]
fn check_passes_good_settings_and_names_the_line_of_bad_ones() {
    let dir = TempDir::new("manage-check");
    let good = settings(&dir, "debug = false\nallowed_hosts = [\"localhost\"]\n");
    let r = manage(&["--settings", &good, &testapp(), "check"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(
        r.stdout,
        "System check identified no issues (0 silenced).\n"
    );

    let bad = settings(&dir, "allowed_hosts = []\n\ndebug = \"yes\"\n");
    let r = manage(&["--settings", &bad, &testapp(), "check"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert!(r.stderr.contains(&format!("{bad}:3: ")), "{r:?}");
    assert!(r.stderr.contains("debug"), "{r:?}");
    assert!(r.stderr.starts_with("portico: cannot start app "), "{r:?}");

    // A middleware the registry does not know: the URL conf and middleware build is checked.
    let bad = settings(&dir, "middleware = [\n  \"common\",\n  \"nosuch\",\n]\n");
    let r = manage(&[&testapp(), "check", "--settings", &bad]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert!(r.stderr.contains(&format!("{bad}:3")), "{r:?}");
    assert!(r.stderr.contains("nosuch"), "{r:?}");

    // help still answers, with the core commands and the settings error.
    let r = manage(&[&testapp(), "help", "--settings", &bad]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert!(r.stdout.contains("[django]\n    check\n"), "{r:?}");
    assert!(!r.stdout.contains("greet"), "{r:?}");
    assert!(
        r.stdout.contains("settings are not properly configured"),
        "{r:?}"
    );
}

#[test]
fn check_reports_the_apps_own_checks_and_deploy_checks() {
    let dir = TempDir::new("manage-appcheck");
    let warn = settings(&dir, "[app]\ncheck_warning = \"Just so you know.\"\n");
    let r = manage(&["--settings", &warn, &testapp(), "check"]);
    assert_eq!(r.status, Some(0), "a warning does not fail: {r:?}");
    assert_eq!(
        r.stderr,
        "System check identified some issues:\n\nWARNINGS:\n?: (testapp.W001) Just so you \
         know.\n\nSystem check identified 1 issue (0 silenced).\n"
    );
    let r = manage(&[
        "--settings",
        &warn,
        &testapp(),
        "check",
        "--fail-level",
        "WARNING",
    ]);
    assert_eq!(r.status, Some(1), "{r:?}");

    let r = manage(&["--settings", &warn, &testapp(), "check", "--deploy"]);
    for id in ["security.W009", "security.W020", "testapp.W001"] {
        assert!(r.stderr.contains(id), "{id}: {r:?}");
    }

    let error = settings(&dir, "[app]\ncheck_error = \"Broken on purpose.\"\n");
    let r = manage(&["--settings", &error, &testapp(), "check"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with(
            "SystemCheckError: System check identified some issues:\n\nERRORS:\n?: \
             (testapp.E001) Broken on purpose.\n\tHINT: Remove [app] check_error.\n"
        ),
        "{r:?}"
    );
    // The checks run before the app's command too, as Django's do, unless skipped.
    let r = manage(&["--settings", &error, &testapp(), "greet", "ada"]);
    assert_eq!((r.status, r.stdout.as_str()), (Some(1), ""), "{r:?}");
    assert!(r.stderr.contains("testapp.E001"), "{r:?}");
    let r = manage(&[
        "--settings",
        &error,
        &testapp(),
        "greet",
        "ada",
        "--skip-checks",
    ]);
    assert_eq!(
        (r.status, r.stdout.as_str()),
        (Some(0), "Hello, ada!\n"),
        "{r:?}"
    );
}

#[test]
fn an_unknown_command_gets_djangos_message() {
    let lib = testapp();
    let r = manage(&[&lib, "chek"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("Unknown command: 'chek'. Did you mean check?\nType 'portico manage {lib} help' for usage.\n")
    );
    let r = manage(&[&lib, "frobnicate"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert!(
        r.stderr.starts_with("Unknown command: 'frobnicate'\n"),
        "{r:?}"
    );
}

#[test]
fn the_apps_command_runs_with_its_arguments_and_sets_the_exit_status() {
    let lib = testapp();
    let r = manage(&[&lib, "greet", "ada", "--times", "2", "--shout"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(r.stdout, "HELLO, ADA!\nHELLO, ADA!\n");
    assert_eq!(r.stderr, "");

    // The app's log records reach the server's logger (stderr) at the level asked for.
    let r = manage(&["--log-level", "info", &lib, "greet", "ada"]);
    assert_eq!(r.status, Some(0), "{r:?}");
    assert_eq!(r.stderr, "INFO: greeting ada\n", "{r:?}");

    let r = manage(&[&lib, "greet", "ada", "-v", "2"]);
    assert_eq!(
        r.stderr,
        format!("greeted ada as portico manage {lib}\n"),
        "{r:?}"
    );

    let r = manage(&[&lib, "greet", "bob", "--exit-code", "3"]);
    assert_eq!(r.status, Some(3), "{r:?}");
    assert_eq!(r.stdout, "Hello, bob!\n");
    assert_eq!(r.stderr, "CommandError: bob was greeted, exiting with 3\n");

    // Bad arguments: the parser's message and argparse's status 2.
    let r = manage(&[&lib, "greet"]);
    assert_eq!(r.status, Some(2), "{r:?}");
    assert!(r.stderr.contains("<name>"), "{r:?}");
    let r = manage(&[&lib, "greet", "ada", "--times", "many"]);
    assert_eq!(r.status, Some(2), "{r:?}");
    assert!(r.stderr.contains("'many'"), "{r:?}");
}

#[test]
fn an_app_without_the_manage_entry_has_no_commands() {
    // A table of ABI 1.0's layout, a 1.1 C table with a NULL entry, a Rust bare-ABI table.
    let cases = [
        (env!("ABI_1_0_LIB").to_string(), "gateway ABI 1.0"),
        (env!("C_HELLO_LIB").to_string(), "NULL"),
        (app_lib("raw_hello").display().to_string(), "NULL"),
    ];
    for (lib, why) in cases {
        let r = manage(&[&lib, "check"]);
        assert_eq!(r.status, Some(1), "{r:?}");
        assert!(
            r.stderr.contains(&format!("{lib} "))
                && r.stderr.contains("has no management commands"),
            "{r:?}"
        );
        assert!(r.stderr.contains(why), "{why}: {r:?}");
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn manage_refuses_a_library_as_the_server_does() {
    let dir = TempDir::new("manage-load");
    let missing = dir.path().join("libnope.so").display().to_string();
    let r = manage(&[&missing, "check"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert_eq!(
        r.stderr,
        format!("portico: cannot load app {missing}: no such file\n")
    );
    let no_entry = env!("NO_ENTRY_LIB");
    let r = manage(&[no_entry, "check"]);
    assert_eq!(r.status, Some(1), "{r:?}");
    assert!(r.stderr.contains("no `portico_app_entry` symbol"), "{r:?}");
}

#[test]
fn the_server_serves_apps_of_both_minor_versions() {
    let old = Server::start(env!("ABI_1_0_LIB"));
    let r = old.curl("/anything", &[]);
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "abi 1.0"),
        "{}",
        r.stderr
    );

    let dir = TempDir::new("manage-serve");
    let path = dir.write(
        "settings.toml",
        "debug = false\nallowed_hosts = [\"127.0.0.1\"]\n",
    );
    let new = Server::builder(app_lib("testapp")).settings(&path).start();
    let r = new.curl("/ok/", &[]);
    assert_eq!(r.status, 200, "{}", r.stderr);
    // The old app still answers beside the new one.
    assert_eq!(old.curl("/again", &[]).text(), "abi 1.0");
}

#[test]
fn a_closed_stdout_is_a_failed_command_not_a_crash() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: a plain pipe(2) into a two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and are owned here alone.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let output = Command::new(portico_bin())
        .args(["manage", &testapp(), "greet", "ada"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .output()
        .expect("run portico manage");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write the command's output") && stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// notes' settings in `dir` (templates where the app keeps them), on a fresh SQLite file.
fn notes_settings(dir: &TempDir) -> String {
    let shipped = tests::workspace_root().join("sample-apps/notes");
    let text = std::fs::read_to_string(shipped.join("settings.toml"))
        .expect("notes' settings")
        .replace(
            "dirs = [\"templates\"]",
            &format!("dirs = [\"{}\"]", shipped.join("templates").display()),
        );
    settings(dir, &text)
}

/// `portico manage --settings S notes ARGS...`, with `env` set and no DATABASE_URL.
fn manage_notes(settings: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(portico_bin());
    command
        .arg("manage")
        .args(["--settings", settings])
        .arg(app_lib("notes"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DJANGO_SUPERUSER_PASSWORD")
        .envs(env.iter().copied());
    run(command)
}

#[test]
fn migrate_twice_applies_then_finds_nothing_to_apply() {
    let dir = TempDir::new("manage-migrate");
    let s = notes_settings(&dir);
    let first = manage_notes(&s, &["migrate"], &[]);
    assert_eq!(first.status, Some(0), "{first:?}");
    for line in [
        "Operations to perform:\n  Apply all migrations: auth, contenttypes, notes, sessions\n\
         Running migrations:\n",
        "  Applying contenttypes.0001_initial... OK\n",
        "  Applying auth.0012_alter_user_first_name_max_length... OK\n",
        "  Applying notes.0001_initial... OK\n",
        "  Applying sessions.0001_initial... OK\n",
    ] {
        assert!(first.stdout.contains(line), "no {line:?} in {first:?}");
    }
    let second = manage_notes(&s, &["migrate"], &[]);
    assert_eq!(second.status, Some(0), "{second:?}");
    assert_eq!(
        second.stdout,
        "Operations to perform:\n  Apply all migrations: auth, contenttypes, notes, sessions\n\
         Running migrations:\n  No migrations to apply.\n"
    );
    let shown = manage_notes(&s, &["showmigrations", "sessions"], &[]);
    assert_eq!(shown.stdout, "sessions\n [X] 0001_initial\n", "{shown:?}");
}

#[test]
fn createsuperuser_noinput_makes_a_superuser_the_server_signs_in() {
    let dir = TempDir::new("manage-superuser");
    let s = notes_settings(&dir);
    assert_eq!(manage_notes(&s, &["migrate"], &[]).status, Some(0));
    let password = [("DJANGO_SUPERUSER_PASSWORD", "boss-pass-word-7")];
    let args = [
        "createsuperuser",
        "--noinput",
        "--username",
        "boss",
        "--email",
        "boss@example.com",
    ];
    let made = manage_notes(&s, &args, &password);
    assert_eq!(made.status, Some(0), "{made:?}");
    assert_eq!(made.stdout, "Superuser created successfully.\n");
    // Django's refusals, with its texts and a failed status.
    let again = manage_notes(&s, &args, &password);
    assert_eq!(again.status, Some(1), "{again:?}");
    assert_eq!(
        again.stderr,
        "CommandError: Error: That username is already taken.\n"
    );
    let nameless = manage_notes(&s, &["createsuperuser", "--noinput"], &password);
    assert_eq!(nameless.status, Some(1), "{nameless:?}");
    assert_eq!(
        nameless.stderr,
        "CommandError: You must use --username with --noinput.\n"
    );
    // The server on the same database signs the superuser in through ModelBackend.
    let server = Server::builder(app_lib("notes")).settings(&s).start();
    let jar = dir.path().join("jar");
    let jar = jar.display().to_string();
    let form = server.curl("/accounts/login/", &["-c", &jar, "-b", &jar]);
    assert_eq!(form.status, 200, "{}", form.text());
    let text = form.text();
    let token = text
        .split("name=\"csrfmiddlewaretoken\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field on the login page");
    let login = server.curl(
        "/accounts/login/",
        &[
            "-c",
            &jar,
            "-b",
            &jar,
            "--data-urlencode",
            "username=boss",
            "--data-urlencode",
            "password=boss-pass-word-7",
            "--data-urlencode",
            &format!("csrfmiddlewaretoken={token}"),
        ],
    );
    assert_eq!(login.status, 302, "{}", login.text());
    assert_eq!(login.header("location"), Some("/"));
}
