//! The one error type of `ra`, mapped once at each front door.

use castellan_pki::PkiError;
use castellan_store::StoreError;
use thiserror::Error;

/// Why the RA refused or failed.
#[derive(Debug, Error)]
pub enum RaError {
    /// A certificate rule refused the request (CSR, key, profile, names, lint).
    #[error(transparent)]
    Pki(#[from] PkiError),

    /// An ACME refusal, with its RFC 8555 error type (`badNonce`, `unauthorized`, ...).
    #[error("{detail}")]
    Acme {
        /// The error type after `urn:ietf:params:acme:error:`.
        kind: &'static str,
        /// What to tell the client.
        detail: String,
    },

    /// An ACME rate limit (`rateLimited`): which limit, and when to come back.
    #[error("{detail}")]
    AcmeRateLimited {
        /// Which limit was reached, and that renewals are exempt.
        detail: String,
        /// Seconds until an order would be taken (the `Retry-After` header).
        retry_after: i64,
    },

    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The database has not been initialised.
    #[error("the database {target} has not been initialised; run `castellan init` first")]
    NotInitialised {
        /// The database.
        target: String,
    },

    /// `init` on a database that already holds a CA.
    #[error(
        "the database {target} is already initialised (since {since}); nothing was changed. \
         To start over, use a new data directory or database"
    )]
    AlreadyInitialised {
        /// The database.
        target: String,
        /// When it was initialised.
        since: String,
    },

    /// The key-encryption key is not the one the CA was created with.
    #[error(
        "the key-encryption key from {source_name} is not the one this CA was created with, so \
         its keys cannot be decrypted. Restore the original key (file or CASTELLAN_KEK); \
         Castellan will not create a new CA over an existing one"
    )]
    KekMismatch {
        /// Where the KEK came from (file path or environment variable).
        source_name: String,
    },

    /// No profile by that name or id.
    #[error("no certificate profile '{given}'; the profiles are: {known}")]
    UnknownProfile {
        /// What was asked for.
        given: String,
        /// The names that exist.
        known: String,
    },

    /// Nothing found.
    #[error("no {what} {key}")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// The key looked up.
        key: String,
    },

    /// A value given by the caller is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },

    /// The caller's role, privilege or scope does not allow the action; the text says
    /// which rule and what would allow it.
    #[error("{0}")]
    NotAllowed(String),

    /// The action conflicts with the current state (in use, already decided, ...).
    #[error("{0}")]
    Conflict(String),

    /// Names the requester may not order certificates for (delegation, suspension, DCV),
    /// in the guide's words, with the reason for each.
    #[error("{0}")]
    DomainsNotAllowed(String),

    /// [`RaError::DomainsNotAllowed`] when CAA (RFC 8659) is the only rule that refuses: the
    /// same words; ACME answers it with the `caa` problem type (RFC 8555 §6.7).
    #[error("{0}")]
    CaaForbids(String),

    /// Signing in failed.
    #[error(transparent)]
    SignIn(#[from] crate::signin::SignInError),

    /// Something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RaError {
    /// Whether the caller's input was refused (as opposed to a failure of the service).
    pub fn is_refusal(&self) -> bool {
        match self {
            RaError::Pki(e) => e.is_refusal(),
            RaError::Store(_) | RaError::Internal(_) | RaError::KekMismatch { .. } => false,
            _ => true,
        }
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, RaError>;
