//! Organisation/department scope: which roles reach which organisations and departments,
//! and which credentials an administrator may grant.
//!
//! An MRAO reaches everything; an RAO role held over an organisation reaches it and its
//! departments; a DRAO role held over a department reaches that department only.

use crate::actor::Actor;
use crate::{RaError, Result};
use castellan_model::{AdminRole, Credential, OrgId};
use castellan_store::{OrganizationRecord, Store};
use std::collections::HashMap;

/// Node of the organisation tree.
#[derive(Clone, Debug)]
pub struct OrgNode {
    /// Its organisation, for a department.
    pub parent: Option<OrgId>,
    /// Its name.
    pub name: String,
}

/// Every organisation and department with its parent: small, read whole for each check.
#[derive(Clone, Debug, Default)]
pub struct OrgTree {
    nodes: HashMap<OrgId, OrgNode>,
}

impl OrgTree {
    /// Reads the tree from the store.
    pub async fn load(store: &Store) -> Result<OrgTree> {
        Ok(OrgTree::from_records(&store.organizations().await?))
    }

    /// Builds the tree from records.
    pub fn from_records(records: &[OrganizationRecord]) -> OrgTree {
        OrgTree {
            nodes: records
                .iter()
                .map(|r| {
                    (
                        r.id,
                        OrgNode {
                            parent: r.parent_id,
                            name: r.data.name.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Every organisation and department id.
    pub fn ids(&self) -> impl Iterator<Item = OrgId> + '_ {
        self.nodes.keys().copied()
    }

    /// The node, if it exists.
    pub fn get(&self, id: OrgId) -> Option<&OrgNode> {
        self.nodes.get(&id)
    }

    /// The organisation `id` belongs to (itself for an organisation).
    pub fn organization_of(&self, id: OrgId) -> OrgId {
        self.nodes.get(&id).and_then(|n| n.parent).unwrap_or(id)
    }

    /// `organisation 'X' (id N)` or `department 'Y' of 'X' (id N)`, for messages.
    pub fn describe(&self, id: OrgId) -> String {
        match self.nodes.get(&id) {
            None if id.0 == 0 => "the whole service".into(),
            None => format!("organization {id} (which does not exist)"),
            Some(node) => match node.parent.and_then(|p| self.nodes.get(&p)) {
                Some(parent) => {
                    format!("department '{}' of '{}' (id {id})", node.name, parent.name)
                }
                None => format!("organization '{}' (id {id})", node.name),
            },
        }
    }

    /// Whether a credential reaches `org`.
    pub fn role_reaches(&self, credential: &Credential, org: OrgId) -> bool {
        match credential.role {
            AdminRole::Mrao => true,
            r if r.is_rao() => {
                credential.scope == org
                    || self.nodes.get(&org).and_then(|n| n.parent) == Some(credential.scope)
            }
            _ => credential.scope == org,
        }
    }

    /// Checks that a credential is well-formed: an RAO role over an organisation, a DRAO
    /// role over a department, the MRAO over the whole service (`orgId` 0).
    pub fn check_credential(&self, credential: &Credential) -> Result<()> {
        let role = credential.role;
        let scope = credential.scope;
        let bad = |reason: String| {
            Err(RaError::InvalidInput {
                field: "credentials",
                reason,
            })
        };
        if role == AdminRole::Mrao {
            return if scope.0 == 0 || self.nodes.contains_key(&scope) {
                Ok(())
            } else {
                bad(format!("organization {scope} does not exist"))
            };
        }
        match self.nodes.get(&scope) {
            None => bad(format!("organization {scope} does not exist")),
            Some(node) if role.is_rao() && node.parent.is_some() => bad(format!(
                "{role} is an organization role, but {} is a department; use {} for departments",
                self.describe(scope),
                role.counterpart()
            )),
            Some(node) if role.is_drao() && node.parent.is_none() => bad(format!(
                "{role} is a department role, but {} is an organization; use {} for organizations",
                self.describe(scope),
                role.counterpart()
            )),
            Some(_) => Ok(()),
        }
    }

    /// Refuses unless `actor` may grant `credential`: only roles they hold themselves,
    /// within their own scope (the guide's greyed-out options, 4.1.1).
    pub fn check_grant(&self, actor: &Actor, credential: &Credential) -> Result<()> {
        self.check_credential(credential)?;
        if actor.is_mrao() {
            return Ok(());
        }
        let role = credential.role;
        let scope = credential.scope;
        let allowed = match role {
            AdminRole::Mrao => false,
            r if r.is_rao() => actor
                .credentials
                .iter()
                .any(|c| c.role == r && c.scope == scope),
            r => actor.credentials.iter().any(|c| {
                (c.role == r && c.scope == scope)
                    || (c.role == r.counterpart()
                        && self.nodes.get(&scope).and_then(|n| n.parent) == Some(c.scope))
            }),
        };
        if allowed {
            Ok(())
        } else {
            let needed = match role {
                AdminRole::Mrao => "only an MRAO can grant MRAO".to_owned(),
                r if r.is_rao() => format!("you hold no {r} role for {}", self.describe(scope)),
                r => format!(
                    "you hold neither {} for its organization nor {r} for {}",
                    r.counterpart(),
                    self.describe(scope)
                ),
            };
            Err(RaError::NotAllowed(format!(
                "you cannot grant the role {role} for {}: {needed}",
                self.describe(scope)
            )))
        }
    }
}
