//! SCM-style errors: `{"code": <negative int>, "description": "..."}` with the HTTP status
//! SCM clients expect (spec §0.3, §0.4, §1.4). Every `ra` error is mapped here, once.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use castellan_ra::RaError;
use castellan_ra::signin::SignInError;
use serde::Serialize;

/// An error answer of the SCM API.
#[derive(Debug)]
pub struct ScmError {
    /// HTTP status.
    pub status: StatusCode,
    /// SCM error code (negative).
    pub code: i64,
    /// Human text; always present, SCM clients read it on 400.
    pub description: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: i64,
    description: &'a str,
}

impl ScmError {
    /// A 400 with SCM's "invalid value" code.
    pub fn bad_request(description: impl Into<String>) -> ScmError {
        ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -1601,
            description: description.into(),
        }
    }

    /// 401 Unknown user.
    pub fn unknown_user() -> ScmError {
        ScmError {
            status: StatusCode::UNAUTHORIZED,
            code: -16,
            description: "Unknown user".into(),
        }
    }

    /// 404 for an unknown path or entity.
    pub fn not_found(description: impl Into<String>) -> ScmError {
        ScmError {
            status: StatusCode::NOT_FOUND,
            code: -1,
            description: description.into(),
        }
    }
}

impl IntoResponse for ScmError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Body {
                code: self.code,
                description: &self.description,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"castellan\""),
            );
        }
        response
    }
}

impl From<RaError> for ScmError {
    fn from(e: RaError) -> ScmError {
        let description = e.to_string();
        let (status, code) = match &e {
            RaError::SignIn(SignInError::UnknownCustomer(_)) => (StatusCode::UNAUTHORIZED, -410),
            RaError::SignIn(SignInError::MustChangePassword) => (StatusCode::FORBIDDEN, -3),
            RaError::SignIn(_) => (StatusCode::UNAUTHORIZED, -16),
            RaError::NotAllowed(_) => (StatusCode::FORBIDDEN, -3),
            RaError::NotFound { what, .. } if what.starts_with("organization") => {
                (StatusCode::NOT_FOUND, -1023)
            }
            RaError::NotFound { .. } | RaError::UnknownProfile { .. } => {
                (StatusCode::NOT_FOUND, -1)
            }
            RaError::InvalidInput { .. } => (StatusCode::BAD_REQUEST, -1601),
            RaError::Conflict(_) => (StatusCode::BAD_REQUEST, -1),
            RaError::DomainsNotAllowed(_) | RaError::CaaForbids(_) => {
                (StatusCode::BAD_REQUEST, -1137)
            }
            RaError::Store(castellan_store::StoreError::Duplicate { .. }) => {
                (StatusCode::BAD_REQUEST, -1601)
            }
            RaError::Pki(_) => (StatusCode::BAD_REQUEST, -1),
            _ => {
                tracing::error!(error = %e, "SCM API request failed");
                return ScmError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: -2,
                    description: "Internal error".into(),
                };
            }
        };
        ScmError {
            status,
            code,
            description,
        }
    }
}

/// Result of an SCM handler.
pub type ScmResult<T> = Result<T, ScmError>;
