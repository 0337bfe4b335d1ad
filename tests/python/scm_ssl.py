#!/usr/bin/env python3
"""Drives Castellan's SSL profiles with the public SCM python client's `SSL` class,
unchanged: `types` (the profiles by name, with ids and terms, as `enroll` looks them up) and
`custom_fields` (what `enroll` validates against).

Environment: CASTELLAN_API_BASE, CASTELLAN_LOGIN, CASTELLAN_PASSWORD, CASTELLAN_CUSTOMER_URI.
"""

import sys

try:
    from cert_manager import SSL
except ImportError as exc:
    print(f"error: cannot import the SCM client ({exc}); run scripts/test", file=sys.stderr)
    sys.exit(2)

from scmcheck import check, client, env, is_int, passed, run


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
    print("all checks passed", flush=True)


if __name__ == "__main__":
    run(main)
