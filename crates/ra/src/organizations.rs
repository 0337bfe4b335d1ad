//! Organisations (the member institutions) and their departments (guide section 5).
//!
//! The operator (MRAO) creates organisations, validates them and keeps their EV details;
//! an organisation's RAOs may edit its other details — a change of name or address sends a
//! Validated organisation back to Pending, as the guide's 5.2 says — and manage its
//! departments with the `addDepartments` / `editDepartments` privileges.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{CertificateType, OrgId, Privilege};
use castellan_store::{EvData, OrganizationData, OrganizationRecord};
use serde_json::json;

/// Changes to an organisation or department: `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct OrganizationPatch {
    /// Name.
    pub name: Option<String>,
    /// Alias.
    pub alias: Option<String>,
    /// Secondary organisation name (IGTF).
    pub secondary_name: Option<String>,
    /// Address, first line.
    pub address1: Option<String>,
    /// Address, second line.
    pub address2: Option<String>,
    /// Address, third line.
    pub address3: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state_or_province: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country (two letters).
    pub country: Option<String>,
    /// organizationIdentifier for S/MIME.
    pub organization_identifier: Option<String>,
    /// Academic code (SCHAC home organisation).
    pub academic_code: Option<String>,
    /// Contact e-mails, comma-separated.
    pub contact_emails: Option<String>,
    /// Enabled certificate types.
    pub cert_types: Option<Vec<CertificateType>>,
    /// Validation status: `true` Validated, `false` Pending (MRAO only).
    pub validated: Option<bool>,
    /// EV details (MRAO only).
    pub ev: Option<EvData>,
    /// The profiles the organisation may use (ids; empty for all; MRAO only).
    pub enabled_profiles: Option<Vec<i64>>,
}

/// An organisation with the departments the caller may see.
#[derive(Clone, Debug)]
pub struct OrganizationView {
    /// The organisation.
    pub organization: OrganizationRecord,
    /// Its departments visible to the caller.
    pub departments: Vec<OrganizationRecord>,
}

impl OrganizationPatch {
    fn touches_identity(&self, current: &OrganizationData) -> bool {
        let changed = |new: &Option<String>, old: &str| new.as_deref().is_some_and(|n| n != old);
        changed(&self.name, &current.name)
            || changed(&self.address1, &current.address1)
            || changed(&self.address2, &current.address2)
            || changed(&self.address3, &current.address3)
            || changed(&self.city, &current.city)
            || changed(&self.state_or_province, &current.state_or_province)
            || changed(&self.postal_code, &current.postal_code)
            || changed(&self.country, &current.country)
    }

    fn apply(self, data: &mut OrganizationData) {
        let set = |field: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *field = v.trim().to_owned();
            }
        };
        set(&mut data.name, self.name);
        set(&mut data.alias, self.alias);
        set(&mut data.secondary_name, self.secondary_name);
        set(&mut data.address1, self.address1);
        set(&mut data.address2, self.address2);
        set(&mut data.address3, self.address3);
        set(&mut data.city, self.city);
        set(&mut data.state_or_province, self.state_or_province);
        set(&mut data.postal_code, self.postal_code);
        set(
            &mut data.country,
            self.country.map(|c| c.to_ascii_uppercase()),
        );
        set(
            &mut data.organization_identifier,
            self.organization_identifier,
        );
        set(&mut data.academic_code, self.academic_code);
        set(&mut data.contact_emails, self.contact_emails);
        if let Some(types) = self.cert_types {
            data.cert_types = types;
        }
        if let Some(validated) = self.validated {
            data.validated = validated;
        }
        if let Some(ev) = self.ev {
            data.ev = ev;
        }
        if let Some(mut profiles) = self.enabled_profiles {
            profiles.sort_unstable();
            profiles.dedup();
            data.enabled_profiles = profiles;
        }
    }
}

fn check(data: &OrganizationData) -> Result<()> {
    let invalid = |field, reason: &str| {
        Err(RaError::InvalidInput {
            field,
            reason: reason.to_owned(),
        })
    };
    if data.name.is_empty() {
        return invalid("name", "a name is required");
    }
    if data.name.chars().count() > 256 {
        return invalid("name", "at most 256 characters");
    }
    let two_letters =
        data.country.len() == 2 && data.country.chars().all(|c| c.is_ascii_uppercase());
    if !data.country.is_empty() && !two_letters {
        return Err(RaError::InvalidInput {
            field: "country",
            reason: format!(
                "'{}' is not a two-letter ISO 3166 country code such as GB",
                data.country
            ),
        });
    }
    if !data.organization_identifier.is_empty()
        && let Err(reason) = castellan_pki::org_identifier::check(&data.organization_identifier)
    {
        return Err(RaError::InvalidInput {
            field: "organizationIdentifier",
            reason,
        });
    }
    for email in data.contact_emails.split(',').map(str::trim) {
        if !email.is_empty() && !crate::admins::plausible_email(email) {
            return Err(RaError::InvalidInput {
                field: "contactEmails",
                reason: format!("'{email}' is not an e-mail address"),
            });
        }
    }
    Ok(())
}

/// The organisation or department as JSON for the audit log.
pub(crate) fn audit_view(org: &OrganizationData) -> serde_json::Value {
    json!({
        "name": org.name, "alias": org.alias, "secondaryName": org.secondary_name,
        "address1": org.address1, "address2": org.address2, "address3": org.address3,
        "city": org.city, "stateOrProvince": org.state_or_province,
        "postalCode": org.postal_code, "country": org.country,
        "organizationIdentifier": org.organization_identifier,
        "academicCode": org.academic_code, "contactEmails": org.contact_emails,
        "certTypes": org.cert_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "validationStatus": if org.validated { "Validated" } else { "Pending" },
        "enabledProfiles": org.enabled_profiles,
        "ev": {
            "legalName": org.ev.legal_name, "businessCategory": org.ev.business_category,
            "jurisdictionCountry": org.ev.jurisdiction_country,
            "jurisdictionState": org.ev.jurisdiction_state,
            "jurisdictionLocality": org.ev.jurisdiction_locality,
            "registrationNumber": org.ev.registration_number,
            "incorporationDate": org.ev.incorporation_date,
            "assumedName": org.ev.assumed_name,
        },
    })
}

impl Authority {
    /// The organisations the actor can see, each with the departments they can see.
    pub async fn organizations(&self, actor: &Actor) -> Result<Vec<OrganizationView>> {
        let all = self.store.organizations().await?;
        let tree = OrgTree::from_records(&all);
        let mut out: Vec<OrganizationView> = Vec::new();
        for org in all.iter().filter(|o| o.parent_id.is_none()) {
            let departments: Vec<OrganizationRecord> = all
                .iter()
                .filter(|d| d.parent_id == Some(org.id) && actor.covers(&tree, d.id, None))
                .cloned()
                .collect();
            if actor.covers(&tree, org.id, None) || !departments.is_empty() {
                out.push(OrganizationView {
                    organization: org.clone(),
                    departments,
                });
            }
        }
        Ok(out)
    }

    /// One organisation (with its visible departments) or department.
    pub async fn organization(&self, actor: &Actor, id: OrgId) -> Result<OrganizationView> {
        let all = self.store.organizations().await?;
        let tree = OrgTree::from_records(&all);
        let Some(record) = all.iter().find(|o| o.id == id) else {
            return Err(not_found(id));
        };
        let departments: Vec<OrganizationRecord> = all
            .iter()
            .filter(|d| d.parent_id == Some(id) && actor.covers(&tree, d.id, None))
            .cloned()
            .collect();
        if !actor.covers(&tree, id, None) && departments.is_empty() {
            return Err(RaError::NotAllowed(format!(
                "{} is outside your organizations and departments",
                tree.describe(id)
            )));
        }
        Ok(OrganizationView {
            organization: record.clone(),
            departments,
        })
    }

    /// Creates an organisation (MRAO only). New organisations are Pending until the
    /// operator validates them.
    pub async fn create_organization(
        &self,
        actor: &Actor,
        patch: OrganizationPatch,
    ) -> Result<OrgId> {
        actor.require_mrao("create organizations")?;
        let mut data = OrganizationData::default();
        patch.apply(&mut data);
        check(&data)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_organization(None, &data, now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "organization.create",
                object_type: "organization",
                object_id: id.to_string(),
                org_id: Some(id),
                description: format!("Organization '{}' created", data.name),
            },
            None,
            Some(audit_view(&data)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a department to organisation `parent` (MRAO, or an RAO of the organisation
    /// with `addDepartments`).
    pub async fn create_department(
        &self,
        actor: &Actor,
        parent: OrgId,
        patch: OrganizationPatch,
    ) -> Result<OrgId> {
        let tree = OrgTree::load(&self.store).await?;
        match tree.get(parent) {
            None => return Err(not_found(parent)),
            Some(node) if node.parent.is_some() => {
                return Err(RaError::InvalidInput {
                    field: "parentId",
                    reason: format!(
                        "{} is a department; departments belong to an organization",
                        tree.describe(parent)
                    ),
                });
            }
            Some(_) => {}
        }
        self.require_rao_of(actor, &tree, parent, "add departments to")?;
        actor.require(Privilege::AddDepartments, "add departments")?;
        if patch.validated.is_some() || patch.ev.is_some() {
            return Err(RaError::InvalidInput {
                field: "validationStatus",
                reason: "departments share their organization's validation and EV details".into(),
            });
        }
        let mut data = OrganizationData::default();
        patch.apply(&mut data);
        check(&data)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_organization(Some(parent), &data, now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "department.create",
                object_type: "department",
                object_id: id.to_string(),
                org_id: Some(id),
                description: format!(
                    "Department '{}' added to {}",
                    data.name,
                    tree.describe(parent)
                ),
            },
            None,
            Some(audit_view(&data)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Updates an organisation or department. Returns the stored result.
    pub async fn update_organization(
        &self,
        actor: &Actor,
        id: OrgId,
        patch: OrganizationPatch,
    ) -> Result<OrganizationRecord> {
        let tree = OrgTree::load(&self.store).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(current) = tx.organization(id).await? else {
            return Err(not_found(id));
        };
        let is_department = current.parent_id.is_some();
        if patch.validated.is_some_and(|v| v != current.data.validated) {
            actor.require_mrao("change an organization's validation status")?;
        }
        if patch.ev.as_ref().is_some_and(|ev| *ev != current.data.ev) {
            actor.require_mrao("edit EV details (RAOs can read them)")?;
        }
        if patch.enabled_profiles.as_ref().is_some_and(|p| {
            let mut p = p.clone();
            p.sort_unstable();
            p.dedup();
            p != current.data.enabled_profiles
        }) {
            actor.require_mrao("choose the profiles an organization may use")?;
        }
        if is_department && (patch.validated.is_some() || patch.ev.is_some()) {
            return Err(RaError::InvalidInput {
                field: "validationStatus",
                reason: "departments share their organization's validation and EV details".into(),
            });
        }
        if !actor.is_mrao() {
            let org = tree.organization_of(id);
            self.require_rao_of(actor, &tree, org, "edit")?;
            if is_department {
                actor.require(Privilege::EditDepartments, "rename departments")?;
            }
        }
        let mut data = current.data.clone();
        let identity_changed = !is_department && patch.touches_identity(&current.data);
        let explicit_status = patch.validated.is_some();
        patch.apply(&mut data);
        check(&data)?;
        let mut description = format!("{} updated", tree.describe(id));
        if identity_changed && current.data.validated && !explicit_status {
            data.validated = false;
            description
                .push_str("; its name or address changed, so it is Pending validation again");
        }
        tx.update_organization(id, &data, now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if is_department {
                    "department.update"
                } else {
                    "organization.update"
                },
                object_type: if is_department {
                    "department"
                } else {
                    "organization"
                },
                object_id: id.to_string(),
                org_id: Some(id),
                description,
            },
            Some(audit_view(&current.data)),
            Some(audit_view(&data)),
        )
        .await?;
        let updated = tx
            .organization(id)
            .await?
            .ok_or_else(|| RaError::Internal("updated organization vanished".into()))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes an organisation (MRAO) or department (MRAO, or an RAO of its organisation
    /// with `editDepartments`), refused while anything still uses it.
    pub async fn delete_organization(&self, actor: &Actor, id: OrgId) -> Result<()> {
        let tree = OrgTree::load(&self.store).await?;
        let Some(node) = tree.get(id) else {
            return Err(not_found(id));
        };
        let is_department = node.parent.is_some();
        if is_department {
            if !actor.is_mrao() {
                self.require_rao_of(
                    actor,
                    &tree,
                    tree.organization_of(id),
                    "delete departments of",
                )?;
                actor.require(Privilege::EditDepartments, "delete departments")?;
            }
        } else {
            actor.require_mrao("delete organizations")?;
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let usage = tx.organization_usage(id).await?;
        if !usage.is_empty() {
            let uses: Vec<String> = usage
                .iter()
                .map(|(what, n)| format!("{n} {what}"))
                .collect();
            return Err(RaError::Conflict(format!(
                "{} cannot be deleted while it is still used by {}; remove those first",
                tree.describe(id),
                uses.join(", ")
            )));
        }
        let before = tx.organization(id).await?;
        tx.delete_organization(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: if is_department {
                    "department.delete"
                } else {
                    "organization.delete"
                },
                object_type: if is_department {
                    "department"
                } else {
                    "organization"
                },
                object_id: id.to_string(),
                org_id: Some(id),
                description: format!("{} deleted", tree.describe(id)),
            },
            before.map(|b| audit_view(&b.data)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses unless the actor is an MRAO or holds an RAO role over organisation `org`.
    fn require_rao_of(&self, actor: &Actor, tree: &OrgTree, org: OrgId, to: &str) -> Result<()> {
        if actor.is_mrao()
            || actor
                .credentials
                .iter()
                .any(|c| c.role.is_rao() && c.scope == org)
        {
            Ok(())
        } else {
            Err(RaError::NotAllowed(format!(
                "only the operator (MRAO) or an RAO of {} can {to} it",
                tree.describe(org)
            )))
        }
    }

    /// Now, Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }
}

fn not_found(id: OrgId) -> RaError {
    RaError::NotFound {
        what: "organization or department",
        key: id.to_string(),
    }
}
