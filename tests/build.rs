//! Builds the C libraries the end-to-end tests load: `c-hello` (the sample app in C, against
//! `gateway.h`) and, for the server's start-up error tests, `no_entry` (a valid shared library
//! without the entry symbol), `abi_next` (an app table of the next major ABI version),
//! `create_fails` (an app whose `create` returns an error) and `abi_1_0` (an app whose table has
//! ABI 1.0's layout, for `portico manage` and serving both minors); and for the operations tests
//! `tests/apps/ops_app.c` twice, with two bodies (`ops_a`, `ops_b`), so a reload can be seen to
//! swap one for the other. Their paths reach the tests as `C_HELLO_LIB`, `NO_ENTRY_LIB`,
//! `ABI_NEXT_LIB`, `CREATE_FAILS_LIB`, `ABI_1_0_LIB`, `OPS_A_LIB` and `OPS_B_LIB` (bodies `OPS_A_BODY`,
//! `OPS_B_BODY`); the ABI versions of `gateway.h` and of `abi_next` as `GATEWAY_ABI` and
//! `ABI_NEXT_VERSION` (`MAJOR.MINOR`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tiny library that is a perfectly good `.so` but not a Portico app.
const NO_ENTRY_SOURCE: &str =
    "int not_a_portico_app(int x);\nint not_a_portico_app(int x) { return x + 1; }\n";

/// The minor version `abi_next` claims, so the test can look for both of its numbers.
const ABI_NEXT_MINOR: u32 = 7;

/// An otherwise valid app whose table says it speaks the next major ABI version.
const ABI_NEXT_SOURCE: &str = r#"#include <gateway.h>
static int32_t next_create(const gw_host_table *host, gw_str settings, void **out, gw_error_buf *e) {
    (void)host; (void)settings; (void)e;
    *out = (void *)0;
    return GW_OK;
}
static int32_t next_handle(void *app, const gw_request *req, const gw_responder *res) {
    (void)app; (void)req; (void)res;
    return GW_ERR_APP;
}
static void next_destroy(void *app) { (void)app; }
static const gw_app_table TABLE = {
    sizeof(gw_app_table), GW_ABI_MAJOR + 1u, ABI_NEXT_MINOR, { (const uint8_t *)"abi-next", 8 },
    next_create, next_handle, next_destroy, NULL,
};
const gw_app_table *portico_app_entry(void);
const gw_app_table *portico_app_entry(void) { return &TABLE; }
"#;

/// An app built before ABI 1.1: its table is the 1.0 layout (no `manage` field at all; the
/// struct is declared here as a 1.0 `gateway.h` declared it), with 1.0's size and minor. It
/// answers every request `200 abi 1.0`, so the server can be seen to serve it.
const ABI_1_0_SOURCE: &str = r#"#include <gateway.h>
typedef struct gw_app_table_1_0 {
    size_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    gw_str name;
    int32_t (*create)(const gw_host_table *host, gw_str settings_path, void **out_app,
                      gw_error_buf *error);
    int32_t (*handle)(void *app, const gw_request *request, const gw_responder *responder);
    void (*destroy)(void *app);
} gw_app_table_1_0;
static int32_t old_create(const gw_host_table *host, gw_str settings, void **out, gw_error_buf *e) {
    (void)host; (void)settings; (void)e;
    *out = (void *)0;
    return GW_OK;
}
static const gw_header HEADERS[2] = {
    { { (const uint8_t *)"Content-Type", 12 }, { (const uint8_t *)"text/plain", 10 } },
    { { (const uint8_t *)"Content-Length", 14 }, { (const uint8_t *)"7", 1 } },
};
static int32_t old_handle(void *app, const gw_request *req, const gw_responder *res) {
    int32_t rc;
    (void)app; (void)req;
    rc = res->start_response(res->ctx, 200, HEADERS, 2);
    return rc == GW_OK ? res->write(res->ctx, (const uint8_t *)"abi 1.0", 7) : rc;
}
static void old_destroy(void *app) { (void)app; }
static const gw_app_table_1_0 TABLE = {
    sizeof(gw_app_table_1_0), GW_ABI_MAJOR, 0u, { (const uint8_t *)"abi-1-0", 7 },
    old_create, old_handle, old_destroy,
};
const gw_app_table_1_0 *portico_app_entry(void);
const gw_app_table_1_0 *portico_app_entry(void) { return &TABLE; }
"#;

/// The two bodies of the ops app's `/plaintext`.
const OPS_BODIES: [(&str, &str); 2] = [("A", "generation A"), ("B", "generation B")];

/// The error text `create_fails` reports; the test looks for it in the server's message.
const CREATE_ERROR: &str = "settings.toml: [app] secret_key is required";

/// An app whose create fails with [`CREATE_ERROR`].
const CREATE_FAILS_SOURCE: &str = r#"#include <gateway.h>
#include <string.h>
static int32_t failing_create(const gw_host_table *host, gw_str settings, void **out,
                              gw_error_buf *e) {
    size_t n = strlen(CREATE_ERROR);
    (void)host; (void)settings; (void)out;
    if (n > e->cap) { n = e->cap; }
    memcpy(e->ptr, CREATE_ERROR, n);
    e->len = n;
    return GW_ERR_APP;
}
static int32_t failing_handle(void *app, const gw_request *req, const gw_responder *res) {
    (void)app; (void)req; (void)res;
    return GW_ERR_APP;
}
static void failing_destroy(void *app) { (void)app; }
static const gw_app_table TABLE = {
    sizeof(gw_app_table), GW_ABI_MAJOR, GW_ABI_MINOR, { (const uint8_t *)"create-fails", 12 },
    failing_create, failing_handle, failing_destroy, NULL,
};
const gw_app_table *portico_app_entry(void);
const gw_app_table *portico_app_entry(void) { return &TABLE; }
"#;

/// The value of `#define NAME <digits>u` in gateway.h.
fn header_number(header: &str, name: &str) -> u32 {
    header
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("#define ")?.strip_prefix(name)?;
            rest.trim().trim_end_matches('u').parse().ok()
        })
        .unwrap_or_else(|| panic!("gateway.h defines no numeric {name}"))
}

fn compile(compiler: &cc::Tool, include: &Path, source: &Path, output: &Path, defines: &[String]) {
    let args = |cmd: &mut Command| {
        cmd.args([
            "-std=c99", "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
        ])
        .args(defines)
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

/// Writes `source` to `OUT_DIR/<name>.c`, compiles it to `OUT_DIR/lib<name>.so` and returns
/// the library's path.
fn compile_embedded(
    compiler: &cc::Tool,
    include: &Path,
    out: &Path,
    name: &str,
    source: &str,
    defines: &[String],
) -> PathBuf {
    let src = out.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap_or_else(|e| panic!("write {name}.c into OUT_DIR: {e}"));
    let lib = out.join(format!("lib{name}.so"));
    compile(compiler, include, &src, &lib, defines);
    lib
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
    let ops_src = manifest.join("apps/ops_app.c");

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", c_hello_src.display());
    println!("cargo:rerun-if-changed={}", ops_src.display());
    println!(
        "cargo:rerun-if-changed={}",
        include.join("gateway.h").display()
    );

    let compiler = cc::Build::new().get_compiler();

    let c_hello = out.join("libc_hello.so");
    compile(&compiler, &include, &c_hello_src, &c_hello, &[]);
    println!("cargo:rustc-env=C_HELLO_LIB={}", c_hello.display());

    let no_entry = compile_embedded(&compiler, &include, &out, "no_entry", NO_ENTRY_SOURCE, &[]);
    println!("cargo:rustc-env=NO_ENTRY_LIB={}", no_entry.display());

    let header = std::fs::read_to_string(include.join("gateway.h")).expect("read gateway.h");
    let (major, minor) = (
        header_number(&header, "GW_ABI_MAJOR"),
        header_number(&header, "GW_ABI_MINOR"),
    );
    println!("cargo:rustc-env=GATEWAY_ABI={major}.{minor}");
    let define = format!("-DABI_NEXT_MINOR={ABI_NEXT_MINOR}u");
    let abi_next = compile_embedded(
        &compiler,
        &include,
        &out,
        "abi_next",
        ABI_NEXT_SOURCE,
        &[define],
    );
    println!("cargo:rustc-env=ABI_NEXT_LIB={}", abi_next.display());
    println!(
        "cargo:rustc-env=ABI_NEXT_VERSION={}.{ABI_NEXT_MINOR}",
        major + 1
    );

    let define = format!("-DCREATE_ERROR=\"{CREATE_ERROR}\"");
    let create_fails = compile_embedded(
        &compiler,
        &include,
        &out,
        "create_fails",
        CREATE_FAILS_SOURCE,
        &[define],
    );
    println!(
        "cargo:rustc-env=CREATE_FAILS_LIB={}",
        create_fails.display()
    );
    println!("cargo:rustc-env=CREATE_ERROR={CREATE_ERROR}");

    let abi_1_0 = compile_embedded(&compiler, &include, &out, "abi_1_0", ABI_1_0_SOURCE, &[]);
    println!("cargo:rustc-env=ABI_1_0_LIB={}", abi_1_0.display());

    for (tag, body) in OPS_BODIES {
        let lib = out.join(format!("libops_{}.so", tag.to_ascii_lowercase()));
        compile(
            &compiler,
            &include,
            &ops_src,
            &lib,
            &[format!("-DOPS_BODY=\"{body}\"")],
        );
        println!("cargo:rustc-env=OPS_{tag}_LIB={}", lib.display());
        println!("cargo:rustc-env=OPS_{tag}_BODY={body}");
    }
}
