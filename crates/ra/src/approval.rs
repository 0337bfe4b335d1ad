//! Second-administrator approval, one mechanism for every action that needs it: an action
//! waits until a *different* administrator with a role over the same organisation or
//! department (for the right certificate type, holding the right privilege) approves or
//! rejects it. The requester can never decide their own request.
//!
//! Users: new IdP administrators (guide 4.1.2) now; EV requests, the EV anchor and key
//! recovery later. Each action names its effect in [`apply`].

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{AdminId, ApprovalId, CertificateType, OrgId, Privilege};
use castellan_store::{ApprovalRecord, NewApproval, Tx};

/// A new IdP administrator waits to be approved (guide 4.1.2).
pub const APPROVE_IDP_ADMIN: &str = "admin.approve-idp";

/// An EV order or EV anchor waits for a second administrator (guide 7.2). Approving it only
/// records the second pair of eyes; the order is then approved and issued by `ra::orders`.
pub const APPROVE_EV_ORDER: &str = "ssl.approve-ev";

/// The recovery of an escrowed key waits for a second administrator with `keyRecovery`
/// (guide 8.2); what follows is `ra::escrow`'s.
pub const APPROVE_KEY_RECOVERY: &str = "smime.key-recovery";

/// A sentence for people about what a pending approval waits for.
pub fn describe(approval: &NewApproval) -> String {
    match approval.action.as_str() {
        APPROVE_IDP_ADMIN => format!(
            "New IdP administrator {} awaits approval by a second administrator",
            approval.object_id
        ),
        APPROVE_EV_ORDER => format!(
            "EV SSL certificate {} awaits approval by a second administrator",
            approval.object_id
        ),
        APPROVE_KEY_RECOVERY => format!(
            "Key recovery {} awaits approval by a second administrator with keyRecovery",
            approval.object_id
        ),
        other => format!(
            "{other} for {} {} awaits approval",
            approval.object_type, approval.object_id
        ),
    }
}

/// An action to put up for approval.
pub(crate) struct ApprovalRequest<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: i64,
    pub scope: OrgId,
    pub area: Option<CertificateType>,
    pub privilege: Option<Privilege>,
    pub description: String,
}

/// Records a pending approval inside the caller's transaction, with its audit entry.
pub(crate) async fn request(
    tx: &mut Tx,
    actor: &Actor,
    now: i64,
    req: ApprovalRequest<'_>,
) -> Result<ApprovalId> {
    let requested_by = actor
        .admin_id
        .ok_or_else(|| RaError::Internal("approvals are requested by administrators".into()))?;
    let id = tx
        .insert_approval(&NewApproval {
            action: req.action.to_owned(),
            object_type: req.object_type.to_owned(),
            object_id: req.object_id,
            scope: req.scope,
            area: req
                .area
                .map(|a| a.as_str().to_owned())
                .unwrap_or_else(|| "any".into()),
            privilege: req
                .privilege
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            requested_by,
            requested_at: now,
        })
        .await?;
    audit::record(
        tx,
        actor,
        now,
        Change {
            action: "approval.request",
            object_type: req.object_type,
            object_id: req.object_id.to_string(),
            org_id: (req.scope.0 != 0).then_some(req.scope),
            description: req.description,
        },
        None,
        Some(serde_json::json!({"approval": id.0, "action": req.action})),
    )
    .await?;
    Ok(id)
}

/// Whether `actor` may decide `approval`; the refusal names the rule.
fn check_decider(actor: &Actor, tree: &OrgTree, approval: &ApprovalRecord) -> Result<()> {
    let Some(me) = actor.admin_id else {
        return Err(RaError::NotAllowed(
            "approvals are decided by administrators, not by the service".into(),
        ));
    };
    let a = &approval.approval;
    if a.requested_by == me {
        return Err(RaError::NotAllowed(
            "you requested this yourself; a different administrator must approve it".into(),
        ));
    }
    if a.object_type == "admin" && a.object_id == me.0 {
        return Err(RaError::NotAllowed(
            "you cannot approve your own account; a different administrator must approve it".into(),
        ));
    }
    let area = CertificateType::parse(&a.area);
    if !actor.covers(tree, a.scope, area) {
        return Err(RaError::NotAllowed(format!(
            "only an administrator with a {}role over {} can decide this",
            area.map(|t| format!("{t} ")).unwrap_or_default(),
            tree.describe(a.scope)
        )));
    }
    if let Some(privilege) = Privilege::parse(&a.privilege) {
        actor.require(privilege, "decide this approval")?;
    }
    Ok(())
}

/// Carries out an approved action inside the deciding transaction.
async fn apply(tx: &mut Tx, approval: &ApprovalRecord, now: i64) -> Result<String> {
    match approval.approval.action.as_str() {
        APPROVE_IDP_ADMIN => {
            let id = AdminId(approval.approval.object_id);
            let Some(admin) = tx.admin(id).await? else {
                return Err(RaError::Conflict(format!(
                    "administrator {id} no longer exists"
                )));
            };
            let mut data = admin.data.clone();
            data.approved = true;
            tx.update_admin(id, &data, now).await?;
            Ok(format!(
                "IdP administrator '{}' approved; they can now sign in",
                data.login
            ))
        }
        APPROVE_EV_ORDER => Ok(format!(
            "EV order {} approved by a second administrator",
            approval.approval.object_id
        )),
        APPROVE_KEY_RECOVERY => Ok(format!(
            "key recovery {} approved by a second administrator",
            approval.approval.object_id
        )),
        other => Err(RaError::Internal(format!(
            "no effect is defined for approvals of '{other}'"
        ))),
    }
}

impl Authority {
    /// The pending approvals the actor could decide (never their own requests).
    pub async fn pending_approvals(&self, actor: &Actor) -> Result<Vec<ApprovalRecord>> {
        let tree = OrgTree::load(&self.store).await?;
        Ok(self
            .store
            .pending_approvals()
            .await?
            .into_iter()
            .filter(|a| check_decider(actor, &tree, a).is_ok())
            .collect())
    }

    /// Approves (`approve`) or rejects a pending approval.
    pub async fn decide_approval(
        &self,
        actor: &Actor,
        id: ApprovalId,
        approve: bool,
        note: &str,
    ) -> Result<ApprovalRecord> {
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let approval = tx.approval(id).await?.ok_or(RaError::NotFound {
            what: "approval",
            key: id.to_string(),
        })?;
        if approval.status != "PENDING" {
            return Err(RaError::Conflict(format!(
                "approval {id} was already decided ({})",
                approval.status.to_lowercase()
            )));
        }
        check_decider(actor, &tree, &approval)?;
        let decider = actor
            .admin_id
            .ok_or_else(|| RaError::Internal("decider without an id".into()))?;
        let status = if approve { "APPROVED" } else { "REJECTED" };
        if !tx.decide_approval(id, status, decider, now, note).await? {
            return Err(RaError::Conflict(format!(
                "approval {id} was decided by someone else meanwhile"
            )));
        }
        let description = if approve {
            apply(&mut tx, &approval, now).await?
        } else {
            format!(
                "{} of {} {} rejected{}",
                approval.approval.action,
                approval.approval.object_type,
                approval.approval.object_id,
                if note.is_empty() {
                    String::new()
                } else {
                    format!(": {note}")
                }
            )
        };
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if approve {
                    "approval.approve"
                } else {
                    "approval.reject"
                },
                object_type: &approval.approval.object_type,
                object_id: approval.approval.object_id.to_string(),
                org_id: (approval.approval.scope.0 != 0).then_some(approval.approval.scope),
                description,
            },
            None,
            Some(serde_json::json!({"approval": id.0, "status": status, "note": note})),
        )
        .await?;
        let decided = tx
            .approval(id)
            .await?
            .ok_or_else(|| RaError::Internal("decided approval vanished".into()))?;
        tx.commit().await?;
        if approval.approval.action == APPROVE_KEY_RECOVERY {
            self.recovery_decided(approval.approval.object_id, approve)
                .await?;
        }
        Ok(decided)
    }

    /// Approves the pending IdP administrator `admin` (guide 4.1.2).
    pub async fn approve_idp_admin(&self, actor: &Actor, admin: AdminId) -> Result<ApprovalRecord> {
        let pending = self
            .store
            .pending_approvals()
            .await?
            .into_iter()
            .find(|a| a.approval.action == APPROVE_IDP_ADMIN && a.approval.object_id == admin.0)
            .ok_or_else(|| {
                RaError::Conflict(format!("administrator {admin} is not awaiting approval"))
            })?;
        self.decide_approval(actor, pending.id, true, "").await
    }
}
