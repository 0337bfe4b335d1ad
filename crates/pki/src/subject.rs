//! Building subject distinguished names from a profile's attribute list and the records
//! the RA holds (organisation, EV details, person), with the string types the standards
//! require: PrintableString for country codes and serialNumber, IA5String for e-mail and
//! DC, UTF8String for everything else.

use crate::profile::{Profile, SubjectAttribute};
use crate::{PkiError, Result, oids};
use castellan_model::{OrganizationDetails, PersonDetails};
use const_oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

/// The records a subject is filled from.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubjectInputs<'a> {
    /// The organisation the certificate is issued to.
    pub organization: Option<&'a OrganizationDetails>,
    /// The person (client certificates).
    pub person: Option<&'a PersonDetails>,
    /// The common name chosen by the SAN rules.
    pub common_name: Option<&'a str>,
}

/// Where a subject attribute's value comes from, for error messages.
fn source_name(attr: SubjectAttribute) -> &'static str {
    use SubjectAttribute::*;
    match attr {
        Country
        | State
        | Locality
        | Street
        | PostalCode
        | Organization
        | OrganizationIdentifier => "the organisation",
        SerialNumber | BusinessCategory | JurisdictionCountry | JurisdictionState
        | JurisdictionLocality => "the organisation's EV details",
        GivenName | Surname | EmailAddress => "the person",
        CommonName | Pseudonym => "the request",
    }
}

fn value_of(
    profile: &Profile,
    attr: SubjectAttribute,
    inputs: &SubjectInputs<'_>,
) -> Option<String> {
    use SubjectAttribute::*;
    let org = inputs.organization;
    let ev = org.and_then(|o| o.ev.as_ref());
    let person = inputs.person;
    let value = match attr {
        Country => org.map(|o| o.country.clone()),
        State => org.and_then(|o| o.state.clone()),
        Locality => org.and_then(|o| o.locality.clone()),
        Street => org.and_then(|o| o.street.clone()),
        PostalCode => org.and_then(|o| o.postal_code.clone()),
        Organization if profile.use_secondary_org_name => {
            org.and_then(|o| o.secondary_name.clone())
        }
        Organization => org.map(|o| o.name.clone()),
        CommonName | Pseudonym => inputs.common_name.map(str::to_owned),
        OrganizationIdentifier => org.and_then(|o| o.organization_identifier.clone()),
        SerialNumber => ev.map(|e| e.registration_number.clone()),
        BusinessCategory => ev.map(|e| e.business_category.clone()),
        JurisdictionCountry => ev.map(|e| e.jurisdiction_country.clone()),
        JurisdictionState => ev.and_then(|e| e.jurisdiction_state.clone()),
        JurisdictionLocality => ev.and_then(|e| e.jurisdiction_locality.clone()),
        GivenName => person.and_then(|p| p.given_name.clone()),
        Surname => person.and_then(|p| p.surname.clone()),
        EmailAddress => person.map(|p| p.email.clone()),
    };
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Builds the subject for `profile` from `inputs`. Returns the DN and the attributes as
/// `(short name, value)` pairs, in DN order.
pub fn build_subject(
    profile: &Profile,
    inputs: &SubjectInputs<'_>,
) -> Result<(Name, Vec<(SubjectAttribute, String)>)> {
    let mut values = Vec::new();
    for attr in &profile.subject {
        match value_of(profile, *attr, inputs) {
            Some(value) if *attr == SubjectAttribute::OrganizationIdentifier => {
                crate::org_identifier::check(&value).map_err(|detail| PkiError::ProfileRule {
                    profile: profile.name.clone(),
                    rule: "organization-identifier",
                    detail: format!(
                        "the organization identifier {detail}; the operator (MRAO) corrects it \
                         under Organizations"
                    ),
                })?;
                values.push((*attr, value));
            }
            Some(value) => values.push((*attr, value)),
            None if profile.subject_required.contains(attr) => {
                let field =
                    if *attr == SubjectAttribute::Organization && profile.use_secondary_org_name {
                        "O (the organisation's secondary name)".to_owned()
                    } else {
                        attr.short_name().to_owned()
                    };
                return Err(PkiError::ProfileRule {
                    profile: profile.name.clone(),
                    rule: "subject-field-missing",
                    detail: format!(
                        "the subject needs {field} from {}, which has none; fill it in and \
                         request again",
                        source_name(*attr)
                    ),
                });
            }
            None => {}
        }
    }
    let name = encode_name(&values)?;
    Ok((name, values))
}

/// Encodes `(attribute, value)` pairs into a DN, one attribute per RDN.
pub fn encode_name(values: &[(SubjectAttribute, String)]) -> Result<Name> {
    let pairs: Vec<(ObjectIdentifier, &str)> =
        values.iter().map(|(a, v)| (a.oid(), v.as_str())).collect();
    encode_pairs(&pairs)
}

/// Encodes `(type, value)` pairs into a DN, one attribute per RDN, choosing string types.
pub fn encode_pairs(values: &[(ObjectIdentifier, &str)]) -> Result<Name> {
    let mut seq = RdnSequence::default();
    for (oid, value) in values {
        let any = encode_value(*oid, value)?;
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: any,
        };
        let rdn = RelativeDistinguishedName::try_from(vec![atv]).map_err(PkiError::encoding)?;
        seq.push(rdn);
    }
    // Name wraps an RDNSequence; going through DER keeps to the public API.
    let der = seq.to_der().map_err(PkiError::encoding)?;
    Name::from_der(&der).map_err(PkiError::encoding)
}

fn encode_value(oid: ObjectIdentifier, value: &str) -> Result<Any> {
    let bad = |reason: String| PkiError::InvalidName {
        name: value.to_owned(),
        reason,
    };
    if value.len() > 64 && oid != oids::STREET_ADDRESS {
        return Err(bad(format!(
            "subject attribute {} is longer than the 64 characters X.520 allows",
            attribute_label(oid)
        )));
    }
    let tag = if oid == oids::COUNTRY_NAME || oid == oids::JURISDICTION_COUNTRY {
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(format!(
                "{} must be a two-letter upper-case ISO 3166 code such as GB",
                attribute_label(oid)
            )));
        }
        Tag::PrintableString
    } else if oid == oids::SERIAL_NUMBER {
        if !value.bytes().all(is_printable) {
            return Err(bad(
                "serialNumber may only use letters, digits, spaces and '()+,-./:=?".into(),
            ));
        }
        Tag::PrintableString
    } else if oid == oids::EMAIL_ADDRESS || oid == oids::DOMAIN_COMPONENT {
        if !value.is_ascii() {
            return Err(bad(format!("{} must be ASCII", attribute_label(oid))));
        }
        Tag::Ia5String
    } else {
        Tag::Utf8String
    };
    Any::new(tag, value.as_bytes()).map_err(PkiError::encoding)
}

fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// Renders a DN as RFC 4514 text (last RDN first: `CN=…,O=…,C=GB`) with Castellan's
/// attribute labels. Quicker than x509-cert's `Display`, which searches its whole OID
/// database for every attribute, and the same for every certificate Castellan shows.
pub fn name_to_string(name: &Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.iter_rdn() {
        let atvs: Vec<String> = rdn
            .iter()
            .map(|atv| {
                let value = attribute_text(&atv.value)
                    .map(escape_rfc4514)
                    .unwrap_or_else(|| {
                        format!(
                            "#{}",
                            hex::encode(der::Encode::to_der(&atv.value).unwrap_or_default())
                        )
                    });
                format!("{}={value}", attribute_label(atv.oid))
            })
            .collect();
        parts.push(atvs.join("+"));
    }
    parts.reverse();
    parts.join(",")
}

/// The text of a DirectoryString-like attribute value.
fn attribute_text(value: &Any) -> Option<&str> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok()
        }
        _ => None,
    }
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A readable label for an attribute OID.
pub fn attribute_label(oid: ObjectIdentifier) -> String {
    let known = [
        (oids::COUNTRY_NAME, "C"),
        (oids::STATE_OR_PROVINCE_NAME, "ST"),
        (oids::LOCALITY_NAME, "L"),
        (oids::STREET_ADDRESS, "street"),
        (oids::POSTAL_CODE, "postalCode"),
        (oids::ORGANIZATION_NAME, "O"),
        (oids::ORGANIZATIONAL_UNIT_NAME, "OU"),
        (oids::COMMON_NAME, "CN"),
        (oids::SERIAL_NUMBER, "serialNumber"),
        (oids::BUSINESS_CATEGORY, "businessCategory"),
        (oids::GIVEN_NAME, "givenName"),
        (oids::SURNAME, "SN"),
        (oids::PSEUDONYM, "pseudonym"),
        (oids::EMAIL_ADDRESS, "emailAddress"),
        (oids::DOMAIN_COMPONENT, "DC"),
        (oids::JURISDICTION_COUNTRY, "jurisdictionC"),
        (oids::JURISDICTION_STATE, "jurisdictionST"),
        (oids::JURISDICTION_LOCALITY, "jurisdictionL"),
        (oids::ORGANIZATION_IDENTIFIER, "organizationIdentifier"),
    ];
    known
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| oid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;

    fn org() -> OrganizationDetails {
        OrganizationDetails {
            name: "University of Camford".into(),
            locality: Some("Camford".into()),
            country: "GB".into(),
            ..OrganizationDetails::default()
        }
    }

    #[test]
    fn ov_subject_comes_from_the_organisation() {
        let set = ProfileSet::defaults().unwrap();
        let ov = set.by_name("OV SSL").unwrap();
        let org = org();
        let inputs = SubjectInputs {
            organization: Some(&org),
            person: None,
            common_name: Some("www.camford.ac.uk"),
        };
        let (name, values) = build_subject(ov, &inputs).unwrap();
        assert_eq!(
            name.to_string(),
            "CN=www.camford.ac.uk,O=University of Camford,L=Camford,C=GB"
        );
        assert_eq!(values.len(), 4);
    }

    #[test]
    fn missing_required_fields_are_named() {
        let set = ProfileSet::defaults().unwrap();
        let ev = set.by_name("EV SSL").unwrap();
        let org = org();
        let inputs = SubjectInputs {
            organization: Some(&org),
            person: None,
            common_name: Some("www.camford.ac.uk"),
        };
        let err = build_subject(ev, &inputs).unwrap_err().to_string();
        assert!(
            err.contains("jurisdictionC") && err.contains("EV details"),
            "{err}"
        );
    }

    #[test]
    fn special_characters_are_escaped() {
        let name = encode_pairs(&[
            (oids::ORGANIZATION_NAME, "Smith, Jones + Co"),
            (oids::COMMON_NAME, " spaced "),
        ])
        .unwrap();
        assert_eq!(
            name_to_string(&name),
            "CN=\\ spaced\\ ,O=Smith\\, Jones \\+ Co"
        );
    }

    #[test]
    fn country_codes_are_checked() {
        let err = encode_pairs(&[(oids::COUNTRY_NAME, "UK!")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("two-letter"), "{err}");
    }
}
