//! The words of the mail: the operators' versions of each kind's template (checked as they
//! are saved), the "send test" button, and the delivery log.

use super::kinds::{self, KINDS};
use super::queue;
use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::{Authority, RaError, Result};
use castellan_notify::templates::{self as words, Rendered, Template};
use castellan_store::TemplateRecord;

/// One kind's template as the portal and the API show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateView {
    /// The kind.
    pub kind: &'static str,
    /// How the portal calls it.
    pub label: &'static str,
    /// The variables it may use.
    pub variables: &'static [&'static str],
    /// The template in use (the operators' version, else the default).
    pub template: Template,
    /// Whether it is the operators' version.
    pub custom: bool,
    /// When the operators' version was saved.
    pub updated_at: Option<i64>,
}

fn not_a_kind(kind: &str) -> RaError {
    RaError::NotFound {
        what: "notification kind",
        key: kind.to_owned(),
    }
}

impl Authority {
    /// Every kind's template, in the order of [`KINDS`]. Any administrator may read them.
    pub async fn notification_templates(&self) -> Result<Vec<TemplateView>> {
        let custom = self.store.templates().await?;
        Ok(KINDS
            .iter()
            .map(|k| {
                let mine = custom.iter().find(|t| t.kind == k.name);
                TemplateView {
                    kind: k.name,
                    label: k.label,
                    variables: words::variables(k.name),
                    template: match mine {
                        Some(t) => Template {
                            subject: t.subject.clone(),
                            text: t.body_text.clone(),
                            html: t.body_html.clone(),
                        },
                        None => words::default_template(k.name).unwrap_or_default(),
                    },
                    custom: mine.is_some(),
                    updated_at: mine.map(|t| t.updated_at),
                }
            })
            .collect())
    }

    /// One kind's template.
    pub async fn notification_template(&self, kind: &str) -> Result<TemplateView> {
        self.notification_templates()
            .await?
            .into_iter()
            .find(|t| t.kind == kind)
            .ok_or_else(|| not_a_kind(kind))
    }

    /// Replaces `kind`'s template for every organisation (the operator's decision, as the
    /// sender and the mail server are). It is rendered against an example first and
    /// refused, naming the part and the problem, if it cannot be; the example's rendering is
    /// returned as a preview.
    pub async fn set_notification_template(
        &self,
        actor: &Actor,
        kind: &str,
        template: Template,
    ) -> Result<Rendered> {
        actor.require_mrao("change the notification templates")?;
        let kind = kinds::kind(kind).ok_or_else(|| not_a_kind(kind))?;
        let preview = words::check(kind.name, &template).map_err(|e| RaError::InvalidInput {
            field: "template",
            reason: e.to_string(),
        })?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.put_template(&TemplateRecord {
            kind: kind.name.to_owned(),
            subject: template.subject,
            body_text: template.text,
            body_html: template.html,
            updated_by: actor.admin_id,
            updated_at: now,
        })
        .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "notification.template",
                object_type: "notification_template",
                object_id: kind.name.to_owned(),
                org_id: None,
                description: format!("Template of '{}' changed", kind.name),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(preview)
    }

    /// Puts `kind`'s default template back.
    pub async fn reset_notification_template(&self, actor: &Actor, kind: &str) -> Result<()> {
        actor.require_mrao("change the notification templates")?;
        let kind = kinds::kind(kind).ok_or_else(|| not_a_kind(kind))?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.delete_template(kind.name).await? {
            audit::record(
                &mut tx,
                actor,
                now,
                Change {
                    action: "notification.template-reset",
                    object_type: "notification_template",
                    object_id: kind.name.to_owned(),
                    org_id: None,
                    description: format!("Template of '{}' set back to the default", kind.name),
                },
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The "send test" button: queues the rule's notification, filled with an example, to
    /// the administrator who pressed it and the rule's fixed addresses (the requesters and
    /// administrators of real events are not mailed by a test). Returns the recipients.
    pub async fn send_test_notification(&self, actor: &Actor, id: i64) -> Result<Vec<String>> {
        let rule = self.notification_rule(actor, id).await?.rule;
        let mut recipients = rule.addresses.clone();
        if let Some(me) = actor.admin_id
            && let Some(admin) = self.store.admin(me).await?
        {
            recipients.push(admin.data.email);
        }
        recipients.sort();
        recipients.dedup();
        let now = self.now();
        let audience = self.audience().await?;
        let days = rule.days.first().copied().unwrap_or(0);
        let mut context = words::example();
        if let Some(c) = context.as_object_mut() {
            c.insert(
                "expires".into(),
                crate::clock::utc_minute(now + days * 86_400).into(),
            );
            c.insert("days_left".into(), days.into());
            c.insert("threshold".into(), days.into());
            c.insert("link".into(), self.portal_url("/notifications").into());
            c.insert("organization".into(), audience.name_of(rule.org_id).into());
        }
        let mut text = audience.render(&rule.kind, &context)?;
        let note = "This is a test of a notification rule; the certificate and domain below \
                    are examples.";
        text.subject = format!("[Test] {}", text.subject);
        text.text = format!("{note}\n\n{}", text.text);
        // The note goes first in the HTML body too (after `<body …>` when there is one).
        let at = text
            .html
            .find("<body")
            .and_then(|b| text.html[b..].find('>').map(|e| b + e + 1))
            .unwrap_or(0);
        text.html
            .insert_str(at, &format!("\n<p><em>{note}</em></p>\n"));
        let mut tx = self.store.begin().await?;
        queue(
            &mut tx,
            &format!("test:{id}:{now}"),
            recipients.clone(),
            &text,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(recipients)
    }

    /// The delivery log: what was sent (or is waiting, or was given up), newest first. The
    /// operators see every message; other administrators the messages addressed to them.
    /// Bodies stay out of it: some carry one-time links (DCV by e-mail).
    pub async fn delivery_log(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<castellan_store::EmailRecord>> {
        let mut records = if actor.is_mrao() {
            self.store.emails(limit).await?
        } else {
            let Some(me) = actor.admin_id else {
                return Ok(Vec::new());
            };
            let Some(admin) = self.store.admin(me).await? else {
                return Ok(Vec::new());
            };
            self.store.emails_to(&admin.data.email, limit).await?
        };
        for r in &mut records {
            r.email.body_text.clear();
            r.email.body_html.clear();
        }
        Ok(records)
    }
}
