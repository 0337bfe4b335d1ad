//! Typed row identifiers, so a certificate id cannot be passed where a CA id is meant.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A certificate authority (root or issuing) known to this Castellan.
    CaId
);
id_type!(
    /// An issued certificate; SCM calls it `sslId` / `id`.
    CertificateId
);
id_type!(
    /// A certificate request (the CSR and what was asked for).
    RequestId
);
id_type!(
    /// An administrator (MRAO, RAO, DRAO, API account).
    AdminId
);
id_type!(
    /// A certificate profile, as SCM's `certType` / `sslTypeId`.
    ProfileId
);
id_type!(
    /// An organisation or a department: SCM gives both ids from one space (`orgId`).
    OrgId
);
id_type!(
    /// A pending or decided second-administrator approval.
    ApprovalId
);
id_type!(
    /// A domain entry under Domains (`example.com`, `*.example.com`).
    DomainId
);
id_type!(
    /// An ACME account an administrator created for an organisation or department (SCM's
    /// `/acme/v1/account`), with its External Account Binding credentials.
    AcmeAccountId
);
id_type!(
    /// A person client certificates are issued to (SCM `personId`).
    PersonId
);
