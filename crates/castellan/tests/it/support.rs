//! Running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
