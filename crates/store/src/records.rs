//! The rows the store reads and writes, as plain structs.

use castellan_model::{
    AdminId, AdminRole, AdminType, CaId, CertificateId, CertificateStatus, Hierarchy, ProfileId,
    RequestId,
};

/// Whether a CA is a root or an issuing (intermediate) CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaRole {
    /// Self-signed, offline-style.
    Root,
    /// Signs subscriber certificates.
    Issuing,
}

impl CaRole {
    /// `root` or `issuing`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaRole::Root => "root",
            CaRole::Issuing => "issuing",
        }
    }
}

/// A certificate authority to store.
#[derive(Clone, Debug)]
pub struct NewCa {
    /// Short unique name used in URLs (`rsa-issuing-1`).
    pub slug: String,
    /// RSA or ECC.
    pub hierarchy: Hierarchy,
    /// Root or issuing.
    pub role: CaRole,
    /// The CA above (none for a root).
    pub parent_id: Option<CaId>,
    /// Subject as RFC 4514 text.
    pub subject: String,
    /// Key type short name (`rsa4096`, `p384`).
    pub key_type: String,
    /// `software` (encrypted under the KEK) or, later, `pkcs11`.
    pub key_storage: String,
    /// The private key sealed under the KEK.
    pub encrypted_key: Vec<u8>,
    /// The CA certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Serial, lower-case hex.
    pub serial: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the certificate, hex.
    pub sha256_fingerprint: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub spki_sha256: String,
    /// When it was created.
    pub created_at: i64,
}

/// A stored certificate authority.
#[derive(Clone, Debug)]
pub struct CaRecord {
    /// Row id.
    pub id: CaId,
    /// Everything that was stored.
    pub ca: NewCa,
    /// Whether it is in use.
    pub active: bool,
}

/// An administrator to store.
#[derive(Clone, Debug)]
pub struct NewAdmin {
    /// Login name.
    pub login: String,
    /// E-mail address.
    pub email: String,
    /// Forename.
    pub forename: String,
    /// Surname.
    pub surname: String,
    /// How they sign in.
    pub admin_type: AdminType,
    /// Argon2id PHC string (none for IdP and API accounts without a password).
    pub password_hash: Option<String>,
    /// Whether the next sign-in must change the password.
    pub must_change_password: bool,
    /// Roles at the customer level (scope 0).
    pub roles: Vec<AdminRole>,
    /// When.
    pub created_at: i64,
}

/// A stored administrator.
#[derive(Clone, Debug)]
pub struct AdminRecord {
    /// Row id.
    pub id: AdminId,
    /// Login name.
    pub login: String,
    /// E-mail address.
    pub email: String,
    /// How they sign in.
    pub admin_type: AdminType,
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    /// Whether the next sign-in must change the password.
    pub must_change_password: bool,
    /// Failed sign-ins since the last success.
    pub failed_attempts: i64,
    /// `ACTIVE` or `SUSPENDED`.
    pub status: String,
    /// Roles at the customer level.
    pub roles: Vec<AdminRole>,
}

/// A certificate request to store.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// SCM's `renewId`: an opaque random token naming the request (unique).
    pub renew_id: String,
    /// The profile asked for.
    pub profile_id: ProfileId,
    /// Status (SCM spelling).
    pub status: CertificateStatus,
    /// The front door (`CLI`, `Client Admin`, `REST API`, `ACME`, ...).
    pub requested_via: String,
    /// Who asked (administrator login or e-mail).
    pub requester: String,
    /// Term in days.
    pub term_days: i64,
    /// The requested common name.
    pub common_name: Option<String>,
    /// Every requested name.
    pub requested_names: Vec<String>,
    /// The CSR, DER (none when Castellan generated the key).
    pub csr_der: Option<Vec<u8>>,
    /// Whether Castellan generated the key pair.
    pub key_generated: bool,
    /// When.
    pub created_at: i64,
}

/// A stored certificate request.
#[derive(Clone, Debug)]
pub struct RequestRecord {
    /// Row id.
    pub id: RequestId,
    /// What was stored.
    pub request: NewRequest,
}

/// An issued certificate to store.
#[derive(Clone, Debug)]
pub struct NewCertificate {
    /// The request it answers.
    pub request_id: Option<RequestId>,
    /// The CA that signed it.
    pub issuer_ca_id: CaId,
    /// Its profile.
    pub profile_id: ProfileId,
    /// Serial, lower-case hex without separators.
    pub serial: String,
    /// Status.
    pub status: CertificateStatus,
    /// Subject as RFC 4514 text.
    pub subject: String,
    /// Subject common name.
    pub common_name: Option<String>,
    /// Key type (SCM form, `RSA - 2048`).
    pub key_type: String,
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub spki_sha256: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// SHA-256 fingerprint, hex.
    pub sha256_fingerprint: String,
    /// SHA-1 fingerprint, hex.
    pub sha1_fingerprint: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The private key sealed under the KEK, when Castellan generated it.
    pub encrypted_private_key: Option<Vec<u8>>,
    /// When it was issued.
    pub issued_at: i64,
    /// dNSName entries.
    pub dns_names: Vec<String>,
    /// rfc822Name entries.
    pub emails: Vec<String>,
}

/// A stored certificate.
#[derive(Clone, Debug)]
pub struct CertificateRecord {
    /// Row id (SCM `sslId`).
    pub id: CertificateId,
    /// What was stored.
    pub certificate: NewCertificate,
}

/// What to look for in [`crate::Store::search_certificates`]; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct CertificateFilter {
    /// Exact common name (case-insensitive).
    pub common_name: Option<String>,
    /// A name among the subjectAltNames (case-insensitive).
    pub name: Option<String>,
    /// Serial, hex.
    pub serial: Option<String>,
    /// Only certificates whose notAfter is before this (Unix seconds).
    pub expires_before: Option<i64>,
    /// Only this status.
    pub status: Option<CertificateStatus>,
    /// Only this profile.
    pub profile_id: Option<ProfileId>,
    /// Page size (default 200).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}
