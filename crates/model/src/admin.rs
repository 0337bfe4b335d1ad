//! Administrators: how they sign in and what role they hold, as SCM names them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How an administrator signs in (SCM `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AdminType {
    /// Login and password ("Standard" in the guide).
    Standard,
    /// Federated login through a SAML identity provider, no local password.
    Idp,
    /// REST API only.
    Api,
}

impl AdminType {
    /// `STANDARD`, `IDP` or `API`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminType::Standard => "STANDARD",
            AdminType::Idp => "IDP",
            AdminType::Api => "API",
        }
    }

    /// Parses the SCM spelling.
    pub fn parse(s: &str) -> Option<AdminType> {
        match s.to_ascii_uppercase().as_str() {
            "STANDARD" => Some(AdminType::Standard),
            "IDP" => Some(AdminType::Idp),
            "API" => Some(AdminType::Api),
            _ => None,
        }
    }
}

/// An administrator role (SCM `credentials[].role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdminRole {
    /// Master Registration Authority Officer: the operator, over every organisation.
    Mrao,
    /// Organisation administrator for SSL certificates.
    RaoSsl,
    /// Organisation administrator for client certificates.
    RaoSmime,
    /// Organisation administrator for code signing certificates.
    RaoCs,
    /// Department administrator for SSL certificates.
    DraoSsl,
    /// Department administrator for client certificates.
    DraoSmime,
    /// Department administrator for code signing certificates.
    DraoCs,
}

impl AdminRole {
    /// Every role.
    pub const ALL: [AdminRole; 7] = [
        AdminRole::Mrao,
        AdminRole::RaoSsl,
        AdminRole::RaoSmime,
        AdminRole::RaoCs,
        AdminRole::DraoSsl,
        AdminRole::DraoSmime,
        AdminRole::DraoCs,
    ];

    /// The SCM spelling (`MRAO`, `RAO_SSL`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Mrao => "MRAO",
            AdminRole::RaoSsl => "RAO_SSL",
            AdminRole::RaoSmime => "RAO_SMIME",
            AdminRole::RaoCs => "RAO_CS",
            AdminRole::DraoSsl => "DRAO_SSL",
            AdminRole::DraoSmime => "DRAO_SMIME",
            AdminRole::DraoCs => "DRAO_CS",
        }
    }

    /// The certificate type the role administers (`None` for the MRAO, who has all).
    pub fn area(self) -> Option<crate::CertificateType> {
        use crate::CertificateType::*;
        match self {
            AdminRole::Mrao => None,
            AdminRole::RaoSsl | AdminRole::DraoSsl => Some(Ssl),
            AdminRole::RaoSmime | AdminRole::DraoSmime => Some(Smime),
            AdminRole::RaoCs | AdminRole::DraoCs => Some(CodeSign),
        }
    }

    /// Whether the role is held at organisation level (RAO).
    pub fn is_rao(self) -> bool {
        matches!(
            self,
            AdminRole::RaoSsl | AdminRole::RaoSmime | AdminRole::RaoCs
        )
    }

    /// Whether the role is held at department level (DRAO).
    pub fn is_drao(self) -> bool {
        matches!(
            self,
            AdminRole::DraoSsl | AdminRole::DraoSmime | AdminRole::DraoCs
        )
    }

    /// The RAO role of the same certificate type as this DRAO role (and vice versa).
    pub fn counterpart(self) -> AdminRole {
        match self {
            AdminRole::Mrao => AdminRole::Mrao,
            AdminRole::RaoSsl => AdminRole::DraoSsl,
            AdminRole::RaoSmime => AdminRole::DraoSmime,
            AdminRole::RaoCs => AdminRole::DraoCs,
            AdminRole::DraoSsl => AdminRole::RaoSsl,
            AdminRole::DraoSmime => AdminRole::RaoSmime,
            AdminRole::DraoCs => AdminRole::RaoCs,
        }
    }

    /// Parses the SCM spelling.
    pub fn parse(s: &str) -> Option<AdminRole> {
        AdminRole::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for AdminRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role held over a scope (SCM `credentials[]`: `{"role", "orgId"}`).
///
/// The scope is an organisation for RAO roles, a department for DRAO roles, and
/// `OrgId(0)` (the whole customer) for the MRAO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Credential {
    /// The role.
    pub role: AdminRole,
    /// Where it applies.
    pub scope: crate::OrgId,
}

/// What an administrator may do beyond their role (SCM `privileges`), with SCM's names.
///
/// An administrator can grant only privileges they hold themselves; the MRAO holds all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Privilege {
    /// Add departments to the organisation.
    #[serde(rename = "addDepartments")]
    AddDepartments,
    /// Create administrators.
    #[serde(rename = "allowCreate")]
    AllowCreate,
    /// Delete administrators.
    #[serde(rename = "allowDelete")]
    AllowDelete,
    /// Edit administrators (details, roles, suspend, reset).
    #[serde(rename = "allowEdit")]
    AllowEdit,
    /// Add, delegate and validate domains.
    #[serde(rename = "allowManageDomains")]
    AllowManageDomains,
    /// Change certain details of SSL certificates (guide 4.1.1 "Allow SSL Details Changing").
    #[serde(rename = "allowSslDetailsChanging")]
    AllowSslDetailsChanging,
    /// Approve a department's request for a domain delegation.
    #[serde(rename = "approveDomainDelegation")]
    ApproveDomainDelegation,
    /// Requests of this administrator are approved automatically where the profile allows.
    #[serde(rename = "autoApproveCertificates")]
    AutoApproveCertificates,
    /// Manage client certificates.
    #[serde(rename = "clientCertManage")]
    ClientCertManage,
    /// Request client certificates.
    #[serde(rename = "clientCertRequest")]
    ClientCertRequest,
    /// Revoke client certificates.
    #[serde(rename = "clientCertRevoke")]
    ClientCertRevoke,
    /// Rename and delete departments.
    #[serde(rename = "editDepartments")]
    EditDepartments,
    /// Approve the recovery of an escrowed private key.
    #[serde(rename = "keyRecovery")]
    KeyRecovery,
    /// Manage organisation validation.
    #[serde(rename = "orgValidationManager")]
    OrgValidationManager,
    /// Approve SSL requests.
    #[serde(rename = "sslApprove")]
    SslApprove,
    /// Renew SSL certificates.
    #[serde(rename = "sslRenew")]
    SslRenew,
    /// Replace SSL certificates.
    #[serde(rename = "sslReplace")]
    SslReplace,
    /// Request SSL certificates.
    #[serde(rename = "sslRequest")]
    SslRequest,
    /// Revoke SSL certificates.
    #[serde(rename = "sslRevoke")]
    SslRevoke,
}

impl Privilege {
    /// Every privilege, in SCM's (alphabetical) order.
    pub const ALL: [Privilege; 19] = [
        Privilege::AddDepartments,
        Privilege::AllowCreate,
        Privilege::AllowDelete,
        Privilege::AllowEdit,
        Privilege::AllowManageDomains,
        Privilege::AllowSslDetailsChanging,
        Privilege::ApproveDomainDelegation,
        Privilege::AutoApproveCertificates,
        Privilege::ClientCertManage,
        Privilege::ClientCertRequest,
        Privilege::ClientCertRevoke,
        Privilege::EditDepartments,
        Privilege::KeyRecovery,
        Privilege::OrgValidationManager,
        Privilege::SslApprove,
        Privilege::SslRenew,
        Privilege::SslReplace,
        Privilege::SslRequest,
        Privilege::SslRevoke,
    ];

    /// The SCM name (`sslApprove`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::AddDepartments => "addDepartments",
            Privilege::AllowCreate => "allowCreate",
            Privilege::AllowDelete => "allowDelete",
            Privilege::AllowEdit => "allowEdit",
            Privilege::AllowManageDomains => "allowManageDomains",
            Privilege::AllowSslDetailsChanging => "allowSslDetailsChanging",
            Privilege::ApproveDomainDelegation => "approveDomainDelegation",
            Privilege::AutoApproveCertificates => "autoApproveCertificates",
            Privilege::ClientCertManage => "clientCertManage",
            Privilege::ClientCertRequest => "clientCertRequest",
            Privilege::ClientCertRevoke => "clientCertRevoke",
            Privilege::EditDepartments => "editDepartments",
            Privilege::KeyRecovery => "keyRecovery",
            Privilege::OrgValidationManager => "orgValidationManager",
            Privilege::SslApprove => "sslApprove",
            Privilege::SslRenew => "sslRenew",
            Privilege::SslReplace => "sslReplace",
            Privilege::SslRequest => "sslRequest",
            Privilege::SslRevoke => "sslRevoke",
        }
    }

    /// What the privilege allows, as `GET /admin/v1/privileges` describes it.
    pub fn description(self) -> &'static str {
        match self {
            Privilege::AddDepartments => "Add departments",
            Privilege::AllowCreate => "Create administrators",
            Privilege::AllowDelete => "Delete administrators",
            Privilege::AllowEdit => "Edit administrators",
            Privilege::AllowManageDomains => "Manage domains",
            Privilege::AllowSslDetailsChanging => "Allow SSL details changing",
            Privilege::ApproveDomainDelegation => "Approve domain delegation",
            Privilege::AutoApproveCertificates => "Allow SSL auto approve",
            Privilege::ClientCertManage => "Manage client certificates",
            Privilege::ClientCertRequest => "Request client certificates",
            Privilege::ClientCertRevoke => "Revoke client certificates",
            Privilege::EditDepartments => "Edit and delete departments",
            Privilege::KeyRecovery => "Approve key recovery",
            Privilege::OrgValidationManager => "Organisation validation manager",
            Privilege::SslApprove => "Approve SSL certificates",
            Privilege::SslRenew => "Renew SSL certificates",
            Privilege::SslReplace => "Replace SSL certificates",
            Privilege::SslRequest => "Request SSL certificates",
            Privilege::SslRevoke => "Revoke SSL certificates",
        }
    }

    /// Parses the SCM name (case-insensitive).
    pub fn parse(s: &str) -> Option<Privilege> {
        Privilege::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which front door a change came through (the audit log's and SCM's `accessMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessMethod {
    /// The web portal.
    Portal,
    /// The SCM-compatible or native REST API.
    RestApi,
    /// ACME.
    Acme,
    /// A self-enrolment form.
    EnrollmentForm,
    /// A background job (auto-renewal, notifications, CRLs).
    Job,
    /// The operator command line.
    Cli,
}

impl AccessMethod {
    /// The name shown in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMethod::Portal => "Portal",
            AccessMethod::RestApi => "REST API",
            AccessMethod::Acme => "ACME",
            AccessMethod::EnrollmentForm => "Enrollment Form",
            AccessMethod::Job => "Job",
            AccessMethod::Cli => "CLI",
        }
    }
}

impl fmt::Display for AccessMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
