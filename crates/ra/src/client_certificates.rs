//! Client (S/MIME) certificates (guide section 8): issued to a person of an organisation
//! or department, with the person's e-mail address as the certificate's mailbox. Every
//! front door that issues one — the SCM `/smime` API, the portal, invitations — calls
//! [`Authority::enroll_client_certificate`], so each rule is checked once: the caller's
//! S/MIME role, privilege and scope; the organisation validated and enabled for client
//! certificates; the profile, term and key; the person; and every mailbox's domain
//! delegated to the organisation for S/MIME and validated.
//!
//! An administrator's request is issued at once, as in SCM: there is no approval step for
//! client certificates issued by an administrator (guide 8.2.1).

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::issuance::{IssueCommand, IssuedCertificate, KeySource, OrderRows, renew_id};
use crate::orders::CLIENT;
use crate::persons::PersonSpec;
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{
    CertificateStatus, CertificateType, KeyType, OrgId, PersonDetails, PersonId, Privilege,
    RequestId,
};
use castellan_pki::profile::Profile;
use castellan_store::{NewRequest, OrderDetails, OrderFilter, OrderRecord, OrderSummary};
use castellan_store::{PersonData, PersonRecord};

/// Where a client certificate's key comes from.
#[derive(Clone, Debug)]
pub enum ClientKey {
    /// The person's own PKCS#10 request (PEM, base64 or DER): Castellan never sees the
    /// private key.
    Csr(Vec<u8>),
    /// Castellan generates the key pair (RSA or ECDSA, as the person chose) and keeps the
    /// private key encrypted at rest for the PKCS#12 download.
    Generate(KeyType),
}

/// A client certificate order as the front doors hand it over.
#[derive(Clone, Debug)]
pub struct ClientOrder {
    /// The organisation or department.
    pub org_id: OrgId,
    /// Profile name or id.
    pub profile: String,
    /// Term in days.
    pub term_days: u32,
    /// The person: found by e-mail (any case), or added with these details when new.
    pub person: PersonSpec,
    /// The key.
    pub key: ClientKey,
    /// Comments.
    pub comments: String,
}

/// What an enrolment became.
#[derive(Clone, Debug)]
pub struct ClientOutcome {
    /// The order (SCM `orderNumber` and `backendCertId`).
    pub id: RequestId,
    /// The person it was issued to.
    pub person_id: PersonId,
    /// The certificate.
    pub certificate: IssuedCertificate,
}

/// A row of the client certificate list.
#[derive(Clone, Debug)]
pub struct ClientRow {
    /// The order.
    pub summary: OrderSummary,
    /// The certificate's subject, once issued.
    pub subject: Option<String>,
    /// The order's comments.
    pub comments: String,
    /// The person.
    pub person_id: Option<PersonId>,
    /// The profile.
    pub profile_id: Option<castellan_model::ProfileId>,
}

/// The subject details a person gives a certificate: the common name as set for the person,
/// else the full name.
pub(crate) fn person_details(person: &PersonData) -> PersonDetails {
    let full: Vec<&str> = [&person.first_name, &person.middle_name, &person.last_name]
        .into_iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    PersonDetails {
        given_name: Some(person.first_name.trim().to_owned()).filter(|s| !s.is_empty()),
        surname: Some(person.last_name.trim().to_owned()).filter(|s| !s.is_empty()),
        common_name: Some(if person.common_name.trim().is_empty() {
            full.join(" ")
        } else {
            person.common_name.trim().to_owned()
        }),
        email: person.email.clone(),
    }
}

impl Authority {
    /// Issues a client certificate to a person (`clientCertRequest`, S/MIME role over the
    /// organisation or department). A person not known by the e-mail is added first.
    pub async fn enroll_client_certificate(
        &self,
        actor: &Actor,
        order: ClientOrder,
    ) -> Result<ClientOutcome> {
        let profile = self.client_profile(&order.profile)?;
        let tree = OrgTree::load(&self.store).await?;
        self.require_client_scope(actor, &tree, order.org_id)?;
        actor.require(Privilege::ClientCertRequest, "issue client certificates")?;
        let organization = self
            .ordering_organization(&tree, order.org_id, &profile)
            .await?;
        profile.check_term(order.term_days)?;
        // What can be refused without the person is refused before a new person is added.
        if let ClientKey::Csr(csr) = &order.key {
            let info = castellan_pki::csr::parse(csr)?;
            profile.check_key(info.public_key.key_type)?;
            self.refuse_blocked_key(&info.public_key).await?;
        }
        if let Some(email) = &order.person.email {
            self.check_mailboxes(order.org_id, std::slice::from_ref(email))
                .await?;
        }
        let person = self
            .person_for_order(actor, &tree, order.org_id, order.person)
            .await?;
        let cmd = IssueCommand {
            profile: profile.name.clone(),
            key: match order.key {
                ClientKey::Csr(csr) => KeySource::Csr(csr),
                ClientKey::Generate(key_type) => KeySource::Generate(key_type),
            },
            term_days: order.term_days,
            extra_names: Vec::new(),
            organization_id: None,
            organization: Some(organization.clone()),
            person: Some(person_details(&person.data)),
            requested_via: crate::orders::requested_via(actor),
            requester: actor.login.clone(),
        };
        let checked = self.check_request(&profile, &cmd).await?;
        castellan_pki::issue::check_request(&castellan_pki::issue::LeafRequest {
            profile: &profile,
            public_key: &checked.public_key,
            names: &checked.names,
            organization: Some(&organization),
            person: cmd.person.as_ref(),
            term_days: order.term_days,
            not_before: self.clock.now(),
        })?;
        self.check_mailboxes(order.org_id, &checked.names.emails)
            .await?;

        let now = self.now();
        let names: Vec<String> = checked.names.all().map(str::to_owned).collect();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_order(
                &NewRequest {
                    renew_id: renew_id(
                        self.rng.as_ref(),
                        self.clock.now().unix_timestamp_nanos() / 1_000_000,
                    )?,
                    profile_id: profile.id,
                    status: CertificateStatus::Requested,
                    requested_via: cmd.requested_via.clone(),
                    requester: actor.login.clone(),
                    term_days: i64::from(order.term_days),
                    common_name: checked.names.common_name.clone(),
                    requested_names: names.clone(),
                    csr_der: checked.csr_der.clone(),
                    key_generated: checked.private_key.is_some(),
                    created_at: now,
                },
                &OrderDetails {
                    org_id: Some(order.org_id),
                    requester_admin_id: actor.admin_id,
                    comments: order.comments.trim().to_owned(),
                    person_id: Some(person.id),
                    ..OrderDetails::default()
                },
            )
            .await?;
        // Issued at once: approved in the transaction that stores it, so that a stop before
        // signing leaves it to the recovery job (see `resume_approved`).
        tx.transition_request(
            id,
            CertificateStatus::Requested,
            CertificateStatus::Approved,
            actor.admin_id,
            now,
            "",
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "smime.enroll",
                object_type: "smime",
                object_id: id.to_string(),
                org_id: Some(order.org_id),
                description: format!(
                    "Client certificate requested ({}, {} days) for {}",
                    profile.name,
                    order.term_days,
                    names.join(", ")
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        let certificate = match self
            .sign_and_store(&profile, &cmd, checked, Some(OrderRows::Stored(id)))
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_refusal() => {
                self.mark_client_invalid(id, actor, &e).await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        Ok(ClientOutcome {
            id,
            person_id: person.id,
            certificate,
        })
    }

    /// Issues an approved client certificate order left without a certificate (the recovery
    /// job). A key Castellan generated lived only in memory until signing, so such an order
    /// cannot be resumed: it becomes Invalid, saying to ask again.
    pub(crate) async fn resume_client_order(&self, order: &OrderRecord) -> Result<()> {
        let id = order.request.id;
        let job = Actor::system(castellan_model::AccessMethod::Job);
        let request = &order.request.request;
        let (Some(org_id), Some(csr)) = (order.details.org_id, request.csr_der.clone()) else {
            let lost = RaError::Conflict(format!(
                "client certificate {id}: the key generated for it was lost when the service \
                 stopped before signing; ask for the certificate again"
            ));
            return self.mark_client_invalid(id, &job, &lost).await;
        };
        let person = match order.details.person_id {
            Some(p) => self.store.person(p).await?,
            None => None,
        };
        let Some(person) = person else {
            let gone = RaError::Conflict(format!(
                "client certificate {id}: its person was removed before it was signed"
            ));
            return self.mark_client_invalid(id, &job, &gone).await;
        };
        let profile = self.order_profile(request)?;
        let result = async {
            let organization = self
                .issuing_organization(org_id, CertificateType::Smime)
                .await?;
            let cmd = IssueCommand {
                profile: profile.name.clone(),
                key: KeySource::Csr(csr),
                term_days: u32::try_from(request.term_days).unwrap_or(0),
                extra_names: Vec::new(),
                organization_id: None,
                organization: Some(organization),
                person: Some(person_details(&person.data)),
                requested_via: request.requested_via.clone(),
                requester: request.requester.clone(),
            };
            let checked = self.check_request(&profile, &cmd).await?;
            self.check_mailboxes(org_id, &checked.names.emails).await?;
            self.sign_and_store(&profile, &cmd, checked, Some(OrderRows::Stored(id)))
                .await
        }
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_refusal() => self.mark_client_invalid(id, &job, &e).await,
            Err(e) => Err(e),
        }
    }

    /// Marks approved client order `id` Invalid with the refusal that stopped it.
    async fn mark_client_invalid(
        &self,
        id: RequestId,
        actor: &Actor,
        refusal: &RaError,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.transition_request(
            id,
            CertificateStatus::Approved,
            CertificateStatus::Invalid,
            actor.admin_id,
            self.now(),
            &refusal.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A client certificate profile by name or id; an SSL profile is refused by name.
    pub(crate) fn client_profile(&self, key: &str) -> Result<Profile> {
        let profile = self.profile(key)?;
        if profile.certificate_type != CertificateType::Smime {
            return Err(RaError::InvalidInput {
                field: "certType",
                reason: format!(
                    "'{}' is not a client certificate profile; the client certificate profiles \
                     are {}",
                    profile.name,
                    self.profiles
                        .iter()
                        .filter(|p| p.certificate_type == CertificateType::Smime)
                        .map(|p| format!("'{}' ({})", p.name, p.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok(profile.clone())
    }

    /// Refuses unless organisation or department `org` exists and the actor has an S/MIME
    /// role over it.
    fn require_client_scope(&self, actor: &Actor, tree: &OrgTree, org: OrgId) -> Result<()> {
        if tree.get(org).is_none() {
            return Err(RaError::NotFound {
                what: "organization or department",
                key: org.to_string(),
            });
        }
        if !actor.covers(tree, org, Some(CertificateType::Smime)) {
            return Err(RaError::NotAllowed(format!(
                "you cannot issue client certificates for {}: it is outside your S/MIME roles",
                tree.describe(org)
            )));
        }
        Ok(())
    }

    /// The person an order is for: the one with the e-mail, who must belong to the order's
    /// organisation or department, or a new person with the details given.
    async fn person_for_order(
        &self,
        actor: &Actor,
        tree: &OrgTree,
        org: OrgId,
        mut spec: PersonSpec,
    ) -> Result<PersonRecord> {
        let email = spec
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| RaError::InvalidInput {
                field: "email",
                reason: "give the person's e-mail address".into(),
            })?
            .to_owned();
        if let Some(existing) = self.store.person_by_email(&email).await? {
            if existing.data.org_id != org {
                return Err(RaError::Conflict(format!(
                    "{email} is a person of {}, not of {}; issue their certificate there, or \
                     move the person first",
                    tree.describe(existing.data.org_id),
                    tree.describe(org)
                )));
            }
            return Ok(existing);
        }
        spec.org_id = Some(org);
        if spec
            .validation_type
            .as_deref()
            .is_none_or(|v| v.trim().is_empty())
        {
            spec.validation_type = Some("STANDARD".into());
        }
        let id = self.create_person(actor, spec).await?;
        self.store
            .person(id)
            .await?
            .ok_or_else(|| RaError::Internal(format!("person {id} vanished after it was added")))
    }

    /// Every mailbox's domain must be delegated to `org` for S/MIME and its control
    /// validated, as a server name's domain is for SSL.
    pub(crate) async fn check_mailboxes(&self, org: OrgId, emails: &[String]) -> Result<()> {
        let mut domains: Vec<String> = Vec::new();
        for email in emails {
            let Some((_, domain)) = email.rsplit_once('@') else {
                return Err(RaError::InvalidInput {
                    field: "email",
                    reason: format!("'{email}' is not an e-mail address"),
                });
            };
            let domain = domain.to_ascii_lowercase();
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        self.check_names(org, CertificateType::Smime, &domains)
            .await
    }
}

impl Authority {
    /// A client certificate order the actor may see.
    pub async fn client_certificate(&self, actor: &Actor, id: RequestId) -> Result<OrderRecord> {
        self.order_of(actor, id, &CLIENT).await
    }

    /// A page of the client certificate orders the actor may see, and how many match.
    pub async fn client_certificates(
        &self,
        actor: &Actor,
        filter: OrderFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OrderSummary>, i64)> {
        self.orders_of(actor, filter, CertificateType::Smime, offset, limit)
            .await
    }

    /// [`Authority::client_certificates`] with what a list row shows beyond the summary:
    /// the certificate's subject, the comments and the person.
    pub async fn client_certificate_rows(
        &self,
        actor: &Actor,
        filter: OrderFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<ClientRow>, i64)> {
        let (page, total) = self
            .client_certificates(actor, filter, offset, limit)
            .await?;
        let mut rows = Vec::with_capacity(page.len());
        for summary in page {
            rows.push(self.client_row(summary).await?);
        }
        Ok((rows, total))
    }

    async fn client_row(&self, summary: OrderSummary) -> Result<ClientRow> {
        let order = self.store.order(summary.id).await?;
        let certificate = match order.as_ref().and_then(|o| o.details.certificate_id) {
            Some(id) => self.store.certificate_by_id(id).await?,
            None => None,
        };
        Ok(ClientRow {
            comments: order
                .as_ref()
                .map(|o| o.details.comments.clone())
                .unwrap_or_default(),
            person_id: order.as_ref().and_then(|o| o.details.person_id),
            profile_id: order.as_ref().map(|o| o.request.request.profile_id),
            subject: certificate.map(|c| c.certificate.subject),
            summary,
        })
    }

    /// The client certificate order whose certificate has `serial` (hex, colons allowed).
    pub async fn client_certificate_by_serial(
        &self,
        actor: &Actor,
        serial: &str,
    ) -> Result<OrderRecord> {
        let missing = || RaError::NotFound {
            what: "client certificate",
            key: format!("with serial {serial}"),
        };
        let record = self
            .certificate(&crate::CertificateSelector::Serial(serial.to_owned()))
            .await
            .map_err(|e| match e {
                RaError::NotFound { .. } => missing(),
                other => other,
            })?;
        let id = record.certificate.request_id.ok_or_else(missing)?;
        self.client_certificate(actor, id).await
    }

    /// The client certificate orders of the person with this e-mail (any case), oldest
    /// first; none when the person is unknown or outside the actor's scope.
    pub async fn client_certificates_of(
        &self,
        actor: &Actor,
        email: &str,
    ) -> Result<Vec<OrderSummary>> {
        let person = match self.person_by_email(actor, email).await {
            Ok(p) => p,
            Err(RaError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let filter = OrderFilter {
            person_id: Some(person.id),
            ..OrderFilter::default()
        };
        Ok(self.client_certificates(actor, filter, 0, 10_000).await?.0)
    }

    /// Revokes a client certificate (`clientCertRevoke`, in scope), as
    /// [`Authority::revoke_order`] revokes an SSL certificate.
    pub async fn revoke_client_certificate(
        &self,
        actor: &Actor,
        id: RequestId,
        reason_code: i64,
        reason: &str,
    ) -> Result<()> {
        let order = self.client_certificate(actor, id).await?;
        actor.require(Privilege::ClientCertRevoke, "revoke client certificates")?;
        self.revoke_found(actor, &order, &CLIENT, reason_code, reason, None)
            .await
    }

    /// Revokes every Issued client certificate of the person with this e-mail; returns how
    /// many were revoked. Refused when the person has none.
    pub async fn revoke_client_certificates_of(
        &self,
        actor: &Actor,
        email: &str,
        reason_code: i64,
        reason: &str,
    ) -> Result<usize> {
        actor.require(Privilege::ClientCertRevoke, "revoke client certificates")?;
        let person = self.person_by_email(actor, email).await?;
        let issued: Vec<RequestId> = self
            .client_certificates_of(actor, &person.data.email)
            .await?
            .into_iter()
            .filter(|o| o.status == CertificateStatus::Issued)
            .map(|o| o.id)
            .collect();
        if issued.is_empty() {
            return Err(RaError::Conflict(format!(
                "{} has no issued client certificates to revoke",
                person.data.email
            )));
        }
        for id in &issued {
            self.revoke_client_certificate(actor, *id, reason_code, reason)
                .await?;
        }
        Ok(issued.len())
    }

    /// Renews a client certificate: a new order for the same person, organisation, profile
    /// and term, with the stored CSR (a key Castellan generated is generated anew, of the
    /// same type). Every check of [`Authority::enroll_client_certificate`] applies again.
    pub async fn renew_client_certificate(
        &self,
        actor: &Actor,
        id: RequestId,
    ) -> Result<ClientOutcome> {
        let order = self.client_certificate(actor, id).await?;
        let request = &order.request.request;
        let key = match &request.csr_der {
            Some(csr) => ClientKey::Csr(csr.clone()),
            None => ClientKey::Generate(self.issued_key_type(&order).await?),
        };
        let outcome = self
            .reorder(
                actor,
                &order,
                "renewed",
                key,
                format!("Renewal of client certificate {id}"),
            )
            .await?;
        let mut tx = self.store.begin().await?;
        tx.mark_renewed(id, outcome.id).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Replaces a client certificate with one for a new CSR: a new order for the same
    /// person; the old certificate is revoked (superseded) when `revoke` is set.
    pub async fn replace_client_certificate(
        &self,
        actor: &Actor,
        id: RequestId,
        csr: Vec<u8>,
        reason: &str,
        revoke: bool,
    ) -> Result<ClientOutcome> {
        let order = self.client_certificate(actor, id).await?;
        if reason.chars().count() > 512 {
            return Err(RaError::InvalidInput {
                field: "reason",
                reason: "at most 512 characters".into(),
            });
        }
        let request = &order.request.request;
        if request.status != CertificateStatus::Issued {
            return Err(RaError::Conflict(format!(
                "client certificate {id} is {}, not Issued; only issued certificates can be \
                 replaced",
                request.status
            )));
        }
        let outcome = self
            .reorder(
                actor,
                &order,
                "replaced",
                ClientKey::Csr(csr),
                format!("Replacement of client certificate {id}: {}", reason.trim()),
            )
            .await?;
        if revoke {
            let why = if reason.trim().is_empty() {
                format!("replaced by client certificate {}", outcome.id)
            } else {
                reason.trim().to_owned()
            };
            self.revoke_client_certificate(actor, id, 4, &why).await?;
        }
        Ok(outcome)
    }

    /// A new order for the person, organisation, profile and term of `order`, with `key`:
    /// what renewal and replacement have in common (`verb` names which, in refusals).
    async fn reorder(
        &self,
        actor: &Actor,
        order: &OrderRecord,
        verb: &str,
        key: ClientKey,
        comments: String,
    ) -> Result<ClientOutcome> {
        let id = order.request.id;
        let request = &order.request.request;
        let org_id = order.details.org_id.ok_or_else(|| not_ordered(id, verb))?;
        let person_id = order
            .details
            .person_id
            .ok_or_else(|| not_ordered(id, verb))?;
        let person = self.person(actor, person_id).await?;
        self.enroll_client_certificate(
            actor,
            ClientOrder {
                org_id,
                profile: request.profile_id.0.to_string(),
                term_days: u32::try_from(request.term_days).unwrap_or(0),
                person: PersonSpec {
                    email: Some(person.data.email),
                    ..PersonSpec::default()
                },
                key,
                comments,
            },
        )
        .await
    }

    /// The key type of an order's certificate (to generate a renewal's key alike).
    async fn issued_key_type(&self, order: &OrderRecord) -> Result<KeyType> {
        let certificate = order
            .details
            .certificate_id
            .ok_or_else(|| not_ordered(order.request.id, "renewed"))?;
        let record = self
            .store
            .certificate_by_id(certificate)
            .await?
            .ok_or_else(|| RaError::Internal(format!("certificate {certificate} vanished")))?;
        Ok(castellan_pki::inspect::inspect(&record.certificate.der)?
            .public_key
            .key_type)
    }
}

/// The refusal for an order that was not taken for a person of an organisation (the
/// operator's command line issues such certificates).
fn not_ordered(id: RequestId, verb: &str) -> RaError {
    RaError::Conflict(format!(
        "client certificate {id} was issued by the operator's command line, not ordered for a \
         person of an organization, so it cannot be {verb} here; issue a new one instead"
    ))
}
