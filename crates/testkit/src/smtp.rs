//! A real SMTP server on loopback (Python aiosmtpd, installed by scripts/test): every
//! message it receives lands as a file the test can read.

use crate::tools::tool;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running SMTP sink, killed when dropped (its received messages are deleted then too).
pub struct SmtpSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(free_port())
    }

    /// Starts a sink on `port` (to bring a "down" server up later).
    pub fn start_on(port: u16) -> SmtpSink {
        SmtpSink::spawn(port, &[])
    }

    /// Starts a sink on `port` that crashes during a send, for the outbox's crash tests: it
    /// accepts `n` messages, and when the next message's DATA has arrived the process exits
    /// at once, without keeping that message and without answering. The client sees the
    /// connection drop before it learns whether the message was taken, and every later
    /// connection fails until a sink is started on the port again; since this one never
    /// kept the message, a correct retry delivers it exactly once. The messages it accepted
    /// stay readable through [`SmtpSink::messages`] after it has died, for as long as this
    /// value lives.
    pub fn start_dying_after(port: u16, n: usize) -> SmtpSink {
        SmtpSink::spawn(port, &["--die-after".to_owned(), n.to_string()])
    }

    fn spawn(port: u16, extra: &[String]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/smtp_sink.py");
        let mut child = Command::new(tool("python"))
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP sink ({e}); run scripts/test"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("SMTP sink: {e}"));
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP sink did not start (is aiosmtpd installed? run scripts/test)"
        );
        SmtpSink { child, port, dir }
    }

    /// The folder the received messages land in (`*.eml`), for tools outside Rust.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits up to `timeout` for at least `n` messages.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n || start.elapsed() > timeout {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
