//! Persons (guide 8, SCM `/person/v1`): the people client certificates are issued to,
//! found by id or by e-mail (unique, compared without regard to case).

use crate::db::Row;
use crate::{Result, Store, StoreError, Tx};
use castellan_model::{AdminId, OrgId, PersonId};

/// A person's details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonData {
    /// Their organisation or department.
    pub org_id: OrgId,
    /// First name.
    pub first_name: String,
    /// Middle name (may be empty).
    pub middle_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address (the certificate's rfc822Name; unique).
    pub email: String,
    /// Further addresses a certificate may carry.
    pub secondary_emails: Vec<String>,
    /// Telephone.
    pub phone: String,
    /// The common name for certificates (empty: the full name).
    pub common_name: String,
    /// eduPersonPrincipalName.
    pub eppn: String,
    /// User principal name.
    pub upn: String,
    /// `STANDARD` or `HIGH`.
    pub validation_type: String,
}

/// A stored person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonRecord {
    /// Row id.
    pub id: PersonId,
    /// The details.
    pub data: PersonData,
    /// When created, and by whom.
    pub created_at: i64,
    /// Creator.
    pub created_by: Option<AdminId>,
    /// When last changed.
    pub modified_at: i64,
    /// By whom.
    pub modified_by: Option<AdminId>,
}

const COLUMNS: &str = "id, org_id, first_name, middle_name, last_name, email, secondary_emails, \
     phone, common_name, eppn, upn, validation_type, created_at, created_by, modified_at, \
     modified_by";

fn read(row: &Row) -> Result<PersonRecord> {
    let secondary: String = row.try_get("secondary_emails")?;
    Ok(PersonRecord {
        id: PersonId(row.try_get("id")?),
        data: PersonData {
            org_id: OrgId(row.try_get("org_id")?),
            first_name: row.try_get("first_name")?,
            middle_name: row.try_get("middle_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            secondary_emails: secondary
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            phone: row.try_get("phone")?,
            common_name: row.try_get("common_name")?,
            eppn: row.try_get("eppn")?,
            upn: row.try_get("upn")?,
            validation_type: row.try_get("validation_type")?,
        },
        created_at: row.try_get("created_at")?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AdminId),
        modified_at: row.try_get("modified_at")?,
        modified_by: row.try_get::<Option<i64>, _>("modified_by")?.map(AdminId),
    })
}

fn duplicate(e: StoreError, email: &str) -> StoreError {
    if StoreError::unique_violation(&e, "email_key") {
        StoreError::Duplicate {
            what: "person e-mail",
            value: email.to_owned(),
        }
    } else {
        e
    }
}

/// Binds a person's fields, then who changed it and when, as `$1`…`$14` in table order.
fn bind_person(
    query: crate::db::Query,
    person: &PersonData,
    by: Option<AdminId>,
    now: i64,
) -> crate::db::Query {
    query
        .bind(person.org_id.0)
        .bind(person.first_name.clone())
        .bind(person.middle_name.clone())
        .bind(person.last_name.clone())
        .bind(person.email.clone())
        .bind(person.email.to_lowercase())
        .bind(person.secondary_emails.join("\n"))
        .bind(person.phone.clone())
        .bind(person.common_name.clone())
        .bind(person.eppn.clone())
        .bind(person.upn.clone())
        .bind(person.validation_type.clone())
        .bind(now)
        .bind(by.map(|a| a.0))
}

impl Tx {
    /// Stores a new person.
    pub async fn insert_person(
        &mut self,
        person: &PersonData,
        by: Option<AdminId>,
        now: i64,
    ) -> Result<PersonId> {
        let row = bind_person(
            crate::db::query(
                "INSERT INTO persons (org_id, first_name, middle_name, last_name, email, \
                 email_key, secondary_emails, phone, common_name, eppn, upn, validation_type, \
                 modified_at, modified_by, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13, $14) \
                 RETURNING id",
            ),
            person,
            by,
            now,
        )
        .fetch_one(self.conn())
        .await
        .map_err(|e| duplicate(e, &person.email))?;
        Ok(PersonId(row.try_get("id")?))
    }

    /// Replaces a person's details (the e-mail included); `false` if there is none.
    pub async fn update_person(
        &mut self,
        id: PersonId,
        person: &PersonData,
        by: Option<AdminId>,
        now: i64,
    ) -> Result<bool> {
        let done = bind_person(
            crate::db::query(
                "UPDATE persons SET org_id = $1, first_name = $2, middle_name = $3, \
                 last_name = $4, email = $5, email_key = $6, secondary_emails = $7, phone = $8, \
                 common_name = $9, eppn = $10, upn = $11, validation_type = $12, \
                 modified_at = $13, modified_by = $14 WHERE id = $15",
            ),
            person,
            by,
            now,
        )
        .bind(id.0)
        .execute(self.conn())
        .await
        .map_err(|e| duplicate(e, &person.email))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a person; `false` if there was none.
    pub async fn delete_person(&mut self, id: PersonId) -> Result<bool> {
        let done = crate::db::query("DELETE FROM persons WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Every person, by id.
    pub async fn persons(&self) -> Result<Vec<PersonRecord>> {
        crate::db::query(format!("SELECT {COLUMNS} FROM persons ORDER BY id"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read)
            .collect()
    }

    /// The person with this id.
    pub async fn person(&self, id: PersonId) -> Result<Option<PersonRecord>> {
        crate::db::query(format!("SELECT {COLUMNS} FROM persons WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(read)
            .transpose()
    }

    /// The person with this e-mail address (any case).
    pub async fn person_by_email(&self, email: &str) -> Result<Option<PersonRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM persons WHERE email_key = $1"
        ))
        .bind(email.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read)
        .transpose()
    }
}
