//! Administrators (the first MRAO for now; the organisations issue adds the rest).

use crate::{AdminRecord, NewAdmin, Result, Store, StoreError, Tx};
use castellan_model::{AdminId, AdminRole, AdminType};
use sqlx::Row;

impl Store {
    /// The administrator with this login, if any.
    pub async fn admin_by_login(&self, login: &str) -> Result<Option<AdminRecord>> {
        let Some(row) = sqlx::query(
            "SELECT id, login, email, admin_type, password_hash, must_change_password, \
             failed_attempts, status FROM administrators WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let admin_type: String = row.try_get("admin_type")?;
        let roles =
            sqlx::query("SELECT role FROM administrator_roles WHERE admin_id = $1 ORDER BY role")
                .bind(id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| {
                    let role: String = r.try_get("role")?;
                    AdminRole::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))
                })
                .collect::<Result<Vec<_>>>()?;
        Ok(Some(AdminRecord {
            id: AdminId(id),
            login: row.try_get("login")?,
            email: row.try_get("email")?,
            admin_type: AdminType::parse(&admin_type)
                .ok_or_else(|| StoreError::Corrupt(format!("admin type '{admin_type}'")))?,
            password_hash: row.try_get("password_hash")?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
            failed_attempts: row.try_get("failed_attempts")?,
            status: row.try_get("status")?,
            roles,
        }))
    }
}

impl Tx {
    /// Stores an administrator and their customer-level roles.
    pub async fn insert_admin(&mut self, admin: &NewAdmin) -> Result<AdminId> {
        let row = sqlx::query(
            "INSERT INTO administrators (login, email, forename, surname, admin_type, \
             password_hash, must_change_password, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(&admin.login)
        .bind(&admin.email)
        .bind(&admin.forename)
        .bind(&admin.surname)
        .bind(admin.admin_type.as_str())
        .bind(admin.password_hash.clone())
        .bind(i64::from(admin.must_change_password))
        .bind(admin.created_at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| {
            if StoreError::unique_violation(&e, "login") {
                StoreError::Duplicate {
                    what: "administrator login",
                    value: admin.login.clone(),
                }
            } else {
                e.into()
            }
        })?;
        let id: i64 = row.try_get("id")?;
        for role in &admin.roles {
            sqlx::query(
                "INSERT INTO administrator_roles (admin_id, role, scope_id) VALUES ($1, $2, 0)",
            )
            .bind(id)
            .bind(role.as_str())
            .execute(self.conn())
            .await?;
        }
        Ok(AdminId(id))
    }
}
