//! The dashboard (guide 3.2): "a quick view of the basic statistics of (almost) all the
//! certificates issued by your organisation(s), along with important things like upcoming
//! expiring certificates and DCVs" — everything within the administrator's scope, each
//! figure matching a filter of the list it links to.

use crate::actor::Actor;
use crate::domains::{DcvStatus, DomainView};
use crate::{Authority, Result};
use castellan_model::{CertificateStatus, CertificateType};
use castellan_store::{ApprovalRecord, AuditRecord, OrderFilter, OrderSummary};
use std::collections::BTreeMap;

/// The expiry windows shown, in days.
pub const EXPIRING_DAYS: [i64; 3] = [7, 30, 90];
/// A validated DCV expiring within this many days is listed.
pub const DCV_WARNING_DAYS: i64 = 30;
/// How many recent activity entries are shown.
pub const RECENT_ENTRIES: usize = 10;
/// How many requests awaiting approval are listed (the count covers all of them).
pub const AWAITING_LISTED: i64 = 10;

/// Certificates of one type by status.
#[derive(Clone, Debug)]
pub struct TypeCounts {
    /// The certificate type.
    pub certificate_type: CertificateType,
    /// Non-zero counts, in SCM's status order.
    pub by_status: Vec<(CertificateStatus, i64)>,
    /// All of them.
    pub total: i64,
}

/// Issued certificates (not yet renewed) that expire within `days`.
#[derive(Clone, Debug)]
pub struct ExpiringCount {
    /// The window.
    pub days: i64,
    /// How many.
    pub count: i64,
}

/// What the dashboard shows.
#[derive(Clone, Debug)]
pub struct Dashboard {
    /// Per certificate type that has any, counts by status.
    pub certificates: Vec<TypeCounts>,
    /// SSL certificates expiring within each of [`EXPIRING_DAYS`].
    pub expiring: Vec<ExpiringCount>,
    /// Domains whose validation has expired or expires within [`DCV_WARNING_DAYS`], soonest
    /// first.
    pub dcvs: Vec<DomainView>,
    /// SSL requests waiting for an administrator's decision (the first few) and how many.
    pub awaiting: (Vec<OrderSummary>, i64),
    /// Second-administrator approvals this administrator may decide.
    pub approvals: Vec<ApprovalRecord>,
    /// The latest entries of the audit log this administrator may see.
    pub recent: Vec<AuditRecord>,
    /// For the operators (who run the mail server settings): e-mails given up after every
    /// retry, so that a broken mail server does not go unnoticed.
    pub given_up_emails: i64,
}

impl Authority {
    /// The dashboard of `actor`.
    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard> {
        let now = self.now();
        let mut certificates = Vec::new();
        for area in CertificateType::ALL {
            let scope = self.order_scope(actor, area).await?;
            let mut counts: BTreeMap<usize, i64> = BTreeMap::new();
            for row in self.store.order_counts(scope.as_deref()).await? {
                let of_area = self
                    .profiles
                    .by_id(row.profile_id)
                    .is_some_and(|p| p.certificate_type == area);
                let rank = CertificateStatus::ALL.iter().position(|s| *s == row.status);
                if let (true, Some(rank)) = (of_area, rank) {
                    *counts.entry(rank).or_default() += row.count;
                }
            }
            if !counts.is_empty() {
                let by_status: Vec<(CertificateStatus, i64)> = counts
                    .into_iter()
                    .map(|(rank, n)| (CertificateStatus::ALL[rank], n))
                    .collect();
                certificates.push(TypeCounts {
                    certificate_type: area,
                    total: by_status.iter().map(|(_, n)| n).sum(),
                    by_status,
                });
            }
        }
        let mut expiring = Vec::new();
        for days in EXPIRING_DAYS {
            let filter = OrderFilter {
                expiring: Some(expiring_window(now, days)),
                ..OrderFilter::default()
            };
            let (_, count) = self.orders(actor, filter, 0, 0).await?;
            expiring.push(ExpiringCount { days, count });
        }
        let mut dcvs: Vec<DomainView> = self
            .domains(actor)
            .await?
            .into_iter()
            .filter(|d| match d.status {
                DcvStatus::Expired => true,
                DcvStatus::Validated => d
                    .dcv
                    .as_ref()
                    .and_then(|v| v.expires_at)
                    .is_some_and(|e| e < now + DCV_WARNING_DAYS * 86_400),
                _ => false,
            })
            .collect();
        dcvs.sort_by_key(|d| d.dcv.as_ref().and_then(|v| v.expires_at));
        let awaiting = self
            .orders(
                actor,
                OrderFilter {
                    status: Some(CertificateStatus::Requested),
                    ..OrderFilter::default()
                },
                0,
                AWAITING_LISTED,
            )
            .await?;
        let approvals = self.pending_approvals(actor).await?;
        let mut recent = self
            .audit_entries(actor, 0, now, 20 * RECENT_ENTRIES as i64)
            .await?;
        recent.truncate(RECENT_ENTRIES);
        let given_up_emails = if actor.is_mrao() {
            self.store.given_up_emails().await?
        } else {
            0
        };
        Ok(Dashboard {
            given_up_emails,
            certificates,
            expiring,
            dcvs,
            awaiting,
            approvals,
            recent,
        })
    }
}

/// The window of "expires within `days`" at `now`, as the list filter takes it.
pub fn expiring_window(now: i64, days: i64) -> (i64, i64) {
    (now, now + days * 86_400)
}
