//! Which names a domain entry covers — the one rule every front door uses before anything
//! is issued for a name.
//!
//! `example.com` covers exactly `example.com`. `*.example.com` covers names one to
//! [`WILDCARD_DEPTH`] labels below `example.com` (`a.b.c.example.com` yes,
//! `a.b.c.d.example.com` no: that needs `*.b.c.d.example.com`), including wildcard names
//! (`*.a.example.com`), but not `example.com` itself. Names are compared after
//! normalisation: lower case, IDNA A-labels, no trailing dot.

use castellan_pki::names::normalize_dns_name;

/// How many labels below its base a wildcard domain entry reaches.
pub const WILDCARD_DEPTH: usize = 3;

/// Whether the domain entry `entry` covers `name`; either may be un-normalised. A name
/// or entry that is not a DNS name covers nothing.
pub fn covers(entry: &str, name: &str) -> bool {
    match (normalize_dns_name(entry), normalize_dns_name(name)) {
        (Ok(entry), Ok(name)) => covers_normalized(&entry, &name),
        _ => false,
    }
}

/// [`covers`] for names already normalised.
pub fn covers_normalized(entry: &str, name: &str) -> bool {
    match entry.strip_prefix("*.") {
        None => entry == name,
        Some(base) => match name.strip_suffix(base).and_then(|p| p.strip_suffix('.')) {
            Some(prefix) if !prefix.is_empty() => {
                let labels: Vec<&str> = prefix.split('.').collect();
                labels.len() <= WILDCARD_DEPTH && labels.iter().all(|l| !l.is_empty())
            }
            _ => false,
        },
    }
}

/// Every Domains entry that can cover `name` (normalised): the name itself, and a wildcard
/// entry over each of its parents up to [`WILDCARD_DEPTH`] labels up. A name check reads
/// only these entries, not the whole table.
pub fn covering_entries(name: &str) -> Vec<String> {
    let labels: Vec<&str> = name.split('.').collect();
    let mut out = vec![name.to_owned()];
    for up in 1..=WILDCARD_DEPTH.min(labels.len().saturating_sub(1)) {
        let entry = format!("*.{}", labels[up..].join("."));
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

/// The domain whose control a DCV for `entry` proves: the entry without its `*.`.
pub fn dcv_name(entry: &str) -> &str {
    entry.strip_prefix("*.").unwrap_or(entry)
}

/// `name` without `*.` and every ancestor with at least two labels: a validated
/// ancestor vouches for the names below it (BR 3.2.2.4's Authorization Domain Name).
pub fn dcv_candidates(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut current = dcv_name(name);
    loop {
        out.push(current);
        match current.split_once('.') {
            Some((_, rest)) if rest.contains('.') => current = rest,
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_examples() {
        assert!(covers("example.com", "example.com"));
        assert!(!covers("example.com", "www.example.com"));
        assert!(covers("*.example.com", "www.example.com"));
        assert!(covers("*.example.com", "a.b.c.example.com"));
        assert!(!covers("*.example.com", "a.b.c.d.example.com"));
        assert!(covers("*.b.c.d.example.com", "a.b.c.d.example.com"));
        assert!(covers("*.internal.example.com", "x.y.internal.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(covers("*.example.com", "*.a.example.com"));
    }

    #[test]
    fn covering_entries_are_every_entry_that_covers() {
        let entries = [
            "example.com",
            "*.example.com",
            "*.com",
            "www.example.com",
            "*.b.c.d.example.com",
            "*.internal.example.com",
            "*.a.example.com",
            "a.b.c.d.example.com",
            "*.c.d.example.com",
        ];
        for name in [
            "example.com",
            "www.example.com",
            "a.b.c.example.com",
            "a.b.c.d.example.com",
            "x.y.internal.example.com",
            "*.a.example.com",
            "*.example.com",
        ] {
            let candidates = covering_entries(name);
            for entry in entries {
                assert_eq!(
                    covers_normalized(entry, name),
                    candidates.iter().any(|c| c == entry),
                    "{entry} over {name}: candidates {candidates:?}"
                );
            }
        }
    }

    #[test]
    fn look_alike_names_are_not_covered() {
        assert!(!covers("example.com", "badexample.com"));
        assert!(!covers("*.example.com", "www.badexample.com"));
        assert!(!covers("*.example.com", "example.com.evil.org"));
        assert!(!covers("example.com", "example.co"));
    }

    #[test]
    fn case_trailing_dots_and_idna_do_not_matter() {
        assert!(covers("Example.COM.", "example.com"));
        assert!(covers("*.EXAMPLE.com", "WWW.example.com."));
        assert!(covers("bücher.example", "xn--bcher-kva.example"));
        assert!(covers("*.xn--bcher-kva.example", "www.BÜCHER.example"));
        assert!(!covers("not a name", "not a name"));
    }

    #[test]
    fn dcv_candidates_climb_to_two_labels() {
        assert_eq!(
            dcv_candidates("*.a.b.example.com"),
            ["a.b.example.com", "b.example.com", "example.com"]
        );
        assert_eq!(dcv_candidates("example.com"), ["example.com"]);
    }
}
