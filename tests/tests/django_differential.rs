//! Seeded random requests to each sample app and to its Django twin (gunicorn + Django 5.2,
//! from bench/.venv), compared field by field: bench/peers/django/differential.py, run here on
//! the binary and libraries this build made. The venv is made as the interop tests make it
//! (`tests::django::Django::ensure`, bench/peers/django/venv.sh); the test skips with a message
//! only when Django cannot be installed.
//! The full runs are 3,000 requests per app (`--requests 3000`); the suite runs fewer so it
//! stays under a minute.

use std::process::Command;

use tests::django::Django;
use tests::{app_lib, portico_bin, workspace_root};

fn differential(app: &str, requests: u32, seed: u32) {
    let root = workspace_root();
    let Some(django) = Django::or_skip() else {
        return;
    };
    let python = django.python();
    // The libraries of this build, beside the binary (the script looks there).
    let lib = app_lib(app);
    let out = Command::new(python)
        .arg(root.join("bench/peers/django/differential.py"))
        .args(["--app", app, "--requests", &requests.to_string()])
        .args(["--seed", &seed.to_string()])
        .env("PORTICO_BIN", portico_bin())
        .env(
            "PORTICO_LIB_DIR",
            lib.parent().expect("a library directory"),
        )
        .output()
        .expect("run differential.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "the twin and Portico differ:\n{text}");
    assert!(text.contains(" 0 differences"), "{text}");
}

#[test]
fn articles_answers_as_its_django_twin() {
    differential("articles", 1500, 11);
}

#[test]
fn notes_answers_as_its_django_twin() {
    differential("notes", 400, 1);
}
