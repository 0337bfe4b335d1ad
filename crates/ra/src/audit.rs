//! The audit log: every change, who made it, through which door, from where, and the
//! object before and after — appended in the same transaction as the change and chained by
//! SHA-256 so that an edited, removed or reordered row is detected (`castellan audit verify`).
//!
//! Secrets never enter it: callers pass views of objects without password hashes, tokens
//! or keys.

use crate::actor::Actor;
use crate::{Authority, Result};
use castellan_model::OrgId;
use castellan_store::{AuditRecord, NewAuditEntry, Tx};

/// What changed, for [`record`].
pub(crate) struct Change<'a> {
    /// `admin.create`, `organization.update`, ...
    pub action: &'a str,
    /// `admin`, `organization`, ...
    pub object_type: &'a str,
    /// The object's id.
    pub object_id: String,
    /// The organisation or department concerned.
    pub org_id: Option<OrgId>,
    /// A sentence for people.
    pub description: String,
}

/// Appends an entry for `change` by `actor` inside `tx`.
pub(crate) async fn record(
    tx: &mut Tx,
    actor: &Actor,
    at: i64,
    change: Change<'_>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<i64> {
    let entry = NewAuditEntry {
        at,
        admin_id: actor.admin_id,
        actor: actor.login.clone(),
        access_method: actor.access_method.as_str().to_owned(),
        address: actor.address.clone(),
        action: change.action.to_owned(),
        object_type: change.object_type.to_owned(),
        object_id: change.object_id,
        org_id: change.org_id,
        description: change.description,
        before_json: before.map(|v| v.to_string()).unwrap_or_default(),
        after_json: after.map(|v| v.to_string()).unwrap_or_default(),
    };
    Ok(tx.append_audit(&entry, chain_hash).await?)
}

/// The hash of row `seq`: SHA-256 over a JSON array of the sequence number, the previous
/// hash and every field, so no field can change without changing the hash.
pub fn chain_hash(seq: i64, prev: &str, e: &NewAuditEntry) -> String {
    let canonical = serde_json::json!([
        seq,
        prev,
        e.at,
        e.admin_id.map(|a| a.0),
        e.actor,
        e.access_method,
        e.address,
        e.action,
        e.object_type,
        e.object_id,
        e.org_id.map(|o| o.0),
        e.description,
        e.before_json,
        e.after_json,
    ]);
    hex::encode(castellan_pki::keys::sha256(
        canonical.to_string().as_bytes(),
    ))
}

/// The hash the first row names as its predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The outcome of [`Authority::verify_audit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditVerification {
    /// Rows checked.
    pub rows: i64,
    /// The first broken link: the row's sequence number and what is wrong.
    pub first_broken: Option<(i64, String)>,
}

impl Authority {
    /// Walks the whole chain, page by page, and reports the first row whose hash, sequence
    /// number or link to its predecessor is wrong (and a chain whose head names rows that
    /// are missing).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        const PAGE: i64 = 1000;
        let mut expected_seq = 1;
        let mut prev = GENESIS.to_owned();
        let mut rows = 0;
        loop {
            let page = self.store.audit_page(expected_seq - 1, PAGE).await?;
            if page.is_empty() {
                break;
            }
            let count = page.len() as i64;
            for row in page {
                rows += 1;
                if let Some(problem) = check_row(&row, expected_seq, &prev) {
                    return Ok(AuditVerification {
                        rows,
                        first_broken: Some((row.id, problem)),
                    });
                }
                prev = row.hash;
                expected_seq += 1;
            }
            if count < PAGE {
                break;
            }
        }
        let (head_seq, head_hash) = self.store.audit_head().await?;
        let first_broken = if head_seq != expected_seq - 1 {
            Some((
                expected_seq,
                format!(
                    "the chain's head records {head_seq} entries but only {} are present: \
                     rows after {} were removed",
                    expected_seq - 1,
                    expected_seq - 1
                ),
            ))
        } else if head_hash != prev {
            Some((
                head_seq,
                "the last row's hash differs from the hash recorded at the chain's head".into(),
            ))
        } else {
            None
        };
        Ok(AuditVerification { rows, first_broken })
    }

    /// Audit entries between two times (Unix seconds, inclusive), newest first.
    pub async fn audit_entries(
        &self,
        actor: &Actor,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let tree = crate::scope::OrgTree::load(&self.store).await?;
        let rows = self.store.audit_between(from, to, limit).await?;
        Ok(rows
            .into_iter()
            .filter(|r| {
                actor.is_mrao()
                    || r.entry.admin_id == actor.admin_id && actor.admin_id.is_some()
                    || r.entry
                        .org_id
                        .is_some_and(|org| actor.covers(&tree, org, None))
            })
            .collect())
    }
}

fn check_row(row: &AuditRecord, expected_seq: i64, prev: &str) -> Option<String> {
    if row.id != expected_seq {
        return Some(format!(
            "expected entry {expected_seq} but found {}: entries {expected_seq}..{} were removed",
            row.id,
            row.id - 1
        ));
    }
    if row.prev_hash != prev {
        return Some("its link to the previous entry does not match that entry's hash".into());
    }
    if chain_hash(row.id, prev, &row.entry) != row.hash {
        return Some("its content does not match its hash: the row was edited".into());
    }
    None
}
