//! The value of an `issue` / `issuewild` property (RFC 8659 §4.2):
//!
//! ```text
//! issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
//! issuer-domain-name = label *("." label)
//! label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//! parameters = (parameter *WSP ";" *WSP parameters) / parameter
//! parameter = tag *WSP "=" *WSP value
//! tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))
//! value = *(%x21-3A / %x3C-7E)
//! ```
//!
//! Parsed strictly, because RFC 8659 says a value that does not match the grammar is treated
//! as an empty issuer, which forbids issuance: guessing what a malformed record meant could
//! only widen it.

/// A parsed `issue` / `issuewild` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssueValue {
    /// The issuer domain, lower case; `None` for an empty issuer (`";"`), which authorises no
    /// one.
    pub(crate) issuer: Option<String>,
    /// The parameters in order, tags lower case (RFC 8657 defines `accounturi` and
    /// `validationmethods`; others are for the issuer named to interpret).
    pub(crate) parameters: Vec<(String, String)>,
}

impl IssueValue {
    /// The value of parameter `tag` (lower case), if present.
    pub(crate) fn parameter(&self, tag: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(t, _)| t == tag)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an issue value; `Err` says what in it breaks the grammar.
pub(crate) fn parse_issue_value(value: &str) -> Result<IssueValue, String> {
    let (issuer, parameters) = match value.split_once(';') {
        Some((issuer, parameters)) => (issuer, Some(parameters)),
        None => (value, None),
    };
    let issuer = trim_wsp(issuer);
    let issuer = if issuer.is_empty() {
        None
    } else if issuer.split('.').all(is_label) {
        Some(issuer.to_ascii_lowercase())
    } else {
        return Err(format!("{issuer:?} is not an issuer domain name"));
    };

    let mut parsed: Vec<(String, String)> = Vec::new();
    let parameters = parameters.map(trim_wsp).unwrap_or_default();
    if !parameters.is_empty() {
        for parameter in parameters.split(';') {
            let (tag, value) = parse_parameter(trim_wsp(parameter))?;
            // Two values for one parameter (two accounturi, say) have no defined meaning;
            // taking either would be a guess, so the record is malformed.
            if parsed.iter().any(|(t, _)| *t == tag) {
                return Err(format!("the parameter {tag} appears twice"));
            }
            parsed.push((tag, value));
        }
    }
    Ok(IssueValue {
        issuer,
        parameters: parsed,
    })
}

/// `tag *WSP "=" *WSP value`.
fn parse_parameter(parameter: &str) -> Result<(String, String), String> {
    let Some((tag, value)) = parameter.split_once('=') else {
        return Err(format!("the parameter {parameter:?} has no '='"));
    };
    let tag = trim_wsp(tag);
    let value = trim_wsp(value);
    if !is_label(tag) {
        return Err(format!("{tag:?} is not a parameter tag"));
    }
    if !value
        .bytes()
        .all(|b| matches!(b, 0x21..=0x3A | 0x3C..=0x7E))
    {
        return Err(format!(
            "the value of {tag} has a character a value may not have"
        ));
    }
    Ok((tag.to_ascii_lowercase(), value.to_owned()))
}

/// `(ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT))`: letters, digits and inner hyphens.
fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// Trims WSP (space and tab), the only whitespace the grammar allows.
fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}
