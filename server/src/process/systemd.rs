//! Owns what portico does for systemd: socket activation (the listening sockets systemd opened,
//! passed as descriptors 3.. with `LISTEN_PID` and `LISTEN_FDS`, used instead of `--bind`, as
//! gunicorn does) and readiness notification (`READY=1`, `RELOADING=1`, `STOPPING=1` to
//! `$NOTIFY_SOCKET`, for `Type=notify` units). Outside systemd both do nothing.

use crate::error::ServerError;
use crate::serve::listener::Listener;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: i32 = 3;

/// The most sockets adopted: systemd passes a handful; a huge count is a broken environment.
const MAX_LISTEN_FDS: i32 = 64;

/// The sockets systemd passed to this process, if any. The variables are removed so that
/// nothing started later (a worker's app) takes them for its own.
pub fn listen_fds() -> Result<Option<Vec<Listener>>, ServerError> {
    let pid = std::env::var("LISTEN_PID").ok();
    let count = std::env::var("LISTEN_FDS").ok();
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(None);
    };
    // SAFETY: the master is single-threaded when it reads its environment.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    let count: i32 = match count.trim().parse() {
        Ok(n) if (1..=MAX_LISTEN_FDS).contains(&n) => n,
        _ => {
            return Err(ServerError::io(
                format!("LISTEN_FDS={count}: not a socket count from 1 to {MAX_LISTEN_FDS}"),
                std::io::Error::from(std::io::ErrorKind::InvalidInput),
            ))
        }
    };
    (LISTEN_FDS_START..LISTEN_FDS_START + count)
        .map(Listener::inherited)
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Tells systemd `state` (`READY=1`, …) when it asked to be told.
pub fn notify(state: &str) {
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = (|| -> std::io::Result<()> {
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        let bytes = target.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(state.as_bytes(), &addr)?;
                return Ok(());
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            {
                let _ = name;
                return Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
            }
        }
        socket.send_to(state.as_bytes(), &target)?;
        Ok(())
    })();
    if let Err(e) = result {
        log::warn!("cannot notify systemd ({state:?}): {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket() {
        let dir = std::env::temp_dir().join(format!("portico-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let server = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        // SAFETY: no other test reads or writes NOTIFY_SOCKET.
        unsafe { std::env::set_var("NOTIFY_SOCKET", &path) };
        notify("READY=1");
        unsafe { std::env::remove_var("NOTIFY_SOCKET") };
        let mut buf = [0u8; 64];
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        notify("STOPPING=1"); // no socket: nothing happens
        let _ = std::fs::remove_dir_all(&dir);
    }
}
