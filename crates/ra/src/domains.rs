//! Domains (guide section 6): adding, delegating to organisations and departments per
//! certificate type, a department's delegation request and its approval by the
//! organisation's RAO, activate / suspend / delete, and the check every front door makes
//! before anything is issued for a name ([`Authority::check_names`]).

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::coverage::{covers_normalized, dcv_candidates, dcv_name};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{CertificateType, DomainId, OrgId, Privilege};
use castellan_pki::names::normalize_dns_name;
use castellan_store::{DcvRecord, Delegation, DomainRecord};
use serde_json::json;
use std::collections::BTreeSet;

/// A domain's validation status as SCM spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcvStatus {
    /// Never validated (the guide's "Action Required").
    NotValidated,
    /// Validated and not expired.
    Validated,
    /// Validated once, expired since ("Action Required" again).
    Expired,
}

impl DcvStatus {
    /// `NOT_VALIDATED`, `VALIDATED`, `EXPIRED`.
    pub fn as_str(self) -> &'static str {
        match self {
            DcvStatus::NotValidated => "NOT_VALIDATED",
            DcvStatus::Validated => "VALIDATED",
            DcvStatus::Expired => "EXPIRED",
        }
    }

    /// What the guide's Domains list shows.
    pub fn display(self) -> &'static str {
        match self {
            DcvStatus::Validated => "Validated",
            _ => "Action Required",
        }
    }
}

/// A domain with its validation state, as the lists and details show it.
#[derive(Clone, Debug)]
pub struct DomainView {
    /// The stored domain.
    pub domain: DomainRecord,
    /// Its validation status.
    pub status: DcvStatus,
    /// The validation that counts (the domain's own or an ancestor's), if any.
    pub dcv: Option<DcvRecord>,
}

/// The status of one validation record at `now`.
pub fn dcv_status(dcv: Option<&DcvRecord>, now: i64) -> DcvStatus {
    match dcv.and_then(|d| d.expires_at.map(|e| (d.validated_at, e))) {
        Some((Some(_), expires)) if expires > now => DcvStatus::Validated,
        Some((Some(_), _)) => DcvStatus::Expired,
        _ => DcvStatus::NotValidated,
    }
}

/// Normalises a domain entry's name (SCM: 4 to 255 characters).
pub fn normalize_domain(raw: &str) -> Result<String> {
    let name = normalize_dns_name(raw).map_err(|e| RaError::InvalidInput {
        field: "name",
        reason: e.to_string(),
    })?;
    if !(4..=255).contains(&name.len()) {
        return Err(RaError::InvalidInput {
            field: "name",
            reason: format!("'{name}' must be 4 to 255 characters"),
        });
    }
    Ok(name)
}

fn audit_view(d: &DomainRecord) -> serde_json::Value {
    json!({
        "name": d.name, "description": d.description, "active": d.active,
        "delegations": d.delegations.iter().map(|g| json!({
            "orgId": g.org_id.0, "certType": g.cert_type.as_str(),
            "status": if g.active { "ACTIVE" } else { "REQUESTED" },
        })).collect::<Vec<_>>(),
    })
}

fn not_found(id: DomainId) -> RaError {
    RaError::NotFound {
        what: "domain",
        key: id.to_string(),
    }
}

impl Authority {
    /// Whether a delegation to `org` made by `actor` is active at once: the operator's and an
    /// RAO's of the organisation are; a DRAO's own request waits for an RAO.
    fn delegation_active_at_once(actor: &Actor, tree: &OrgTree, org: OrgId) -> bool {
        let organization = tree.organization_of(org);
        actor.is_mrao()
            || actor
                .credentials
                .iter()
                .any(|c| c.role.is_rao() && c.scope == organization)
    }

    /// Refuses a delegation the actor may not ask for.
    fn check_delegation_target(
        actor: &Actor,
        tree: &OrgTree,
        org: OrgId,
        cert_type: CertificateType,
    ) -> Result<()> {
        if tree.get(org).is_none() {
            return Err(RaError::InvalidInput {
                field: "delegations",
                reason: format!("organization {org} does not exist"),
            });
        }
        if !actor.covers(tree, org, Some(cert_type)) {
            return Err(RaError::NotAllowed(format!(
                "you cannot delegate domains to {} for {cert_type} certificates: it is outside \
                 your {cert_type} roles",
                tree.describe(org)
            )));
        }
        Ok(())
    }

    fn view(&self, domain: DomainRecord, dcvs: &[DcvRecord], now: i64) -> DomainView {
        let dcv = best_dcv(dcv_name(&domain.name), dcvs, now).cloned();
        DomainView {
            status: dcv_status(dcv.as_ref(), now),
            domain,
            dcv,
        }
    }

    fn domain_visible(actor: &Actor, tree: &OrgTree, domain: &DomainRecord) -> bool {
        actor.is_mrao()
            || domain
                .delegations
                .iter()
                .any(|d| actor.covers(tree, d.org_id, None))
    }

    /// The domains the actor can see: all for an MRAO, otherwise those delegated (or
    /// requested) to their organisations and departments.
    pub async fn domains(&self, actor: &Actor) -> Result<Vec<DomainView>> {
        let tree = OrgTree::load(&self.store).await?;
        let dcvs = self.store.dcvs().await?;
        let now = self.now();
        Ok(self
            .store
            .domains()
            .await?
            .into_iter()
            .filter(|d| Self::domain_visible(actor, &tree, d))
            .map(|d| self.view(d, &dcvs, now))
            .collect())
    }

    /// One domain the actor can see.
    pub async fn domain(&self, actor: &Actor, id: DomainId) -> Result<DomainView> {
        let tree = OrgTree::load(&self.store).await?;
        let domain = self.store.domain(id).await?.ok_or_else(|| not_found(id))?;
        if !Self::domain_visible(actor, &tree, &domain) {
            return Err(RaError::NotAllowed(format!(
                "domain {} is not delegated to your organizations or departments",
                domain.name
            )));
        }
        let dcvs = self.store.dcvs().await?;
        Ok(self.view(domain, &dcvs, self.now()))
    }

    /// Adds a domain with its delegations (at least one), as the guide's "Create Domain"
    /// form does. Needs `allowManageDomains`.
    pub async fn create_domain(
        &self,
        actor: &Actor,
        name: &str,
        description: &str,
        delegations: &[(OrgId, Vec<CertificateType>)],
        active: bool,
    ) -> Result<DomainId> {
        actor.require(Privilege::AllowManageDomains, "add domains")?;
        let name = normalize_domain(name)?;
        let tree = OrgTree::load(&self.store).await?;
        let wanted: Vec<(OrgId, CertificateType)> = delegations
            .iter()
            .flat_map(|(org, types)| types.iter().map(move |t| (*org, *t)))
            .collect();
        if wanted.is_empty() {
            return Err(RaError::InvalidInput {
                field: "delegations",
                reason: "Please delegate domain to at least one organization or department".into(),
            });
        }
        for (org, cert_type) in &wanted {
            Self::check_delegation_target(actor, &tree, *org, *cert_type)?;
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_domain(&name, description.trim(), active, actor.admin_id, now)
            .await?;
        for (org, cert_type) in wanted {
            let delegation = Delegation {
                org_id: org,
                cert_type,
                active: Self::delegation_active_at_once(actor, &tree, org),
                requested_by: actor.admin_id,
            };
            tx.put_delegation(id, &delegation, now).await?;
        }
        let stored = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "domain.create",
                object_type: "domain",
                object_id: id.to_string(),
                org_id: stored.delegations.first().map(|d| d.org_id),
                description: format!("Domain {name} added"),
            },
            None,
            Some(audit_view(&stored)),
        )
        .await?;
        // Each department whose delegation waits for approval is a delegation request.
        let mut waiting: Vec<OrgId> = stored
            .delegations
            .iter()
            .filter(|d| !d.active)
            .map(|d| d.org_id)
            .collect();
        waiting.dedup();
        for org in waiting {
            let types: Vec<CertificateType> = stored
                .delegations
                .iter()
                .filter(|d| d.org_id == org && !d.active)
                .map(|d| d.cert_type)
                .collect();
            self.queue_delegation_requested(&mut tx, now, id.0, &name, org, &types, actor)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a domain (the operator only, as in SCM).
    pub async fn delete_domain(&self, actor: &Actor, id: DomainId) -> Result<()> {
        actor.require_mrao("delete domains")?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let domain = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        tx.delete_domain(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "domain.delete",
                object_type: "domain",
                object_id: id.to_string(),
                org_id: domain.delegations.first().map(|d| d.org_id),
                description: format!("Domain {} deleted", domain.name),
            },
            Some(audit_view(&domain)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Activates or suspends a domain: the operator, or an RAO of an organisation it is
    /// delegated to, with `allowManageDomains`.
    pub async fn set_domain_active(&self, actor: &Actor, id: DomainId, active: bool) -> Result<()> {
        actor.require(
            Privilege::AllowManageDomains,
            if active {
                "activate domains"
            } else {
                "suspend domains"
            },
        )?;
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let domain = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        let rao_of_delegate = domain.delegations.iter().any(|d| {
            actor
                .credentials
                .iter()
                .any(|c| c.role.is_rao() && c.scope == tree.organization_of(d.org_id))
        });
        if !(actor.is_mrao() || rao_of_delegate) {
            return Err(RaError::NotAllowed(format!(
                "only the operator (MRAO) or an RAO of an organization {} is delegated to can \
                 activate or suspend it",
                domain.name
            )));
        }
        tx.set_domain_active(id, active, now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if active {
                    "domain.activate"
                } else {
                    "domain.suspend"
                },
                object_type: "domain",
                object_id: id.to_string(),
                org_id: domain.delegations.first().map(|d| d.org_id),
                description: format!(
                    "Domain {} {}",
                    domain.name,
                    if active { "activated" } else { "suspended" }
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Delegates a domain to an organisation or department for some certificate types.
    /// A DRAO's delegation to their own department waits for an RAO's approval.
    pub async fn add_delegation(
        &self,
        actor: &Actor,
        id: DomainId,
        org: OrgId,
        cert_types: &[CertificateType],
    ) -> Result<()> {
        actor.require(Privilege::AllowManageDomains, "delegate domains")?;
        let tree = OrgTree::load(&self.store).await?;
        if cert_types.is_empty() {
            return Err(RaError::InvalidInput {
                field: "certTypes",
                reason: "name at least one of SSL, SMIME, CodeSign".into(),
            });
        }
        for t in cert_types {
            Self::check_delegation_target(actor, &tree, org, *t)?;
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let domain = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        let active = Self::delegation_active_at_once(actor, &tree, org);
        for t in cert_types {
            let existing = domain
                .delegations
                .iter()
                .find(|d| d.org_id == org && d.cert_type == *t);
            if existing.is_some_and(|d| d.active) {
                continue;
            }
            tx.put_delegation(
                id,
                &Delegation {
                    org_id: org,
                    cert_type: *t,
                    active,
                    requested_by: actor.admin_id,
                },
                now,
            )
            .await?;
        }
        let after = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if active {
                    "domain.delegate"
                } else {
                    "domain.delegation-request"
                },
                object_type: "domain",
                object_id: id.to_string(),
                org_id: Some(org),
                description: format!(
                    "Domain {} {} {} for {}",
                    domain.name,
                    if active {
                        "delegated to"
                    } else {
                        "requested by"
                    },
                    tree.describe(org),
                    cert_types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            Some(audit_view(&domain)),
            Some(audit_view(&after)),
        )
        .await?;
        if !active {
            self.queue_delegation_requested(
                &mut tx,
                now,
                id.0,
                &domain.name,
                org,
                cert_types,
                actor,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes delegations of a domain.
    pub async fn remove_delegation(
        &self,
        actor: &Actor,
        id: DomainId,
        org: OrgId,
        cert_types: &[CertificateType],
    ) -> Result<()> {
        actor.require(Privilege::AllowManageDomains, "remove domain delegations")?;
        let tree = OrgTree::load(&self.store).await?;
        for t in cert_types {
            Self::check_delegation_target(actor, &tree, org, *t)?;
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let domain = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        for t in cert_types {
            tx.remove_delegation(id, org, *t).await?;
        }
        let after = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "domain.undelegate",
                object_type: "domain",
                object_id: id.to_string(),
                org_id: Some(org),
                description: format!(
                    "Domain {} no longer delegated to {}",
                    domain.name,
                    tree.describe(org)
                ),
            },
            Some(audit_view(&domain)),
            Some(audit_view(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Approves or rejects a department's delegation request: an RAO of its organisation
    /// (or the operator) with `approveDomainDelegation`.
    pub async fn decide_delegation(
        &self,
        actor: &Actor,
        id: DomainId,
        org: OrgId,
        approve: bool,
    ) -> Result<()> {
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let domain = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        let requested: Vec<Delegation> = domain
            .delegations
            .iter()
            .filter(|d| d.org_id == org && !d.active)
            .cloned()
            .collect();
        if requested.is_empty() {
            return Err(RaError::Conflict(format!(
                "the delegation of {} to {} is not awaiting approval",
                domain.name,
                tree.describe(org)
            )));
        }
        let organization = tree.organization_of(org);
        let rao = actor.is_mrao()
            || actor
                .credentials
                .iter()
                .any(|c| c.role.is_rao() && c.scope == organization);
        if !rao {
            return Err(RaError::NotAllowed(format!(
                "only an RAO of {} can decide delegation requests of its departments",
                tree.describe(organization)
            )));
        }
        actor.require(
            Privilege::ApproveDomainDelegation,
            "decide domain delegation requests",
        )?;
        for delegation in &requested {
            if approve {
                tx.put_delegation(
                    id,
                    &Delegation {
                        active: true,
                        ..delegation.clone()
                    },
                    now,
                )
                .await?;
            } else {
                tx.remove_delegation(id, org, delegation.cert_type).await?;
            }
        }
        let after = tx.domain(id).await?.ok_or_else(|| not_found(id))?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if approve {
                    "domain.delegation-approve"
                } else {
                    "domain.delegation-reject"
                },
                object_type: "domain",
                object_id: id.to_string(),
                org_id: Some(org),
                description: format!(
                    "Delegation of {} to {} {}",
                    domain.name,
                    tree.describe(org),
                    if approve { "approved" } else { "rejected" }
                ),
            },
            Some(audit_view(&domain)),
            Some(audit_view(&after)),
        )
        .await?;
        let mut requesters: Vec<_> = requested.iter().filter_map(|d| d.requested_by).collect();
        requesters.dedup();
        let types: Vec<CertificateType> = requested.iter().map(|d| d.cert_type).collect();
        self.queue_delegation_decided(
            &mut tx,
            now,
            id.0,
            &domain.name,
            org,
            &types,
            &requesters,
            approve,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The check made before anything is issued: every name is covered by an active domain
    /// delegated (actively) to `org` for `cert_type`, and the domain's control is validated.
    /// The refusal lists every name that fails and why, in the guide's words.
    pub async fn check_names(
        &self,
        org: OrgId,
        cert_type: CertificateType,
        names: &[String],
    ) -> Result<()> {
        self.check_names_in(org, cert_type, names, &NameContext::default())
            .await
            .map(|_| ())
    }

    /// [`Authority::check_names`] for one front door's context: an ACME order's names may be
    /// proven by its account's challenges, and CAA compares the RFC 8657 parameters with the
    /// account and the method; `context.rules` says which of the rules apply.
    pub(crate) async fn check_names_in(
        &self,
        org: OrgId,
        cert_type: CertificateType,
        names: &[String],
        context: &NameContext,
    ) -> Result<Vec<CheckedName>> {
        // The organisation tree only names the organisation in a refusal: loaded then.
        let mut tree: Option<OrgTree> = None;
        // Only the Domains entries and validations that can bear on these names are read.
        let normalized: Vec<String> = names
            .iter()
            .filter_map(|n| normalize_dns_name(n).ok())
            .collect();
        let entries: BTreeSet<String> = normalized
            .iter()
            .flat_map(|n| crate::coverage::covering_entries(n))
            .collect();
        let validated: BTreeSet<String> = normalized
            .iter()
            .flat_map(|n| dcv_candidates(n))
            .map(str::to_owned)
            .collect();
        let domains = self.store.domains_named(&Vec::from_iter(entries)).await?;
        let dcvs = self.store.dcvs_of(&Vec::from_iter(validated)).await?;
        let now = self.now();
        let mut checked = Vec::with_capacity(names.len());
        let mut refused: Vec<(String, String)> = Vec::new();
        // How many of the refusals are CAA's (a name refused by CAA passed every other rule).
        let mut caa_refused = 0;
        for raw in names {
            let name = match normalize_dns_name(raw) {
                Ok(n) => n,
                Err(e) => {
                    refused.push((raw.clone(), e.to_string()));
                    continue;
                }
            };
            let covering: Vec<&DomainRecord> = domains
                .iter()
                .filter(|d| covers_normalized(&d.name, &name))
                .collect();
            if covering.is_empty() {
                refused.push((
                    name.clone(),
                    format!(
                        "no domain covers it; add {} (or a wildcard above it) under Domains",
                        dcv_name(&name)
                    ),
                ));
                continue;
            }
            let delegated: Vec<&DomainRecord> = covering
                .iter()
                .copied()
                .filter(|d| {
                    d.delegations
                        .iter()
                        .any(|g| g.org_id == org && g.cert_type == cert_type && g.active)
                })
                .collect();
            if delegated.is_empty() {
                let requested = covering.iter().any(|d| {
                    d.delegations
                        .iter()
                        .any(|g| g.org_id == org && g.cert_type == cert_type && !g.active)
                });
                if tree.is_none() {
                    tree = Some(OrgTree::load(&self.store).await?);
                }
                let who = tree
                    .as_ref()
                    .map_or_else(|| org.to_string(), |t| t.describe(org));
                refused.push((
                    name.clone(),
                    format!(
                        "{} is not delegated to {} for {cert_type} certificates{}",
                        covering
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        who,
                        if requested {
                            " (the delegation request awaits an RAO's approval)"
                        } else {
                            ""
                        }
                    ),
                ));
                continue;
            }
            let Some(domain) = delegated.iter().find(|d| d.active) else {
                refused.push((
                    name.clone(),
                    format!("domain {} is suspended", delegated[0].name),
                ));
                continue;
            };
            let proven_by = self.proof_of(&name, &dcvs, now, context).await?;
            match (&proven_by, context.rules) {
                // Delegation only: proven or not, the name is the organisation's to order.
                (_, NameRules::Delegation) => {}
                (None, _) => {
                    let status = dcv_status(best_dcv(&name, &dcvs, now), now);
                    refused.push((
                        name.clone(),
                        format!(
                            "control of {} is {}; validate it under Domains (DCV)",
                            dcv_name(&domain.name),
                            if status == DcvStatus::Expired {
                                "no longer validated (the DCV expired)"
                            } else {
                                "not validated"
                            }
                        ),
                    ));
                    continue;
                }
                (Some(_), NameRules::Proven) => {}
                // CAA is a hard rule at issuance (RFC 8659): checked now, not at DCV time.
                (Some(method), NameRules::Issuance) => {
                    let caa = castellan_va::check_caa(
                        &self.validation.resolver,
                        &name,
                        name.starts_with("*."),
                        &self.validation.settings.caa_identities,
                        context.acme.as_ref().map(|a| a.account_uri.as_str()),
                        (method != DCV_PROOF).then_some(method.as_str()),
                    )
                    .await;
                    if !caa.allowed {
                        refused.push((name.clone(), caa.reason));
                        caa_refused += 1;
                    }
                }
            }
            checked.push(CheckedName {
                name,
                registered_domain: domain.name.clone(),
                proven_by,
            });
        }
        if refused.is_empty() {
            return Ok(checked);
        }
        let names: Vec<&str> = refused.iter().map(|(n, _)| n.as_str()).collect();
        let reasons: Vec<String> = refused.iter().map(|(n, r)| format!("{n}: {r}")).collect();
        let message = format!(
            "You cannot order certificates for the following or additional domains: {}. {}",
            names.join(", "),
            reasons.join("; ")
        );
        Err(if caa_refused == refused.len() {
            RaError::CaaForbids(message)
        } else {
            RaError::DomainsNotAllowed(message)
        })
    }

    /// What proves control of `name`: a validated DCV of its domain ([`DCV_PROOF`]), or, for
    /// an ACME order, a challenge the same ACME account passed for exactly this name within
    /// `acme.authorization_reuse_days` (the challenge type).
    async fn proof_of(
        &self,
        name: &str,
        dcvs: &[DcvRecord],
        now: i64,
        context: &NameContext,
    ) -> Result<Option<String>> {
        if dcv_status(best_dcv(name, dcvs, now), now) == DcvStatus::Validated {
            return Ok(Some(DCV_PROOF.to_owned()));
        }
        let Some(acme) = &context.acme else {
            return Ok(None);
        };
        let since = now - self.acme.authorization_reuse_days * 86_400;
        Ok(self
            .store
            .acme_recent_authorization(acme.account_id, name, since)
            .await?
            .map(|a| a.challenge)
            .filter(|c| !c.is_empty()))
    }
}

/// [`CheckedName::proven_by`] for a name whose domain's DCV is valid.
pub(crate) const DCV_PROOF: &str = "dcv";

/// The context a front door checks names in (see [`Authority::check_names_in`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct NameContext {
    /// The ACME account ordering, if the order came over ACME.
    pub(crate) acme: Option<AcmeContext>,
    /// Which of the name rules apply.
    pub(crate) rules: NameRules,
}

/// How much of the name rules a check applies ([`Authority::check_names_in`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum NameRules {
    /// Delegation, proof of control and CAA: what issuance needs.
    #[default]
    Issuance,
    /// Delegation and proof of control, not CAA: an order placed on a pre-validated ACME
    /// server is `ready` on these, and CAA is checked at finalize, when the certificate is
    /// issued (RFC 8659 asks for the DNS as it is at issuance; checking at new-order too
    /// would only repeat the same questions seconds earlier).
    Proven,
    /// Only that the names are the organisation's to order (ACME challenge mode, before
    /// the challenges are answered).
    Delegation,
}

/// The ACME account an order came from.
#[derive(Clone, Debug)]
pub(crate) struct AcmeContext {
    /// The administrator-made ACME account (challenges are reused within it).
    pub(crate) account_id: castellan_model::AcmeAccountId,
    /// The ACME account URL the client registered (CAA `accounturi`, RFC 8657).
    pub(crate) account_uri: String,
    /// The ACME order being finalized, if any: an order approved at once marks it `valid`
    /// in the transaction that stores its certificate (one commit fewer per order).
    pub(crate) order_id: Option<i64>,
}

/// One name that passed the name rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedName {
    /// The name, normalised.
    pub(crate) name: String,
    /// The Domains entry it falls under.
    pub(crate) registered_domain: String,
    /// [`DCV_PROOF`], the ACME challenge type that proved it, or `None` (only when checking
    /// delegation).
    pub(crate) proven_by: Option<String>,
}

/// The validation that vouches for `name` at `now`: the name's own or an ancestor's,
/// preferring a current one.
pub(crate) fn best_dcv<'a>(name: &str, dcvs: &'a [DcvRecord], now: i64) -> Option<&'a DcvRecord> {
    let candidates = dcv_candidates(name);
    let mine: Vec<&DcvRecord> = dcvs
        .iter()
        .filter(|d| candidates.contains(&d.domain.as_str()))
        .collect();
    mine.iter()
        .copied()
        .find(|d| dcv_status(Some(d), now) == DcvStatus::Validated)
        .or_else(|| mine.iter().copied().find(|d| d.domain == dcv_name(name)))
        .or_else(|| mine.first().copied())
}
