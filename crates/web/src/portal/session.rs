//! Who is using the portal: the session cookie, the customer URI in the path, and the
//! extractors that turn them into an [`Actor`] — or into a redirect to the login page.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, scoped to `/customer/<customerUri>/`, and
//! `Secure` whenever the request came over TLS. Only `ra` knows what a cookie is worth.

use super::page::{self, Chrome, Nav};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use castellan_ra::signin::SignInError;
use castellan_ra::{Actor, RaError};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "castellan_session";
/// The one-time notice shown on the next page ("Department added").
pub(crate) const FLASH_COOKIE: &str = "castellan_flash";

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request came over TLS (then cookies are `Secure`).
pub(crate) fn over_tls(parts: &Parts) -> bool {
    parts
        .extensions
        .get::<Arc<axum_server::tls::TlsInfo>>()
        .is_some()
}

/// A `Set-Cookie` value for the portal of `customer`; `None` clears the cookie.
pub(crate) fn set_cookie(
    name: &str,
    value: Option<&str>,
    customer: &str,
    secure: bool,
) -> HeaderValue {
    let mut text = match value {
        Some(v) => format!("{name}={v}; Path=/customer/{customer}/; HttpOnly; SameSite=Lax"),
        None => {
            format!("{name}=; Path=/customer/{customer}/; HttpOnly; SameSite=Lax; Max-Age=0")
        }
    };
    if secure {
        text.push_str("; Secure");
    }
    // Cookie values here are base64url or empty, and customer URIs are checked: always valid.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The customer URI of a portal path (`/customer/<uri>/…`), checked against this service's;
/// the service's own spelling is returned.
pub(crate) fn customer_of(parts: &Parts, state: &AppState) -> Result<String, Response> {
    let given = parts
        .uri
        .path()
        .strip_prefix("/customer/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    customer_named(state, given)
}

/// This service's spelling of customer URI `given`, or the page saying it is unknown.
pub(crate) fn customer_named(state: &AppState, given: &str) -> Result<String, Response> {
    let ours = state.authority.customer_uri();
    if given.eq_ignore_ascii_case(ours) {
        Ok(ours.to_owned())
    } else {
        Err(page::error_page(
            StatusCode::NOT_FOUND,
            &format!("Customer {given} cannot be found"),
            "Check the address: it is the one your administrator gave you, \
             /customer/<customer URI>/.",
        ))
    }
}

/// A signed-in administrator using the portal.
pub(crate) struct Portal {
    /// The registration authority.
    authority: Arc<castellan_ra::Authority>,
    /// Who they are, re-read on this request.
    pub actor: Actor,
    /// The session cookie (to derive the form token and to sign out).
    pub token: Zeroizing<String>,
    /// The customer URI, as this service spells it.
    pub customer: String,
    /// Whether the request came over TLS.
    pub secure: bool,
    /// A one-time notice left by the previous page.
    pub flash: Option<String>,
}

impl Portal {
    /// The registration authority, which every page asks.
    pub fn authority(&self) -> &castellan_ra::Authority {
        &self.authority
    }

    /// `/customer/<uri>`, the root of every portal link.
    pub fn base(&self) -> String {
        format!("/customer/{}", self.customer)
    }

    /// The form token every form of this session carries.
    pub fn csrf(&self) -> String {
        castellan_ra::sessions::csrf_token(&self.token)
    }

    /// What every page around its content needs.
    pub fn chrome(&self, nav: Nav, title: &str) -> Chrome {
        Chrome {
            base: self.base(),
            title: title.to_owned(),
            login: self.actor.login.clone(),
            csrf: self.csrf(),
            nav,
            flash: self.flash.clone(),
            signed_in: true,
        }
    }

    /// Redirects (303) to `path` under the portal root, leaving `notice` for the next page.
    pub fn redirect_with(&self, path: &str, notice: &str) -> Response {
        let mut response = Redirect::to(&format!("{}{path}", self.base())).into_response();
        let encoded = crate::portal::page::encode_flash(notice);
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(FLASH_COOKIE, Some(&encoded), &self.customer, self.secure),
        );
        response
    }

    /// A form page: with the status of the refusal it shows, else as [`Portal::page`].
    pub fn answer(&self, body: String, refused: Option<StatusCode>) -> Response {
        match refused {
            Some(status) => page::html(status, body),
            None => self.page(body),
        }
    }

    /// A page built from `body`, clearing the notice it showed.
    pub fn page(&self, body: String) -> Response {
        let mut response = page::html(StatusCode::OK, body);
        if self.flash.is_some() {
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(FLASH_COOKIE, None, &self.customer, self.secure),
            );
        }
        response
    }
}

/// Why a portal request did not get its administrator.
pub(crate) enum Refused {
    /// Not signed in (or the session ended): to the login page, then back to `next`.
    SignIn {
        customer: String,
        next: String,
        notice: Option<String>,
        secure: bool,
    },
    /// The password must be changed first.
    ChangePassword { customer: String },
    /// Another response (unknown customer, an error page).
    Page(Response),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignIn {
                customer,
                next,
                notice,
                secure,
            } => {
                let target = format!("/customer/{customer}/?next={}", page::url_encode(&next));
                let mut response = Redirect::to(&target).into_response();
                response.headers_mut().append(
                    header::SET_COOKIE,
                    set_cookie(SESSION_COOKIE, None, &customer, secure),
                );
                if let Some(notice) = notice {
                    response.headers_mut().append(
                        header::SET_COOKIE,
                        set_cookie(
                            FLASH_COOKIE,
                            Some(&page::encode_flash(&page::warning(&notice))),
                            &customer,
                            secure,
                        ),
                    );
                }
                response
            }
            Refused::ChangePassword { customer } => {
                Redirect::to(&format!("/customer/{customer}/password")).into_response()
            }
            Refused::Page(response) => response,
        }
    }
}

/// The administrator of the request's session, who may still have to change their password
/// (only the password page takes this).
pub(crate) struct PortalMayChangePassword(pub Portal);

impl FromRequestParts<AppState> for PortalMayChangePassword {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let customer = customer_of(parts, state).map_err(Refused::Page)?;
        let secure = over_tls(parts);
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let sign_in = |notice: Option<String>| Refused::SignIn {
            customer: customer.clone(),
            next: next.clone(),
            notice,
            secure,
        };
        let Some(token) =
            cookie(&parts.headers, SESSION_COOKIE).map(|t| Zeroizing::new(t.to_owned()))
        else {
            return Err(sign_in(None));
        };
        let address = crate::client_address(parts);
        let actor = match state.authority.portal_session(&token, &address).await {
            Ok(actor) => actor,
            Err(RaError::SignIn(e @ SignInError::SessionEnded)) => {
                return Err(sign_in(Some(e.to_string())));
            }
            Err(RaError::SignIn(e)) => return Err(sign_in(Some(e.to_string()))),
            Err(e) => return Err(Refused::Page(page::ra_error_page(&e))),
        };
        let flash = cookie(&parts.headers, FLASH_COOKIE).and_then(page::decode_flash);
        Ok(PortalMayChangePassword(Portal {
            authority: state.authority.clone(),
            actor,
            token,
            customer,
            secure,
            flash,
        }))
    }
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let PortalMayChangePassword(portal) =
            PortalMayChangePassword::from_request_parts(parts, state).await?;
        if portal.actor.must_change_password {
            return Err(Refused::ChangePassword {
                customer: portal.customer,
            });
        }
        Ok(portal)
    }
}
