//! SSL certificate orders (guide section 7): request, approve or decline, issue. Every
//! front door that orders an SSL certificate — the SCM API now; the portal, ACME and
//! enrolment forms later — calls [`Authority::request_certificate`], so each rule is checked
//! once: the caller's role, privilege and scope; the organisation validated and enabled for
//! SSL; the profile and term; the CSR and key; every name delegated, validated and allowed by
//! CAA; and the CSR's subject matching the organisation's registered details.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::issuance::{IssueCommand, KeySource, OrderRows, renew_id};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{
    CertificateId, CertificateStatus, CertificateType, OrgId, OrganizationDetails, Privilege,
    RequestId,
};
use castellan_pki::csr;
use castellan_store::{NewRequest, OrderDetails, OrderFilter, OrderRecord, OrderSummary};

/// An SSL order as the front doors hand it over.
#[derive(Clone, Debug)]
pub struct SslOrder {
    /// The organisation or department.
    pub org_id: OrgId,
    /// Profile name or id.
    pub profile: String,
    /// Term in days.
    pub term_days: u32,
    /// The CSR (PEM, base64 or DER).
    pub csr: Vec<u8>,
    /// Names beyond the CSR's.
    pub subject_alt_names: Vec<String>,
    /// E-mail addresses of people outside Castellan who asked.
    pub external_requester: String,
    /// Comments.
    pub comments: String,
    /// Custom field values (name, value).
    pub custom_fields: Vec<(String, String)>,
}

/// A custom field the customer defined for SSL orders (SCM `customFields`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomField {
    /// SCM id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Whether every order must carry it.
    pub mandatory: bool,
}

/// Checks supplied values against the definitions: known names, each at most once, every
/// mandatory field present and not blank.
pub fn check_custom_fields(defined: &[CustomField], given: &[(String, String)]) -> Result<()> {
    for (i, (name, _)) in given.iter().enumerate() {
        if !defined.iter().any(|d| d.name == *name) {
            return Err(RaError::InvalidInput {
                field: "customFields",
                reason: format!(
                    "'{name}' is not a custom field; the fields are: {}",
                    if defined.is_empty() {
                        "none".to_owned()
                    } else {
                        defined
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            });
        }
        if given[..i].iter().any(|(n, _)| n == name) {
            return Err(RaError::InvalidInput {
                field: "customFields",
                reason: format!("'{name}' is given twice"),
            });
        }
    }
    for field in defined.iter().filter(|d| d.mandatory) {
        if !given
            .iter()
            .any(|(n, v)| *n == field.name && !v.trim().is_empty())
        {
            return Err(RaError::InvalidInput {
                field: "customFields",
                reason: format!("Missing mandatory custom field '{}'", field.name),
            });
        }
    }
    Ok(())
}

/// What an order became.
#[derive(Clone, Debug)]
pub struct OrderOutcome {
    /// The order (SCM `sslId`).
    pub id: RequestId,
    /// SCM `renewId`.
    pub renew_id: String,
    /// Its status now (Requested, or Issued when approved automatically).
    pub status: CertificateStatus,
    /// The certificate, when issued.
    pub certificate_id: Option<CertificateId>,
}

/// Whether an order by `actor` is approved and issued as it is placed: the requester may
/// auto-approve and the profile needs no (second) approval.
fn approves_at_once(actor: &Actor, profile: &castellan_pki::profile::Profile) -> bool {
    actor.has(Privilege::AutoApproveCertificates)
        && !profile.approval_required
        && !profile.second_approval_required
}

/// How an approved SSL order comes to be issued ([`Authority::issue_approved`]).
#[derive(Clone, Copy)]
enum Approved<'a> {
    /// Stored and approved earlier: everything is checked again first.
    Later(RequestId),
    /// Approved at once, checked a moment ago in this request in `context` with
    /// `organization`; `write` stores the order in the transaction of its certificate.
    AtOnce {
        write: &'a crate::issuance::OrderWrite,
        context: &'a crate::domains::NameContext,
        organization: &'a castellan_model::OrganizationDetails,
    },
}

/// Stores a new SSL order, Requested, with its audit record; returns its id.
async fn store_requested(
    tx: &mut castellan_store::Tx,
    actor: &Actor,
    request: &NewRequest,
    details: &OrderDetails,
    description: &str,
) -> Result<RequestId> {
    let id = tx.insert_order(request, details).await?;
    audit::record(
        tx,
        actor,
        request.created_at,
        Change {
            action: "ssl.request",
            object_type: "ssl",
            object_id: id.to_string(),
            org_id: details.org_id,
            description: description.to_owned(),
        },
        None,
        None,
    )
    .await?;
    Ok(id)
}

/// Moves order `id` from Requested to Approved in `tx`, with its audit record (`auto`: by
/// the auto-approval rule). False when the order was not Requested.
async fn approve_in(
    tx: &mut castellan_store::Tx,
    actor: &Actor,
    now: i64,
    id: RequestId,
    org: OrgId,
    auto: bool,
) -> Result<bool> {
    if !tx
        .transition_request(
            id,
            CertificateStatus::Requested,
            CertificateStatus::Approved,
            actor.admin_id,
            now,
            "",
        )
        .await?
    {
        return Ok(false);
    }
    record_approval(tx, actor, now, id, org, auto).await?;
    Ok(true)
}

/// The audit record of order `id`'s approval (`auto`: by the auto-approval rule).
async fn record_approval(
    tx: &mut castellan_store::Tx,
    actor: &Actor,
    now: i64,
    id: RequestId,
    org: OrgId,
    auto: bool,
) -> Result<()> {
    audit::record(
        tx,
        actor,
        now,
        Change {
            action: if auto {
                "ssl.auto-approve"
            } else {
                "ssl.approve"
            },
            object_type: "ssl",
            object_id: id.to_string(),
            org_id: Some(org),
            description: format!("SSL certificate {id} approved"),
        },
        None,
        None,
    )
    .await?;
    Ok(())
}

/// Asks a second administrator with `sslApprove` reaching `org` to approve order `id` (EV).
async fn request_second_approval(
    tx: &mut castellan_store::Tx,
    actor: &Actor,
    now: i64,
    id: RequestId,
    org: OrgId,
    description: &str,
) -> Result<()> {
    crate::approval::request(
        tx,
        actor,
        now,
        crate::approval::ApprovalRequest {
            action: crate::approval::APPROVE_EV_ORDER,
            object_type: "ssl",
            object_id: id.0,
            scope: org,
            area: Some(CertificateType::Ssl),
            privilege: Some(Privilege::SslApprove),
            description: description.to_owned(),
        },
    )
    .await?;
    Ok(())
}

/// Compares the CSR's subject with the organisation's registered details (guide 11.1).
fn check_subject(info: &csr::CsrInfo, org: &OrganizationDetails) -> Result<()> {
    let registered = [
        ("C", "country", Some(org.country.as_str())),
        ("ST", "state or province", org.state.as_deref()),
        ("L", "city", org.locality.as_deref()),
        ("O", "name", Some(org.name.as_str())),
    ];
    for (label, field, ours) in registered {
        if let Some(theirs) = info.subject_value(label) {
            let matches = ours.is_some_and(|o| o.trim().eq_ignore_ascii_case(theirs.trim()));
            if !matches {
                return Err(RaError::InvalidInput {
                    field: "csr",
                    reason: format!(
                        "Anchor Certificate address details are different: the CSR says \
                         {label}={theirs}, but the organization's registered {field} is {}. \
                         Make the CSR's subject match the organization's details (or leave \
                         {label} out of the CSR)",
                        ours.filter(|o| !o.is_empty())
                            .map(|o| format!("'{o}'"))
                            .unwrap_or_else(|| "empty".into())
                    ),
                });
            }
        }
    }
    Ok(())
}

impl Authority {
    /// Orders an SSL certificate. Approved at once (and issued) when the requester holds
    /// `autoApproveCertificates` and the profile allows it; otherwise it waits Requested.
    pub async fn request_certificate(
        &self,
        actor: &Actor,
        order: SslOrder,
    ) -> Result<OrderOutcome> {
        self.request_certificate_in(actor, order, &crate::domains::NameContext::default())
            .await
    }

    /// [`Authority::request_certificate`] with the names checked in a front door's context
    /// (an ACME order's names may be proven by its challenges).
    pub(crate) async fn request_certificate_in(
        &self,
        actor: &Actor,
        order: SslOrder,
        context: &crate::domains::NameContext,
    ) -> Result<OrderOutcome> {
        let profile = self.profile(&order.profile)?.clone();
        if profile.certificate_type != CertificateType::Ssl {
            return Err(RaError::InvalidInput {
                field: "certType",
                reason: format!("'{}' is not an SSL profile", profile.name),
            });
        }
        let tree = OrgTree::load(&self.store).await?;
        if tree.get(order.org_id).is_none() {
            return Err(RaError::NotFound {
                what: "organization or department",
                key: order.org_id.to_string(),
            });
        }
        if !actor.covers(&tree, order.org_id, Some(CertificateType::Ssl)) {
            return Err(RaError::NotAllowed(format!(
                "you cannot order SSL certificates for {}: it is outside your SSL roles",
                tree.describe(order.org_id)
            )));
        }
        actor.require(Privilege::SslRequest, "order SSL certificates")?;
        let organization = self
            .ordering_organization(&tree, order.org_id, &profile)
            .await?;
        check_custom_fields(&self.ssl_custom_fields, &order.custom_fields)?;
        let info = csr::parse(&order.csr)?;
        check_subject(&info, &organization)?;
        let cmd = IssueCommand {
            profile: profile.name.clone(),
            key: KeySource::Csr(order.csr.clone()),
            term_days: order.term_days,
            extra_names: order.subject_alt_names.clone(),
            organization_id: None,
            organization: Some(organization.clone()),
            person: None,
            requested_via: requested_via(actor),
            requester: actor.login.clone(),
        };
        let checked = self.check_request(&profile, &cmd).await?;
        if profile.validation_only {
            // An EV anchor records names; it is never signed, so only its term and key count.
            profile.check_term(order.term_days)?;
            profile.check_key(checked.public_key.key_type)?;
        } else {
            castellan_pki::issue::check_request(&castellan_pki::issue::LeafRequest {
                profile: &profile,
                public_key: &checked.public_key,
                names: &checked.names,
                organization: Some(&organization),
                person: None,
                term_days: order.term_days,
                not_before: self.clock.now(),
            })?;
        }
        let names: Vec<String> = checked.names.all().map(str::to_owned).collect();
        self.check_names_in(order.org_id, CertificateType::Ssl, &names, context)
            .await?;
        if profile.validation_only {
            if let Some(anchor) = self.active_anchor(order.org_id).await? {
                return Err(RaError::Conflict(format!(
                    "the organization already has an active EV anchor (sslId {}); replace it to \
                     change its domains",
                    anchor.request.id
                )));
            }
        } else if profile.second_approval_required {
            self.check_ev(order.org_id, &organization, &names).await?;
        }

        let now = self.now();
        let renew = renew_id(
            self.rng.as_ref(),
            self.clock.now().unix_timestamp_nanos() / 1_000_000,
        )?;
        let request = NewRequest {
            renew_id: renew.clone(),
            profile_id: profile.id,
            status: CertificateStatus::Requested,
            requested_via: cmd.requested_via.clone(),
            requester: actor.login.clone(),
            term_days: i64::from(order.term_days),
            common_name: checked.names.common_name.clone(),
            requested_names: names.clone(),
            csr_der: checked.csr_der.clone(),
            key_generated: false,
            created_at: now,
        };
        let details = OrderDetails {
            org_id: Some(order.org_id),
            requester_admin_id: actor.admin_id,
            external_requester: order.external_requester.trim().to_owned(),
            comments: order.comments.trim().to_owned(),
            custom_fields: if order.custom_fields.is_empty() {
                String::new()
            } else {
                serde_json::Value::Array(
                    order
                        .custom_fields
                        .iter()
                        .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
                        .collect(),
                )
                .to_string()
            },
            ..OrderDetails::default()
        };
        let description = format!(
            "SSL certificate requested ({}, {} days) for {}",
            profile.name,
            order.term_days,
            names.join(", ")
        );
        if approves_at_once(actor, &profile) && !profile.validation_only {
            return self
                .order_approved_at_once(
                    actor,
                    order.org_id,
                    request,
                    details,
                    description,
                    (context, &organization),
                )
                .await;
        }
        let mut tx = self.store.begin().await?;
        let id = store_requested(&mut tx, actor, &request, &details, &description).await?;
        if profile.second_approval_required {
            request_second_approval(
                &mut tx,
                actor,
                now,
                id,
                order.org_id,
                &format!(
                    "{} order {id} awaits a second administrator's approval",
                    profile.name
                ),
            )
            .await?;
        }
        if !approves_at_once(actor, &profile) {
            // It waits: its approvers are told, in the transaction that stores it.
            self.queue_awaiting_approval(
                &mut tx,
                now,
                id,
                order.org_id,
                actor,
                &profile,
                checked.names.common_name.as_deref().unwrap_or_default(),
                &names,
            )
            .await?;
        }
        tx.commit().await?;
        if approves_at_once(actor, &profile) {
            let certificate_id = self.approve_and_issue(actor, id, true).await?;
            return Ok(OrderOutcome {
                id,
                renew_id: renew,
                status: CertificateStatus::Issued,
                certificate_id,
            });
        }
        Ok(OrderOutcome {
            id,
            renew_id: renew,
            status: CertificateStatus::Requested,
            certificate_id: None,
        })
    }

    /// An order the actor may see.
    pub async fn order(&self, actor: &Actor, id: RequestId) -> Result<OrderRecord> {
        self.order_of(actor, id, &SSL).await
    }

    /// An order of kind `kind` the actor may see: an order of another certificate type is
    /// not found, one outside the actor's roles for the type is refused.
    pub(crate) async fn order_of(
        &self,
        actor: &Actor,
        id: RequestId,
        kind: &OrderKind,
    ) -> Result<OrderRecord> {
        let order = self
            .store
            .order(id)
            .await?
            .filter(|o| self.profile_is(o.request.request.profile_id, kind.cert_type))
            .ok_or(RaError::NotFound {
                what: kind.noun,
                key: id.to_string(),
            })?;
        let tree = OrgTree::load(&self.store).await?;
        let visible = actor.is_mrao()
            || order
                .details
                .org_id
                .is_some_and(|org| actor.covers(&tree, org, Some(kind.cert_type)));
        if !visible {
            return Err(RaError::NotAllowed(format!(
                "{} {id} is outside your organizations and departments",
                kind.noun
            )));
        }
        Ok(order)
    }

    /// Approves a Requested order and issues its certificate (`sslApprove`, in scope).
    /// Two approvers racing issue one certificate: only one moves it out of Requested.
    /// Returns the certificate issued, or `None` for an EV anchor, which records names and
    /// is never signed. EV orders and anchors need a second administrator: the approval is
    /// decided through `ra::approval` (never by the requester) before the order moves on.
    pub async fn approve_request(
        &self,
        actor: &Actor,
        id: RequestId,
    ) -> Result<Option<CertificateId>> {
        self.approve_and_issue(actor, id, false).await
    }

    /// Approves a stored order (`auto`: by the auto-approval rule) and issues it, checking
    /// its names again in the context found from the order (see
    /// [`Authority::name_context_of`]).
    async fn approve_and_issue(
        &self,
        actor: &Actor,
        id: RequestId,
        auto: bool,
    ) -> Result<Option<CertificateId>> {
        let order = self.order(actor, id).await?;
        if !auto {
            actor.require(Privilege::SslApprove, "approve SSL certificates")?;
        }
        let org_id = order_org(&order, "approved")?;
        let profile = self.order_profile(&order.request.request)?;
        if profile.second_approval_required {
            if order.request.request.status != CertificateStatus::Requested {
                return Err(self.not_requested(id, "approved").await);
            }
            let pending = self
                .store
                .pending_approvals()
                .await?
                .into_iter()
                .find(|a| {
                    a.approval.action == crate::approval::APPROVE_EV_ORDER
                        && a.approval.object_id == id.0
                })
                .ok_or_else(|| {
                    RaError::Conflict(format!(
                        "SSL certificate {id} has no pending second approval"
                    ))
                })?;
            self.decide_approval(actor, pending.id, true, "").await?;
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !approve_in(&mut tx, actor, now, id, org_id, auto).await? {
            return Err(self.not_requested(id, "approved").await);
        }
        if profile.validation_only {
            // An EV anchor is a record of names, complete once approved.
            tx.transition_request(
                id,
                CertificateStatus::Approved,
                CertificateStatus::Issued,
                actor.admin_id,
                now,
                "",
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
        tx.commit().await?;
        let issued = self
            .issue_approved_later(id, org_id, &order.request.request)
            .await;
        match issued {
            Ok(certificate) => Ok(Some(certificate)),
            Err(e) if e.is_refusal() => {
                self.mark_invalid(id, actor, &e).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Marks approved order `id` Invalid with the refusal that stopped its issuance, as SCM
    /// does (guide 11.1), and tells its requesters why, in the same transaction.
    async fn mark_invalid(&self, id: RequestId, actor: &Actor, refusal: &RaError) -> Result<()> {
        let order = self.store.order(id).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.transition_request(
            id,
            CertificateStatus::Approved,
            CertificateStatus::Invalid,
            actor.admin_id,
            now,
            &refusal.to_string(),
        )
        .await?;
        if let Some(order) = &order {
            self.queue_issuance_failed(&mut tx, now, order, &refusal.to_string())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issues the certificate of an approved order.
    async fn issue_approved(
        &self,
        approved: Approved<'_>,
        org_id: OrgId,
        request: &NewRequest,
    ) -> Result<(RequestId, CertificateId)> {
        let profile = self.order_profile(request)?;
        // An order approved at once was checked by its caller a moment ago, in this request.
        // One approved later is checked again in full, in the context of the front door it
        // came by: the organisation, the domain, its DCV and CAA, and the key may have
        // changed since.
        let (organization, order) = match approved {
            Approved::AtOnce {
                write,
                context,
                organization,
            } => (
                organization.clone(),
                OrderRows::AtOnce {
                    write,
                    acme_order: context.acme.as_ref().and_then(|a| a.order_id),
                },
            ),
            Approved::Later(id) => {
                let organization = self
                    .issuing_organization(org_id, CertificateType::Ssl)
                    .await?;
                let context = self.name_context_of(id).await?;
                self.check_names_in(
                    org_id,
                    CertificateType::Ssl,
                    &request.requested_names,
                    &context,
                )
                .await?;
                (organization, OrderRows::Stored(id))
            }
        };
        let csr_der = request.csr_der.clone().unwrap_or_default();
        let cmd = IssueCommand {
            profile: profile.name.clone(),
            key: KeySource::Csr(csr_der.clone()),
            term_days: u32::try_from(request.term_days).unwrap_or(0),
            extra_names: Vec::new(),
            organization_id: None,
            organization: Some(organization),
            person: None,
            requested_via: request.requested_via.clone(),
            requester: request.requester.clone(),
        };
        // The names were settled (profile rules applied) when the order was taken; the key
        // is read again from the stored CSR.
        let info = csr::parse(&csr_der)?;
        if let Approved::Later(_) = approved {
            // Approved orders wait; their key may have been reported compromised since.
            self.refuse_blocked_key(&info.public_key).await?;
        }
        let checked = crate::issuance::CheckedRequest {
            public_key: info.public_key,
            names: castellan_pki::names::CertificateNames {
                common_name: request.common_name.clone(),
                dns_names: request.requested_names.clone(),
                emails: Vec::new(),
                ip_addresses: Vec::new(),
            },
            csr_der: Some(csr_der),
            private_key: None,
        };
        let issued = self
            .sign_and_store(&profile, &cmd, checked, Some(order))
            .await?;
        Ok((issued.request_id, issued.id))
    }

    /// Issues order `id`, stored and approved earlier: checked again in full first.
    async fn issue_approved_later(
        &self,
        id: RequestId,
        org_id: OrgId,
        request: &NewRequest,
    ) -> Result<CertificateId> {
        self.issue_approved(Approved::Later(id), org_id, request)
            .await
            .map(|(_, certificate)| certificate)
    }

    /// An order approved at once (the requester may auto-approve and the profile asks for no
    /// approval): checked by the caller a moment ago, then stored, approved and issued in one
    /// transaction (one commit). Refused at signing, it is stored and marked Invalid with
    /// the reason, as an order approved later would be.
    async fn order_approved_at_once(
        &self,
        actor: &Actor,
        org: OrgId,
        request: NewRequest,
        details: OrderDetails,
        description: String,
        (context, organization): (
            &crate::domains::NameContext,
            &castellan_model::OrganizationDetails,
        ),
    ) -> Result<OrderOutcome> {
        let write = order_write({
            let (actor, request) = (actor.clone(), request.clone());
            move |tx| {
                let (actor, request, details, description) = (
                    actor.clone(),
                    request.clone(),
                    details.clone(),
                    description.clone(),
                );
                Box::pin(async move {
                    // Stored Approved (one statement, not an insert and a transition), with
                    // both audit records, as if requested and then approved.
                    let now = request.created_at;
                    let approved = NewRequest {
                        status: CertificateStatus::Approved,
                        ..request
                    };
                    let decided = OrderDetails {
                        decided_by: actor.admin_id,
                        decided_at: Some(now),
                        ..details
                    };
                    let id = store_requested(tx, &actor, &approved, &decided, &description).await?;
                    record_approval(tx, &actor, now, id, org, true).await?;
                    Ok(id)
                })
            }
        });
        match self
            .issue_approved(
                Approved::AtOnce {
                    write: &write,
                    context,
                    organization,
                },
                org,
                &request,
            )
            .await
        {
            Ok((id, certificate_id)) => Ok(OrderOutcome {
                id,
                renew_id: request.renew_id,
                status: CertificateStatus::Issued,
                certificate_id: Some(certificate_id),
            }),
            Err(e) if e.is_refusal() => {
                let mut tx = self.store.begin().await?;
                let id = write(&mut tx).await?;
                tx.commit().await?;
                self.mark_invalid(id, actor, &e).await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The refusal for an order that is no longer Requested, with its status now.
    async fn not_requested(&self, id: RequestId, verb: &str) -> RaError {
        let status = match self.store.request_by_id(id).await {
            Ok(Some(r)) => r.request.status.to_string(),
            _ => "gone".into(),
        };
        RaError::Conflict(format!(
            "SSL certificate {id} is {status}, not Requested; only requested certificates can \
             be {verb}"
        ))
    }

    /// Declines a Requested order with a message for the requester.
    pub async fn decline_request(&self, actor: &Actor, id: RequestId, message: &str) -> Result<()> {
        let order = self.order(actor, id).await?;
        actor.require(Privilege::SslApprove, "decline SSL certificates")?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .transition_request(
                id,
                CertificateStatus::Requested,
                CertificateStatus::Declined,
                actor.admin_id,
                now,
                message.trim(),
            )
            .await?
        {
            return Err(self.not_requested(id, "declined").await);
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "ssl.decline",
                object_type: "ssl",
                object_id: id.to_string(),
                org_id: order.details.org_id,
                description: format!("SSL certificate {id} declined: {}", message.trim()),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The kind of order a front door deals in: its certificate type and the words its
/// refusals and audit records use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderKind {
    /// The certificate type (and role area).
    pub(crate) cert_type: CertificateType,
    /// "SSL certificate", "client certificate".
    pub(crate) noun: &'static str,
    /// The same, capitalised for the start of a sentence.
    pub(crate) noun_cap: &'static str,
    /// The audit object type: `ssl`, `smime`.
    pub(crate) object_type: &'static str,
    /// The audit action of a revocation.
    pub(crate) revoke_action: &'static str,
}

/// SSL orders.
pub(crate) const SSL: OrderKind = OrderKind {
    cert_type: CertificateType::Ssl,
    noun: "SSL certificate",
    noun_cap: "SSL certificate",
    object_type: "ssl",
    revoke_action: "ssl.revoke",
};

/// Client (S/MIME) certificate orders.
pub(crate) const CLIENT: OrderKind = OrderKind {
    cert_type: CertificateType::Smime,
    noun: "client certificate",
    noun_cap: "Client certificate",
    object_type: "smime",
    revoke_action: "smime.revoke",
};

pub(crate) fn requested_via(actor: &Actor) -> String {
    actor.access_method.as_str().to_owned()
}

/// The revocation reasons a revoke accepts (RFC 5280 codes, the subset the Mozilla Root
/// Store Policy allows for subscriber certificates): unspecified, keyCompromise,
/// affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn.
pub const REVOCATION_REASONS: [(i64, &str); 6] = [
    (0, "unspecified"),
    (1, "keyCompromise"),
    (3, "affiliationChanged"),
    (4, "superseded"),
    (5, "cessationOfOperation"),
    (9, "privilegeWithdrawn"),
];

/// keyCompromise: the key is blocked, and (by default) its other certificates revoked.
pub const KEY_COMPROMISE: i64 = 1;

impl Authority {
    /// Revokes the certificate of an order (`sslRevoke`, in scope) with a reason code, the
    /// requester's words and, optionally, when the key was compromised (`invalidity_date`).
    /// A keyCompromise revocation blocks the key for every later request and, unless
    /// configured otherwise, revokes the other Issued certificates with the same key.
    /// The OCSP answers are signed again before this returns; the CRL follows within the
    /// configured delay.
    pub async fn revoke_order(
        &self,
        actor: &Actor,
        id: RequestId,
        reason_code: i64,
        reason: &str,
        invalidity_date: Option<i64>,
    ) -> Result<()> {
        let order = self.order(actor, id).await?;
        actor.require(Privilege::SslRevoke, "revoke SSL certificates")?;
        self.revoke_found(actor, &order, &SSL, reason_code, reason, invalidity_date)
            .await
    }

    /// Revokes the certificate of `order`, found and allowed by the caller, as
    /// [`Authority::revoke_order`] describes.
    pub(crate) async fn revoke_found(
        &self,
        actor: &Actor,
        order: &OrderRecord,
        kind: &OrderKind,
        reason_code: i64,
        reason: &str,
        invalidity_date: Option<i64>,
    ) -> Result<()> {
        let id = order.request.id;
        let Some((_, reason_name)) = REVOCATION_REASONS.iter().find(|(c, _)| *c == reason_code)
        else {
            return Err(RaError::InvalidInput {
                field: "reasonCode",
                reason: format!(
                    "{reason_code} is not accepted; use {}",
                    REVOCATION_REASONS
                        .iter()
                        .map(|(c, n)| format!("{c} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 512 {
            return Err(RaError::InvalidInput {
                field: "reason",
                reason: "say why, in 1 to 512 characters".into(),
            });
        }
        let Some(certificate) = order.details.certificate_id else {
            return Err(RaError::Conflict(
                "Only issued certificates could be revoked".into(),
            ));
        };
        let now = self.now();
        if invalidity_date.is_some_and(|at| at > now) {
            return Err(RaError::InvalidInput {
                field: "invalidityDate",
                reason: "the key cannot have been compromised in the future; give the time it \
                         was (or is suspected to have been) compromised, or leave it out"
                    .into(),
            });
        }
        let mut tx = self.store.begin().await?;
        if !tx
            .revoke_certificate(
                certificate,
                now,
                reason_code,
                reason,
                actor.admin_id,
                invalidity_date,
            )
            .await?
        {
            let status = order.request.request.status;
            return Err(RaError::Conflict(if status == CertificateStatus::Revoked {
                "Your certificate already revoked".into()
            } else {
                "Only issued certificates could be revoked".into()
            }));
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: kind.revoke_action,
                object_type: kind.object_type,
                object_id: id.to_string(),
                org_id: order.details.org_id,
                description: format!("{} {id} revoked ({reason_name}): {reason}", kind.noun_cap),
            },
            None,
            None,
        )
        .await?;
        if kind.cert_type == CertificateType::Ssl {
            self.queue_revoked_notice(&mut tx, now, order, reason_name, reason)
                .await?;
        } else {
            self.queue_client_revoked(&mut tx, now, order, reason_name, reason)
                .await?;
        }
        let mut revoked = vec![certificate];
        if reason_code == KEY_COMPROMISE {
            revoked.extend(
                self.block_compromised_key(&mut tx, actor, certificate, now, invalidity_date)
                    .await?,
            );
        }
        tx.commit().await?;
        if let Err(e) = self.resign_revoked(&revoked).await {
            // The pre-signing job signs them again within its period.
            tracing::warn!(error = %e, "signing OCSP answers after a revocation failed");
        }
        Ok(())
    }

    /// Blocks the key of `certificate` and, when configured, revokes the other Issued
    /// certificates with it (returned).
    async fn block_compromised_key(
        &self,
        tx: &mut castellan_store::Tx,
        actor: &Actor,
        certificate: CertificateId,
        now: i64,
        invalidity_date: Option<i64>,
    ) -> Result<Vec<CertificateId>> {
        let record = self
            .store
            .certificate_by_id(certificate)
            .await?
            .ok_or_else(|| RaError::Internal(format!("certificate {certificate} vanished")))?;
        let spki = record.certificate.spki_sha256.clone();
        tx.block_key(&spki, certificate, now).await?;
        let mut others = Vec::new();
        if !self.revocation.settings.revoke_same_key_on_compromise {
            return Ok(others);
        }
        let text = format!(
            "key compromise reported on certificate {}",
            record.certificate.serial
        );
        for other in tx.issued_with_key(&spki).await? {
            if tx
                .revoke_certificate(
                    other,
                    now,
                    KEY_COMPROMISE,
                    &text,
                    actor.admin_id,
                    invalidity_date,
                )
                .await?
            {
                audit::record(
                    tx,
                    actor,
                    now,
                    Change {
                        action: "ssl.revoke",
                        object_type: "certificate",
                        object_id: other.to_string(),
                        org_id: None,
                        description: format!("certificate {other} revoked (keyCompromise): {text}"),
                    },
                    None,
                    None,
                )
                .await?;
                others.push(other);
            }
        }
        Ok(others)
    }
}

impl Authority {
    /// A page of the SSL orders the actor may see (all for the operator; otherwise those of
    /// the organisations and departments their SSL roles reach), and how many match.
    pub async fn orders(
        &self,
        actor: &Actor,
        filter: OrderFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OrderSummary>, i64)> {
        self.orders_of(actor, filter, CertificateType::Ssl, offset, limit)
            .await
    }

    /// A page of the orders of certificate type `area` the actor may see: SSL and client
    /// certificate orders share a table, and each front door lists its own.
    pub(crate) async fn orders_of(
        &self,
        actor: &Actor,
        mut filter: OrderFilter,
        area: CertificateType,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OrderSummary>, i64)> {
        filter.scope = self.order_scope(actor, area).await?;
        let of_area = self.profile_ids_of(area);
        filter.profile_ids = Some(match filter.profile_ids.take() {
            Some(asked) => asked.into_iter().filter(|p| of_area.contains(p)).collect(),
            None => of_area,
        });
        Ok(self.store.order_page(&filter, offset, limit).await?)
    }

    /// The ids of the profiles of certificate type `area`.
    pub(crate) fn profile_ids_of(&self, area: CertificateType) -> Vec<castellan_model::ProfileId> {
        self.profiles
            .iter()
            .filter(|p| p.certificate_type == area)
            .map(|p| p.id)
            .collect()
    }

    /// Whether `profile` is an SSL profile (an order of another type is not an "SSL
    /// certificate" to the SSL front doors, the expiry warnings or the ready notices).
    pub(crate) fn is_ssl_profile(&self, profile: castellan_model::ProfileId) -> bool {
        self.profile_is(profile, CertificateType::Ssl)
    }

    /// Whether `profile` is of certificate type `area`.
    pub(crate) fn profile_is(
        &self,
        profile: castellan_model::ProfileId,
        area: CertificateType,
    ) -> bool {
        self.profiles
            .by_id(profile)
            .is_some_and(|p| p.certificate_type == area)
    }

    /// The organisations and departments whose orders of type `area` the actor may see
    /// (`None`: all of them, for the MRAO).
    pub(crate) async fn order_scope(
        &self,
        actor: &Actor,
        area: CertificateType,
    ) -> Result<Option<Vec<OrgId>>> {
        if actor.is_mrao() {
            return Ok(None);
        }
        let tree = OrgTree::load(&self.store).await?;
        let mut scope: Vec<OrgId> = tree
            .ids()
            .filter(|id| actor.covers(&tree, *id, Some(area)))
            .collect();
        scope.sort();
        Ok(Some(scope))
    }
}

impl Authority {
    /// Renews an order: a new order (new `sslId`) for the same organisation, profile, term
    /// and names, with the stored CSR unless a new one is given. It goes through every check
    /// of [`Authority::request_certificate`] again, and the same approval rules.
    pub async fn renew_order(
        &self,
        actor: &Actor,
        id: RequestId,
        new_csr: Option<Vec<u8>>,
    ) -> Result<OrderOutcome> {
        let order = self.order(actor, id).await?;
        actor.require(Privilege::SslRenew, "renew SSL certificates")?;
        let request = &order.request.request;
        let org_id = order_org(&order, "renewed")?;
        let profile = self.order_profile(request)?;
        let csr = match new_csr {
            Some(csr) => csr,
            None => request.csr_der.clone().ok_or_else(|| {
                RaError::Conflict(format!(
                    "SSL certificate {id} has no stored CSR; renew it with a new CSR"
                ))
            })?,
        };
        let info = csr::parse(&csr)?;
        // The profile adds its own names (OV SSL's www.) again; only the others are carried.
        let extra: Vec<String> = if profile.names.add_www {
            Vec::new()
        } else {
            request
                .requested_names
                .iter()
                .filter(|n| {
                    info.common_name.as_deref() != Some(n.as_str()) && !info.dns_names.contains(n)
                })
                .cloned()
                .collect()
        };
        let outcome = self
            .request_certificate(
                actor,
                SslOrder {
                    org_id,
                    profile: profile.name.clone(),
                    term_days: u32::try_from(request.term_days).unwrap_or(0),
                    csr,
                    subject_alt_names: extra,
                    external_requester: order.details.external_requester.clone(),
                    comments: format!("Renewal of SSL certificate {id}"),
                    custom_fields: serde_json::from_str::<Vec<serde_json::Value>>(
                        &order.details.custom_fields,
                    )
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|f| {
                        Some((
                            f["name"].as_str()?.to_owned(),
                            f["value"].as_str()?.to_owned(),
                        ))
                    })
                    .collect(),
                },
            )
            .await?;
        let mut tx = self.store.begin().await?;
        tx.mark_renewed(id, outcome.id).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

impl Authority {
    /// The order a `renewId` names (SCM `/renew/{renewId}`).
    pub async fn order_by_renew_id(&self, actor: &Actor, renew_id: &str) -> Result<OrderRecord> {
        let id = self
            .store
            .request_id_by_renew_id(renew_id)
            .await?
            .ok_or_else(|| RaError::NotFound {
                what: "SSL certificate",
                key: format!("with renewId {renew_id}"),
            })?;
        self.order(actor, id).await
    }

    /// The order whose certificate has `serial` (hex, colons allowed).
    pub async fn order_by_serial(&self, actor: &Actor, serial: &str) -> Result<OrderRecord> {
        let record = self
            .certificate(&crate::CertificateSelector::Serial(serial.to_owned()))
            .await
            .map_err(|e| match e {
                RaError::NotFound { key, .. } => RaError::NotFound {
                    what: "SSL certificate",
                    key,
                },
                other => other,
            })?;
        let id = record
            .certificate
            .request_id
            .ok_or_else(|| RaError::NotFound {
                what: "SSL certificate",
                key: format!("with serial {serial}"),
            })?;
        self.order(actor, id).await
    }
}

impl Authority {
    /// Replaces the certificate of an Issued order with one for a new CSR (and names): the
    /// same order (`sslId`) goes back to Requested through every check again; when the new
    /// certificate is issued the old one becomes Replaced. `sslReplace`, in scope.
    pub async fn replace_order(
        &self,
        actor: &Actor,
        id: RequestId,
        csr_input: Vec<u8>,
        subject_alt_names: Vec<String>,
        reason: &str,
    ) -> Result<CertificateStatus> {
        let order = self.order(actor, id).await?;
        actor.require(Privilege::SslReplace, "replace SSL certificates")?;
        if reason.chars().count() > 512 {
            return Err(RaError::InvalidInput {
                field: "reason",
                reason: "at most 512 characters".into(),
            });
        }
        let org_id = order_org(&order, "replaced")?;
        let request = &order.request.request;
        let profile = self.order_profile(request)?;
        let organization = self
            .issuing_organization(org_id, CertificateType::Ssl)
            .await?;
        let info = csr::parse(&csr_input)?;
        check_subject(&info, &organization)?;
        let cmd = IssueCommand {
            profile: profile.name.clone(),
            key: KeySource::Csr(csr_input.clone()),
            term_days: u32::try_from(request.term_days).unwrap_or(0),
            extra_names: subject_alt_names,
            organization_id: None,
            organization: Some(organization),
            person: None,
            requested_via: requested_via(actor),
            requester: actor.login.clone(),
        };
        let checked = self.check_request(&profile, &cmd).await?;
        let names: Vec<String> = checked.names.all().map(str::to_owned).collect();
        self.check_names(org_id, CertificateType::Ssl, &names)
            .await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .reopen_for_replacement(
                id,
                checked.csr_der.as_deref().unwrap_or_default(),
                checked.names.common_name.as_deref(),
                &names,
                now,
            )
            .await?
        {
            return Err(RaError::Conflict(format!(
                "SSL certificate {id} is {}, not Issued; only issued certificates can be replaced",
                request.status
            )));
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "ssl.replace",
                object_type: "ssl",
                object_id: id.to_string(),
                org_id: Some(org_id),
                description: format!(
                    "SSL certificate {id} to be replaced ({}): {}",
                    names.join(", "),
                    reason.trim()
                ),
            },
            None,
            None,
        )
        .await?;
        if profile.second_approval_required {
            request_second_approval(
                &mut tx,
                actor,
                now,
                id,
                org_id,
                &format!(
                    "replacement of {} order {id} awaits a second administrator's approval",
                    profile.name
                ),
            )
            .await?;
        }
        tx.commit().await?;
        if approves_at_once(actor, &profile) {
            self.approve_and_issue(actor, id, true).await?;
            return Ok(CertificateStatus::Issued);
        }
        Ok(CertificateStatus::Requested)
    }
}

impl Authority {
    /// Sets an order's auto-renewal (guide 7.3): renew `days` before its certificate expires,
    /// or never (`None`). `sslRenew`, in scope.
    pub async fn set_auto_renew(
        &self,
        actor: &Actor,
        id: RequestId,
        days: Option<u32>,
    ) -> Result<()> {
        let order = self.order(actor, id).await?;
        actor.require(Privilege::SslRenew, "schedule automatic renewals")?;
        if let Some(d) = days
            && !(1..=180).contains(&d)
        {
            return Err(RaError::InvalidInput {
                field: "daysBeforeExpiration",
                reason: format!("{d} is not between 1 and 180 days"),
            });
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.set_auto_renew(id, days.map(i64::from), now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "ssl.auto-renew",
                object_type: "ssl",
                object_id: id.to_string(),
                org_id: order.details.org_id,
                description: match days {
                    Some(d) => {
                        format!("SSL certificate {id} renews automatically {d} days before expiry")
                    }
                    None => format!("SSL certificate {id} no longer renews automatically"),
                },
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The auto-renewal job: renews every order whose window has come, as the service, and
    /// tells the requester where to collect the new certificate (through the outbox).
    /// Returns the new orders.
    pub async fn auto_renew(&self) -> Result<Vec<RequestId>> {
        let job = Actor::system(castellan_model::AccessMethod::Job);
        let mut renewed = Vec::new();
        for id in self.store.due_auto_renewals(self.now()).await? {
            match self.renew_order(&job, id, None).await {
                Ok(outcome) => {
                    self.tell_renewed(id, &outcome).await?;
                    renewed.push(outcome.id);
                }
                Err(e) => tracing::warn!(order = id.0, error = %e, "automatic renewal failed"),
            }
        }
        Ok(renewed)
    }

    /// Tells the requesters of `old` that auto-renewal ordered its successor, and where
    /// to collect it.
    async fn tell_renewed(&self, old: RequestId, outcome: &OrderOutcome) -> Result<()> {
        let Some(order) = self.store.order(old).await? else {
            return Ok(());
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        self.queue_auto_renewed(
            &mut tx,
            now,
            &order,
            outcome.id,
            &outcome.status.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// How long an order may stay Approved without a certificate before the job issues it.
pub const STALLED_APPROVAL_SECONDS: i64 = 300;

impl Authority {
    /// The recovery job: issues the orders left Approved without a certificate (the process
    /// stopped between approval and signing), so an approval is never lost. Returns the
    /// certificates issued.
    pub async fn resume_approved(&self) -> Result<Vec<CertificateId>> {
        let job = Actor::system(castellan_model::AccessMethod::Job);
        let mut issued = Vec::new();
        for id in self
            .store
            .stalled_approvals(self.now() - STALLED_APPROVAL_SECONDS)
            .await?
        {
            let Some(order) = self.store.order(id).await? else {
                continue;
            };
            if self.profile_is(order.request.request.profile_id, CertificateType::Smime) {
                if let Err(e) = self.resume_client_order(&order).await {
                    tracing::warn!(order = id.0, error = %e, "resuming a client certificate failed");
                }
                continue;
            }
            let Some(org_id) = order.details.org_id else {
                continue;
            };
            match self
                .issue_approved_later(id, org_id, &order.request.request)
                .await
            {
                Ok(certificate) => issued.push(certificate),
                Err(e) if e.is_refusal() => self.mark_invalid(id, &job, &e).await?,
                Err(e) => tracing::warn!(order = id.0, error = %e, "resuming an approval failed"),
            }
        }
        Ok(issued)
    }
}

impl Authority {
    /// The organisation's active EV anchor (the anchor of a department's organisation counts
    /// for the department), if any.
    pub async fn active_anchor(&self, org: OrgId) -> Result<Option<OrderRecord>> {
        let Some(anchor_profile) = self.profiles.iter().find(|p| p.validation_only) else {
            return Ok(None);
        };
        let tree = OrgTree::load(&self.store).await?;
        for candidate in [org, tree.organization_of(org)] {
            let filter = OrderFilter {
                org_id: Some(candidate),
                profile_id: Some(anchor_profile.id),
                status: Some(CertificateStatus::Issued),
                ..OrderFilter::default()
            };
            let (rows, _) = self.store.order_page(&filter, 0, 1).await?;
            if let Some(row) = rows.first() {
                return Ok(self.store.order(row.id).await?);
            }
        }
        Ok(None)
    }

    /// EV needs the organisation's EV details and an active anchor covering every name.
    async fn check_ev(
        &self,
        org: OrgId,
        organization: &OrganizationDetails,
        names: &[String],
    ) -> Result<()> {
        if organization.ev.is_none() {
            return Err(RaError::NotAllowed(
                "EV certificates need the organization's EV details (business category, \
                 jurisdiction, registration number), which the operator (MRAO) enters"
                    .into(),
            ));
        }
        let Some(anchor) = self.active_anchor(org).await? else {
            return Err(RaError::NotAllowed(
                "EV certificates need an issued EV anchor covering their domains; order an \
                 'EV Anchor (Validation Only)' for the organization first"
                    .into(),
            ));
        };
        let covered = &anchor.request.request.requested_names;
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| {
                !covered
                    .iter()
                    .any(|a| a == *n || crate::coverage::covers_normalized(a, n))
            })
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(RaError::NotAllowed(format!(
                "not covered by the organization's EV anchor (sslId {}): {}; replace the anchor \
                 to add them",
                anchor.request.id,
                missing.join(", ")
            )))
        }
    }
}

impl Authority {
    /// The custom fields defined for SSL orders.
    pub fn ssl_custom_fields(&self) -> &[CustomField] {
        &self.ssl_custom_fields
    }

    /// Defines the custom fields SSL orders carry (from the configuration).
    pub fn with_ssl_custom_fields(mut self, fields: Vec<CustomField>) -> Authority {
        self.ssl_custom_fields = fields;
        self
    }
}

impl Authority {
    /// The expiry job: certificates past their notAfter, and their orders, become Expired.
    pub async fn expire_certificates(&self) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let expired = tx.expire_certificates(self.now()).await?;
        tx.commit().await?;
        if expired > 0 {
            tracing::info!(expired, "certificates expired");
        }
        Ok(expired)
    }
}

impl Authority {
    /// Refuses a profile the organisation (of a department: its organisation) may not use.
    pub(crate) async fn check_profile_enabled(
        &self,
        org: OrgId,
        profile: &castellan_pki::profile::Profile,
    ) -> Result<()> {
        let tree = OrgTree::load(&self.store).await?;
        let Some(record) = self.store.organization(tree.organization_of(org)).await? else {
            return Ok(());
        };
        self.refuse_disabled_profile(&record, profile)
    }

    /// Refuses a profile organisation `record` may not use.
    pub(crate) fn refuse_disabled_profile(
        &self,
        record: &castellan_store::OrganizationRecord,
        profile: &castellan_pki::profile::Profile,
    ) -> Result<()> {
        let enabled = &record.data.enabled_profiles;
        if enabled.is_empty() || enabled.contains(&profile.id.0) {
            return Ok(());
        }
        let names: Vec<String> = enabled
            .iter()
            .filter_map(|id| self.profiles.iter().find(|p| p.id.0 == *id))
            .map(|p| format!("'{}'", p.name))
            .collect();
        Err(RaError::NotAllowed(format!(
            "profile '{}' is not enabled for organization '{}'; its profiles are {}; the \
             operator (MRAO) can enable more",
            profile.name,
            record.data.name,
            names.join(", ")
        )))
    }
}

impl Authority {
    /// The profile an order was taken under; refused when its file was removed since.
    pub(crate) fn order_profile(
        &self,
        request: &NewRequest,
    ) -> Result<castellan_pki::profile::Profile> {
        self.profiles
            .find(&request.profile_id.0.to_string())
            .cloned()
            .ok_or_else(|| {
                RaError::Conflict(format!(
                    "the certificate profile {} of this order no longer exists; put its file \
                     back in the profiles folder and restart Castellan",
                    request.profile_id
                ))
            })
    }
}

/// The organisation or department an order was taken for. Orders from the operator's
/// command line have none, so they are approved, renewed and replaced only by ordering anew.
fn order_org(order: &OrderRecord, verb: &str) -> Result<OrgId> {
    order.details.org_id.ok_or_else(|| {
        RaError::Conflict(format!(
            "SSL certificate {} was issued by the operator's command line, not ordered for an \
             organization, so it cannot be {verb} here; order a new certificate for the \
             organization instead",
            order.request.id
        ))
    })
}

/// Gives an [`OrderWrite`](crate::issuance::OrderWrite) closure its higher-ranked type.
fn order_write<F>(write: F) -> F
where
    F: for<'t> Fn(
            &'t mut castellan_store::Tx,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<RequestId>> + Send + 't>,
        > + Send
        + Sync,
{
    write
}
