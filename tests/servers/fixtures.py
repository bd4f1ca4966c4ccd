"""Session fixtures starting the real sign-on servers (tests/servers), once per test run and
only when a test asks for one. Where a server cannot be started the test is skipped, unless
REQUIRE_SSO_SERVERS is set (CI sets it): then it fails."""
import contextlib
import os

import pytest

from tests import servers


def _start(starter, tmp_path_factory, name):
    stack = contextlib.ExitStack()
    try:
        server = stack.enter_context(starter(tmp_path_factory.mktemp(name)))
    except servers.ServerUnavailable as exc:
        stack.close()
        if os.environ.get("REQUIRE_SSO_SERVERS"):
            pytest.fail(f"the {name} test server did not start: {exc}")
        pytest.skip(f"{name} test server unavailable: {exc}")
    return stack, server


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory):
    stack, server = _start(servers.start_ldap, tmp_path_factory, "ldap")
    with stack:
        yield server


@pytest.fixture(scope="session")
def cas_server(tmp_path_factory):
    stack, server = _start(servers.start_cas, tmp_path_factory, "cas")
    with stack:
        yield server


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory):
    stack, server = _start(servers.start_oidc, tmp_path_factory, "oidc")
    with stack:
        yield server
