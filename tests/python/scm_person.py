#!/usr/bin/env python3
"""Drives Castellan's persons with the public SCM python client's `Person` class, unchanged:
create (201 + Location -> {"personId"}), find by e-mail ({"personId"}, and 404 with code -105
for an unknown one), get, update (the client's stray e-mail key ignored, the e-mail kept),
list with a filter, a refused person (SCM's limits, named), a duplicate e-mail, and delete
(200, then 404 -105). Then `SMIME.types` (the client certificate profiles and their terms,
`useSecondaryOrgName` for the IGTF ones) and `SMIME.custom_fields`.

Environment: as scm_admin_org.py (CASTELLAN_API_BASE, CASTELLAN_LOGIN, CASTELLAN_PASSWORD,
CASTELLAN_CUSTOMER_URI, CASTELLAN_EXPECT_ORG, CASTELLAN_EXPECT_DEPT).
"""

import secrets
import sys

try:
    import requests
    from cert_manager import SMIME, Organization, Person
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import check, client, env, http_error, json_body, passed, run


def check_persons(cm, org_id, dept_id):
    persons = Person(cm)
    tag = secrets.token_hex(3)
    email = f"ada.lovelace.{tag}@camford.ac.uk"

    created = persons.create(
        first_name="Ada", middle_name="King", last_name="Lovelace", email=email,
        validation_type="STANDARD", org_id=dept_id, phone="+44 1223 000000",
        secondary_emails=[f"ada.{tag}@physics.camford.ac.uk"], eppn=f"ada{tag}@camford.ac.uk",
    )
    person_id = created.get("personId")
    check(isinstance(person_id, str) and person_id.isdigit(), f"Person.create -> {created!r}")
    passed(f"Person.create -> 201, Location names person {person_id}")

    found = persons.find(email.upper())
    check(found == {"personId": int(person_id)}, f"Person.find({email.upper()!r}) -> {found!r}")
    passed("Person.find(e-mail in capitals) -> {'personId': ...}")

    response = http_error(lambda: persons.find(f"nobody.{tag}@camford.ac.uk"))
    body = json_body(response)
    check(response.status_code == 404, f"unknown e-mail -> {response.status_code}")
    check(body == {"code": -105, "description": f"Person with e-mail: nobody.{tag}@camford.ac.uk was not found"},
          f"unknown e-mail -> {body!r}")
    passed("Person.find(unknown) -> 404 {code: -105}")

    person = persons.get(person_id)
    for key, expected in [
        ("id", int(person_id)), ("firstName", "Ada"), ("middleName", "King"), ("lastName", "Lovelace"),
        ("email", email), ("organizationId", dept_id), ("validationType", "STANDARD"),
        ("phone", "+44 1223 000000"), ("secondaryEmails", [f"ada.{tag}@physics.camford.ac.uk"]),
        ("eppn", f"ada{tag}@camford.ac.uk"), ("createdBy", env("CASTELLAN_LOGIN")),
    ]:
        check(person.get(key) == expected, f"Person.get {key} = {person.get(key)!r}, not {expected!r}")
    passed("Person.get -> every field as created")

    # The client's update sends the e-mail under a stray key: the e-mail stays.
    persons.update(person_id=person_id, first_name="Augusta Ada", last_name="Lovelace",
                   email=f"changed.{tag}@camford.ac.uk", validation_type="HIGH", org_id=org_id,
                   common_name="Ada Lovelace")
    person = persons.get(person_id)
    check(person["firstName"] == "Augusta Ada", f"after update: {person!r}")
    check(person["validationType"] == "HIGH" and person["organizationId"] == org_id, f"after update: {person!r}")
    check(person["commonName"] == "Ada Lovelace", f"after update: {person!r}")
    check(person["email"] == email, f"the e-mail changed: {person!r}")
    check(person["middleName"] == "King", f"an absent field changed: {person!r}")
    passed("Person.update -> fields changed, the e-mail kept, absent fields unchanged")

    listed = list(persons.list(name="augusta"))
    check([p["id"] for p in listed] == [int(person_id)], f"Person.list(name='augusta') -> {listed!r}")
    passed("Person.list(name=...) -> the person")

    response = http_error(lambda: persons.create(
        first_name="Bob", last_name="", email=f"bob.{tag}@camford.ac.uk",
        validation_type="STANDARD", org_id=org_id))
    body = json_body(response)
    check(response.status_code == 400 and body == {"code": -1601, "description": "invalid lastName: the last name must not be empty"},
          f"empty last name -> {response.status_code} {body!r}")
    response = http_error(lambda: persons.create(
        first_name="Bob", last_name="Smith", email=f"bob.{tag}@camford.ac.uk", phone="call me",
        validation_type="STANDARD", org_id=org_id))
    body = json_body(response)
    check(response.status_code == 400 and body["description"].startswith("invalid phone: 'call me' is not a phone number"),
          f"bad phone -> {response.status_code} {body!r}")
    response = http_error(lambda: persons.create(
        first_name="Ada", last_name="Again", email=email.upper(), validation_type="STANDARD", org_id=org_id))
    body = json_body(response)
    check(response.status_code == 400 and body["description"] == f"a person with the e-mail {email.upper()} exists already (person {person_id})",
          f"duplicate -> {response.status_code} {body!r}")
    passed("Person.create refused: empty last name, a bad phone, a duplicate e-mail (any case)")

    persons.delete(person_id=person_id)
    response = http_error(lambda: persons.get(person_id))
    check(response.status_code == 404 and json_body(response) == {"code": -105, "description": f"Person with ID: {person_id} was not found"},
          f"after delete -> {response.status_code} {response.text!r}")
    passed("Person.delete -> 200; Person.get -> 404 {code: -105}")


def check_smime_types(cm):
    smime = SMIME(cm)
    types = smime.types
    check(sorted(types) == ["IGTF-Classic-Robot Email", "IGTF-MICS-Personal",
                            "IGTF-MICS-Robot Personal", "Personal Certificate"],
          f"SMIME.types -> {sorted(types)!r}")
    check(types["Personal Certificate"]["terms"] == [365, 730], f"Personal terms: {types['Personal Certificate']!r}")
    check(all(t["terms"] == [365] for n, t in types.items() if n.startswith("IGTF")), f"IGTF terms: {types!r}")
    raw = json_body(cm.get(f"{env('CASTELLAN_API_BASE')}/smime/v1/types"))
    check(all(t["useSecondaryOrgName"] == t["name"].startswith("IGTF") for t in raw),
          f"useSecondaryOrgName is true for the IGTF profiles only: {raw!r}")
    check(smime.custom_fields == [], f"SMIME.custom_fields -> {smime.custom_fields!r}")
    passed("SMIME.types -> the four client certificate profiles with their terms; no custom fields")


def main():
    base = env("CASTELLAN_API_BASE")
    cm = client(base, env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_LOGIN"), env("CASTELLAN_PASSWORD"))
    orgs = Organization(cm)
    org = orgs.find(org_name=env("CASTELLAN_EXPECT_ORG"))[0]
    dept = orgs.find(dept_name=env("CASTELLAN_EXPECT_DEPT"))[0]
    check_persons(cm, org["id"], dept["id"])
    check_smime_types(cm)
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main)
