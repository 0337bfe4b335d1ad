//! First start: the CA hierarchy and the first operator administrator (MRAO).
//!
//! Everything is checked before anything is written, and everything that is written goes
//! into one transaction: an interrupted `init` leaves an empty database, and `init` on an
//! initialised database refuses and changes nothing.

use crate::authority::CaSummary;
use crate::clock::Clock;
use crate::{RaError, Result, password, urls};
use base64::Engine as _;
use castellan_model::{AdminRole, AdminType, Credential, Hierarchy, KeyType, OrgId, Privilege};
use castellan_pki::hierarchy::{self, CaName};
use castellan_pki::kek::Kek;
use castellan_pki::keys;
use castellan_pki::rand::Rng;
use castellan_pki::serial::Serial;
use castellan_pki::signer::{Signer, SoftwareSigner};
use castellan_store::{AdminData, CaRole, NewCa, Store, settings};
use zeroize::Zeroizing;

/// The CA hierarchy to create: names, key sizes and validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSetup {
    /// organizationName of every CA certificate.
    pub organization: String,
    /// countryName of every CA certificate (two letters), if any.
    pub country: Option<String>,
    /// commonName of the RSA root.
    pub rsa_root_name: String,
    /// commonName of the RSA issuing CA.
    pub rsa_issuing_name: String,
    /// commonName of the ECDSA root.
    pub ecc_root_name: String,
    /// commonName of the ECDSA issuing CA.
    pub ecc_issuing_name: String,
    /// RSA root key size (4096).
    pub rsa_root_bits: u32,
    /// RSA issuing CA key size (3072).
    pub rsa_issuing_bits: u32,
    /// ECDSA root curve (P-384).
    pub ecc_root_curve: KeyType,
    /// ECDSA issuing CA curve (P-384; P-256 makes each certificate's signature several
    /// times cheaper, see `docs/adr/0003-one-issuing-ca-per-algorithm.md`).
    pub ecc_issuing_curve: KeyType,
    /// Root validity in days (20 years).
    pub root_validity_days: u32,
    /// Issuing CA validity in days (8 years).
    pub issuing_validity_days: u32,
}

impl Default for CaSetup {
    fn default() -> CaSetup {
        CaSetup {
            organization: "Castellan".into(),
            country: None,
            rsa_root_name: "Castellan RSA Root CA".into(),
            rsa_issuing_name: "Castellan RSA Issuing CA 1".into(),
            ecc_root_name: "Castellan ECC Root CA".into(),
            ecc_issuing_name: "Castellan ECC Issuing CA 1".into(),
            rsa_root_bits: 4096,
            rsa_issuing_bits: 3072,
            ecc_root_curve: KeyType::EcP384,
            ecc_issuing_curve: KeyType::EcP384,
            root_validity_days: 7305,
            issuing_validity_days: 2922,
        }
    }
}

/// The first operator administrator.
pub struct FirstAdmin {
    /// Login name.
    pub login: String,
    /// E-mail address.
    pub email: String,
    /// Initial password (they must change it at first sign-in).
    pub password: Zeroizing<String>,
}

/// Everything `init` needs.
pub struct InitParams {
    /// `/customer/<customer_uri>/`.
    pub customer_uri: String,
    /// Base of the AIA/CRL/OCSP URLs put into certificates.
    pub pki_base_url: String,
    /// The hierarchy.
    pub ca: CaSetup,
    /// The first MRAO.
    pub admin: FirstAdmin,
}

/// What `init` created.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// The CAs, roots first.
    pub hierarchy: Vec<CaSummary>,
    /// The MRAO's login.
    pub admin_login: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RaError {
    RaError::InvalidInput {
        field,
        reason: reason.into(),
    }
}

/// Checks a customer URI: letters, digits, `-` and `_`, 1 to 64 characters.
pub fn check_customer_uri(uri: &str) -> Result<()> {
    if uri.is_empty()
        || uri.len() > 64
        || !uri
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "customer URI",
            format!("'{uri}' must be 1 to 64 letters, digits, '-' or '_'"),
        ));
    }
    Ok(())
}

/// Checks a login name against SCM's rule: 3 to 128 of letters, digits and `!@_.-+'`.
pub fn check_login(login: &str) -> Result<()> {
    let len = login.chars().count();
    if !(3..=128).contains(&len)
        || !login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!@_.-+'".contains(c))
    {
        return Err(invalid(
            "login",
            format!("'{login}' must be 3 to 128 characters of letters, digits and ! @ _ . - + '"),
        ));
    }
    Ok(())
}

fn check_params(params: &InitParams) -> Result<()> {
    check_customer_uri(&params.customer_uri)?;
    check_login(&params.admin.login)?;
    password::check_strength(&params.admin.password)?;
    if !params.pki_base_url.starts_with("http://") {
        return Err(invalid(
            "pki_base_url",
            format!(
                "'{}' must be an http:// URL: relying parties fetch CRLs, OCSP and CA \
                 certificates without TLS",
                params.pki_base_url
            ),
        ));
    }
    let ca = &params.ca;
    if let Some(country) = &ca.country
        && (country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(invalid(
            "ca.country",
            format!("'{country}' must be a two-letter upper-case code such as GB"),
        ));
    }
    for (field, value) in [
        ("ca.organization", &ca.organization),
        ("ca.rsa_root_name", &ca.rsa_root_name),
        ("ca.rsa_issuing_name", &ca.rsa_issuing_name),
        ("ca.ecc_root_name", &ca.ecc_root_name),
        ("ca.ecc_issuing_name", &ca.ecc_issuing_name),
    ] {
        if value.trim().is_empty() || value.len() > 64 {
            return Err(invalid(field, "must be 1 to 64 characters"));
        }
    }
    for (field, bits) in [
        ("ca.rsa_root_bits", ca.rsa_root_bits),
        ("ca.rsa_issuing_bits", ca.rsa_issuing_bits),
    ] {
        if ![2048, 3072, 4096, 8192].contains(&bits) {
            return Err(invalid(
                field,
                format!("{bits} is not 2048, 3072, 4096 or 8192"),
            ));
        }
    }
    for (field, curve) in [
        ("ca.ecc_root_curve", ca.ecc_root_curve),
        ("ca.ecc_issuing_curve", ca.ecc_issuing_curve),
    ] {
        if curve.is_rsa() {
            return Err(invalid(
                field,
                format!("{curve} is not an ECDSA curve; use P-256 or P-384"),
            ));
        }
    }
    if ca.issuing_validity_days <= 825 || ca.issuing_validity_days >= ca.root_validity_days {
        return Err(invalid(
            "ca.issuing_validity_days",
            format!(
                "{} must be longer than the longest leaf term (825 days) and shorter than the \
                 root's {} days",
                ca.issuing_validity_days, ca.root_validity_days
            ),
        ));
    }
    Ok(())
}

struct MadeCa {
    record: NewCa,
}

async fn generate(key_type: KeyType) -> Result<keys::GeneratedKey> {
    // RSA key generation takes up to a second: keep it off the async workers.
    tokio::task::spawn_blocking(move || keys::generate(key_type))
        .await
        .map_err(|e| RaError::Internal(format!("key generation task failed: {e}")))?
        .map_err(RaError::from)
}

#[allow(clippy::too_many_arguments)]
fn ca_record(
    slug: &str,
    hierarchy: Hierarchy,
    role: CaRole,
    key: &keys::GeneratedKey,
    certificate_der: Vec<u8>,
    serial: &Serial,
    kek: &Kek,
    rng: &dyn Rng,
    now: i64,
    validity_days: u32,
    subject: String,
) -> Result<MadeCa> {
    Ok(MadeCa {
        record: NewCa {
            slug: slug.to_owned(),
            hierarchy,
            role,
            parent_id: None,
            subject,
            key_type: key.key_type.short_name(),
            key_storage: "software".into(),
            encrypted_key: kek.seal(&key.pkcs8, &ca_key_purpose(slug), rng)?,
            sha256_fingerprint: hex(&keys::sha256(&certificate_der)),
            certificate_der,
            serial: serial.to_hex(),
            not_before: now,
            not_after: now + i64::from(validity_days) * 86_400 - 1,
            spki_sha256: hex(&keys::sha256(&key.spki_der)),
            created_at: now,
        },
    })
}

/// The AAD a CA key is sealed under.
pub(crate) fn ca_key_purpose(slug: &str) -> String {
    format!("ca-key:{slug}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn subject_text(der: &[u8]) -> Result<String> {
    Ok(castellan_pki::inspect::inspect(der)?.subject)
}

/// Creates one hierarchy: root and issuing CA.
async fn make_hierarchy(
    params: &InitParams,
    hierarchy: Hierarchy,
    kek: &Kek,
    rng: &dyn Rng,
    now: time::OffsetDateTime,
) -> Result<(MadeCa, MadeCa)> {
    let ca = &params.ca;
    let (root_type, issuing_type, root_name, issuing_name) = match hierarchy {
        Hierarchy::Rsa => (
            KeyType::Rsa(ca.rsa_root_bits),
            KeyType::Rsa(ca.rsa_issuing_bits),
            &ca.rsa_root_name,
            &ca.rsa_issuing_name,
        ),
        Hierarchy::Ecc => (
            ca.ecc_root_curve,
            ca.ecc_issuing_curve,
            &ca.ecc_root_name,
            &ca.ecc_issuing_name,
        ),
    };
    let root_slug = format!("{hierarchy}-root-1");
    let issuing_slug = format!("{hierarchy}-issuing-1");
    let name = |cn: &String| CaName {
        country: ca.country.clone(),
        organization: ca.organization.clone(),
        common_name: cn.clone(),
    };
    let root_key = generate(root_type).await?;
    let issuing_key = generate(issuing_type).await?;
    let root_signer = SoftwareSigner::from_pkcs8(&root_key.pkcs8)?;
    let root_serial = Serial::random(rng)?;
    let root_der = hierarchy::root_certificate(
        &root_signer,
        &name(root_name),
        now,
        ca.root_validity_days,
        &root_serial,
    )?;
    let root_urls = urls::ca_urls(&params.pki_base_url, &root_slug);
    let issuing_serial = Serial::random(rng)?;
    let issuing_der = hierarchy::issuing_certificate(
        &root_signer,
        &root_der,
        &root_urls.ca_issuers,
        &root_urls.crl,
        &issuing_key.spki_der,
        &name(issuing_name),
        now,
        ca.issuing_validity_days,
        &issuing_serial,
    )?;
    debug_assert_eq!(root_signer.spki_der(), root_key.spki_der.as_slice());
    let ts = now.unix_timestamp();
    let root_subject = subject_text(&root_der)?;
    let issuing_subject = subject_text(&issuing_der)?;
    let root = ca_record(
        &root_slug,
        hierarchy,
        CaRole::Root,
        &root_key,
        root_der,
        &root_serial,
        kek,
        rng,
        ts,
        ca.root_validity_days,
        root_subject,
    )?;
    let issuing = ca_record(
        &issuing_slug,
        hierarchy,
        CaRole::Issuing,
        &issuing_key,
        issuing_der,
        &issuing_serial,
        kek,
        rng,
        ts,
        ca.issuing_validity_days,
        issuing_subject,
    )?;
    Ok((root, issuing))
}

/// Initialises an empty store: migrations, the two hierarchies, the first MRAO, the KEK
/// check value and the customer URI. Refuses an initialised store without changing it.
pub async fn initialise(
    store: &Store,
    kek: &Kek,
    params: &InitParams,
    clock: &dyn Clock,
    rng: &dyn Rng,
) -> Result<InitReport> {
    check_params(params)?;
    store.migrate().await?;
    if let Some(since) = store.setting(settings::INITIALISED_AT).await? {
        return Err(RaError::AlreadyInitialised {
            target: store.target().to_owned(),
            since: time::OffsetDateTime::from_unix_timestamp(since.parse().unwrap_or(0))
                .map(|t| t.to_string())
                .unwrap_or(since),
        });
    }
    let now = clock.now();
    let mut made = Vec::new();
    for hierarchy in [Hierarchy::Rsa, Hierarchy::Ecc] {
        made.push(make_hierarchy(params, hierarchy, kek, rng, now).await?);
    }
    let password_hash = password::hash(&params.admin.password, rng)?;
    let check = base64::engine::general_purpose::STANDARD.encode(kek.check_value(rng)?);

    let mut tx = store.begin().await?;
    // Another `init` may have won the race since the check above.
    for (root, mut issuing) in made {
        let root_id = tx.insert_ca(&root.record).await?;
        issuing.record.parent_id = Some(root_id);
        tx.insert_ca(&issuing.record).await?;
    }
    tx.insert_admin(
        &AdminData {
            login: params.admin.login.clone(),
            email: params.admin.email.clone(),
            forename: String::new(),
            surname: String::new(),
            title: String::new(),
            telephone: String::new(),
            relationship: String::new(),
            admin_type: AdminType::Standard,
            password_hash: Some(password_hash),
            must_change_password: true,
            active: true,
            approved: true,
            auth_cert_serial: String::new(),
            idp_person_id: String::new(),
            credentials: vec![Credential {
                role: AdminRole::Mrao,
                scope: OrgId(0),
            }],
            privileges: Privilege::ALL.to_vec(),
            created_by: None,
        },
        now.unix_timestamp(),
    )
    .await?;
    crate::audit::record(
        &mut tx,
        &crate::Actor::system(castellan_model::AccessMethod::Cli),
        now.unix_timestamp(),
        crate::audit::Change {
            action: "customer.initialise",
            object_type: "customer",
            object_id: params.customer_uri.clone(),
            org_id: None,
            description: format!(
                "Castellan initialised for customer '{}': CA hierarchy created, first MRAO '{}'",
                params.customer_uri, params.admin.login
            ),
        },
        None,
        None,
    )
    .await?;
    tx.set_setting(settings::KEK_CHECK, &check).await?;
    tx.set_setting(settings::CUSTOMER_URI, &params.customer_uri)
        .await?;
    tx.set_setting(settings::INITIALISED_AT, &now.unix_timestamp().to_string())
        .await?;
    tx.commit().await?;

    let hierarchy = crate::authority::summaries(&store.certificate_authorities().await?);
    Ok(InitReport {
        hierarchy,
        admin_login: params.admin.login.clone(),
    })
}
