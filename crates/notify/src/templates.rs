//! The text of each notification: a subject, a plain-text body and an HTML body per kind,
//! rendered with minijinja from the event's details.
//!
//! The defaults are here; an administrator's version of a kind (kept by `ra`, edited in the
//! portal or the API) replaces it whole. A version is checked when it is saved, by rendering
//! it strictly against [`example`] (a misspelt variable is refused then, not discovered in a
//! night's mail). When it is sent it renders leniently, and if it still fails the default
//! is used: a template must never stop a certificate being issued or a warning going out.
//!
//! The HTML body, unless a version gives its own, is the plain text made into paragraphs
//! with its links clickable, so that the two parts never say different things.

use crate::NotifyError;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// A rendered notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// The source of one kind's notification.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template {
    /// The subject (one line).
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (auto-escaped); empty: made from the text.
    pub html: String,
}

/// A kind's stock wording: subject, text and the variables it may use.
struct Stock {
    subject: &'static str,
    text: &'static str,
    variables: &'static [&'static str],
}

const CERTIFICATE: &[&str] = &[
    "common_name",
    "names",
    "serial",
    "expires",
    "order_id",
    "link",
    "organization",
];
const EXPIRY: &[&str] = &[
    "common_name",
    "names",
    "serial",
    "expires",
    "days_left",
    "threshold",
    "order_id",
    "link",
    "organization",
];
/// An SSL or client certificate revoked.
const REVOCATION: &[&str] = &[
    "common_name",
    "names",
    "order_id",
    "reason",
    "details",
    "revoked",
    "link",
    "organization",
];
const DCV: &[&str] = &[
    "domain",
    "expires",
    "days_left",
    "threshold",
    "method",
    "link",
    "organization",
];
const DELEGATION: &[&str] = &[
    "domain",
    "organization",
    "cert_types",
    "requester",
    "decided_by",
    "link",
];
const ADMIN: &[&str] = &[
    "login",
    "name",
    "email",
    "admin_type",
    "roles",
    "organization",
    "created_by",
    "link",
];

fn stock(kind: &str) -> Option<Stock> {
    let (subject, text, variables): (&'static str, &'static str, &'static [&'static str]) =
        match kind {
            "ssl.expiring" => (
                "SSL certificate for {{ common_name }} expires in {{ days_left }} day{{ '' if days_left == 1 else 's' }}",
                "\
The SSL certificate for {{ common_name }} of {{ organization }} expires on {{ expires }} UTC, \
in {{ days_left }} day{{ '' if days_left == 1 else 's' }}.

Names:  {{ names | join(', ') }}
Serial: {{ serial }}
Order:  {{ order_id }}

Renew it before then (or turn on auto-renewal): {{ link }}

You receive this because a notification rule of {{ organization }} sends warnings \
{{ threshold }} days before expiry. A certificate that has been renewed is not warned about.
",
                EXPIRY,
            ),
            "ssl.expired" => (
                "SSL certificate for {{ common_name }} has expired",
                "\
The SSL certificate for {{ common_name }} of {{ organization }} expired on {{ expires }} UTC and \
was not renewed. Browsers now refuse it.

Names:  {{ names | join(', ') }}
Serial: {{ serial }}
Order:  {{ order_id }}

Order a new one: {{ link }}
",
                EXPIRY,
            ),
            "smime.expiring" => (
                "Client certificate for {{ common_name }} expires in {{ days_left }} day{{ '' if days_left == 1 else 's' }}",
                "\
The client certificate of {{ common_name }} ({{ names | join(', ') }}) of {{ organization }} \
expires on {{ expires }} UTC, in {{ days_left }} day{{ '' if days_left == 1 else 's' }}. After \
that it can no longer sign mail; mail encrypted to it can still be read with its key.

Serial: {{ serial }}
Order:  {{ order_id }}

Ask your certificate administrators for a new one (they can renew it or send you an \
invitation): {{ link }}

You receive this because a notification rule of {{ organization }} sends warnings \
{{ threshold }} days before expiry. A certificate that has been renewed is not warned about.
",
                EXPIRY,
            ),
            "smime.expired" => (
                "Client certificate for {{ common_name }} has expired",
                "\
The client certificate of {{ common_name }} ({{ names | join(', ') }}) of {{ organization }} \
expired on {{ expires }} UTC and was not renewed.

Serial: {{ serial }}
Order:  {{ order_id }}

Ask for a new one: {{ link }}
",
                EXPIRY,
            ),
            "dcv.expiring" => (
                "DCV of {{ domain }} expires in {{ days_left }} day{{ '' if days_left == 1 else 's' }}",
                "\
The validation of control of {{ domain }} (DCV by {{ method }}) expires on {{ expires }} UTC, \
in {{ days_left }} day{{ '' if days_left == 1 else 's' }}. After that no certificate can be \
ordered under it until it is validated again.

Validate it again now (you can at any time; a DNS or e-mail validation lasts a year): {{ link }}

You receive this because a notification rule of {{ organization }} sends warnings \
{{ threshold }} days before a DCV expires.
",
                DCV,
            ),
            "dcv.expired" => (
                "DCV of {{ domain }} has expired",
                "\
The validation of control of {{ domain }} (DCV by {{ method }}) expired on {{ expires }} UTC. \
No certificate can be ordered under it until it is validated again: {{ link }}
",
                DCV,
            ),
            "ssl.awaiting-approval" => (
                "SSL certificate request {{ order_id }} for {{ common_name }} awaits approval",
                "\
{{ requester }} requested an SSL certificate ({{ profile }}) for {{ organization }}; it awaits \
{{ 'a second administrator' if second else 'an administrator' }}'s approval.

Names: {{ names | join(', ') }}

Approve or decline it: {{ link }}
",
                &[
                    "common_name",
                    "names",
                    "profile",
                    "requester",
                    "order_id",
                    "link",
                    "organization",
                    "second",
                ],
            ),
            "ssl.issued" => (
                "Your SSL certificate for {{ common_name }} is ready",
                "\
The SSL certificate for {{ common_name }} of {{ organization }} has been issued and can be \
downloaded.

Names:   {{ names | join(', ') }}
Serial:  {{ serial }}
Expires: {{ expires }} UTC

Download it (every format is offered): {{ link }}
",
                CERTIFICATE,
            ),
            "ssl.issuance-failed" => (
                "SSL certificate for {{ common_name }} could not be issued",
                "\
The SSL certificate request {{ order_id }} for {{ common_name }} of {{ organization }} was \
approved, but the certificate could not be issued:

  {{ reason }}

Names: {{ names | join(', ') }}

The request is now Invalid. Correct what is named above and request again: {{ link }}
",
                &[
                    "common_name",
                    "names",
                    "order_id",
                    "reason",
                    "link",
                    "organization",
                ],
            ),
            "ssl.revoked" => (
                "SSL certificate for {{ common_name }} revoked",
                "\
The SSL certificate for {{ common_name }} (order {{ order_id }}) was revoked on {{ revoked }} \
UTC: {{ reason }} ({{ details }}).

Names: {{ names | join(', ') }}

Browsers and other relying parties now refuse it. If it is still in use, replace it: {{ link }}
",
                REVOCATION,
            ),
            "smime.revoked" => (
                "Client certificate for {{ common_name }} revoked",
                "\
The client certificate of {{ common_name }} ({{ names | join(', ') }}, order {{ order_id }}) of \
{{ organization }} was revoked on {{ revoked }} UTC: {{ reason }} ({{ details }}).

Mail signed with it after that time is no longer trusted. Ask your certificate administrators \
for a new one if you still need it: {{ link }}
",
                REVOCATION,
            ),
            "ssl.auto-renewed" => (
                "Certificate renewed: {{ names | join(', ') }}",
                "\
The SSL certificate {{ order_id }} for {{ names | join(', ') }} of {{ organization }} was \
renewed automatically before it expires.

The new certificate is {{ new_order_id }} ({{ status }}). Collect it here:

  {{ collect }}

or see it in the portal: {{ link }}
",
                &[
                    "common_name",
                    "names",
                    "order_id",
                    "new_order_id",
                    "status",
                    "collect",
                    "link",
                    "organization",
                ],
            ),
            "domain.delegation-requested" => (
                "Delegation of {{ domain }} to {{ organization }} awaits approval",
                "\
{{ requester }} asked for {{ domain }} to be delegated to {{ organization }} for \
{{ cert_types }} certificates. Until an RAO of the organisation approves it, no certificate \
can be ordered under it there.

Approve or reject it: {{ link }}
",
                DELEGATION,
            ),
            "domain.delegation-approved" => (
                "Delegation of {{ domain }} to {{ organization }} approved",
                "\
{{ decided_by }} approved the delegation of {{ domain }} to {{ organization }} for \
{{ cert_types }} certificates. Certificates can be ordered under it once its control is \
validated (DCV): {{ link }}
",
                DELEGATION,
            ),
            "domain.delegation-rejected" => (
                "Delegation of {{ domain }} to {{ organization }} rejected",
                "\
{{ decided_by }} rejected the delegation of {{ domain }} to {{ organization }} for \
{{ cert_types }} certificates. Ask an RAO of the organisation why, or request it again: \
{{ link }}
",
                DELEGATION,
            ),
            "admin.created" => (
                "Administrator {{ login }} created for {{ organization }}",
                "\
{{ created_by }} created the {{ admin_type }} administrator {{ login }} ({{ name }}, \
{{ email }}) with the roles {{ roles }}.

See the administrator: {{ link }}
",
                ADMIN,
            ),
            "admin.idp-awaiting-approval" => (
                "IdP administrator {{ login }} awaits approval",
                "\
{{ created_by }} added the IdP administrator {{ login }} ({{ name }}, {{ email }}) with the \
roles {{ roles }}. They cannot sign in until a different administrator approves them.

Approve them: {{ link }}
",
                ADMIN,
            ),
            "acme.account-created" => (
                "ACME account {{ account }} created for {{ organization }}",
                "\
{{ created_by }} created the ACME account {{ account }} for {{ organization }} on the \
{{ server }}. ACME clients registered with its key ID ({{ key_id }}) order certificates for \
the domains added to it.

See the account: {{ link }}
",
                &[
                    "account",
                    "server",
                    "key_id",
                    "organization",
                    "created_by",
                    "link",
                ],
            ),
            "smime.recovery-awaiting-approval" => (
                "Key recovery {{ recovery_id }} awaits your approval",
                "\
{{ requester }} asks to recover the private key of the client certificate {{ serial }} of \
{{ organization }} for {{ recipient }}:

  {{ reason }}

A different administrator with the keyRecovery privilege must approve or reject it. Check who \
is asking and why before you approve: whoever receives the key can read the person's \
encrypted mail. Approve or reject it with POST {{ link }}/approve (or /reject).
",
                &[
                    "recovery_id",
                    "requester",
                    "serial",
                    "recipient",
                    "reason",
                    "organization",
                    "link",
                ],
            ),
            _ => return None,
        };
    Some(Stock {
        subject,
        text,
        variables,
    })
}

/// The default template of `kind`.
pub fn default_template(kind: &str) -> Option<Template> {
    stock(kind).map(|d| Template {
        subject: d.subject.to_owned(),
        text: d.text.to_owned(),
        html: String::new(),
    })
}

/// The variables a template of `kind` may use.
pub fn variables(kind: &str) -> &'static [&'static str] {
    stock(kind).map(|d| d.variables).unwrap_or_default()
}

/// An example of every variable, for a "send test" and for checking a template as it is
/// saved.
pub fn example() -> serde_json::Value {
    serde_json::json!({
        "common_name": "www.example.ac.uk",
        "names": ["www.example.ac.uk", "example.ac.uk"],
        "serial": "0123456789abcdef",
        "expires": "2027-01-01 12:00",
        "days_left": 30,
        "threshold": 30,
        "order_id": 0,
        "new_order_id": 1,
        "status": "Issued",
        "collect": "https://ca.example.ac.uk/api/ssl/v1/collect/1/x509CO",
        "link": "https://ca.example.ac.uk/customer/example/",
        "organization": "University of Example",
        "domain": "example.ac.uk",
        "method": "CNAME",
        "profile": "OV SSL",
        "requester": "jbloggs",
        "second": false,
        "reason": "keyCompromise",
        "details": "the server was compromised",
        "revoked": "2027-01-01 12:00",
        "cert_types": "SSL",
        "decided_by": "rao",
        "login": "jbloggs",
        "name": "Joe Bloggs",
        "email": "j.bloggs@example.ac.uk",
        "admin_type": "STANDARD",
        "roles": "DRAO_SSL of Physics",
        "created_by": "rao",
        "account": "web servers",
        "server": "OV ACME server",
        "key_id": "Gq0lWqW7c8xXwXj4AbCdEf",
        "recovery_id": 1,
        "recipient": "j.bloggs@example.ac.uk",
    })
}

fn environment(strict: bool, html: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(if strict {
        UndefinedBehavior::Strict
    } else {
        UndefinedBehavior::Lenient
    });
    env.set_auto_escape_callback(move |_| {
        if html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

fn render_with(
    kind: &str,
    template: &Template,
    context: &minijinja::Value,
    strict: bool,
) -> Result<Rendered, NotifyError> {
    let fail = |part: &str, e: minijinja::Error| {
        NotifyError::Template(format!(
            "the {part} of the '{kind}' template: {}",
            e.detail()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string())
        ))
    };
    let plain = environment(strict, false);
    let subject = plain
        .render_str(&template.subject, context)
        .map_err(|e| fail("subject", e))?;
    let text = plain
        .render_str(&template.text, context)
        .map_err(|e| fail("text", e))?;
    let html = if template.html.trim().is_empty() {
        text_to_html(&text)
    } else {
        environment(strict, true)
            .render_str(&template.html, context)
            .map_err(|e| fail("HTML", e))?
    };
    Ok(Rendered {
        // A subject is one line: a template's stray newline must not end the headers.
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text,
        html,
    })
}

/// Renders `kind` with `context`, from `custom` when an administrator has replaced the
/// default; a custom template that fails is logged and the default used instead.
pub fn render(
    kind: &str,
    custom: Option<&Template>,
    context: impl Serialize,
) -> Result<Rendered, NotifyError> {
    let ctx = minijinja::Value::from(minijinja::value::Serde(&context));
    if let Some(custom) = custom {
        match render_with(kind, custom, &ctx, false) {
            Ok(r) => return Ok(r),
            Err(e) => tracing::warn!(kind, error = %e, "custom template failed; default used"),
        }
    }
    let template = default_template(kind)
        .ok_or_else(|| NotifyError::Template(format!("no template for '{kind}'")))?;
    render_with(kind, &template, &ctx, false)
}

/// Checks a replacement template of `kind` before it is saved: it must parse and render
/// against [`example`] using only variables that exist. The refusal names the part and the
/// problem (an unknown variable, a syntax error with its line).
pub fn check(kind: &str, template: &Template) -> Result<Rendered, NotifyError> {
    if stock(kind).is_none() {
        return Err(NotifyError::Template(format!("no template for '{kind}'")));
    }
    if template.subject.trim().is_empty() || template.text.trim().is_empty() {
        return Err(NotifyError::Template(
            "a template needs a subject and a plain-text body".into(),
        ));
    }
    render_with(
        kind,
        template,
        &minijinja::Value::from(minijinja::value::Serde(example())),
        true,
    )
}

/// The plain text as HTML: escaped, paragraphs at blank lines, line breaks kept, and
/// `http(s)://` links made clickable.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; line-height: 1.4\">\n",
    );
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        out.push_str("<p>");
        let lines: Vec<String> = paragraph.lines().map(linked).collect();
        out.push_str(&lines.join("<br>\n"));
        out.push_str("</p>\n");
    }
    out.push_str("</body></html>\n");
    out
}

/// One line, escaped, with its links made clickable.
fn linked(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let link = word.starts_with("https://") || word.starts_with("http://");
        let (url, tail) = if link {
            let end = word.trim_end_matches(['.', ',', ')', ';']).len();
            word.split_at(end)
        } else {
            ("", word)
        };
        if link {
            let url = escape(url);
            out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        }
        out.push_str(&escape(tail));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring() -> serde_json::Value {
        serde_json::json!({
            "common_name": "www.camford.ac.uk", "names": ["www.camford.ac.uk", "camford.ac.uk"],
            "serial": "0a1b", "expires": "2027-01-01 12:00", "days_left": 1, "threshold": 7,
            "order_id": 12, "link": "https://ca/customer/c/ssl/12",
            "organization": "University of Camford & Co",
        })
    }

    #[test]
    fn the_expiry_warning_names_the_certificate_and_the_days() {
        let r = render("ssl.expiring", None, expiring()).unwrap();
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
        assert!(r.text.contains("7 days before expiry"), "{}", r.text);
        assert!(
            r.html.contains(
                "<a href=\"https://ca/customer/c/ssl/12\">https://ca/customer/c/ssl/12</a>"
            ),
            "{}",
            r.html
        );
        assert!(r.html.contains("Camford &amp; Co"), "{}", r.html);
        assert!(render("no.such", None, serde_json::json!({})).is_err());
    }

    #[test]
    fn a_custom_template_replaces_the_default_and_escapes_its_html() {
        let custom = Template {
            subject: "Expiry: {{ common_name }}\n".into(),
            text: "{{ organization }}: {{ days_left }}".into(),
            html: "<b>{{ organization }}</b>".into(),
        };
        let r = render("ssl.expiring", Some(&custom), expiring()).unwrap();
        assert_eq!(r.subject, "Expiry: www.camford.ac.uk");
        assert_eq!(r.text, "University of Camford & Co: 1");
        assert_eq!(r.html, "<b>University of Camford &amp; Co</b>");
        // A custom template that cannot render gives way to the default.
        let broken = Template {
            subject: "{{ names | no_such_filter }}".into(),
            ..custom
        };
        let r = render("ssl.expiring", Some(&broken), expiring()).unwrap();
        assert_eq!(
            r.subject,
            "SSL certificate for www.camford.ac.uk expires in 1 day"
        );
    }

    #[test]
    fn a_template_is_checked_against_the_example_before_it_is_saved() {
        // Every kind's default passing its own check: `ra`'s table of kinds asserts it.
        let typo = Template {
            subject: "{{ comon_name }}".into(),
            text: "x".into(),
            html: String::new(),
        };
        let e = check("ssl.expiring", &typo).unwrap_err().to_string();
        assert!(
            e.contains("the subject of the 'ssl.expiring' template"),
            "{e}"
        );
        assert!(e.contains("undefined"), "{e}");
        let syntax = Template {
            subject: "x".into(),
            text: "{% if %}".into(),
            html: String::new(),
        };
        let e = check("ssl.expiring", &syntax).unwrap_err().to_string();
        assert!(e.contains("the text of the 'ssl.expiring' template"), "{e}");
        let empty = Template::default();
        assert_eq!(
            check("ssl.expiring", &empty).unwrap_err().to_string(),
            "a template needs a subject and a plain-text body"
        );
    }
}
