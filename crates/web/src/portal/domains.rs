//! Guide 6: Domains. The list ("all domains in the ac.uk namespace show under an ac.uk
//! container … All domains under other apex domains will just list in alphabetical order"),
//! the Create Domain form with its organisation/department × certificate type grid, and a
//! domain's page with the DCV panel: method choice, instructions, Save & Close / Submit, the
//! status and expiry, the clear button and the record of the last check.

use super::page::{self, Chrome, Nav};
use super::scope::{self, Place};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{CertificateType, DomainId, OrgId};
use castellan_ra::dcv::{DcvInstructions, DcvMethod};
use castellan_ra::domains::{DcvStatus, DomainView};
use serde::Deserialize;

/// Suffixes under which domains fold into one container, as the guide shows `ac.uk`.
pub(crate) const GROUPED_SUFFIXES: [&str; 8] = [
    "ac.uk", "gov.uk", "nhs.uk", "org.uk", "co.uk", "ac.jp", "edu.au", "ac.nz",
];

/// The container a domain folds under, if any.
fn group_of(name: &str) -> Option<&'static str> {
    let bare = name.trim_start_matches("*.");
    GROUPED_SUFFIXES
        .iter()
        .find(|s| bare.ends_with(&format!(".{s}")))
        .copied()
}

struct DomainRow {
    id: i64,
    name: String,
    status: &'static str,
    expires: String,
    delegated_to: String,
    active: bool,
}

/// A folded group of the list, or (with an empty name) the domains that fold nowhere.
struct Group {
    suffix: String,
    rows: Vec<DomainRow>,
}

#[derive(Template)]
#[template(path = "portal/domains.html")]
struct ListPage {
    chrome: Chrome,
    groups: Vec<Group>,
    loose: Vec<DomainRow>,
    total: usize,
}

fn type_label(t: CertificateType) -> &'static str {
    match t {
        CertificateType::Ssl => "SSL",
        CertificateType::Smime => "Client",
        CertificateType::CodeSign => "Code Signing",
    }
}

fn delegations(view: &DomainView, places: &[Place]) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = Vec::new();
    for d in &view.domain.delegations {
        out.push((
            scope::label(places, d.org_id),
            type_label(d.cert_type).to_owned(),
            d.active,
        ));
    }
    out
}

fn row(view: &DomainView, places: &[Place]) -> DomainRow {
    let delegated: Vec<String> = delegations(view, places)
        .into_iter()
        .map(|(org, t, active)| {
            if active {
                format!("{org} ({t})")
            } else {
                format!("{org} ({t}, awaiting approval)")
            }
        })
        .collect();
    DomainRow {
        id: view.domain.id.0,
        name: view.domain.name.clone(),
        status: view.status.display(),
        expires: page::day(view.dcv.as_ref().and_then(|d| d.expires_at)),
        delegated_to: delegated.join(", "),
        active: view.domain.active,
    }
}

/// `GET /customer/<uri>/domains`.
pub(crate) async fn list(portal: Portal) -> Response {
    let mut views = match portal.authority().domains(&portal.actor).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(&portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    views.sort_by(|a, b| a.domain.name.cmp(&b.domain.name));
    let mut groups: Vec<Group> = Vec::new();
    let mut loose = Vec::new();
    for view in &views {
        match group_of(&view.domain.name) {
            Some(suffix) => match groups.iter_mut().find(|g| g.suffix == suffix) {
                Some(group) => group.rows.push(row(view, &places)),
                None => groups.push(Group {
                    suffix: suffix.to_owned(),
                    rows: vec![row(view, &places)],
                }),
            },
            None => loose.push(row(view, &places)),
        }
    }
    groups.sort_by(|a, b| a.suffix.cmp(&b.suffix));
    portal.page(page::render(&ListPage {
        chrome: portal.chrome(Nav::Domains, "Domains"),
        groups,
        loose,
        total: views.len(),
    }))
}

/// One row of the Create Domain grid: an organisation or department, and which types are
/// ticked.
struct GridRow {
    id: i64,
    label: String,
    department: bool,
    ssl: bool,
    smime: bool,
    codesign: bool,
}

#[derive(Template)]
#[template(path = "portal/domain_new.html")]
struct NewPage {
    chrome: Chrome,
    name: String,
    description: String,
    grid: Vec<GridRow>,
    error: Option<String>,
}

/// The form as sent: `name`, `description`, and `d_<orgId>_<TYPE>` for each ticked box.
type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The delegations ticked in the grid.
fn ticked(fields: &Fields) -> Vec<(OrgId, Vec<CertificateType>)> {
    let mut out: Vec<(OrgId, Vec<CertificateType>)> = Vec::new();
    for (key, _) in fields {
        let Some(rest) = key.strip_prefix("d_") else {
            continue;
        };
        let Some((id, kind)) = rest.split_once('_') else {
            continue;
        };
        let (Ok(id), Some(kind)) = (id.parse::<i64>(), CertificateType::parse(kind)) else {
            continue;
        };
        match out.iter_mut().find(|(o, _)| o.0 == id) {
            Some((_, types)) => types.push(kind),
            None => out.push((OrgId(id), vec![kind])),
        }
    }
    out
}

async fn new_page(
    portal: &Portal,
    fields: &Fields,
    error: Option<(StatusCode, String)>,
) -> Response {
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let chosen = ticked(fields);
    let fresh = fields.is_empty();
    let has = |id: OrgId, t: CertificateType, top: bool| {
        if fresh {
            // A new form ticks the organisation for SSL, as the guide's example shows.
            top && t == CertificateType::Ssl
        } else {
            chosen.iter().any(|(o, ts)| *o == id && ts.contains(&t))
        }
    };
    let grid = places
        .iter()
        .map(|p| GridRow {
            id: p.id.0,
            label: p.name.clone(),
            department: p.department,
            ssl: has(p.id, CertificateType::Ssl, !p.department),
            smime: has(p.id, CertificateType::Smime, !p.department),
            codesign: has(p.id, CertificateType::CodeSign, !p.department),
        })
        .collect();
    let body = page::render(&NewPage {
        chrome: portal.chrome(Nav::Domains, "Create Domain"),
        name: field(fields, "name").to_owned(),
        description: field(fields, "description").to_owned(),
        grid,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/domains/new`.
pub(crate) async fn new_form(portal: Portal) -> Response {
    new_page(&portal, &Vec::new(), None).await
}

/// `POST /customer/<uri>/domains/new`.
pub(crate) async fn create(portal: Portal, Form(fields): Form<Fields>) -> Response {
    let delegations = ticked(&fields);
    if delegations.is_empty() {
        let error = (
            StatusCode::BAD_REQUEST,
            "Delegation: tick at least one certificate type for an organization or department."
                .to_owned(),
        );
        return new_page(&portal, &fields, Some(error)).await;
    }
    match portal
        .authority()
        .create_domain(
            &portal.actor,
            field(&fields, "name"),
            field(&fields, "description").trim(),
            &delegations,
            true,
        )
        .await
    {
        Ok(id) => portal.redirect_with(
            &format!("/domains/{}", id.0),
            &format!(
                "Domain {} added. Its validation status is Action Required: validate it below.",
                field(&fields, "name").trim()
            ),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            new_page(&portal, &fields, Some(error)).await
        }
    }
}

/// The instructions shown while a validation is under way.
struct Instructions {
    method: &'static str,
    text: String,
    host: String,
    point: String,
    second_line: String,
    emails: Vec<String>,
}

fn instructions(i: DcvInstructions) -> Instructions {
    let text = match i.method {
        DcvMethod::Cname => format!(
            "Add this CNAME record to the DNS zone of {}. The name it points to does not \
             resolve: that is expected.",
            i.domain
        ),
        DcvMethod::Txt => format!("Add this TXT record to the DNS zone of {}.", i.domain),
        DcvMethod::Http | DcvMethod::Https => format!(
            "Publish a text file at this address on the web server of {}, holding these \
             lines. HTTP(S) validations are single use: each certificate order needs a new one.",
            i.domain
        ),
        DcvMethod::Email => format!(
            "Choose the address of {} that will receive the validation e-mail, then Submit; \
             follow the link in the e-mail to complete the validation.",
            i.domain
        ),
    };
    Instructions {
        method: i.method.as_str(),
        text,
        host: i.host,
        point: i.point,
        second_line: i.second_line,
        emails: i.emails,
    }
}

#[derive(Template)]
#[template(path = "portal/domain.html")]
struct DomainPage {
    chrome: Chrome,
    id: i64,
    name: String,
    description: String,
    active: bool,
    delegations: Vec<(String, String, bool)>,
    dcv_domain: String,
    dcv_status: &'static str,
    validated: bool,
    validated_method: String,
    expires: String,
    last_check: String,
    last_result: String,
    transcript: String,
    has_record: bool,
    pending: Option<Instructions>,
    methods: Vec<(&'static str, &'static str)>,
    can_delete: bool,
}

/// `GET /customer/<uri>/domains/<id>`.
pub(crate) async fn detail(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let authority = portal.authority();
    let view = match authority.domain(&portal.actor, DomainId(id)).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(&portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let dcv_domain = view.domain.name.trim_start_matches("*.").to_owned();
    // Without the privilege to validate, the panel shows the state only.
    let (record, status) = match authority.dcv_state(&portal.actor, &dcv_domain).await {
        Ok((record, status)) => (Some(record), status),
        Err(_) => (view.dcv.clone(), view.status),
    };
    let pending = authority
        .dcv_instructions(&portal.actor, &dcv_domain)
        .await
        .ok()
        .flatten()
        .map(instructions);
    let record = record.unwrap_or_default();
    portal.page(page::render(&DomainPage {
        chrome: portal.chrome(Nav::Domains, &view.domain.name),
        id,
        name: view.domain.name.clone(),
        description: view.domain.description.clone(),
        active: view.domain.active,
        delegations: delegations(&view, &places),
        dcv_domain,
        dcv_status: match status {
            DcvStatus::Validated => "Validated",
            DcvStatus::Expired => "Expired",
            DcvStatus::NotValidated => "Not Validated",
        },
        validated: status == DcvStatus::Validated,
        validated_method: record.validated_method.clone(),
        expires: page::day(record.expires_at),
        last_check: page::when(record.last_check),
        last_result: record.last_result.clone(),
        transcript: record.transcript.clone(),
        has_record: !record.order_status.is_empty() || record.validated_at.is_some(),
        pending,
        methods: vec![
            ("CNAME", "DNS CNAME"),
            ("TXT", "DNS TXT"),
            ("HTTP", "HTTP file"),
            ("HTTPS", "HTTPS file"),
            ("EMAIL", "E-mail"),
        ],
        can_delete: portal.actor.is_mrao(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct MethodForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    email: String,
}

/// The DCV name of domain `id`, checked against what the actor may see.
async fn dcv_name(portal: &Portal, id: i64) -> Result<String, Response> {
    portal
        .authority()
        .domain(&portal.actor, DomainId(id))
        .await
        .map(|v| v.domain.name.trim_start_matches("*.").to_owned())
        .map_err(|e| page::ra_error_page(&e))
}

/// `POST /customer/<uri>/domains/<id>/dcv/start`: "Validate" with the chosen method.
pub(crate) async fn dcv_start(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<MethodForm>,
) -> Response {
    let name = match dcv_name(&portal, id).await {
        Ok(n) => n,
        Err(response) => return response,
    };
    let Some(method) = DcvMethod::parse(&form.method) else {
        return portal.redirect_with(
            &format!("/domains/{id}"),
            &page::warning(
                "Choose a DCV method (DNS CNAME, DNS TXT, HTTP, HTTPS or e-mail), then Validate.",
            ),
        );
    };
    match portal
        .authority()
        .dcv_start(&portal.actor, &name, method)
        .await
    {
        Ok(_) => portal.redirect_with(
            &format!("/domains/{id}"),
            "Make the change shown under DCV, then Submit; or Save & Close and come back when \
             it is in place.",
        ),
        Err(e) => page::ra_error_page(&e),
    }
}

/// `POST /customer/<uri>/domains/<id>/dcv/submit`: checks now (or sends the e-mail).
pub(crate) async fn dcv_submit(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<MethodForm>,
) -> Response {
    let name = match dcv_name(&portal, id).await {
        Ok(n) => n,
        Err(response) => return response,
    };
    let Some(method) = DcvMethod::parse(&form.method) else {
        return portal.redirect_with(
            &format!("/domains/{id}"),
            &page::warning("Choose a DCV method first."),
        );
    };
    let email = Some(form.email.trim()).filter(|e| !e.is_empty());
    match portal
        .authority()
        .dcv_submit(&portal.actor, &name, method, email)
        .await
    {
        Ok(outcome) => {
            let mut notice = outcome.message;
            if let Some(warning) = outcome.caa_warning {
                notice = format!("{notice} Warning: {warning}");
            }
            if outcome.status != DcvStatus::Validated || notice.contains("Warning:") {
                notice = page::warning(&notice);
            }
            portal.redirect_with(&format!("/domains/{id}"), &notice)
        }
        Err(e) => page::ra_error_page(&e),
    }
}

/// `POST /customer/<uri>/domains/<id>/dcv/clear`: forgets the validation.
pub(crate) async fn dcv_clear(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let name = match dcv_name(&portal, id).await {
        Ok(n) => n,
        Err(response) => return response,
    };
    match portal.authority().dcv_clear(&portal.actor, &name).await {
        Ok(()) => portal.redirect_with(
            &format!("/domains/{id}"),
            &format!("The validation of {name} was cleared; validate it again to issue under it."),
        ),
        Err(e) => page::ra_error_page(&e),
    }
}

/// `POST /customer/<uri>/domains/<id>/delete` (operators only).
pub(crate) async fn delete(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .delete_domain(&portal.actor, DomainId(id))
        .await
    {
        Ok(()) => portal.redirect_with("/domains", &format!("Domain {id} deleted.")),
        Err(e) => page::ra_error_page(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ac_uk_domains_fold_and_others_do_not() {
        assert_eq!(group_of("camford.ac.uk"), Some("ac.uk"));
        assert_eq!(group_of("*.physics.camford.ac.uk"), Some("ac.uk"));
        assert_eq!(group_of("camford.org"), None);
        assert_eq!(group_of("ac.uk"), None);
        assert_eq!(group_of("notac.uk"), None);
    }

    #[test]
    fn the_grid_gives_delegations() {
        let fields: Fields = vec![
            ("name".into(), "example.org".into()),
            ("d_1_SSL".into(), "on".into()),
            ("d_1_SMIME".into(), "on".into()),
            ("d_2_CodeSign".into(), "on".into()),
            ("d_x_SSL".into(), "on".into()),
            ("d_3_Nothing".into(), "on".into()),
        ];
        assert_eq!(
            ticked(&fields),
            vec![
                (OrgId(1), vec![CertificateType::Ssl, CertificateType::Smime]),
                (OrgId(2), vec![CertificateType::CodeSign]),
            ]
        );
    }
}
