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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
