//! The registration authority's side of the ACME protocol: nonces (single use; in the
//! database with PostgreSQL so any node can check any nonce, in memory with SQLite — see
//! `acme_nonces`), and the accounts ACME clients register, each bound through External
//! Account Binding to an administrator-made ACME account.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::{Authority, RaError, Result};
use castellan_model::{AccessMethod, AcmeAccountId};
use castellan_store::{AcmeAccountRecord, AcmeRegistration, StoreError};

/// How long a nonce stays usable, in seconds.
pub const NONCE_LIFETIME: i64 = 3600;

/// An ACME refusal: its RFC 8555 error type (the part after
/// `urn:ietf:params:acme:error:`) and the sentence for the client.
pub fn problem(kind: &'static str, detail: impl Into<String>) -> RaError {
    RaError::Acme {
        kind,
        detail: detail.into(),
    }
}

fn acme_actor() -> Actor {
    Actor::system(AccessMethod::Acme)
}

impl Authority {
    /// The public base URL (`base_url`) the ACME URLs are built on.
    pub fn base_url(&self) -> &str {
        self.validation.settings.base_url.trim_end_matches('/')
    }

    /// Castellan's CAA issuer domains (the directory's `caaIdentities`).
    pub fn caa_identities(&self) -> &[String] {
        &self.validation.settings.caa_identities
    }

    /// A fresh nonce, stored for [`NONCE_LIFETIME`].
    pub async fn acme_nonce(&self) -> Result<String> {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes)?;
        let nonce = crate::b64url(&bytes);
        let now = self.now();
        if let Some(book) = &self.acme_nonces {
            book.issue(nonce.clone(), now + NONCE_LIFETIME, now);
            return Ok(nonce);
        }
        let mut tx = self.store.begin().await?;
        tx.insert_acme_nonce(&nonce, now + NONCE_LIFETIME).await?;
        tx.commit().await?;
        Ok(nonce)
    }

    /// Uses up `nonce`; `badNonce` when it is unknown, used or expired.
    pub async fn acme_take_nonce(&self, nonce: &str) -> Result<()> {
        let fresh = match &self.acme_nonces {
            Some(book) => book.take(nonce, self.now()),
            None => {
                let mut tx = self.store.begin().await?;
                let fresh = tx.take_acme_nonce(nonce, self.now()).await?;
                tx.commit().await?;
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(problem(
                "badNonce",
                "the nonce is unknown, used or expired; retry with the nonce in this \
                 response's Replay-Nonce header",
            ))
        }
    }

    /// Deletes expired nonces (a background job).
    pub async fn purge_acme_nonces(&self) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let purged = tx.purge_acme_nonces(self.now()).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// The ACME account an External Account Binding key id names, for the server at
    /// `server_path`, with its MAC key (opened from the KEK).
    pub async fn acme_eab_key(
        &self,
        server_path: &str,
        mac_id: &str,
    ) -> Result<(AcmeAccountRecord, zeroize::Zeroizing<Vec<u8>>)> {
        let unknown = || {
            problem(
                "unauthorized",
                "the external account binding's key id is not one this server issued; ask \
                 your administrator for the credentials of an ACME account on this server",
            )
        };
        let account = self
            .store
            .acme_account_by_mac_id(mac_id)
            .await?
            .ok_or_else(unknown)?;
        if !self.acme_account_on(&account, server_path) {
            return Err(problem(
                "unauthorized",
                format!(
                    "the external account binding belongs to the {}; use its directory",
                    account.account.server
                ),
            ));
        }
        let key = self.open_mac_key(&account)?;
        Ok((account, key))
    }

    /// The ACME account that clients registering without External Account Binding are
    /// bound to, when the server at `server_path` is open for registration.
    pub async fn acme_open_account(&self, server_path: &str) -> Result<Option<AcmeAccountRecord>> {
        let Some(server) = self.acme_servers.iter().find(|s| s.path == server_path) else {
            return Ok(None);
        };
        if !server.open_registration() {
            return Ok(None);
        }
        let account = self
            .store
            .acme_account_by_mac_id(&server.open_registration_account)
            .await?
            .filter(|a| a.account.server == server.name);
        if account.is_none() {
            tracing::warn!(
                server = %server.name,
                "open_registration_account names no ACME account of this server; registrations \
                 without External Account Binding are refused"
            );
        }
        Ok(account)
    }

    /// The registration of the key with `thumbprint`, if any.
    pub async fn acme_registration_by_key(
        &self,
        thumbprint: &str,
    ) -> Result<Option<AcmeRegistration>> {
        Ok(self
            .store
            .acme_registration_by_thumbprint(thumbprint)
            .await?)
    }

    /// Registers an ACME client's key, bound to `account` (whose binding was verified).
    pub async fn acme_register(
        &self,
        account: &AcmeAccountRecord,
        jwk: &str,
        thumbprint: &str,
        contacts: &[String],
    ) -> Result<AcmeRegistration> {
        let contacts = check_contacts(contacts)?;
        let now = self.now();
        let mut registration = AcmeRegistration {
            id: 0,
            acme_account_id: account.id,
            thumbprint: thumbprint.to_owned(),
            jwk: jwk.to_owned(),
            status: "valid".into(),
            contacts,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        registration.id = match tx.insert_acme_registration(&registration).await {
            Ok(id) => id,
            Err(StoreError::Duplicate { .. }) => {
                return Err(problem(
                    "malformed",
                    "this key is registered already; look the account up with \
                     onlyReturnExisting",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            &mut tx,
            &acme_actor(),
            now,
            Change {
                action: "acme.register",
                object_type: "acme_account",
                object_id: account.id.to_string(),
                org_id: Some(account.account.org_id),
                description: format!(
                    "an ACME client registered key {thumbprint} with ACME account '{}' (key id {})",
                    account.account.name, account.account.mac_id
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(registration)
    }

    /// The registration `id` of the server at `server_path` (`accountDoesNotExist` if
    /// there is none there).
    pub async fn acme_registration(&self, server_path: &str, id: i64) -> Result<AcmeRegistration> {
        let missing = || {
            problem(
                "accountDoesNotExist",
                "no ACME account at that URL on this server",
            )
        };
        let (registration, server) = self
            .store
            .acme_registration_on(id)
            .await?
            .ok_or_else(missing)?;
        if !self.acme_server_at(&server, server_path) {
            return Err(missing());
        }
        Ok(registration)
    }

    /// Updates a registration's contacts and/or deactivates it (for good).
    pub async fn acme_update_registration(
        &self,
        registration: &AcmeRegistration,
        contacts: Option<&[String]>,
        deactivate: bool,
    ) -> Result<AcmeRegistration> {
        let mut updated = registration.clone();
        if let Some(contacts) = contacts {
            updated.contacts = check_contacts(contacts)?;
        }
        if deactivate {
            updated.status = "deactivated".into();
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.update_acme_registration(updated.id, &updated.status, &updated.contacts)
            .await?;
        if deactivate {
            // RFC 8555 §7.3.6: its orders that are not finished are cancelled.
            tx.cancel_acme_orders_of(updated.id).await?;
            audit::record(
                &mut tx,
                &acme_actor(),
                now,
                Change {
                    action: "acme.deactivate",
                    object_type: "acme_account",
                    object_id: registration.acme_account_id.to_string(),
                    org_id: None,
                    description: format!(
                        "the ACME client key {} deactivated its account",
                        registration.thumbprint
                    ),
                },
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// The administrator-made ACME account a registration is bound to.
    pub async fn acme_bound_account(&self, id: AcmeAccountId) -> Result<AcmeAccountRecord> {
        self.store.acme_account(id).await?.ok_or_else(|| {
            problem(
                "unauthorized",
                "the ACME account this key was bound to has been deleted",
            )
        })
    }
}

/// `mailto:` contacts only (RFC 8555 §7.3), one address each, no hfields; joined with ",".
fn check_contacts(contacts: &[String]) -> Result<String> {
    for contact in contacts {
        let Some(address) = contact.strip_prefix("mailto:") else {
            return Err(problem(
                "unsupportedContact",
                format!("'{contact}' is not a mailto: URL; only e-mail contacts are taken"),
            ));
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !address.contains(['?', ',', ' '])
        });
        if !valid {
            return Err(problem(
                "invalidContact",
                format!("'{contact}' is not one e-mail address"),
            ));
        }
    }
    Ok(contacts.join(","))
}

/// Refuses an order that asks for its own validity (`notBefore`/`notAfter`, RFC 8555 §7.4):
/// the certificate profile sets the term.
pub fn check_requested_validity(not_before: Option<&str>, not_after: Option<&str>) -> Result<()> {
    if not_before.is_some() || not_after.is_some() {
        return Err(problem(
            "malformed",
            "notBefore and notAfter are not taken: the profile sets the validity; leave them \
             out of the order",
        ));
    }
    Ok(())
}

/// The problem type (RFC 8555 §6.7) of a pipeline refusal at finalize: CAA's own; a name
/// no longer the account's to order (delegation withdrawn, DCV expired since new-order); or
/// else the CSR's.
fn finalize_refusal(e: &RaError) -> &'static str {
    match e {
        RaError::CaaForbids(_) => "caa",
        RaError::DomainsNotAllowed(_) => "rejectedIdentifier",
        _ => "badCSR",
    }
}

/// How long an order stays open, in seconds.
pub const ORDER_LIFETIME: i64 = 7 * 86_400;

impl Authority {
    /// Places an order for DNS names (RFC 8555 §7.4). Every name must be on the ACME
    /// account's domain list and delegated to its organisation or department (the rule
    /// every front door uses, `check_names`). On a pre-validated server each name must also
    /// have a valid DCV: the order is `ready` at once (CAA is checked at finalize, when the
    /// certificate is issued, and refuses with the `caa` problem type). On a
    /// server in challenge mode the names proven already (DCV, or a challenge this account
    /// passed recently) are valid, and the others wait for a challenge: the order is
    /// `pending` until they pass. `replaces` (RFC 9773) names the certificate this order
    /// renews; renewals are not held to the rate limits.
    pub async fn acme_new_order(
        &self,
        registration: &AcmeRegistration,
        server_path: &str,
        identifiers: &[(String, String)],
        profile: Option<&str>,
        replaces: Option<&str>,
    ) -> Result<castellan_store::AcmeOrder> {
        use crate::acme_accounts::AuthorizationMode;
        use castellan_pki::names::normalize_dns_name;
        if identifiers.is_empty() || identifiers.len() > 100 {
            return Err(problem("malformed", "an order names 1 to 100 identifiers"));
        }
        let account = self
            .acme_bound_account(registration.acme_account_id)
            .await?;
        let server = self
            .acme_servers
            .iter()
            .find(|s| s.path == server_path)
            .cloned()
            .ok_or_else(|| problem("malformed", "no such ACME server"))?;
        let replaces_id = replaces;
        let replaces = match replaces {
            Some(cert_id) => Some(self.acme_check_replaces(registration, cert_id).await?),
            None => None,
        };
        let mut names = Vec::with_capacity(identifiers.len());
        for (kind, value) in identifiers {
            if kind != "dns" {
                return Err(problem(
                    "rejectedIdentifier",
                    format!(
                        "'{value}' is a {kind} identifier; Castellan issues for DNS names only \
                         (IP addresses are not certified here)"
                    ),
                ));
            }
            let name = normalize_dns_name(value)
                .map_err(|e| problem("rejectedIdentifier", e.to_string()))?;
            if !account
                .domains
                .iter()
                .any(|entry| crate::coverage::covers(entry, &name))
            {
                return Err(problem(
                    "rejectedIdentifier",
                    format!(
                        "{name} is not among the domains of ACME account '{}'; ask an \
                         administrator to add it (ACME accounts → Domains)",
                        account.account.name
                    ),
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Sorted: the same names in any order are the same order (a renewal).
        names.sort();
        let wildcard = names.iter().any(|n| n.starts_with("*."));
        let profile = match profile {
            Some(p) => server
                .profiles
                .iter()
                .find(|q| q.as_str() == p)
                .cloned()
                .ok_or_else(|| {
                    problem(
                        "invalidProfile",
                        format!(
                            "'{p}' is not a profile of this server; choose one of: {}",
                            server.profiles.join(", ")
                        ),
                    )
                })?,
            None if wildcard => server
                .profiles
                .iter()
                .find(|p| p.contains("Wildcard"))
                .or(server.profiles.first())
                .cloned()
                .unwrap_or_default(),
            None => server.profiles.first().cloned().unwrap_or_default(),
        };
        use crate::domains::NameRules;
        let context = crate::domains::NameContext {
            acme: Some(self.acme_context(registration, server_path)),
            rules: match server.authorization {
                AuthorizationMode::Challenges => NameRules::Delegation,
                AuthorizationMode::PreValidated => NameRules::Proven,
            },
        };
        let checked = self
            .check_names_in(
                account.account.org_id,
                castellan_model::CertificateType::Ssl,
                &names,
                &context,
            )
            .await
            .map_err(|e| match e {
                RaError::Acme { .. } | RaError::Store(_) | RaError::Internal(_) => e,
                other => problem("rejectedIdentifier", other.to_string()),
            })?;
        // Renewals are not limited: an order with `replaces`, or for exactly the names of
        // a certificate this account was issued within the longest term (398 days).
        let limited =
            self.acme.orders_per_account_per_hour > 0 || self.acme.orders_per_domain_per_week > 0;
        let renewal = !limited
            || replaces.is_some()
            || self
                .store
                .acme_account_has_issued(
                    registration.acme_account_id,
                    &names,
                    self.now() - 398 * 86_400,
                )
                .await?;
        if !renewal {
            self.acme_check_rate_limits(registration, &checked).await?;
        }
        let now = self.now();
        let mut authorizations = Vec::with_capacity(checked.len());
        for (index, name) in (0i64..).zip(&checked) {
            let proven = name.proven_by.is_some();
            authorizations.push(castellan_store::AcmeAuthorization {
                order_id: 0,
                index,
                identifier: name.name.clone(),
                registered_domain: name.registered_domain.clone(),
                status: if proven { "valid" } else { "pending" }.into(),
                token: crate::acme_challenges::new_token(self)?,
                // A name proven by an earlier challenge shows that challenge as valid.
                challenge: name
                    .proven_by
                    .clone()
                    .filter(|p| p != crate::domains::DCV_PROOF)
                    .unwrap_or_default(),
                attempted_at: None,
                validated_at: proven.then_some(now),
                error: String::new(),
                created_at: now,
            });
        }
        let ready = authorizations.iter().all(|a| a.status == "valid");
        let mut order = castellan_store::AcmeOrder {
            id: 0,
            registration_id: registration.id,
            status: if ready { "ready" } else { "pending" }.into(),
            identifiers: checked.into_iter().map(|c| c.name).collect(),
            profile,
            expires_at: now + ORDER_LIFETIME,
            request_id: None,
            certificate_id: None,
            error: String::new(),
            created_at: now,
            replaces_id: if replaces.is_some() {
                replaces_id.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            replaces,
        };
        let mut tx = self.store.begin().await?;
        order.id = tx.insert_acme_order(&order).await?;
        for a in &mut authorizations {
            a.order_id = order.id;
        }
        tx.insert_acme_authorizations(&authorizations).await?;
        tx.commit().await?;
        Ok(order)
    }

    /// The rate limits on new orders (renewals are exempt): per ACME account per hour, and
    /// per registered domain (the Domains entry a name falls under) per week.
    async fn acme_check_rate_limits(
        &self,
        registration: &AcmeRegistration,
        names: &[crate::domains::CheckedName],
    ) -> Result<()> {
        let now = self.now();
        let limits = &self.acme;
        if limits.orders_per_account_per_hour > 0 {
            let since = now - 3600;
            let placed = self
                .store
                .acme_new_orders_of_account(
                    registration.acme_account_id,
                    since,
                    limits.orders_per_account_per_hour,
                )
                .await?;
            if placed >= limits.orders_per_account_per_hour {
                let oldest = self
                    .store
                    .acme_oldest_new_order_of_account(registration.acme_account_id, since)
                    .await?
                    .unwrap_or(now);
                return Err(RaError::AcmeRateLimited {
                    detail: format!(
                        "this ACME account placed {placed} new orders in the last hour, the \
                         limit is {}; renewals (orders with 'replaces', or for the names of a \
                         certificate the account holds) are not limited",
                        limits.orders_per_account_per_hour
                    ),
                    retry_after: (oldest + 3600 - now).max(1),
                });
            }
        }
        if limits.orders_per_domain_per_week > 0 {
            let since = now - 7 * 86_400;
            let mut seen: Vec<&str> = Vec::new();
            for name in names {
                let domain = name.registered_domain.as_str();
                if seen.contains(&domain) {
                    continue;
                }
                seen.push(domain);
                let placed = self
                    .store
                    .acme_new_orders_under(domain, since, limits.orders_per_domain_per_week)
                    .await?;
                if placed >= limits.orders_per_domain_per_week {
                    let oldest = self
                        .store
                        .acme_oldest_new_order_under(domain, since)
                        .await?;
                    return Err(RaError::AcmeRateLimited {
                        detail: format!(
                            "{placed} new orders named names under {domain} in the last week, \
                             the limit is {}; renewals (orders with 'replaces', or for the names \
                             of a certificate the account holds) are not limited",
                            limits.orders_per_domain_per_week
                        ),
                        retry_after: (oldest.unwrap_or(now) + 7 * 86_400 - now).max(1),
                    });
                }
            }
        }
        Ok(())
    }

    /// An order of `registration` (others read as not found), brought up to date with
    /// its registration authority order when it is waiting for an approval.
    pub async fn acme_order(
        &self,
        registration: &AcmeRegistration,
        id: i64,
    ) -> Result<castellan_store::AcmeOrder> {
        let order = self.store.acme_order(id).await?;
        self.acme_order_as_of_now(registration, id, order).await
    }

    /// Order `id` as read (`order`), refused unless it is `registration`'s, brought up to
    /// date: a processing order whose request was decided since, or a pending or ready one
    /// past its expiry.
    pub(crate) async fn acme_order_as_of_now(
        &self,
        registration: &AcmeRegistration,
        id: i64,
        order: Option<castellan_store::AcmeOrder>,
    ) -> Result<castellan_store::AcmeOrder> {
        let mut order = order
            .filter(|o| o.registration_id == registration.id)
            .ok_or_else(|| problem("malformed", format!("no order {id} of this account")))?;
        if order.status == "processing"
            && let Some(request) = order.request_id
            && let Some(ra_order) = self.store.order(request).await?
        {
            use castellan_model::CertificateStatus as S;
            let status = ra_order.request.request.status;
            let next = match status {
                S::Issued => Some("valid"),
                S::Declined | S::Invalid | S::Rejected | S::Revoked => Some("invalid"),
                _ => None,
            };
            if let Some(next) = next {
                order.status = next.into();
                order.certificate_id = ra_order.details.certificate_id;
                if next == "invalid" {
                    order.error = format!("the order was {status}");
                }
                let mut tx = self.store.begin().await?;
                tx.finish_acme_order(&order).await?;
                tx.commit().await?;
            }
        } else if (order.status == "ready" || order.status == "pending")
            && order.expires_at <= self.now()
        {
            order.status = "invalid".into();
            order.error = "the order expired before it was finalized".into();
        }
        Ok(order)
    }

    /// Finalizes a ready order with a CSR (RFC 8555 §7.4): the CSR must ask for exactly
    /// the order's names and must not carry the account's key (`is_account_key`); the
    /// certificate is requested through `request_certificate`, the one pipeline, on behalf
    /// of the ACME account's organisation or department.
    pub async fn acme_finalize(
        &self,
        registration: &AcmeRegistration,
        id: i64,
        csr_der: &[u8],
        is_account_key: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<castellan_store::AcmeOrder> {
        let mut order = self.acme_order(registration, id).await?;
        if order.status != "ready" {
            return Err(problem(
                "orderNotReady",
                format!("the order is {}, not ready", order.status),
            ));
        }
        let info =
            castellan_pki::csr::parse(csr_der).map_err(|e| problem("badCSR", e.to_string()))?;
        if is_account_key(&info.public_key.spki_der) {
            return Err(problem(
                "badCSR",
                "the CSR carries the account's own key; use a separate key for the certificate",
            ));
        }
        let mut asked: Vec<String> = info
            .dns_names
            .iter()
            .chain(info.common_name.iter())
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        asked.sort();
        asked.dedup();
        let mut ordered = order.identifiers.clone();
        ordered.sort();
        if asked != ordered {
            return Err(problem(
                "badCSR",
                format!(
                    "the CSR asks for {} but the order is for {}",
                    asked.join(", "),
                    ordered.join(", ")
                ),
            ));
        }
        let account = self
            .acme_bound_account(registration.acme_account_id)
            .await?;
        let profile = self.profile(&order.profile)?.clone();
        let term_days = profile.terms.iter().copied().min().unwrap_or(90);
        let actor = acme_actor();
        let mut context = self.name_context_for_order(registration, &account);
        if let Some(acme) = &mut context.acme {
            acme.order_id = Some(order.id);
        }
        let result = self
            .request_certificate_in(
                &actor,
                crate::orders::SslOrder {
                    org_id: account.account.org_id,
                    profile: order.profile.clone(),
                    term_days,
                    csr: csr_der.to_vec(),
                    subject_alt_names: order.identifiers.clone(),
                    external_requester: registration.contacts.replace("mailto:", ""),
                    comments: format!(
                        "ACME order {} of ACME account '{}'",
                        order.id, account.account.name
                    ),
                    custom_fields: Vec::new(),
                },
                &context,
            )
            .await;
        // The problem type of a refusal, if the pipeline refused.
        let refused = match result {
            // Issued at once: the order was marked valid with its certificate.
            Ok(outcome) if outcome.certificate_id.is_some() => {
                order.request_id = Some(outcome.id);
                order.certificate_id = outcome.certificate_id;
                order.status = "valid".into();
                return Ok(order);
            }
            Ok(outcome) => {
                order.request_id = Some(outcome.id);
                order.status = "processing".into();
                None
            }
            Err(e @ (RaError::Store(_) | RaError::Internal(_))) => return Err(e),
            Err(e) => {
                order.status = "invalid".into();
                order.error = e.to_string();
                Some(finalize_refusal(&e))
            }
        };
        let mut tx = self.store.begin().await?;
        tx.finish_acme_order(&order).await?;
        tx.commit().await?;
        match refused {
            Some(kind) => Err(problem(kind, order.error)),
            None => Ok(order),
        }
    }

    /// The PEM chain of an order's certificate: the leaf, then the CAs above it up to (not
    /// including) the root.
    pub async fn acme_certificate_chain(
        &self,
        registration: &AcmeRegistration,
        id: i64,
    ) -> Result<String> {
        // The order and its certificate in one read; a processing order brought up to date
        // has a certificate the read could not join yet, which is read on its own.
        let (order, certificate) = self.store.acme_order_with_certificate(id).await?.unzip();
        let order = self.acme_order_as_of_now(registration, id, order).await?;
        let certificate_id = order.certificate_id.ok_or_else(|| {
            problem(
                "malformed",
                format!(
                    "order {id} is {}, it has no certificate yet; poll the order until it \
                     is valid, then download the certificate",
                    order.status
                ),
            )
        })?;
        let (issuer, der) = match certificate.flatten() {
            Some(certificate) => certificate,
            None => self
                .store
                .certificate_der(certificate_id)
                .await?
                .ok_or_else(|| {
                    problem(
                        "serverInternal",
                        format!(
                            "certificate {} of order {id} is no longer stored; ask the \
                             administrators of the ACME account to look into it",
                            certificate_id.0
                        ),
                    )
                })?,
        };
        let chain = self.chain_of(issuer)?;
        let mut pem = castellan_pki::encode::pem_encode("CERTIFICATE", &der);
        for ca in chain.iter().take(chain.len().saturating_sub(1)) {
            pem.push_str(&castellan_pki::encode::pem_encode("CERTIFICATE", ca));
        }
        Ok(pem)
    }
}

impl Authority {
    /// Whether certificate `id` came from an order of `registration`'s ACME account (any of
    /// its registrations): who may revoke it over ACME, and replace it.
    async fn acme_account_ordered(
        &self,
        registration: &AcmeRegistration,
        id: castellan_model::CertificateId,
    ) -> Result<bool> {
        let Some(order) = self.store.acme_order_by_certificate(id).await? else {
            return Ok(false);
        };
        Ok(self
            .store
            .acme_registration(order.registration_id)
            .await?
            .is_some_and(|r| r.acme_account_id == registration.acme_account_id))
    }
}

/// Who asks to revoke over ACME (RFC 8555 §7.6).
pub enum RevocationRequester<'a> {
    /// An account: it may revoke what its ACME account's orders produced.
    Account(&'a AcmeRegistration),
    /// The holder of the certificate's key (the JWS was signed with it): `is_key` tells
    /// whether a SubjectPublicKeyInfo is that key.
    KeyHolder(&'a (dyn Fn(&[u8]) -> bool + Sync)),
}

impl Authority {
    /// Revokes a certificate Castellan issued (`certificate` is its DER) over ACME, through
    /// the same revocation as every front door (OCSP at once, the CRL within the delay,
    /// keyCompromise blocking the key).
    pub async fn acme_revoke(
        &self,
        requester: RevocationRequester<'_>,
        certificate: &[u8],
        reason: i64,
    ) -> Result<()> {
        let info = castellan_pki::inspect::inspect(certificate)
            .map_err(|e| problem("malformed", format!("the certificate cannot be read: {e}")))?;
        let not_ours = || problem("malformed", "Castellan did not issue this certificate");
        let record = self
            .store
            .certificate_by_serial(&info.serial.to_hex())
            .await?
            .filter(|r| r.certificate.der == certificate)
            .ok_or_else(not_ours)?;
        let allowed = match requester {
            RevocationRequester::KeyHolder(is_key) => is_key(&info.public_key.spki_der),
            RevocationRequester::Account(registration) => {
                self.acme_account_ordered(registration, record.id).await?
            }
        };
        if !allowed {
            return Err(problem(
                "unauthorized",
                "only the ACME account whose order produced this certificate, or the holder of \
                 its key, may revoke it over ACME",
            ));
        }
        let request = record.certificate.request_id.ok_or_else(not_ours)?;
        // revoke_order checks the reason code against the accepted ones, as for every
        // front door; ACME names that refusal badRevocationReason.
        match self
            .revoke_order(&acme_actor(), request, reason, "revoked over ACME", None)
            .await
        {
            Ok(()) => Ok(()),
            Err(RaError::InvalidInput {
                field: "reasonCode",
                reason,
            }) => Err(problem("badRevocationReason", reason)),
            Err(RaError::Conflict(message)) if message.contains("already") => Err(problem(
                "alreadyRevoked",
                "the certificate is revoked already",
            )),
            Err(e) => Err(e),
        }
    }
}

/// When a certificate should be renewed (RFC 9773), Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewalWindow {
    /// From.
    pub start: i64,
    /// Until.
    pub end: i64,
}

impl Authority {
    /// The certificate an ARI certificate identifier names
    /// (`base64url(AKI keyIdentifier) "." base64url(serial)`), checked against its issuer.
    async fn ari_certificate(&self, cert_id: &str) -> Result<castellan_store::CertificateRecord> {
        use base64::Engine as _;
        let malformed = || {
            problem(
                "malformed",
                "a renewal-info identifier is base64url(authority key id) \".\" base64url(serial)",
            )
        };
        let (aki, serial) = cert_id.split_once('.').ok_or_else(malformed)?;
        let decode = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|_| malformed())
        };
        let (aki, serial) = (decode(aki)?, decode(serial)?);
        let serial = castellan_pki::serial::Serial::from_bytes(&serial).map_err(|_| malformed())?;
        let unknown = || {
            problem(
                "malformed",
                "no certificate of Castellan's has that identifier",
            )
        };
        let record = self
            .store
            .certificate_by_serial(&serial.to_hex())
            .await?
            .ok_or_else(unknown)?;
        let info = castellan_pki::inspect::inspect(&record.certificate.der)?;
        if info.authority_key_id.as_deref() != Some(aki.as_slice()) {
            return Err(unknown());
        }
        Ok(record)
    }

    /// The suggested renewal window of a certificate (RFC 9773): the last third of its life
    /// up to three quarters; at once when it was revoked or its issuing CA is no longer the
    /// active one.
    pub async fn acme_renewal_info(&self, cert_id: &str) -> Result<RenewalWindow> {
        let record = self.ari_certificate(cert_id).await?;
        let c = &record.certificate;
        let now = self.now();
        if let Some(at) = record.revoked_at {
            return Ok(RenewalWindow {
                start: at.min(now) - 3600,
                end: at.min(now),
            });
        }
        let active = self.issuers.values().any(|i| i.id == c.issuer_ca_id);
        if !active {
            return Ok(RenewalWindow {
                start: now,
                end: now + 86_400,
            });
        }
        let life = c.not_after - c.not_before;
        Ok(RenewalWindow {
            start: c.not_before + life * 2 / 3,
            end: c.not_before + life * 3 / 4,
        })
    }

    /// Checks a new order's `replaces` (RFC 9773 §5): the certificate must have come from
    /// an order of the same ACME account and not have been replaced already
    /// (`alreadyReplaced`). Returns the certificate.
    pub async fn acme_check_replaces(
        &self,
        registration: &AcmeRegistration,
        cert_id: &str,
    ) -> Result<castellan_model::CertificateId> {
        let record = self.ari_certificate(cert_id).await?;
        if !self.acme_account_ordered(registration, record.id).await? {
            return Err(problem(
                "unauthorized",
                "replaces names a certificate this ACME account did not order",
            ));
        }
        if let Some(other) = self.store.acme_order_replacing(record.id).await? {
            return Err(problem(
                "alreadyReplaced",
                format!(
                    "order {} already replaces this certificate; finalize that order, or \
                     leave out replaces",
                    other.id
                ),
            ));
        }
        Ok(record.id)
    }
}

impl Authority {
    /// Replaces a registration's key (RFC 8555 §7.3.5), after the caller checked both
    /// signatures. A key another account already has is refused.
    pub async fn acme_change_key(
        &self,
        registration: &AcmeRegistration,
        jwk: &str,
        thumbprint: &str,
    ) -> Result<AcmeRegistration> {
        if let Some(other) = self
            .store
            .acme_registration_by_thumbprint(thumbprint)
            .await?
        {
            return Err(problem(
                "malformed",
                format!("the new key is already the key of account {}", other.id),
            ));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match tx
            .set_acme_registration_key(registration.id, jwk, thumbprint)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Duplicate { .. }) => {
                return Err(problem(
                    "malformed",
                    "the new key is already an account's key",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            &mut tx,
            &acme_actor(),
            now,
            Change {
                action: "acme.key-change",
                object_type: "acme_account",
                object_id: registration.acme_account_id.to_string(),
                org_id: None,
                description: format!(
                    "an ACME client replaced its key {} with {thumbprint}",
                    registration.thumbprint
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        let mut updated = registration.clone();
        updated.jwk = jwk.to_owned();
        updated.thumbprint = thumbprint.to_owned();
        Ok(updated)
    }
}
