"""Shared helpers of the scripts that drive Castellan with the SCM python client."""

import os
import sys

try:
    import requests
    from cert_manager import Client
except ImportError as exc:
    print(
        f"error: cannot import the SCM client ({exc}); run scripts/test, which installs the "
        "pinned cert-manager into .test-tools/venv, and use that venv's python",
        file=sys.stderr,
    )
    sys.exit(2)


def die(message, status):
    print(message, file=sys.stderr, flush=True)
    sys.exit(status)


class CheckFailed(Exception):
    """A check that did not hold; the message says what was expected and what came."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def passed(message):
    print(f"ok - {message}", flush=True)


def env(name):
    value = os.environ.get(name)
    if not value:
        die(f"error: environment variable {name} is not set", 2)
    return value


def is_int(value):
    # bool is an int subclass in python; an id of `true` is not an id.
    return isinstance(value, int) and not isinstance(value, bool)


def client(base, customer_uri, login, password):
    return Client(base_url=base, login_uri=customer_uri, username=login, password=password)


def http_error(call):
    """Runs `call`, which must fail with requests.HTTPError; returns that error's response."""
    try:
        call()
    except requests.HTTPError as exc:
        return exc.response
    raise CheckFailed("expected an HTTP error, but the call succeeded")


def json_body(response):
    try:
        return response.json()
    except ValueError as exc:
        raise CheckFailed(
            f"{response.request.method} {response.url} -> {response.status_code}: body is not "
            f"JSON ({exc}): {response.text!r}"
        ) from exc


def run(main, *handled):
    """Runs `main`, turning failures into the exit statuses the scripts promise: 1 for a
    failed check (or an exception in `handled`, the library's own error types), 2 when the
    server cannot be reached."""
    try:
        main()
    except CheckFailed as exc:
        die(f"FAIL: {exc}", 1)
    except requests.HTTPError as exc:
        response = exc.response
        die(
            f"FAIL: unexpected HTTP error: {response.request.method} {response.url} -> "
            f"{response.status_code} {response.text!r}",
            1,
        )
    except requests.ConnectionError as exc:
        die(f"error: cannot reach Castellan at {os.environ.get('CASTELLAN_API_BASE')}: {exc}", 2)
    except handled as exc:
        die(f"FAIL: {type(exc).__name__}: {exc}", 1)
    except ValueError as exc:
        # The library turns a 400 into ValueError(description); a non-JSON success body is a
        # ValueError too (requests.JSONDecodeError).
        die(f"FAIL: {type(exc).__name__}: {exc}", 1)
