//! Email Notifications → Templates: the words of each kind of mail. Every administrator
//! may read them; the operator (MRAO) changes them, for every organisation, and may put
//! the default back. A template that cannot be rendered is refused with the part and the
//! problem named, and what was typed is kept.

use super::page::{self, Chrome, Nav};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_ra::notifications::Template as MailTemplate;
use castellan_ra::notifications::TemplateView;
use serde::Deserialize;

struct Row {
    kind: &'static str,
    label: &'static str,
    state: String,
}

#[derive(Template)]
#[template(path = "portal/templates.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

/// `GET /customer/<uri>/notifications/templates`.
pub(crate) async fn list(portal: Portal) -> Response {
    let views = match portal.authority().notification_templates().await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let rows = views
        .into_iter()
        .map(|v| Row {
            kind: v.kind,
            label: v.label,
            state: if v.custom {
                format!("Changed {} UTC", page::when(v.updated_at))
            } else {
                "Default".into()
            },
        })
        .collect();
    portal.page(page::render(&ListPage {
        chrome: portal.chrome(Nav::Notifications, "Notification templates"),
        rows,
    }))
}

#[derive(Template)]
#[template(path = "portal/template_edit.html")]
struct EditPage {
    chrome: Chrome,
    view: TemplateView,
    form: MailTemplate,
    editable: bool,
    error: Option<String>,
}

async fn edit_page(
    portal: &Portal,
    kind: &str,
    form: Option<MailTemplate>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let view = match portal.authority().notification_template(kind).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let body = page::render(&EditPage {
        chrome: portal.chrome(Nav::Notifications, view.label),
        form: form.unwrap_or_else(|| view.template.clone()),
        editable: portal.actor.is_mrao(),
        view,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/notifications/templates/<kind>`.
pub(crate) async fn edit(portal: Portal, Path((_, kind)): Path<(String, String)>) -> Response {
    edit_page(&portal, &kind, None, None).await
}

/// The template form as posted.
#[derive(Deserialize, Default)]
pub(crate) struct TemplateForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    html: String,
}

/// `POST /customer/<uri>/notifications/templates/<kind>`: saves the operator's version.
pub(crate) async fn save(
    portal: Portal,
    Path((_, kind)): Path<(String, String)>,
    Form(posted): Form<TemplateForm>,
) -> Response {
    // Browsers send textarea lines as CRLF; the templates keep the text's own LF.
    let lf = |s: String| s.replace("\r\n", "\n");
    let form = MailTemplate {
        subject: lf(posted.subject),
        text: lf(posted.text),
        html: lf(posted.html),
    };
    match portal
        .authority()
        .set_notification_template(&portal.actor, &kind, form.clone())
        .await
    {
        Ok(_) => portal.redirect_with(
            &format!("/notifications/templates/{kind}"),
            "Template saved; it is used from the next notification on.",
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            edit_page(&portal, &kind, Some(form), Some(error)).await
        }
    }
}

/// `POST /customer/<uri>/notifications/templates/<kind>/reset`: the default again.
pub(crate) async fn reset(portal: Portal, Path((_, kind)): Path<(String, String)>) -> Response {
    match portal
        .authority()
        .reset_notification_template(&portal.actor, &kind)
        .await
    {
        Ok(()) => portal.redirect_with(
            &format!("/notifications/templates/{kind}"),
            "The default template is used again.",
        ),
        Err(e) => page::ra_error_page(&e),
    }
}
