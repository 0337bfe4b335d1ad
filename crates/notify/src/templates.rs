//! The text of each notification: a subject and a plain-text body per kind, rendered with
//! minijinja from the event's details. These are the defaults; editable templates are kept
//! by kind so that an administrator's version can replace one without touching the others.

use crate::NotifyError;
use serde::Serialize;

/// A rendered notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
}

/// An SSL certificate expires soon. Variables: `common_name`, `names` (list), `serial`,
/// `expires` (`YYYY-MM-DD HH:MM` UTC), `days_left`, `threshold`, `order_id`, `link`,
/// `organization`.
pub const SSL_EXPIRING_SUBJECT: &str = "SSL certificate for {{ common_name }} expires in {{ days_left }} day{{ 's' if days_left != 1 }}";

/// The body of [`SSL_EXPIRING_SUBJECT`].
pub const SSL_EXPIRING_TEXT: &str = "\
The SSL certificate for {{ common_name }} of {{ organization }} expires on {{ expires }} UTC, \
in {{ days_left }} day{{ 's' if days_left != 1 }}.

Names:  {{ names | join(', ') }}
Serial: {{ serial }}
Order:  {{ order_id }}

Renew it before then (or turn on auto-renewal): {{ link }}

You receive this because a notification rule of {{ organization }} sends warnings \
{{ threshold }} days before expiry. A certificate that has been renewed is not warned about.
";

/// A domain's validation (DCV) expires soon. Variables: `domain`, `expires`, `days_left`,
/// `threshold`, `method`, `link`, `organization`.
pub const DCV_EXPIRING_SUBJECT: &str =
    "DCV of {{ domain }} expires in {{ days_left }} day{{ 's' if days_left != 1 }}";

/// The body of [`DCV_EXPIRING_SUBJECT`].
pub const DCV_EXPIRING_TEXT: &str = "\
The validation of control of {{ domain }} (DCV by {{ method }}) expires on {{ expires }} UTC, \
in {{ days_left }} day{{ 's' if days_left != 1 }}. After that no certificate can be ordered \
under it until it is validated again.

Validate it again now (you can at any time; a DNS or e-mail validation lasts a year): {{ link }}

You receive this because a notification rule of {{ organization }} sends warnings \
{{ threshold }} days before a DCV expires.
";

/// An SSL request waits for an administrator's approval. Variables: `common_name`, `names`,
/// `profile`, `requester`, `order_id`, `link`, `organization`, `second` (a second
/// administrator's approval, for EV).
pub const SSL_AWAITING_SUBJECT: &str =
    "SSL certificate request {{ order_id }} for {{ common_name }} awaits approval";

/// The body of [`SSL_AWAITING_SUBJECT`].
pub const SSL_AWAITING_TEXT: &str = "\
{{ requester }} requested an SSL certificate ({{ profile }}) for {{ organization }}; it awaits \
{{ 'a second administrator' if second else 'an administrator' }}'s approval.

Names: {{ names | join(', ') }}

Approve or decline it: {{ link }}
";

/// An SSL certificate has been issued and can be downloaded. Variables: `common_name`,
/// `names`, `serial`, `expires`, `order_id`, `link`, `organization`.
pub const SSL_ISSUED_SUBJECT: &str = "Your SSL certificate for {{ common_name }} is ready";

/// The body of [`SSL_ISSUED_SUBJECT`].
pub const SSL_ISSUED_TEXT: &str = "\
The SSL certificate for {{ common_name }} of {{ organization }} has been issued and can be \
downloaded.

Names:   {{ names | join(', ') }}
Serial:  {{ serial }}
Expires: {{ expires }} UTC

Download it (every format is offered): {{ link }}
";

/// An SSL certificate was revoked. Variables: `common_name`, `names`, `order_id`, `reason`
/// (RFC 5280 name), `details`, `revoked` (UTC), `link`.
pub const SSL_REVOKED_SUBJECT: &str = "SSL certificate for {{ common_name }} revoked";

/// The body of [`SSL_REVOKED_SUBJECT`].
pub const SSL_REVOKED_TEXT: &str = "\
The SSL certificate for {{ common_name }} (order {{ order_id }}) was revoked on {{ revoked }} \
UTC: {{ reason }} ({{ details }}).

Names: {{ names | join(', ') }}

Browsers and other relying parties now refuse it. If it is still in use, replace it: {{ link }}
";

/// An SSL certificate (not renewed) has expired. Variables as [`SSL_EXPIRING_SUBJECT`].
pub const SSL_EXPIRED_SUBJECT: &str = "SSL certificate for {{ common_name }} has expired";

/// The body of [`SSL_EXPIRED_SUBJECT`].
pub const SSL_EXPIRED_TEXT: &str = "\
The SSL certificate for {{ common_name }} of {{ organization }} expired on {{ expires }} UTC and \
was not renewed. Browsers now refuse it.

Names:  {{ names | join(', ') }}
Serial: {{ serial }}
Order:  {{ order_id }}

Order a new one: {{ link }}
";

/// A domain's validation has expired. Variables as [`DCV_EXPIRING_SUBJECT`].
pub const DCV_EXPIRED_SUBJECT: &str = "DCV of {{ domain }} has expired";

/// The body of [`DCV_EXPIRED_SUBJECT`].
pub const DCV_EXPIRED_TEXT: &str = "\
The validation of control of {{ domain }} (DCV by {{ method }}) expired on {{ expires }} UTC. \
No certificate can be ordered under it until it is validated again: {{ link }}
";

/// The default subject and body of `kind`.
fn defaults(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "ssl.expiring" => Some((SSL_EXPIRING_SUBJECT, SSL_EXPIRING_TEXT)),
        "dcv.expiring" => Some((DCV_EXPIRING_SUBJECT, DCV_EXPIRING_TEXT)),
        "ssl.expired" => Some((SSL_EXPIRED_SUBJECT, SSL_EXPIRED_TEXT)),
        "dcv.expired" => Some((DCV_EXPIRED_SUBJECT, DCV_EXPIRED_TEXT)),
        "ssl.awaiting-approval" => Some((SSL_AWAITING_SUBJECT, SSL_AWAITING_TEXT)),
        "ssl.issued" => Some((SSL_ISSUED_SUBJECT, SSL_ISSUED_TEXT)),
        "ssl.revoked" => Some((SSL_REVOKED_SUBJECT, SSL_REVOKED_TEXT)),
        _ => None,
    }
}

/// Renders the notification `kind` with `context`.
pub fn render(kind: &str, context: impl Serialize) -> Result<Rendered, NotifyError> {
    let (subject, text) =
        defaults(kind).ok_or_else(|| NotifyError::Config(format!("no template for '{kind}'")))?;
    let env = minijinja::Environment::new();
    let ctx = minijinja::Value::from(minijinja::value::Serde(&context));
    let render = |template: &str| {
        env.render_str(template, &ctx)
            .map_err(|e| NotifyError::Config(format!("template of '{kind}': {e}")))
    };
    Ok(Rendered {
        subject: render(subject)?.trim().to_owned(),
        text: render(text)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_warning_names_the_certificate_and_the_days() {
        let r = render(
            "ssl.expiring",
            serde_json::json!({
                "common_name": "www.camford.ac.uk", "names": ["www.camford.ac.uk", "camford.ac.uk"],
                "serial": "0a1b", "expires": "2027-01-01 12:00", "days_left": 1, "threshold": 7,
                "order_id": 12, "link": "https://ca/customer/c/ssl/12",
                "organization": "University of Camford",
            }),
        )
        .unwrap();
        assert_eq!(
            r.subject,
            "SSL certificate for www.camford.ac.uk expires in 1 day"
        );
        assert!(
            r.text
                .contains("Names:  www.camford.ac.uk, camford.ac.uk\n"),
            "{}",
            r.text
        );
        assert!(
            r.text.contains("https://ca/customer/c/ssl/12"),
            "{}",
            r.text
        );
        assert!(r.text.contains("7 days before expiry"), "{}", r.text);
        assert!(render("no.such", serde_json::json!({})).is_err());
    }
}
