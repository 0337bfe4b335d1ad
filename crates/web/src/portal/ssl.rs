//! Guide 7: Certificates → SSL Certificates. The list (searchable, sortable, paged on the
//! server), the details of one order with what can be done to it (approve or decline,
//! download in every format, renew, auto-renew, revoke with a reason), and the request form
//! (CSR pasted or uploaded, on behalf of an e-mail address). Every action is one `ra` call.

use super::page::{self, Chrome, Nav};
use super::scope::{self, Place};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{CertificateStatus, CertificateType, DownloadFormat, OrgId, RequestId};
use castellan_ra::CertificateSelector;
use castellan_ra::orders::SslOrder;
use castellan_store::{OrderFilter, OrderRecord, OrderSort};
use serde::Deserialize;

/// Rows per page of the list.
const PAGE_SIZE: i64 = 25;

/// The revocation reasons offered (RFC 5280 codes), as the guide's Revoke dialogue lists them.
pub(crate) const REVOCATION_REASONS: [(i64, &str); 6] = [
    (0, "Unspecified"),
    (1, "Key compromise"),
    (3, "Affiliation changed"),
    (4, "Superseded"),
    (5, "Cessation of operation"),
    (9, "Privilege withdrawn"),
];

#[derive(Deserialize, Default, Clone)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expiring: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<i64>,
}

impl ListQuery {
    /// The query string for these filters with `sort` and `page` replaced.
    fn link(&self, sort: &str, page: i64) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("expiring", self.expiring.as_str()),
            ("sort", sort),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", page::url_encode(v)));
            }
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

fn sort_of(key: &str) -> OrderSort {
    match key {
        "id" => OrderSort::IdAsc,
        "name" => OrderSort::NameAsc,
        "-name" => OrderSort::NameDesc,
        "status" => OrderSort::StatusAsc,
        "-status" => OrderSort::StatusDesc,
        "expires" => OrderSort::ExpiresAsc,
        "-expires" => OrderSort::ExpiresDesc,
        _ => OrderSort::IdDesc,
    }
}

struct Row {
    id: i64,
    name: String,
    status: &'static str,
    expires: String,
    serial: String,
}

/// A sortable column header.
struct Column {
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    state: &'static str,
}

#[derive(Template)]
#[template(path = "portal/ssl_list.html")]
struct ListPage {
    chrome: Chrome,
    query: ListQuery,
    statuses: Vec<&'static str>,
    windows: Vec<i64>,
    rows: Vec<Row>,
    columns: Vec<Column>,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
}

/// `GET /customer/<uri>/ssl`.
pub(crate) async fn list(portal: Portal, Query(query): Query<ListQuery>) -> Response {
    let authority = portal.authority();
    let now = authority.clock().now().unix_timestamp();
    let mut filter = OrderFilter {
        sort: sort_of(&query.sort),
        ..OrderFilter::default()
    };
    if !query.q.trim().is_empty() {
        filter.name_contains = Some(query.q.trim().to_owned());
    }
    if !query.status.is_empty() {
        match CertificateStatus::parse(&query.status) {
            Some(s) => filter.status = Some(s),
            None => {
                return page::error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("'{}' is not a certificate status.", query.status),
                    "Choose a status from the list's filter.",
                );
            }
        }
    }
    if let Ok(days) = query.expiring.parse::<i64>() {
        filter.expiring = Some(castellan_ra::dashboard::expiring_window(now, days));
    }
    let page_no = query.page.unwrap_or(1).max(1);
    let (orders, total) = match authority
        .orders(&portal.actor, filter, (page_no - 1) * PAGE_SIZE, PAGE_SIZE)
        .await
    {
        Ok(found) => found,
        Err(e) => return page::ra_error_page(&e),
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let base = format!("{}/ssl", portal.base());
    let columns = [
        ("ID", "id"),
        ("Common Name", "name"),
        ("Status", "status"),
        ("Expires", "expires"),
    ]
    .into_iter()
    .map(|(label, key)| {
        let current = if query.sort.is_empty() {
            "-id"
        } else {
            query.sort.as_str()
        };
        let (state, next) = if current == key {
            ("ascending", format!("-{key}"))
        } else if current == format!("-{key}") {
            ("descending", key.to_owned())
        } else {
            ("none", key.to_owned())
        };
        Column {
            label,
            href: format!("{base}{}", query.link(&next, 1)),
            state,
        }
    })
    .collect();
    let rows = orders
        .iter()
        .map(|o| Row {
            id: o.id.0,
            name: page::order_name(o),
            status: o.status.as_str(),
            expires: page::day(o.not_after),
            serial: o.serial.clone().unwrap_or_default(),
        })
        .collect();
    let prev = (page_no > 1).then(|| format!("{base}{}", query.link(&query.sort, page_no - 1)));
    let next = (page_no < pages).then(|| format!("{base}{}", query.link(&query.sort, page_no + 1)));
    portal.page(page::render(&ListPage {
        chrome: portal.chrome(Nav::Ssl, "SSL Certificates"),
        query,
        statuses: CertificateStatus::ALL.iter().map(|s| s.as_str()).collect(),
        windows: castellan_ra::dashboard::EXPIRING_DAYS.to_vec(),
        rows,
        columns,
        total,
        page: page_no,
        pages,
        prev,
        next,
    }))
}

/// A download link.
struct FormatLink {
    href: String,
    label: &'static str,
    /// SCM's name of the format (two formats can share a description).
    code: &'static str,
}

#[derive(Template)]
#[template(path = "portal/ssl_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: i64,
    common_name: String,
    names: Vec<String>,
    status: &'static str,
    profile: String,
    term_days: i64,
    organization: String,
    requester: String,
    external_requester: String,
    comments: String,
    requested_at: String,
    decision: String,
    serial: String,
    not_before: String,
    not_after: String,
    subject: String,
    auto_renew_days: String,
    requested: bool,
    issued: bool,
    downloads: Vec<FormatLink>,
    reasons: Vec<(i64, &'static str)>,
    error: Option<String>,
}

async fn detail_page(portal: &Portal, id: i64, error: Option<(StatusCode, String)>) -> Response {
    let authority = portal.authority();
    let order: OrderRecord = match authority.order(&portal.actor, RequestId(id)).await {
        Ok(o) => o,
        Err(e) => return page::ra_error_page(&e),
    };
    let request = &order.request.request;
    let organization = match order.details.org_id {
        Some(org) => authority
            .organization(&portal.actor, org)
            .await
            .map(|v| v.organization.data.name)
            .unwrap_or_else(|_| org.to_string()),
        None => String::new(),
    };
    let certificate = match order.details.certificate_id {
        Some(cid) => authority
            .certificate(&CertificateSelector::Id(cid))
            .await
            .ok(),
        None => None,
    };
    let base = format!("{}/ssl/{id}", portal.base());
    let downloads = DownloadFormat::ALL
        .iter()
        .filter(|f| !f.needs_private_key())
        .map(|f| FormatLink {
            href: format!("{base}/download/{}", f.scm_name()),
            label: f.description(),
            code: f.scm_name(),
        })
        .collect();
    let cert = certificate.as_ref().map(|c| &c.certificate);
    let status = request.status;
    let body = page::render(&DetailPage {
        chrome: portal.chrome(Nav::Ssl, &format!("SSL certificate {id}")),
        id,
        common_name: request.common_name.clone().unwrap_or_default(),
        names: request.requested_names.clone(),
        status: status.as_str(),
        profile: authority
            .profiles()
            .by_id(request.profile_id)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        term_days: request.term_days,
        organization,
        requester: request.requester.clone(),
        external_requester: order.details.external_requester.clone(),
        comments: order.details.comments.clone(),
        requested_at: page::when(Some(request.created_at)),
        decision: order.details.decision_message.clone(),
        serial: cert.map(|c| c.serial.clone()).unwrap_or_default(),
        not_before: page::when(cert.map(|c| c.not_before)),
        not_after: page::when(cert.map(|c| c.not_after)),
        subject: cert.map(|c| c.subject.clone()).unwrap_or_default(),
        auto_renew_days: order
            .details
            .auto_renew_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
        requested: status == CertificateStatus::Requested,
        issued: status == CertificateStatus::Issued,
        downloads,
        reasons: REVOCATION_REASONS.to_vec(),
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/ssl/<id>`.
pub(crate) async fn detail(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    detail_page(&portal, id, None).await
}

/// After an action on order `id`: back to its page with `notice`, or the page with the
/// refusal.
async fn after(
    portal: &Portal,
    id: i64,
    result: castellan_ra::Result<()>,
    notice: &str,
) -> Response {
    match result {
        Ok(()) => portal.redirect_with(&format!("/ssl/{id}"), notice),
        Err(e) => {
            detail_page(
                portal,
                id,
                Some((page::ra_status(&e), page::ra_message(&e))),
            )
            .await
        }
    }
}

/// `POST /customer/<uri>/ssl/<id>/approve`.
pub(crate) async fn approve(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let result = portal
        .authority()
        .approve_request(&portal.actor, RequestId(id))
        .await
        .map(|_| ());
    after(
        &portal,
        id,
        result,
        &format!("SSL certificate {id} approved."),
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct DeclineForm {
    #[serde(default)]
    message: String,
}

/// `POST /customer/<uri>/ssl/<id>/decline`.
pub(crate) async fn decline(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<DeclineForm>,
) -> Response {
    let result = portal
        .authority()
        .decline_request(&portal.actor, RequestId(id), form.message.trim())
        .await;
    after(
        &portal,
        id,
        result,
        &format!("SSL certificate {id} declined."),
    )
    .await
}

#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    reason: String,
}

/// `POST /customer/<uri>/ssl/<id>/revoke`.
pub(crate) async fn revoke(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Some(code) = form
        .reason_code
        .parse::<i64>()
        .ok()
        .filter(|c| REVOCATION_REASONS.iter().any(|(r, _)| r == c))
    else {
        let message = "Choose a reason for the revocation from the list.".to_owned();
        return detail_page(&portal, id, Some((StatusCode::BAD_REQUEST, message))).await;
    };
    let result = portal
        .authority()
        .revoke_order(&portal.actor, RequestId(id), code, form.reason.trim(), None)
        .await;
    after(
        &portal,
        id,
        result,
        &format!("SSL certificate {id} revoked."),
    )
    .await
}

/// `POST /customer/<uri>/ssl/<id>/renew`: a new order with the same names and CSR.
pub(crate) async fn renew(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .renew_order(&portal.actor, RequestId(id), None)
        .await
    {
        Ok(outcome) => portal.redirect_with(
            &format!("/ssl/{}", outcome.id.0),
            &outcome_notice(outcome.id.0, outcome.status, "renewal of"),
        ),
        Err(e) => {
            detail_page(
                &portal,
                id,
                Some((page::ra_status(&e), page::ra_message(&e))),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct AutoRenewForm {
    #[serde(default)]
    days: String,
}

/// `POST /customer/<uri>/ssl/<id>/auto-renew`: days before expiry, or empty to turn off.
pub(crate) async fn auto_renew(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<AutoRenewForm>,
) -> Response {
    let days = match form.days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let message = format!(
                    "Auto-renew: '{text}' is not a number of days; leave it empty to turn \
                     automatic renewal off."
                );
                return detail_page(&portal, id, Some((StatusCode::BAD_REQUEST, message))).await;
            }
        },
    };
    let result = portal
        .authority()
        .set_auto_renew(&portal.actor, RequestId(id), days)
        .await;
    let notice = match days {
        Some(d) => format!("SSL certificate {id} will be renewed {d} days before it expires."),
        None => format!("Automatic renewal of SSL certificate {id} is off."),
    };
    after(&portal, id, result, &notice).await
}

/// `GET /customer/<uri>/ssl/<id>/download/<format>`: the certificate as a file.
pub(crate) async fn download(
    portal: Portal,
    Path((_, id, format)): Path<(String, i64, String)>,
) -> Response {
    let Some(format) = DownloadFormat::from_scm_name(&format).filter(|f| !f.needs_private_key())
    else {
        return page::error_page(
            StatusCode::NOT_FOUND,
            &format!("'{format}' is not a download format."),
            "Choose one of the formats listed on the certificate's page.",
        );
    };
    let authority = portal.authority();
    let order = match authority.order(&portal.actor, RequestId(id)).await {
        Ok(o) => o,
        Err(e) => return page::ra_error_page(&e),
    };
    let Some(certificate) = order.details.certificate_id else {
        return page::error_page(
            StatusCode::CONFLICT,
            &format!(
                "SSL certificate {id} is {}: there is no certificate to download yet.",
                order.request.request.status.as_str()
            ),
            "Download it once it is Issued (the list shows each certificate's status).",
        );
    };
    match authority
        .download(&CertificateSelector::Id(certificate), format, None)
        .await
    {
        Ok(file) => crate::attachment(
            file,
            if format.is_binary() {
                "application/octet-stream"
            } else {
                "application/x-pem-file"
            },
        ),
        Err(e) => page::ra_error_page(&e),
    }
}

fn outcome_notice(id: i64, status: CertificateStatus, what: &str) -> String {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    match status {
        CertificateStatus::Issued => format!("The {what}SSL certificate {id} has been issued."),
        CertificateStatus::Requested => format!(
            "The {what}SSL certificate {id} has been requested; it awaits an administrator's \
             approval."
        ),
        other => format!("The {what}SSL certificate {id} is {}.", other.as_str()),
    }
}

/// The request form's fields, as typed.
#[derive(Default, Clone)]
pub(crate) struct RequestForm {
    org_id: String,
    profile: String,
    term_days: String,
    csr: String,
    subject_alt_names: String,
    external_requester: String,
    comments: String,
}

#[derive(Template)]
#[template(path = "portal/ssl_request.html")]
struct RequestPage {
    chrome: Chrome,
    form: RequestForm,
    orgs: Vec<Place>,
    profiles: Vec<(String, String)>,
    terms: Vec<u32>,
    error: Option<String>,
}

async fn request_page(
    portal: &Portal,
    form: RequestForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let authority = portal.authority();
    let orgs = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let ssl: Vec<_> = authority
        .profiles()
        .iter()
        .filter(|p| p.certificate_type == CertificateType::Ssl)
        .collect();
    let profiles = ssl
        .iter()
        .map(|p| (p.name.clone(), p.description.clone()))
        .collect();
    let mut terms: Vec<u32> = ssl.iter().flat_map(|p| p.terms.iter().copied()).collect();
    terms.sort_unstable();
    terms.dedup();
    let body = page::render(&RequestPage {
        chrome: portal.chrome(Nav::Ssl, "Request an SSL certificate"),
        form,
        orgs,
        profiles,
        terms,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/ssl/new`.
pub(crate) async fn request_form(portal: Portal) -> Response {
    let form = RequestForm {
        profile: "OV SSL".into(),
        ..RequestForm::default()
    };
    request_page(&portal, form, None).await
}

/// Reads the request form (multipart, for the CSR file); a file, when given, wins over the
/// pasted text.
async fn read_request(mut multipart: Multipart) -> Result<RequestForm, String> {
    let mut form = RequestForm::default();
    let mut file: Option<Vec<u8>> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("The form could not be read: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("The form could not be read: {e}"))?;
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "org_id" => form.org_id = text(),
            "profile" => form.profile = text(),
            "term_days" => form.term_days = text(),
            "csr" => form.csr = text(),
            "subject_alt_names" => form.subject_alt_names = text(),
            "external_requester" => form.external_requester = text(),
            "comments" => form.comments = text(),
            "csr_file" if !bytes.is_empty() => file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    if let Some(file) = file {
        form.csr = match String::from_utf8(file.clone()) {
            Ok(pem) if pem.contains("-----BEGIN") => pem,
            // A DER file: shown back as PEM if the form has to be shown again.
            _ => castellan_pki::encode::pem_encode("CERTIFICATE REQUEST", &file),
        };
    }
    Ok(form)
}

/// `POST /customer/<uri>/ssl/new`.
pub(crate) async fn request(portal: Portal, multipart: Multipart) -> Response {
    let form = match read_request(multipart).await {
        Ok(f) => f,
        Err(message) => {
            return request_page(
                &portal,
                RequestForm::default(),
                Some((StatusCode::BAD_REQUEST, message)),
            )
            .await;
        }
    };
    let refuse = |message: String| (StatusCode::BAD_REQUEST, message);
    let Ok(org_id) = form.org_id.parse::<i64>() else {
        let error = refuse("Organization: choose the organization or department.".into());
        return request_page(&portal, form, Some(error)).await;
    };
    let Ok(term_days) = form.term_days.parse::<u32>() else {
        let error = refuse("Term: choose the certificate's term.".into());
        return request_page(&portal, form, Some(error)).await;
    };
    if form.csr.trim().is_empty() {
        let error =
            refuse("CSR: paste the certificate signing request (PEM) or choose its file.".into());
        return request_page(&portal, form, Some(error)).await;
    }
    let order = SslOrder {
        org_id: OrgId(org_id),
        profile: form.profile.clone(),
        term_days,
        csr: form.csr.trim().as_bytes().to_vec(),
        subject_alt_names: form
            .subject_alt_names
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        external_requester: form.external_requester.trim().to_owned(),
        comments: form.comments.trim().to_owned(),
        custom_fields: Vec::new(),
    };
    match portal
        .authority()
        .request_certificate(&portal.actor, order)
        .await
    {
        Ok(outcome) => portal.redirect_with(
            &format!("/ssl/{}", outcome.id.0),
            &outcome_notice(outcome.id.0, outcome.status, ""),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            request_page(&portal, form, Some(error)).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ReplaceForm {
    #[serde(default)]
    csr: String,
    #[serde(default)]
    subject_alt_names: String,
    #[serde(default)]
    reason: String,
}

/// `POST /customer/<uri>/ssl/<id>/replace` (guide 7.4): the same order re-issued from a new
/// CSR (a new key), the old certificate retired.
pub(crate) async fn replace(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<ReplaceForm>,
) -> Response {
    if form.csr.trim().is_empty() {
        let message = "Replace: paste the new CSR (PEM).".to_owned();
        return detail_page(&portal, id, Some((StatusCode::BAD_REQUEST, message))).await;
    }
    let names = form
        .subject_alt_names
        .split([',', '\n', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let result = portal
        .authority()
        .replace_order(
            &portal.actor,
            RequestId(id),
            form.csr.trim().as_bytes().to_vec(),
            names,
            form.reason.trim(),
        )
        .await;
    match result {
        Ok(status) => portal.redirect_with(
            &format!("/ssl/{id}"),
            &outcome_notice(id, status, "replacement of"),
        ),
        Err(e) => {
            detail_page(
                &portal,
                id,
                Some((page::ra_status(&e), page::ra_message(&e))),
            )
            .await
        }
    }
}
