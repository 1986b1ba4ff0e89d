//! The layout rule Django keeps: its core (`core/handlers`, `http`, `urls`) never imports
//! `contrib`; contrib plugs in through the core's seams. Here the core is `http/`, `urls/`,
//! `handler.rs`, `settings.rs` and `exception.rs`, and none of them may name `crate::auth` or
//! `crate::contrib` (the same check `../shared/hooks/before-stop` prints).

use std::fs;
use std::path::{Path, PathBuf};

/// The core's files and folders, relative to `src/`.
const CORE: [&str; 5] = ["http", "urls", "handler.rs", "settings.rs", "exception.rs"];

/// What a core module may not write (any use, path or doc link into contrib).
const FORBIDDEN: [&str; 2] = ["crate::auth", "crate::contrib"];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let entries = fs::read_dir(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            rust_files(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|x| x == "rs") {
        out.push(path.to_path_buf());
    }
}

/// `file:line: text` for every line of `files` that holds a forbidden path.
fn violations(files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            if FORBIDDEN.iter().any(|f| line.contains(f)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_core_never_imports_contrib() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for part in CORE {
        let path = src.join(part);
        assert!(path.exists(), "{} is gone: update CORE", path.display());
        rust_files(&path, &mut files);
    }
    // The scan itself must see the core: http/ and urls/ hold several modules each.
    assert!(files.len() >= 10, "only {} files scanned", files.len());
    let found = violations(&files);
    assert!(
        found.is_empty(),
        "the core imports contrib (Django's core never does; use an extension trait, the \
         request's extensions or the app's registry):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_a_core_module_naming_contrib() {
    // A check that cannot fail proves nothing: a file that names contrib is reported.
    let dir = std::env::temp_dir().join(format!("layout-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("request.rs");
    fs::write(&file, "use std::sync::Arc;\nuse crate::auth::User;\n").unwrap();
    let found = violations(&[file]);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with(":2: use crate::auth::User;"),
        "{found:?}"
    );
}
