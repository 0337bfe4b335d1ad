//! The audit log: every change, who made it, through which door and from where, newest
//! first, within the administrator's scope (an MRAO sees everything; others see what
//! concerns their organisations and departments, and their own actions).

use super::page::{self, Chrome, Nav};
use super::session::Portal;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;

/// Entries per page.
const PAGE_SIZE: usize = 50;
/// Entries read per page before the scope filter (so that a narrow scope still fills one).
const READ_AHEAD: i64 = 2000;

struct Row {
    seq: i64,
    at: String,
    actor: String,
    method: String,
    address: String,
    action: String,
    description: String,
}

#[derive(Template)]
#[template(path = "portal/audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<Row>,
    older: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    /// Show entries up to this time (Unix seconds) …
    #[serde(default)]
    before: Option<i64>,
    /// … and below this sequence number: the "older" link (entries share seconds).
    #[serde(default)]
    below: Option<i64>,
}

/// `GET /customer/<uri>/audit`.
pub(crate) async fn list(portal: Portal, Query(query): Query<AuditQuery>) -> Response {
    let authority = portal.authority();
    let now = authority.clock().now().unix_timestamp();
    let to = query.before.unwrap_or(now).min(now);
    let mut entries = match authority
        .audit_entries(&portal.actor, 0, to, READ_AHEAD)
        .await
    {
        Ok(e) => e,
        Err(e) => return page::ra_error_page(&e),
    };
    if let Some(below) = query.below {
        entries.retain(|e| e.id < below);
    }
    let more = entries.len() > PAGE_SIZE;
    entries.truncate(PAGE_SIZE);
    let older = more
        .then(|| entries.last().map(|e| (e.entry.at, e.id)))
        .flatten()
        .map(|(at, seq)| format!("{}/audit?before={at}&below={seq}", portal.base()));
    let rows = entries
        .into_iter()
        .map(|r| Row {
            seq: r.id,
            at: page::when(Some(r.entry.at)),
            actor: r.entry.actor,
            method: r.entry.access_method,
            address: r.entry.address,
            action: r.entry.action,
            description: r.entry.description,
        })
        .collect();
    portal.page(page::render(&AuditPage {
        chrome: portal.chrome(Nav::Audit, "Audit log"),
        rows,
        older,
    }))
}
