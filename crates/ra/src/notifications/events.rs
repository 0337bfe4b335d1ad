//! Events told as they happen. Each is queued in the transaction of the change it tells of
//! (so a request stored is a request announced, and a rolled-back change mails nobody), to
//! the kind's default recipients — those the guide's "limited set" tells without any rule —
//! and to whomever the rules of that kind over the event's organisation or department add.

use super::kinds::{
    ACME_ACCOUNT_CREATED, ADMIN_CREATED, ADMIN_IDP_AWAITING, DELEGATION_APPROVED,
    DELEGATION_REJECTED, DELEGATION_REQUESTED, SMIME_RECOVERY_AWAITING, SMIME_REVOKED,
    SSL_AUTO_RENEWED, SSL_AWAITING_APPROVAL, SSL_ISSUANCE_FAILED, SSL_ISSUED, SSL_REVOKED,
};
use super::{Audience, queue, shown_name};
use crate::actor::Actor;
use crate::{Authority, Result};
use castellan_model::{AdminId, CertificateType, OrgId, Privilege, RequestId};
use castellan_store::{AdminData, OrderRecord, Tx};

/// The front doors whose issued certificates are announced ([`SSL_ISSUED`]): an ACME client
/// downloads its own, and auto-renewal says so in its own mail.
pub const ANNOUNCED_DOORS: [&str; 2] = ["Portal", "REST API"];
/// How far back the announcement job looks (its first run after an upgrade announces at most
/// this much).
pub const ANNOUNCE_WINDOW_SECONDS: i64 = 86_400;

/// One event to tell.
pub(crate) struct Event {
    /// Its kind.
    pub kind: &'static str,
    /// What makes it this event (an order id, …): with the kind and the recipient, the
    /// idempotency key.
    pub key: String,
    /// The organisation or department it happened in (rules over it add recipients).
    pub org: Option<OrgId>,
    /// The administrator who asked, if the kind has one.
    pub requester: Option<AdminId>,
    /// The external requester's addresses, comma-separated.
    pub external: String,
    /// Told without any rule.
    pub defaults: Vec<String>,
    /// The template's variables.
    pub context: serde_json::Value,
}

impl Event {
    fn new(kind: &'static str, key: impl ToString, org: Option<OrgId>) -> Event {
        Event {
            kind,
            key: key.to_string(),
            org,
            requester: None,
            external: String::new(),
            defaults: Vec::new(),
            context: serde_json::Value::Null,
        }
    }
}

impl Authority {
    /// Queues `event` inside `tx`: to its default recipients and those its kind's rules over
    /// its organisation add. Returns how many messages were queued now.
    pub(crate) async fn queue_event(
        &self,
        tx: &mut Tx,
        now: i64,
        audience: &Audience,
        event: Event,
    ) -> Result<usize> {
        let mut recipients = event.defaults;
        if let Some(org) = event.org {
            for rule in audience.rules_for(event.kind, org) {
                recipients.extend(audience.told_by(rule, org, event.requester, &event.external));
            }
        }
        if recipients.is_empty() {
            return Ok(0);
        }
        let text = audience.render(event.kind, &event.context)?;
        queue(
            tx,
            &format!("{}:{}", event.kind, event.key),
            recipients,
            &text,
            now,
        )
        .await
    }

    /// What a mail about an SSL order says of it.
    fn order_context(&self, audience: &Audience, order: &OrderRecord) -> serde_json::Value {
        let request = &order.request.request;
        serde_json::json!({
            "common_name": shown_name(request.common_name.as_deref(), &request.requested_names),
            "names": request.requested_names,
            "order_id": order.request.id.0,
            "link": self.portal_url(&format!("/ssl/{}", order.request.id.0)),
            "organization": order.details.org_id.map(|o| audience.name_of(o)).unwrap_or_default(),
        })
    }

    /// An event about SSL order `order`, told by default to its requester and external
    /// requester.
    fn order_event(
        &self,
        audience: &Audience,
        kind: &'static str,
        order: &OrderRecord,
        extra: serde_json::Value,
    ) -> Event {
        let mut context = self.order_context(audience, order);
        if let (Some(context), serde_json::Value::Object(extra)) = (context.as_object_mut(), extra)
        {
            context.extend(extra);
        }
        Event {
            requester: order.details.requester_admin_id,
            external: order.details.external_requester.clone(),
            defaults: audience.requesters(
                order.details.requester_admin_id,
                &order.details.external_requester,
            ),
            context,
            ..Event::new(kind, order.request.id.0, order.details.org_id)
        }
    }

    /// Queues, inside the transaction that stores request `id`, the mail to the
    /// administrators who may approve it (not the requester, not the operators).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_awaiting_approval(
        &self,
        tx: &mut Tx,
        now: i64,
        id: RequestId,
        org: OrgId,
        requester: &Actor,
        profile: &castellan_pki::profile::Profile,
        common_name: &str,
        names: &[String],
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let approvers =
            audience.approvers(requester, Privilege::SslApprove, org, CertificateType::Ssl);
        let event = Event {
            requester: requester.admin_id,
            defaults: approvers,
            context: serde_json::json!({
                "common_name": common_name,
                "names": names,
                "profile": profile.name,
                "requester": requester.login,
                "order_id": id.0,
                "link": self.portal_url(&format!("/ssl/{}", id.0)),
                "organization": audience.name_of(org),
                "second": profile.second_approval_required,
            }),
            ..Event::new(SSL_AWAITING_APPROVAL, id.0, Some(org))
        };
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues, in the transaction that stores key recovery `id`, the mail telling the
    /// administrators who may approve it (a different administrator with `keyRecovery` over
    /// `org`). The mail names the certificate and the recipient, never a key or a link to one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_recovery_awaiting(
        &self,
        tx: &mut Tx,
        now: i64,
        id: i64,
        org: OrgId,
        requester: &Actor,
        serial: &str,
        recipient: &str,
        reason: &str,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let approvers = audience.approvers(
            requester,
            Privilege::KeyRecovery,
            org,
            CertificateType::Smime,
        );
        let event = Event {
            requester: requester.admin_id,
            defaults: approvers,
            context: serde_json::json!({
                "recovery_id": id,
                "requester": requester.login,
                "serial": serial,
                "recipient": recipient,
                "reason": reason,
                "organization": audience.name_of(org),
                "link": format!(
                    "{}/api/escrow/v1/recovery/{id}",
                    self.validation.settings.base_url.trim_end_matches('/')
                ),
            }),
            ..Event::new(SMIME_RECOVERY_AWAITING, id, Some(org))
        };
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues, inside the revocation's transaction, the mail telling the requester and the
    /// external requester of `order` that its certificate was revoked, and why.
    pub(crate) async fn queue_revoked_notice(
        &self,
        tx: &mut Tx,
        now: i64,
        order: &OrderRecord,
        reason_name: &str,
        reason: &str,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let event = self.order_event(
            &audience,
            SSL_REVOKED,
            order,
            revocation_context(now, reason_name, reason),
        );
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues, inside the revocation's transaction, the mail telling the requester of client
    /// certificate order `order` and the person it is for that it was revoked, and why.
    pub(crate) async fn queue_client_revoked(
        &self,
        tx: &mut Tx,
        now: i64,
        order: &OrderRecord,
        reason_name: &str,
        reason: &str,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let person = match order.details.person_id {
            Some(id) => self.store.person(id).await?,
            None => None,
        };
        let email = person
            .as_ref()
            .map(|p| p.data.email.clone())
            .unwrap_or_default();
        let mut event = self.order_event(
            &audience,
            SMIME_REVOKED,
            order,
            revocation_context(now, reason_name, reason),
        );
        // The person is the client certificate's "external requester".
        event.defaults = audience.requesters(order.details.requester_admin_id, &email);
        event.external = email;
        if let (Some(person), Some(context)) = (&person, event.context.as_object_mut()) {
            context.insert(
                "link".into(),
                self.portal_url(&format!("/client/{}", person.id.0)).into(),
            );
        }
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues, inside the transaction that marks approved order `order` Invalid, the mail
    /// saying that its certificate could not be issued, and why.
    pub(crate) async fn queue_issuance_failed(
        &self,
        tx: &mut Tx,
        now: i64,
        order: &OrderRecord,
        reason: &str,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let event = self.order_event(
            &audience,
            SSL_ISSUANCE_FAILED,
            order,
            serde_json::json!({ "reason": reason }),
        );
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues the mail saying that auto-renewal ordered `new` (now `status`) to follow
    /// `order`, with where to collect it.
    pub(crate) async fn queue_auto_renewed(
        &self,
        tx: &mut Tx,
        now: i64,
        order: &OrderRecord,
        new: RequestId,
        status: &str,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let mut event = self.order_event(
            &audience,
            SSL_AUTO_RENEWED,
            order,
            serde_json::json!({
                "new_order_id": new.0,
                "status": status,
                "collect": format!(
                    "{}/api/ssl/v1/collect/{}/x509CO",
                    self.validation.settings.base_url.trim_end_matches('/'),
                    new.0
                ),
                "link": self.portal_url(&format!("/ssl/{}", new.0)),
            }),
        );
        event.key = new.0.to_string();
        self.queue_event(tx, now, &audience, event).await
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
        let audience = self.audience().await?;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for cert in issued.iter().filter(|c| self.is_ssl_profile(c.profile_id)) {
            let event = Event {
                requester: cert.requester_admin_id,
                external: cert.external_requester.clone(),
                defaults: audience.requesters(cert.requester_admin_id, &cert.external_requester),
                context: serde_json::json!({
                    "common_name": shown_name(cert.common_name.as_deref(), &cert.names),
                    "names": cert.names,
                    "serial": cert.serial,
                    "expires": crate::clock::utc_minute(cert.not_after),
                    "order_id": cert.request_id.0,
                    "link": self.portal_url(&format!("/ssl/{}", cert.request_id.0)),
                    "organization": cert.org_id.map(|o| audience.name_of(o)).unwrap_or_default(),
                }),
                ..Event::new(SSL_ISSUED, cert.certificate_id, cert.org_id)
            };
            queued += self.queue_event(&mut tx, now, &audience, event).await?;
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// Queues, in the delegation's transaction, the request of `requester` for `domain` to
    /// be delegated to department `org`: to the organisation's RAOs who may approve it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_delegation_requested(
        &self,
        tx: &mut Tx,
        now: i64,
        domain_id: i64,
        domain: &str,
        org: OrgId,
        cert_types: &[CertificateType],
        requester: &Actor,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let organization = audience.tree.organization_of(org);
        let approvers = audience.administrators(|a| {
            a.admin_id != requester.admin_id
                && a.has(Privilege::ApproveDomainDelegation)
                && a.credentials
                    .iter()
                    .any(|c| c.role.is_rao() && c.scope == organization)
        });
        let event = Event {
            requester: requester.admin_id,
            defaults: approvers,
            context: self.delegation_context(
                &audience,
                domain_id,
                domain,
                org,
                cert_types,
                &requester.login,
                "",
            ),
            ..Event::new(
                DELEGATION_REQUESTED,
                format!("{domain_id}:{}:{now}", org.0),
                Some(org),
            )
        };
        self.queue_event(tx, now, &audience, event).await
    }

    /// Queues, in the decision's transaction, the approval or rejection of the delegation of
    /// `domain` to `org` asked for by `requesters`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_delegation_decided(
        &self,
        tx: &mut Tx,
        now: i64,
        domain_id: i64,
        domain: &str,
        org: OrgId,
        cert_types: &[CertificateType],
        requesters: &[AdminId],
        approved: bool,
        decider: &Actor,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let mut defaults = Vec::new();
        for r in requesters {
            defaults.extend(audience.requesters(Some(*r), ""));
        }
        let kind = if approved {
            DELEGATION_APPROVED
        } else {
            DELEGATION_REJECTED
        };
        let event = Event {
            requester: requesters.first().copied(),
            defaults,
            context: self.delegation_context(
                &audience,
                domain_id,
                domain,
                org,
                cert_types,
                &audience.login(requesters.first().copied()),
                &decider.login,
            ),
            ..Event::new(kind, format!("{domain_id}:{}:{now}", org.0), Some(org))
        };
        self.queue_event(tx, now, &audience, event).await
    }

    #[allow(clippy::too_many_arguments)]
    fn delegation_context(
        &self,
        audience: &Audience,
        domain_id: i64,
        domain: &str,
        org: OrgId,
        cert_types: &[CertificateType],
        requester: &str,
        decided_by: &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "domain": domain,
            "organization": audience.name_of(org),
            "cert_types": cert_types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            "requester": requester,
            "decided_by": decided_by,
            "link": self.portal_url(&format!("/domains/{domain_id}")),
        })
    }

    /// Queues, in the creation's transaction, that administrator `id` was created (and,
    /// for an IdP administrator, that they await approval). Told only as rules say.
    pub(crate) async fn queue_admin_created(
        &self,
        tx: &mut Tx,
        now: i64,
        id: AdminId,
        data: &AdminData,
        creator: &Actor,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let scope = data
            .credentials
            .first()
            .map(|c| c.scope)
            .filter(|s| s.0 != 0);
        let context = serde_json::json!({
            "login": data.login,
            "name": format!("{} {}", data.forename, data.surname).trim().to_owned(),
            "email": data.email,
            "admin_type": data.admin_type.as_str(),
            "roles": data.credentials.iter().map(|c| format!(
                "{} of {}",
                c.role.as_str(),
                if c.scope.0 == 0 { "the service".to_owned() } else { audience.name_of(c.scope) }
            )).collect::<Vec<_>>().join(", "),
            "organization": scope.map(|s| audience.name_of(s)).unwrap_or_default(),
            "created_by": creator.login,
            "link": self.portal_url(&format!("/admins/{}", id.0)),
        });
        let mut queued = 0;
        let mut kinds = vec![ADMIN_CREATED];
        if !data.approved {
            kinds.push(ADMIN_IDP_AWAITING);
        }
        for kind in kinds {
            let event = Event {
                context: context.clone(),
                ..Event::new(kind, id.0, scope)
            };
            queued += self.queue_event(tx, now, &audience, event).await?;
        }
        Ok(queued)
    }

    /// Queues, in the creation's transaction, that ACME account `name` was created for
    /// `org`. Told only as rules say.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_acme_account_created(
        &self,
        tx: &mut Tx,
        now: i64,
        id: i64,
        name: &str,
        server: &str,
        key_id: &str,
        org: OrgId,
        creator: &Actor,
    ) -> Result<usize> {
        let audience = self.audience().await?;
        let event = Event {
            context: serde_json::json!({
                "account": name,
                "server": server,
                "key_id": key_id,
                "organization": audience.name_of(org),
                "created_by": creator.login,
                "link": self.portal_url(&format!("/acme/{id}")),
            }),
            ..Event::new(ACME_ACCOUNT_CREATED, id, Some(org))
        };
        self.queue_event(tx, now, &audience, event).await
    }
}

/// What a revocation mail adds to its order's context (SSL and client alike): the reason's
/// name, the details given, and when.
fn revocation_context(now: i64, reason_name: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({
        "reason": reason_name,
        "details": reason,
        "revoked": crate::clock::utc_minute(now),
    })
}
