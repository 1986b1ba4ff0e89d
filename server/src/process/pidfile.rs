//! Owns the pid file (`--pid PATH`): the master's process id, written when it starts and
//! removed when it exits, as gunicorn's `Pidfile` does. A file naming a process that is still
//! running stops the start-up (two masters on one pid file is a mistake); a stale one is
//! replaced.

use std::path::{Path, PathBuf};

use crate::error::ServerError;
use crate::sys;

/// The written pid file; removed on drop if it still holds this process's pid.
pub struct PidFile {
    path: PathBuf,
    pid: libc::pid_t,
}

impl PidFile {
    /// Writes this process's pid to `path` (atomically: a temporary file renamed over it).
    pub fn create(path: &Path) -> Result<PidFile, ServerError> {
        let fail = |problem: String| ServerError::PidFile {
            path: path.to_path_buf(),
            problem,
        };
        let pid = sys::own_pid();
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(old) = text.trim().parse::<libc::pid_t>() {
                if old != pid && sys::is_alive(old) {
                    return Err(fail(format!(
                        "already running as pid {old} (or the pid file is stale: remove it)"
                    )));
                }
            }
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".{pid}.tmp"));
        let temp = PathBuf::from(temp);
        std::fs::write(&temp, format!("{pid}\n"))
            .and_then(|()| std::fs::rename(&temp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                fail(format!("cannot write it ({e})"))
            })?;
        Ok(PidFile {
            path: path.to_path_buf(),
            pid,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only this process's: another master may have taken the file over since.
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
            == Some(self.pid);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(label: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("portico-pid-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn written_then_removed() {
        let d = dir("ok");
        let path = d.join("portico.pid");
        {
            let pid = PidFile::create(&path).unwrap();
            assert_eq!(pid.path(), path.as_path());
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text, format!("{}\n", std::process::id()));
        }
        assert!(!path.exists(), "removed on drop");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_running_process_in_the_file_is_refused_and_a_stale_one_replaced() {
        let d = dir("busy");
        let path = d.join("portico.pid");
        // pid 1 always runs.
        std::fs::write(&path, "1\n").unwrap();
        let err = PidFile::create(&path).err().expect("refused").to_string();
        assert!(
            err.contains("already running as pid 1") && err.contains("portico.pid"),
            "{err}"
        );
        // A pid that cannot exist (beyond pid_max) is stale.
        std::fs::write(&path, "2147483646\n").unwrap();
        drop(PidFile::create(&path).unwrap());
        let unwritable = d.join("no/such/dir/p.pid");
        assert!(PidFile::create(&unwritable)
            .err()
            .unwrap()
            .to_string()
            .contains("cannot write"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
