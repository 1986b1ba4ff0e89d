//! Builds the C libraries the end-to-end tests load: `c-hello` (the sample app in C, against
//! `gateway.h`) and `no_entry` (a valid shared library without the entry symbol, for the server's
//! load-error test). Their paths reach the tests as `C_HELLO_LIB` and `NO_ENTRY_LIB`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tiny library that is a perfectly good `.so` but not a Portico app.
const NO_ENTRY_SOURCE: &str =
    "int not_a_portico_app(int x);\nint not_a_portico_app(int x) { return x + 1; }\n";

fn compile(compiler: &cc::Tool, include: &Path, source: &Path, output: &Path) {
    let args = |cmd: &mut Command| {
        cmd.args([
            "-std=c99", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
        ])
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(output)
        .arg(source);
    };
    let mut cmd: Command = compiler.to_command();
    args(&mut cmd);
    let status = match cmd.status() {
        Ok(status) => status,
        // cc-rs defaults to `cc`; a machine with only `gcc` installed may lack that name.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut gcc = Command::new("gcc");
            gcc.args(compiler.args());
            args(&mut gcc);
            cmd = gcc;
            cmd.status()
                .unwrap_or_else(|e| panic!("cannot run a C compiler (cc or gcc): {e}"))
        }
        Err(e) => panic!("cannot run the C compiler ({cmd:?}): {e}"),
    };
    assert!(
        status.success(),
        "compiling {} failed ({status}): {cmd:?}",
        source.display()
    );
}

fn main() {
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = root.join("gateway-api/include");
    let c_hello_src = root.join("sample-apps/c-hello/c_hello.c");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", c_hello_src.display());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("gateway.h").display()
    );

    let compiler = cc::Build::new().get_compiler();

    let c_hello = out.join("libc_hello.so");
    compile(&compiler, &include, &c_hello_src, &c_hello);
    println!("cargo:rustc-env=C_HELLO_LIB={}", c_hello.display());

    let no_entry_src = out.join("no_entry.c");
    std::fs::write(&no_entry_src, NO_ENTRY_SOURCE).expect("write no_entry.c into OUT_DIR");
    let no_entry = out.join("libno_entry.so");
    compile(&compiler, &include, &no_entry_src, &no_entry);
    println!("cargo:rustc-env=NO_ENTRY_LIB={}", no_entry.display());
}
