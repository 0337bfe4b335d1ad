//! External tools. A missing tool fails the test (it never skips): `scripts/test`
//! installs them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds a tool: first in `CASTELLAN_TOOLS_BIN` (set by `scripts/test` to the virtualenv it
/// installs pkilint into), then in the repository's `.test-tools/venv/bin`, then on PATH.
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(extra) = std::env::var_os("CASTELLAN_TOOLS_BIN") {
        dirs.extend(std::env::split_paths(&extra));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.test-tools/venv/bin"));
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed; run scripts/test, which installs it"))
}

/// Runs a command and returns its standard output; panics with standard error on failure.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `openssl` command.
pub fn openssl() -> Command {
    Command::new(tool("openssl"))
}

/// Makes a P-256 key and a CSR for `subject` (e.g. `/CN=www.example.com`) with the openssl
/// CLI in `dir`; returns the paths of the CSR and the key (PEM, PKCS#8).
pub fn openssl_csr(dir: &Path, name: &str, subject: &str) -> (PathBuf, PathBuf) {
    let csr = dir.join(format!("{name}.csr"));
    let key = dir.join(format!("{name}.key"));
    run(openssl().args([
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key.to_string_lossy(),
        "-out",
        &csr.to_string_lossy(),
        "-subj",
        subject,
    ]));
    (csr, key)
}

/// Runs the pkilint linter `linter` (with `extra` arguments) on a DER certificate; returns the
/// findings at WARNING or above as `(severity, code)` and panics on ERROR or FATAL.
pub fn pkilint(dir: &Path, linter: &str, extra: &[&str], der: &[u8]) -> Vec<(String, String)> {
    let path = dir.join(format!("{linter}.der"));
    std::fs::write(&path, der).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = Command::new(tool(linter))
        .arg("lint")
        .args(extra)
        .args(["-s", "WARNING", "-f", "JSON", "--document-format", "DER"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{linter}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{linter} did not print JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut findings = Vec::new();
    collect_findings(&json, &mut findings);
    let fatal: Vec<_> = findings
        .iter()
        .filter(|(sev, _)| sev == "ERROR" || sev == "FATAL")
        .collect();
    assert!(
        fatal.is_empty(),
        "{linter} reports {fatal:?}\nfull output: {stdout}"
    );
    findings
}

fn collect_findings(value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(sev), Some(code)) = (map.get("severity"), map.get("code")) {
                out.push((
                    sev.as_str().unwrap_or_default().to_owned(),
                    code.as_str().unwrap_or_default().to_owned(),
                ));
            }
            map.values().for_each(|v| collect_findings(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_findings(v, out)),
        _ => {}
    }
}
