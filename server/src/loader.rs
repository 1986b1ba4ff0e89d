//! Owns the app library: opening it (libloading), checking its table against the ABI's version
//! and size rules, the host table with its logging callback, and calling `create` / `handle` /
//! `destroy`. A loaded library is never unloaded (SPEC.md: thread-local destructors in unloaded
//! code are unsound).

use std::ffi::c_void;
use std::panic::catch_unwind;
use std::path::Path;

use gateway_api::{
    table_min_size, AppTable, EntryFn, ErrorBuf, GwStr, HostTable, Request, Responder, ABI_MAJOR,
    ABI_MINOR, ENTRY_SYMBOL, ENTRY_SYMBOL_NUL, GW_OK,
};

use crate::error::ServerError;
use crate::http1::encode::SERVER_SOFTWARE;

/// Capacity of the buffer the app writes a create error into.
const CREATE_ERROR_CAP: usize = 4096;

/// A loaded, created app. The library is never unloaded.
pub struct App {
    table: &'static AppTable,
    ptr: *mut c_void,
    /// The app's name, for logs.
    pub name: String,
    destroyed: std::sync::atomic::AtomicBool,
}

// SAFETY: the ABI requires apps to be thread-safe; the pointer is only passed back to the app.
unsafe impl Send for App {}
// SAFETY: as above.
unsafe impl Sync for App {}

fn load_error(path: &Path, problem: impl Into<String>) -> ServerError {
    ServerError::Load {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Why a table is refused: the ABI's version and size rules (SPEC.md, "Loading and versioning").
///
/// Another major is refused outright. Within the same major a table must be at least as large
/// as the fields of the minor it declares, or, when it declares a minor newer than this server's,
/// as the fields this server knows: a newer app appended fields we never read, an older one
/// lacks fields we must not read. Comparing with our own `size_of` instead would make the first
/// field appended in a future minor refuse every app built before it.
pub fn check_table(table: &AppTable) -> Result<(), String> {
    if table.abi_major != ABI_MAJOR {
        return Err(format!(
            "the app speaks gateway ABI {}.{}, this server speaks {ABI_MAJOR}.{ABI_MINOR}",
            table.abi_major, table.abi_minor
        ));
    }
    let needed = table_min_size(&gateway_api::APP_TABLE_SIZES, table.abi_minor);
    if table.struct_size < needed {
        return Err(format!(
            "app table too small for ABI {}.{}: {} bytes, at least {needed} needed",
            table.abi_major, table.abi_minor, table.struct_size
        ));
    }
    Ok(())
}

/// Opens the library and checks its table. The library is leaked on purpose.
pub fn load(path: &Path) -> Result<&'static AppTable, ServerError> {
    load_as(path, path)
}

/// Opens the library at `open` (a snapshot of it, see `snapshot`) and checks its table; every
/// message names `path`, the library the operator gave.
pub fn load_as(open: &Path, path: &Path) -> Result<&'static AppTable, ServerError> {
    if !open.exists() {
        return Err(load_error(path, "no such file"));
    }
    // SAFETY: loading a library runs its initialisers; that is the point of an app library.
    let lib = unsafe { libloading::Library::new(open) }.map_err(|e| {
        // The loader's message names the file it opened: name the operator's instead.
        let text = e
            .to_string()
            .replace(&*open.to_string_lossy(), &path.to_string_lossy());
        load_error(path, format!("not a loadable library ({text})"))
    })?;
    // SAFETY: the symbol's type is fixed by the ABI.
    let entry: EntryFn = unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL_NUL) }
        .map(|s| *s)
        .map_err(|_| {
            load_error(
                path,
                format!("no `{ENTRY_SYMBOL}` symbol: not a portico app"),
            )
        })?;
    std::mem::forget(lib);
    // SAFETY: the entry function is defined by the ABI to return a static table.
    let table = unsafe { entry() };
    if table.is_null() {
        return Err(load_error(path, format!("`{ENTRY_SYMBOL}` returned null")));
    }
    // SAFETY: non-null and static by contract; only the fields of the checked size are read.
    let table: &'static AppTable = unsafe { &*table };
    check_table(table).map_err(|problem| load_error(path, problem))?;
    Ok(table)
}

unsafe extern "C" fn host_log(_ctx: *mut c_void, level: u32, target: GwStr, message: GwStr) {
    let _ = catch_unwind(|| {
        let level = match level {
            1 => log::Level::Error,
            2 => log::Level::Warn,
            3 => log::Level::Info,
            4 => log::Level::Debug,
            _ => log::Level::Trace,
        };
        // SAFETY: the app keeps both strings alive for the call.
        let (target, message) = unsafe { (target.as_bytes(), message.as_bytes()) };
        let target = String::from_utf8_lossy(target);
        let target = if target.is_empty() { "app" } else { &target };
        log::log!(target: target, level, "{}", String::from_utf8_lossy(message));
    });
}

/// The host table given to the app (its logging callback), leaked: valid for the process.
/// `create` gets it, and `portico manage` hands it to `manage`.
pub fn host_table() -> &'static HostTable {
    let max_log_level = match log::max_level() {
        log::LevelFilter::Off => 0,
        l => l as u32,
    };
    Box::leak(Box::new(HostTable {
        struct_size: std::mem::size_of::<HostTable>(),
        abi_major: ABI_MAJOR,
        abi_minor: ABI_MINOR,
        server_name: GwStr::from_str(SERVER_SOFTWARE),
        ctx: std::ptr::null_mut(),
        max_log_level,
        log: host_log,
    }))
}

impl App {
    /// Loads the library at `path` and calls its create with `settings`.
    pub fn open(path: &Path, settings: Option<&Path>) -> Result<App, ServerError> {
        App::open_as(path, path, settings)
    }

    /// Loads the library from `open` (a snapshot of the one at `path`, which every message
    /// names) and calls its create with `settings`.
    pub fn open_as(open: &Path, path: &Path, settings: Option<&Path>) -> Result<App, ServerError> {
        let table = load_as(open, path)?;
        // SAFETY: the table's name is static by contract.
        let name = String::from_utf8_lossy(unsafe { table.name.as_bytes() }).into_owned();
        let settings_bytes: Vec<u8> = settings
            .map(|p| {
                use std::os::unix::ffi::OsStrExt;
                p.as_os_str().as_bytes().to_vec()
            })
            .unwrap_or_default();
        let mut storage = vec![0u8; CREATE_ERROR_CAP];
        let mut error = ErrorBuf {
            ptr: storage.as_mut_ptr(),
            cap: storage.len(),
            len: 0,
        };
        let mut ptr: *mut c_void = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the host table lives forever.
        let rc = unsafe {
            (table.create)(
                host_table(),
                GwStr::from_bytes(&settings_bytes),
                &mut ptr,
                &mut error,
            )
        };
        if rc != GW_OK {
            let len = error.len.min(storage.len());
            let mut message = String::from_utf8_lossy(&storage[..len]).into_owned();
            if message.is_empty() {
                message = format!("create returned error code {rc}");
            }
            return Err(ServerError::Create {
                path: path.to_path_buf(),
                app: name,
                message,
            });
        }
        Ok(App {
            table,
            ptr,
            name,
            destroyed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Wraps an app table already in this process (an app compiled into a test).
    #[cfg(test)]
    pub fn from_table(table: &'static AppTable) -> App {
        App {
            table,
            ptr: std::ptr::null_mut(),
            // SAFETY: the table's name is static by contract.
            name: String::from_utf8_lossy(unsafe { table.name.as_bytes() }).into_owned(),
            destroyed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Calls the app's handle.
    ///
    /// # Safety
    /// `request` and `responder` must be valid for the call.
    pub unsafe fn handle(&self, request: &Request, responder: &Responder) -> i32 {
        // SAFETY: per this function's contract.
        unsafe { (self.table.handle)(self.ptr, request, responder) }
    }

    /// Calls the app's destroy, once; the caller guarantees that no `handle` is running and
    /// none will start (every request finished and the loops exited).
    pub fn destroy(&self) {
        if !self
            .destroyed
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            // SAFETY: at most once (the flag), after the last handle returned (the caller).
            unsafe { (self.table.destroy)(self.ptr) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_api::{app_table, DestroyFn, HandleFn, APP_TABLE_SIZES};

    unsafe extern "C" fn create(
        _: *const HostTable,
        _: GwStr,
        _: *mut *mut c_void,
        _: *mut ErrorBuf,
    ) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn handle(_: *mut c_void, _: *const Request, _: *const Responder) -> i32 {
        GW_OK
    }
    unsafe extern "C" fn destroy(_: *mut c_void) {}

    /// A table written by an app built against a newer minor: the 1.x fields, then fields this
    /// server has never heard of.
    #[repr(C)]
    struct NewerTable {
        base: AppTable,
        appended_handle: HandleFn,
        appended_destroy: DestroyFn,
    }

    #[test]
    fn a_table_from_a_newer_minor_with_appended_fields_is_accepted() {
        let newer = NewerTable {
            base: AppTable {
                struct_size: std::mem::size_of::<NewerTable>(),
                abi_minor: ABI_MINOR + 1,
                ..app_table("newer", create, handle, destroy)
            },
            appended_handle: handle,
            appended_destroy: destroy,
        };
        assert!(newer.base.struct_size > std::mem::size_of::<AppTable>());
        assert_eq!(check_table(&newer.base), Ok(()));
        // But it must still hold every field this server reads.
        let cut = AppTable {
            struct_size: APP_TABLE_SIZES[ABI_MINOR as usize] - 8,
            ..newer.base
        };
        let err = check_table(&cut).unwrap_err();
        assert!(err.contains("too small"), "{err}");
    }

    #[test]
    fn a_table_from_an_older_minor_needs_only_that_minors_fields() {
        // Every minor this server knows, declared with exactly that minor's size.
        for (minor, &size) in APP_TABLE_SIZES.iter().enumerate() {
            let older = AppTable {
                struct_size: size,
                abi_minor: minor as u32,
                ..app_table("older", create, handle, destroy)
            };
            assert_eq!(check_table(&older), Ok(()), "minor {minor}");
            let short = AppTable {
                struct_size: size - 1,
                ..older
            };
            assert!(
                check_table(&short).is_err(),
                "minor {minor}, one byte short"
            );
        }
    }

    #[test]
    fn another_major_is_refused_with_both_versions() {
        let other = AppTable {
            abi_major: ABI_MAJOR + 1,
            ..app_table("other", create, handle, destroy)
        };
        let err = check_table(&other).unwrap_err();
        assert!(
            err.contains(&format!("{}.", ABI_MAJOR + 1))
                && err.contains(&format!("{ABI_MAJOR}.{ABI_MINOR}")),
            "{err}"
        );
    }
}
