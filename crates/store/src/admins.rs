//! Administrators: their details, credentials (role × scope) and privileges.

use crate::db::Conn;
use crate::{AdminData, AdminRecord, Result, Store, StoreError, Tx};
use castellan_model::{AdminId, AdminRole, AdminType, Credential, OrgId, Privilege};

const ADMIN_COLUMNS: &str = "id, login, email, forename, surname, title, telephone, relationship, \
     admin_type, password_hash, must_change_password, failed_attempts, failed_at, status, \
     approval_status, auth_cert_serial, idp_person_id, password_changed_at, created_by, \
     created_at, updated_at";

impl Store {
    /// Every administrator, by id.
    pub async fn admins(&self) -> Result<Vec<AdminRecord>> {
        let mut conn = self.pool().acquire().await?;
        let ids: Vec<i64> = crate::db::query("SELECT id FROM administrators ORDER BY id")
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(admin) = load(&mut conn, AdminId(id)).await? {
                out.push(admin);
            }
        }
        Ok(out)
    }

    /// The administrator with this id, if any.
    pub async fn admin(&self, id: AdminId) -> Result<Option<AdminRecord>> {
        let mut conn = self.pool().acquire().await?;
        load(&mut conn, id).await
    }

    /// The administrator with this login, if any.
    pub async fn admin_by_login(&self, login: &str) -> Result<Option<AdminRecord>> {
        let mut conn = self.pool().acquire().await?;
        let id = crate::db::query("SELECT id FROM administrators WHERE login = $1")
            .bind(login)
            .fetch_optional(&mut conn)
            .await?;
        match id {
            Some(row) => load(&mut conn, AdminId(row.try_get("id")?)).await,
            None => Ok(None),
        }
    }

    /// The administrators who hold any role over `scope` itself.
    pub async fn admins_with_scope(&self, scope: OrgId) -> Result<Vec<AdminId>> {
        crate::db::query(
            "SELECT DISTINCT admin_id FROM administrator_roles WHERE scope_id = $1 ORDER BY admin_id",
        )
        .bind(scope.0)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get("admin_id").map(AdminId))
        .collect::<std::result::Result<_, _>>()
    }
}

impl Tx {
    /// The administrator with this id, read inside the transaction.
    pub async fn admin(&mut self, id: AdminId) -> Result<Option<AdminRecord>> {
        load(self.conn(), id).await
    }

    /// Stores a new administrator with their credentials and privileges.
    pub async fn insert_admin(&mut self, admin: &AdminData, now: i64) -> Result<AdminId> {
        let row = crate::db::query(
            "INSERT INTO administrators (login, email, forename, surname, title, telephone, \
             relationship, admin_type, password_hash, must_change_password, status, \
             approval_status, auth_cert_serial, idp_person_id, password_changed_at, created_by, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
             RETURNING id",
        )
        .bind(&admin.login)
        .bind(&admin.email)
        .bind(&admin.forename)
        .bind(&admin.surname)
        .bind(&admin.title)
        .bind(&admin.telephone)
        .bind(&admin.relationship)
        .bind(admin.admin_type.as_str())
        .bind(admin.password_hash.clone())
        .bind(i64::from(admin.must_change_password))
        .bind(status(admin.active))
        .bind(approval(admin.approved))
        .bind(&admin.auth_cert_serial)
        .bind(&admin.idp_person_id)
        .bind(admin.password_hash.as_ref().map(|_| now))
        .bind(admin.created_by.map(|a| a.0))
        .bind(now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| duplicate_login(e, &admin.login))?;
        let id = AdminId(row.try_get("id")?);
        self.write_grants(id, admin).await?;
        Ok(id)
    }

    /// Writes every field of `admin` over the stored administrator `id`, replacing its
    /// credentials and privileges. The password and its dates are not touched here (see
    /// [`Tx::set_admin_password`]).
    pub async fn update_admin(&mut self, id: AdminId, admin: &AdminData, now: i64) -> Result<()> {
        crate::db::query(
            "UPDATE administrators SET login = $1, email = $2, forename = $3, surname = $4, \
             title = $5, telephone = $6, relationship = $7, admin_type = $8, \
             must_change_password = $9, status = $10, approval_status = $11, \
             auth_cert_serial = $12, idp_person_id = $13, updated_at = $14 WHERE id = $15",
        )
        .bind(&admin.login)
        .bind(&admin.email)
        .bind(&admin.forename)
        .bind(&admin.surname)
        .bind(&admin.title)
        .bind(&admin.telephone)
        .bind(&admin.relationship)
        .bind(admin.admin_type.as_str())
        .bind(i64::from(admin.must_change_password))
        .bind(status(admin.active))
        .bind(approval(admin.approved))
        .bind(&admin.auth_cert_serial)
        .bind(&admin.idp_person_id)
        .bind(now)
        .bind(id.0)
        .execute(self.conn())
        .await
        .map_err(|e| duplicate_login(e, &admin.login))?;
        crate::db::query("DELETE FROM administrator_roles WHERE admin_id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        crate::db::query("DELETE FROM administrator_privileges WHERE admin_id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        self.write_grants(id, admin).await
    }

    /// Sets (or clears) the password hash; `must_change` forces a change at next sign-in.
    /// Clears failed sign-ins, as a reset by another administrator unlocks the account.
    pub async fn set_admin_password(
        &mut self,
        id: AdminId,
        hash: Option<&str>,
        must_change: bool,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE administrators SET password_hash = $1, must_change_password = $2, \
             password_changed_at = $3, failed_attempts = 0, failed_at = NULL, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(hash.map(str::to_owned))
        .bind(i64::from(must_change))
        .bind(now)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Counts a failed sign-in; returns the new count.
    pub async fn record_sign_in_failure(&mut self, id: AdminId, now: i64) -> Result<i64> {
        let row = crate::db::query(
            "UPDATE administrators SET failed_attempts = failed_attempts + 1, failed_at = $1 \
             WHERE id = $2 RETURNING failed_attempts",
        )
        .bind(now)
        .bind(id.0)
        .fetch_one(self.conn())
        .await?;
        row.try_get("failed_attempts")
    }

    /// Forgets failed sign-ins after a successful one (or an unlock).
    pub async fn clear_sign_in_failures(&mut self, id: AdminId) -> Result<()> {
        crate::db::query(
            "UPDATE administrators SET failed_attempts = 0, failed_at = NULL WHERE id = $1 \
             AND failed_attempts <> 0",
        )
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes an administrator (their credentials and privileges go with them).
    pub async fn delete_admin(&mut self, id: AdminId) -> Result<bool> {
        let done = crate::db::query("DELETE FROM administrators WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn write_grants(&mut self, id: AdminId, admin: &AdminData) -> Result<()> {
        for credential in &admin.credentials {
            crate::db::query(
                "INSERT INTO administrator_roles (admin_id, role, scope_id) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(credential.role.as_str())
            .bind(credential.scope.0)
            .execute(self.conn())
            .await?;
        }
        for privilege in &admin.privileges {
            crate::db::query(
                "INSERT INTO administrator_privileges (admin_id, privilege) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(privilege.as_str())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }
}

fn status(active: bool) -> &'static str {
    if active { "ACTIVE" } else { "SUSPENDED" }
}

fn approval(approved: bool) -> &'static str {
    if approved { "APPROVED" } else { "PENDING" }
}

fn duplicate_login(e: StoreError, login: &str) -> StoreError {
    if StoreError::unique_violation(&e, "login") {
        StoreError::Duplicate {
            what: "administrator login",
            value: login.to_owned(),
        }
    } else {
        e
    }
}

async fn load(conn: &mut Conn, id: AdminId) -> Result<Option<AdminRecord>> {
    let Some(row) = crate::db::query(format!(
        "SELECT {ADMIN_COLUMNS} FROM administrators WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let credentials = crate::db::query(
        "SELECT role, scope_id FROM administrator_roles WHERE admin_id = $1 ORDER BY scope_id, role",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let role: String = r.try_get("role")?;
        Ok(Credential {
            role: AdminRole::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("administrator role '{role}'")))?,
            scope: OrgId(r.try_get("scope_id")?),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let privileges = crate::db::query(
        "SELECT privilege FROM administrator_privileges WHERE admin_id = $1 ORDER BY privilege",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        let name: String = r.try_get("privilege")?;
        Privilege::parse(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("administrator privilege '{name}'")))
    })
    .collect::<Result<Vec<_>>>()?;
    let admin_type: String = row.try_get("admin_type")?;
    let status: String = row.try_get("status")?;
    let approval: String = row.try_get("approval_status")?;
    Ok(Some(AdminRecord {
        id,
        data: AdminData {
            login: row.try_get("login")?,
            email: row.try_get("email")?,
            forename: row.try_get("forename")?,
            surname: row.try_get("surname")?,
            title: row.try_get("title")?,
            telephone: row.try_get("telephone")?,
            relationship: row.try_get("relationship")?,
            admin_type: AdminType::parse(&admin_type)
                .ok_or_else(|| StoreError::Corrupt(format!("admin type '{admin_type}'")))?,
            password_hash: row.try_get("password_hash")?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            active: status == "ACTIVE",
            approved: approval == "APPROVED",
            auth_cert_serial: row.try_get("auth_cert_serial")?,
            idp_person_id: row.try_get("idp_person_id")?,
            credentials,
            privileges,
            created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AdminId),
        },
        failed_attempts: row.try_get("failed_attempts")?,
        failed_at: row.try_get("failed_at")?,
        password_changed_at: row.try_get("password_changed_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    }))
}
