//! Running the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub fn castellan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_castellan"));
    // Tests must not inherit an operator's settings.
    for (key, _) in std::env::vars() {
        if key.starts_with("CASTELLAN_")
            && !key.starts_with("CASTELLAN_TEST_")
            && key != "CASTELLAN_TOOLS_BIN"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs `castellan --data-dir DIR ARGS…`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    castellan()
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    stdout(&out)
}

/// Asserts failure and returns the `error: …` message.
pub fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "unexpectedly succeeded: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    err.lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| panic!("no error line in: {err}"))
        .to_owned()
}

/// A scratch directory with a password file and a small-key configuration (RSA 2048 keeps
/// the suite fast; the production default, 4096/3072, is covered by the first-start test).
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), "correct horse battery\n").unwrap();
        std::fs::write(
            dir.path().join("small-keys.toml"),
            "pki_base_url = \"http://pki.camford.ac.uk\"\n[ca]\nrsa_root_bits = 2048\nrsa_issuing_bits = 2048\ncountry = \"GB\"\norganization = \"Camford Test CA\"\n",
        )
        .unwrap();
        Workspace { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `castellan init` of `data` with the small-key configuration.
    pub fn init(&self, data: &str, extra: &[&str]) -> Output {
        let password = self.path("password");
        let config = self.path("small-keys.toml");
        let mut args = vec![
            "init",
            "--admin-login",
            "admin",
            "--admin-password-file",
            password.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_in(&self.path(data), &args)
    }
}

/// Every file under `dir` with its bytes, to prove nothing changed.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A running `castellan serve`, stopped when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    /// What serve printed on stdout up to and including its `listening on` line.
    pub lines: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Runs `castellan --data-dir DIR serve ARGS…` with extra environment `env` and waits
    /// for its `listening on` line (90 s at most: a first start creates the CA).
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = castellan();
        cmd.arg("--data-dir").arg(dir).arg("serve").args(args);
        // Tests run side by side: the plain-HTTP PKI listener takes a free port.
        cmd.env("CASTELLAN_PKI_LISTEN", "127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both pipes are drained for the server's whole life: a full pipe would block it.
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(90)) {
                Ok(line) => {
                    let port = line
                        .split_once("listening on ")
                        .and_then(|(_, rest)| rest.split_whitespace().next())
                        .and_then(|url| url.rsplit(':').next())
                        .and_then(|p| p.parse().ok());
                    lines.push(line);
                    if let Some(port) = port {
                        return Server {
                            child,
                            port,
                            lines,
                            stderr,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = stderr_reader.join();
                    panic!(
                        "serve did not start: {}\nstdout so far: {lines:?}",
                        stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// The port of the plain-HTTP PKI listener (OCSP, CRLs, CA certificates).
    pub fn pki_port(&self) -> u16 {
        self.lines
            .iter()
            .find_map(|l| {
                l.split_once("OCSP, CRLs and CA certificates on http://")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .and_then(|addr| addr.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
            })
            .expect("serve printed no PKI listener line")
    }

    /// What serve has written to stderr so far (its log), for failure messages.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "serve exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("serve did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
