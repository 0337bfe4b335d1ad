//! Notification rules, and the certificates a scan for expiry warnings looks at.

use crate::db::Row;
use crate::{Result, Store, Tx};
use castellan_model::{AdminId, CertificateId, OrgId, PersonId, ProfileId, RequestId};

/// A notification rule to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRule {
    /// What it notifies of (`ssl.expiring`, ...).
    pub kind: String,
    /// The organisation (or department) it covers.
    pub org_id: OrgId,
    /// Only these departments of it (empty: the whole organisation, departments included).
    pub departments: Vec<OrgId>,
    /// Tell the administrator who requested the certificate.
    pub requester: bool,
    /// Tell the external requester (the e-mail the certificate was requested for).
    pub external_requester: bool,
    /// Tell the administrators with a role over the certificate's organisation/department.
    pub admins: bool,
    /// Fixed addresses.
    pub addresses: Vec<String>,
    /// Days before the event (expiry warnings: 90, 60, 30, 7, 3, …), ascending.
    pub days: Vec<i64>,
    /// Who made it.
    pub created_by: Option<AdminId>,
    /// When.
    pub created_at: i64,
}

/// A stored notification rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRecord {
    /// Row id.
    pub id: i64,
    /// The rule.
    pub rule: NewRule,
}

/// An issued certificate near its expiry, with what a notification about it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringCertificate {
    /// The order (SCM `sslId`).
    pub request_id: RequestId,
    /// The certificate.
    pub certificate_id: CertificateId,
    /// Its organisation or department.
    pub org_id: Option<OrgId>,
    /// Its serial, hex.
    pub serial: String,
    /// Common name.
    pub common_name: Option<String>,
    /// Names.
    pub names: Vec<String>,
    /// notAfter.
    pub not_after: i64,
    /// The administrator who requested it.
    pub requester_admin_id: Option<AdminId>,
    /// External requester e-mails (comma-separated).
    pub external_requester: String,
    /// The profile it was issued under.
    pub profile_id: ProfileId,
    /// A client certificate's person: their id and e-mail.
    pub person: Option<(PersonId, String)>,
}

fn read_certificate(row: &Row) -> Result<ExpiringCertificate> {
    let names: String = row.try_get("requested_names")?;
    Ok(ExpiringCertificate {
        request_id: RequestId(row.try_get("id")?),
        certificate_id: CertificateId(row.try_get("certificate_id")?),
        org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
        serial: row.try_get("serial")?,
        common_name: row.try_get("common_name")?,
        names: names.lines().map(str::to_owned).collect(),
        not_after: row.try_get("not_after")?,
        requester_admin_id: row
            .try_get::<Option<i64>, _>("requester_admin_id")?
            .map(AdminId),
        external_requester: row.try_get("external_requester")?,
        profile_id: ProfileId(row.try_get("profile_id")?),
        person: match (
            row.try_get::<Option<i64>, _>("person_id")?,
            row.try_get::<Option<String>, _>("person_email")?,
        ) {
            (Some(id), Some(email)) => Some((PersonId(id), email)),
            _ => None,
        },
    })
}

fn ids(text: &str) -> Vec<OrgId> {
    text.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .map(OrgId)
        .collect()
}

fn read_rule(row: &Row) -> Result<RuleRecord> {
    let flag = |name: &str| -> Result<bool> { Ok(row.try_get::<i64, _>(name)? != 0) };
    let addresses: String = row.try_get("addresses")?;
    let days: String = row.try_get("days")?;
    Ok(RuleRecord {
        id: row.try_get("id")?,
        rule: NewRule {
            kind: row.try_get("kind")?,
            org_id: OrgId(row.try_get("org_id")?),
            departments: ids(&row.try_get::<String, _>("departments")?),
            requester: flag("notify_requester")?,
            external_requester: flag("notify_external")?,
            admins: flag("notify_admins")?,
            addresses: addresses
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            days: days.split(',').filter_map(|d| d.parse().ok()).collect(),
            created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AdminId),
            created_at: row.try_get("created_at")?,
        },
    })
}

/// Binds the eight columns a rule's content is stored in, in table order.
fn bind_rule(query: crate::db::Query, rule: &NewRule) -> crate::db::Query {
    let departments = rule
        .departments
        .iter()
        .map(|o| o.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let days = rule
        .days
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    query
        .bind(rule.kind.clone())
        .bind(rule.org_id.0)
        .bind(departments)
        .bind(i64::from(rule.requester))
        .bind(i64::from(rule.external_requester))
        .bind(i64::from(rule.admins))
        .bind(rule.addresses.join("\n"))
        .bind(days)
}

/// An administrator's version of a notification template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateRecord {
    /// The kind it is for (`ssl.expiring`, …).
    pub kind: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body; empty: made from the text.
    pub body_html: String,
    /// Who saved it.
    pub updated_by: Option<AdminId>,
    /// When.
    pub updated_at: i64,
}

const RULE_COLUMNS: &str = "id, kind, org_id, departments, notify_requester, notify_external, \
     notify_admins, addresses, days, created_by, created_at";

impl Tx {
    /// Stores a rule; returns its id.
    pub async fn insert_rule(&mut self, rule: &NewRule) -> Result<i64> {
        let row = bind_rule(
            crate::db::query(
                "INSERT INTO notification_rules (kind, org_id, departments, notify_requester, \
                 notify_external, notify_admins, addresses, days, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            ),
            rule,
        )
        .bind(rule.created_by.map(|a| a.0))
        .bind(rule.created_at)
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }

    /// Replaces what rule `id` says (its creator and creation time stay); `false` if there
    /// is no such rule.
    pub async fn update_rule(&mut self, id: i64, rule: &NewRule) -> Result<bool> {
        let done = bind_rule(
            crate::db::query(
                "UPDATE notification_rules SET kind = $1, org_id = $2, departments = $3, \
                 notify_requester = $4, notify_external = $5, notify_admins = $6, \
                 addresses = $7, days = $8 WHERE id = $9",
            ),
            rule,
        )
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores an administrator's version of a notification template, replacing any.
    pub async fn put_template(&mut self, template: &TemplateRecord) -> Result<()> {
        crate::db::query(
            "INSERT INTO notification_templates (kind, subject, body_text, body_html, \
             updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kind) DO UPDATE SET subject = excluded.subject, \
             body_text = excluded.body_text, body_html = excluded.body_html, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(&template.kind)
        .bind(&template.subject)
        .bind(&template.body_text)
        .bind(&template.body_html)
        .bind(template.updated_by.map(|a| a.0))
        .bind(template.updated_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Removes the administrator's version of `kind` (the default applies again); `false`
    /// if there was none.
    pub async fn delete_template(&mut self, kind: &str) -> Result<bool> {
        let done = crate::db::query("DELETE FROM notification_templates WHERE kind = $1")
            .bind(kind)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a rule; `false` if there was none.
    pub async fn delete_rule(&mut self, id: i64) -> Result<bool> {
        let done = crate::db::query("DELETE FROM notification_rules WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Every administrator's version of a template.
    pub async fn templates(&self) -> Result<Vec<TemplateRecord>> {
        crate::db::query(
            "SELECT kind, subject, body_text, body_html, updated_by, updated_at \
             FROM notification_templates ORDER BY kind",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(TemplateRecord {
                kind: row.try_get("kind")?,
                subject: row.try_get("subject")?,
                body_text: row.try_get("body_text")?,
                body_html: row.try_get("body_html")?,
                updated_by: row.try_get::<Option<i64>, _>("updated_by")?.map(AdminId),
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
    }

    /// Every rule, oldest first.
    pub async fn rules(&self) -> Result<Vec<RuleRecord>> {
        crate::db::query(format!(
            "SELECT {RULE_COLUMNS} FROM notification_rules ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_rule)
        .collect()
    }

    /// Orders whose certificate was issued at or after `since` through one of `doors`
    /// (`Portal`, `REST API`, …), oldest first: whom to tell that a certificate is ready.
    pub async fn recently_issued(
        &self,
        since: i64,
        doors: &[&str],
    ) -> Result<Vec<ExpiringCertificate>> {
        let mut params = crate::bind::Params::new(self.kind());
        let since_p = params.push(crate::bind::Bind::Int(since));
        let doors_p: Vec<String> = doors
            .iter()
            .map(|d| params.push(crate::bind::Bind::Text((*d).to_owned())))
            .collect();
        params
            .bind_all(crate::db::query(format!(
                "SELECT r.id, r.certificate_id, r.org_id, r.common_name, r.requested_names, \
                 r.requester_admin_id, r.external_requester, r.profile_id, c.serial, \
                 c.not_after, r.person_id, p.email AS person_email \
                 FROM certificate_requests r JOIN certificates c ON c.id = r.certificate_id \
                 LEFT JOIN persons p ON p.id = r.person_id \
                 WHERE r.status = 'Issued' AND c.issued_at >= {since_p} \
                 AND r.requested_via IN ({}) ORDER BY c.issued_at, r.id",
                doors_p.join(", ")
            )))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(read_certificate)
            .collect()
    }

    /// Certificates (Issued, or Expired since) whose notAfter is after `from` and at most
    /// `to`, not renewed: neither marked renewed (renewal, auto-renewal) nor followed by a
    /// later issued order for exactly the same names (an ACME client or an administrator
    /// ordering again).
    pub async fn expiring_certificates(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<ExpiringCertificate>> {
        crate::db::query(
            "SELECT r.id, r.certificate_id, r.org_id, r.common_name, r.requested_names, \
             r.requester_admin_id, r.external_requester, r.profile_id, c.serial, c.not_after, \
             r.person_id, p.email AS person_email \
             FROM certificate_requests r JOIN certificates c ON c.id = r.certificate_id \
             LEFT JOIN persons p ON p.id = r.person_id \
             WHERE r.status IN ('Issued', 'Expired') AND r.renewed_by_id IS NULL \
             AND c.not_after > $1 AND c.not_after <= $2 \
             AND NOT EXISTS (SELECT 1 FROM certificate_requests n \
                 WHERE n.requested_names = r.requested_names AND n.id > r.id \
                 AND n.status = 'Issued') \
             ORDER BY c.not_after, r.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_certificate)
        .collect()
    }
}
