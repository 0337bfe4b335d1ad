//! Where relying parties find a CA: the URLs that go into every certificate.
//!
//! `pki_base_url` is plain HTTP (relying parties fetch CRLs, OCSP and CA certificates
//! without TLS); the paths are fixed so certificates issued today stay valid if the
//! service moves behind a proxy.

use castellan_pki::issue::CaUrls;

/// The AIA and CDP URLs of the CA with `slug`.
pub fn ca_urls(pki_base_url: &str, slug: &str) -> CaUrls {
    let base = pki_base_url.trim_end_matches('/');
    CaUrls {
        ocsp: format!("{base}/ocsp"),
        ca_issuers: format!("{base}/ca/{slug}.crt"),
        crl: crl_shard_url(base, slug, 0),
    }
}

/// The URL of CRL shard `shard` of the CA with `slug`: shard 0 is the CA's unsharded CRL
/// (the URL in [`ca_urls`]), shards from 1 are `/crl/<slug>/<shard>.crl`.
pub fn crl_shard_url(pki_base_url: &str, slug: &str, shard: i64) -> String {
    let base = pki_base_url.trim_end_matches('/');
    if shard == 0 {
        format!("{base}/crl/{slug}.crl")
    } else {
        format!("{base}/crl/{slug}/{shard}.crl")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_under_the_base() {
        let urls = super::ca_urls("http://pki.camford.ac.uk/", "rsa-issuing-1");
        assert_eq!(urls.ocsp, "http://pki.camford.ac.uk/ocsp");
        assert_eq!(
            urls.ca_issuers,
            "http://pki.camford.ac.uk/ca/rsa-issuing-1.crt"
        );
        assert_eq!(urls.crl, "http://pki.camford.ac.uk/crl/rsa-issuing-1.crl");
        assert_eq!(
            super::crl_shard_url("http://pki.camford.ac.uk", "rsa-issuing-1", 0),
            urls.crl
        );
        assert_eq!(
            super::crl_shard_url("http://pki.camford.ac.uk/", "rsa-issuing-1", 7),
            "http://pki.camford.ac.uk/crl/rsa-issuing-1/7.crl"
        );
    }
}
