#!/usr/bin/env python3
"""Drives Castellan's SSL profiles with the public SCM python client's `SSL` class,
unchanged: `types` (the profiles by name, with ids and terms, as `enroll` looks them up),
`custom_fields` (what `enroll` validates against), `enroll` (auto-approved for the MRAO),
`collect` in every text format with the right number of certificates, `get`, a refused
order, `renew`, `replace` and `revoke`.

Environment: CASTELLAN_API_BASE, CASTELLAN_LOGIN, CASTELLAN_PASSWORD, CASTELLAN_CUSTOMER_URI,
CASTELLAN_EXPECT_ORG (a validated organisation with *.camford.ac.uk delegated and validated)
CASTELLAN_CSR_FILE and CASTELLAN_CSR2_FILE (two CSRs for portal.camford.ac.uk), and
CASTELLAN_RAO_LOGIN / CASTELLAN_RAO_PASSWORD (an RAO of the organisation without
auto-approval).
"""

import sys

try:
    import requests
    from cert_manager import SSL, Organization
    from cert_manager._certificates import PendingError
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import CheckFailed, check, client, env, is_int, passed, run


def check_pending(base, customer_uri, login, password, org_id, csr):
    """An RAO without auto-approval: the order waits, and collecting it in any of the nine
    formats raises the client's PendingError. Prints the order id for the caller to approve."""
    ssl = SSL(client(base, customer_uri, login, password))
    enrolled = ssl.enroll(cert_type_name="OV SSL", csr=csr, term=90, org_id=org_id)
    ssl_id = enrolled["sslId"]
    for fmt in SSL.valid_formats:
        try:
            ssl.collect(ssl_id, fmt)
            raise CheckFailed(f"collect {fmt} of a pending order succeeded")
        except PendingError:
            pass
    check(ssl.get(ssl_id).get("status") == "Requested", "the RAO's order is not Requested")
    passed(f"SSL.collect of a pending order raises PendingError in all {len(SSL.valid_formats)} formats")
    print(f"PENDING-SSL-ID: {ssl_id}", flush=True)


def main():
    cm = client(env("CASTELLAN_API_BASE"), env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_LOGIN"),
                env("CASTELLAN_PASSWORD"))
    ssl = SSL(cm)
    types = ssl.types
    check(isinstance(types, dict), f"SSL.types is not a dict by name: {types!r}")
    expected = {
        "OV SSL", "OV Multi-Domain SSL", "Unified Communications Certificate", "Wildcard SSL",
        "EV SSL", "EV Multi-Domain SSL", "IGTF Multi-Domain SSL", "EV Anchor (Validation Only)",
    }
    check(expected <= set(types), f"SSL.types lacks {sorted(expected - set(types))}: {sorted(types)}")
    check("Personal Certificate" not in types, "SSL.types lists an S/MIME profile")
    ov = types["OV SSL"]
    check(is_int(ov.get("id")) and ov.get("terms") == [90, 199], f"OV SSL: {ov!r}")
    passed(f"SSL.types lists the {len(types)} SSL profiles; OV SSL is id {ov['id']}, terms {ov['terms']}")

    fields = ssl.custom_fields
    check(fields == [], f"SSL.custom_fields: {fields!r}")
    passed("SSL.custom_fields -> [] (no custom fields defined)")

    org_id = Organization(cm).find(org_name=env("CASTELLAN_EXPECT_ORG"))[0]["id"]
    with open(env("CASTELLAN_CSR_FILE")) as f:
        csr = f.read()
    enrolled = ssl.enroll(cert_type_name="OV SSL", csr=csr, term=90, org_id=org_id,
                          external_requester="webmaster@camford.ac.uk")
    ssl_id = enrolled.get("sslId")
    check(is_int(ssl_id) and len(enrolled.get("renewId", "")) == 20, f"SSL.enroll -> {enrolled!r}")
    passed(f"SSL.enroll(OV SSL, 90 days) -> sslId {ssl_id} (types -> customFields -> enroll)")

    for fmt in ["x509", "x509CO", "x509IO", "x509IOR", "base64", "pem", "pemco", "pemia"]:
        text = ssl.collect(ssl_id, fmt)
        label = "PKCS7" if fmt == "base64" else "CERTIFICATE"
        check(text.startswith(f"-----BEGIN {label}-----"), f"collect {fmt}: {text[:60]!r}")
        blocks = text.count("-----BEGIN CERTIFICATE-----")
        expected = {"x509": 3, "x509CO": 1, "x509IO": 2, "x509IOR": 2, "base64": 0, "pem": 3,
                    "pemco": 1, "pemia": 2}[fmt]
        check(blocks == expected, f"collect {fmt}: {blocks} certificates, expected {expected}")
    passed("SSL.collect in x509, x509CO, x509IO, x509IOR, base64, pem, pemco, pemia")

    details = ssl.get(ssl_id)
    check(
        details.get("status") == "Issued"
        and details.get("commonName") == "portal.camford.ac.uk"
        and details.get("subjectAlternativeNames") == ["portal.camford.ac.uk", "www.portal.camford.ac.uk"]
        and details.get("externalRequester") == "webmaster@camford.ac.uk"
        and ":" in details.get("serialNumber", ""),
        f"SSL.get -> {details!r}",
    )
    passed(f"SSL.get -> Issued, serial {details['serialNumber']}, names {details['subjectAlternativeNames']}")

    listed = list(ssl.list())
    check(any(c.get("sslId") == ssl_id for c in listed), f"SSL.list() lacks {ssl_id}: {listed!r}")
    found = list(ssl.list(commonName="portal.camford.ac.uk"))
    check([c.get("sslId") for c in found] == [ssl_id], f"SSL.list(commonName=...) -> {found!r}")
    check(ssl.count(status="Issued") == 1, f"SSL.count(status='Issued') -> {ssl.count(status='Issued')}")
    check(ssl.count(status="Revoked") == 0, "SSL.count(status='Revoked') is not 0")
    passed("SSL.list (paged), SSL.list(commonName=...), SSL.count(status=...) (HEAD)")

    renewed = ssl.renew(ssl_id)
    new_id = renewed.get("sslId")
    check(is_int(new_id) and new_id != ssl_id, f"SSL.renew -> {renewed!r}")
    again = ssl.get(new_id)
    check(
        again.get("status") == "Issued"
        and again.get("subjectAlternativeNames") == details["subjectAlternativeNames"]
        and again.get("serialNumber") != details["serialNumber"],
        f"the renewal: {again!r}",
    )
    passed(f"SSL.renew({ssl_id}) -> new sslId {new_id}, same names, new serial")

    with open(env("CASTELLAN_CSR2_FILE")) as f:
        new_csr = f.read()
    result = ssl.replace(cert_id=new_id, csr=new_csr, common_name="portal.camford.ac.uk",
                         reason="the key was rotated", subject_alt_names=None)
    check(result == {}, f"SSL.replace -> {result!r}")
    replaced = ssl.get(new_id)
    check(
        replaced.get("status") == "Issued"
        and replaced.get("serialNumber") not in (again.get("serialNumber"), details.get("serialNumber")),
        f"after replace: {replaced!r}",
    )
    passed(f"SSL.replace({new_id}) -> the same sslId, Issued again with serial {replaced['serialNumber']}")

    try:
        ssl.enroll(cert_type_name="OV Multi-Domain SSL", csr=csr, term=90, org_id=org_id,
                   subject_alt_names=["www.oxbridge.ac.uk"])
        raise CheckFailed("an order for a foreign domain was accepted")
    except requests.HTTPError as exc:
        body = exc.response.json()
        check(
            exc.response.status_code == 400
            and body.get("description", "").startswith(
                "You cannot order certificates for the following or additional domains:"),
            f"foreign domain -> {exc.response.status_code} {body!r}",
        )
    passed("SSL.enroll (multi-domain) with a name not delegated -> 400 'You cannot order "
           "certificates for the following or additional domains: ...'")

    ssl.revoke(ssl_id, reason="the server was decommissioned")
    check(ssl.get(ssl_id).get("status") == "Revoked", "SSL.revoke did not revoke")
    try:
        ssl.collect(ssl_id, "x509CO")
        raise CheckFailed("a revoked certificate was collected")
    except PendingError:
        pass
    passed("SSL.revoke -> Revoked; collecting it fails")

    check_pending(env("CASTELLAN_API_BASE"), env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_RAO_LOGIN"),
                  env("CASTELLAN_RAO_PASSWORD"), org_id, csr)
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main)
