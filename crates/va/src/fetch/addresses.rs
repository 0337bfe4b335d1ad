//! Which addresses validation may contact.
//!
//! A validation request goes wherever the DNS of the domain being validated says, and the
//! domain's owner controls that DNS. Without this rule anyone could make Castellan send
//! requests into the network it runs in (its database, an admin interface, a cloud metadata
//! service): server-side request forgery. So validation contacts only public unicast
//! addresses, unless the operator turns that off (tests, or a private deployment whose domains
//! really are on an internal network).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The rule that keeps validation away from `ip`, or `None` for a public unicast address.
pub fn non_public_rule(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_rule(v4),
        IpAddr::V6(v6) => v6_rule(v6),
    }
}

fn v4_rule(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if a == 0 {
        Some("this network, 0.0.0.0/8")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private, RFC 1918")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space, 100.64.0.0/10 (CGNAT)")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a >= 240 {
        Some("reserved, 240.0.0.0/4")
    } else {
        None
    }
}

fn v6_rule(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if let Some(v4) = ip.to_ipv4_mapped() {
        // ::ffff:10.0.0.1 reaches 10.0.0.1.
        v4_rule(v4)
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique local, fc00::/7")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}
