//! The vocabulary of certificates: types, validation levels, statuses, hierarchies.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a certificate is for, as SCM's organisation settings and delegations name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateType {
    /// TLS server certificates.
    #[serde(rename = "SSL")]
    Ssl,
    /// Client (S/MIME) certificates.
    #[serde(rename = "SMIME")]
    Smime,
    /// Code signing certificates.
    #[serde(rename = "CodeSign")]
    CodeSign,
}

impl CertificateType {
    /// Every type, in the guide's order.
    pub const ALL: [CertificateType; 3] = [
        CertificateType::Ssl,
        CertificateType::Smime,
        CertificateType::CodeSign,
    ];

    /// The SCM spelling (`SSL`, `SMIME`, `CodeSign`).
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateType::Ssl => "SSL",
            CertificateType::Smime => "SMIME",
            CertificateType::CodeSign => "CodeSign",
        }
    }

    /// Parses the SCM spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<CertificateType> {
        CertificateType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for CertificateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much the CA checked before issuing, which decides the policy OIDs and subject rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValidationLevel {
    /// Domain Validation: names only, no organisation in the subject (Castellan's own
    /// service certificate; ACME profiles may use it).
    #[serde(rename = "DV")]
    Dv,
    /// Organization Validation (TLS, code signing).
    #[serde(rename = "OV")]
    Ov,
    /// Extended Validation (TLS).
    #[serde(rename = "EV")]
    Ev,
    /// OV with the IGTF policy for grid services.
    #[serde(rename = "IGTF")]
    Igtf,
    /// S/MIME sponsor-validated: a person affiliated with a validated organisation.
    #[serde(rename = "sponsor")]
    SponsorValidated,
    /// S/MIME organization-validated: a mailbox that belongs to the organisation (robots).
    #[serde(rename = "organization")]
    OrganizationValidated,
}

impl ValidationLevel {
    /// The short form profiles use (`DV`, `OV`, `EV`, `IGTF`, `sponsor`, `organization`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationLevel::Dv => "DV",
            ValidationLevel::Ov => "OV",
            ValidationLevel::Ev => "EV",
            ValidationLevel::Igtf => "IGTF",
            ValidationLevel::SponsorValidated => "sponsor",
            ValidationLevel::OrganizationValidated => "organization",
        }
    }

    /// The text SCM shows as `validationType`.
    pub fn display_name(self) -> &'static str {
        match self {
            ValidationLevel::Dv => "Domain Validation (DV)",
            ValidationLevel::Ov => "Organization Validation (OV)",
            ValidationLevel::Ev => "Extended Validation (EV)",
            ValidationLevel::Igtf => "IGTF",
            ValidationLevel::SponsorValidated => "Sponsor Validated",
            ValidationLevel::OrganizationValidated => "Organization Validated",
        }
    }
}

/// Which of the two CA hierarchies signs: RSA or ECC (chosen by the subscriber key's type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hierarchy {
    /// RSA root and RSA issuing CA.
    Rsa,
    /// ECDSA root and ECDSA issuing CA.
    Ecc,
}

impl Hierarchy {
    /// `rsa` or `ecc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Hierarchy::Rsa => "rsa",
            Hierarchy::Ecc => "ecc",
        }
    }

    /// Parses `rsa` / `ecc`.
    pub fn parse(s: &str) -> Option<Hierarchy> {
        match s {
            "rsa" => Some(Hierarchy::Rsa),
            "ecc" => Some(Hierarchy::Ecc),
            _ => None,
        }
    }
}

impl fmt::Display for Hierarchy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SSL certificate status, spelled as SCM spells it (list filter values and detail `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateStatus {
    /// Could not be issued (e.g. the subject did not match the organisation).
    Invalid,
    /// Waiting for approval or DCV.
    Requested,
    /// Approved by an administrator.
    Approved,
    /// Approved by a second administrator.
    #[serde(rename = "SAApproved")]
    SaApproved,
    /// Declined by an administrator.
    Declined,
    /// Submitted to the CA; not collectable yet.
    Applied,
    /// Collectable.
    Issued,
    /// Revoked.
    Revoked,
    /// Past its notAfter.
    Expired,
    /// Superseded by a replacement.
    Replaced,
    /// Refused by the CA.
    Rejected,
}

impl CertificateStatus {
    /// Every status, in the order SCM documents them.
    pub const ALL: [CertificateStatus; 11] = [
        CertificateStatus::Invalid,
        CertificateStatus::Requested,
        CertificateStatus::Approved,
        CertificateStatus::SaApproved,
        CertificateStatus::Declined,
        CertificateStatus::Applied,
        CertificateStatus::Issued,
        CertificateStatus::Revoked,
        CertificateStatus::Expired,
        CertificateStatus::Replaced,
        CertificateStatus::Rejected,
    ];

    /// The SCM spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Invalid => "Invalid",
            CertificateStatus::Requested => "Requested",
            CertificateStatus::Approved => "Approved",
            CertificateStatus::SaApproved => "SAApproved",
            CertificateStatus::Declined => "Declined",
            CertificateStatus::Applied => "Applied",
            CertificateStatus::Issued => "Issued",
            CertificateStatus::Revoked => "Revoked",
            CertificateStatus::Expired => "Expired",
            CertificateStatus::Replaced => "Replaced",
            CertificateStatus::Rejected => "Rejected",
        }
    }

    /// Parses the SCM spelling (case-insensitive, as SCM's list filter is).
    pub fn parse(s: &str) -> Option<CertificateStatus> {
        CertificateStatus::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CertificateStatus;

    #[test]
    fn statuses_parse_back() {
        for status in CertificateStatus::ALL {
            assert_eq!(CertificateStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            CertificateStatus::parse("issued"),
            Some(CertificateStatus::Issued)
        );
        assert_eq!(CertificateStatus::parse("Unmanaged"), None);
    }
}
