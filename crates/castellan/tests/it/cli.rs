//! `init`, `ca show`, `cert issue | show | download`, `crl publish`, `profiles list`.

use crate::support::*;
use castellan_testkit::tools::{openssl, run};

#[test]
fn init_creates_the_data_directory_and_refuses_a_second_time() {
    let ws = Workspace::new();
    let out = ok(ws.init("data", &["--customer-uri", "camford"]));
    assert!(out.contains("Initialised"), "{out}");
    assert!(out.contains("rsa-root-1 (rsa root, rsa2048)"), "{out}");
    assert!(out.contains("ecc-root-1 (ecc root, p384)"), "{out}");
    assert!(out.contains("ecc-issuing-1 (ecc issuing, p384)"), "{out}");
    let data = ws.path("data");
    for file in [
        "castellan.toml",
        "castellan.db",
        "kek",
        "profiles/ov-ssl.toml",
        "profiles/code-signing.toml",
    ] {
        assert!(data.join(file).exists(), "{file} missing");
    }
    assert_eq!(mode(&data.join("kek")), 0o600);
    assert_eq!(mode(&data), 0o700, "the data directory is private");
    for db in ["castellan.db", "castellan.db-wal", "castellan.db-shm"] {
        if data.join(db).exists() {
            assert_eq!(mode(&data.join(db)), 0o600, "{db} is private");
        }
    }
    assert_eq!(mode(&data.join("castellan.toml")), 0o600);
    let config = std::fs::read_to_string(data.join("castellan.toml")).unwrap();
    assert!(config.contains("customer_uri = \"camford\""), "{config}");
    assert!(
        config.contains("# The public URL of the portal"),
        "every key is documented"
    );
    assert!(
        !data.join("initial-admin-password").exists(),
        "init takes the password from a file"
    );

    let before = snapshot(&data);
    let err = fails(ws.init("data", &[]));
    assert_eq!(
        err,
        format!(
            "{} is already initialised ({}/castellan.toml exists); nothing was changed. To start \
             over, choose another --data-dir",
            data.display(),
            data.display()
        )
    );
    assert_eq!(snapshot(&data), before, "a refused init changed files");
}

#[test]
fn init_refuses_bad_input_and_leaves_nothing_behind() {
    let ws = Workspace::new();
    std::fs::write(ws.path("short"), "short\n").unwrap();
    let out = run_in(
        &ws.path("data"),
        &[
            "init",
            "--admin-login",
            "admin",
            "--admin-password-file",
            ws.path("short").to_str().unwrap(),
        ],
    );
    assert_eq!(
        fails(out),
        "invalid password: a password must be at least 12 characters long"
    );
    assert!(!ws.path("data").exists());

    let out = ws.init("data", &["--customer-uri", "no spaces please"]);
    assert_eq!(
        fails(out),
        "invalid customer URI: 'no spaces please' must be 1 to 64 letters, digits, '-' or '_'"
    );
    assert!(!ws.path("data").exists());
    // No staging directory is left either.
    let leftovers: Vec<_> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("init-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    std::fs::create_dir(ws.path("busy")).unwrap();
    std::fs::write(ws.path("busy/notes.txt"), "mine").unwrap();
    let err = fails(ws.init("busy", &[]));
    assert!(err.ends_with("is not empty (notes.txt) and holds no castellan.toml; refusing to initialise over existing files. Choose an empty or new --data-dir"), "{err}");

    let err = fails(ws.init("data", &["--pki-base-url", "https://pki.camford.ac.uk"]));
    assert_eq!(
        err,
        "invalid pki_base_url: 'https://pki.camford.ac.uk' must be an http:// URL: relying parties fetch CRLs, OCSP and CA certificates without TLS"
    );
}

#[test]
fn ca_show_prints_the_hierarchy() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let out = ok(run_in(&ws.path("data"), &["ca", "show", "--pem"]));
    for slug in ["rsa-root-1", "rsa-issuing-1", "ecc-root-1", "ecc-issuing-1"] {
        assert!(out.contains(slug), "{slug}: {out}");
    }
    assert!(
        out.contains("subject:     CN=Castellan ECC Root CA,O=Camford Test CA,C=GB"),
        "{out}"
    );
    assert_eq!(out.matches("-----BEGIN CERTIFICATE-----").count(), 4);
}

fn org_file(ws: &Workspace) -> String {
    let path = ws.path("org.toml");
    std::fs::write(
        &path,
        "name = \"University of Camford\"\nlocality = \"Camford\"\ncountry = \"GB\"\n",
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

fn openssl_csr(
    ws: &Workspace,
    name: &str,
    newkey: &[&str],
    subject: &str,
    san: Option<&str>,
) -> String {
    let csr = ws.path(&format!("{name}.csr"));
    let mut cmd = openssl();
    cmd.args(["req", "-new", "-nodes", "-keyout"])
        .arg(ws.path(&format!("{name}.key")));
    cmd.args(newkey).args(["-subj", subject, "-out"]).arg(&csr);
    if let Some(san) = san {
        cmd.args(["-addext", san]);
    }
    run(&mut cmd);
    csr.to_str().unwrap().to_owned()
}

#[test]
fn cert_issue_show_and_download_through_the_cli() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let org = org_file(&ws);
    let csr = openssl_csr(
        &ws,
        "www",
        &["-newkey", "rsa:2048"],
        "/CN=www.camford.ac.uk",
        None,
    );
    let leaf = ws.path("leaf.pem");
    let out = run_in(
        &data,
        &[
            "cert",
            "issue",
            "--profile",
            "OV SSL",
            "--csr",
            &csr,
            "--term",
            "90",
            "--organization",
            &org,
            "--out",
            leaf.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(
            "under 'OV SSL' for CN=www.camford.ac.uk,O=University of Camford,L=Camford,C=GB"
        ),
        "{said}"
    );
    // The file holds one certificate that openssl reads, for the CSR's key.
    let serial = run(openssl()
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(&leaf));
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let text = run(openssl()
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&leaf));
    assert!(
        text.contains("DNS:www.camford.ac.uk") && text.contains("DNS:camford.ac.uk"),
        "{text}"
    );
    assert!(text.contains("2.23.140.1.2.2"), "{text}");
    assert!(
        text.contains("OCSP - URI:http://pki.camford.ac.uk/ocsp"),
        "{text}"
    );
    assert!(
        text.contains("CA Issuers - URI:http://pki.camford.ac.uk/ca/rsa-issuing-1.crt"),
        "{text}"
    );
    assert!(
        text.contains("URI:http://pki.camford.ac.uk/crl/rsa-issuing-1.crl"),
        "{text}"
    );

    let shown = ok(run_in(&data, &["cert", "show", &serial]));
    assert!(shown.contains("status:      Issued"), "{shown}");
    assert!(shown.contains("profile:     OV SSL"), "{shown}");
    assert!(
        shown.contains("names:       www.camford.ac.uk, camford.ac.uk")
            || shown.contains("names:       camford.ac.uk, www.camford.ac.uk"),
        "{shown}"
    );
    assert!(
        shown.contains("private key: held by the requester"),
        "{shown}"
    );
    assert!(shown.contains("via CLI"), "{shown}");

    // x509IOR is issuing CA then root; with x509CO it verifies.
    let ior = ws.path("ior.pem");
    ok(run_in(
        &data,
        &[
            "cert",
            "download",
            &serial,
            "--format",
            "x509IOR",
            "--out",
            ior.to_str().unwrap(),
        ],
    ));
    let root = ws.path("root.pem");
    let pem = std::fs::read_to_string(&ior).unwrap();
    let root_pem = &pem[pem.rfind("-----BEGIN CERTIFICATE-----").unwrap()..];
    std::fs::write(&root, root_pem).unwrap();
    let verified = run(openssl()
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .arg(&ior)
        .arg(&leaf));
    assert!(verified.trim().ends_with("OK"), "{verified}");

    let err = fails(run_in(
        &data,
        &["cert", "download", &serial, "--format", "docx"],
    ));
    assert!(
        err.starts_with(
            "unknown format 'docx'; the formats are: pemco, pemia, pem, bin, base64, x509IO"
        ),
        "{err}"
    );
    let err = fails(run_in(&data, &["cert", "show", "00ff"]));
    assert_eq!(err, "no certificate with serial 00ff");
}

#[test]
fn server_generated_keys_come_as_pkcs12() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let org = org_file(&ws);
    std::fs::write(ws.path("pass"), "a long passphrase\n").unwrap();
    let p12 = ws.path("bundle.p12");
    let out = run_in(
        &data,
        &[
            "cert",
            "issue",
            "--profile",
            "OV Multi-Domain SSL",
            "--generate-key",
            "p256",
            "--name",
            "www.camford.ac.uk",
            "--name",
            "mail.camford.ac.uk",
            "--term",
            "90",
            "--organization",
            &org,
            "--format",
            "pkcs12",
            "--passphrase-file",
            ws.path("pass").to_str().unwrap(),
            "--out",
            p12.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&p12), 0o600, "a file with a private key is private");
    let info = openssl()
        .args([
            "pkcs12",
            "-info",
            "-nodes",
            "-passin",
            "pass:a long passphrase",
            "-in",
        ])
        .arg(&p12)
        .output()
        .unwrap();
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    let text = String::from_utf8_lossy(&info.stdout);
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 3);
    assert_eq!(text.matches("-----BEGIN PRIVATE KEY-----").count(), 1);

    // PKCS#12 without a server-held key is refused before anything is issued.
    let csr = openssl_csr(
        &ws,
        "x",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=x.camford.ac.uk",
        None,
    );
    let err = fails(run_in(
        &data,
        &[
            "cert",
            "issue",
            "--profile",
            "OV SSL",
            "--csr",
            &csr,
            "--term",
            "90",
            "--organization",
            &org,
            "--format",
            "pkcs12",
            "--passphrase-file",
            ws.path("pass").to_str().unwrap(),
        ],
    ));
    assert_eq!(
        err,
        "format 'pkcs12' carries the private key, which only exists here with --generate-key; with a CSR, the key never leaves the requester"
    );
}

/// Every refusal of "Bad input" through the CLI: exit code, exact message, nothing stored.
#[test]
fn bad_input_is_refused_with_the_rule_and_nothing_is_stored() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let org = org_file(&ws);
    let issue = |csr: &str, profile: &str, term: &str| {
        run_in(
            &data,
            &[
                "cert",
                "issue",
                "--profile",
                profile,
                "--csr",
                csr,
                "--term",
                term,
                "--organization",
                &org,
            ],
        )
    };

    std::fs::write(
        ws.path("garbage.csr"),
        "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n",
    )
    .unwrap();
    assert_eq!(
        fails(issue(
            ws.path("garbage.csr").to_str().unwrap(),
            "OV SSL",
            "90"
        )),
        "malformed CSR: it is not a PKCS#10 certificate request (the DER structure does not decode). Paste the whole PEM block, including the -----BEGIN CERTIFICATE REQUEST----- and -----END CERTIFICATE REQUEST----- lines"
    );

    // A CSR whose subject was altered after signing.
    let good = openssl_csr(
        &ws,
        "good",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=www.camford.ac.uk",
        None,
    );
    let der_path = ws.path("good.der");
    run(openssl()
        .args(["req", "-outform", "DER", "-out"])
        .arg(&der_path)
        .arg("-in")
        .arg(&good));
    let mut bytes = std::fs::read(&der_path).unwrap();
    let at = bytes.windows(3).position(|w| w == b"www").unwrap();
    bytes[at + 2] = b'x';
    std::fs::write(ws.path("tampered.der"), &bytes).unwrap();
    assert_eq!(
        fails(issue(
            ws.path("tampered.der").to_str().unwrap(),
            "OV SSL",
            "90"
        )),
        "CSR signature does not verify: the request was altered, or was not signed by the private key whose public key it carries. Generate the CSR again from the private key"
    );

    let weak = openssl_csr(
        &ws,
        "weak",
        &["-newkey", "rsa:1024"],
        "/CN=www.camford.ac.uk",
        None,
    );
    assert_eq!(
        fails(issue(&weak, "OV SSL", "90")),
        "key policy (rsa-modulus-size): RSA key of 1024 bits is too weak; use 2048 to 8192 bits (e.g. openssl req -newkey rsa:2048)"
    );
    let p521 = openssl_csr(
        &ws,
        "p521",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
        "/CN=www.camford.ac.uk",
        None,
    );
    assert_eq!(
        fails(issue(&p521, "OV SSL", "90")),
        "key policy (ecdsa-curve): ECDSA curve P-521 is not accepted; use P-256 or P-384"
    );

    assert_eq!(
        fails(issue(&good, "OV SSL", "365")),
        "profile 'OV SSL' (term): a term of 365 days is not allowed; allowed terms: 90, 199 days"
    );

    let wildcard = openssl_csr(
        &ws,
        "wild",
        &["-newkey", "rsa:2048"],
        "/CN=*.camford.ac.uk",
        None,
    );
    assert_eq!(
        fails(issue(&wildcard, "OV SSL", "90")),
        "profile 'OV SSL' (wildcard-forbidden): wildcard names are not allowed (*.camford.ac.uk); use the Wildcard SSL profile or name each host"
    );

    let sans: Vec<String> = (0..101)
        .map(|i| format!("DNS:h{i}.camford.ac.uk"))
        .collect();
    let many = openssl_csr(
        &ws,
        "many",
        &["-newkey", "rsa:2048"],
        "/CN=h0.camford.ac.uk",
        Some(&format!("subjectAltName={}", sans.join(","))),
    );
    assert_eq!(
        fails(issue(&many, "OV Multi-Domain SSL", "90")),
        "profile 'OV Multi-Domain SSL' (max-names): 101 names requested, at most 100 allowed"
    );

    // Nothing of the above was stored: the first good issuance gets id 1.
    let out = run_in(
        &data,
        &[
            "cert",
            "issue",
            "--profile",
            "OV SSL",
            "--csr",
            &good,
            "--term",
            "90",
            "--organization",
            &org,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("(id 1)"), "{}", stderr(&out));
}

/// The lines of `crl publish` with each CRL's size (which varies with the ECDSA signature)
/// checked and cut off, and the round's time and the peak memory checked and cut off.
fn crl_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|line| {
            if let Some((head, size)) = line.rsplit_once(", ")
                && line.starts_with("CRL ")
            {
                let bytes: usize = size.strip_suffix(" bytes").unwrap().parse().unwrap();
                assert!(bytes > 200, "{line}");
                return head.to_owned();
            }
            if let Some(rest) = line.strip_prefix("Published ") {
                let (count, time) = rest.split_once(" CRLs in ").unwrap();
                let seconds: f64 = time.strip_suffix(" s.").unwrap().parse().unwrap();
                assert!(seconds >= 0.0, "{line}");
                return format!("Published {count} CRLs");
            }
            if let Some(peak) = line.strip_prefix("peak memory: ") {
                // "unknown" only where there is no /proc.
                if cfg!(target_os = "linux") {
                    let mb: u64 = peak.strip_suffix(" MB").unwrap().parse().unwrap();
                    assert!(mb > 0, "{line}");
                }
                return "peak memory".to_owned();
            }
            line.to_owned()
        })
        .collect()
}

#[test]
fn crl_publish_publishes_what_is_due_and_everything_when_forced() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let first = ok(run_in(&data, &["crl", "publish"]));
    assert_eq!(
        crl_lines(&first),
        [
            "CRL rsa-root-1 shard 0: number 1, 0 entries",
            "CRL rsa-issuing-1 shard 0: number 1, 0 entries",
            "CRL ecc-root-1 shard 0: number 1, 0 entries",
            "CRL ecc-issuing-1 shard 0: number 1, 0 entries",
            "Published 4 CRLs",
            "peak memory",
        ],
        "{first}"
    );

    let again = ok(run_in(&data, &["crl", "publish"]));
    assert_eq!(
        crl_lines(&again),
        [
            "No CRL was due; none published (--force publishes every CRL anew).",
            "peak memory",
        ],
        "{again}"
    );

    let forced = ok(run_in(&data, &["crl", "publish", "--force"]));
    assert_eq!(
        crl_lines(&forced),
        [
            "CRL rsa-root-1 shard 0: number 2, 0 entries",
            "CRL rsa-issuing-1 shard 0: number 2, 0 entries",
            "CRL ecc-root-1 shard 0: number 2, 0 entries",
            "CRL ecc-issuing-1 shard 0: number 2, 0 entries",
            "Published 4 CRLs",
            "peak memory",
        ],
        "{forced}"
    );
}

#[test]
fn profiles_list_shows_every_shipped_profile() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let out = ok(run_in(&ws.path("data"), &["profiles", "list"]));
    assert_eq!(out.lines().count(), 1 + 13, "{out}");
    assert!(out.contains("EV Anchor (Validation Only)"), "{out}");
}

#[tokio::test]
async fn audit_verify_reports_an_edited_entry() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let out = ok(run_in(&data, &["audit", "verify"]));
    assert_eq!(
        out.trim(),
        "audit log intact: 1 entries, every hash and link checked"
    );
    let db = data.join("castellan.db");
    let guard = castellan_testkit::db::execute_sqlite(&db, "UPDATE audit_log SET actor = 'x'")
        .await
        .unwrap_err();
    assert!(guard.contains("the audit log is append-only"), "{guard}");
    for sql in [
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET actor = 'someone else' WHERE id = 1",
    ] {
        castellan_testkit::db::execute_sqlite(&db, sql)
            .await
            .unwrap();
    }
    let err = fails(run_in(&data, &["audit", "verify"]));
    assert_eq!(
        err,
        "audit log broken at entry 1: its content does not match its hash: the row was edited \
         (1 entries read). Restore the database from a backup and investigate who had write \
         access"
    );
}
