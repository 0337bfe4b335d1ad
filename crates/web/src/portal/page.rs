//! Rendering: the frame around every page, error pages that name the rule and the fix,
//! and the small encodings pages need (notices, link parameters, dates).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use castellan_ra::RaError;

/// The sections of the portal, for the navigation bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Nav {
    /// No section (login, errors).
    None,
    /// Dashboard.
    Dashboard,
    /// Organizations and their departments.
    Organizations,
    /// Certificates → SSL Certificates.
    Ssl,
    /// Domains.
    Domains,
    /// Settings → Admins.
    Admins,
    /// ACME accounts.
    Acme,
    /// The audit log.
    Audit,
    /// Settings → Email Notifications.
    Notifications,
}

impl Nav {
    /// The section's name in templates.
    pub fn name(self) -> &'static str {
        match self {
            Nav::None => "",
            Nav::Dashboard => "dashboard",
            Nav::Organizations => "organizations",
            Nav::Ssl => "ssl",
            Nav::Domains => "domains",
            Nav::Admins => "admins",
            Nav::Acme => "acme",
            Nav::Audit => "audit",
            Nav::Notifications => "notifications",
        }
    }
}

/// What every page needs around its content.
pub(crate) struct Chrome {
    /// `/customer/<uri>`.
    pub base: String,
    /// The page title.
    pub title: String,
    /// Who is signed in.
    pub login: String,
    /// The session's form token.
    pub csrf: String,
    /// The current section.
    pub nav: Nav,
    /// A one-time notice.
    pub flash: Option<String>,
    /// Whether the navigation and sign-out are shown.
    pub signed_in: bool,
}

impl Chrome {
    /// The frame of a page shown before signing in.
    pub fn anonymous(base: String, title: &str) -> Chrome {
        Chrome {
            base,
            title: title.to_owned(),
            login: String::new(),
            csrf: String::new(),
            nav: Nav::None,
            flash: None,
            signed_in: false,
        }
    }

    /// Whether the notice warns (something did not happen) rather than confirms.
    pub fn flash_warns(&self) -> bool {
        self.flash
            .as_deref()
            .is_some_and(|f| f.starts_with(WARNING))
    }

    /// `aria-current` for the navigation link of section `name` (see [`Nav::name`]).
    pub fn current(&self, name: &str) -> &'static str {
        if self.nav.name() == name {
            "page"
        } else {
            "false"
        }
    }
}

/// An HTML response with the portal's security headers.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; script-src 'none'; object-src 'none'; \
             base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Renders `template`, or an error page if it cannot be.
pub(crate) fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a portal page could not be rendered");
        "<!doctype html><title>Error</title><p>This page could not be shown.</p>".to_owned()
    })
}

#[derive(Template)]
#[template(path = "portal/error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
    advice: &'a str,
}

/// A page saying what went wrong (`message`) and what to do (`advice`).
pub(crate) fn error_page(status: StatusCode, message: &str, advice: &str) -> Response {
    let heading = status.canonical_reason().unwrap_or("Error");
    html(
        status,
        render(&ErrorPage {
            chrome: Chrome::anonymous(String::new(), heading),
            heading,
            message,
            advice,
        }),
    )
}

/// The status that an `ra` refusal gets in the portal.
pub(crate) fn ra_status(error: &RaError) -> StatusCode {
    match error {
        RaError::NotFound { .. } => StatusCode::NOT_FOUND,
        RaError::NotAllowed(_) => StatusCode::FORBIDDEN,
        RaError::Conflict(_) => StatusCode::CONFLICT,
        RaError::SignIn(_) => StatusCode::UNAUTHORIZED,
        e if e.is_refusal() => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The sentence an `ra` error shows in the portal: the refusal itself (it names the rule
/// and the fix), or, for a fault of the service, a sentence that gives nothing away.
pub(crate) fn ra_message(error: &RaError) -> String {
    if let RaError::InvalidInput { field, reason } = error {
        format!("{}: {reason}", field_label(field))
    } else if error.is_refusal() {
        error.to_string()
    } else {
        tracing::error!(error = %error, "portal request failed");
        "Castellan could not complete this request because of an internal error; it has been \
         logged. Try again, and tell the service's operators if it happens again."
            .to_owned()
    }
}

/// The label a form shows for an `ra` input field (which uses the API's spelling).
fn field_label(field: &str) -> String {
    let label = match field {
        "name" => "Name",
        "contactEmails" => "Contact emails",
        "password" => "Password",
        "newPassword" => "New password",
        "email" => "Email",
        "login" => "Username",
        "country" => "Country",
        "certTypes" => "Certificate types",
        "days" => "Days before expiry",
        "reason" => "Details",
        "addresses" => "Addresses",
        "recipients" => "Send to",
        "firstName" => "First name",
        "lastName" => "Last name",
        "secondaryEmails" => "Secondary e-mails",
        "phone" => "Phone",
        "commonName" => "Common name",
        "eppn" => "eduPersonPrincipalName",
        "upn" => "User principal name",
        "organizationId" => "Organization or department",
        "validationType" => "Validation type",
        "template" => "Template",
        other => other,
    };
    label.to_owned()
}

/// An error page for an `ra` error.
pub(crate) fn ra_error_page(error: &RaError) -> Response {
    error_page(
        ra_status(error),
        &ra_message(error),
        "Go back, correct what the message names, and try again.",
    )
}

/// The mark that begins a warning notice (see [`warning`]).
pub(crate) const WARNING: &str = "⚠ ";

/// A notice that says something did not happen, shown as a warning.
pub(crate) fn warning(text: &str) -> String {
    format!("{WARNING}{text}")
}

/// Encodes a notice for the flash cookie (base64url of its UTF-8).
pub(crate) fn encode_flash(notice: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(notice.as_bytes())
}

/// Decodes the flash cookie (nothing if it is not ours).
pub(crate) fn decode_flash(value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|s| !s.is_empty() && s.len() < 1000)
}

/// Percent-encodes a query parameter value.
pub(crate) fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The name an order is shown by: its common name, else its first name.
pub(crate) fn order_name(order: &castellan_store::OrderSummary) -> String {
    castellan_ra::notifications::shown_name(order.common_name.as_deref(), &order.names)
}

/// A Unix time as `YYYY-MM-DD HH:MM` UTC (empty for none).
pub(crate) fn when(unix: Option<i64>) -> String {
    unix.map(castellan_ra::clock::utc_minute)
        .unwrap_or_default()
}

/// A Unix time as `YYYY-MM-DD` UTC (empty for none).
pub(crate) fn day(unix: Option<i64>) -> String {
    let mut text = when(unix);
    text.truncate(10);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_round_trips_and_refuses_garbage() {
        let text = "Department “Physics” added";
        assert_eq!(decode_flash(&encode_flash(text)).as_deref(), Some(text));
        assert_eq!(decode_flash("%%%"), None);
        assert_eq!(decode_flash(""), None);
    }

    #[test]
    fn url_encoding_keeps_paths_readable() {
        assert_eq!(
            url_encode("/customer/camford/ssl?status=Issued&x=a b"),
            "/customer/camford/ssl%3Fstatus%3DIssued%26x%3Da%20b"
        );
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(when(Some(0)), "1970-01-01 00:00");
        assert_eq!(day(Some(86_400 * 365)), "1971-01-01");
        assert_eq!(when(None), "");
    }
}
