//! Who is asking: an administrator signed in through one of the front doors, or the
//! service itself (the operator CLI, background jobs).
//!
//! Every `ra` function that changes or reveals something takes an [`Actor`] and checks
//! role, privilege and organisation/department scope against it — the front doors only
//! establish who the actor is.

use crate::scope::OrgTree;
use castellan_model::{
    AccessMethod, AdminId, AdminRole, AdminType, CertificateType, Credential, OrgId, Privilege,
};
use castellan_store::AdminRecord;
use std::collections::BTreeSet;

/// The caller of an `ra` function.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The administrator, or `None` for the service itself.
    pub admin_id: Option<AdminId>,
    /// Login (or `system`).
    pub login: String,
    /// How they sign in.
    pub admin_type: Option<AdminType>,
    /// Roles and where they apply.
    pub credentials: Vec<Credential>,
    /// Privileges.
    pub privileges: BTreeSet<Privilege>,
    /// The front door.
    pub access_method: AccessMethod,
    /// The client's address (for the audit log).
    pub address: String,
    /// Whether they must change their password before doing anything else.
    pub must_change_password: bool,
}

impl Actor {
    /// The service itself, with the operator's powers (the CLI on the server, jobs).
    pub fn system(access_method: AccessMethod) -> Actor {
        Actor {
            admin_id: None,
            login: "system".into(),
            admin_type: None,
            credentials: vec![Credential {
                role: AdminRole::Mrao,
                scope: OrgId(0),
            }],
            privileges: Privilege::ALL.into_iter().collect(),
            access_method,
            address: String::new(),
            must_change_password: false,
        }
    }

    /// A stored administrator acting through `access_method` from `address`.
    pub fn admin(record: &AdminRecord, access_method: AccessMethod, address: &str) -> Actor {
        Actor {
            admin_id: Some(record.id),
            login: record.data.login.clone(),
            admin_type: Some(record.data.admin_type),
            credentials: record.data.credentials.clone(),
            privileges: record.data.privileges.iter().copied().collect(),
            access_method,
            address: address.to_owned(),
            must_change_password: record.data.must_change_password,
        }
    }

    /// Whether the actor is an operator administrator (or the service).
    pub fn is_mrao(&self) -> bool {
        self.credentials.iter().any(|c| c.role == AdminRole::Mrao)
    }

    /// Whether the actor holds `privilege` (the MRAO holds every privilege).
    pub fn has(&self, privilege: Privilege) -> bool {
        self.is_mrao() || self.privileges.contains(&privilege)
    }

    /// Whether some role of the actor reaches `org` (an organisation or department) for
    /// certificate type `area` (`None`: any type).
    pub fn covers(&self, tree: &OrgTree, org: OrgId, area: Option<CertificateType>) -> bool {
        self.credentials.iter().any(|c| {
            (area.is_none() || c.role.area().is_none() || c.role.area() == area)
                && tree.role_reaches(c, org)
        })
    }

    /// Refuses unless the actor holds `privilege`, naming it.
    pub fn require(&self, privilege: Privilege, to: &str) -> crate::Result<()> {
        if self.has(privilege) {
            Ok(())
        } else {
            Err(crate::RaError::NotAllowed(format!(
                "you need the privilege {privilege} to {to}; ask an administrator who holds it"
            )))
        }
    }

    /// Refuses unless the actor is an MRAO.
    pub fn require_mrao(&self, to: &str) -> crate::Result<()> {
        if self.is_mrao() {
            Ok(())
        } else {
            Err(crate::RaError::NotAllowed(format!(
                "only the operator (MRAO) can {to}"
            )))
        }
    }
}
