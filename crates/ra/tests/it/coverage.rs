//! Property tests of the coverage rule: generated names, depths, cases and look-alikes.

use castellan_ra::coverage::{WILDCARD_DEPTH, covers};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

fn base() -> impl Strategy<Value = String> {
    (
        label(),
        prop::sample::select(vec!["com", "ac.uk", "org", "example"]),
    )
        .prop_map(|(l, tld)| format!("{l}.{tld}"))
}

proptest! {
    #[test]
    fn an_exact_entry_covers_only_itself(base in base(), sub in label()) {
        prop_assert!(covers(&base, &base));
        let dotted = format!("{base}.");
        prop_assert!(covers(&base.to_uppercase(), &dotted));
        let below = format!("{sub}.{base}");
        prop_assert!(!covers(&base, &below));
    }

    #[test]
    fn a_wildcard_reaches_exactly_three_labels_down(
        base in base(),
        labels in prop::collection::vec(label(), 1..6),
    ) {
        let name = format!("{}.{base}", labels.join("."));
        let entry = format!("*.{base}");
        prop_assert_eq!(covers(&entry, &name), labels.len() <= WILDCARD_DEPTH);
        prop_assert_eq!(covers(&entry.to_uppercase(), &name.to_uppercase()), labels.len() <= WILDCARD_DEPTH);
        prop_assert!(!covers(&entry, &base));
    }

    #[test]
    fn names_that_merely_end_alike_are_not_covered(
        base in base(),
        prefix in "[a-z]{1,5}",
        sub in label(),
    ) {
        let look_alike = format!("{prefix}{base}");
        prop_assert!(!covers(&base, &look_alike));
        let wildcard = format!("*.{base}");
        let below = format!("{sub}.{look_alike}");
        prop_assert!(!covers(&wildcard, &below));
    }
}
