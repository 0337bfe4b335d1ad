#!/usr/bin/env python3
"""Drives a running Castellan with the public SCM python client, unchanged.

The point is compatibility: the `cert_manager` library (PyPI `cert-manager`, pinned in
scripts/test) is what SCM customers already run, so its classes are used exactly as they
ship. Covered: Organization (list, find by org and by department), Admin (list, create,
get, update, delete), Report (activity) and the authentication failures that every
constructor surfaces (wrong password, unknown login, unknown customer URI).

Environment:
  CASTELLAN_API_BASE      the API base URL, e.g. http://127.0.0.1:8443/api
  CASTELLAN_LOGIN         an MRAO administrator's login ...
  CASTELLAN_PASSWORD      ... and current password (already changed from the initial one)
  CASTELLAN_CUSTOMER_URI  the customer URI (the `customerUri` header)
  CASTELLAN_EXPECT_ORG    an organisation that exists ...
  CASTELLAN_EXPECT_DEPT   ... and one of its departments

Prints one `ok - ...` line per check. Exit status: 0 when every check passed, 1 on the
first failed check (with the reason), 2 when the environment or the server is unusable.
"""

import json
import os
import secrets
import sys

try:
    import requests
    from cert_manager import Admin, Organization, Report
    from cert_manager.admin import AdminCreationResponseError
except ImportError as exc:
    print(
        f"error: cannot import the SCM client ({exc}); run scripts/test, which installs the "
        "pinned cert-manager into .test-tools/venv, and use that venv's python",
        file=sys.stderr,
    )
    sys.exit(2)

from scmcheck import CheckFailed, check, client, die, env, http_error, is_int, json_body, passed, run


def check_organizations(cm, org_name, dept_name):
    orgs = Organization(cm)
    passed("Organization(client) constructs (GET /organization/v1)")

    listed = orgs.all()
    check(isinstance(listed, list), f"Organization.all() is not a list: {listed!r}")
    org = next((o for o in listed if o.get("name") == org_name), None)
    check(org is not None, f"Organization.all() lacks {org_name!r}: {listed!r}")
    depts = org.get("departments")
    check(isinstance(depts, list), f"{org_name!r} has no 'departments' list: {org!r}")
    check(
        any(d.get("name") == dept_name for d in depts),
        f"{org_name!r} does not list department {dept_name!r}: {org!r}",
    )
    passed(f"Organization.all() lists {org_name!r} with {dept_name!r} in its departments")

    found = orgs.find(org_name=org_name)
    check(len(found) == 1, f"find(org_name={org_name!r}) returned {found!r}")
    org_id = found[0].get("id")
    check(is_int(org_id), f"organisation id is not an integer: {found[0]!r}")
    passed(f"Organization.find(org_name=...) -> id {org_id}")

    found = orgs.find(dept_name=dept_name)
    check(len(found) == 1, f"find(dept_name={dept_name!r}) returned {found!r}")
    dept_id = found[0].get("id")
    check(is_int(dept_id), f"department id is not an integer: {found[0]!r}")
    check(dept_id != org_id, f"department and organisation share the id {org_id}")
    passed(f"Organization.find(dept_name=...) -> id {dept_id}, distinct from the organisation")

    found = orgs.find(org_name=org_name, dept_name=dept_name)
    check(
        len(found) == 1 and found[0].get("id") == dept_id,
        f"find(org_name={org_name!r}, dept_name={dept_name!r}) returned {found!r}",
    )
    passed("Organization.find(org_name=..., dept_name=...) -> the same department")
    return org_id


def check_admins(cm, own_login, org_id):
    """Runs an admin through its whole life; returns its login for the activity report."""
    admins = Admin(cm)
    passed("Admin(client) constructs (GET /admin/v1)")

    listed = admins.all()
    check(isinstance(listed, list), f"Admin.all() is not a list: {listed!r}")
    check(
        any(a.get("login") == own_login for a in listed),
        f"Admin.all() lacks the logged-in admin {own_login!r}: {listed!r}",
    )
    passed(f"Admin.all() lists {own_login!r}")

    # Unique per run so that the script can be run again against the same server.
    login = f"rao-ssl-{secrets.token_hex(4)}"
    email = f"{login}@camford.example"
    credentials = [{"role": "RAO_SSL", "orgId": org_id}]
    created = admins.create(
        login=login,
        email=email,
        forename="Ada",
        surname="Lovelace",
        password=secrets.token_urlsafe(24),
        credentials=credentials,
        type="STANDARD",
    )
    admin_id = created.get("id")
    check(is_int(admin_id), f"Admin.create returned {created!r}")
    passed(f"Admin.create(...) -> 201, Location names id {admin_id}")

    details = admins.get(admin_id)
    check(details.get("id") == admin_id, f"Admin.get({admin_id}) has another id: {details!r}")
    check(details.get("login") == login, f"Admin.get({admin_id}) login: {details!r}")
    check(details.get("email") == email, f"Admin.get({admin_id}) email: {details!r}")
    check(details.get("type") == "STANDARD", f"Admin.get({admin_id}) type: {details!r}")
    creds = details.get("credentials")
    check(isinstance(creds, list), f"Admin.get({admin_id}) has no credentials list: {details!r}")
    check(
        any(c.get("role") == "RAO_SSL" and c.get("orgId") == org_id for c in creds),
        f"Admin.get({admin_id}) credentials lack RAO_SSL on {org_id}: {creds!r}",
    )
    passed(f"Admin.get({admin_id}) -> login, email, type and credentials as created")

    check(
        any(a.get("login") == login for a in admins.all(force=True)),
        f"Admin.all(force=True) lacks the new admin {login!r}",
    )
    passed(f"Admin.all(force=True) lists {login!r}")

    check(admins.update(admin_id, forename="Augusta") is True, "Admin.update returned a failure")
    details = admins.get(admin_id)
    check(details.get("forename") == "Augusta", f"update did not change the forename: {details!r}")
    check(details.get("surname") == "Lovelace", f"update changed the surname: {details!r}")
    check(details.get("login") == login, f"update changed the login: {details!r}")
    passed(f"Admin.update({admin_id}, forename=...) -> Admin.get shows the change, nothing else")

    check(admins.delete(admin_id) is True, "Admin.delete returned a failure")
    passed(f"Admin.delete({admin_id}) -> 2xx")

    response = http_error(lambda: admins.get(admin_id))
    check(
        response.status_code == 404,
        f"Admin.get of a deleted admin -> {response.status_code}, expected 404: {response.text!r}",
    )
    body = json_body(response)
    check(
        isinstance(body, dict) and is_int(body.get("code")) and isinstance(body.get("description"), str),
        f"404 body is not an SCM error {{code, description}}: {body!r}",
    )
    passed(f"Admin.get({admin_id}) after delete -> 404 {body!r}")
    return login


def check_activity_report(cm, login):
    report = Report(cm).get_activity()
    check(isinstance(report, dict), f"the activity report is not a JSON object: {report!r}")
    check(report.get("statusCode") == 0, f"activity report statusCode: {report.get('statusCode')!r}")
    rows = report.get("reports")
    check(isinstance(rows, list) and rows, f"activity report has no rows: {report!r}")
    passed(f"Report.get_activity() (POST /report/v1/activity) -> {len(rows)} rows")

    mentioning = [row for row in rows if login in json.dumps(row)]
    check(
        mentioning,
        f"no activity row mentions {login!r}; last rows: {json.dumps(rows[-5:], indent=1)}",
    )
    passed(f"the activity report mentions {login!r} in {len(mentioning)} row(s)")


def check_refused(base, customer_uri, login, password):
    # The wrong-password attempts come last: a server may count failed logins against the
    # real admin, and nothing after them needs that admin.
    cases = [
        ("a wrong password", customer_uri, login, password + "-wrong", -16),
        ("an unknown login", customer_uri, f"nobody-{secrets.token_hex(4)}", password, -16),
        ("an unknown customer URI", f"no-such-customer-{secrets.token_hex(4)}", login, password, -410),
    ]
    for what, uri, user, secret, code in cases:
        for endpoint in (Organization, Admin):
            bad = client(base, uri, user, secret)
            response = http_error(lambda: endpoint(bad))
            check(
                response.status_code == 401,
                f"{endpoint.__name__}(client with {what}) -> {response.status_code}, expected 401: "
                f"{response.text!r}",
            )
            content_type = response.headers.get("Content-Type", "")
            check(
                content_type.startswith("application/json"),
                f"{endpoint.__name__}(client with {what}): Content-Type {content_type!r}",
            )
            body = json_body(response)
            check(
                isinstance(body, dict) and body.get("code") == code,
                f"{endpoint.__name__}(client with {what}): body {body!r}, expected code {code}",
            )
            if code == -16:
                check(
                    body.get("description") == "Unknown user",
                    f"{endpoint.__name__}(client with {what}): description {body.get('description')!r}, "
                    "expected 'Unknown user'",
                )
            else:
                check(
                    isinstance(body.get("description"), str) and body["description"],
                    f"{endpoint.__name__}(client with {what}): no description in {body!r}",
                )
            passed(f"{endpoint.__name__}(client with {what}) -> HTTPError 401 {body!r}")


def main():
    base = env("CASTELLAN_API_BASE")
    login = env("CASTELLAN_LOGIN")
    password = env("CASTELLAN_PASSWORD")
    customer_uri = env("CASTELLAN_CUSTOMER_URI")
    org_name = env("CASTELLAN_EXPECT_ORG")
    dept_name = env("CASTELLAN_EXPECT_DEPT")

    cm = client(base, customer_uri, login, password)
    org_id = check_organizations(cm, org_name, dept_name)
    new_login = check_admins(cm, login, org_id)
    check_activity_report(cm, new_login)
    check_refused(base, customer_uri, login, password)
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main, AdminCreationResponseError)
