//! Who a certificate is about: the organisation's registered details and, for client
//! certificates, the person. Certificate profiles say which of these fields go into the
//! subject; the RA fills them from its records.

use serde::{Deserialize, Serialize};

/// An organisation's registered details, as the guide's organisation "General" tab and
/// "EV Details" tab hold them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationDetails {
    /// organizationName, e.g. "University of Camford".
    pub name: String,
    /// The name used in grid (IGTF) certificates, ASCII, kept exactly as configured.
    #[serde(default)]
    pub secondary_name: Option<String>,
    /// streetAddress.
    #[serde(default)]
    pub street: Option<String>,
    /// localityName (city).
    #[serde(default)]
    pub locality: Option<String>,
    /// stateOrProvinceName.
    #[serde(default)]
    pub state: Option<String>,
    /// postalCode.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// countryName, ISO 3166-1 alpha-2 (e.g. "GB").
    pub country: String,
    /// organizationIdentifier as the S/MIME requirements format it: a three-letter
    /// registration scheme, the country, '-', the reference (e.g. "NTRGB-RC000123").
    /// Entered by the operator (MRAO); sponsor-validated client certificates carry it.
    #[serde(default)]
    pub organization_identifier: Option<String>,
    /// Extended Validation details; only the operator (MRAO) enters these.
    #[serde(default)]
    pub ev: Option<EvDetails>,
}

/// The extra organisation details EV certificates carry (the guide's "EV Details" tab).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvDetails {
    /// businessCategory: "Private Organization", "Government Entity", "Business Entity"
    /// or "Non-Commercial Entity".
    pub business_category: String,
    /// jurisdictionCountryName (ISO 3166-1 alpha-2).
    pub jurisdiction_country: String,
    /// jurisdictionStateOrProvinceName, when incorporated at state level.
    #[serde(default)]
    pub jurisdiction_state: Option<String>,
    /// jurisdictionLocalityName, when incorporated at city level.
    #[serde(default)]
    pub jurisdiction_locality: Option<String>,
    /// The registration (incorporation) number: subject serialNumber.
    pub registration_number: String,
}

/// A person a client certificate is issued to (the guide's section 8 "Person").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonDetails {
    /// givenName.
    #[serde(default)]
    pub given_name: Option<String>,
    /// surname.
    #[serde(default)]
    pub surname: Option<String>,
    /// commonName as shown in the certificate ("usually the user's full name").
    #[serde(default)]
    pub common_name: Option<String>,
    /// The person's e-mail address (the certificate's rfc822Name).
    pub email: String,
}

impl PersonDetails {
    /// The common name to use: the explicit one, else "given surname".
    pub fn display_name(&self) -> Option<String> {
        if let Some(cn) = self.common_name.as_ref().filter(|s| !s.trim().is_empty()) {
            return Some(cn.trim().to_owned());
        }
        let parts: Vec<&str> = [self.given_name.as_deref(), self.surname.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}
