//! Object identifiers Castellan puts into certificates, named once.

use const_oid::ObjectIdentifier as Oid;

const fn oid(s: &str) -> Oid {
    Oid::new_unwrap(s)
}

// --- Subject attribute types -------------------------------------------------------------
/// countryName (C)
pub const COUNTRY_NAME: Oid = oid("2.5.4.6");
/// stateOrProvinceName (ST)
pub const STATE_OR_PROVINCE_NAME: Oid = oid("2.5.4.8");
/// localityName (L)
pub const LOCALITY_NAME: Oid = oid("2.5.4.7");
/// streetAddress (street)
pub const STREET_ADDRESS: Oid = oid("2.5.4.9");
/// postalCode
pub const POSTAL_CODE: Oid = oid("2.5.4.17");
/// organizationName (O)
pub const ORGANIZATION_NAME: Oid = oid("2.5.4.10");
/// organizationalUnitName (OU) — never put into leaves (the BRs forbid it); parsed only.
pub const ORGANIZATIONAL_UNIT_NAME: Oid = oid("2.5.4.11");
/// commonName (CN)
pub const COMMON_NAME: Oid = oid("2.5.4.3");
/// serialNumber (the EV registration number)
pub const SERIAL_NUMBER: Oid = oid("2.5.4.5");
/// businessCategory (EV)
pub const BUSINESS_CATEGORY: Oid = oid("2.5.4.15");
/// givenName
pub const GIVEN_NAME: Oid = oid("2.5.4.42");
/// surname (SN)
pub const SURNAME: Oid = oid("2.5.4.4");
/// pseudonym
pub const PSEUDONYM: Oid = oid("2.5.4.65");
/// organizationIdentifier
pub const ORGANIZATION_IDENTIFIER: Oid = oid("2.5.4.97");
/// emailAddress (PKCS#9, deprecated in subjects but still seen in CSRs)
pub const EMAIL_ADDRESS: Oid = oid("1.2.840.113549.1.9.1");
/// domainComponent (DC)
pub const DOMAIN_COMPONENT: Oid = oid("0.9.2342.19200300.100.1.25");
/// jurisdictionLocalityName (EV)
pub const JURISDICTION_LOCALITY: Oid = oid("1.3.6.1.4.1.311.60.2.1.1");
/// jurisdictionStateOrProvinceName (EV)
pub const JURISDICTION_STATE: Oid = oid("1.3.6.1.4.1.311.60.2.1.2");
/// jurisdictionCountryName (EV)
pub const JURISDICTION_COUNTRY: Oid = oid("1.3.6.1.4.1.311.60.2.1.3");

// --- Extended key usages -----------------------------------------------------------------
/// id-kp-serverAuth
pub const KP_SERVER_AUTH: Oid = oid("1.3.6.1.5.5.7.3.1");
/// id-kp-clientAuth
pub const KP_CLIENT_AUTH: Oid = oid("1.3.6.1.5.5.7.3.2");
/// id-kp-codeSigning
pub const KP_CODE_SIGNING: Oid = oid("1.3.6.1.5.5.7.3.3");
/// id-kp-emailProtection
pub const KP_EMAIL_PROTECTION: Oid = oid("1.3.6.1.5.5.7.3.4");
/// id-kp-OCSPSigning
pub const KP_OCSP_SIGNING: Oid = oid("1.3.6.1.5.5.7.3.9");
/// anyExtendedKeyUsage
pub const ANY_EXTENDED_KEY_USAGE: Oid = oid("2.5.29.37.0");

// --- Access methods ----------------------------------------------------------------------
/// id-ad-ocsp
pub const AD_OCSP: Oid = oid("1.3.6.1.5.5.7.48.1");
/// id-ad-caIssuers
pub const AD_CA_ISSUERS: Oid = oid("1.3.6.1.5.5.7.48.2");

// --- Policies ----------------------------------------------------------------------------
/// anyPolicy (in CA certificates)
pub const ANY_POLICY: Oid = oid("2.5.29.32.0");
/// CA/B Forum TLS: domain validated
pub const CABF_DV: Oid = oid("2.23.140.1.2.1");
/// CA/B Forum TLS: organization validated
pub const CABF_OV: Oid = oid("2.23.140.1.2.2");
/// CA/B Forum TLS: individual validated
pub const CABF_IV: Oid = oid("2.23.140.1.2.3");
/// CA/B Forum TLS: extended validation
pub const CABF_EV: Oid = oid("2.23.140.1.1");
/// CA/B Forum code signing (non-EV)
pub const CABF_CODE_SIGNING: Oid = oid("2.23.140.1.4.1");

// --- Key algorithms ----------------------------------------------------------------------
/// rsaEncryption
pub const RSA_ENCRYPTION: Oid = oid("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption
pub const SHA256_WITH_RSA: Oid = oid("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption
pub const SHA384_WITH_RSA: Oid = oid("1.2.840.113549.1.1.12");
/// id-ecPublicKey
pub const EC_PUBLIC_KEY: Oid = oid("1.2.840.10045.2.1");
/// ecdsa-with-SHA256
pub const ECDSA_WITH_SHA256: Oid = oid("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384
pub const ECDSA_WITH_SHA384: Oid = oid("1.2.840.10045.4.3.3");
/// prime256v1 / secp256r1
pub const CURVE_P256: Oid = oid("1.2.840.10045.3.1.7");
/// secp384r1
pub const CURVE_P384: Oid = oid("1.3.132.0.34");
/// secp521r1 (recognised only to refuse it by name)
pub const CURVE_P521: Oid = oid("1.3.132.0.35");
/// id-Ed25519 (recognised only to refuse it by name)
pub const ED25519: Oid = oid("1.3.101.112");

/// A CA/B Forum S/MIME policy OID: `2.23.140.1.5.<validation>.<generation>`.
///
/// Validation: 1 mailbox, 2 organization, 3 sponsor, 4 individual.
/// Generation: 1 legacy, 2 multipurpose, 3 strict.
pub fn cabf_smime(validation: u8, generation: u8) -> Option<Oid> {
    Oid::new(&format!("2.23.140.1.5.{validation}.{generation}")).ok()
}
