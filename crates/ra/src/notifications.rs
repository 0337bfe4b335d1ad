//! Notifications (guide 9): rules say what to tell whom for which organisation or
//! departments; jobs find the events and queue the mail in the outbox, where each
//! notification's idempotency key (event × threshold × recipient) makes it go once, whichever
//! node runs the job and however often.
//!
//! This first kind is the SSL certificate expiry warning, with its thresholds (the common
//! 90/60/30/7/3 schedule, or any other). A certificate that has been renewed — marked so by a
//! renewal, or followed by a later issued order for the same names (ACME, or by hand) — is
//! not warned about: that is the noise users of other systems complain of.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{CertificateType, OrgId};
use castellan_store::{ExpiringCertificate, NewEmail, NewRule, RuleRecord};

/// The kind of an SSL certificate expiry warning.
pub const SSL_EXPIRING: &str = "ssl.expiring";
/// The kind of a DCV expiry warning (the guide: "set up notifications that will be sent out
/// when a DCV is expiring").
pub const DCV_EXPIRING: &str = "dcv.expiring";
/// A request waits for an administrator's approval: sent without any rule to the
/// administrators who may approve it.
pub const SSL_AWAITING_APPROVAL: &str = "ssl.awaiting-approval";
/// A certificate is ready to download: sent without any rule to the requester and the
/// external requester of orders placed in the portal or through the REST API (an ACME client
/// downloads its own; auto-renewal says so in its own mail).
pub const SSL_ISSUED: &str = "ssl.issued";
/// A certificate was revoked: sent without any rule to the requester and the external
/// requester, in the revocation's transaction.
pub const SSL_REVOKED: &str = "ssl.revoked";
/// The front doors whose issued certificates are announced ([`SSL_ISSUED`]).
pub const ANNOUNCED_DOORS: [&str; 2] = ["Portal", "REST API"];
/// How far back the announcement job looks (its first run after an upgrade announces at most
/// this much).
pub const ANNOUNCE_WINDOW_SECONDS: i64 = 86_400;
/// The kind of a notice that an SSL certificate (not renewed) has expired.
pub const SSL_EXPIRED: &str = "ssl.expired";
/// The kind of a notice that a domain's validation has expired.
pub const DCV_EXPIRED: &str = "dcv.expired";
/// How long after an expiry its notice is still sent (a rule made later does not mail about
/// every certificate that ever expired).
pub const EXPIRED_WINDOW_SECONDS: i64 = 7 * 86_400;
/// The kinds of notification rules there are.
pub const KINDS: [&str; 4] = [SSL_EXPIRING, SSL_EXPIRED, DCV_EXPIRING, DCV_EXPIRED];
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
    /// Tell the administrators with a role over the certificate's organisation/department.
    pub admins: bool,
    /// Fixed addresses.
    pub addresses: Vec<String>,
    /// Days before expiry.
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

/// The threshold an expiry `days_left` away falls under: the smallest of `days` that is at
/// least `days_left` (so a late first scan sends only the nearest warning, not every one).
pub fn threshold(days: &[i64], days_left: i64) -> Option<i64> {
    days.iter().copied().filter(|d| *d >= days_left).min()
}

/// What `rule` sends for an expiry `days_left` days away, if anything: an "expiring" rule
/// its threshold while the day is ahead, an "expired" rule its notice (threshold 0) once it
/// has passed.
fn due(rule: &NewRule, days_left: i64) -> Option<(&'static str, i64)> {
    match (rule.kind.as_str(), days_left > 0) {
        (SSL_EXPIRING, true) => threshold(&rule.days, days_left).map(|t| (SSL_EXPIRING, t)),
        (DCV_EXPIRING, true) => threshold(&rule.days, days_left).map(|t| (DCV_EXPIRING, t)),
        (SSL_EXPIRED, false) => Some((SSL_EXPIRED, 0)),
        (DCV_EXPIRED, false) => Some((DCV_EXPIRED, 0)),
        _ => None,
    }
}

/// Whole days from `now` until `at`, rounded up (0 or less once `at` has passed).
fn days_until(at: i64, now: i64) -> i64 {
    (at - now + 86_399) / 86_400
}

/// The e-mail addresses of the active, approved administrators for whom `wanted` holds —
/// never the operators (MRAO), who see every organisation.
fn administrators(
    admins: &[castellan_store::AdminRecord],
    wanted: impl Fn(&Actor) -> bool,
) -> Vec<String> {
    admins
        .iter()
        .filter(|a| a.data.active && a.data.approved)
        .filter(|a| {
            let actor = Actor::admin(a, castellan_model::AccessMethod::Job, "");
            !actor.is_mrao() && wanted(&actor)
        })
        .map(|a| a.data.email.clone())
        .collect()
}

/// The name a certificate is known by: its common name, else its first name.
pub fn shown_name(common_name: Option<&str>, names: &[String]) -> String {
    common_name
        .or_else(|| names.first().map(String::as_str))
        .unwrap_or_default()
        .to_owned()
}

/// Whether a certificate of organisation `org` is covered by `rule`.
fn covers(tree: &OrgTree, rule: &NewRule, org: OrgId) -> bool {
    if rule.departments.is_empty() {
        org == rule.org_id || tree.get(org).and_then(|n| n.parent) == Some(rule.org_id)
    } else {
        rule.departments.contains(&org)
    }
}

impl Authority {
    /// Adds a notification rule. The actor needs a role over the organisation (an RAO) or,
    /// for departments, over each of them, and may only name departments of it.
    pub async fn create_notification_rule(&self, actor: &Actor, mut spec: RuleSpec) -> Result<i64> {
        let invalid = |field: &'static str, reason: String| RaError::InvalidInput { field, reason };
        if !KINDS.contains(&spec.kind.as_str()) {
            return Err(invalid(
                "kind",
                format!(
                    "'{}' is not a notification; the kinds are {}",
                    spec.kind,
                    KINDS.join(", ")
                ),
            ));
        }
        let tree = OrgTree::load(&self.store).await?;
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
            let area = (spec.kind == SSL_EXPIRING).then_some(CertificateType::Ssl);
            if !actor.covers(&tree, *org, area) {
                return Err(RaError::NotAllowed(format!(
                    "you have no {}role over {}; notification rules are set by its \
                     administrators",
                    if area.is_some() { "SSL " } else { "" },
                    tree.describe(*org)
                )));
            }
        }
        let mut days = spec.days.clone();
        days.sort_unstable();
        days.dedup();
        // An "expired" notice has no thresholds: it goes once, when the expiry has passed.
        let expired_kind = spec.kind == SSL_EXPIRED || spec.kind == DCV_EXPIRED;
        if expired_kind {
            days.clear();
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
        if !(spec.requester || spec.external_requester || spec.admins || !spec.addresses.is_empty())
        {
            return Err(invalid(
                "recipients",
                "choose who is told: the requester, the external requester, the administrators, \
                 or addresses"
                    .into(),
            ));
        }
        let domain_kind = spec.kind == DCV_EXPIRING || spec.kind == DCV_EXPIRED;
        if domain_kind && !spec.admins && spec.addresses.is_empty() {
            return Err(invalid(
                "recipients",
                "a domain has no requester: for DCV warnings choose the administrators or \
                 addresses"
                    .into(),
            ));
        }
        let now = self.now();
        let rule = NewRule {
            kind: spec.kind.clone(),
            org_id: spec.org_id,
            departments: spec.departments.clone(),
            requester: spec.requester,
            external_requester: spec.external_requester,
            admins: spec.admins,
            addresses: spec.addresses.clone(),
            days: days.clone(),
            created_by: actor.admin_id,
            created_at: now,
        };
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
                org_id: Some(spec.org_id),
                description: format!(
                    "Notification '{}' for {} added ({} days before)",
                    spec.kind,
                    tree.describe(spec.org_id),
                    days.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The rules the actor may see: those over organisations and departments they cover.
    pub async fn notification_rules(&self, actor: &Actor) -> Result<Vec<RuleRecord>> {
        let tree = OrgTree::load(&self.store).await?;
        Ok(self
            .store
            .rules()
            .await?
            .into_iter()
            .filter(|r| actor.covers(&tree, r.rule.org_id, None))
            .collect())
    }

    /// Deletes a rule the actor may see.
    pub async fn delete_notification_rule(&self, actor: &Actor, id: i64) -> Result<()> {
        let rule = self
            .notification_rules(actor)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(RaError::NotFound {
                what: "notification rule",
                key: id.to_string(),
            })?;
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

    /// The rules of `kinds`, and how many days ahead the furthest of their thresholds looks
    /// (0 for "expired" rules only); `None` when there are none.
    async fn rules_of(&self, kinds: [&str; 2]) -> Result<Option<(Vec<RuleRecord>, i64)>> {
        let rules: Vec<RuleRecord> = self
            .store
            .rules()
            .await?
            .into_iter()
            .filter(|r| kinds.contains(&r.rule.kind.as_str()))
            .collect();
        if rules.is_empty() {
            return Ok(None);
        }
        let horizon = rules
            .iter()
            .flat_map(|r| r.rule.days.iter())
            .max()
            .copied()
            .unwrap_or(0);
        Ok(Some((rules, horizon)))
    }

    /// The expiry warnings job: for every rule, the issued, not renewed certificates of its
    /// organisation or departments that have reached one of its thresholds; one mail per
    /// certificate, threshold and recipient, queued in the outbox. Returns how many were
    /// queued now (those queued by an earlier run are not queued again).
    pub async fn send_expiry_warnings(&self) -> Result<usize> {
        let Some((rules, horizon)) = self.rules_of([SSL_EXPIRING, SSL_EXPIRED]).await? else {
            return Ok(0);
        };
        let now = self.now();
        let expiring = self
            .store
            .expiring_certificates(now - EXPIRED_WINDOW_SECONDS, now + horizon * 86_400)
            .await?;
        if expiring.is_empty() {
            return Ok(0);
        }
        let tree = OrgTree::load(&self.store).await?;
        let admins = self.store.admins().await?;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for cert in &expiring {
            let Some(org) = cert.org_id else { continue };
            let days_left = days_until(cert.not_after, now);
            for record in rules.iter().filter(|r| covers(&tree, &r.rule, org)) {
                let rule = &record.rule;
                let Some((kind, threshold)) = due(rule, days_left) else {
                    continue;
                };
                let mut recipients: Vec<String> = rule.addresses.clone();
                recipients.extend(requester_addresses(
                    cert.requester_admin_id.filter(|_| rule.requester),
                    if rule.external_requester {
                        &cert.external_requester
                    } else {
                        ""
                    },
                    &admins,
                ));
                if rule.admins {
                    // The organisation's and department's own SSL administrators.
                    recipients.extend(administrators(&admins, |a| {
                        a.covers(&tree, org, Some(CertificateType::Ssl))
                    }));
                }
                recipients.sort();
                recipients.dedup();
                let text = render(
                    kind,
                    self.expiry_context(cert, &tree, org, days_left, threshold),
                )?;
                queued += queue(
                    &mut tx,
                    &format!("{kind}:{}:{threshold}", cert.certificate_id),
                    recipients,
                    &text,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// The DCV expiry warnings job: for every `dcv.expiring` rule, the validations of the
    /// domains delegated within its scope that have reached one of its thresholds; one mail
    /// per validation, threshold and recipient (a new validation starts a new series).
    pub async fn send_dcv_warnings(&self) -> Result<usize> {
        let Some((rules, horizon)) = self.rules_of([DCV_EXPIRING, DCV_EXPIRED]).await? else {
            return Ok(0);
        };
        let now = self.now();
        let dcvs: Vec<_> = self
            .store
            .dcvs()
            .await?
            .into_iter()
            .filter(|d| d.validated_at.is_some())
            .filter(|d| {
                d.expires_at.is_some_and(|e| {
                    e > now - EXPIRED_WINDOW_SECONDS && e <= now + horizon * 86_400
                })
            })
            .collect();
        if dcvs.is_empty() {
            return Ok(0);
        }
        let tree = OrgTree::load(&self.store).await?;
        let domains = self.store.domains().await?;
        let admins = self.store.admins().await?;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for dcv in &dcvs {
            let expires = dcv.expires_at.unwrap_or(now);
            let days_left = days_until(expires, now);
            // The domain entries this validation serves, and the organisations they are
            // delegated to.
            let entries: Vec<_> = domains
                .iter()
                .filter(|d| d.name.trim_start_matches("*.") == dcv.domain)
                .collect();
            for record in &rules {
                let rule = &record.rule;
                let delegated: Vec<OrgId> = entries
                    .iter()
                    .flat_map(|d| d.delegations.iter())
                    .filter(|g| g.active && covers(&tree, rule, g.org_id))
                    .map(|g| g.org_id)
                    .collect();
                let (Some((kind, threshold)), Some(entry)) =
                    (due(rule, days_left), entries.first())
                else {
                    continue;
                };
                if delegated.is_empty() {
                    continue;
                }
                let mut recipients: Vec<String> = rule.addresses.clone();
                if rule.admins {
                    recipients.extend(administrators(&admins, |a| {
                        delegated.iter().any(|o| a.covers(&tree, *o, None))
                    }));
                }
                recipients.sort();
                recipients.dedup();
                let text = render(
                    kind,
                    serde_json::json!({
                        "domain": dcv.domain,
                        "expires": crate::clock::utc_minute(expires),
                        "days_left": days_left,
                        "threshold": threshold,
                        "method": dcv.validated_method,
                        "link": self.portal_url(&format!("/domains/{}", entry.id.0)),
                        "organization": tree.get(rule.org_id).map(|n| n.name.clone()).unwrap_or_default(),
                    }),
                )?;
                queued += queue(
                    &mut tx,
                    &format!("{kind}:{}:{expires}:{threshold}", dcv.domain),
                    recipients,
                    &text,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Queues, inside the transaction that stores request `id`, the mail to the
    /// administrators who may approve it (not the requester, not the operators).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_awaiting_approval(
        &self,
        tx: &mut castellan_store::Tx,
        now: i64,
        id: castellan_model::RequestId,
        org: OrgId,
        requester: &Actor,
        profile: &castellan_pki::profile::Profile,
        common_name: &str,
        names: &[String],
    ) -> Result<usize> {
        let tree = OrgTree::load(&self.store).await?;
        let admins = self.store.admins().await?;
        let text = render(
            SSL_AWAITING_APPROVAL,
            serde_json::json!({
                "common_name": common_name,
                "names": names,
                "profile": profile.name,
                "requester": requester.login,
                "order_id": id.0,
                "link": self.portal_url(&format!("/ssl/{}", id.0)),
                "organization": tree.get(org).map(|n| n.name.clone()).unwrap_or_default(),
                "second": profile.second_approval_required,
            }),
        )?;
        let approvers = administrators(&admins, |a| {
            a.admin_id != requester.admin_id
                && a.has(castellan_model::Privilege::SslApprove)
                && a.covers(&tree, org, Some(CertificateType::Ssl))
        });
        queue(
            tx,
            &format!("{SSL_AWAITING_APPROVAL}:{}", id.0),
            approvers,
            &text,
            now,
        )
        .await
    }

    /// Queues, inside the revocation's transaction, the mail telling the requester and the
    /// external requester of `order` that its certificate was revoked, and why.
    pub(crate) async fn queue_revoked_notice(
        &self,
        tx: &mut castellan_store::Tx,
        now: i64,
        order: &castellan_store::OrderRecord,
        reason_name: &str,
        reason: &str,
    ) -> Result<usize> {
        let admins = self.store.admins().await?;
        let recipients = requester_addresses(
            order.details.requester_admin_id,
            &order.details.external_requester,
            &admins,
        );
        let request = &order.request.request;
        let text = render(
            SSL_REVOKED,
            serde_json::json!({
                "common_name": shown_name(request.common_name.as_deref(), &request.requested_names),
                "names": request.requested_names,
                "order_id": order.request.id.0,
                "reason": reason_name,
                "details": reason,
                "revoked": crate::clock::utc_minute(now),
                "link": self.portal_url(&format!("/ssl/{}", order.request.id.0)),
            }),
        )?;
        queue(
            tx,
            &format!("{SSL_REVOKED}:{}", order.request.id.0),
            recipients,
            &text,
            now,
        )
        .await
    }

    /// The announcement job: tells the requester and external requester of each order
    /// placed in the portal or the REST API and issued in the last day that its certificate
    /// is ready (once per certificate and recipient). Returns how many were queued now.
    pub async fn send_issued_notices(&self) -> Result<usize> {
        let now = self.now();
        let issued = self
            .store
            .recently_issued(now - ANNOUNCE_WINDOW_SECONDS, &ANNOUNCED_DOORS)
            .await?;
        if issued.is_empty() {
            return Ok(0);
        }
        let tree = OrgTree::load(&self.store).await?;
        let admins = self.store.admins().await?;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for cert in &issued {
            let recipients =
                requester_addresses(cert.requester_admin_id, &cert.external_requester, &admins);
            if recipients.is_empty() {
                continue;
            }
            let org = cert.org_id.unwrap_or(OrgId(0));
            let text = render(
                SSL_ISSUED,
                serde_json::json!({
                    "common_name": shown_name(cert.common_name.as_deref(), &cert.names),
                    "names": cert.names,
                    "serial": cert.serial,
                    "expires": crate::clock::utc_minute(cert.not_after),
                    "order_id": cert.request_id.0,
                    "link": self.portal_url(&format!("/ssl/{}", cert.request_id.0)),
                    "organization": tree.get(org).map(|n| n.name.clone()).unwrap_or_default(),
                }),
            )?;
            queued += queue(
                &mut tx,
                &format!("{SSL_ISSUED}:{}", cert.certificate_id),
                recipients,
                &text,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// The "send test" button: queues the rule's notification, filled with an example, to
    /// the administrator who pressed it and the rule's fixed addresses (the requesters and
    /// administrators of real events are not mailed by a test). Returns the recipients.
    pub async fn send_test_notification(&self, actor: &Actor, id: i64) -> Result<Vec<String>> {
        let rule = self
            .notification_rules(actor)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(RaError::NotFound {
                what: "notification rule",
                key: id.to_string(),
            })?
            .rule;
        let mut recipients = rule.addresses.clone();
        if let Some(me) = actor.admin_id
            && let Some(admin) = self.store.admin(me).await?
        {
            recipients.push(admin.data.email);
        }
        recipients.sort();
        recipients.dedup();
        let now = self.now();
        let days = rule.days.first().copied().unwrap_or(0);
        let mut text = render(
            &rule.kind,
            serde_json::json!({
                "common_name": "www.example.ac.uk",
                "names": ["www.example.ac.uk", "example.ac.uk"],
                "serial": "0123456789abcdef",
                "expires": crate::clock::utc_minute(now + days * 86_400),
                "days_left": days,
                "threshold": days,
                "order_id": 0,
                "domain": "example.ac.uk",
                "method": "CNAME",
                "link": self.portal_url("/notifications"),
                "organization": OrgTree::load(&self.store).await?.get(rule.org_id).map(|n| n.name.clone()).unwrap_or_default(),
            }),
        )?;
        text.subject = format!("[Test] {}", text.subject);
        text.text = format!(
            "This is a test of a notification rule; the certificate and domain below are \
             examples.\n\n{}",
            text.text
        );
        let mut tx = self.store.begin().await?;
        queue(
            &mut tx,
            &format!("test:{id}:{now}"),
            recipients.clone(),
            &text,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(recipients)
    }

    /// The delivery log: what was sent (or is waiting, or was given up), newest first. The
    /// operators see every message; other administrators the messages addressed to them.
    /// Bodies stay out of it: some carry one-time links (DCV by e-mail).
    pub async fn delivery_log(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<castellan_store::EmailRecord>> {
        let mut records = if actor.is_mrao() {
            self.store.emails(limit).await?
        } else {
            let Some(me) = actor.admin_id else {
                return Ok(Vec::new());
            };
            let Some(admin) = self.store.admin(me).await? else {
                return Ok(Vec::new());
            };
            self.store.emails_to(&admin.data.email, limit).await?
        };
        for r in &mut records {
            r.email.body_text.clear();
            r.email.body_html.clear();
        }
        Ok(records)
    }

    fn expiry_context(
        &self,
        cert: &ExpiringCertificate,
        tree: &OrgTree,
        org: OrgId,
        days_left: i64,
        threshold: i64,
    ) -> serde_json::Value {
        serde_json::json!({
            "common_name": shown_name(cert.common_name.as_deref(), &cert.names),
            "names": cert.names,
            "serial": cert.serial,
            "expires": crate::clock::utc_minute(cert.not_after),
            "days_left": days_left,
            "threshold": threshold,
            "order_id": cert.request_id.0,
            "link": self.portal_url(&format!("/ssl/{}", cert.request_id.0)),
            "organization": tree.get(org).map(|n| n.name.clone()).unwrap_or_default(),
        })
    }
}

/// Renders notification `kind` for `context`.
fn render(kind: &str, context: serde_json::Value) -> Result<castellan_notify::templates::Rendered> {
    castellan_notify::templates::render(kind, context).map_err(|e| RaError::Internal(e.to_string()))
}

/// Queues `text` to each of `recipients` inside `tx`, each under the idempotency key
/// `<event>:<recipient>`, so that the same event never mails the same person twice. Returns
/// how many were queued now.
async fn queue(
    tx: &mut castellan_store::Tx,
    event: &str,
    recipients: Vec<String>,
    text: &castellan_notify::templates::Rendered,
    now: i64,
) -> Result<usize> {
    let mut queued = 0;
    for to in recipients {
        let fresh = tx
            .enqueue_email(&NewEmail {
                idempotency_key: format!("{event}:{to}"),
                recipient: to,
                subject: text.subject.clone(),
                body_text: text.text.clone(),
                body_html: String::new(),
                created_at: now,
            })
            .await?;
        if fresh {
            queued += 1;
        }
    }
    Ok(queued)
}

/// The requester's address (when an administrator asked) and the external requester's, once
/// each.
pub(crate) fn requester_addresses(
    requester: Option<castellan_model::AdminId>,
    external: &str,
    admins: &[castellan_store::AdminRecord],
) -> Vec<String> {
    let mut out: Vec<String> = external
        .split(',')
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    if let Some(admin) = requester.and_then(|id| admins.iter().find(|a| a.id == id)) {
        out.push(admin.data.email.clone());
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn each_expiry_falls_under_the_nearest_threshold() {
        let days = [3, 7, 30, 60, 90];
        assert_eq!(threshold(&days, 100), None);
        assert_eq!(threshold(&days, 90), Some(90));
        assert_eq!(threshold(&days, 45), Some(60));
        assert_eq!(threshold(&days, 30), Some(30));
        assert_eq!(threshold(&days, 8), Some(30));
        assert_eq!(threshold(&days, 5), Some(7));
        assert_eq!(threshold(&days, 1), Some(3));
    }
}
