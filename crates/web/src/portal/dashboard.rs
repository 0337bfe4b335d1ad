//! Guide 3.2, the dashboard: counts of certificates by status and type, certificates and
//! DCVs expiring soon, requests awaiting approval and recent activity — each figure a link
//! to the list it counts.

use super::page::{self, Chrome, Nav};
use super::session::Portal;
use askama::Template;
use axum::response::Response;
use castellan_ra::dashboard::{DCV_WARNING_DAYS, Dashboard};
use castellan_ra::domains::DcvStatus;

/// A figure with the link to what it counts.
struct Figure {
    label: String,
    count: i64,
    href: String,
}

/// One row of the "DCVs expiring" list.
struct DcvRow {
    domain: String,
    status: &'static str,
    expires: String,
    href: String,
}

/// One request awaiting approval.
struct AwaitingRow {
    id: i64,
    name: String,
    href: String,
}

/// One entry of recent activity.
struct ActivityRow {
    at: String,
    actor: String,
    method: String,
    description: String,
}

/// One types' counts.
struct TypeBlock {
    name: &'static str,
    total: i64,
    figures: Vec<Figure>,
}

#[derive(Template)]
#[template(path = "portal/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    types: Vec<TypeBlock>,
    expiring: Vec<Figure>,
    dcvs: Vec<DcvRow>,
    dcv_days: i64,
    awaiting: Vec<AwaitingRow>,
    awaiting_total: i64,
    approvals: Vec<String>,
    recent: Vec<ActivityRow>,
    given_up_emails: i64,
}

/// The guide's name of a certificate type.
pub(crate) fn type_name(t: castellan_model::CertificateType) -> &'static str {
    match t {
        castellan_model::CertificateType::Ssl => "SSL Certificates",
        castellan_model::CertificateType::Smime => "Client Certificates",
        castellan_model::CertificateType::CodeSign => "Code Signing Certificates",
    }
}

fn view(base: &str, d: Dashboard) -> (Vec<TypeBlock>, Vec<Figure>, Vec<DcvRow>) {
    let types = d
        .certificates
        .iter()
        .map(|t| TypeBlock {
            name: type_name(t.certificate_type),
            total: t.total,
            figures: t
                .by_status
                .iter()
                .map(|(status, count)| Figure {
                    label: status.as_str().to_owned(),
                    count: *count,
                    href: format!("{base}/ssl?status={}", status.as_str()),
                })
                .collect(),
        })
        .collect();
    let expiring = d
        .expiring
        .iter()
        .map(|e| Figure {
            label: format!("within {} days", e.days),
            count: e.count,
            href: format!("{base}/ssl?expiring={}", e.days),
        })
        .collect();
    let dcvs = d
        .dcvs
        .iter()
        .map(|v| DcvRow {
            domain: v.domain.name.clone(),
            status: if v.status == DcvStatus::Expired {
                "Expired"
            } else {
                "Expires soon"
            },
            expires: page::day(v.dcv.as_ref().and_then(|d| d.expires_at)),
            href: format!("{base}/domains/{}", v.domain.id.0),
        })
        .collect();
    (types, expiring, dcvs)
}

/// `GET /customer/<uri>/dashboard`.
pub(crate) async fn dashboard(portal: Portal) -> Response {
    let d = match portal.authority().dashboard(&portal.actor).await {
        Ok(d) => d,
        Err(e) => return page::ra_error_page(&e),
    };
    let base = portal.base();
    let awaiting = d
        .awaiting
        .0
        .iter()
        .map(|o| AwaitingRow {
            id: o.id.0,
            name: page::order_name(o),
            href: format!("{base}/ssl/{}", o.id.0),
        })
        .collect();
    let awaiting_total = d.awaiting.1;
    let approvals = d
        .approvals
        .iter()
        .map(|a| castellan_ra::approval::describe(&a.approval))
        .collect();
    let recent = d
        .recent
        .iter()
        .map(|r| ActivityRow {
            at: page::when(Some(r.entry.at)),
            actor: r.entry.actor.clone(),
            method: r.entry.access_method.clone(),
            description: r.entry.description.clone(),
        })
        .collect();
    let given_up_emails = d.given_up_emails;
    let (types, expiring, dcvs) = view(&base, d);
    portal.page(page::render(&DashboardPage {
        chrome: portal.chrome(Nav::Dashboard, "Dashboard"),
        types,
        expiring,
        dcvs,
        dcv_days: DCV_WARNING_DAYS,
        awaiting,
        awaiting_total,
        approvals,
        recent,
        given_up_emails,
    }))
}
