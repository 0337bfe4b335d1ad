//! Guide 9: Settings → Email Notifications. The rules the administrator may see, a form to
//! add one (kind, scope, recipients, days before expiry), a page to edit each, a "send
//! test" and a delete button per rule; the templates of the mail; the delivery log.

use super::page::{self, Chrome, Nav};
use super::scope::{self, Place};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_ra::notifications::{KINDS, RuleSpec, SSL_EXPIRING};

struct RuleRow {
    id: i64,
    kind: &'static str,
    scope: String,
    recipients: String,
    days: String,
}

/// What the portal calls a kind of notification.
fn kind_label(kind: &str) -> &'static str {
    castellan_ra::notifications::kind(kind).map_or("Other", |k| k.label)
}

/// A rule's days, furthest first, as the list and the form show them ("90, 30, 7").
fn days_text(days: &[i64]) -> String {
    days.iter()
        .rev()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kinds, as the form offers them: code, label.
fn kinds() -> Vec<(&'static str, &'static str)> {
    KINDS.iter().map(|k| (k.name, k.label)).collect()
}

/// The add form, as typed.
#[derive(Default, Clone)]
pub(crate) struct RuleForm {
    kind: String,
    org_id: String,
    requester: bool,
    external_requester: bool,
    admins: bool,
    addresses: String,
    days: String,
}

#[derive(Template)]
#[template(path = "portal/notifications.html")]
struct RulesPage {
    chrome: Chrome,
    rows: Vec<RuleRow>,
    places: Vec<Place>,
    kinds: Vec<(&'static str, &'static str)>,
    form: RuleForm,
    error: Option<String>,
}

async fn rules_page(
    portal: &Portal,
    form: RuleForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let rules = match portal.authority().notification_rules(&portal.actor).await {
        Ok(r) => r,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let rows = rules
        .iter()
        .map(|r| {
            let rule = &r.rule;
            let mut who = Vec::new();
            if rule.requester {
                who.push("the requester".to_owned());
            }
            if rule.external_requester {
                who.push("the external requester".to_owned());
            }
            if rule.admins {
                who.push("the administrators".to_owned());
            }
            who.extend(rule.addresses.iter().cloned());
            RuleRow {
                id: r.id,
                kind: kind_label(&rule.kind),
                scope: if rule.departments.is_empty() {
                    scope::label(&places, rule.org_id)
                } else {
                    rule.departments
                        .iter()
                        .map(|d| scope::label(&places, *d))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                recipients: who.join(", "),
                days: days_text(&rule.days),
            }
        })
        .collect();
    let body = page::render(&RulesPage {
        chrome: portal.chrome(Nav::Notifications, "Email Notifications"),
        rows,
        places,
        kinds: kinds(),
        form,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/notifications`.
pub(crate) async fn list(portal: Portal) -> Response {
    let form = RuleForm {
        kind: SSL_EXPIRING.into(),
        requester: true,
        days: "90, 60, 30, 7, 3".into(),
        ..RuleForm::default()
    };
    rules_page(&portal, form, None).await
}

/// The rule form as posted.
fn posted(fields: &[(String, String)]) -> RuleForm {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    RuleForm {
        kind: get("kind"),
        org_id: get("org_id"),
        requester: !get("requester").is_empty(),
        external_requester: !get("external_requester").is_empty(),
        admins: !get("admins").is_empty(),
        addresses: get("addresses"),
        days: get("days"),
    }
}

/// The rule `form` asks for, or the refusal of a field `ra` never sees (the scope not
/// chosen, days that are not numbers). Days are dropped for kinds sent when they happen,
/// as the form's hint says.
async fn spec_of(portal: &Portal, form: &RuleForm) -> Result<RuleSpec, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let places = scope::places(portal)
        .await
        .map_err(|_| bad("Scope: the organizations could not be read.".into()))?;
    let place = places
        .iter()
        .find(|p| p.id.0.to_string() == form.org_id)
        .ok_or_else(|| bad("Scope: choose the organization or department.".into()))?;
    let thresholds = castellan_ra::notifications::kind(&form.kind).is_none_or(|k| k.thresholds);
    let mut days = Vec::new();
    for part in form.days.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        if !thresholds {
            break;
        }
        let day = part.trim().parse::<i64>().map_err(|_| {
            bad(format!(
                "Days before expiry: '{}' is not a number of days.",
                part.trim()
            ))
        })?;
        days.push(day);
    }
    // A department is its organisation's rule limited to it: `ra` makes it so.
    Ok(RuleSpec {
        kind: form.kind.clone(),
        org_id: place.id,
        departments: Vec::new(),
        requester: form.requester,
        external_requester: form.external_requester,
        admins: form.admins,
        addresses: form
            .addresses
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        days,
    })
}

/// `POST /customer/<uri>/notifications`: adds a rule. The scope is an organisation (all of
/// it) or one department.
pub(crate) async fn create(portal: Portal, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let form = posted(&fields);
    let spec = match spec_of(&portal, &form).await {
        Ok(spec) => spec,
        Err(error) => return rules_page(&portal, form, Some(error)).await,
    };
    match portal
        .authority()
        .create_notification_rule(&portal.actor, spec)
        .await
    {
        Ok(_) => portal.redirect_with("/notifications", "Notification added."),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            rules_page(&portal, form, Some(error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/notification_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: i64,
    places: Vec<Place>,
    kinds: Vec<(&'static str, &'static str)>,
    form: RuleForm,
    error: Option<String>,
}

async fn edit_page(
    portal: &Portal,
    id: i64,
    form: RuleForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let body = page::render(&EditPage {
        chrome: portal.chrome(Nav::Notifications, &format!("Notification {id}")),
        id,
        places,
        kinds: kinds(),
        form,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/notifications/<id>`: a rule, in its form.
pub(crate) async fn edit(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let rule = match portal
        .authority()
        .notification_rule(&portal.actor, id)
        .await
    {
        Ok(r) => r.rule,
        Err(e) => return page::ra_error_page(&e),
    };
    let form = RuleForm {
        kind: rule.kind.clone(),
        // One department, or the organisation: the scopes the form offers.
        org_id: match rule.departments.as_slice() {
            [one] => one.0.to_string(),
            _ => rule.org_id.0.to_string(),
        },
        requester: rule.requester,
        external_requester: rule.external_requester,
        admins: rule.admins,
        addresses: rule.addresses.join(", "),
        days: days_text(&rule.days),
    };
    edit_page(&portal, id, form, None).await
}

/// `POST /customer/<uri>/notifications/<id>`: saves the changed rule.
pub(crate) async fn update(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let form = posted(&fields);
    let spec = match spec_of(&portal, &form).await {
        Ok(spec) => spec,
        Err(error) => return edit_page(&portal, id, form, Some(error)).await,
    };
    match portal
        .authority()
        .update_notification_rule(&portal.actor, id, spec)
        .await
    {
        Ok(()) => portal.redirect_with("/notifications", &format!("Notification {id} saved.")),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            edit_page(&portal, id, form, Some(error)).await
        }
    }
}

/// `POST /customer/<uri>/notifications/<id>/delete`.
pub(crate) async fn delete(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .delete_notification_rule(&portal.actor, id)
        .await
    {
        Ok(()) => portal.redirect_with("/notifications", &format!("Notification {id} deleted.")),
        Err(e) => page::ra_error_page(&e),
    }
}

struct DeliveryRow {
    queued: String,
    recipient: String,
    subject: String,
    status: String,
    attempts: i64,
    sent: String,
    error: String,
}

#[derive(Template)]
#[template(path = "portal/deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    rows: Vec<DeliveryRow>,
    everyone: bool,
}

/// `GET /customer/<uri>/notifications/log`: the delivery log.
pub(crate) async fn log(portal: Portal) -> Response {
    let records = match portal.authority().delivery_log(&portal.actor, 200).await {
        Ok(r) => r,
        Err(e) => return page::ra_error_page(&e),
    };
    let rows = records
        .into_iter()
        .map(|r| DeliveryRow {
            queued: page::when(Some(r.email.created_at)),
            recipient: r.email.recipient,
            subject: r.email.subject,
            status: match r.status.as_str() {
                "SENT" => "Sent".to_owned(),
                "DEAD" => "Given up".to_owned(),
                _ => "Waiting".to_owned(),
            },
            attempts: r.attempts,
            sent: page::when(r.sent_at),
            error: r.last_error,
        })
        .collect();
    portal.page(page::render(&DeliveriesPage {
        chrome: portal.chrome(Nav::Notifications, "Delivery log"),
        rows,
        everyone: portal.actor.is_mrao(),
    }))
}

/// `POST /customer/<uri>/notifications/<id>/test`: the "send test" button.
pub(crate) async fn test(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .send_test_notification(&portal.actor, id)
        .await
    {
        Ok(to) => portal.redirect_with(
            "/notifications",
            &format!(
                "Test of notification {id} queued for {}; see the delivery log.",
                to.join(", ")
            ),
        ),
        Err(e) => page::ra_error_page(&e),
    }
}
