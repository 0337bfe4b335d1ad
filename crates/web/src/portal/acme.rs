//! Guide 10: ACME accounts. An administrator creates an ACME account for an organisation or
//! department on one of the ACME servers, is shown its External Account Binding credentials
//! once (with the certbot command that uses them), and lists the domains the account may
//! order certificates for.

use super::page::{self, Chrome, Nav};
use super::scope;
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{AcmeAccountId, OrgId};
use serde::Deserialize;

struct AccountRow {
    id: i64,
    name: String,
    server: String,
    organization: String,
    status: String,
    domains: usize,
}

struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "portal/acme.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<AccountRow>,
    servers: Vec<Choice>,
    orgs: Vec<Choice>,
    form: NewForm,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct NewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    org_id: String,
}

async fn list_page(
    portal: &Portal,
    form: NewForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let authority = portal.authority();
    let accounts = match authority.acme_accounts(&portal.actor, None, false).await {
        Ok(a) => a,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let rows = accounts
        .iter()
        .map(|a| AccountRow {
            id: a.record.id.0,
            name: a.record.account.name.clone(),
            server: a.server.name.clone(),
            organization: scope::label(&places, a.record.account.org_id),
            status: a.record.status.clone(),
            domains: a.record.domains.len(),
        })
        .collect();
    let servers = authority
        .acme_servers()
        .iter()
        .map(|s| Choice {
            value: s.name.clone(),
            label: format!("{} ({})", s.name, s.validation_type),
        })
        .collect();
    let orgs = places
        .iter()
        .map(|p| Choice {
            value: p.id.0.to_string(),
            label: p.label.clone(),
        })
        .collect();
    let body = page::render(&ListPage {
        chrome: portal.chrome(Nav::Acme, "ACME accounts"),
        rows,
        servers,
        orgs,
        form,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/acme`.
pub(crate) async fn list(portal: Portal) -> Response {
    list_page(&portal, NewForm::default(), None).await
}

#[derive(Template)]
#[template(path = "portal/acme_created.html")]
struct CreatedPage {
    chrome: Chrome,
    id: i64,
    name: String,
    directory: String,
    mac_id: String,
    mac_key: String,
}

/// `POST /customer/<uri>/acme/new`: creates the account and shows its credentials once.
pub(crate) async fn create(portal: Portal, Form(form): Form<NewForm>) -> Response {
    let Ok(org) = form.org_id.parse::<i64>() else {
        let error = (
            StatusCode::BAD_REQUEST,
            "Organization: choose the organization or department.".to_owned(),
        );
        return list_page(&portal, form, Some(error)).await;
    };
    let authority = portal.authority();
    match authority
        .create_acme_account(&portal.actor, form.name.trim(), &form.server, OrgId(org))
        .await
    {
        Ok((id, credentials)) => {
            let directory = authority
                .acme_servers()
                .iter()
                .find(|s| s.name == form.server)
                .map(|s| authority.acme_directory_url(s))
                .unwrap_or_default();
            // Shown here and nowhere else in the portal; the page is not cached.
            page::html(
                StatusCode::OK,
                page::render(&CreatedPage {
                    chrome: portal.chrome(Nav::Acme, "ACME account created"),
                    id: id.0,
                    name: form.name.trim().to_owned(),
                    directory,
                    mac_id: credentials.mac_id.clone(),
                    mac_key: credentials.mac_key.to_string(),
                }),
            )
        }
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            list_page(&portal, form, Some(error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/acme_account.html")]
struct AccountPage {
    chrome: Chrome,
    id: i64,
    name: String,
    server: String,
    directory: String,
    organization: String,
    mac_id: String,
    status: String,
    contacts: String,
    domains: Vec<String>,
}

/// `GET /customer/<uri>/acme/<id>`.
pub(crate) async fn account(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let authority = portal.authority();
    let view = match authority
        .acme_account(&portal.actor, AcmeAccountId(id))
        .await
    {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(&portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    portal.page(page::render(&AccountPage {
        chrome: portal.chrome(Nav::Acme, &view.record.account.name),
        id,
        name: view.record.account.name.clone(),
        server: view.server.name.clone(),
        directory: view.directory_url.clone(),
        organization: scope::label(&places, view.record.account.org_id),
        mac_id: view.record.account.mac_id.clone(),
        status: view.record.status.clone(),
        contacts: view.record.contacts.clone(),
        domains: view.record.domains.clone(),
    }))
}

#[derive(Deserialize)]
pub(crate) struct DomainsForm {
    #[serde(default)]
    names: String,
}

/// `POST /customer/<uri>/acme/<id>/domains`: adds the names listed (one per line, or
/// separated by commas or spaces).
pub(crate) async fn add_domains(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<DomainsForm>,
) -> Response {
    let names: Vec<String> = form
        .names
        .split([',', '\n', ' ', '\r'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return portal.redirect_with(
            &format!("/acme/{id}"),
            &page::warning("Domains: list at least one domain name."),
        );
    }
    match portal
        .authority()
        .add_acme_domains(&portal.actor, AcmeAccountId(id), &names)
        .await
    {
        Ok(refused) if refused.is_empty() => portal.redirect_with(
            &format!("/acme/{id}"),
            &format!("Added: {}.", names.join(", ")),
        ),
        Ok(refused) => {
            let reasons: Vec<String> = refused
                .iter()
                .map(|(name, why)| format!("{name}: {why}"))
                .collect();
            portal.redirect_with(
                &format!("/acme/{id}"),
                &page::warning(&format!("Not added — {}.", reasons.join("; "))),
            )
        }
        Err(e) => page::ra_error_page(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    #[serde(default)]
    name: String,
}

/// `POST /customer/<uri>/acme/<id>/domains/remove`.
pub(crate) async fn remove_domain(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<RemoveForm>,
) -> Response {
    match portal
        .authority()
        .remove_acme_domains(
            &portal.actor,
            AcmeAccountId(id),
            std::slice::from_ref(&form.name),
        )
        .await
    {
        Ok(_) => portal.redirect_with(&format!("/acme/{id}"), &format!("Removed {}.", form.name)),
        Err(e) => page::ra_error_page(&e),
    }
}

/// `POST /customer/<uri>/acme/<id>/delete`.
pub(crate) async fn delete(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .delete_acme_account(&portal.actor, AcmeAccountId(id))
        .await
    {
        Ok(()) => portal.redirect_with("/acme", &format!("ACME account {id} deleted.")),
        Err(e) => page::ra_error_page(&e),
    }
}
