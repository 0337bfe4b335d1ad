//! Portal sessions: signing in through the web portal opens a session kept in the database
//! (so any node can serve any request); the browser holds only a random cookie, the store
//! only its SHA-256.
//!
//! A session ends after [`SESSION_IDLE_SECONDS`] without use, after [`SESSION_MAX_SECONDS`]
//! however busy, on sign-out, and when the administrator's password changes or is reset.
//! Every request re-reads the administrator, so a suspension takes effect at once.
//!
//! The form token against cross-site request forgery is derived from the session cookie
//! ([`csrf_token`]): unguessable without the cookie, nothing more to store, and it changes
//! with every new session.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::signin::SignInError;
use crate::{Authority, RaError, Result, tokens};
use castellan_model::AccessMethod;
use zeroize::Zeroizing;

/// A session unused for this long has ended (30 minutes).
pub const SESSION_IDLE_SECONDS: i64 = 30 * 60;
/// A session ends this long after sign-in however busy (12 hours).
pub const SESSION_MAX_SECONDS: i64 = 12 * 3600;
/// How often a session's last use is written (saves a write on every page).
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A session just opened: the cookie to give the browser, and who it is for.
pub struct PortalSession {
    /// The cookie value (only its digest is stored).
    pub token: Zeroizing<String>,
    /// The administrator, as every later request will see them.
    pub actor: Actor,
}

/// The form token of the session whose cookie is `session_token`.
pub fn csrf_token(session_token: &str) -> String {
    let mut input = Zeroizing::new(b"castellan portal form token\0".to_vec());
    input.extend_from_slice(session_token.as_bytes());
    crate::b64url(&castellan_pki::keys::sha256(&input))
}

/// Whether `presented` is the form token of the session `session_token` (constant time).
pub fn csrf_matches(session_token: &str, presented: &str) -> bool {
    crate::constant_time_eq(csrf_token(session_token).as_bytes(), presented.as_bytes())
}

impl Authority {
    /// Signs in to the portal with login and password and opens a session. Every sign-in
    /// rule applies (lockout, suspension, approval, API-only accounts); an administrator who
    /// must change their password gets a session that can only do that.
    pub async fn open_portal_session(
        &self,
        customer_uri: &str,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<PortalSession> {
        let actor = self
            .sign_in(customer_uri, login, password, AccessMethod::Portal, address)
            .await?;
        let admin_id = actor
            .admin_id
            .ok_or(RaError::SignIn(SignInError::UnknownUser))?;
        let token = tokens::new_token(self.rng.as_ref())?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.insert_session(
            &tokens::digest(&token),
            admin_id,
            now + SESSION_MAX_SECONDS,
            now,
            now - SESSION_IDLE_SECONDS,
        )
        .await?;
        audit::record(
            &mut tx,
            &actor,
            now,
            Change {
                action: "admin.sign-in",
                object_type: "admin",
                object_id: admin_id.to_string(),
                org_id: None,
                description: format!("Administrator '{}' signed in to the portal", actor.login),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(PortalSession { token, actor })
    }

    /// The administrator of the session whose cookie is `token`, checked afresh: the session
    /// has not ended, and the account is still active and approved.
    pub async fn portal_session(&self, token: &str, address: &str) -> Result<Actor> {
        let digest = tokens::digest(token);
        let now = self.now();
        let record = self
            .store
            .session(&digest)
            .await?
            .ok_or(RaError::SignIn(SignInError::SessionEnded))?;
        if record.expires_at <= now || record.last_seen_at + SESSION_IDLE_SECONDS <= now {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&digest).await?;
            tx.commit().await?;
            return Err(RaError::SignIn(SignInError::SessionEnded));
        }
        let admin = self
            .store
            .admin(record.admin_id)
            .await?
            .ok_or(RaError::SignIn(SignInError::SessionEnded))?;
        let actor = self
            .admit(&admin, AccessMethod::Portal, address, true)
            .await?;
        if now - record.last_seen_at >= TOUCH_EVERY_SECONDS {
            let mut tx = self.store.begin().await?;
            tx.touch_session(&digest, now).await?;
            tx.commit().await?;
        }
        Ok(actor)
    }

    /// Signs out: the session whose cookie is `token` ends (nothing happens for an unknown
    /// one, so signing out twice is harmless).
    pub async fn close_portal_session(&self, token: &str, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.delete_session(&tokens::digest(token)).await?;
        if let Some(id) = actor.admin_id {
            audit::record(
                &mut tx,
                actor,
                now,
                Change {
                    action: "admin.sign-out",
                    object_type: "admin",
                    object_id: id.to_string(),
                    org_id: None,
                    description: format!(
                        "Administrator '{}' signed out of the portal",
                        actor.login
                    ),
                },
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
