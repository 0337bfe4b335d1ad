//! The organisations, the domains with their delegations, and the validations kept in memory
//! on SQLite (`docs/adr/0025-the-directory-kept-in-memory.md`).
//!
//! Every certificate order reads them: the organisation tree (scope, and the ordering
//! organisation's details), and a name check the Domains entries and DCVs that bear on its
//! names, once when an ACME order is placed and again when it is finalized. They change when
//! an administrator edits organisations or domains and when a DCV moves on, which is rare
//! next to orders; on SQLite each read is a read transaction on a connection whose page cache
//! the last commit emptied.
//!
//! Each table group is read whole and kept until one of its rows changes (`kept.rs`: exact
//! by generation), a generation each, so a DCV check retires the DCVs only.

use crate::kept::{Snapshot, Watch};
use crate::{DcvRecord, DomainRecord, OrganizationRecord};

/// The copies.
pub(crate) struct DirectoryCache {
    /// Every organisation and department, by id.
    pub(crate) organizations: Snapshot<Vec<OrganizationRecord>>,
    /// Every domain with its delegations, by name.
    pub(crate) domains: Snapshot<Vec<DomainRecord>>,
    /// Every validation state, by domain.
    pub(crate) dcvs: Snapshot<Vec<DcvRecord>>,
}

impl Default for DirectoryCache {
    fn default() -> Self {
        DirectoryCache {
            organizations: Snapshot::new(&["organizations"]),
            domains: Snapshot::new(&["domains", "domain_delegations"]),
            dcvs: Snapshot::new(&["dcv"]),
        }
    }
}

impl DirectoryCache {
    /// The generation of each table group.
    pub(crate) fn watches(&self) -> [&Watch; 3] {
        [
            self.organizations.watch(),
            self.domains.watch(),
            self.dcvs.watch(),
        ]
    }

    /// (reads answered from memory, reads that went to the database), all three together.
    pub(crate) fn counts(&self) -> (u64, u64) {
        self.watches()
            .iter()
            .map(|w| w.counts())
            .fold((0, 0), |(h, m), (wh, wm)| (h + wh, m + wm))
    }
}
