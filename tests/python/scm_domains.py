#!/usr/bin/env python3
"""Drives Castellan's domains with the public SCM python client's `Domain` and
`DomainControlValidation` classes, unchanged. Domain:
create (201 + Location), all, find, count, get, suspend/activate, delegate and remove a
delegation (a DELETE with a JSON body), approve on a delegation that is not requested
(refused), duplicate names (refused with SCM's text) and delete.

Environment: as scm_admin_org.py (CASTELLAN_API_BASE, CASTELLAN_LOGIN, CASTELLAN_PASSWORD,
CASTELLAN_CUSTOMER_URI, CASTELLAN_EXPECT_ORG, CASTELLAN_EXPECT_DEPT), plus
CASTELLAN_DCV_DOMAIN (a domain of the organisation, never validated) and CASTELLAN_DCV_ZONE
(Castellan's DCV zone). DCV: status, CNAME start and submit (before the record exists),
search, and an invalid name.
"""

import os
import secrets
import sys

try:
    import requests
    from cert_manager import Domain, DomainControlValidation, Organization
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import CheckFailed, check, client, die, env, http_error, is_int, json_body, passed, run


def check_domains(cm, org_id, dept_id):
    domains = Domain(cm)
    suffix = secrets.token_hex(3)
    name = f"camford-{suffix}.ac.uk"

    created = domains.create(name, org_id, ["SSL", "SMIME"], description="main domain")
    domain_id = created.get("id")
    check(is_int(domain_id), f"Domain.create returned {created!r}")
    passed(f"Domain.create({name!r}) -> 201, Location names id {domain_id}")

    wildcard = domains.create(f"*.{name}", dept_id, ["SSL"])
    passed(f"Domain.create('*.{name}') for the department -> id {wildcard['id']}")

    try:
        domains.create(name, org_id, ["SSL"])
        raise CheckFailed("a duplicate domain was accepted")
    except ValueError as exc:
        check(str(exc) == "Such domain already exists", f"duplicate -> {exc!r}")
    passed("Domain.create(duplicate) -> ValueError('Such domain already exists')")

    listed = domains.all()
    check(
        any(d.get("id") == domain_id and d.get("name") == name for d in listed),
        f"Domain.all() lacks {name!r}: {listed!r}",
    )
    passed("Domain.all() lists it")

    found = domains.find(name=name)
    check([d.get("id") for d in found] == [domain_id], f"Domain.find(name=...) -> {found!r}")
    count = domains.count(name=name)
    check(count == {"count": 1}, f"Domain.count(name=...) -> {count!r}")
    passed("Domain.find(name=...) and Domain.count(name=...) find exactly it")

    details = domains.get(domain_id)
    check(details.get("name") == name, f"Domain.get -> {details!r}")
    check(details.get("state") == "ACTIVE", f"state of a new domain: {details!r}")
    check(
        details.get("validationStatus") == "NOT_VALIDATED",
        f"a new domain is not validated: {details!r}",
    )
    delegations = details.get("delegations")
    check(
        isinstance(delegations, list)
        and len(delegations) == 1
        and delegations[0].get("orgId") == org_id
        and sorted(delegations[0].get("certTypes", [])) == ["SMIME", "SSL"]
        and delegations[0].get("status") == "ACTIVE",
        f"delegations of {name!r}: {delegations!r}",
    )
    passed("Domain.get -> name, state ACTIVE, NOT_VALIDATED, delegations")

    domains.suspend(domain_id)
    check(domains.get(domain_id).get("state") == "SUSPENDED", "suspend did not suspend")
    domains.activate(domain_id)
    check(domains.get(domain_id).get("state") == "ACTIVE", "activate did not activate")
    passed("Domain.suspend / Domain.activate (PUT without a body)")

    domains.delegate(domain_id, dept_id, ["SSL"])
    delegated = domains.get(domain_id).get("delegations")
    check(
        {"orgId": dept_id, "certTypes": ["SSL"], "status": "ACTIVE"} in delegated,
        f"delegation to the department missing: {delegated!r}",
    )
    domains.remove_delegation(domain_id, dept_id, ["SSL"])
    remaining = domains.get(domain_id).get("delegations")
    check(all(d["orgId"] != dept_id for d in remaining), f"delegation not removed: {remaining!r}")
    passed("Domain.delegate / Domain.remove_delegation (DELETE with a JSON body)")

    response = http_error(lambda: domains.approve_delegation(domain_id, org_id))
    body = json_body(response)
    check(
        response.status_code == 400 and body.get("code") == -705,
        f"approving an active delegation -> {response.status_code} {body!r}",
    )
    passed(f"Domain.approve_delegation of an active delegation -> 400 {body!r}")

    domains.delete(wildcard["id"])
    domains.delete(domain_id)
    response = http_error(lambda: domains.get(domain_id))
    check(response.status_code == 404, f"Domain.get after delete -> {response.status_code}")
    passed("Domain.delete -> gone (404)")
    return name


def check_dcv(cm, domain, zone):
    dcv = DomainControlValidation(cm)
    status = dcv.get_validation_status(domain)
    check(
        status.get("status") == "NOT_VALIDATED" and status.get("orderStatus") == "NOT_INITIATED",
        f"status of a new domain: {status!r}",
    )
    passed(f"DomainControlValidation.get_validation_status({domain!r}) -> {status!r}")

    started = dcv.start_validation_cname(domain)
    host, point = started.get("host", ""), started.get("point", "")
    check(
        host.startswith("_") and host.endswith(f".{domain}.") and len(host) == 1 + 32 + len(domain) + 2,
        f"CNAME host {host!r}",
    )
    check(point.endswith(f".{zone}."), f"CNAME point {point!r} is not under {zone!r}")
    passed(f"start_validation_cname -> host {host}, point {point}")

    submitted = dcv.submit_validation_cname(domain)
    check(
        submitted.get("status") == "NOT_VALIDATED" and submitted.get("orderStatus") == "SUBMITTED",
        f"submit before the record exists: {submitted!r}",
    )
    check("no CNAME" in submitted.get("message", ""), f"the message says why: {submitted!r}")
    passed(f"submit_validation_cname -> {submitted['status']} / {submitted['orderStatus']}")

    status = dcv.get_validation_status(domain)
    check(
        status.get("orderStatus") == "SUBMITTED" and status.get("host") == host
        and status.get("point") == point.rstrip(".") and status.get("nextCheck"),
        f"status after submit: {status!r}",
    )
    passed("get_validation_status shows the order, the record to publish and the next check")

    found = dcv.search(domain=domain)
    check(
        len(found) == 1 and found[0].get("dcvOrderStatus") == "SUBMITTED"
        and found[0].get("dcvStatus") == "NOT_VALIDATED",
        f"DomainControlValidation.search(domain=...) -> {found!r}",
    )
    passed("DomainControlValidation.search(domain=...) finds the order")

    try:
        dcv.start_validation_cname("not a domain")
        raise CheckFailed("an invalid domain was accepted")
    except ValueError as exc:
        check("not" in str(exc).lower(), f"invalid domain -> {exc!r}")
    passed("start_validation_cname('not a domain') -> ValueError with the reason")


def main():
    base = env("CASTELLAN_API_BASE")
    cm = client(base, env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_LOGIN"), env("CASTELLAN_PASSWORD"))
    orgs = Organization(cm)
    org = orgs.find(org_name=env("CASTELLAN_EXPECT_ORG"))[0]
    dept = orgs.find(dept_name=env("CASTELLAN_EXPECT_DEPT"))[0]
    check_domains(cm, org["id"], dept["id"])
    check_dcv(cm, env("CASTELLAN_DCV_DOMAIN"), env("CASTELLAN_DCV_ZONE"))
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main)
