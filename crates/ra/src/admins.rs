//! Administrators (guide section 4): create, read, update, delete, suspend, reset, and the
//! rules that keep delegation honest — an administrator grants only roles and privileges
//! they hold, only within their own scope, never edits their own roles, and a new IdP
//! administrator waits for a different administrator's approval (4.1.2).

use crate::actor::Actor;
use crate::approval::{self, ApprovalRequest};
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result, password, setup};
use castellan_model::{AdminId, AdminRole, AdminType, Credential, Privilege};
use castellan_store::{AdminData, AdminRecord};
use serde_json::json;
use zeroize::Zeroizing;

/// How long an IdP invitation link stays valid.
pub const INVITATION_DAYS: i64 = 7;

/// A new administrator.
#[derive(Clone, Debug, Default)]
pub struct NewAdministrator {
    /// Login.
    pub login: String,
    /// E-mail.
    pub email: String,
    /// Forename.
    pub forename: String,
    /// Surname.
    pub surname: String,
    /// Title.
    pub title: String,
    /// Telephone.
    pub telephone: String,
    /// Relationship.
    pub relationship: String,
    /// Type (`STANDARD` when not given).
    pub admin_type: Option<AdminType>,
    /// Initial password (STANDARD and API administrators).
    pub password: Option<Zeroizing<String>>,
    /// Roles and scopes (at least one).
    pub credentials: Vec<Credential>,
    /// Privileges.
    pub privileges: Vec<Privilege>,
    /// Client certificate serial for `/private/api` (hex, colons allowed).
    pub auth_cert_serial: Option<String>,
    /// Federated identity (eduPersonPrincipalName) of an IdP administrator.
    pub idp_person_id: Option<String>,
    /// `false` to create the account suspended.
    pub active: Option<bool>,
}

/// Changes to an administrator: `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AdministratorPatch {
    /// Login.
    pub login: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Forename.
    pub forename: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Telephone.
    pub telephone: Option<String>,
    /// Relationship.
    pub relationship: Option<String>,
    /// A new password set by another administrator (forces a change at next sign-in).
    pub password: Option<Zeroizing<String>>,
    /// New roles and scopes (replacing the old ones).
    pub credentials: Option<Vec<Credential>>,
    /// New privileges (replacing the old ones).
    pub privileges: Option<Vec<Privilege>>,
    /// Client certificate serial.
    pub auth_cert_serial: Option<String>,
    /// `false` suspends, `true` activates.
    pub active: Option<bool>,
}

/// A plausible e-mail address: one `@`, something before it, a dotted domain after it.
pub fn plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && !domain.contains('@')
                && email.len() <= 254
        }
        None => false,
    }
}

/// Normalises a certificate serial: lower-case hex without `0x`, colons or leading zeros.
pub fn normalize_serial(serial: &str) -> Result<String> {
    let s = serial.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let hex: String = s.chars().filter(|c| *c != ':').collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(RaError::InvalidInput {
            field: "certificateSerialNumber",
            reason: format!("'{serial}' is not a hexadecimal serial number"),
        });
    }
    let trimmed = hex.trim_start_matches('0').to_ascii_lowercase();
    Ok(if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed
    })
}

/// The administrator as JSON for the audit log: never the password hash.
pub(crate) fn audit_view(admin: &AdminData) -> serde_json::Value {
    json!({
        "login": admin.login, "email": admin.email, "forename": admin.forename,
        "surname": admin.surname, "type": admin.admin_type.as_str(),
        "activeStatus": if admin.active { "ACTIVE" } else { "SUSPENDED" },
        "approved": admin.approved,
        "credentials": admin.credentials.iter()
            .map(|c| json!({"role": c.role.as_str(), "orgId": c.scope.0}))
            .collect::<Vec<_>>(),
        "privileges": admin.privileges.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "authCert": admin.auth_cert_serial, "idpPersonId": admin.idp_person_id,
    })
}

fn check_details(admin: &AdminData) -> Result<()> {
    setup::check_login(&admin.login)?;
    if !plausible_email(&admin.email) {
        return Err(RaError::InvalidInput {
            field: "email",
            reason: format!("'{}' is not an e-mail address", admin.email),
        });
    }
    Ok(())
}

impl Authority {
    /// The administrators the actor can see: all for an MRAO; otherwise themselves and
    /// every administrator with a role inside the actor's organisations and departments.
    pub async fn admins(&self, actor: &Actor) -> Result<Vec<AdminRecord>> {
        let tree = OrgTree::load(&self.store).await?;
        Ok(self
            .store
            .admins()
            .await?
            .into_iter()
            .filter(|a| visible(actor, &tree, a))
            .collect())
    }

    /// One administrator the actor can see.
    pub async fn admin(&self, actor: &Actor, id: AdminId) -> Result<AdminRecord> {
        let tree = OrgTree::load(&self.store).await?;
        let admin = self.store.admin(id).await?.ok_or_else(|| not_found(id))?;
        check_visible(actor, &tree, &admin)?;
        Ok(admin)
    }

    /// Creates an administrator. STANDARD administrators must change the initial password
    /// at first sign-in; IDP administrators wait for a different administrator's approval.
    pub async fn create_admin(&self, actor: &Actor, new: NewAdministrator) -> Result<AdminId> {
        actor.require(Privilege::AllowCreate, "create administrators")?;
        let tree = OrgTree::load(&self.store).await?;
        let admin_type = new.admin_type.unwrap_or(AdminType::Standard);
        if new.credentials.is_empty() {
            return Err(RaError::InvalidInput {
                field: "credentials",
                reason: "give at least one role, e.g. {\"role\": \"RAO_SSL\", \"orgId\": 12}"
                    .into(),
            });
        }
        for credential in &new.credentials {
            tree.check_grant(actor, credential)?;
        }
        check_privileges(actor, &new.privileges, &[])?;
        let password_hash = match (admin_type, new.password.as_deref().map(String::as_str)) {
            (AdminType::Idp, Some(p)) if !p.is_empty() => {
                return Err(RaError::InvalidInput {
                    field: "password",
                    reason: "IdP administrators sign in through their identity provider and \
                             have no password"
                        .into(),
                });
            }
            (AdminType::Idp, _) => None,
            (_, None) | (_, Some("")) => {
                return Err(RaError::InvalidInput {
                    field: "password",
                    reason: format!(
                        "{} administrators need an initial password",
                        admin_type.as_str()
                    ),
                });
            }
            (_, Some(p)) => {
                password::check_strength(p)?;
                Some(password::hash(p, self.rng.as_ref())?)
            }
        };
        let data = AdminData {
            login: new.login.trim().to_owned(),
            email: new.email.trim().to_owned(),
            forename: new.forename,
            surname: new.surname,
            title: new.title,
            telephone: new.telephone,
            relationship: new.relationship,
            admin_type,
            password_hash,
            must_change_password: admin_type == AdminType::Standard,
            active: new.active.unwrap_or(true),
            approved: admin_type != AdminType::Idp,
            auth_cert_serial: new
                .auth_cert_serial
                .filter(|s| !s.trim().is_empty())
                .map(|s| normalize_serial(&s))
                .transpose()?
                .unwrap_or_default(),
            idp_person_id: new.idp_person_id.unwrap_or_default().trim().to_owned(),
            credentials: dedup(new.credentials),
            privileges: dedup(new.privileges),
            created_by: actor.admin_id,
        };
        check_details(&data)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_admin(&data, now).await?;
        let first_scope = data.credentials[0].scope;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "admin.create",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: (first_scope.0 != 0).then_some(first_scope),
                description: format!(
                    "Administrator '{}' ({}) created",
                    data.login,
                    admin_type.as_str()
                ),
            },
            None,
            Some(audit_view(&data)),
        )
        .await?;
        self.queue_admin_created(&mut tx, now, id, &data, actor)
            .await?;
        if admin_type == AdminType::Idp {
            approval::request(
                &mut tx,
                actor,
                now,
                ApprovalRequest {
                    action: approval::APPROVE_IDP_ADMIN,
                    object_type: "admin",
                    object_id: id.0,
                    scope: first_scope,
                    area: None,
                    privilege: None,
                    description: format!(
                        "IdP administrator '{}' awaits approval by a different administrator",
                        data.login
                    ),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Updates an administrator. Nobody changes their own roles, privileges or status;
    /// an administrator edits others only with `allowEdit` and only if every role the
    /// other holds (and every new one) is one they could grant.
    pub async fn update_admin(
        &self,
        actor: &Actor,
        id: AdminId,
        patch: AdministratorPatch,
    ) -> Result<AdminRecord> {
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let current = tx.admin(id).await?.ok_or_else(|| not_found(id))?;
        let is_self = actor.admin_id == Some(id);
        if is_self {
            if patch.credentials.is_some() || patch.privileges.is_some() {
                return Err(RaError::NotAllowed(
                    "you cannot change your own roles or privileges; ask another administrator"
                        .into(),
                ));
            }
            if patch.active.is_some_and(|a| a != current.data.active) {
                return Err(RaError::NotAllowed(
                    "you cannot suspend or activate your own account".into(),
                ));
            }
            if patch.password.is_some() {
                return Err(RaError::NotAllowed(
                    "change your own password with changepassword, which asks for the current \
                     one"
                    .into(),
                ));
            }
        } else {
            check_visible(actor, &tree, &current)?;
            actor.require(Privilege::AllowEdit, "edit administrators")?;
            check_manageable(actor, &tree, &current)?;
        }
        let mut data = current.data.clone();
        let set = |field: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *field = v.trim().to_owned();
            }
        };
        set(&mut data.login, patch.login);
        set(&mut data.email, patch.email);
        set(&mut data.forename, patch.forename);
        set(&mut data.surname, patch.surname);
        set(&mut data.title, patch.title);
        set(&mut data.telephone, patch.telephone);
        set(&mut data.relationship, patch.relationship);
        if let Some(serial) = patch.auth_cert_serial {
            data.auth_cert_serial = if serial.trim().is_empty() {
                String::new()
            } else {
                normalize_serial(&serial)?
            };
        }
        if let Some(credentials) = patch.credentials {
            if credentials.is_empty() {
                return Err(RaError::InvalidInput {
                    field: "credentials",
                    reason: "an administrator needs at least one role".into(),
                });
            }
            for credential in &credentials {
                if !current.data.credentials.contains(credential) {
                    tree.check_grant(actor, credential)?;
                }
            }
            data.credentials = dedup(credentials);
        }
        if let Some(privileges) = patch.privileges {
            check_privileges(actor, &privileges, &current.data.privileges)?;
            data.privileges = dedup(privileges);
        }
        if let Some(active) = patch.active {
            data.active = active;
        }
        // Only what changes is checked, so an old value (the first MRAO's default
        // admin@localhost, say) does not block unrelated edits.
        if data.login != current.data.login {
            setup::check_login(&data.login)?;
        }
        if data.email != current.data.email && !plausible_email(&data.email) {
            return Err(RaError::InvalidInput {
                field: "email",
                reason: format!("'{}' is not an e-mail address", data.email),
            });
        }
        if is_last_active_mrao(&self.store.admins().await?, &current)
            && (!data.active || !data.credentials.iter().any(|c| c.role == AdminRole::Mrao))
        {
            return Err(RaError::Conflict(
                "this is the last active MRAO; create or activate another one first".into(),
            ));
        }
        tx.update_admin(id, &data, now).await?;
        let mut what = Vec::new();
        if data.active != current.data.active {
            what.push(if data.active {
                "activated"
            } else {
                "suspended"
            });
        }
        if let Some(new_password) = patch.password {
            if current.data.admin_type == AdminType::Idp && current.data.password_hash.is_none() {
                return Err(RaError::InvalidInput {
                    field: "password",
                    reason: "IdP administrators have no password".into(),
                });
            }
            password::check_strength(&new_password)?;
            let hash = password::hash(&new_password, self.rng.as_ref())?;
            tx.set_admin_password(id, Some(&hash), true, now).await?;
            tx.delete_admin_sessions(id).await?;
            what.push("password reset (to be changed at next sign-in)");
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "admin.update",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: data
                    .credentials
                    .first()
                    .map(|c| c.scope)
                    .filter(|s| s.0 != 0),
                description: if what.is_empty() {
                    format!("Administrator '{}' updated", data.login)
                } else {
                    format!(
                        "Administrator '{}' updated: {}",
                        data.login,
                        what.join(", ")
                    )
                },
            },
            Some(audit_view(&current.data)),
            Some(audit_view(&data)),
        )
        .await?;
        let updated = tx.admin(id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes an administrator (`allowDelete`, within scope, never oneself or the last
    /// active MRAO).
    pub async fn delete_admin(&self, actor: &Actor, id: AdminId) -> Result<()> {
        let tree = OrgTree::load(&self.store).await?;
        if actor.admin_id == Some(id) {
            return Err(RaError::NotAllowed(
                "you cannot delete your own account; ask another administrator".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let current = tx.admin(id).await?.ok_or_else(|| not_found(id))?;
        check_visible(actor, &tree, &current)?;
        actor.require(Privilege::AllowDelete, "delete administrators")?;
        check_manageable(actor, &tree, &current)?;
        if is_last_active_mrao(&self.store.admins().await?, &current) {
            return Err(RaError::Conflict(
                "this is the last active MRAO; create or activate another one first".into(),
            ));
        }
        tx.delete_admin(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "admin.delete",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: current
                    .data
                    .credentials
                    .first()
                    .map(|c| c.scope)
                    .filter(|s| s.0 != 0),
                description: format!("Administrator '{}' deleted", current.data.login),
            },
            Some(audit_view(&current.data)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// "Send IdP invitation" (guide 3.1.3): another administrator invites a local account
    /// to link a federated login. Returns the one-time token for the link (sent by e-mail
    /// once notifications exist).
    pub async fn send_idp_invitation(
        &self,
        actor: &Actor,
        id: AdminId,
    ) -> Result<Zeroizing<String>> {
        if actor.admin_id == Some(id) {
            return Err(RaError::NotAllowed(
                "you cannot send an IdP invitation to your own account; another administrator \
                 must send it"
                    .into(),
            ));
        }
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let current = tx.admin(id).await?.ok_or_else(|| not_found(id))?;
        check_visible(actor, &tree, &current)?;
        actor.require(Privilege::AllowEdit, "send IdP invitations")?;
        check_manageable(actor, &tree, &current)?;
        if current.data.admin_type != AdminType::Standard {
            return Err(RaError::InvalidInput {
                field: "type",
                reason: "IdP invitations link a federated login to a STANDARD (local) account"
                    .into(),
            });
        }
        let token = crate::tokens::new_token(self.rng.as_ref())?;
        let actor_id = actor.admin_id.unwrap_or(id);
        tx.insert_invitation(
            &crate::tokens::digest(&token),
            id,
            crate::tokens::IDP_INVITATION,
            actor_id,
            now + INVITATION_DAYS * 86_400,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "admin.idp-invitation",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: current
                    .data
                    .credentials
                    .first()
                    .map(|c| c.scope)
                    .filter(|s| s.0 != 0),
                description: format!(
                    "IdP invitation sent to '{}' <{}>",
                    current.data.login, current.data.email
                ),
            },
            None::<serde_json::Value>,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Follows an IdP invitation: links `eppn` to the invited account. The next local
    /// sign-in must reset the password (guide 3.1.3).
    pub async fn accept_idp_invitation(
        &self,
        token: &str,
        eppn: &str,
        address: &str,
    ) -> Result<AdminId> {
        let eppn = eppn.trim();
        if eppn.is_empty() || !eppn.contains('@') {
            return Err(RaError::InvalidInput {
                field: "eduPersonPrincipalName",
                reason: format!("'{eppn}' is not an eduPersonPrincipalName (user@scope)"),
            });
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(id) = tx
            .take_invitation(
                &crate::tokens::digest(token),
                crate::tokens::IDP_INVITATION,
                now,
            )
            .await?
        else {
            return Err(RaError::NotAllowed(
                "this invitation link is unknown, expired or already used; ask an administrator \
                 to send a new one"
                    .into(),
            ));
        };
        let current = tx.admin(id).await?.ok_or_else(|| not_found(id))?;
        let mut data = current.data.clone();
        data.idp_person_id = eppn.to_owned();
        data.must_change_password = true;
        tx.update_admin(id, &data, now).await?;
        let actor = Actor::admin(&current, castellan_model::AccessMethod::Portal, address);
        audit::record(
            &mut tx,
            &actor,
            now,
            Change {
                action: "admin.idp-linked",
                object_type: "admin",
                object_id: id.to_string(),
                org_id: None,
                description: format!(
                    "Federated login '{eppn}' linked to '{}'; the next local sign-in must reset \
                     the password",
                    data.login
                ),
            },
            Some(audit_view(&current.data)),
            Some(audit_view(&data)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

/// Whether `actor` may see `admin`.
fn visible(actor: &Actor, tree: &OrgTree, admin: &AdminRecord) -> bool {
    actor.is_mrao()
        || actor.admin_id == Some(admin.id)
        || admin
            .data
            .credentials
            .iter()
            .any(|c| c.role != AdminRole::Mrao && actor.covers(tree, c.scope, None))
}

/// Refuses unless `actor` may see `admin`.
fn check_visible(actor: &Actor, tree: &OrgTree, admin: &AdminRecord) -> Result<()> {
    if visible(actor, tree, admin) {
        Ok(())
    } else {
        Err(RaError::NotAllowed(format!(
            "administrator {} is outside your organizations and departments",
            admin.id
        )))
    }
}

/// Refuses unless `actor` could have granted every role `admin` holds.
fn check_manageable(actor: &Actor, tree: &OrgTree, admin: &AdminRecord) -> Result<()> {
    for credential in &admin.data.credentials {
        if let Err(RaError::NotAllowed(reason)) = tree.check_grant(actor, credential) {
            return Err(RaError::NotAllowed(format!(
                "you cannot manage administrator '{}', who holds {} for {}: {}",
                admin.data.login,
                credential.role,
                tree.describe(credential.scope),
                reason
                    .split_once(": ")
                    .map(|(_, why)| why.to_owned())
                    .unwrap_or(reason)
            )));
        }
    }
    Ok(())
}

/// Refuses privileges the actor does not hold (those the target already had may stay).
fn check_privileges(actor: &Actor, wanted: &[Privilege], already: &[Privilege]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|p| !already.contains(p) && !actor.has(**p))
        .map(|p| p.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RaError::NotAllowed(format!(
            "you cannot grant the privilege{} {}: you do not hold {} yourself; ask the operator \
             (MRAO) to grant {}",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "them" } else { "it" },
            if missing.len() > 1 { "them" } else { "it" },
        )))
    }
}

fn is_last_active_mrao(all: &[AdminRecord], admin: &AdminRecord) -> bool {
    let is_mrao = |a: &AdminRecord| {
        a.data.active && a.data.credentials.iter().any(|c| c.role == AdminRole::Mrao)
    };
    is_mrao(admin) && all.iter().filter(|a| is_mrao(a)).count() == 1
}

fn dedup<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items.dedup();
    items
}

fn not_found(id: AdminId) -> RaError {
    RaError::NotFound {
        what: "administrator",
        key: id.to_string(),
    }
}
