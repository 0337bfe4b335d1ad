#!/usr/bin/env python3
"""Drives Castellan's client certificates with the public SCM python client's `SMIME` class,
unchanged: enroll (the person added on the way, found afterwards with `Person.find`), collect
(PKCS#7, the default format), list and list_by_email, renew, replace (the old certificate
revoked), revoke, collect of a revoked one (`RevokedError`, code -192), revoke_by_email, and
refusals with their codes. Prints `SMIME-ID: n` for a certificate left issued, which the
calling test verifies with openssl and pkilint.

Environment: as scm_admin_org.py, plus CASTELLAN_CSR_FILE and CASTELLAN_CSR2_FILE (two PEM
CSRs made by the openssl CLI).
"""

import re
import secrets
import sys

try:
    from cert_manager import SMIME, Organization, Person
    from cert_manager._helpers import RevokedError
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import check, client, env, http_error, json_body, passed, run


def read(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def main():
    base = env("CASTELLAN_API_BASE")
    cm = client(base, env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_LOGIN"), env("CASTELLAN_PASSWORD"))
    org_id = Organization(cm).find(org_name=env("CASTELLAN_EXPECT_ORG"))[0]["id"]
    csr, csr2 = read(env("CASTELLAN_CSR_FILE")), read(env("CASTELLAN_CSR2_FILE"))
    smime = SMIME(cm)
    tag = secrets.token_hex(3)
    email = f"grace.hopper.{tag}@camford.ac.uk"

    enrolled = smime.enroll(cert_type_name="Personal Certificate", csr=csr, email=email,
                            first_name="Grace", last_name="Hopper", term=365, org_id=org_id)
    check(set(enrolled) == {"orderNumber", "backendCertId"}, f"SMIME.enroll -> {enrolled!r}")
    first = enrolled["backendCertId"]
    check(isinstance(first, str) and first == str(enrolled["orderNumber"]), f"SMIME.enroll -> {enrolled!r}")
    person = Person(cm).find(email)
    check(isinstance(person.get("personId"), int), f"Person.find after enroll -> {person!r}")
    passed("SMIME.enroll -> {orderNumber, backendCertId}; the person was added")

    p7 = smime.collect(first)
    check(p7.startswith("-----BEGIN PKCS7-----") and p7.rstrip().endswith("-----END PKCS7-----"),
          f"SMIME.collect -> {p7[:80]!r}")
    passed("SMIME.collect -> PKCS#7, PEM (the default format)")

    rows = [r for r in smime.list() if r["backendCertId"] == first]
    check(len(rows) == 1, f"SMIME.list has the certificate once: {rows!r}")
    row = rows[0]
    check(row["state"] == "issued" and row["orderNumber"] == int(first), f"list row: {row!r}")
    check("CN=Grace Hopper" in row["certificateDetails"]["subject"], f"list row subject: {row!r}")
    check(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["expires"] or ""), f"list row expires: {row!r}")
    by_email = smime.list_by_email(email=email.upper())
    check([r["backendCertId"] for r in by_email] == [first], f"SMIME.list_by_email -> {by_email!r}")
    passed("SMIME.list and list_by_email (e-mail in capitals) -> the certificate, state 'issued'")

    renewed = smime.renew(order_num=first)
    check(set(renewed) == {"orderNumber", "backendCertId"} and renewed["backendCertId"] != first,
          f"SMIME.renew -> {renewed!r}")
    second = renewed["backendCertId"]
    passed("SMIME.renew(order) -> a new order's identifiers")

    check(smime.replace(cert_id=second, csr=csr2, reason="new laptop") == {}, "SMIME.replace")
    states = {r["backendCertId"]: r["state"] for r in smime.list_by_email(email=email)}
    check(len(states) == 3 and states[second] == "revoked", f"after replace: {states!r}")
    third = max(states, key=int)
    check(states[third] == "issued", f"the replacement is issued: {states!r}")
    passed("SMIME.replace -> 204; the old certificate revoked, the new one issued")

    check(smime.revoke(first, reason="left the department") == {}, "SMIME.revoke")
    try:
        smime.collect(first)
        check(False, "collect of a revoked certificate succeeded")
    except RevokedError:
        pass
    passed("SMIME.revoke -> 204; SMIME.collect -> RevokedError (-192)")

    check(smime.revoke_by_email(email, reason="left the university") == {}, "SMIME.revoke_by_email")
    states = {r["backendCertId"]: r["state"] for r in smime.list_by_email(email=email)}
    check(set(states.values()) == {"revoked"}, f"after revoke_by_email: {states!r}")
    response = http_error(lambda: smime.revoke_by_email(email, reason="again"))
    check(response.status_code == 400 and json_body(response) == {
        "code": -102, "description": f"{email} has no issued client certificates to revoke"},
        f"revoke_by_email again -> {response.status_code} {response.text!r}")
    response = http_error(lambda: smime.revoke(first, reason="again"))
    check(response.status_code == 400 and json_body(response) == {
        "code": -159, "description": "Your certificate already revoked"},
        f"revoke again -> {response.status_code} {response.text!r}")
    passed("SMIME.revoke_by_email -> 204, every certificate revoked; repeats refused (-102, -159)")

    # Refusals: a mailbox outside the organisation's domains; an SSL profile's id.
    response = http_error(lambda: smime.enroll(
        cert_type_name="Personal Certificate", csr=csr, email=f"grace.{tag}@oxbridge.ac.uk",
        first_name="Grace", last_name="Hopper", term=365, org_id=org_id))
    body = json_body(response)
    check(response.status_code == 400 and body["code"] == -1137
          and "oxbridge.ac.uk: no domain covers it" in body["description"],
          f"foreign mailbox -> {response.status_code} {body!r}")
    ssl_type = next(t["id"] for t in json_body(cm.get(f"{base}/ssl/v1/types")) if t["name"] == "OV SSL")
    response = http_error(lambda: cm.post(f"{base}/smime/v1/enroll", data={
        "orgId": org_id, "csr": csr, "certType": ssl_type, "term": 365, "email": email,
        "firstName": "Grace", "lastName": "Hopper"}))
    body = json_body(response)
    check(response.status_code == 400 and body["code"] == -1601
          and body["description"].startswith("invalid certType: 'OV SSL' is not a client certificate profile"),
          f"SSL profile -> {response.status_code} {body!r}")
    check(smime.list_by_email(email=f"grace.{tag}@oxbridge.ac.uk") == [], "nothing stored for the refusal")
    passed("SMIME.enroll refused: a mailbox not delegated (-1137), an SSL profile (-1601)")

    # One left issued, for openssl and pkilint.
    kept = smime.enroll(cert_type_name="Personal Certificate", csr=csr2,
                        email=f"alan.turing.{tag}@camford.ac.uk", first_name="Alan",
                        last_name="Turing", term=730, org_id=org_id)
    print(f"SMIME-ID: {kept['backendCertId']}", flush=True)
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main, RevokedError)
