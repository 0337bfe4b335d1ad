//! Signing in: passwords (Argon2id), lockout after repeated failures, suspended and
//! unapproved accounts, the forced change of an initial or reset password, client
//! certificates and OAuth2 bearer tokens. Every front door establishes its [`Actor`] here.
//!
//! An unknown login costs the same Argon2 verification as a known one, and both answer
//! "Unknown user", so timing and answers do not reveal which logins exist. Whether an
//! account is locked or suspended is only said to someone who gave its right password.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::{Authority, RaError, Result, password, tokens};
use castellan_model::{AccessMethod, AdminType};
use castellan_store::AdminRecord;
use std::sync::OnceLock;
use thiserror::Error;
use zeroize::Zeroizing;

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
/// How long a locked account stays locked (unless another administrator resets it).
pub const LOCKOUT_SECONDS: i64 = 15 * 60;
/// Lifetime of an OAuth2 access token.
pub const TOKEN_SECONDS: i64 = 3600;

/// Why signing in failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignInError {
    /// The customer URI is not this service's.
    #[error("Customer {0} cannot be found")]
    UnknownCustomer(String),
    /// Wrong login, wrong password, or no usable credential.
    #[error("Unknown user")]
    UnknownUser,
    /// Too many failed sign-ins.
    #[error(
        "the account is locked after {attempts} failed sign-ins; try again after {until} UTC \
         or ask another administrator to reset the password"
    )]
    Locked {
        /// Failed sign-ins.
        attempts: i64,
        /// When the lock ends.
        until: String,
    },
    /// Suspended by another administrator.
    #[error("the account is suspended; ask another administrator to activate it")]
    Suspended,
    /// A new IdP administrator not yet approved.
    #[error("the account awaits approval by a second administrator")]
    AwaitingApproval,
    /// API administrators cannot use the portal.
    #[error("API administrators can only use the REST API")]
    ApiOnly,
    /// The password must be changed first.
    #[error(
        "your password must be changed before you can continue: POST /api/admin/v1/changepassword \
         with {{\"newPassword\": \"...\"}}"
    )]
    MustChangePassword,
    /// The portal session ended (signed out, idle too long, or the password changed).
    #[error("your session has ended; please sign in again")]
    SessionEnded,
}

/// A password hash nobody knows the password of, verified for unknown logins so that they
/// cost as much time as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        password::hash(
            "decoy password for unknown logins",
            &castellan_pki::rand::SystemRng,
        )
        .unwrap_or_default()
    })
}

/// Verifies off the async runtime (Argon2 takes tens of milliseconds on purpose).
async fn verify(candidate: &str, stored: Option<&str>) -> bool {
    let candidate = Zeroizing::new(candidate.to_owned());
    let (stored, real) = match stored {
        Some(s) => (s.to_owned(), true),
        None => (decoy_hash().to_owned(), false),
    };
    let ok = tokio::task::spawn_blocking(move || password::verify(&candidate, &stored))
        .await
        .unwrap_or(false);
    ok && real
}

impl Authority {
    /// Signs in with login and password through `method`.
    pub async fn sign_in(
        &self,
        customer_uri: &str,
        login: &str,
        secret: &str,
        method: AccessMethod,
        address: &str,
    ) -> Result<Actor> {
        self.check_customer(customer_uri)?;
        let admin = self.password_check(login, secret, method, address).await?;
        self.admit(&admin, method, address, true).await
    }

    /// Signs in with the client certificate `leaf_der` that the TLS layer verified against
    /// Castellan's roots, for `login` (SCM `/private/api`): its serial must be the one stored
    /// as the administrator's authentication certificate, and it must be within its validity.
    pub async fn sign_in_certificate(
        &self,
        customer_uri: &str,
        login: &str,
        leaf_der: &[u8],
        address: &str,
    ) -> Result<Actor> {
        self.check_customer(customer_uri)?;
        let info = castellan_pki::inspect::inspect(leaf_der)
            .map_err(|_| RaError::SignIn(SignInError::UnknownUser))?;
        let now = self.now();
        if now < info.not_before || now > info.not_after {
            return Err(RaError::SignIn(SignInError::UnknownUser));
        }
        let presented = crate::admins::normalize_serial(&info.serial.to_hex())
            .map_err(|_| RaError::SignIn(SignInError::UnknownUser))?;
        let admin = self
            .store
            .admin_by_login(login)
            .await?
            .filter(|a| {
                !a.data.auth_cert_serial.is_empty()
                    && crate::constant_time_eq(
                        a.data.auth_cert_serial.as_bytes(),
                        presented.as_bytes(),
                    )
            })
            .ok_or(RaError::SignIn(SignInError::UnknownUser))?;
        self.admit(&admin, AccessMethod::RestApi, address, false)
            .await
    }

    /// Signs in with an OAuth2 bearer token.
    pub async fn sign_in_token(&self, token: &str, address: &str) -> Result<Actor> {
        let id = self
            .store
            .api_token_admin(&tokens::digest(token), self.now())
            .await?
            .ok_or(RaError::SignIn(SignInError::UnknownUser))?;
        let admin = self
            .store
            .admin(id)
            .await?
            .ok_or(RaError::SignIn(SignInError::UnknownUser))?;
        self.admit(&admin, AccessMethod::RestApi, address, false)
            .await
    }

    /// OAuth2 client credentials: an API administrator's login and password give a bearer
    /// token valid for [`TOKEN_SECONDS`]. Returns the token and its lifetime.
    pub async fn issue_api_token(
        &self,
        client_id: &str,
        client_secret: &str,
        address: &str,
    ) -> Result<(Zeroizing<String>, i64)> {
        let admin = self
            .password_check(client_id, client_secret, AccessMethod::RestApi, address)
            .await?;
        if admin.data.admin_type != AdminType::Api {
            return Err(RaError::SignIn(SignInError::UnknownUser));
        }
        self.admit(&admin, AccessMethod::RestApi, address, false)
            .await?;
        let token = tokens::new_token(self.rng.as_ref())?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_api_token(&tokens::digest(&token), admin.id, now + TOKEN_SECONDS, now)
            .await?;
        tx.commit().await?;
        Ok((token, TOKEN_SECONDS))
    }

    /// Changes the actor's own password (required after an initial or reset password).
    pub async fn change_own_password(&self, actor: &Actor, new_password: &str) -> Result<()> {
        let id = actor.admin_id.ok_or_else(|| RaError::InvalidInput {
            field: "login",
            reason: "only administrators have passwords".into(),
        })?;
        password::check_strength(new_password)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let admin = tx.admin(id).await?.ok_or(RaError::NotFound {
            what: "administrator",
            key: id.to_string(),
        })?;
        if admin.data.admin_type == AdminType::Idp && admin.data.password_hash.is_none() {
            return Err(RaError::InvalidInput {
                field: "newPassword",
                reason: "IdP administrators sign in through their identity provider and have \
                         no password"
                    .into(),
            });
        }
        if let Some(old) = admin.data.password_hash.as_deref()
            && verify(new_password, Some(old)).await
        {
            return Err(RaError::InvalidInput {
                field: "newPassword",
                reason: "choose a password different from the current one".into(),
            });
        }
        let hash = password::hash(new_password, self.rng.as_ref())?;
        tx.set_admin_password(id, Some(&hash), false, now).await?;
        // A new password ends every portal session; the portal signs in again with it.
        tx.delete_admin_sessions(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "admin.password-change",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: None,
                description: format!(
                    "Administrator '{}' changed their password",
                    admin.data.login
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    fn check_customer(&self, customer_uri: &str) -> Result<()> {
        if customer_uri.eq_ignore_ascii_case(&self.customer_uri) {
            Ok(())
        } else {
            Err(RaError::SignIn(SignInError::UnknownCustomer(
                customer_uri.to_owned(),
            )))
        }
    }

    /// Verifies a password; counts failures and locks; says "locked" only to someone who
    /// knows the password.
    async fn password_check(
        &self,
        login: &str,
        secret: &str,
        method: AccessMethod,
        address: &str,
    ) -> Result<AdminRecord> {
        let admin = self.store.admin_by_login(login).await?;
        let stored = admin.as_ref().and_then(|a| a.data.password_hash.clone());
        let ok = verify(secret, stored.as_deref()).await;
        let Some(admin) = admin else {
            return Err(RaError::SignIn(SignInError::UnknownUser));
        };
        let now = self.now();
        let locked_until = admin
            .failed_at
            .filter(|_| admin.failed_attempts >= MAX_FAILED_SIGN_INS)
            .map(|at| at + LOCKOUT_SECONDS)
            .filter(|until| *until > now);
        if !ok {
            if stored.is_some() && locked_until.is_none() {
                let mut tx = self.store.begin().await?;
                let attempts = tx.record_sign_in_failure(admin.id, now).await?;
                let actor = Actor::admin(&admin, method, address);
                audit::record(
                    &mut tx,
                    &actor,
                    now,
                    Change {
                        action: "admin.sign-in-failed",
                        object_type: "admin",
                        object_id: admin.id.to_string(),
                        org_id: None,
                        description: if attempts >= MAX_FAILED_SIGN_INS {
                            format!(
                                "Failed sign-in {attempts} for '{}': the account is locked for \
                                 {} minutes",
                                admin.data.login,
                                LOCKOUT_SECONDS / 60
                            )
                        } else {
                            format!("Failed sign-in {attempts} for '{}'", admin.data.login)
                        },
                    },
                    None,
                    None,
                )
                .await?;
                tx.commit().await?;
            }
            return Err(RaError::SignIn(SignInError::UnknownUser));
        }
        if let Some(until) = locked_until {
            let until = crate::clock::utc_minute(until);
            return Err(RaError::SignIn(SignInError::Locked {
                attempts: admin.failed_attempts,
                until,
            }));
        }
        if admin.failed_attempts > 0 {
            let mut tx = self.store.begin().await?;
            tx.clear_sign_in_failures(admin.id).await?;
            tx.commit().await?;
        }
        Ok(admin)
    }

    /// The checks after the credential: suspended, awaiting approval, API-only.
    pub(crate) async fn admit(
        &self,
        admin: &AdminRecord,
        method: AccessMethod,
        address: &str,
        with_password: bool,
    ) -> Result<Actor> {
        if !admin.data.active {
            return Err(RaError::SignIn(SignInError::Suspended));
        }
        if !admin.data.approved {
            return Err(RaError::SignIn(SignInError::AwaitingApproval));
        }
        if admin.data.admin_type == AdminType::Api && method == AccessMethod::Portal {
            return Err(RaError::SignIn(SignInError::ApiOnly));
        }
        let mut actor = Actor::admin(admin, method, address);
        actor.must_change_password = with_password && admin.data.must_change_password;
        Ok(actor)
    }
}
