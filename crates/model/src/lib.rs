//! Plain data types shared by every Castellan crate.
//!
//! Nothing here does I/O or holds policy: these are the nouns of the SCM guide
//! (certificate types, statuses, download formats, key types) so that `pki`,
//! `store`, `ra` and the front doors spell them the same way.

mod admin;
mod certificate;
mod format;
mod ids;
mod key;
mod subject;

pub use admin::{AccessMethod, AdminRole, AdminType, Credential, Privilege};
pub use certificate::{CertificateStatus, CertificateType, Hierarchy, ValidationLevel};
pub use format::DownloadFormat;
pub use ids::{
    AcmeAccountId, AdminId, ApprovalId, CaId, CertificateId, DomainId, OrgId, PersonId, ProfileId,
    RequestId,
};
pub use key::KeyType;
pub use subject::{EvDetails, OrganizationDetails, PersonDetails};

/// Which relational database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// The embedded default: one file in the data directory, WAL mode.
    Sqlite,
    /// For more than one node.
    Postgres,
}

impl DatabaseKind {
    /// The lower-case name used in `/health` and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "sqlite",
            DatabaseKind::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for DatabaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
