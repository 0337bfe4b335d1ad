//! The e-mail outbox: queued in the event's transaction, claimed with a lease by one
//! worker at a time (on any node), marked sent or retried later.

use crate::db::Row;
use crate::{EmailRecord, NewEmail, Result, Store, Tx};

const COLUMNS: &str = "id, idempotency_key, recipient, subject, body_text, body_html, status, \
     attempts, next_attempt_at, last_error, created_at, sent_at";

impl Tx {
    /// Queues an e-mail; returns `false` when one with the same idempotency key exists.
    pub async fn enqueue_email(&mut self, email: &NewEmail) -> Result<bool> {
        let done = crate::db::query(
            "INSERT INTO email_outbox (idempotency_key, recipient, subject, body_text, \
             body_html, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&email.idempotency_key)
        .bind(&email.recipient)
        .bind(&email.subject)
        .bind(&email.body_text)
        .bind(&email.body_html)
        .bind(email.created_at)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Claims up to `limit` e-mails that are due, leasing them until `lease_until` so no
    /// other worker takes them meanwhile. The whole condition (due, and not leased) is
    /// repeated in the outer `WHERE` so that on PostgreSQL a second claimer re-checks it
    /// after waiting for the row lock: it skips rows the first one took, and rows the first
    /// one already tried and put back for a later retry (lease cleared, retry time moved on).
    pub async fn claim_emails(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<EmailRecord>> {
        let mut tx = self.begin().await?;
        let rows = crate::db::query(format!(
            "UPDATE email_outbox SET lease_until = $1 WHERE id IN (SELECT id FROM email_outbox \
             WHERE status = 'PENDING' AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until <= $2) ORDER BY id LIMIT $3) \
             AND status = 'PENDING' AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until <= $2) \
             RETURNING {COLUMNS}"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(tx.conn())
        .await?;
        tx.commit().await?;
        let mut out: Vec<EmailRecord> = rows.iter().map(read).collect::<Result<_>>()?;
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    /// Records a successful delivery, and erases the message's body: it may carry a one-time
    /// link (an invitation, a key recovery, an e-mail DCV), and nothing reads it once sent
    /// (the delivery log shows recipient, subject and status).
    pub async fn mark_email_sent(&self, id: i64, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        crate::db::query(
            "UPDATE email_outbox SET status = 'SENT', sent_at = $1, attempts = attempts + 1, \
             lease_until = NULL, last_error = '', body_text = '', body_html = '' WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// Records a failed delivery: retried at `retry_at`, or given up (`DEAD`) when `None`.
    pub async fn mark_email_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        crate::db::query(
            "UPDATE email_outbox SET attempts = attempts + 1, last_error = $1, \
             lease_until = NULL, status = $2, next_attempt_at = COALESCE($3, next_attempt_at) \
             WHERE id = $4",
        )
        .bind(error)
        .bind(if retry_at.is_some() {
            "PENDING"
        } else {
            "DEAD"
        })
        .bind(retry_at)
        .bind(id)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// The e-mails to `recipient`, newest first.
    pub async fn emails_to(&self, recipient: &str, limit: i64) -> Result<Vec<EmailRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM email_outbox WHERE lower(recipient) = lower($1) \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(recipient)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read)
        .collect()
    }

    /// How many e-mails were given up (`DEAD`).
    pub async fn given_up_emails(&self) -> Result<i64> {
        crate::db::query("SELECT COUNT(*) AS n FROM email_outbox WHERE status = 'DEAD'")
            .fetch_one(self.pool())
            .await?
            .try_get("n")
    }

    /// Every queued e-mail, newest first (for administrators and tests).
    pub async fn emails(&self, limit: i64) -> Result<Vec<EmailRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM email_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read)
        .collect()
    }
}

fn read(row: &Row) -> Result<EmailRecord> {
    Ok(EmailRecord {
        id: row.try_get("id")?,
        email: NewEmail {
            idempotency_key: row.try_get("idempotency_key")?,
            recipient: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            body_html: row.try_get("body_html")?,
            created_at: row.try_get("created_at")?,
        },
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        sent_at: row.try_get("sent_at")?,
    })
}
