//! The one error type of `pki`. Each variant names the rule that refused and the value
//! that broke it, in words an administrator can act on.

use thiserror::Error;

/// Why `pki` refused or failed.
#[derive(Debug, Error)]
pub enum PkiError {
    /// The CSR is not a PKCS#10 request we can read.
    #[error(
        "malformed CSR: {reason}. Paste the whole PEM block, including the \
         -----BEGIN CERTIFICATE REQUEST----- and -----END CERTIFICATE REQUEST----- lines"
    )]
    MalformedCsr {
        /// What the parser said.
        reason: String,
    },

    /// The CSR's self-signature does not verify with the key it carries.
    #[error(
        "CSR signature does not verify: the request was altered, or was not signed by the \
         private key whose public key it carries. Generate the CSR again from the private key"
    )]
    CsrSignatureInvalid,

    /// The subscriber key breaks the key policy (size, exponent, curve, reuse of a CA key).
    #[error("key policy ({rule}): {detail}")]
    KeyPolicy {
        /// The rule's name, e.g. `rsa-modulus-size`.
        rule: &'static str,
        /// The value and what is allowed instead.
        detail: String,
    },

    /// A request breaks a rule of its certificate profile.
    #[error("profile '{profile}' ({rule}): {detail}")]
    ProfileRule {
        /// Profile name.
        profile: String,
        /// The rule's name, e.g. `term`, `wildcard-forbidden`, `max-names`.
        rule: &'static str,
        /// The value and what is allowed instead.
        detail: String,
    },

    /// A requested name is not a valid DNS name or e-mail address.
    #[error("invalid name '{name}': {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate profile file is not valid.
    #[error("certificate profile {file}: {key}: {reason}")]
    InvalidProfile {
        /// The file (or profile name) that is wrong.
        file: String,
        /// The key inside it.
        key: String,
        /// Why.
        reason: String,
    },

    /// Castellan's own pre-issuance lint refused the certificate before it was signed.
    #[error("pre-issuance lint {lint} failed: {detail}")]
    Lint {
        /// The lint's name, e.g. `e_cn_not_in_san`.
        lint: &'static str,
        /// What it found.
        detail: String,
    },

    /// A private key could not be decrypted or used.
    #[error("key encryption: {0}")]
    KeyEncryption(String),

    /// Signing failed inside the signer (software key or HSM).
    #[error("signing failed: {0}")]
    Signing(String),

    /// Generating a key pair failed.
    #[error("key generation failed: {0}")]
    KeyGeneration(String),

    /// DER/PEM/PKCS#7/PKCS#12 encoding or decoding failed.
    #[error("encoding failed: {0}")]
    Encoding(String),

    /// A download format that needs something this certificate does not have.
    #[error("format '{format}' is not available for this certificate: {reason}")]
    FormatUnavailable {
        /// The SCM format name.
        format: String,
        /// Why.
        reason: String,
    },
}

impl PkiError {
    /// A stable, machine-readable name for the rule that refused, for API error bodies.
    pub fn rule(&self) -> &'static str {
        match self {
            PkiError::MalformedCsr { .. } => "malformed-csr",
            PkiError::CsrSignatureInvalid => "csr-signature",
            PkiError::KeyPolicy { rule, .. } | PkiError::ProfileRule { rule, .. } => rule,
            PkiError::InvalidName { .. } => "invalid-name",
            PkiError::InvalidProfile { .. } => "invalid-profile",
            PkiError::Lint { lint, .. } => lint,
            PkiError::KeyEncryption(_) => "key-encryption",
            PkiError::Signing(_) => "signing",
            PkiError::KeyGeneration(_) => "key-generation",
            PkiError::Encoding(_) => "encoding",
            PkiError::FormatUnavailable { .. } => "format-unavailable",
        }
    }

    /// Whether this is a refusal of the caller's input (as opposed to an internal failure).
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            PkiError::KeyEncryption(_)
                | PkiError::Signing(_)
                | PkiError::KeyGeneration(_)
                | PkiError::Encoding(_)
        )
    }

    pub(crate) fn encoding(err: impl std::fmt::Display) -> PkiError {
        PkiError::Encoding(err.to_string())
    }
}
