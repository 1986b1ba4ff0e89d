//! Start-up failures: a library that does not exist, a file that is not a library, a library
//! without the entry symbol, a library of another ABI version and an app whose `create` fails
//! each stop the server (non-zero exit) with a message naming the path and the problem.

use std::path::Path;
use std::time::Duration;

use tests::{free_port, Finished, Server, TempDir};

fn start_and_fail(lib: &Path) -> Finished {
    let done = Server::builder(lib)
        .bind(format!("127.0.0.1:{}", free_port()))
        .run_to_exit(Duration::from_secs(30));
    assert!(
        !done.status.success(),
        "portico must refuse {}: {done:?}",
        lib.display()
    );
    let text = format!("{}{}", done.stderr, done.stdout);
    assert!(
        text.contains(&lib.display().to_string()),
        "the message must name {}: {text}",
        lib.display()
    );
    done
}

fn mentions_any(done: &Finished, words: &[&str]) -> bool {
    let text = format!("{}{}", done.stderr, done.stdout).to_ascii_lowercase();
    words.iter().any(|w| text.contains(&w.to_ascii_lowercase()))
}

#[test]
fn missing_library_is_refused() {
    let dir = TempDir::new("nolib");
    let lib = dir.path().join("libdoes_not_exist.so");
    let done = start_and_fail(&lib);
    assert!(
        mentions_any(
            &done,
            &["no such file", "not found", "does not exist", "cannot open"]
        ),
        "{done:?}"
    );
}

#[test]
fn a_text_file_is_not_a_library() {
    let dir = TempDir::new("notlib");
    let lib = dir.write(
        "libtext.so",
        "this is a text file, not a shared library; the loader must say so clearly\n".repeat(4),
    );
    let done = start_and_fail(&lib);
    assert!(
        mentions_any(
            &done,
            &[
                "elf",
                "not a shared",
                "not a library",
                "not a dynamic",
                "invalid",
                "too short"
            ]
        ),
        "{done:?}"
    );
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let lib = Path::new(env!("NO_ENTRY_LIB"));
    let done = start_and_fail(lib);
    assert!(mentions_any(&done, &["portico_app_entry"]), "{done:?}");
}

#[test]
fn a_library_of_another_abi_version_is_refused_naming_both_versions() {
    let lib = Path::new(env!("ABI_NEXT_LIB"));
    let done = start_and_fail(lib);
    let text = format!("{}{}", done.stderr, done.stdout);
    for version in [env!("ABI_NEXT_VERSION"), env!("GATEWAY_ABI")] {
        assert!(
            text.contains(version),
            "the message must name ABI {version} (the app's and the server's): {text}"
        );
    }
    assert!(mentions_any(&done, &["abi"]), "{done:?}");
}

#[test]
fn a_failing_create_stops_start_up_with_the_apps_message() {
    let lib = Path::new(env!("CREATE_FAILS_LIB"));
    let done = start_and_fail(lib);
    let text = format!("{}{}", done.stderr, done.stdout);
    assert!(
        text.contains(env!("CREATE_ERROR")),
        "the message must carry the app's own error text: {text}"
    );
    assert!(text.contains("create-fails"), "and name the app: {text}");
}
