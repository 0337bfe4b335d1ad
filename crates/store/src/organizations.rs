//! Organisations and departments: one table, one id space (a department has a parent).

use crate::db::{Conn, Row};
use crate::{OrganizationData, OrganizationRecord, Result, Store, StoreError, Tx};
use castellan_model::{CertificateType, OrgId};
use std::sync::Arc;

const COLUMNS: &str = "id, parent_id, name, alias, secondary_name, address1, address2, address3, \
     city, state_or_province, postal_code, country, organization_identifier, academic_code, \
     contact_emails, cert_types, validation_status, ev_legal_name, ev_business_category, \
     ev_jurisdiction_country, ev_jurisdiction_state, ev_jurisdiction_locality, \
     ev_registration_number, ev_incorporation_date, ev_assumed_name, created_at, updated_at, \
     enabled_profiles";

impl Store {
    /// Every organisation and department, by id. On SQLite kept in memory
    /// (`directory_cache.rs`).
    pub async fn organizations(&self) -> Result<Vec<OrganizationRecord>> {
        Ok(self.all_organizations().await?.to_vec())
    }

    /// One organisation or department.
    pub async fn organization(&self, id: OrgId) -> Result<Option<OrganizationRecord>> {
        if self.directory_cache().is_some() {
            let all = self.all_organizations().await?;
            return Ok(all
                .binary_search_by_key(&id.0, |o| o.id.0)
                .ok()
                .map(|i| all[i].clone()));
        }
        let mut conn = self.pool().acquire().await?;
        load(&mut conn, id).await
    }

    async fn all_organizations(&self) -> Result<Arc<Vec<OrganizationRecord>>> {
        crate::kept::read_through(self.directory_cache().map(|c| &c.organizations), || async {
            let mut all = crate::db::query(format!("SELECT {COLUMNS} FROM organizations"))
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(read)
                .collect::<Result<Vec<_>>>()?;
            all.sort_by_key(|o| o.id.0);
            Ok(all)
        })
        .await
    }
}

impl Tx {
    /// One organisation or department, read inside the transaction.
    pub async fn organization(&mut self, id: OrgId) -> Result<Option<OrganizationRecord>> {
        load(self.conn(), id).await
    }

    /// Stores a new organisation (`parent` none) or department.
    pub async fn insert_organization(
        &mut self,
        parent: Option<OrgId>,
        org: &OrganizationData,
        now: i64,
    ) -> Result<OrgId> {
        let row = bind(
            crate::db::query(
                "INSERT INTO organizations (name, alias, secondary_name, address1, address2, \
                 address3, city, state_or_province, postal_code, country, \
                 organization_identifier, academic_code, contact_emails, cert_types, \
                 validation_status, ev_legal_name, ev_business_category, \
                 ev_jurisdiction_country, ev_jurisdiction_state, ev_jurisdiction_locality, \
                 ev_registration_number, ev_incorporation_date, ev_assumed_name, parent_id, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $25) \
                 RETURNING id",
            ),
            org,
        )
        .bind(parent.map(|p| p.0))
        .bind(now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| duplicate_name(e, org))?;
        let id = OrgId(row.try_get("id")?);
        self.set_enabled_profiles(id, &org.enabled_profiles).await?;
        Ok(id)
    }

    /// Writes every field of `org` over organisation or department `id`.
    pub async fn update_organization(
        &mut self,
        id: OrgId,
        org: &OrganizationData,
        now: i64,
    ) -> Result<()> {
        bind(
            crate::db::query(
                "UPDATE organizations SET name = $1, alias = $2, secondary_name = $3, \
                 address1 = $4, address2 = $5, address3 = $6, city = $7, \
                 state_or_province = $8, postal_code = $9, country = $10, \
                 organization_identifier = $11, academic_code = $12, contact_emails = $13, \
                 cert_types = $14, validation_status = $15, ev_legal_name = $16, \
                 ev_business_category = $17, ev_jurisdiction_country = $18, \
                 ev_jurisdiction_state = $19, ev_jurisdiction_locality = $20, \
                 ev_registration_number = $21, ev_incorporation_date = $22, \
                 ev_assumed_name = $23, updated_at = $24 WHERE id = $25",
            ),
            org,
        )
        .bind(now)
        .bind(id.0)
        .execute(self.conn())
        .await
        .map_err(|e| duplicate_name(e, org))?;
        self.set_enabled_profiles(id, &org.enabled_profiles).await
    }

    async fn set_enabled_profiles(&mut self, id: OrgId, profiles: &[i64]) -> Result<()> {
        let text: Vec<String> = profiles.iter().map(i64::to_string).collect();
        crate::db::query("UPDATE organizations SET enabled_profiles = $1 WHERE id = $2")
            .bind(text.join(","))
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// What still refers to organisation or department `id`: `(what, how many)` pairs with
    /// a non-zero count. Deleting is refused while this is not empty.
    pub async fn organization_usage(&mut self, id: OrgId) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for (what, sql) in [
            (
                "departments",
                "SELECT COUNT(*) AS n FROM organizations WHERE parent_id = $1",
            ),
            (
                "administrator roles",
                "SELECT COUNT(*) AS n FROM administrator_roles WHERE scope_id = $1",
            ),
            (
                "domain delegations",
                "SELECT COUNT(*) AS n FROM domain_delegations WHERE org_id = $1",
            ),
            (
                "pending approvals",
                "SELECT COUNT(*) AS n FROM approvals WHERE scope_id = $1 AND status = 'PENDING'",
            ),
        ] {
            let n: i64 = crate::db::query(sql)
                .bind(id.0)
                .fetch_one(self.conn())
                .await?
                .try_get("n")?;
            if n > 0 {
                out.push((what, n));
            }
        }
        Ok(out)
    }

    /// Deletes organisation or department `id`.
    pub async fn delete_organization(&mut self, id: OrgId) -> Result<bool> {
        let done = crate::db::query("DELETE FROM organizations WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

type Query = crate::db::Query;

fn bind(query: Query, org: &OrganizationData) -> Query {
    let cert_types: Vec<&str> = org.cert_types.iter().map(|t| t.as_str()).collect();
    query
        .bind(org.name.clone())
        .bind(org.alias.clone())
        .bind(org.secondary_name.clone())
        .bind(org.address1.clone())
        .bind(org.address2.clone())
        .bind(org.address3.clone())
        .bind(org.city.clone())
        .bind(org.state_or_province.clone())
        .bind(org.postal_code.clone())
        .bind(org.country.clone())
        .bind(org.organization_identifier.clone())
        .bind(org.academic_code.clone())
        .bind(org.contact_emails.clone())
        .bind(cert_types.join(","))
        .bind(if org.validated {
            "Validated"
        } else {
            "Pending"
        })
        .bind(org.ev.legal_name.clone())
        .bind(org.ev.business_category.clone())
        .bind(org.ev.jurisdiction_country.clone())
        .bind(org.ev.jurisdiction_state.clone())
        .bind(org.ev.jurisdiction_locality.clone())
        .bind(org.ev.registration_number.clone())
        .bind(org.ev.incorporation_date.clone())
        .bind(org.ev.assumed_name.clone())
}

fn duplicate_name(e: StoreError, org: &OrganizationData) -> StoreError {
    if StoreError::unique_violation(&e, "organizations") || StoreError::unique_violation(&e, "name")
    {
        StoreError::Duplicate {
            what: "organization or department name",
            value: org.name.clone(),
        }
    } else {
        e
    }
}

async fn load(conn: &mut Conn, id: OrgId) -> Result<Option<OrganizationRecord>> {
    crate::db::query(format!("SELECT {COLUMNS} FROM organizations WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

fn read(row: &Row) -> Result<OrganizationRecord> {
    let cert_types: String = row.try_get("cert_types")?;
    let status: String = row.try_get("validation_status")?;
    Ok(OrganizationRecord {
        id: OrgId(row.try_get("id")?),
        parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(OrgId),
        data: OrganizationData {
            name: row.try_get("name")?,
            alias: row.try_get("alias")?,
            secondary_name: row.try_get("secondary_name")?,
            address1: row.try_get("address1")?,
            address2: row.try_get("address2")?,
            address3: row.try_get("address3")?,
            city: row.try_get("city")?,
            state_or_province: row.try_get("state_or_province")?,
            postal_code: row.try_get("postal_code")?,
            country: row.try_get("country")?,
            organization_identifier: row.try_get("organization_identifier")?,
            academic_code: row.try_get("academic_code")?,
            contact_emails: row.try_get("contact_emails")?,
            cert_types: cert_types
                .split(',')
                .filter(|t| !t.is_empty())
                .map(|t| {
                    CertificateType::parse(t)
                        .ok_or_else(|| StoreError::Corrupt(format!("certificate type '{t}'")))
                })
                .collect::<Result<_>>()?,
            validated: status == "Validated",
            enabled_profiles: row
                .try_get::<String, _>("enabled_profiles")?
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.parse()
                        .map_err(|_| StoreError::Corrupt(format!("profile id '{p}'")))
                })
                .collect::<Result<_>>()?,
            ev: crate::EvData {
                legal_name: row.try_get("ev_legal_name")?,
                business_category: row.try_get("ev_business_category")?,
                jurisdiction_country: row.try_get("ev_jurisdiction_country")?,
                jurisdiction_state: row.try_get("ev_jurisdiction_state")?,
                jurisdiction_locality: row.try_get("ev_jurisdiction_locality")?,
                registration_number: row.try_get("ev_registration_number")?,
                incorporation_date: row.try_get("ev_incorporation_date")?,
                assumed_name: row.try_get("ev_assumed_name")?,
            },
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
