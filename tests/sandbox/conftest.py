import pytest

from tests.support.sandbox import ALICE, bearer_session, connect

# `sandbox_server` and `sandbox` come from tests.support.fixtures (pytest_plugins in tests/conftest.py).


@pytest.fixture
def tokens(sandbox):
    """Alice connected to sa101 through the KeapConnect developer app: the token response."""
    return connect(sandbox.url, ALICE, "sa101")


@pytest.fixture
def api(sandbox, tokens):
    """A session with sa101's bearer token; `api.v2` is the REST v2 base URL."""
    http = bearer_session(tokens["access_token"])
    http.v2 = f"{sandbox.rest_url}/v2"
    yield http
    http.close()
