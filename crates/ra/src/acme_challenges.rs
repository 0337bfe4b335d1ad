//! ACME authorizations and challenges (RFC 8555 §7.5, §8): the names of an order, how each
//! is proven, and the check of the challenge a client answers.
//!
//! On a pre-validated server every authorization is valid when the order is placed (the
//! names have a valid DCV). On a server in challenge mode a name is valid at once when its
//! domain's DCV is valid or the same ACME account proved it recently; otherwise it waits
//! for the client to answer one challenge. The check runs in the background
//! ([`Authority::acme_check_challenge`]) through the VA, with the same resolver and address
//! rules as DCV, and is tried again when nothing answered. A check cut short by a restart
//! is taken up by [`Authority::acme_resume_checks`].

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::domains::{AcmeContext, NameContext};
use crate::{Authority, RaError, Result};
use castellan_model::AccessMethod;
use castellan_store::{AcmeAuthorization, AcmeOrder, AcmeRegistration};

/// A check begun this long ago (seconds) without an outcome was cut short by a restart.
pub const STALLED_CHECK_SECONDS: i64 = 120;

/// An ACME refusal (see [`crate::acme_protocol::problem`]).
fn problem(kind: &'static str, detail: impl Into<String>) -> RaError {
    crate::acme_protocol::problem(kind, detail)
}

/// A new, random challenge token: 256 bits, base64url (RFC 8555 §8.1 asks for 128 at least).
pub(crate) fn new_token(authority: &Authority) -> Result<String> {
    let mut bytes = [0u8; 32];
    authority.rng.fill(&mut bytes)?;
    Ok(crate::b64url(&bytes))
}

impl Authority {
    /// The context an ACME registration orders in: its administrator-made account and its
    /// account URL (for CAA `accounturi`).
    pub(crate) fn acme_context(
        &self,
        registration: &AcmeRegistration,
        server_path: &str,
    ) -> AcmeContext {
        AcmeContext {
            account_id: registration.acme_account_id,
            account_uri: format!(
                "{}/acme/{server_path}/acct/{}",
                self.base_url(),
                registration.id
            ),
            order_id: None,
        }
    }

    /// The name context of registration authority order `id`: the ACME account's, when an
    /// ACME order asked for it (so an approval later checks the names as finalize did).
    pub(crate) async fn name_context_of(
        &self,
        id: castellan_model::RequestId,
    ) -> Result<NameContext> {
        let Some(order) = self.store.acme_order_by_request(id).await? else {
            return Ok(NameContext::default());
        };
        let Some(registration) = self.store.acme_registration(order.registration_id).await? else {
            return Ok(NameContext::default());
        };
        let Some(account) = self
            .store
            .acme_account(registration.acme_account_id)
            .await?
        else {
            return Ok(NameContext::default());
        };
        Ok(self.name_context_for_order(&registration, &account))
    }

    /// The name context of an order `registration` finalizes (its account's server gives
    /// the account URL).
    pub(crate) fn name_context_for_order(
        &self,
        registration: &AcmeRegistration,
        account: &castellan_store::AcmeAccountRecord,
    ) -> NameContext {
        let path = self
            .acme_servers
            .iter()
            .find(|s| s.name == account.account.server)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        NameContext {
            acme: Some(self.acme_context(registration, &path)),
            rules: crate::domains::NameRules::Issuance,
        }
    }

    /// An authorization of an order of `registration` (others read as not found), with the
    /// order.
    pub async fn acme_authorization(
        &self,
        registration: &AcmeRegistration,
        order_id: i64,
        index: i64,
    ) -> Result<(AcmeOrder, AcmeAuthorization)> {
        let (order, authorization) = self
            .store
            .acme_order_with_authorization(order_id, index)
            .await?
            .unzip();
        let order = self
            .acme_order_as_of_now(registration, order_id, order)
            .await?;
        let authorization = authorization
            .flatten()
            .or_else(|| legacy_authorization(&order, index))
            .ok_or_else(|| {
                problem(
                    "malformed",
                    format!(
                        "order {order_id} has no authorization {index}; use the URLs in the \
                         order's authorizations"
                    ),
                )
            })?;
        Ok((order, authorization))
    }

    /// The client gives up an authorization (RFC 8555 §7.5.2): a pending or valid one becomes
    /// `deactivated` (no later order reuses it), and its order, unless finalized, `invalid`.
    pub async fn acme_deactivate_authorization(
        &self,
        registration: &AcmeRegistration,
        order_id: i64,
        index: i64,
    ) -> Result<AcmeAuthorization> {
        let (order, mut authorization) = self
            .acme_authorization(registration, order_id, index)
            .await?;
        let mut tx = self.store.begin().await?;
        if !tx.deactivate_acme_authorization(order.id, index).await? {
            return Err(problem(
                "malformed",
                format!(
                    "the authorization is {}; only a pending or valid one can be deactivated",
                    authorization.status
                ),
            ));
        }
        let reason = format!(
            "{}: the client deactivated its authorization",
            authorization.identifier
        );
        for from in ["pending", "ready"] {
            tx.move_acme_order(order.id, from, "invalid", &reason)
                .await?;
        }
        tx.commit().await?;
        authorization.status = "deactivated".into();
        Ok(authorization)
    }

    /// The client answers challenge `kind` of an authorization (RFC 8555 §7.5.1). Returns
    /// the authorization and whether a check must now be started (false when one is under
    /// way or the authorization is settled: answering twice changes nothing).
    pub async fn acme_answer_challenge(
        &self,
        registration: &AcmeRegistration,
        server_path: &str,
        order_id: i64,
        index: i64,
        kind: &str,
    ) -> Result<(AcmeAuthorization, bool)> {
        let (order, mut authorization) = self
            .acme_authorization(registration, order_id, index)
            .await?;
        if authorization.status == "deactivated" {
            return Err(problem(
                "malformed",
                "the authorization is deactivated; place a new order",
            ));
        }
        let offered = self.acme_challenge_types(server_path, &authorization);
        if !offered.iter().any(|t| t == kind) && authorization.challenge != kind {
            return Err(problem(
                "malformed",
                format!(
                    "this authorization offers no {kind} challenge (offered: {})",
                    if offered.is_empty() {
                        format!("none, it is {} already", authorization.status)
                    } else {
                        offered.join(", ")
                    }
                ),
            ));
        }
        if authorization.status != "pending" || !authorization.challenge.is_empty() {
            return Ok((authorization, false));
        }
        if order.expires_at <= self.now() {
            return Err(problem(
                "malformed",
                "the order has expired; place a new order",
            ));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let started = tx.begin_acme_check(order.id, index, kind, now).await?;
        tx.commit().await?;
        if started {
            authorization.challenge = kind.to_owned();
            authorization.attempted_at = Some(now);
        } else if let Some(fresh) = self
            .store
            .acme_authorizations(order.id)
            .await?
            .into_iter()
            .find(|a| a.index == index)
        {
            authorization = fresh;
        }
        Ok((authorization, started))
    }

    /// The challenge types an authorization offers: none once it is settled or on a
    /// pre-validated server; http-01 and tls-alpn-01 not for a wildcard (RFC 8555 §7.1.3,
    /// RFC 8737 §3).
    pub fn acme_challenge_types(
        &self,
        server_path: &str,
        authorization: &AcmeAuthorization,
    ) -> Vec<String> {
        let Some(server) = self.acme_servers.iter().find(|s| s.path == server_path) else {
            return Vec::new();
        };
        if server.authorization != crate::acme_accounts::AuthorizationMode::Challenges
            || authorization.status != "pending"
        {
            return Vec::new();
        }
        let wildcard = authorization.identifier.starts_with("*.");
        server
            .challenge_types
            .iter()
            .filter(|t| !wildcard || t.as_str() == "dns-01")
            .cloned()
            .collect()
    }

    /// Starts [`Authority::acme_check_challenge`] on its own task; its failure (a database
    /// error) is logged, and the check is taken up again by
    /// [`Authority::acme_resume_checks`].
    pub fn acme_check_in_background(
        authority: &std::sync::Arc<Authority>,
        order_id: i64,
        index: i64,
    ) {
        let authority = authority.clone();
        tokio::spawn(async move {
            if let Err(e) = authority.acme_check_challenge(order_id, index).await {
                tracing::warn!(error = %e, order = order_id, index, "ACME challenge check failed");
            }
        });
    }

    /// Checks the challenge the client answered, trying again while nothing answers (up to
    /// `acme.challenge_attempts`), and records the outcome: the authorization valid or
    /// invalid, and the order ready (all valid) or invalid (one invalid).
    pub async fn acme_check_challenge(&self, order_id: i64, index: i64) -> Result<()> {
        let Some(order) = self.store.acme_order(order_id).await? else {
            return Ok(());
        };
        let Some(authorization) = self
            .store
            .acme_authorizations(order_id)
            .await?
            .into_iter()
            .find(|a| a.index == index)
        else {
            return Ok(());
        };
        if authorization.status != "pending" || authorization.challenge.is_empty() {
            return Ok(());
        }
        let Some(registration) = self.store.acme_registration(order.registration_id).await? else {
            return Ok(());
        };
        let key_authorization = castellan_va::challenge::key_authorization(
            &authorization.token,
            &registration.thumbprint,
        );
        let name = authorization.identifier.trim_start_matches("*.").to_owned();
        let attempts = self.acme.challenge_attempts.max(1);
        let mut attempt = 1;
        let check = loop {
            let check = self
                .run_challenge(
                    &authorization.challenge,
                    &name,
                    &authorization.token,
                    &key_authorization,
                )
                .await;
            if check.passed || !check.retry || attempt >= attempts {
                break check;
            }
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_secs(
                self.acme.challenge_retry_seconds,
            ))
            .await;
        };
        let (status, error) = if check.passed {
            ("valid", String::new())
        } else if check.retry {
            (
                "invalid",
                format!(
                    "{} (tried {attempts} times); place a new order once it answers",
                    check.detail
                ),
            )
        } else {
            ("invalid", check.detail.clone())
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx
            .finish_acme_check(order_id, index, status, &error, now)
            .await?
        {
            // Another node recorded the outcome first.
            tx.commit().await?;
            return Ok(());
        }
        let all = tx.acme_authorizations(order_id).await?;
        if status == "invalid" {
            tx.move_acme_order(
                order_id,
                "pending",
                "invalid",
                &format!("{}: {error}", authorization.identifier),
            )
            .await?;
        } else if all.iter().all(|a| a.status == "valid") {
            tx.move_acme_order(order_id, "pending", "ready", "").await?;
        }
        audit::record(
            &mut tx,
            &Actor::system(AccessMethod::Acme),
            now,
            Change {
                action: "acme.challenge",
                object_type: "acme_order",
                object_id: order_id.to_string(),
                org_id: None,
                description: format!(
                    "the {} challenge for {} was {}: {}",
                    authorization.challenge,
                    authorization.identifier,
                    if status == "valid" {
                        "passed"
                    } else {
                        "failed"
                    },
                    if status == "valid" {
                        &check.detail
                    } else {
                        &error
                    }
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            order = order_id,
            name = %authorization.identifier,
            challenge = %authorization.challenge,
            status,
            "ACME challenge checked"
        );
        Ok(())
    }

    async fn run_challenge(
        &self,
        kind: &str,
        name: &str,
        token: &str,
        key_authorization: &str,
    ) -> castellan_va::Check {
        use castellan_va::challenge::{check_dns_01, check_http_01, check_tls_alpn_01};
        let v = &self.validation;
        match kind {
            "http-01" => check_http_01(&v.fetcher, name, token, key_authorization).await,
            "dns-01" => check_dns_01(&v.resolver, name, key_authorization).await,
            _ => {
                check_tls_alpn_01(&v.resolver, v.fetcher.settings(), name, key_authorization).await
            }
        }
    }

    /// Takes up the checks a restart cut short (begun more than
    /// [`STALLED_CHECK_SECONDS`] ago with no outcome), each on one node only. Returns how
    /// many were checked.
    pub async fn acme_resume_checks(&self) -> Result<usize> {
        let now = self.now();
        let stalled = self
            .store
            .acme_stalled_checks(now - STALLED_CHECK_SECONDS, 100)
            .await?;
        let mut resumed = 0;
        for authorization in stalled {
            let Some(seen) = authorization.attempted_at else {
                continue;
            };
            let mut tx = self.store.begin().await?;
            let mine = tx
                .retake_acme_check(authorization.order_id, authorization.index, seen, now)
                .await?;
            tx.commit().await?;
            if mine {
                self.acme_check_challenge(authorization.order_id, authorization.index)
                    .await?;
                resumed += 1;
            }
        }
        Ok(resumed)
    }
}

/// The authorization of an order placed before authorizations were stored: valid, as
/// every such order was pre-validated.
fn legacy_authorization(order: &AcmeOrder, index: i64) -> Option<AcmeAuthorization> {
    let identifier = order.identifiers.get(usize::try_from(index).ok()?)?.clone();
    Some(AcmeAuthorization {
        order_id: order.id,
        index,
        identifier,
        registered_domain: String::new(),
        status: if order.status == "invalid" {
            "invalid".into()
        } else {
            "valid".into()
        },
        token: String::new(),
        challenge: String::new(),
        attempted_at: None,
        validated_at: Some(order.created_at),
        error: String::new(),
        created_at: order.created_at,
    })
}
