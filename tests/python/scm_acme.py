#!/usr/bin/env python3
"""Drives Castellan's ACME accounts with the public SCM python client's `ACMEAccount` class,
unchanged, in both API versions: create (201 + Location), get (with the EAB credentials),
find / all with the organisation filter and paging, update, add_domains (a delegated domain
added, a foreign one refused), remove_domains, delete; and `GET /acme/v1/server`.

Environment: CASTELLAN_API_BASE, CASTELLAN_LOGIN, CASTELLAN_PASSWORD, CASTELLAN_CUSTOMER_URI,
CASTELLAN_EXPECT_ORG (an organisation with *.camford.ac.uk delegated for SSL).
"""

import re
import sys

try:
    import requests
    from cert_manager import ACMEAccount, Organization
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import check, client, env, is_int, passed, run


def main():
    cm = client(env("CASTELLAN_API_BASE"), env("CASTELLAN_CUSTOMER_URI"), env("CASTELLAN_LOGIN"),
                env("CASTELLAN_PASSWORD"))
    org_id = Organization(cm).find(org_name=env("CASTELLAN_EXPECT_ORG"))[0]["id"]

    servers = cm.get(f"{env('CASTELLAN_API_BASE')}/acme/v1/server").json()
    names = [s["name"] for s in servers]
    check(names == ["OV ACME Server", "EV ACME Server"], f"GET /acme/v1/server: {servers!r}")
    ov = servers[0]
    check(ov["url"].endswith("/acme/ov/directory") and ov["certValidationType"] == "OV"
          and is_int(ov["singleProductId"]) and is_int(ov["multiProductId"]), f"the OV server: {ov!r}")
    passed(f"GET /acme/v1/server lists {names}; OV's directory is {ov['url']}")

    for version in ("v1", "v2"):
        acme = ACMEAccount(cm, api_version=version)
        created = acme.create(f"web servers {version}", "OV ACME Server", org_id)
        acme_id = created["id"]
        check(is_int(acme_id), f"ACMEAccount.create -> {created!r}")
        account = acme.get(acme_id)
        check(account["name"] == f"web servers {version}" and account["organizationId"] == org_id
              and account["status"] == "pending" and account["certValidationType"] == "OV",
              f"ACMEAccount.get: {account!r}")
        check(re.fullmatch(r"[A-Za-z0-9_-]{22}", account["macId"]) is not None
              and re.fullmatch(r"[A-Za-z0-9_-]{43}", account["macKey"]) is not None
              and account["accountId"] == account["macId"], f"EAB credentials: {account!r}")
        passed(f"ACMEAccount({version}).create -> id {acme_id}; get shows macId {account['macId']} "
               "and a 43-character macKey while no client has used it")

        found = acme.find(org_id, name=f"web servers {version}")
        check([a["id"] for a in found] == [acme_id], f"ACMEAccount.find(name=...) -> {found!r}")
        mine = [a["id"] for a in acme.all(org_id, force=True)]
        check(acme_id in mine, f"ACMEAccount.all({org_id}) -> {mine!r}")
        passed(f"ACMEAccount({version}).find(name=...) and .all(org_id) find it")

        check(acme.update(acme_id, f"web farm {version}"), "ACMEAccount.update failed")
        check(acme.get(acme_id)["name"] == f"web farm {version}", "the rename did not stick")
        passed(f"ACMEAccount({version}).update renames it")

        result = acme.add_domains(acme_id, ["portal.camford.ac.uk", "oxbridge.ac.uk"])
        check(result.get("notAddedDomains") == ["oxbridge.ac.uk"], f"add_domains -> {result!r}")
        domains = [d["name"] for d in acme.get(acme_id)["domains"]]
        check(domains == ["portal.camford.ac.uk"], f"the account's domains: {domains!r}")
        result = acme.remove_domains(acme_id, ["portal.camford.ac.uk"])
        check(result == {}, f"remove_domains -> {result!r}")
        result = acme.remove_domains(acme_id, ["portal.camford.ac.uk"])
        check(result.get("notRemovedDomains") == ["portal.camford.ac.uk"], f"again -> {result!r}")
        passed(f"ACMEAccount({version}).add_domains adds the delegated name and names the "
               "foreign one in notAddedDomains; remove_domains likewise")

        check(acme.delete(acme_id), "ACMEAccount.delete failed")
        try:
            acme.get(acme_id)
            raise AssertionError("a deleted account is still there")
        except requests.HTTPError as exc:
            check(exc.response.status_code == 404, f"get after delete -> {exc.response.status_code}")
        passed(f"ACMEAccount({version}).delete -> gone (404)")

    try:
        ACMEAccount(cm).create("x", "No Such Server", org_id)
        raise AssertionError("an unknown server was accepted")
    except requests.HTTPError as exc:
        body = exc.response.json()
        check(exc.response.status_code == 400 and body["description"].startswith(
            "invalid acmeServer: 'No Such Server' is not an ACME server here; choose one of:"),
            f"unknown server -> {exc.response.status_code} {body!r}")
    passed("ACMEAccount.create with an unknown server -> 400 naming the servers")
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main)
