//! ACME accounts as SCM has them (guide 7.4.4 and 10; SCM API §11): an administrator
//! creates an account for an organisation or department on one of the ACME servers, and
//! Castellan hands out External Account Binding credentials (`macId`, `macKey`) that an ACME
//! client (certbot, lego) registers with. The account lists the domains it may order for;
//! each must be delegated to its organisation or department for SSL.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::coverage::covers_normalized;
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{AcmeAccountId, CertificateType, OrgId};
use castellan_pki::names::normalize_dns_name;
use castellan_store::{AcmeAccountRecord, NewAcmeAccount};

/// How an ACME server authorises the names of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizationMode {
    /// The SCM model: a name is authorised when it is on the ACME account's domain list,
    /// delegated to its organisation or department, with a valid DCV. No challenges.
    PreValidated,
    /// The Let's Encrypt model: a name on the account's domain list and delegated is
    /// authorised once the client answers a challenge (http-01, dns-01, tls-alpn-01).
    Challenges,
}

/// The challenge types Castellan can check.
pub const CHALLENGE_TYPES: [&str; 3] = ["http-01", "dns-01", "tls-alpn-01"];

fn all_challenge_types() -> Vec<String> {
    CHALLENGE_TYPES.iter().map(|t| (*t).to_owned()).collect()
}

fn pre_validated() -> AuthorizationMode {
    AuthorizationMode::PreValidated
}

/// An ACME server: one directory, with the validation type and the profiles its orders use.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeServer {
    /// Its name, as administrators pick it (`OV ACME Server`).
    pub name: String,
    /// The path segment of its directory: `<base_url>/acme/<path>/directory`.
    pub path: String,
    /// `OV` or `EV`.
    pub validation_type: String,
    /// The certificate profiles its orders may use, the first being the default.
    pub profiles: Vec<String>,
    /// How names are authorised (`pre-validated`, the default, or `challenges`).
    #[serde(default = "pre_validated")]
    pub authorization: AuthorizationMode,
    /// The challenge types offered in `challenges` mode.
    #[serde(default = "all_challenge_types")]
    pub challenge_types: Vec<String>,
    /// Open registration: the key id (`macId`) of the ACME account that clients registering
    /// without External Account Binding are bound to. Empty (the default): EAB is required.
    #[serde(default)]
    pub open_registration_account: String,
}

impl AcmeServer {
    /// Whether clients may register without External Account Binding.
    pub fn open_registration(&self) -> bool {
        !self.open_registration_account.is_empty()
    }

    /// Checks a configured server against the profiles there are.
    fn check(
        &self,
        profiles: &castellan_pki::profile::ProfileSet,
    ) -> std::result::Result<(), String> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Err("an ACME server needs a name".into());
        }
        if self.path.is_empty()
            || !self
                .path
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "ACME server '{name}': path '{}' must be lower-case letters, digits and '-'",
                self.path
            ));
        }
        if self.profiles.is_empty() {
            return Err(format!("ACME server '{name}' names no profile"));
        }
        for profile in &self.profiles {
            if profiles.find(profile).is_none() {
                return Err(format!(
                    "ACME server '{name}': there is no certificate profile '{profile}'"
                ));
            }
        }
        for kind in &self.challenge_types {
            if !CHALLENGE_TYPES.contains(&kind.as_str()) {
                return Err(format!(
                    "ACME server '{name}': challenge type '{kind}' is not one of {}",
                    CHALLENGE_TYPES.join(", ")
                ));
            }
        }
        if self.authorization == AuthorizationMode::Challenges && self.challenge_types.is_empty() {
            return Err(format!(
                "ACME server '{name}' authorises by challenges but offers none"
            ));
        }
        Ok(())
    }
}

/// The ACME servers Castellan offers: OV (single name, several names, wildcards) and EV.
pub fn default_servers() -> Vec<AcmeServer> {
    vec![
        AcmeServer {
            name: "OV ACME Server".into(),
            path: "ov".into(),
            validation_type: "OV".into(),
            profiles: vec![
                "OV Multi-Domain SSL".into(),
                "OV SSL".into(),
                "Wildcard SSL".into(),
            ],
            authorization: AuthorizationMode::PreValidated,
            challenge_types: all_challenge_types(),
            open_registration_account: String::new(),
        },
        AcmeServer {
            name: "EV ACME Server".into(),
            path: "ev".into(),
            validation_type: "EV".into(),
            profiles: vec!["EV Multi-Domain SSL".into(), "EV SSL".into()],
            authorization: AuthorizationMode::PreValidated,
            challenge_types: all_challenge_types(),
            open_registration_account: String::new(),
        },
    ]
}

/// The `[acme]` settings: the servers, challenge checking, authorization reuse, rate limits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AcmeSettings {
    /// The ACME servers; empty for the two defaults (OV and EV, pre-validated).
    pub servers: Vec<AcmeServer>,
    /// How long a name proven by a challenge stays proven for the same ACME account's later
    /// orders, in days.
    pub authorization_reuse_days: i64,
    /// How many times a challenge check that got no answer (a DNS failure, a refused
    /// connection) is made before the authorization is invalid.
    pub challenge_attempts: u32,
    /// Seconds between those attempts.
    pub challenge_retry_seconds: u64,
    /// New orders (renewals not counted) one ACME account may place per hour; 0 for no limit.
    pub orders_per_account_per_hour: i64,
    /// New orders (renewals not counted) that may name one registered domain (a Domains
    /// entry) per week; 0 for no limit.
    pub orders_per_domain_per_week: i64,
}

impl Default for AcmeSettings {
    fn default() -> AcmeSettings {
        AcmeSettings {
            servers: Vec::new(),
            authorization_reuse_days: 30,
            challenge_attempts: 3,
            challenge_retry_seconds: 2,
            orders_per_account_per_hour: 300,
            orders_per_domain_per_week: 1000,
        }
    }
}

impl AcmeSettings {
    /// The servers, the defaults when none are configured.
    pub fn effective_servers(&self) -> Vec<AcmeServer> {
        if self.servers.is_empty() {
            default_servers()
        } else {
            self.servers.clone()
        }
    }

    /// Refuses unusable settings, naming the setting.
    pub fn check(
        &self,
        profiles: &castellan_pki::profile::ProfileSet,
    ) -> std::result::Result<(), String> {
        let servers = self.effective_servers();
        for (i, server) in servers.iter().enumerate() {
            server.check(profiles)?;
            if servers[..i]
                .iter()
                .any(|s| s.path == server.path || s.name == server.name)
            {
                return Err(format!(
                    "two ACME servers share the name '{}' or the path '{}'",
                    server.name, server.path
                ));
            }
        }
        if self.authorization_reuse_days < 0 || self.authorization_reuse_days > 398 {
            return Err(
                "acme.authorization_reuse_days must be 0 to 398 (Baseline Requirements \
                        §4.2.1)"
                    .into(),
            );
        }
        if self.challenge_attempts == 0 || self.challenge_attempts > 10 {
            return Err("acme.challenge_attempts must be 1 to 10".into());
        }
        if self.challenge_retry_seconds > 60 {
            return Err("acme.challenge_retry_seconds must be at most 60".into());
        }
        if self.orders_per_account_per_hour < 0 || self.orders_per_domain_per_week < 0 {
            return Err("acme rate limits must be 0 (no limit) or more".into());
        }
        Ok(())
    }
}

/// The credentials an ACME client registers with, shown once when the account is made.
#[derive(Clone, PartialEq, Eq)]
pub struct EabCredentials {
    /// The key id (`macId`, also SCM's `accountId`).
    pub mac_id: String,
    /// The HMAC key, base64url (`macKey`).
    pub mac_key: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for EabCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EabCredentials({}, …)", self.mac_id)
    }
}

/// An ACME account as administrators see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeAccountView {
    /// The stored account.
    pub record: AcmeAccountRecord,
    /// Its server.
    pub server: AcmeServer,
    /// The directory URL clients are configured with.
    pub directory_url: String,
    /// The EAB MAC key while no client has registered with it (SCM shows it with the
    /// account; Castellan stops showing it once it is in use).
    pub mac_key: Option<zeroize::Zeroizing<String>>,
}

/// The AAD an account's MAC key is sealed under.
fn mac_key_purpose(mac_id: &str) -> String {
    format!("acme-mac-key:{mac_id}")
}

impl Authority {
    /// An ACME account's EAB MAC key, opened from the KEK.
    pub(crate) fn open_mac_key(
        &self,
        account: &AcmeAccountRecord,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        Ok(self.kek.open(
            &account.account.encrypted_mac_key,
            &mac_key_purpose(&account.account.mac_id),
        )?)
    }
}

/// An account name, trimmed: 1 to 256 characters.
fn account_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(RaError::InvalidInput {
            field: "name",
            reason: "give the account a name of 1 to 256 characters".into(),
        });
    }
    Ok(name)
}

fn not_found(id: AcmeAccountId) -> RaError {
    RaError::NotFound {
        what: "ACME account",
        key: id.to_string(),
    }
}

impl Authority {
    /// The ACME servers.
    pub fn acme_servers(&self) -> &[AcmeServer] {
        &self.acme_servers
    }

    /// Replaces the `[acme]` settings (refused with the setting's name if unusable).
    pub fn with_acme(mut self, settings: AcmeSettings) -> Result<Authority> {
        settings
            .check(&self.profiles)
            .map_err(|reason| RaError::InvalidInput {
                field: "acme",
                reason,
            })?;
        self.acme_servers = settings.effective_servers();
        self.acme = settings;
        Ok(self)
    }

    /// The `[acme]` settings.
    pub fn acme_settings(&self) -> &AcmeSettings {
        &self.acme
    }

    /// The directory URL of `server`.
    pub fn acme_directory_url(&self, server: &AcmeServer) -> String {
        format!(
            "{}/acme/{}/directory",
            self.validation.settings.base_url.trim_end_matches('/'),
            server.path
        )
    }

    /// Whether `account` belongs to the server whose directory is under `server_path`.
    pub(crate) fn acme_account_on(&self, account: &AcmeAccountRecord, server_path: &str) -> bool {
        self.acme_server_at(&account.account.server, server_path)
    }

    /// Whether the server named `name` is the one whose directory is under `server_path`.
    pub(crate) fn acme_server_at(&self, name: &str, server_path: &str) -> bool {
        self.acme_servers
            .iter()
            .any(|s| s.path == server_path && s.name == name)
    }

    /// The server named `given` (by name or directory URL, as SCM clients send either).
    fn acme_server(&self, given: &str) -> Result<&AcmeServer> {
        let given = given.trim();
        self.acme_servers
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(given) || self.acme_directory_url(s) == given)
            .ok_or_else(|| RaError::InvalidInput {
                field: "acmeServer",
                reason: format!(
                    "'{given}' is not an ACME server here; choose one of: {}",
                    self.acme_servers
                        .iter()
                        .map(|s| format!("'{}'", s.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    fn acme_view(&self, record: AcmeAccountRecord) -> Result<AcmeAccountView> {
        let server = self
            .acme_servers
            .iter()
            .find(|s| s.name == record.account.server)
            .cloned()
            .unwrap_or_else(|| AcmeServer {
                name: record.account.server.clone(),
                path: String::new(),
                validation_type: String::new(),
                profiles: Vec::new(),
                authorization: AuthorizationMode::PreValidated,
                challenge_types: Vec::new(),
                open_registration_account: String::new(),
            });
        let mac_key = if record.status == "pending" {
            let key = self.open_mac_key(&record)?;
            Some(zeroize::Zeroizing::new(crate::b64url(&key)))
        } else {
            None
        };
        Ok(AcmeAccountView {
            directory_url: self.acme_directory_url(&server),
            server,
            record,
            mac_key,
        })
    }

    /// Whether the actor manages ACME accounts of `org`: the operator, or an administrator
    /// whose SSL role reaches it.
    fn require_acme_scope(actor: &Actor, tree: &OrgTree, org: OrgId, to: &str) -> Result<()> {
        if actor.covers(tree, org, Some(CertificateType::Ssl)) {
            Ok(())
        } else {
            Err(RaError::NotAllowed(format!(
                "only the operator (MRAO) or an SSL administrator of {} can {to}",
                tree.describe(org)
            )))
        }
    }

    /// Creates an ACME account for `org` on `server`; returns its id and the EAB
    /// credentials, which are not shown again (the MAC key is kept sealed under the KEK).
    pub async fn create_acme_account(
        &self,
        actor: &Actor,
        name: &str,
        server: &str,
        org: OrgId,
    ) -> Result<(AcmeAccountId, EabCredentials)> {
        let tree = OrgTree::load(&self.store).await?;
        if tree.get(org).is_none() {
            return Err(RaError::NotFound {
                what: "organization or department",
                key: org.to_string(),
            });
        }
        Self::require_acme_scope(actor, &tree, org, "create ACME accounts for it")?;
        let name = account_name(name)?;
        let server = self.acme_server(server)?.clone();
        let mut id_bytes = [0u8; 16];
        self.rng.fill(&mut id_bytes)?;
        let mut key_bytes = zeroize::Zeroizing::new([0u8; 32]);
        self.rng.fill(key_bytes.as_mut())?;
        let mac_id = crate::b64url(&id_bytes);
        let mac_key = zeroize::Zeroizing::new(crate::b64url(key_bytes.as_ref()));
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_acme_account(&NewAcmeAccount {
                name: name.to_owned(),
                org_id: org,
                server: server.name.clone(),
                mac_id: mac_id.clone(),
                encrypted_mac_key: self.kek.seal(
                    key_bytes.as_ref(),
                    &mac_key_purpose(&mac_id),
                    self.rng.as_ref(),
                )?,
                created_by: actor.admin_id,
                created_at: now,
            })
            .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "acme.create",
                object_type: "acme_account",
                object_id: id.to_string(),
                org_id: Some(org),
                description: format!(
                    "ACME account '{name}' created for {} on the {} (key id {mac_id})",
                    tree.describe(org),
                    server.name
                ),
            },
            None,
            None,
        )
        .await?;
        self.queue_acme_account_created(
            &mut tx,
            now,
            id.0,
            name,
            &server.name,
            &mac_id,
            org,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok((id, EabCredentials { mac_id, mac_key }))
    }

    /// The ACME accounts the actor may see, optionally of one organisation or department
    /// (with its departments unless `org_only`).
    pub async fn acme_accounts(
        &self,
        actor: &Actor,
        org: Option<OrgId>,
        org_only: bool,
    ) -> Result<Vec<AcmeAccountView>> {
        let tree = OrgTree::load(&self.store).await?;
        self.store
            .acme_accounts()
            .await?
            .into_iter()
            .filter(|a| actor.covers(&tree, a.account.org_id, Some(CertificateType::Ssl)))
            .filter(|a| match org {
                None => true,
                Some(o) if org_only => a.account.org_id == o,
                Some(o) => a.account.org_id == o || tree.organization_of(a.account.org_id) == o,
            })
            .map(|a| self.acme_view(a))
            .collect()
    }

    /// One ACME account (out of scope reads as not found).
    pub async fn acme_account(&self, actor: &Actor, id: AcmeAccountId) -> Result<AcmeAccountView> {
        let tree = OrgTree::load(&self.store).await?;
        let record = self
            .store
            .acme_account(id)
            .await?
            .filter(|a| actor.covers(&tree, a.account.org_id, Some(CertificateType::Ssl)))
            .ok_or_else(|| not_found(id))?;
        self.acme_view(record)
    }

    /// Renames an ACME account.
    pub async fn rename_acme_account(
        &self,
        actor: &Actor,
        id: AcmeAccountId,
        name: &str,
    ) -> Result<()> {
        let view = self.acme_account(actor, id).await?;
        let name = account_name(name)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.rename_acme_account(id, name).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "acme.update",
                object_type: "acme_account",
                object_id: id.to_string(),
                org_id: Some(view.record.account.org_id),
                description: format!(
                    "ACME account '{}' renamed to '{name}'",
                    view.record.account.name
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an ACME account: its credentials stop working at once.
    pub async fn delete_acme_account(&self, actor: &Actor, id: AcmeAccountId) -> Result<()> {
        let view = self.acme_account(actor, id).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.delete_acme_account(id).await? {
            return Err(not_found(id));
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "acme.delete",
                object_type: "acme_account",
                object_id: id.to_string(),
                org_id: Some(view.record.account.org_id),
                description: format!("ACME account '{}' deleted", view.record.account.name),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds domains to an ACME account; returns those not added, each with the reason
    /// (not a domain name, or not delegated to the account's organisation or department
    /// for SSL). Names already on the account count as added.
    pub async fn add_acme_domains(
        &self,
        actor: &Actor,
        id: AcmeAccountId,
        names: &[String],
    ) -> Result<Vec<(String, String)>> {
        let view = self.acme_account(actor, id).await?;
        let org = view.record.account.org_id;
        let tree = OrgTree::load(&self.store).await?;
        let domains = self.store.domains().await?;
        let mut refused = Vec::new();
        let mut accepted = Vec::new();
        for raw in names {
            let name = match normalize_dns_name(raw.trim()) {
                Ok(n) => n,
                Err(e) => {
                    refused.push((raw.clone(), e.to_string()));
                    continue;
                }
            };
            let delegated = domains.iter().any(|d| {
                covers_normalized(&d.name, &name)
                    && d.delegations
                        .iter()
                        .any(|g| g.org_id == org && g.cert_type == CertificateType::Ssl && g.active)
            });
            if delegated {
                accepted.push(name);
            } else {
                refused.push((
                    raw.clone(),
                    format!(
                        "it is not delegated to {} for SSL certificates",
                        tree.describe(org)
                    ),
                ));
            }
        }
        if !accepted.is_empty() {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            for name in &accepted {
                tx.add_acme_domain(id, name).await?;
            }
            audit::record(
                &mut tx,
                actor,
                now,
                Change {
                    action: "acme.domains.add",
                    object_type: "acme_account",
                    object_id: id.to_string(),
                    org_id: Some(org),
                    description: format!(
                        "domains added to ACME account '{}': {}",
                        view.record.account.name,
                        accepted.join(", ")
                    ),
                },
                None,
                None,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(refused)
    }

    /// Removes domains from an ACME account; returns those it did not have.
    pub async fn remove_acme_domains(
        &self,
        actor: &Actor,
        id: AcmeAccountId,
        names: &[String],
    ) -> Result<Vec<String>> {
        let view = self.acme_account(actor, id).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut missing = Vec::new();
        let mut removed = Vec::new();
        for raw in names {
            let name = raw.trim().trim_end_matches('.').to_ascii_lowercase();
            if tx.remove_acme_domain(id, &name).await? {
                removed.push(name);
            } else {
                missing.push(raw.clone());
            }
        }
        if !removed.is_empty() {
            audit::record(
                &mut tx,
                actor,
                now,
                Change {
                    action: "acme.domains.remove",
                    object_type: "acme_account",
                    object_id: id.to_string(),
                    org_id: Some(view.record.account.org_id),
                    description: format!(
                        "domains removed from ACME account '{}': {}",
                        view.record.account.name,
                        removed.join(", ")
                    ),
                },
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(missing)
    }
}
