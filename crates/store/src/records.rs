//! The rows the store reads and writes, as plain structs.

use castellan_model::{
    AdminId, AdminType, ApprovalId, CaId, CertificateId, CertificateStatus, CertificateType,
    Credential, DomainId, Hierarchy, OrgId, PersonId, Privilege, ProfileId, RequestId,
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

/// An administrator's writable fields (everything `insert_admin` and `update_admin` store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminData {
    /// Login name (unique).
    pub login: String,
    /// E-mail address.
    pub email: String,
    /// Forename.
    pub forename: String,
    /// Surname.
    pub surname: String,
    /// Title.
    pub title: String,
    /// Telephone number.
    pub telephone: String,
    /// Relationship to the organisation.
    pub relationship: String,
    /// How they sign in.
    pub admin_type: AdminType,
    /// Argon2id PHC string (none for IdP admins and API admins without a password).
    pub password_hash: Option<String>,
    /// Whether the next sign-in must change the password.
    pub must_change_password: bool,
    /// `false` when suspended.
    pub active: bool,
    /// `false` while a new IdP admin waits for a second administrator's approval.
    pub approved: bool,
    /// Serial of the client certificate that authenticates them on `/private/api`
    /// (lower-case hex, no colons), or empty.
    pub auth_cert_serial: String,
    /// The federated identity (eduPersonPrincipalName) linked to the account, or empty.
    pub idp_person_id: String,
    /// Roles and where they apply.
    pub credentials: Vec<Credential>,
    /// Privileges.
    pub privileges: Vec<Privilege>,
    /// Who created the account.
    pub created_by: Option<AdminId>,
}

/// A stored administrator.
#[derive(Clone, Debug)]
pub struct AdminRecord {
    /// Row id.
    pub id: AdminId,
    /// The writable fields.
    pub data: AdminData,
    /// Failed sign-ins since the last success.
    pub failed_attempts: i64,
    /// When the last failed sign-in happened.
    pub failed_at: Option<i64>,
    /// When the password was last set.
    pub password_changed_at: Option<i64>,
    /// When the account was created.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
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
    /// The CRL shard its cRLDistributionPoints names (0: the CA's unsharded CRL).
    pub crl_shard: i64,
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
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// The RFC 5280 reason code of the revocation.
    pub revocation_reason: Option<i64>,
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

/// An organisation's EV details (the guide's "EV Details" tab; only the MRAO edits them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvData {
    /// The legal name, when it differs from the organisation's name.
    pub legal_name: String,
    /// businessCategory.
    pub business_category: String,
    /// jurisdictionCountryName.
    pub jurisdiction_country: String,
    /// jurisdictionStateOrProvinceName.
    pub jurisdiction_state: String,
    /// jurisdictionLocalityName.
    pub jurisdiction_locality: String,
    /// Registration (incorporation) number.
    pub registration_number: String,
    /// Date of incorporation (YYYY-MM-DD).
    pub incorporation_date: String,
    /// Assumed (trading) name.
    pub assumed_name: String,
}

/// An organisation's or department's writable fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationData {
    /// Name (unique among the organisations, or among a parent's departments).
    pub name: String,
    /// Alias.
    pub alias: String,
    /// Secondary organisation name (used in IGTF subjects, exactly as entered).
    pub secondary_name: String,
    /// Street address, first line.
    pub address1: String,
    /// Street address, second line.
    pub address2: String,
    /// Street address, third line.
    pub address3: String,
    /// City (localityName).
    pub city: String,
    /// State or province.
    pub state_or_province: String,
    /// Postal code.
    pub postal_code: String,
    /// Country, ISO 3166-1 alpha-2.
    pub country: String,
    /// organizationIdentifier for S/MIME subjects, or empty.
    pub organization_identifier: String,
    /// Academic code (SCHAC home organisation), or empty.
    pub academic_code: String,
    /// Contact e-mail addresses, comma-separated.
    pub contact_emails: String,
    /// Certificate types the organisation may use.
    pub cert_types: Vec<CertificateType>,
    /// The profiles it may use (ids); empty for every profile of its certificate types.
    pub enabled_profiles: Vec<i64>,
    /// Validation status: `true` for Validated, `false` for Pending.
    pub validated: bool,
    /// EV details.
    pub ev: EvData,
}

/// A stored organisation or department.
#[derive(Clone, Debug)]
pub struct OrganizationRecord {
    /// Row id (SCM `orgId`).
    pub id: OrgId,
    /// The organisation, for a department; none for an organisation.
    pub parent_id: Option<OrgId>,
    /// The fields.
    pub data: OrganizationData,
    /// When it was created.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// An action waiting for a second administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApproval {
    /// What is to be done (`admin.approve-idp`, `ssl.approve-ev`, ...).
    pub action: String,
    /// The kind of object (`admin`, `certificate`, ...).
    pub object_type: String,
    /// The object's id.
    pub object_id: i64,
    /// The organisation or department whose administrators may decide.
    pub scope: OrgId,
    /// The certificate type the deciding role must administer (`SSL`, `SMIME`,
    /// `CodeSign`), or `any`.
    pub area: String,
    /// A privilege the decider must hold, or empty.
    pub privilege: String,
    /// Who asked (never allowed to decide).
    pub requested_by: AdminId,
    /// When.
    pub requested_at: i64,
}

/// A stored approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// Row id.
    pub id: ApprovalId,
    /// What was asked.
    pub approval: NewApproval,
    /// `PENDING`, `APPROVED`, `REJECTED` or `CANCELLED`.
    pub status: String,
    /// Who decided.
    pub decided_by: Option<AdminId>,
    /// When.
    pub decided_at: Option<i64>,
    /// The decider's note.
    pub note: String,
}

/// An audit log entry to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When, Unix seconds.
    pub at: i64,
    /// The administrator who acted, if any.
    pub admin_id: Option<AdminId>,
    /// Who acted: a login, `system` or an enrolment user.
    pub actor: String,
    /// The front door (`Portal`, `REST API`, `ACME`, `Enrollment Form`, `Job`, `CLI`).
    pub access_method: String,
    /// The client's address.
    pub address: String,
    /// What happened (`admin.create`, `organization.update`, ...).
    pub action: String,
    /// The kind of object.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The organisation or department concerned.
    pub org_id: Option<OrgId>,
    /// A sentence for people.
    pub description: String,
    /// The object before the change (JSON, secrets removed), or empty.
    pub before_json: String,
    /// The object after the change (JSON, secrets removed), or empty.
    pub after_json: String,
}

/// A stored audit entry with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Sequence number (1, 2, 3, ... without gaps).
    pub id: i64,
    /// The entry.
    pub entry: NewAuditEntry,
    /// The previous row's hash (zeros for the first).
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// A domain's delegation to an organisation or department for one certificate type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The organisation or department.
    pub org_id: OrgId,
    /// The certificate type.
    pub cert_type: CertificateType,
    /// `true` when active; `false` while a department's request waits for approval.
    pub active: bool,
    /// Who asked for it.
    pub requested_by: Option<AdminId>,
}

/// A stored domain entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRecord {
    /// Row id.
    pub id: DomainId,
    /// Normalised name (`example.com` or `*.example.com`).
    pub name: String,
    /// Description.
    pub description: String,
    /// `false` when suspended.
    pub active: bool,
    /// Who added it.
    pub created_by: Option<AdminId>,
    /// When.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Its delegations.
    pub delegations: Vec<Delegation>,
}

/// The domain control validation state of one domain name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DcvRecord {
    /// The validated name (a domain entry's name without `*.`).
    pub domain: String,
    /// `NOT_INITIATED`, `AWAITING_SUBMISSION` or `SUBMITTED`.
    pub order_status: String,
    /// The method of the current order (`CNAME`, `TXT`, `HTTP`, `HTTPS`, `EMAIL`).
    pub method: String,
    /// Where to look: the CNAME/TXT host, the HTTP URL, or the chosen e-mail address.
    pub host: String,
    /// What to find: the CNAME target, TXT value or file content (for e-mail, the digest of
    /// the link's token).
    pub point: String,
    /// The method of the last successful validation.
    pub validated_method: String,
    /// When it last passed.
    pub validated_at: Option<i64>,
    /// When that validation stops counting.
    pub expires_at: Option<i64>,
    /// When the current order was submitted.
    pub submitted_at: Option<i64>,
    /// When it was last checked.
    pub last_check: Option<i64>,
    /// When the background job checks it next.
    pub next_check: Option<i64>,
    /// The last check's outcome in a sentence.
    pub last_result: String,
    /// What the last check asked and what came back (one line per step).
    pub transcript: String,
    /// Last change.
    pub updated_at: i64,
}

/// An e-mail to put in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmail {
    /// Unique per event × recipient: the same event never queues the same mail twice.
    pub idempotency_key: String,
    /// The address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, or empty.
    pub body_html: String,
    /// When it was queued.
    pub created_at: i64,
}

/// A queued e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailRecord {
    /// Row id.
    pub id: i64,
    /// What was queued.
    pub email: NewEmail,
    /// `PENDING`, `SENT` or `DEAD` (given up after too many failures).
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When the next attempt may happen.
    pub next_attempt_at: i64,
    /// The last failure.
    pub last_error: String,
    /// When it was sent.
    pub sent_at: Option<i64>,
}

/// What an order adds to a request: for whom, by whom, and the decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderDetails {
    /// The organisation or department.
    pub org_id: Option<OrgId>,
    /// The administrator who asked.
    pub requester_admin_id: Option<AdminId>,
    /// E-mail addresses of people outside Castellan who asked.
    pub external_requester: String,
    /// Comments.
    pub comments: String,
    /// Who approved or declined.
    pub decided_by: Option<AdminId>,
    /// When.
    pub decided_at: Option<i64>,
    /// The decliner's message.
    pub decision_message: String,
    /// The certificate issued for it.
    pub certificate_id: Option<CertificateId>,
    /// Renew this many days before expiry (guide 7.3), if set.
    pub auto_renew_days: Option<i64>,
    /// The order that renewed this one.
    pub renewed_by: Option<RequestId>,
    /// Custom field values, as JSON (`[{"name", "value"}]`), or empty.
    pub custom_fields: String,
    /// The person a client certificate is for.
    pub person_id: Option<PersonId>,
}

/// A stored order: the request and its details.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    /// The request.
    pub request: RequestRecord,
    /// The order's details.
    pub details: OrderDetails,
}

/// How a page of orders is sorted (ties by id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderSort {
    /// Oldest first (SCM's order).
    #[default]
    IdAsc,
    /// Newest first.
    IdDesc,
    /// By common name.
    NameAsc,
    /// By common name, Z to A.
    NameDesc,
    /// By status.
    StatusAsc,
    /// By status, descending.
    StatusDesc,
    /// Soonest expiry first (unissued last).
    ExpiresAsc,
    /// Latest expiry first.
    ExpiresDesc,
}

/// How many orders of one profile have one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    /// The profile (whose certificate type the caller knows).
    pub profile_id: ProfileId,
    /// The status.
    pub status: CertificateStatus,
    /// How many.
    pub count: i64,
}

/// Filters of the certificate list (SCM `GET /ssl/v1`); `None` does not filter.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only these organisations and departments (`None`: all, orders without one included).
    pub scope: Option<Vec<OrgId>>,
    /// Common name (case-insensitive).
    pub common_name: Option<String>,
    /// A name among the order's names (case-insensitive).
    pub subject_alt_name: Option<String>,
    /// Status.
    pub status: Option<CertificateStatus>,
    /// Profile id.
    pub profile_id: Option<ProfileId>,
    /// Organisation or department.
    pub org_id: Option<OrgId>,
    /// Certificate serial, lower-case hex.
    pub serial: Option<String>,
    /// Requester login.
    pub requester: Option<String>,
    /// External requester (contains).
    pub external_requester: Option<String>,
    /// Front door.
    pub requested_via: Option<String>,
    /// SHA-1 fingerprint of the certificate, hex without colons.
    pub sha1: Option<String>,
    /// Key algorithm (`RSA`, `EC`).
    pub key_algorithm: Option<String>,
    /// Key size in bits (`2048`, `256`).
    pub key_size: Option<i64>,
    /// Part of the issuing CA's subject.
    pub issuer: Option<String>,
    /// The person a client certificate is for.
    pub person_id: Option<PersonId>,
    /// Only these profiles (for filters answered by the profiles, such as key usage).
    pub profile_ids: Option<Vec<ProfileId>>,
    /// Issued, not yet renewed, and expiring in `[from, to)` (Unix seconds): what needs
    /// attention soon (the dashboard's expiring counts link here).
    pub expiring: Option<(i64, i64)>,
    /// A name (common name or any requested name) containing this, case-insensitive (the
    /// portal's search box).
    pub name_contains: Option<String>,
    /// The order of the page.
    pub sort: OrderSort,
}

/// One row of the certificate list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSummary {
    /// The order (SCM `sslId`).
    pub id: RequestId,
    /// Common name.
    pub common_name: Option<String>,
    /// Names.
    pub names: Vec<String>,
    /// Status.
    pub status: CertificateStatus,
    /// Serial of the issued certificate, lower-case hex.
    pub serial: Option<String>,
    /// The issued certificate's notAfter.
    pub not_after: Option<i64>,
}
