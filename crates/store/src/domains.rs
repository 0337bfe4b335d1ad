//! Domains, their delegations, and their domain control validation state.

use crate::bind::{Bind, Params};
use crate::db::{Conn, Row};
use crate::{DcvRecord, Delegation, DomainRecord, Result, Store, StoreError, Tx};
use castellan_model::{AdminId, CertificateType, DomainId, OrgId};
use std::collections::HashMap;
use std::sync::Arc;

const DCV_COLUMNS: &str = "domain, order_status, method, host, point, validated_method, \
     validated_at, expires_at, submitted_at, last_check, next_check, last_result, transcript, \
     updated_at";

impl Store {
    /// Every domain with its delegations, by name. On SQLite kept in memory
    /// (`directory_cache.rs`).
    pub async fn domains(&self) -> Result<Vec<DomainRecord>> {
        match self.directory_cache() {
            Some(_) => Ok(self.all_domains().await?.to_vec()),
            None => {
                let mut conn = self.pool().acquire().await?;
                load_domains(&mut conn, Which::All, self.kind()).await
            }
        }
    }

    /// Every domain, kept in memory (SQLite only), sorted by name as bytes.
    async fn all_domains(&self) -> Result<Arc<Vec<DomainRecord>>> {
        crate::kept::read_through(self.directory_cache().map(|c| &c.domains), || async {
            let mut conn = self.pool().acquire().await?;
            let mut all = load_domains(&mut conn, Which::All, self.kind()).await?;
            all.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(all)
        })
        .await
    }

    /// The domains named (exact names, normalised as stored), with their delegations, by
    /// name: what a name check needs, without reading every domain (from memory on SQLite).
    pub async fn domains_named(&self, names: &[String]) -> Result<Vec<DomainRecord>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        if self.directory_cache().is_some() {
            let all = self.all_domains().await?;
            return Ok(crate::kept::pick(&all, names, |d| &d.name));
        }
        let mut conn = self.pool().acquire().await?;
        load_domains(&mut conn, Which::Named(names), self.kind()).await
    }

    /// Every validation state, kept in memory (SQLite only), sorted by domain as bytes.
    async fn all_dcvs(&self) -> Result<Arc<Vec<DcvRecord>>> {
        crate::kept::read_through(self.directory_cache().map(|c| &c.dcvs), || async {
            let mut all = self.read_dcvs().await?;
            all.sort_by(|a, b| a.domain.cmp(&b.domain));
            Ok(all)
        })
        .await
    }

    /// The validation state of each of `domains` that has one, by domain (from memory on
    /// SQLite).
    pub async fn dcvs_of(&self, domains: &[String]) -> Result<Vec<DcvRecord>> {
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        if self.directory_cache().is_some() {
            let all = self.all_dcvs().await?;
            return Ok(crate::kept::pick(&all, domains, |d| &d.domain));
        }
        let mut params = Params::new(self.kind());
        let names = params.text_table(domains);
        let mut found = params
            .bind_all(crate::db::query(format!(
                "SELECT {} FROM {names} JOIN dcv ON dcv.domain = n.value",
                crate::bind::qualified(DCV_COLUMNS, "dcv")
            )))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_dcv)
            .collect::<Result<Vec<_>>>()?;
        found.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(found)
    }

    /// One domain.
    pub async fn domain(&self, id: DomainId) -> Result<Option<DomainRecord>> {
        let mut conn = self.pool().acquire().await?;
        Ok(load_domains(&mut conn, Which::Id(id), self.kind())
            .await?
            .pop())
    }

    /// The validation state of a name, if any order or validation exists for it.
    pub async fn dcv(&self, domain: &str) -> Result<Option<DcvRecord>> {
        crate::db::query(format!("SELECT {DCV_COLUMNS} FROM dcv WHERE domain = $1"))
            .bind(domain)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(read_dcv)
            .transpose()
    }

    /// Every validation state (from memory on SQLite).
    pub async fn dcvs(&self) -> Result<Vec<DcvRecord>> {
        match self.directory_cache() {
            Some(_) => Ok(self.all_dcvs().await?.to_vec()),
            None => self.read_dcvs().await,
        }
    }

    async fn read_dcvs(&self) -> Result<Vec<DcvRecord>> {
        crate::db::query(format!("SELECT {DCV_COLUMNS} FROM dcv ORDER BY domain"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_dcv)
            .collect()
    }

    /// Submitted orders whose next check is due, oldest first.
    pub async fn due_dcv_checks(&self, now: i64, limit: i64) -> Result<Vec<DcvRecord>> {
        crate::db::query(format!(
            "SELECT {DCV_COLUMNS} FROM dcv WHERE order_status = 'SUBMITTED' \
             AND next_check IS NOT NULL AND next_check <= $1 ORDER BY next_check LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_dcv)
        .collect()
    }
}

impl Tx {
    /// One domain, read inside the transaction.
    pub async fn domain(&mut self, id: DomainId) -> Result<Option<DomainRecord>> {
        let kind = self.kind();
        Ok(load_domains(self.conn(), Which::Id(id), kind).await?.pop())
    }

    /// Adds a domain entry.
    pub async fn insert_domain(
        &mut self,
        name: &str,
        description: &str,
        active: bool,
        created_by: Option<AdminId>,
        now: i64,
    ) -> Result<DomainId> {
        let row = crate::db::query(
            "INSERT INTO domains (name, description, active, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(name)
        .bind(description)
        .bind(i64::from(active))
        .bind(created_by.map(|a| a.0))
        .bind(now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| {
            if StoreError::unique_violation(&e, "name") {
                StoreError::Duplicate {
                    what: "domain",
                    value: name.to_owned(),
                }
            } else {
                e
            }
        })?;
        Ok(DomainId(row.try_get("id")?))
    }

    /// Activates or suspends a domain.
    pub async fn set_domain_active(&mut self, id: DomainId, active: bool, now: i64) -> Result<()> {
        crate::db::query("UPDATE domains SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(active))
            .bind(now)
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Deletes a domain and its delegations.
    pub async fn delete_domain(&mut self, id: DomainId) -> Result<bool> {
        let done = crate::db::query("DELETE FROM domains WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a delegation, or updates its status if it exists.
    pub async fn put_delegation(
        &mut self,
        domain: DomainId,
        delegation: &Delegation,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO domain_delegations (domain_id, org_id, cert_type, status, requested_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (domain_id, org_id, cert_type) DO UPDATE SET status = excluded.status",
        )
        .bind(domain.0)
        .bind(delegation.org_id.0)
        .bind(delegation.cert_type.as_str())
        .bind(if delegation.active {
            "ACTIVE"
        } else {
            "REQUESTED"
        })
        .bind(delegation.requested_by.map(|a| a.0))
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Removes a delegation; returns whether it existed.
    pub async fn remove_delegation(
        &mut self,
        domain: DomainId,
        org: OrgId,
        cert_type: CertificateType,
    ) -> Result<bool> {
        let done = crate::db::query(
            "DELETE FROM domain_delegations WHERE domain_id = $1 AND org_id = $2 \
             AND cert_type = $3",
        )
        .bind(domain.0)
        .bind(org.0)
        .bind(cert_type.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes a validation state (insert or replace).
    pub async fn save_dcv(&mut self, dcv: &DcvRecord) -> Result<()> {
        crate::db::query(
            "INSERT INTO dcv (domain, order_status, method, host, point, validated_method, \
             validated_at, expires_at, submitted_at, last_check, next_check, last_result, \
             transcript, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (domain) DO UPDATE SET order_status = excluded.order_status, \
             method = excluded.method, host = excluded.host, point = excluded.point, \
             validated_method = excluded.validated_method, \
             validated_at = excluded.validated_at, expires_at = excluded.expires_at, \
             submitted_at = excluded.submitted_at, last_check = excluded.last_check, \
             next_check = excluded.next_check, last_result = excluded.last_result, \
             transcript = excluded.transcript, updated_at = excluded.updated_at",
        )
        .bind(&dcv.domain)
        .bind(&dcv.order_status)
        .bind(&dcv.method)
        .bind(&dcv.host)
        .bind(&dcv.point)
        .bind(&dcv.validated_method)
        .bind(dcv.validated_at)
        .bind(dcv.expires_at)
        .bind(dcv.submitted_at)
        .bind(dcv.last_check)
        .bind(dcv.next_check)
        .bind(&dcv.last_result)
        .bind(&dcv.transcript)
        .bind(dcv.updated_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Removes a validation state entirely.
    pub async fn delete_dcv(&mut self, domain: &str) -> Result<()> {
        crate::db::query("DELETE FROM dcv WHERE domain = $1")
            .bind(domain)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// Which domains [`load_domains`] reads.
enum Which<'a> {
    All,
    Id(DomainId),
    Named(&'a [String]),
}

async fn load_domains(
    conn: &mut Conn,
    which: Which<'_>,
    kind: castellan_model::DatabaseKind,
) -> Result<Vec<DomainRecord>> {
    const DOMAIN: &str = "SELECT id, name, description, active, created_by, created_at, \
         updated_at FROM domains";
    const DELEGATION: &str = "SELECT domain_id, org_id, cert_type, status, requested_by \
         FROM domain_delegations";
    let mut domain_params = Params::new(kind);
    let mut delegation_params = Params::new(kind);
    // Named lookups are sorted here (the others by SQL), in the same order.
    let sort_here = matches!(which, Which::Named(_));
    let (domain_sql, delegation_sql) = match which {
        Which::All => (
            format!("{DOMAIN} ORDER BY name"),
            format!("{DELEGATION} ORDER BY org_id, cert_type"),
        ),
        Which::Id(id) => (
            format!(
                "{DOMAIN} WHERE id = {}",
                domain_params.push(Bind::Int(id.0))
            ),
            format!(
                "{DELEGATION} WHERE domain_id = {} ORDER BY org_id, cert_type",
                delegation_params.push(Bind::Int(id.0))
            ),
        ),
        // Joined on a table of the names rather than `IN (…)`, which costs SQLite temporary
        // b-trees (`Params::text_table`); sorted below, as the other two are by SQL.
        Which::Named(names) => (
            format!(
                "SELECT d.id, d.name, d.description, d.active, d.created_by, d.created_at, \
                 d.updated_at FROM {} JOIN domains d ON d.name = n.value",
                domain_params.text_table(names)
            ),
            format!(
                "SELECT g.domain_id, g.org_id, g.cert_type, g.status, g.requested_by FROM {} \
                 JOIN domains d ON d.name = n.value \
                 JOIN domain_delegations g ON g.domain_id = d.id",
                delegation_params.text_table(names)
            ),
        ),
    };
    let query = domain_params.bind_all(crate::db::query(domain_sql));
    let delegation_query = delegation_params.bind_all(crate::db::query(delegation_sql));
    let rows = query.fetch_all(&mut *conn).await?;
    let mut delegations: HashMap<i64, Vec<Delegation>> = HashMap::new();
    for row in delegation_query.fetch_all(&mut *conn).await? {
        let cert_type: String = row.try_get("cert_type")?;
        let status: String = row.try_get("status")?;
        delegations
            .entry(row.try_get("domain_id")?)
            .or_default()
            .push(Delegation {
                org_id: OrgId(row.try_get("org_id")?),
                cert_type: CertificateType::parse(&cert_type).ok_or_else(|| {
                    StoreError::Corrupt(format!("certificate type '{cert_type}'"))
                })?,
                active: status == "ACTIVE",
                requested_by: row.try_get::<Option<i64>, _>("requested_by")?.map(AdminId),
            });
    }
    if sort_here {
        for list in delegations.values_mut() {
            list.sort_by(|a, b| {
                (a.org_id.0, a.cert_type.as_str()).cmp(&(b.org_id.0, b.cert_type.as_str()))
            });
        }
    }
    let mut domains = rows
        .iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(DomainRecord {
                id: DomainId(id),
                name: row.try_get("name")?,
                description: row.try_get("description")?,
                active: row.try_get::<i64, _>("active")? != 0,
                created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AdminId),
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                delegations: delegations.remove(&id).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if sort_here {
        domains.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(domains)
}

fn read_dcv(row: &Row) -> Result<DcvRecord> {
    Ok(DcvRecord {
        domain: row.try_get("domain")?,
        order_status: row.try_get("order_status")?,
        method: row.try_get("method")?,
        host: row.try_get("host")?,
        point: row.try_get("point")?,
        validated_method: row.try_get("validated_method")?,
        validated_at: row.try_get("validated_at")?,
        expires_at: row.try_get("expires_at")?,
        submitted_at: row.try_get("submitted_at")?,
        last_check: row.try_get("last_check")?,
        next_check: row.try_get("next_check")?,
        last_result: row.try_get("last_result")?,
        transcript: row.try_get("transcript")?,
        updated_at: row.try_get("updated_at")?,
    })
}
