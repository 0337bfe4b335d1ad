//! Notification rules (Settings → Email Notifications): adding, editing, listing and
//! removing them, with the checks that keep a rule meaningful — a kind that exists, a scope
//! the administrator has a role over, someone to tell, and days only where a kind has them.

use super::kinds::{self, KINDS, Kind, SSL_EXPIRING};
use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::OrgId;
use castellan_store::{NewRule, RuleRecord};

/// The most thresholds a rule may have.
pub const MAX_THRESHOLDS: usize = 10;

/// A rule as an administrator asks for it.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    /// [`SSL_EXPIRING`], …
    pub kind: String,
    /// The organisation or department it covers.
    pub org_id: OrgId,
    /// Only these departments of the organisation (empty: all of it).
    pub departments: Vec<OrgId>,
    /// Tell the requester.
    pub requester: bool,
    /// Tell the external requester.
    pub external_requester: bool,
    /// Tell the administrators with a role over the event's organisation/department.
    pub admins: bool,
    /// Fixed addresses.
    pub addresses: Vec<String>,
    /// Days before expiry (expiry warnings only).
    pub days: Vec<i64>,
}

impl Default for RuleSpec {
    /// An SSL expiry rule for no organisation yet (`org_id` 0 is refused as unknown).
    fn default() -> RuleSpec {
        RuleSpec {
            kind: SSL_EXPIRING.into(),
            org_id: OrgId(0),
            departments: Vec::new(),
            requester: false,
            external_requester: false,
            admins: false,
            addresses: Vec::new(),
            days: Vec::new(),
        }
    }
}

fn invalid(field: &'static str, reason: String) -> RaError {
    RaError::InvalidInput { field, reason }
}

/// Checks `spec` for `actor` and makes it a rule to store (without its creator and time).
fn checked(actor: &Actor, tree: &OrgTree, mut spec: RuleSpec) -> Result<(NewRule, &'static Kind)> {
    let kind = kinds::kind(&spec.kind).ok_or_else(|| {
        invalid(
            "kind",
            format!(
                "'{}' is not a notification; the kinds are {}",
                spec.kind,
                KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    if tree.get(spec.org_id).is_none() {
        return Err(RaError::NotFound {
            what: "organization",
            key: spec.org_id.to_string(),
        });
    }
    // A department named alone is its organisation's rule, limited to that department.
    if let Some(parent) = tree.get(spec.org_id).and_then(|n| n.parent)
        && spec.departments.is_empty()
    {
        spec.departments = vec![spec.org_id];
        spec.org_id = parent;
    }
    let mut reach = spec.departments.clone();
    if reach.is_empty() {
        reach.push(spec.org_id);
    }
    for org in &reach {
        if *org != spec.org_id && tree.get(*org).and_then(|n| n.parent) != Some(spec.org_id) {
            return Err(invalid(
                "departments",
                format!(
                    "{} is not a department of {}",
                    tree.describe(*org),
                    tree.describe(spec.org_id)
                ),
            ));
        }
        if !actor.covers(tree, *org, kind.area) {
            return Err(RaError::NotAllowed(format!(
                "you have no {}role over {}; notification rules are set by its \
                 administrators",
                if kind.area.is_some() { "SSL " } else { "" },
                tree.describe(*org)
            )));
        }
    }
    let mut days = spec.days.clone();
    days.sort_unstable();
    days.dedup();
    if !kind.thresholds {
        // Other notices have no thresholds: they go once, when the event happens.
        if !days.is_empty() {
            return Err(invalid(
                "days",
                format!(
                    "'{}' is sent when it happens; days before expiry are for the expiring \
                     kinds only",
                    kind.label
                ),
            ));
        }
    } else if days.is_empty()
        || days.len() > MAX_THRESHOLDS
        || days.iter().any(|d| !(1..=398).contains(d))
    {
        return Err(invalid(
            "days",
            format!(
                "give 1 to {MAX_THRESHOLDS} numbers of days before expiry, each from 1 to \
                 398 (for example 90, 60, 30, 7, 3)"
            ),
        ));
    }
    for address in &spec.addresses {
        if !crate::admins::plausible_email(address) {
            return Err(invalid(
                "addresses",
                format!("'{address}' is not an e-mail address"),
            ));
        }
    }
    if !(spec.requester || spec.external_requester || spec.admins || !spec.addresses.is_empty()) {
        return Err(invalid(
            "recipients",
            "choose who is told: the requester, the external requester, the administrators, \
             or addresses"
                .into(),
        ));
    }
    for (asked, has, who) in [
        (spec.requester, kind.requester, "requester"),
        (
            spec.external_requester,
            kind.external_requester,
            "external requester",
        ),
    ] {
        if asked && !has {
            return Err(invalid(
                "recipients",
                format!(
                    "'{}' has no {who}: choose the administrators or addresses",
                    kind.label
                ),
            ));
        }
    }
    Ok((
        NewRule {
            kind: kind.name.to_owned(),
            org_id: spec.org_id,
            departments: spec.departments,
            requester: spec.requester,
            external_requester: spec.external_requester,
            admins: spec.admins,
            addresses: spec.addresses,
            days,
            created_by: actor.admin_id,
            created_at: 0,
        },
        kind,
    ))
}

/// The organisations or departments a stored rule covers.
fn reach(rule: &NewRule) -> Vec<OrgId> {
    if rule.departments.is_empty() {
        vec![rule.org_id]
    } else {
        rule.departments.clone()
    }
}

/// Refuses unless the actor's roles cover everything `rule` covers: seeing a rule (a
/// DRAO sees the rules that name their department) is not changing it.
fn require_all_of(actor: &Actor, tree: &OrgTree, rule: &NewRule) -> Result<()> {
    let area = kinds::kind(&rule.kind).and_then(|k| k.area);
    match reach(rule)
        .into_iter()
        .find(|o| !actor.covers(tree, *o, area))
    {
        None => Ok(()),
        Some(other) => Err(RaError::NotAllowed(format!(
            "this rule also covers {}, which your roles do not reach; ask an administrator \
             of {} to change it",
            tree.describe(other),
            tree.describe(rule.org_id)
        ))),
    }
}

/// How a rule is described in the audit log.
fn describe(tree: &OrgTree, rule: &NewRule) -> String {
    let days = if rule.days.is_empty() {
        String::new()
    } else {
        format!(
            " ({} days before)",
            rule.days
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "Notification '{}' for {}{days}",
        rule.kind,
        tree.describe(rule.org_id)
    )
}

impl Authority {
    /// Adds a notification rule. The actor needs a role over the organisation (an RAO) or,
    /// for departments, over each of them, and may only name departments of it.
    pub async fn create_notification_rule(&self, actor: &Actor, spec: RuleSpec) -> Result<i64> {
        let tree = OrgTree::load(&self.store).await?;
        let (mut rule, _) = checked(actor, &tree, spec)?;
        let now = self.now();
        rule.created_at = now;
        let mut tx = self.store.begin().await?;
        let id = tx.insert_rule(&rule).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "notification.create",
                object_type: "notification",
                object_id: id.to_string(),
                org_id: Some(rule.org_id),
                description: format!("{} added", describe(&tree, &rule)),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes what rule `id` says. The actor must be able to see the rule as it is and to
    /// make it as it will be.
    pub async fn update_notification_rule(
        &self,
        actor: &Actor,
        id: i64,
        spec: RuleSpec,
    ) -> Result<()> {
        let before = self.notification_rule(actor, id).await?;
        let tree = OrgTree::load(&self.store).await?;
        require_all_of(actor, &tree, &before.rule)?;
        let (mut rule, _) = checked(actor, &tree, spec)?;
        rule.created_by = before.rule.created_by;
        rule.created_at = before.rule.created_at;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.update_rule(id, &rule).await? {
            return Err(RaError::NotFound {
                what: "notification rule",
                key: id.to_string(),
            });
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "notification.update",
                object_type: "notification",
                object_id: id.to_string(),
                org_id: Some(rule.org_id),
                description: format!("{} {id} changed", describe(&tree, &rule)),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The rules the actor may see: those over organisations and departments they cover.
    pub async fn notification_rules(&self, actor: &Actor) -> Result<Vec<RuleRecord>> {
        let tree = OrgTree::load(&self.store).await?;
        Ok(self
            .store
            .rules()
            .await?
            .into_iter()
            .filter(|r| reach(&r.rule).iter().any(|o| actor.covers(&tree, *o, None)))
            .collect())
    }

    /// One rule the actor may see.
    pub async fn notification_rule(&self, actor: &Actor, id: i64) -> Result<RuleRecord> {
        self.notification_rules(actor)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(RaError::NotFound {
                what: "notification rule",
                key: id.to_string(),
            })
    }

    /// Deletes a rule the actor may see.
    pub async fn delete_notification_rule(&self, actor: &Actor, id: i64) -> Result<()> {
        let rule = self.notification_rule(actor, id).await?;
        require_all_of(actor, &OrgTree::load(&self.store).await?, &rule.rule)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.delete_rule(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "notification.delete",
                object_type: "notification",
                object_id: id.to_string(),
                org_id: Some(rule.rule.org_id),
                description: format!("Notification '{}' {id} deleted", rule.rule.kind),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
