//! Guide 3.1.1: "browse to the SCM login page … enter your username and password and click
//! Login". Signing in, the forced password change (guide 4.1.1 step 6a: "On first login the
//! user will be required to change it"), and signing out.

use super::page::{self, Chrome, Nav};
use super::session::{
    FLASH_COOKIE, Portal, PortalMayChangePassword, SESSION_COOKIE, cookie, customer_of, over_tls,
    set_cookie,
};
use crate::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use castellan_ra::RaError;
use castellan_ra::signin::SignInError;
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Template)]
#[template(path = "portal/login.html")]
struct LoginPage {
    chrome: Chrome,
    customer: String,
    login: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: Zeroizing<String>,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: `next` if it is a page of this portal, else the dashboard.
fn landing(customer: &str, next: &str) -> String {
    let root = format!("/customer/{customer}/");
    if next.starts_with(&root) && !next.contains("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        format!("/customer/{customer}/dashboard")
    }
}

/// `GET /customer/<uri>/`: the dashboard when signed in, else the login page.
pub(crate) async fn login_page(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if let Ok(portal) = Portal::from_request_parts(&mut parts, &state).await {
        return Redirect::to(&format!("{}/dashboard", portal.base())).into_response();
    }
    let customer = match customer_of(&parts, &state) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let Query(query) = Query::<NextQuery>::try_from_uri(&parts.uri).unwrap_or_default();
    let notice = cookie(&parts.headers, FLASH_COOKIE).and_then(page::decode_flash);
    let mut chrome = Chrome::anonymous(format!("/customer/{customer}"), "Login");
    chrome.flash = notice.clone();
    let mut response = page::html(
        StatusCode::OK,
        page::render(&LoginPage {
            chrome,
            customer: customer.clone(),
            login: String::new(),
            next: query.next,
            error: None,
        }),
    );
    if notice.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(FLASH_COOKIE, None, &customer, over_tls(&parts)),
        );
    }
    response
}

/// `POST /customer/<uri>/login`.
pub(crate) async fn login(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let customer = match customer_of(&parts, &state) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let request = Request::from_parts(parts.clone(), body);
    let Ok(Form(form)) = Form::<LoginForm>::from_request(request, &state).await else {
        return page::error_page(
            StatusCode::BAD_REQUEST,
            "The login form could not be read.",
            "Reload the login page and sign in again.",
        );
    };
    let address = crate::client_address(&parts);
    let secure = over_tls(&parts);
    match state
        .authority
        .open_portal_session(&customer, form.login.trim(), &form.password, &address)
        .await
    {
        Ok(session) => {
            let target = if session.actor.must_change_password {
                format!("/customer/{customer}/password")
            } else {
                landing(&customer, &form.next)
            };
            let mut response = Redirect::to(&target).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, Some(&session.token), &customer, secure),
            );
            response
        }
        Err(error) => {
            let status = match &error {
                RaError::SignIn(SignInError::Locked { .. }) => StatusCode::TOO_MANY_REQUESTS,
                RaError::SignIn(_) => StatusCode::UNAUTHORIZED,
                other => page::ra_status(other),
            };
            let message = match &error {
                RaError::SignIn(SignInError::UnknownUser) => {
                    "Unknown user, or wrong password. Check both and try again; after 5 \
                     failed attempts in a row the account is locked for 15 minutes."
                        .to_owned()
                }
                other => page::ra_message(other),
            };
            page::html(
                status,
                page::render(&LoginPage {
                    chrome: Chrome::anonymous(format!("/customer/{customer}"), "Login"),
                    customer,
                    login: form.login,
                    next: form.next,
                    error: Some(message),
                }),
            )
        }
    }
}

/// `POST /customer/<uri>/logout`.
pub(crate) async fn logout(PortalMayChangePassword(portal): PortalMayChangePassword) -> Response {
    let closed = portal
        .authority()
        .close_portal_session(&portal.token, &portal.actor)
        .await;
    let mut response = match closed {
        Ok(()) => {
            let mut response = Redirect::to(&format!("{}/", portal.base())).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    FLASH_COOKIE,
                    Some(&page::encode_flash("You have signed out.")),
                    &portal.customer,
                    portal.secure,
                ),
            );
            response
        }
        Err(e) => page::ra_error_page(&e),
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, None, &portal.customer, portal.secure),
    );
    response
}

#[derive(Template)]
#[template(path = "portal/password.html")]
struct PasswordPage {
    chrome: Chrome,
    forced: bool,
    min_len: usize,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    new_password: Zeroizing<String>,
    #[serde(default)]
    confirm: Zeroizing<String>,
}

fn password_page(portal: &Portal, status: StatusCode, error: Option<String>) -> Response {
    page::html(
        status,
        page::render(&PasswordPage {
            chrome: portal.chrome(Nav::None, "Change password"),
            forced: portal.actor.must_change_password,
            min_len: castellan_ra::password::MIN_PASSWORD_LEN,
            error,
        }),
    )
}

/// `GET /customer/<uri>/password`.
pub(crate) async fn password_form(
    PortalMayChangePassword(portal): PortalMayChangePassword,
) -> Response {
    password_page(&portal, StatusCode::OK, None)
}

/// `POST /customer/<uri>/password`: changes the password, then signs in again with it (a
/// new password ends every session, this one included).
pub(crate) async fn change_password(
    PortalMayChangePassword(portal): PortalMayChangePassword,
    Form(form): Form<PasswordForm>,
) -> Response {
    if *form.new_password != *form.confirm {
        return password_page(
            &portal,
            StatusCode::BAD_REQUEST,
            Some("The two passwords differ; type the same new password twice.".into()),
        );
    }
    let authority = portal.authority();
    if let Err(e) = authority
        .change_own_password(&portal.actor, &form.new_password)
        .await
    {
        return password_page(&portal, page::ra_status(&e), Some(page::ra_message(&e)));
    }
    let session = match authority
        .open_portal_session(
            &portal.customer,
            &portal.actor.login,
            &form.new_password,
            &portal.actor.address,
        )
        .await
    {
        Ok(session) => session,
        Err(e) => return page::ra_error_page(&e),
    };
    let mut response = Redirect::to(&format!("{}/dashboard", portal.base())).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            Some(&session.token),
            &portal.customer,
            portal.secure,
        ),
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            FLASH_COOKIE,
            Some(&page::encode_flash("Your password has been changed.")),
            &portal.customer,
            portal.secure,
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::landing;

    #[test]
    fn only_pages_of_this_portal_are_landing_places() {
        assert_eq!(
            landing("camford", "/customer/camford/organizations"),
            "/customer/camford/organizations"
        );
        for outside in [
            "https://evil.example/",
            "//evil.example/customer/camford/",
            "/customer/other/dashboard",
            "/customer/camford/\\evil",
            "",
        ] {
            assert_eq!(
                landing("camford", outside),
                "/customer/camford/dashboard",
                "{outside}"
            );
        }
    }
}
