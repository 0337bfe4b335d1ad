//! The kinds of notification there are (guide 9: "notifications of upcoming certificate
//! expiry, upcoming DCV expiry, actions awaiting approval, issuance of new certificates,
//! failure to issue certificates, and many more"), and what a rule of each may say.

use castellan_model::CertificateType;

/// An SSL certificate reaches one of a rule's thresholds before it expires.
pub const SSL_EXPIRING: &str = "ssl.expiring";
/// An SSL certificate that was not renewed has expired.
pub const SSL_EXPIRED: &str = "ssl.expired";
/// A client certificate reaches one of a rule's thresholds before it expires.
pub const SMIME_EXPIRING: &str = "smime.expiring";
/// A client certificate that was not renewed has expired.
pub const SMIME_EXPIRED: &str = "smime.expired";
/// A client certificate was revoked.
pub const SMIME_REVOKED: &str = "smime.revoked";
/// The recovery of an escrowed key waits for a second administrator's approval.
pub const SMIME_RECOVERY_AWAITING: &str = "smime.recovery-awaiting-approval";
/// A domain's validation (DCV) reaches one of a rule's thresholds (the guide: "set up
/// notifications that will be sent out when a DCV is expiring").
pub const DCV_EXPIRING: &str = "dcv.expiring";
/// A domain's validation has expired.
pub const DCV_EXPIRED: &str = "dcv.expired";
/// An SSL request waits for an administrator's (or, for EV, a second administrator's)
/// approval.
pub const SSL_AWAITING_APPROVAL: &str = "ssl.awaiting-approval";
/// A certificate is ready to download.
pub const SSL_ISSUED: &str = "ssl.issued";
/// An approved request could not be issued (the reason is in the mail).
pub const SSL_ISSUANCE_FAILED: &str = "ssl.issuance-failed";
/// A certificate was revoked.
pub const SSL_REVOKED: &str = "ssl.revoked";
/// Auto-renewal ordered a certificate's successor.
pub const SSL_AUTO_RENEWED: &str = "ssl.auto-renewed";
/// A DRAO asked for a domain to be delegated to their department.
pub const DELEGATION_REQUESTED: &str = "domain.delegation-requested";
/// A delegation request was approved.
pub const DELEGATION_APPROVED: &str = "domain.delegation-approved";
/// A delegation request was rejected.
pub const DELEGATION_REJECTED: &str = "domain.delegation-rejected";
/// An administrator was created.
pub const ADMIN_CREATED: &str = "admin.created";
/// An IdP administrator waits for a different administrator's approval.
pub const ADMIN_IDP_AWAITING: &str = "admin.idp-awaiting-approval";
/// An ACME account was created.
pub const ACME_ACCOUNT_CREATED: &str = "acme.account-created";

/// A kind of notification: its name, how the portal calls it, and what a rule of it may say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// The name rules and templates use (`ssl.expiring`, …).
    pub name: &'static str,
    /// How the portal calls it.
    pub label: &'static str,
    /// Rules of it name days before the event (expiry warnings); others have none.
    pub thresholds: bool,
    /// Its events have a requester to tell (the administrator who asked).
    pub requester: bool,
    /// Its events have an external requester (the e-mail a certificate was requested for).
    pub external_requester: bool,
    /// The certificate type a role must be for, to set a rule or to be among "the
    /// administrators" told; `None`: any role over the organisation or department.
    pub area: Option<CertificateType>,
    /// Who is told with no rule at all (a rule adds recipients to these).
    pub defaults: &'static str,
}

const SSL: Option<CertificateType> = Some(CertificateType::Ssl);
const SMIME: Option<CertificateType> = Some(CertificateType::Smime);

/// Every kind, in the order the portal offers them.
pub const KINDS: [Kind; 19] = [
    Kind {
        name: SSL_EXPIRING,
        label: "SSL certificate expiring",
        thresholds: true,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "nobody",
    },
    Kind {
        name: SSL_EXPIRED,
        label: "SSL certificate expired",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "nobody",
    },
    Kind {
        name: SMIME_EXPIRING,
        label: "Client certificate expiring",
        thresholds: true,
        requester: true,
        external_requester: true,
        area: SMIME,
        defaults: "nobody",
    },
    Kind {
        name: SMIME_EXPIRED,
        label: "Client certificate expired",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SMIME,
        defaults: "nobody",
    },
    Kind {
        name: DCV_EXPIRING,
        label: "DCV expiring",
        thresholds: true,
        requester: false,
        external_requester: false,
        area: None,
        defaults: "nobody",
    },
    Kind {
        name: DCV_EXPIRED,
        label: "DCV expired",
        thresholds: false,
        requester: false,
        external_requester: false,
        area: None,
        defaults: "nobody",
    },
    Kind {
        name: SSL_AWAITING_APPROVAL,
        label: "SSL request awaiting approval",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "the administrators who may approve it (not the requester, not the operators)",
    },
    Kind {
        name: SSL_ISSUED,
        label: "SSL certificate issued (ready to download)",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "the requester and the external requester (portal and REST API orders)",
    },
    Kind {
        name: SSL_ISSUANCE_FAILED,
        label: "SSL certificate issuance failed",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "the requester and the external requester",
    },
    Kind {
        name: SSL_REVOKED,
        label: "SSL certificate revoked",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "the requester and the external requester",
    },
    Kind {
        name: SSL_AUTO_RENEWED,
        label: "SSL certificate renewed automatically",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SSL,
        defaults: "the requester and the external requester",
    },
    Kind {
        name: DELEGATION_REQUESTED,
        label: "Domain delegation requested",
        thresholds: false,
        requester: true,
        external_requester: false,
        area: None,
        defaults: "the organisation's RAOs who may approve delegations",
    },
    Kind {
        name: DELEGATION_APPROVED,
        label: "Domain delegation approved",
        thresholds: false,
        requester: true,
        external_requester: false,
        area: None,
        defaults: "the administrator who asked for it",
    },
    Kind {
        name: DELEGATION_REJECTED,
        label: "Domain delegation rejected",
        thresholds: false,
        requester: true,
        external_requester: false,
        area: None,
        defaults: "the administrator who asked for it",
    },
    Kind {
        name: ADMIN_CREATED,
        label: "Administrator created",
        thresholds: false,
        requester: false,
        external_requester: false,
        area: None,
        defaults: "nobody",
    },
    Kind {
        name: ADMIN_IDP_AWAITING,
        label: "IdP administrator awaiting approval",
        thresholds: false,
        requester: false,
        external_requester: false,
        area: None,
        defaults: "nobody",
    },
    Kind {
        name: ACME_ACCOUNT_CREATED,
        label: "ACME account created",
        thresholds: false,
        requester: false,
        external_requester: false,
        area: None,
        defaults: "nobody",
    },
    Kind {
        name: SMIME_REVOKED,
        label: "Client certificate revoked",
        thresholds: false,
        requester: true,
        external_requester: true,
        area: SMIME,
        defaults: "the requester and the person it is for",
    },
    Kind {
        name: SMIME_RECOVERY_AWAITING,
        label: "Key recovery awaiting approval",
        thresholds: false,
        requester: true,
        external_requester: false,
        area: SMIME,
        defaults: "the administrators with keyRecovery who may approve it (not the requester, \
                   not the operators)",
    },
];

/// The kind called `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_and_a_template_that_passes_its_check() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        for k in &KINDS {
            let template = castellan_notify::templates::default_template(k.name)
                .unwrap_or_else(|| panic!("{} has no template", k.name));
            // The default passes the check a replacement must pass.
            castellan_notify::templates::check(k.name, &template)
                .unwrap_or_else(|e| panic!("{}: {e}", k.name));
        }
    }
}
