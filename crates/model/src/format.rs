//! Download formats: the guide's section 7.6 and the SCM `format` names.

use std::fmt;

/// A way to download a certificate, named as the SCM API names it.
///
/// "Root first" and "leaf first" orders follow `shared/spec/scm-rest-api.md` §4.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DownloadFormat {
    /// `x509`: certificate with chain, PEM, root first, leaf last.
    X509,
    /// `x509CO`: certificate only, PEM.
    X509CertOnly,
    /// `x509IO`: root/intermediate(s) only, PEM, root first.
    X509IssuersOnly,
    /// `x509IOR`: intermediate(s)/root only, PEM, issuing CA first.
    X509IssuersOnlyReversed,
    /// `x509R`: certificate with chain, PEM, leaf first, root last.
    X509Reversed,
    /// `pem`: certificate with chain, PEM (root, intermediate, leaf: the guide's "w/ chain").
    Pem,
    /// `pemco`: certificate only, PEM.
    PemCertOnly,
    /// `pemia`: certificate with issuer after, PEM (leaf, then intermediates; no root).
    PemIssuerAfter,
    /// `base64`: PKCS#7 certs-only, PEM armoured (the SCM default).
    Pkcs7Pem,
    /// `bin`: PKCS#7 certs-only, DER (`.p7b`).
    Pkcs7Der,
    /// `pkcs12`: key, certificate and chain, AES-256 (PBES2); only for server-held keys.
    Pkcs12,
    /// `pkcs12-legacy`: as `pkcs12` but 3DES and SHA-1 MAC, for old importers.
    Pkcs12Legacy,
}

impl DownloadFormat {
    /// Every format, in the order the guide lists them.
    pub const ALL: [DownloadFormat; 12] = [
        DownloadFormat::PemCertOnly,
        DownloadFormat::PemIssuerAfter,
        DownloadFormat::Pem,
        DownloadFormat::Pkcs7Der,
        DownloadFormat::Pkcs7Pem,
        DownloadFormat::X509IssuersOnly,
        DownloadFormat::X509IssuersOnlyReversed,
        DownloadFormat::X509,
        DownloadFormat::X509CertOnly,
        DownloadFormat::X509Reversed,
        DownloadFormat::Pkcs12,
        DownloadFormat::Pkcs12Legacy,
    ];

    /// The SCM name (`x509CO`, `pemia`, `base64`, ...).
    pub fn scm_name(self) -> &'static str {
        match self {
            DownloadFormat::X509 => "x509",
            DownloadFormat::X509CertOnly => "x509CO",
            DownloadFormat::X509IssuersOnly => "x509IO",
            DownloadFormat::X509IssuersOnlyReversed => "x509IOR",
            DownloadFormat::X509Reversed => "x509R",
            DownloadFormat::Pem => "pem",
            DownloadFormat::PemCertOnly => "pemco",
            DownloadFormat::PemIssuerAfter => "pemia",
            DownloadFormat::Pkcs7Pem => "base64",
            DownloadFormat::Pkcs7Der => "bin",
            DownloadFormat::Pkcs12 => "pkcs12",
            DownloadFormat::Pkcs12Legacy => "pkcs12-legacy",
        }
    }

    /// Parses an SCM name. Exact match first, then case-insensitive (`x509co` works too).
    pub fn from_scm_name(name: &str) -> Option<DownloadFormat> {
        let all = DownloadFormat::ALL;
        all.iter()
            .find(|f| f.scm_name() == name)
            .or_else(|| all.iter().find(|f| f.scm_name().eq_ignore_ascii_case(name)))
            .copied()
    }

    /// The guide's description, shown in the portal and in `--help`.
    pub fn description(self) -> &'static str {
        match self {
            DownloadFormat::PemCertOnly | DownloadFormat::X509CertOnly => {
                "As Certificate Only, PEM Encoded"
            }
            DownloadFormat::PemIssuerAfter => "As Certificate (w/ issuer after), PEM Encoded",
            DownloadFormat::Pem | DownloadFormat::X509 => "As Certificate (w/ chain), PEM Encoded",
            DownloadFormat::X509Reversed => "As Certificate (w/ chain, leaf first), PEM Encoded",
            DownloadFormat::Pkcs7Der => "As PKCS#7: .p7b",
            DownloadFormat::Pkcs7Pem => "As PKCS#7, PEM Encoded",
            DownloadFormat::X509IssuersOnly => "As Root/Intermediate(s) only, PEM Encoded",
            DownloadFormat::X509IssuersOnlyReversed => "As Intermediate(s)/Root only, PEM Encoded",
            DownloadFormat::Pkcs12 => "As PKCS#12 (AES-256), with private key",
            DownloadFormat::Pkcs12Legacy => "As PKCS#12 (legacy 3DES), with private key",
        }
    }

    /// The file name extension a download in this format gets.
    pub fn file_extension(self) -> &'static str {
        match self {
            DownloadFormat::Pkcs7Der => "p7b",
            DownloadFormat::Pkcs7Pem => "p7c.pem",
            DownloadFormat::Pkcs12 | DownloadFormat::Pkcs12Legacy => "p12",
            _ => "pem",
        }
    }

    /// Whether the output is binary (not ASCII text).
    pub fn is_binary(self) -> bool {
        matches!(
            self,
            DownloadFormat::Pkcs7Der | DownloadFormat::Pkcs12 | DownloadFormat::Pkcs12Legacy
        )
    }

    /// Whether the format carries the private key (only possible for server-held keys).
    pub fn needs_private_key(self) -> bool {
        matches!(self, DownloadFormat::Pkcs12 | DownloadFormat::Pkcs12Legacy)
    }
}

impl fmt::Display for DownloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scm_name())
    }
}

#[cfg(test)]
mod tests {
    use super::DownloadFormat;

    #[test]
    fn scm_names_parse_back() {
        for format in DownloadFormat::ALL {
            assert_eq!(
                DownloadFormat::from_scm_name(format.scm_name()),
                Some(format)
            );
        }
        assert_eq!(
            DownloadFormat::from_scm_name("x509co"),
            Some(DownloadFormat::X509CertOnly)
        );
        assert_eq!(DownloadFormat::from_scm_name("der"), None);
    }
}
