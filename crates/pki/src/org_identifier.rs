//! The `organizationIdentifier` subject attribute's syntax (CA/Browser Forum S/MIME Baseline
//! Requirements 7.1.4.2.2 d, EV Guidelines 9.2.8): a three-letter registration scheme, the
//! two-letter country (`XG` for global schemes), optionally `+` and a subdivision (NTR and
//! GOV), then `-` and the registration reference. An LEI reference carries ISO 17442 check
//! digits, which are verified: a mistyped LEI would put a wrong identity into every
//! certificate of the organisation (and conformance linters reject it).

/// The registration schemes the S/MIME requirements allow.
pub const SCHEMES: [&str; 6] = ["NTR", "VAT", "PSD", "LEI", "GOV", "INT"];

/// Checks `value`; the refusal says what is wrong and what a good value looks like.
pub fn check(value: &str) -> Result<(), String> {
    let example = "for example NTRGB-RC000123 (a national trade register number), \
                   VATGB-123456789 or LEIXG-5493001KJTIIGC8Y1R12";
    let bad = |why: &str| {
        Err(format!(
            "'{value}' {why}; give the scheme, the country, '-' and \
                                       the reference, {example}"
        ))
    };
    let (head, reference) = match value.split_once('-') {
        Some((h, r)) => (h, Some(r)),
        None => (value, None),
    };
    if head.len() < 5 || !head.is_ascii() {
        return bad("does not start with a registration scheme and a country");
    }
    let (scheme, rest) = head.split_at(3);
    if !SCHEMES.contains(&scheme) {
        return bad(&format!(
            "names the registration scheme '{scheme}', which is not one of {}",
            SCHEMES.join(", ")
        ));
    }
    let (country, subdivision) = match rest.split_once('+') {
        Some((c, s)) => (c, Some(s)),
        None => (rest, None),
    };
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return bad(&format!(
            "has '{country}' where a two-letter country code (or XG) belongs"
        ));
    }
    if let Some(sub) = subdivision
        && (!matches!(scheme, "NTR" | "GOV")
            || sub.is_empty()
            || sub.len() > 3
            || !sub.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return bad(
            "has a subdivision ('+…') that only NTR and GOV take, of 1 to 3 letters or digits",
        );
    }
    match (scheme, reference) {
        ("GOV", None) => return Ok(()),
        (_, None) => return bad("has no '-' and registration reference"),
        (_, Some(r)) if r.trim().is_empty() || r.trim() != r => {
            return bad("has an empty reference, or spaces around it");
        }
        _ => {}
    }
    if scheme == "LEI" {
        let lei = reference.unwrap_or_default();
        if country != "XG" {
            return bad("is an LEI, which is global: its country is XG");
        }
        if !lei_is_valid(lei) {
            return bad(&format!(
                "has '{lei}', which is not an LEI: 20 letters and digits whose last two are \
                 ISO 17442 check digits"
            ));
        }
    }
    Ok(())
}

/// ISO 17442: 20 upper-case letters and digits; read as a number with A=10 … Z=35, the
/// whole is 1 modulo 97 (as an IBAN).
fn lei_is_valid(lei: &str) -> bool {
    if lei.len() != 20
        || !lei
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    let mut remainder: u32 = 0;
    for b in lei.bytes() {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn good_identifiers_pass() {
        for good in [
            "NTRGB-RC000123",
            "NTRUS+CA-C0806592",
            "VATGB-123456789",
            "PSDBE-NBB-0203201340",
            "LEIXG-5493001KJTIIGC8Y1R12",
            "LEIXG-529900T8BM49AURSDO55",
            "GOVGB",
            "GOVUS+CA",
            "INTXG-World Health Organization",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn bad_identifiers_name_the_fault() {
        let cases = [
            ("LEIXG-213800ABCDEFGHIJ1234", "which is not an LEI"),
            ("LEIGB-5493001KJTIIGC8Y1R12", "its country is XG"),
            ("ABCGB-1", "not one of NTR, VAT, PSD, LEI, GOV, INT"),
            ("NTRgb-1", "two-letter country code"),
            ("NTRGB", "no '-' and registration reference"),
            ("NTRGB-", "an empty reference"),
            ("VATGB+CA-1", "only NTR and GOV take"),
            ("NT-1", "does not start with a registration scheme"),
        ];
        for (bad, why) in cases {
            let message = check(bad).unwrap_err();
            assert!(message.contains(why), "{bad}: {message}");
            assert!(
                message.contains("NTRGB-RC000123"),
                "the fix is shown: {message}"
            );
        }
    }
}
