//! Client certificate invitations (guide 8.2.1 "Send Invitation"): one-time, expiring links
//! mailed to a person, kept as the token's digest.

use crate::db::Row;
use crate::{Result, Store, Tx};
use castellan_model::{AdminId, OrgId, PersonId, ProfileId, RequestId};

/// An invitation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvitation {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The person invited.
    pub person_id: PersonId,
    /// The organisation or department the certificate is for.
    pub org_id: OrgId,
    /// The profile.
    pub profile_id: ProfileId,
    /// The term in days.
    pub term_days: i64,
    /// Who sent it.
    pub invited_by: AdminId,
    /// When.
    pub created_at: i64,
    /// Until when the link works.
    pub expires_at: i64,
}

/// A stored invitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Row id.
    pub id: i64,
    /// What was stored.
    pub invitation: NewInvitation,
    /// When the link was used (claimed for an issuance).
    pub used_at: Option<i64>,
    /// The order it led to.
    pub request_id: Option<RequestId>,
}

const COLUMNS: &str = "id, token_hash, person_id, org_id, profile_id, term_days, invited_by, \
     created_at, expires_at, used_at, request_id";

fn read(row: &Row) -> Result<InvitationRecord> {
    Ok(InvitationRecord {
        id: row.try_get("id")?,
        invitation: NewInvitation {
            token_hash: row.try_get("token_hash")?,
            person_id: PersonId(row.try_get("person_id")?),
            org_id: OrgId(row.try_get("org_id")?),
            profile_id: ProfileId(row.try_get("profile_id")?),
            term_days: row.try_get("term_days")?,
            invited_by: AdminId(row.try_get("invited_by")?),
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
        },
        used_at: row.try_get("used_at")?,
        request_id: row.try_get::<Option<i64>, _>("request_id")?.map(RequestId),
    })
}

impl Tx {
    /// Stores an invitation; returns its id.
    pub async fn insert_client_invitation(&mut self, i: &NewInvitation) -> Result<i64> {
        let row = crate::db::query(
            "INSERT INTO client_invitations (token_hash, person_id, org_id, profile_id, \
             term_days, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&i.token_hash)
        .bind(i.person_id.0)
        .bind(i.org_id.0)
        .bind(i.profile_id.0)
        .bind(i.term_days)
        .bind(i.invited_by.0)
        .bind(i.created_at)
        .bind(i.expires_at)
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }

    /// Claims an unused, unexpired invitation for an issuance; `false` when it was used
    /// (or claimed by a request racing this one) or has expired.
    pub async fn claim_client_invitation(&mut self, id: i64, now: i64) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE client_invitations SET used_at = $1 WHERE id = $2 AND used_at IS NULL \
             AND expires_at >= $1",
        )
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a claimed invitation back (its issuance was refused, so the link stays usable).
    pub async fn release_client_invitation(&mut self, id: i64) -> Result<()> {
        crate::db::query(
            "UPDATE client_invitations SET used_at = NULL WHERE id = $1 AND request_id IS NULL",
        )
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records the order a claimed invitation led to.
    pub async fn complete_client_invitation(&mut self, id: i64, order: RequestId) -> Result<()> {
        crate::db::query("UPDATE client_invitations SET request_id = $1 WHERE id = $2")
            .bind(order.0)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// The invitation whose token has this digest, used or not.
    pub async fn client_invitation(&self, token_hash: &str) -> Result<Option<InvitationRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM client_invitations WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read)
        .transpose()
    }
}
