//! Owns the app library's snapshots: at start-up and at each reload the master copies the library
//! file into memory of its own (a sealed `memfd` on Linux), and every worker of that generation
//! loads the copy through `/proc/self/fd/N`.
//!
//! Why a copy: a worker that maps the file at its path crashes (SIGBUS) if someone overwrites
//! that file in place (`cp new.so app.so`); a worker respawned after a crash would load whatever
//! half-written file is at the path at that moment; and `dlopen` of a path a process already
//! loaded returns the old mapping. With a snapshot, what a generation runs is fixed when the
//! master takes it (a HUP, or `--reload` seeing the file change), the file on disk can be
//! replaced in any way at any time, and each generation is a distinct file to the loader.
//! The master only reads the file: it never loads an app, so it stays small and single-threaded.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::ServerError;

/// One generation's copy of the app library.
pub struct Snapshot {
    file: File,
    /// The path the original was read from (for every message).
    source: PathBuf,
    /// The path a loader opens the copy by.
    open_path: PathBuf,
    /// Bytes copied.
    pub len: u64,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    temp: PathBuf,
}

impl Snapshot {
    /// Copies the library at `source`. A missing or unreadable file is the same start-up error
    /// the loader gives (`cannot load app PATH: no such file`).
    pub fn take(source: &Path) -> Result<Snapshot, ServerError> {
        let fail = |problem: String| ServerError::Load {
            path: source.to_path_buf(),
            problem,
        };
        let mut original = File::open(source).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                fail("no such file".into())
            } else {
                fail(format!("cannot read it ({e})"))
            }
        })?;
        let mut copy = Self::blank(source).map_err(|e| fail(format!("cannot copy it ({e})")))?;
        let len = io::copy(&mut original, &mut copy.0)
            .map_err(|e| fail(format!("cannot copy it ({e})")))?;
        seal(&copy.0);
        let open_path = open_path_of(&copy);
        Ok(Snapshot {
            file: copy.0,
            source: source.to_path_buf(),
            open_path,
            len,
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            temp: copy.1,
        })
    }

    /// The original library's path.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The path to load the copy by (valid in the master and in the workers it forks).
    pub fn open_path(&self) -> &Path {
        &self.open_path
    }

    /// The descriptor holding the copy (a worker keeps only its own generation's).
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn blank(_source: &Path) -> io::Result<(File, ())> {
        use std::os::fd::FromRawFd;
        // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned by the File.
        let fd = unsafe {
            libc::memfd_create(
                c"portico-app".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nobody else owns.
        Ok((unsafe { File::from_raw_fd(fd) }, ()))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn blank(source: &Path) -> io::Result<(File, PathBuf)> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = source
            .file_name()
            .map_or_else(|| "app".into(), |s| s.to_string_lossy().into_owned());
        let path =
            std::env::temp_dir().join(format!("portico-{}-{n}-{name}", crate::sys::own_pid()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((file, path))
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_path_of(copy: &(File, ())) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", copy.0.as_raw_fd()))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_path_of(copy: &(File, PathBuf)) -> PathBuf {
    copy.1.clone()
}

/// Seals the copy so nothing (not even a bug of ours) can change it after it was taken.
fn seal(file: &File) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: fcntl(2) on a memfd we own; failure only leaves it unsealed.
    unsafe {
        libc::fcntl(
            file.as_raw_fd(),
            libc::F_ADD_SEALS,
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL,
        );
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_keeps_the_bytes_it_was_taken_with() {
        let dir = std::env::temp_dir().join(format!("portico-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = dir.join("libx.so");
        std::fs::write(&lib, b"first version").unwrap();
        let snap = Snapshot::take(&lib).unwrap();
        assert_eq!(snap.len, 13);
        // Overwritten in place, then removed: the copy does not change.
        std::fs::write(&lib, b"second, longer version").unwrap();
        std::fs::remove_file(&lib).unwrap();
        assert_eq!(std::fs::read(snap.open_path()).unwrap(), b"first version");
        assert_eq!(snap.source(), lib.as_path());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_library_is_the_loaders_error() {
        let err = match Snapshot::take(Path::new("/nonexistent/libnope.so")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a snapshot of nothing"),
        };
        assert_eq!(err, "cannot load app /nonexistent/libnope.so: no such file");
    }
}
