//! Guide 4: Settings → Admins. The administrators you may see, IdP administrators awaiting
//! approval "in italics and highlighted in red" with the approve button for a *different*
//! administrator, and the two ways to add one: a local user (with an initial password to be
//! changed at first login) or an IdP user (who waits for a second administrator). Options you
//! may not grant are greyed out, as in the guide; `ra` refuses them anyway.

use super::page::{self, Chrome, Nav};
use super::scope::{self, Place};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{
    AdminId, AdminRole, AdminType, CertificateType, Credential, OrgId, Privilege,
};
use castellan_ra::admins::{AdministratorPatch, NewAdministrator};
use serde::Deserialize;
use zeroize::Zeroizing;

struct AdminRow {
    id: i64,
    login: String,
    name: String,
    email: String,
    kind: &'static str,
    roles: String,
    state: &'static str,
    pending: bool,
}

#[derive(Template)]
#[template(path = "portal/admins.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<AdminRow>,
}

fn kind(t: AdminType) -> &'static str {
    match t {
        AdminType::Standard => "Local",
        AdminType::Idp => "IdP",
        AdminType::Api => "API",
    }
}

/// `GET /customer/<uri>/admins`.
pub(crate) async fn list(portal: Portal) -> Response {
    let admins = match portal.authority().admins(&portal.actor).await {
        Ok(a) => a,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(&portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let rows = admins
        .iter()
        .map(|a| AdminRow {
            id: a.id.0,
            login: a.data.login.clone(),
            name: format!("{} {}", a.data.forename, a.data.surname)
                .trim()
                .to_owned(),
            email: a.data.email.clone(),
            kind: kind(a.data.admin_type),
            roles: a
                .data
                .credentials
                .iter()
                .map(|c| {
                    if c.role == AdminRole::Mrao {
                        "MRAO".to_owned()
                    } else {
                        format!("{} of {}", c.role.as_str(), scope::label(&places, c.scope))
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            state: if !a.data.approved {
                "Awaiting approval"
            } else if !a.data.active {
                "Suspended"
            } else {
                "Active"
            },
            pending: !a.data.approved,
        })
        .collect();
    portal.page(page::render(&ListPage {
        chrome: portal.chrome(Nav::Admins, "Admins"),
        rows,
    }))
}

/// `POST /customer/<uri>/admins/<id>/approve` (guide 4.1.2).
pub(crate) async fn approve(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .approve_idp_admin(&portal.actor, AdminId(id))
        .await
    {
        Ok(_) => portal.redirect_with(
            "/admins",
            &format!("Administrator {id} approved: they are e-mailed a link to sign in."),
        ),
        Err(e) => portal.redirect_with("/admins", &page::warning(&page::ra_message(&e))),
    }
}

/// The add form's fields, as typed.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct AdminForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    forename: String,
    #[serde(default)]
    surname: String,
    #[serde(default)]
    idp_person_id: String,
    #[serde(default)]
    password: Zeroizing<String>,
    /// `RAO` or `DRAO`.
    #[serde(default)]
    level: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    ssl: Option<String>,
    #[serde(default)]
    smime: Option<String>,
    #[serde(default)]
    codesign: Option<String>,
}

/// A privilege checkbox: greyed out when the administrator cannot grant it.
struct PrivilegeBox {
    code: &'static str,
    label: &'static str,
    checked: bool,
    grantable: bool,
}

#[derive(Template)]
#[template(path = "portal/admin_new.html")]
struct NewPage {
    chrome: Chrome,
    idp: bool,
    form: AdminForm,
    scopes: Vec<Place>,
    privileges: Vec<PrivilegeBox>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct KindQuery {
    #[serde(default)]
    kind: String,
}

async fn new_page(
    portal: &Portal,
    form: AdminForm,
    chosen: &[String],
    error: Option<(StatusCode, String)>,
) -> Response {
    let scopes = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let privileges = Privilege::ALL
        .iter()
        .map(|p| PrivilegeBox {
            code: p.as_str(),
            label: p.description(),
            checked: chosen.iter().any(|c| c == p.as_str()),
            grantable: portal.actor.has(*p),
        })
        .collect();
    let idp = form.kind == "idp";
    let title = if idp {
        "Add IdP User"
    } else {
        "Add local user"
    };
    let body = page::render(&NewPage {
        chrome: portal.chrome(Nav::Admins, title),
        idp,
        form,
        scopes,
        privileges,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/admins/new?kind=local|idp`.
pub(crate) async fn new_form(portal: Portal, Query(q): Query<KindQuery>) -> Response {
    let form = AdminForm {
        kind: if q.kind == "idp" { "idp" } else { "local" }.into(),
        level: "RAO".into(),
        ssl: Some("on".into()),
        ..AdminForm::default()
    };
    new_page(&portal, form, &[], None).await
}

/// The roles the form asks for: one per ticked certificate type, at the chosen level.
fn credentials(form: &AdminForm) -> Result<Vec<Credential>, String> {
    let scope = form
        .scope
        .parse::<i64>()
        .map_err(|_| "Role: choose the organization or department.".to_owned())?;
    let drao = match form.level.as_str() {
        "RAO" => false,
        "DRAO" => true,
        _ => return Err("Role: choose RAO admin or DRAO admin.".into()),
    };
    let mut out = Vec::new();
    for (on, t) in [
        (&form.ssl, CertificateType::Ssl),
        (&form.smime, CertificateType::Smime),
        (&form.codesign, CertificateType::CodeSign),
    ] {
        if on.is_none() {
            continue;
        }
        let Some(role) = AdminRole::ALL
            .into_iter()
            .find(|r| r.area() == Some(t) && r.is_drao() == drao)
        else {
            continue;
        };
        out.push(Credential {
            role,
            scope: OrgId(scope),
        });
    }
    if out.is_empty() {
        return Err(
            "Role: tick the certificate types (SSL, client, code signing) the administrator \
             manages."
                .into(),
        );
    }
    Ok(out)
}

/// `POST /customer/<uri>/admins/new`.
pub(crate) async fn create(portal: Portal, Form(fields): Form<Vec<(String, String)>>) -> Response {
    // Privileges come as repeated `privilege` fields; the rest as one field each.
    let chosen: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "privilege")
        .map(|(_, v)| v.clone())
        .collect();
    let single: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "privilege")
        .cloned()
        .collect();
    let form: AdminForm = serde_urlencoded::to_string(&single)
        .ok()
        .and_then(|text| serde_urlencoded::from_str(&text).ok())
        .unwrap_or_default();
    let refuse = |m: String| Some((StatusCode::BAD_REQUEST, m));
    let credentials = match credentials(&form) {
        Ok(c) => c,
        Err(message) => return new_page(&portal, form, &chosen, refuse(message)).await,
    };
    let mut privileges = Vec::new();
    for code in &chosen {
        match Privilege::parse(code) {
            Some(p) => privileges.push(p),
            None => {
                let message = format!("Privileges: '{code}' is not a privilege.");
                return new_page(&portal, form, &chosen, refuse(message)).await;
            }
        }
    }
    let idp = form.kind == "idp";
    let new = NewAdministrator {
        login: if idp && form.login.trim().is_empty() {
            form.email.trim().to_owned()
        } else {
            form.login.trim().to_owned()
        },
        email: form.email.trim().to_owned(),
        forename: form.forename.trim().to_owned(),
        surname: form.surname.trim().to_owned(),
        admin_type: Some(if idp {
            AdminType::Idp
        } else {
            AdminType::Standard
        }),
        password: (!idp).then(|| form.password.clone()),
        credentials,
        privileges,
        idp_person_id: Some(form.idp_person_id.trim().to_owned()).filter(|p| idp && !p.is_empty()),
        ..NewAdministrator::default()
    };
    match portal.authority().create_admin(&portal.actor, new).await {
        Ok(_) => {
            let notice = if idp {
                format!(
                    "IdP user {} added. Nothing happens until a different administrator \
                     approves them.",
                    form.email.trim()
                )
            } else {
                format!(
                    "Local user {} added. Share the username and initial password with them: \
                     they must change it at first login.",
                    form.login.trim()
                )
            };
            portal.redirect_with("/admins", &notice)
        }
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            new_page(&portal, form, &chosen, Some(error)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_level_and_types() {
        let form = AdminForm {
            level: "DRAO".into(),
            scope: "7".into(),
            ssl: Some("on".into()),
            codesign: Some("on".into()),
            ..AdminForm::default()
        };
        assert_eq!(
            credentials(&form).unwrap(),
            vec![
                Credential {
                    role: AdminRole::DraoSsl,
                    scope: OrgId(7)
                },
                Credential {
                    role: AdminRole::DraoCs,
                    scope: OrgId(7)
                },
            ]
        );
        let none = AdminForm {
            level: "RAO".into(),
            scope: "7".into(),
            ..AdminForm::default()
        };
        assert!(credentials(&none).unwrap_err().starts_with("Role: tick"));
        let unscoped = AdminForm {
            level: "RAO".into(),
            ssl: Some("on".into()),
            ..AdminForm::default()
        };
        assert!(
            credentials(&unscoped)
                .unwrap_err()
                .contains("organization or department")
        );
    }
}

#[derive(Template)]
#[template(path = "portal/admin.html")]
struct AdminPage {
    chrome: Chrome,
    id: i64,
    login: String,
    kind: &'static str,
    roles: String,
    state: &'static str,
    active: bool,
    local: bool,
    is_self: bool,
    failed_attempts: i64,
    email: String,
    forename: String,
    surname: String,
    privileges: Vec<PrivilegeBox>,
    error: Option<String>,
}

/// `GET /customer/<uri>/admins/<id>`: one administrator, with what can be changed.
pub(crate) async fn admin(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    admin_page(&portal, id, None).await
}

async fn admin_page(portal: &Portal, id: i64, error: Option<(StatusCode, String)>) -> Response {
    let record = match portal.authority().admin(&portal.actor, AdminId(id)).await {
        Ok(r) => r,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let data = &record.data;
    let body = page::render(&AdminPage {
        chrome: portal.chrome(Nav::Admins, &data.login),
        id,
        login: data.login.clone(),
        kind: kind(data.admin_type),
        roles: data
            .credentials
            .iter()
            .map(|c| format!("{} of {}", c.role.as_str(), scope::label(&places, c.scope)))
            .collect::<Vec<_>>()
            .join(", "),
        state: if !data.approved {
            "Awaiting approval"
        } else if !data.active {
            "Suspended"
        } else {
            "Active"
        },
        active: data.active,
        local: data.admin_type == AdminType::Standard,
        is_self: portal.actor.admin_id == Some(record.id),
        failed_attempts: record.failed_attempts,
        email: data.email.clone(),
        forename: data.forename.clone(),
        surname: data.surname.clone(),
        privileges: Privilege::ALL
            .iter()
            .map(|p| PrivilegeBox {
                code: p.as_str(),
                label: p.description(),
                checked: data.privileges.contains(p),
                // What they already hold may stay even if the editor does not hold it.
                grantable: portal.actor.has(*p) || data.privileges.contains(p),
            })
            .collect(),
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// After a change to administrator `id`: back to their page, or the refusal on it.
async fn after_change<T>(
    portal: &Portal,
    id: i64,
    result: castellan_ra::Result<T>,
    notice: &str,
) -> Response {
    match result {
        Ok(_) => portal.redirect_with(&format!("/admins/{id}"), notice),
        Err(e) => {
            admin_page(
                portal,
                id,
                Some((page::ra_status(&e), page::ra_message(&e))),
            )
            .await
        }
    }
}

/// `POST /customer/<uri>/admins/<id>`: e-mail, name and privileges.
pub(crate) async fn update(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut privileges = Vec::new();
    for (_, code) in fields.iter().filter(|(k, _)| k == "privilege") {
        match Privilege::parse(code) {
            Some(p) => privileges.push(p),
            None => {
                let message = format!("Privileges: '{code}' is not a privilege.");
                return admin_page(&portal, id, Some((StatusCode::BAD_REQUEST, message))).await;
            }
        }
    }
    let patch = AdministratorPatch {
        email: get("email"),
        forename: get("forename"),
        surname: get("surname"),
        privileges: Some(privileges),
        ..AdministratorPatch::default()
    };
    let result = portal
        .authority()
        .update_admin(&portal.actor, AdminId(id), patch)
        .await;
    after_change(&portal, id, result, "Administrator saved.").await
}

#[derive(Deserialize)]
pub(crate) struct ActiveForm {
    #[serde(default)]
    active: String,
}

/// `POST /customer/<uri>/admins/<id>/active`: suspend or activate.
pub(crate) async fn set_active(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<ActiveForm>,
) -> Response {
    let active = form.active == "true";
    let patch = AdministratorPatch {
        active: Some(active),
        ..AdministratorPatch::default()
    };
    let result = portal
        .authority()
        .update_admin(&portal.actor, AdminId(id), patch)
        .await;
    let notice = if active {
        "Administrator activated."
    } else {
        "Administrator suspended: they can no longer sign in, and their open pages stop working."
    };
    after_change(&portal, id, result, notice).await
}

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    password: Zeroizing<String>,
}

/// `POST /customer/<uri>/admins/<id>/password`: a new initial password, to be changed at the
/// next sign-in; their sessions end.
pub(crate) async fn reset_password(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<ResetForm>,
) -> Response {
    let patch = AdministratorPatch {
        password: Some(form.password),
        ..AdministratorPatch::default()
    };
    let result = portal
        .authority()
        .update_admin(&portal.actor, AdminId(id), patch)
        .await;
    after_change(
        &portal,
        id,
        result,
        "Password reset: share it with the administrator; they must change it at their next \
         sign-in.",
    )
    .await
}

/// `POST /customer/<uri>/admins/<id>/delete`.
pub(crate) async fn delete(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .delete_admin(&portal.actor, AdminId(id))
        .await
    {
        Ok(()) => portal.redirect_with("/admins", &format!("Administrator {id} deleted.")),
        Err(e) => {
            admin_page(
                &portal,
                id,
                Some((page::ra_status(&e), page::ra_message(&e))),
            )
            .await
        }
    }
}
