//! The daily scan for certificates and domain validations near or past their expiry: for
//! every rule, what has reached one of its thresholds, told once per threshold and
//! recipient (a second scan the same day, or on another node, queues nothing new).

use super::kinds::{
    DCV_EXPIRED, DCV_EXPIRING, SMIME_EXPIRED, SMIME_EXPIRING, SSL_EXPIRED, SSL_EXPIRING,
};
use super::{Audience, covers, queue, shown_name};
use crate::{Authority, Result};
use castellan_model::OrgId;
use castellan_store::{ExpiringCertificate, NewRule};

/// How long after an expiry its notice is still sent (a rule made later does not mail about
/// every certificate that ever expired).
pub const EXPIRED_WINDOW_SECONDS: i64 = 7 * 86_400;

/// The threshold an expiry `days_left` away falls under: the smallest of `days` that is at
/// least `days_left` (so a late first scan sends only the nearest warning, not every one).
pub fn threshold(days: &[i64], days_left: i64) -> Option<i64> {
    days.iter().copied().filter(|d| *d >= days_left).min()
}

/// Whether the daily scan, set for `minute` minutes after midnight UTC and last run at
/// `last` (never, in this process, for `None`), is due at `now`: once today's time has
/// come and it has not run since. A process that starts after today's time scans at once
/// (it may have been down at that time); running twice sends nothing twice.
pub fn scan_due(last: Option<i64>, now: i64, minute: i64) -> bool {
    let today = now - now.rem_euclid(86_400) + minute * 60;
    now >= today && last.is_none_or(|l| l < today)
}

/// What `rule` sends for an expiry `days_left` days away, if anything: an "expiring" rule
/// its threshold while the day is ahead, an "expired" rule its notice (threshold 0) once it
/// has passed.
fn due(rule: &NewRule, days_left: i64) -> Option<(&'static str, i64)> {
    match (rule.kind.as_str(), days_left > 0) {
        (SSL_EXPIRING, true) => threshold(&rule.days, days_left).map(|t| (SSL_EXPIRING, t)),
        (SMIME_EXPIRING, true) => threshold(&rule.days, days_left).map(|t| (SMIME_EXPIRING, t)),
        (DCV_EXPIRING, true) => threshold(&rule.days, days_left).map(|t| (DCV_EXPIRING, t)),
        (SSL_EXPIRED, false) => Some((SSL_EXPIRED, 0)),
        (SMIME_EXPIRED, false) => Some((SMIME_EXPIRED, 0)),
        (DCV_EXPIRED, false) => Some((DCV_EXPIRED, 0)),
        _ => None,
    }
}

/// Whole days from `now` until `at`, rounded up (0 or less once `at` has passed).
fn days_until(at: i64, now: i64) -> i64 {
    (at - now + 86_399) / 86_400
}

impl Audience {
    /// How many days ahead the furthest threshold of the rules of `kinds` looks (0 for
    /// "expired" rules only); `None` when there are no such rules.
    fn horizon(&self, kinds: &[&str]) -> Option<i64> {
        self.has_rules(kinds).then(|| {
            self.rules
                .iter()
                .filter(|r| kinds.contains(&r.rule.kind.as_str()))
                .flat_map(|r| r.rule.days.iter())
                .max()
                .copied()
                .unwrap_or(0)
        })
    }
}

impl Authority {
    /// The expiry warnings job: for every rule, the issued, not renewed certificates of its
    /// organisation or departments that have reached one of its thresholds; one mail per
    /// certificate, threshold and recipient, queued in the outbox. Returns how many were
    /// queued now (those queued by an earlier run are not queued again).
    pub async fn send_expiry_warnings(&self) -> Result<usize> {
        let audience = self.audience().await?;
        let Some(horizon) =
            audience.horizon(&[SSL_EXPIRING, SSL_EXPIRED, SMIME_EXPIRING, SMIME_EXPIRED])
        else {
            return Ok(0);
        };
        let now = self.now();
        let expiring = self
            .store
            .expiring_certificates(now - EXPIRED_WINDOW_SECONDS, now + horizon * 86_400)
            .await?;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for cert in &expiring {
            let Some(org) = cert.org_id else { continue };
            // Each certificate type has its own kinds; a client certificate's "external
            // requester" is the person it is for.
            let (kinds, external) = if self.is_ssl_profile(cert.profile_id) {
                ([SSL_EXPIRING, SSL_EXPIRED], cert.external_requester.clone())
            } else if self.profile_is(cert.profile_id, castellan_model::CertificateType::Smime) {
                (
                    [SMIME_EXPIRING, SMIME_EXPIRED],
                    cert.person
                        .as_ref()
                        .map(|(_, email)| email.clone())
                        .unwrap_or_default(),
                )
            } else {
                continue;
            };
            let days_left = days_until(cert.not_after, now);
            for kind in kinds {
                for rule in audience.rules_for(kind, org) {
                    let Some((kind, threshold)) = due(rule, days_left) else {
                        continue;
                    };
                    let recipients =
                        audience.told_by(rule, org, cert.requester_admin_id, &external);
                    let text = audience.render(
                        kind,
                        &self.expiry_context(cert, &audience, org, days_left, threshold),
                    )?;
                    queued += queue(
                        &mut tx,
                        &format!("{kind}:{}:{threshold}", cert.certificate_id),
                        recipients,
                        &text,
                        now,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    /// The DCV expiry warnings job: for every DCV rule, the validations of the domains
    /// delegated within its scope that have reached one of its thresholds; one mail per
    /// validation, threshold and recipient (a new validation starts a new series).
    pub async fn send_dcv_warnings(&self) -> Result<usize> {
        let audience = self.audience().await?;
        let Some(horizon) = audience.horizon(&[DCV_EXPIRING, DCV_EXPIRED]) else {
            return Ok(0);
        };
        let now = self.now();
        let dcvs: Vec<_> = self
            .store
            .dcvs()
            .await?
            .into_iter()
            .filter(|d| d.validated_at.is_some())
            .filter(|d| {
                d.expires_at.is_some_and(|e| {
                    e > now - EXPIRED_WINDOW_SECONDS && e <= now + horizon * 86_400
                })
            })
            .collect();
        if dcvs.is_empty() {
            return Ok(0);
        }
        let domains = self.store.domains().await?;
        let tree = &audience.tree;
        let mut queued = 0;
        let mut tx = self.store.begin().await?;
        for dcv in &dcvs {
            let expires = dcv.expires_at.unwrap_or(now);
            let days_left = days_until(expires, now);
            // The domain entries this validation serves, and the organisations they are
            // delegated to.
            let entries: Vec<_> = domains
                .iter()
                .filter(|d| d.name.trim_start_matches("*.") == dcv.domain)
                .collect();
            let Some(entry) = entries.first() else {
                continue;
            };
            let rules = audience
                .rules
                .iter()
                .map(|r| &r.rule)
                .filter(|r| r.kind == DCV_EXPIRING || r.kind == DCV_EXPIRED);
            for rule in rules {
                let delegated: Vec<OrgId> = entries
                    .iter()
                    .flat_map(|d| d.delegations.iter())
                    .filter(|g| g.active && covers(tree, rule, g.org_id))
                    .map(|g| g.org_id)
                    .collect();
                let Some((kind, threshold)) = due(rule, days_left) else {
                    continue;
                };
                if delegated.is_empty() {
                    continue;
                }
                let mut recipients: Vec<String> = rule.addresses.clone();
                if rule.admins {
                    recipients
                        .extend(audience.administrators(|a| {
                            delegated.iter().any(|o| a.covers(tree, *o, None))
                        }));
                }
                let text = audience.render(
                    kind,
                    &serde_json::json!({
                        "domain": dcv.domain,
                        "expires": crate::clock::utc_minute(expires),
                        "days_left": days_left,
                        "threshold": threshold,
                        "method": dcv.validated_method,
                        "link": self.portal_url(&format!("/domains/{}", entry.id.0)),
                        "organization": audience.name_of(rule.org_id),
                    }),
                )?;
                queued += queue(
                    &mut tx,
                    &format!("{kind}:{}:{expires}:{threshold}", dcv.domain),
                    recipients,
                    &text,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    fn expiry_context(
        &self,
        cert: &ExpiringCertificate,
        audience: &Audience,
        org: OrgId,
        days_left: i64,
        threshold: i64,
    ) -> serde_json::Value {
        serde_json::json!({
            "common_name": shown_name(cert.common_name.as_deref(), &cert.names),
            "names": cert.names,
            "serial": cert.serial,
            "expires": crate::clock::utc_minute(cert.not_after),
            "days_left": days_left,
            "threshold": threshold,
            "order_id": cert.request_id.0,
            "link": match &cert.person {
                Some((person, _)) => self.portal_url(&format!("/client/{}", person.0)),
                None => self.portal_url(&format!("/ssl/{}", cert.request_id.0)),
            },
            "organization": audience.name_of(org),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{scan_due, threshold};

    #[test]
    fn the_scan_runs_once_a_day_at_its_time() {
        let midnight = 1_800_000_000 - 1_800_000_000 % 86_400;
        let six = 6 * 60;
        // Before six on the first day: not yet.
        assert!(!scan_due(None, midnight + 5 * 3600, six));
        // At six: due; once run, not again that day.
        assert!(scan_due(None, midnight + 6 * 3600, six));
        assert!(!scan_due(
            Some(midnight + 6 * 3600),
            midnight + 23 * 3600,
            six
        ));
        // Started at noon: at once (it may have been down at six).
        assert!(scan_due(None, midnight + 12 * 3600, six));
        // The next day, at six again.
        let ran = Some(midnight + 6 * 3600 + 30);
        assert!(!scan_due(ran, midnight + 86_400 + 5 * 3600, six));
        assert!(scan_due(ran, midnight + 86_400 + 6 * 3600, six));
    }

    #[test]
    fn each_expiry_falls_under_the_nearest_threshold() {
        let days = [3, 7, 30, 60, 90];
        assert_eq!(threshold(&days, 100), None);
        assert_eq!(threshold(&days, 90), Some(90));
        assert_eq!(threshold(&days, 45), Some(60));
        assert_eq!(threshold(&days, 30), Some(30));
        assert_eq!(threshold(&days, 8), Some(30));
        assert_eq!(threshold(&days, 5), Some(7));
        assert_eq!(threshold(&days, 1), Some(3));
    }
}
