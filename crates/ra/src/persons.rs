//! Persons (guide 8.1, SCM `/person/v1`): the people client certificates are issued to.
//! Every front door (the SCM API, the portal, enrolment) adds, finds, changes and removes
//! them here, with SCM's limits on each field and the administrator's S/MIME scope.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, RaError, Result};
use castellan_model::{CertificateType, OrgId, PersonId};
use castellan_store::{PersonData, PersonRecord};

/// The validation types a person may have.
pub const VALIDATION_TYPES: [&str; 2] = ["STANDARD", "HIGH"];

/// A person as a caller gives it: `None` leaves a field as it is (on update) or empty.
#[derive(Clone, Debug, Default)]
pub struct PersonSpec {
    /// Organisation or department.
    pub org_id: Option<OrgId>,
    /// First name.
    pub first_name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// E-mail (set on creation only: SCM never changes it).
    pub email: Option<String>,
    /// Secondary e-mails.
    pub secondary_emails: Option<Vec<String>>,
    /// Telephone.
    pub phone: Option<String>,
    /// Common name for certificates.
    pub common_name: Option<String>,
    /// eduPersonPrincipalName.
    pub eppn: Option<String>,
    /// User principal name.
    pub upn: Option<String>,
    /// `STANDARD` or `HIGH`.
    pub validation_type: Option<String>,
}

/// Which persons to list (all of the caller's when empty).
#[derive(Clone, Debug, Default)]
pub struct PersonFilter {
    /// Part of the name (first, middle, last or full), any case.
    pub name: Option<String>,
    /// Of this organisation or department (and its departments).
    pub org_id: Option<OrgId>,
    /// This e-mail, any case.
    pub email: Option<String>,
    /// This common name.
    pub common_name: Option<String>,
    /// This phone.
    pub phone: Option<String>,
    /// Having this secondary e-mail.
    pub secondary_email: Option<String>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RaError {
    RaError::InvalidInput {
        field,
        reason: reason.into(),
    }
}

fn not_found(id: PersonId) -> RaError {
    RaError::NotFound {
        what: "person",
        key: id.to_string(),
    }
}

/// SCM's limits on a person's fields, each refusal naming the field and the limit.
fn check(p: &PersonData) -> Result<()> {
    if p.first_name.trim().is_empty() {
        return Err(invalid("firstName", "the first name must not be empty"));
    }
    if p.last_name.trim().is_empty() {
        return Err(invalid("lastName", "the last name must not be empty"));
    }
    let full = [&p.first_name, &p.middle_name, &p.last_name]
        .iter()
        .map(|s| s.trim().chars().count())
        .sum::<usize>();
    if full > 64 {
        return Err(invalid(
            "lastName",
            format!("first, middle and last name together are {full} characters; at most 64"),
        ));
    }
    if !crate::admins::plausible_email(&p.email) || p.email.len() > 128 {
        return Err(invalid(
            "email",
            format!(
                "'{}' is not an e-mail address of at most 128 characters",
                p.email
            ),
        ));
    }
    for e in &p.secondary_emails {
        if !crate::admins::plausible_email(e) || e.len() > 128 {
            return Err(invalid(
                "secondaryEmails",
                format!("'{e}' is not an e-mail address of at most 128 characters"),
            ));
        }
    }
    if p.phone.chars().count() > 32
        || !p
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || "#()-+ x".contains(c))
    {
        return Err(invalid(
            "phone",
            format!(
                "'{}' is not a phone number: at most 32 of the characters 0-9 # ( ) - + x and \
                 space",
                p.phone
            ),
        ));
    }
    for (field, value, max) in [
        ("commonName", &p.common_name, 64),
        ("eppn", &p.eppn, 128),
        ("upn", &p.upn, 256),
    ] {
        if value.chars().count() > max {
            return Err(invalid(
                field,
                format!("at most {max} characters, not {}", value.chars().count()),
            ));
        }
    }
    if !VALIDATION_TYPES.contains(&p.validation_type.as_str()) {
        return Err(invalid(
            "validationType",
            format!(
                "'{}' is not a validation type; give STANDARD or HIGH",
                p.validation_type
            ),
        ));
    }
    Ok(())
}

/// `spec` laid over `base` (trimmed; the e-mail only when `base` has none).
fn merged(base: PersonData, spec: PersonSpec) -> PersonData {
    let text = |new: Option<String>, old: String| new.map(|s| s.trim().to_owned()).unwrap_or(old);
    PersonData {
        org_id: spec.org_id.unwrap_or(base.org_id),
        first_name: text(spec.first_name, base.first_name),
        middle_name: text(spec.middle_name, base.middle_name),
        last_name: text(spec.last_name, base.last_name),
        email: if base.email.is_empty() {
            text(spec.email, base.email)
        } else {
            base.email
        },
        secondary_emails: spec
            .secondary_emails
            .map(|v| {
                v.into_iter()
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or(base.secondary_emails),
        phone: text(spec.phone, base.phone),
        common_name: text(spec.common_name, base.common_name),
        eppn: text(spec.eppn, base.eppn),
        upn: text(spec.upn, base.upn),
        validation_type: text(spec.validation_type, base.validation_type).to_uppercase(),
    }
}

fn audit_view(p: &PersonData) -> serde_json::Value {
    serde_json::json!({
        "orgId": p.org_id.0, "firstName": p.first_name, "middleName": p.middle_name,
        "lastName": p.last_name, "email": p.email, "secondaryEmails": p.secondary_emails,
        "phone": p.phone, "commonName": p.common_name, "eppn": p.eppn, "upn": p.upn,
        "validationType": p.validation_type,
    })
}

impl Authority {
    /// Refuses unless the actor has an S/MIME role over `org`, which must exist.
    fn require_person_scope(&self, actor: &Actor, tree: &OrgTree, org: OrgId) -> Result<()> {
        if tree.get(org).is_none() {
            return Err(RaError::NotFound {
                what: "organization",
                key: org.to_string(),
            });
        }
        if !actor.covers(tree, org, Some(CertificateType::Smime)) {
            return Err(RaError::NotAllowed(format!(
                "you have no S/MIME role over {}; persons are managed by its client \
                 certificate administrators",
                tree.describe(org)
            )));
        }
        Ok(())
    }

    /// Adds a person. The e-mail must be new (any case).
    pub async fn create_person(&self, actor: &Actor, spec: PersonSpec) -> Result<PersonId> {
        let org = spec.org_id.filter(|o| o.0 >= 1).ok_or_else(|| {
            invalid(
                "organizationId",
                "give the person's organization or department",
            )
        })?;
        if spec
            .validation_type
            .as_deref()
            .is_none_or(|v| v.trim().is_empty())
        {
            return Err(invalid(
                "validationType",
                "give the validation type: STANDARD or HIGH",
            ));
        }
        let data = merged(
            PersonData {
                org_id: org,
                first_name: String::new(),
                middle_name: String::new(),
                last_name: String::new(),
                email: String::new(),
                secondary_emails: Vec::new(),
                phone: String::new(),
                common_name: String::new(),
                eppn: String::new(),
                upn: String::new(),
                validation_type: String::new(),
            },
            spec,
        );
        let tree = OrgTree::load(&self.store).await?;
        self.require_person_scope(actor, &tree, org)?;
        check(&data)?;
        if let Some(existing) = self.store.person_by_email(&data.email).await? {
            return Err(RaError::Conflict(format!(
                "a person with the e-mail {} exists already (person {})",
                data.email, existing.id
            )));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_person(&data, actor.admin_id, now).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "person.create",
                object_type: "person",
                object_id: id.to_string(),
                org_id: Some(org),
                description: format!("Person {} added to {}", data.email, tree.describe(org)),
            },
            None,
            Some(audit_view(&data)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The person with this id, if in the actor's scope.
    pub async fn person(&self, actor: &Actor, id: PersonId) -> Result<PersonRecord> {
        let person = self.store.person(id).await?.ok_or_else(|| not_found(id))?;
        let tree = OrgTree::load(&self.store).await?;
        if !actor.covers(&tree, person.data.org_id, Some(CertificateType::Smime)) {
            return Err(not_found(id));
        }
        Ok(person)
    }

    /// The person with this e-mail (any case), if in the actor's scope.
    pub async fn person_by_email(&self, actor: &Actor, email: &str) -> Result<PersonRecord> {
        let missing = || RaError::NotFound {
            what: "person with e-mail",
            key: email.to_owned(),
        };
        let person = self
            .store
            .person_by_email(email)
            .await?
            .ok_or_else(missing)?;
        let tree = OrgTree::load(&self.store).await?;
        if !actor.covers(&tree, person.data.org_id, Some(CertificateType::Smime)) {
            return Err(missing());
        }
        Ok(person)
    }

    /// The persons in the actor's scope that match `filter`, by id.
    pub async fn persons(&self, actor: &Actor, filter: &PersonFilter) -> Result<Vec<PersonRecord>> {
        let tree = OrgTree::load(&self.store).await?;
        let lower = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_lowercase());
        let (name, email, secondary) = (
            lower(&filter.name),
            lower(&filter.email),
            lower(&filter.secondary_email),
        );
        Ok(self
            .store
            .persons()
            .await?
            .into_iter()
            .filter(|p| actor.covers(&tree, p.data.org_id, Some(CertificateType::Smime)))
            .filter(|p| {
                filter.org_id.is_none_or(|o| {
                    p.data.org_id == o || tree.get(p.data.org_id).and_then(|n| n.parent) == Some(o)
                })
            })
            .filter(|p| {
                name.as_ref().is_none_or(|n| {
                    format!(
                        "{} {} {}",
                        p.data.first_name, p.data.middle_name, p.data.last_name
                    )
                    .to_lowercase()
                    .contains(n.as_str())
                })
            })
            .filter(|p| {
                email
                    .as_ref()
                    .is_none_or(|e| p.data.email.to_lowercase() == *e)
            })
            .filter(|p| {
                secondary.as_ref().is_none_or(|e| {
                    p.data
                        .secondary_emails
                        .iter()
                        .any(|s| s.to_lowercase() == *e)
                })
            })
            .filter(|p| {
                filter
                    .common_name
                    .as_ref()
                    .is_none_or(|c| p.data.common_name == *c)
            })
            .filter(|p| filter.phone.as_ref().is_none_or(|c| p.data.phone == *c))
            .collect())
    }

    /// Changes a person: the fields given, never the e-mail (as SCM). A new organisation
    /// must be in the actor's scope too.
    pub async fn update_person(&self, actor: &Actor, id: PersonId, spec: PersonSpec) -> Result<()> {
        let before = self.person(actor, id).await?;
        let after = merged(before.data.clone(), spec);
        let tree = OrgTree::load(&self.store).await?;
        self.require_person_scope(actor, &tree, after.org_id)?;
        check(&after)?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.update_person(id, &after, actor.admin_id, now).await? {
            return Err(not_found(id));
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "person.update",
                object_type: "person",
                object_id: id.to_string(),
                org_id: Some(after.org_id),
                description: format!("Person {} changed", after.email),
            },
            Some(audit_view(&before.data)),
            Some(audit_view(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The logins of the administrators who created or last changed persons (SCM's
    /// `createdBy` and `modifiedBy`), by administrator id.
    pub async fn person_authors(
        &self,
    ) -> Result<std::collections::HashMap<castellan_model::AdminId, String>> {
        Ok(self
            .store
            .admins()
            .await?
            .into_iter()
            .map(|a| (a.id, a.data.login))
            .collect())
    }

    /// Removes a person.
    pub async fn delete_person(&self, actor: &Actor, id: PersonId) -> Result<()> {
        let person = self.person(actor, id).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.delete_person(id).await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "person.delete",
                object_type: "person",
                object_id: id.to_string(),
                org_id: Some(person.data.org_id),
                description: format!("Person {} deleted", person.data.email),
            },
            Some(audit_view(&person.data)),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
