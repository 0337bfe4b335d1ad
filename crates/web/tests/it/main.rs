//! The HTTP front doors in process: every SCM endpoint against every kind of caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scm_access;
