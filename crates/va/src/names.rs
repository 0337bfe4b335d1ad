//! Domain names as the VA compares and shows them: lower case, no trailing dot.
//!
//! DNS names compare case-insensitively and `example.com.` is `example.com`; administrators
//! type both forms, and resolvers answer in either. Normalising once, here, keeps every
//! comparison and every message in the same form.

use hickory_resolver::proto::rr::Name;

use crate::error::{Error, Result};

/// `name` lower-cased, without surrounding whitespace or a trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// A DNS name (already in normalised form) as shown to people.
pub(crate) fn show(name: &Name) -> String {
    normalize(&name.to_ascii())
}

/// `name` parsed as a fully qualified DNS name, so the resolver never appends a search
/// domain from the system configuration: validation asks about exactly the name given.
pub(crate) fn fqdn(name: &str) -> Result<Name> {
    let shown = normalize(name);
    if shown.is_empty() {
        return Err(Error::InvalidName {
            name: name.to_owned(),
            reason: "the name is empty".to_owned(),
        });
    }
    let mut parsed = Name::from_utf8(&shown).map_err(|e| Error::InvalidName {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// The parent of a normalised name (`a.b.c` → `b.c`), or `None` for a single label: CAA
/// climbing stops below the root.
pub(crate) fn parent(name: &str) -> Option<&str> {
    name.split_once('.')
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty())
}
