//! Notifications (guide 9): rules say what to tell whom for which organisation or
//! departments; events and jobs queue the mail in the outbox, where each notification's
//! idempotency key (event × threshold × recipient) makes it go once, whichever node finds
//! it and however often.
//!
//! - [`kinds`]: what there is to tell, and what a rule of each kind may say;
//! - [`rules`]: adding, editing and removing rules;
//! - [`events`]: events told as they happen, in their own transaction (a request awaiting
//!   approval, an issuance that failed, a revocation, a delegation, …);
//! - [`expiry`]: the daily scan for certificates and DCVs near or past their expiry;
//! - [`templates`]: the administrators' versions of the mail, the "send test" button and
//!   the delivery log.
//!
//! A certificate that has been renewed — marked so by a renewal, or followed by a later
//! issued order for the same names (ACME, or by hand) — is not warned about: that is the
//! noise users of other systems complain of.

pub mod events;
pub mod expiry;
pub mod kinds;
pub mod rules;
pub mod templates;

pub use events::{ANNOUNCE_WINDOW_SECONDS, ANNOUNCED_DOORS};
pub use expiry::{EXPIRED_WINDOW_SECONDS, scan_due, threshold};
pub use kinds::*;
pub use rules::{MAX_THRESHOLDS, RuleSpec};
pub use templates::TemplateView;

use crate::actor::Actor;
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{AdminId, OrgId};
pub use castellan_notify::templates::{Rendered, Template};
use castellan_store::{AdminRecord, NewEmail, NewRule, RuleRecord, TemplateRecord};

/// The name a certificate is known by: its common name, else its first name.
pub fn shown_name(common_name: Option<&str>, names: &[String]) -> String {
    common_name
        .or_else(|| names.first().map(String::as_str))
        .unwrap_or_default()
        .to_owned()
}

/// Whether something of organisation `org` is covered by `rule`.
fn covers(tree: &OrgTree, rule: &NewRule, org: OrgId) -> bool {
    if rule.departments.is_empty() {
        org == rule.org_id || tree.get(org).and_then(|n| n.parent) == Some(rule.org_id)
    } else {
        rule.departments.contains(&org)
    }
}

/// Everything needed to decide who is told and in what words, loaded once per event or
/// per run of a job.
pub(crate) struct Audience {
    pub(crate) tree: OrgTree,
    admins: Vec<AdminRecord>,
    rules: Vec<RuleRecord>,
    templates: Vec<TemplateRecord>,
}

impl Authority {
    /// Loads the organisations, administrators, rules and templates.
    pub(crate) async fn audience(&self) -> Result<Audience> {
        Ok(Audience {
            tree: OrgTree::load(&self.store).await?,
            admins: self.store.admins().await?,
            rules: self.store.rules().await?,
            templates: self.store.templates().await?,
        })
    }
}

impl Audience {
    /// The rules of `kind` that cover `org`.
    fn rules_for<'a>(&'a self, kind: &'a str, org: OrgId) -> impl Iterator<Item = &'a NewRule> {
        self.rules
            .iter()
            .map(|r| &r.rule)
            .filter(move |r| r.kind == kind && covers(&self.tree, r, org))
    }

    /// Whether any rule is of one of `kinds`.
    fn has_rules(&self, kinds: &[&str]) -> bool {
        self.rules
            .iter()
            .any(|r| kinds.contains(&r.rule.kind.as_str()))
    }

    /// The e-mail addresses of the active, approved administrators for whom `wanted`
    /// holds — never the operators (MRAO), who see every organisation.
    fn administrators(&self, wanted: impl Fn(&Actor) -> bool) -> Vec<String> {
        self.admins
            .iter()
            .filter(|a| a.data.active && a.data.approved)
            .filter(|a| {
                let actor = Actor::admin(a, castellan_model::AccessMethod::Job, "");
                !actor.is_mrao() && wanted(&actor)
            })
            .map(|a| a.data.email.clone())
            .collect()
    }

    /// The administrators who may approve what `requester` asked: anyone else holding
    /// `privilege` whose roles for `cert_type` reach `org`.
    fn approvers(
        &self,
        requester: &Actor,
        privilege: castellan_model::Privilege,
        org: OrgId,
        cert_type: castellan_model::CertificateType,
    ) -> Vec<String> {
        self.administrators(|a| {
            a.admin_id != requester.admin_id
                && a.has(privilege)
                && a.covers(&self.tree, org, Some(cert_type))
        })
    }

    /// The requester's address (an administrator's) and the external requester's, once
    /// each.
    fn requesters(&self, requester: Option<AdminId>, external: &str) -> Vec<String> {
        let mut out: Vec<String> = external
            .split(',')
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        if let Some(admin) = requester.and_then(|id| self.admins.iter().find(|a| a.id == id)) {
            out.push(admin.data.email.clone());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The login of an administrator, or "the service" for jobs.
    fn login(&self, admin: Option<AdminId>) -> String {
        admin
            .and_then(|id| self.admins.iter().find(|a| a.id == id))
            .map(|a| a.data.login.clone())
            .unwrap_or_else(|| "the service".into())
    }

    /// The name of an organisation or department.
    fn name_of(&self, org: OrgId) -> String {
        self.tree
            .get(org)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    }

    /// Whom `rule` tells about an event of organisation `org` whose requester and
    /// external requester are these: the fixed addresses; the requester and the external
    /// requester where the kind has them; and, when asked, the administrators with a role
    /// over `org` (for the kind's certificate type).
    fn told_by(
        &self,
        rule: &NewRule,
        org: OrgId,
        requester: Option<AdminId>,
        external: &str,
    ) -> Vec<String> {
        let kind = kinds::kind(&rule.kind);
        let mut out = rule.addresses.clone();
        out.extend(self.requesters(
            requester.filter(|_| rule.requester && kind.is_some_and(|k| k.requester)),
            if rule.external_requester && kind.is_some_and(|k| k.external_requester) {
                external
            } else {
                ""
            },
        ));
        if rule.admins {
            let area = kind.and_then(|k| k.area);
            out.extend(self.administrators(|a| a.covers(&self.tree, org, area)));
        }
        out
    }

    /// Renders `kind` from the administrators' version if there is one, else the default.
    fn render(&self, kind: &str, context: &serde_json::Value) -> Result<Rendered> {
        let custom = self
            .templates
            .iter()
            .find(|t| t.kind == kind)
            .map(|t| Template {
                subject: t.subject.clone(),
                text: t.body_text.clone(),
                html: t.body_html.clone(),
            });
        castellan_notify::templates::render(kind, custom.as_ref(), context)
            .map_err(|e| RaError::Internal(e.to_string()))
    }
}

/// Queues `text` to each of `recipients` inside `tx`, each under the idempotency key
/// `<event>:<recipient>`, so that the same event never mails the same person twice.
/// Returns how many were queued now.
pub(crate) async fn queue(
    tx: &mut castellan_store::Tx,
    event: &str,
    mut recipients: Vec<String>,
    text: &Rendered,
    now: i64,
) -> Result<usize> {
    recipients.sort();
    recipients.dedup();
    let mut queued = 0;
    for to in recipients {
        let fresh = tx
            .enqueue_email(&NewEmail {
                idempotency_key: format!("{event}:{to}"),
                recipient: to,
                subject: text.subject.clone(),
                body_text: text.text.clone(),
                body_html: text.html.clone(),
                created_at: now,
            })
            .await?;
        if fresh {
            queued += 1;
        }
    }
    Ok(queued)
}
