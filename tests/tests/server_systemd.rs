//! Under systemd, emulated: a listening socket passed as descriptor 3 with `LISTEN_FDS` and
//! `LISTEN_PID` (socket activation) is served instead of `--bind`, and `$NOTIFY_SOCKET` hears
//! `READY=1` once the first worker has created the app, `RELOADING=1` then `READY=1` around a
//! HUP, and `STOPPING=1` on TERM (what `Type=notify` in deploy/portico.service relies on).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tests::{curl, free_port, portico_bin, TempDir};

const OPS_A: &str = env!("OPS_A_LIB");

/// The next datagram, as text (empty after the time limit).
fn next_state(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    match socket.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(_) => String::new(),
    }
}

#[test]
fn socket_activation_and_readiness_notification() {
    let dir = TempDir::new("systemd");
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let activated = TcpListener::bind("127.0.0.1:0").expect("the socket systemd would open");
    let port = activated.local_addr().expect("addr").port();
    let ignored_port = free_port();
    let fd = activated.as_raw_fd();
    let mut cmd = Command::new("sh");
    // LISTEN_PID must be portico's pid: the shell's, which `exec` keeps.
    cmd.args(["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\""])
        .arg(portico_bin())
        .args([
            "--bind",
            &format!("127.0.0.1:{ignored_port}"),
            "--log-level",
            "info",
        ])
        .arg(OPS_A)
        .env("LISTEN_FDS", "1")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: dup2(2) is async-signal-safe; the descriptor is open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start portico");
    drop(activated);
    let logs = Arc::new(Mutex::new(String::new()));
    {
        let logs = Arc::clone(&logs);
        let stderr = child.stderr.take().expect("stderr");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = logs.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
    }
    let log = || logs.lock().map(|l| l.clone()).unwrap_or_default();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(next_state(&notify), "READY=1", "log:\n{}", log());
        let r = curl(&[
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/plaintext"),
        ]);
        assert_eq!(r.status, 200, "served on the inherited socket: {r:?}");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", ignored_port)).is_err(),
            "--bind is not used when systemd passes the sockets"
        );
        assert!(log().contains("(from systemd)"), "log:\n{}", log());
        tests::signal_pid(child.id(), libc::SIGHUP);
        assert_eq!(next_state(&notify), "RELOADING=1");
        assert_eq!(next_state(&notify), "READY=1", "log:\n{}", log());
        tests::signal_pid(child.id(), libc::SIGTERM);
        assert_eq!(next_state(&notify), "STOPPING=1");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                assert!(status.success(), "{status}; log:\n{}", log());
                break;
            }
            assert!(Instant::now() < deadline, "did not exit; log:\n{}", log());
            thread::sleep(Duration::from_millis(20));
        }
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
