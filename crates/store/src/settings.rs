//! Named settings kept in the database (customer URI, KEK check value, initialisation time).

use crate::{Result, Store, Tx};

/// The setting that marks a store as initialised (value: Unix time of `castellan init`).
pub const INITIALISED_AT: &str = "initialised_at";
/// The KEK check value (base64), proving at start-up that the right KEK is loaded.
pub const KEK_CHECK: &str = "kek_check";
/// The customer URI (`/customer/<uri>/`).
pub const CUSTOMER_URI: &str = "customer_uri";

impl Store {
    /// Reads a setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        let row = crate::db::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get::<String, _>("value")).transpose()
    }

    /// Whether `castellan init` has completed on this database.
    pub async fn is_initialised(&self) -> Result<bool> {
        Ok(self.setting(INITIALISED_AT).await?.is_some())
    }
}

impl Tx {
    /// Writes a setting (insert or replace).
    pub async fn set_setting(&mut self, name: &str, value: &str) -> Result<()> {
        crate::db::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
