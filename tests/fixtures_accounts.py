"""Fixtures that connect Keap accounts through the real connect wizard against the real sandbox.

Registered in tests/conftest.py. Our side runs through Django's test client; Keap's side (sign in,
pick the account, allow) runs over real HTTP against the sandbox process.

- `keap_settings`: points every KEAP_* URL at the sandbox; returns the `sandbox` control.
- `sandbox_keap_app`: the KeapApp holding the sandbox's seeded client id and secret.
- `keap_connect`: a function that walks the whole wizard and returns the ConnectedAccount.
- `connected_account`: alice@example.com's "Alpine Bakery" (sa101), connected.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from connectors.models import ConnectedAccount, KeapApp
from tests.support import sandbox as sb

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def keap_settings(settings, sandbox):
    """Settings pointed at the sandbox (authorize, token and REST URLs). Returns the sandbox control."""
    settings.KEAP_AUTHORIZE_URL = sandbox.url + "/app/oauth/authorize"
    settings.KEAP_TOKEN_URL = sandbox.url + "/token"
    settings.KEAP_API_BASE_URL = sandbox.url + "/crm/rest"
    settings.KEAP_REDIRECT_URI = ""  # built from the request: http://testserver/connect/callback/
    return sandbox


@pytest.fixture
def sandbox_keap_app(db, staff_user) -> KeapApp:
    return KeapApp.objects.create(
        name="Sandbox app", client_id=sb.CLIENT_ID, client_secret=sb.CLIENT_SECRET, created_by=staff_user
    )


def keap_side(
    authorize_url: str, *, user: str, app: str | None, decision: str = "allow", password=None
) -> str:
    """Walk Keap's pages from our authorize URL as a person would; return where Keap sends them back."""
    http = requests.Session()
    base = urlsplit(authorize_url)._replace(path="", query="").geturl()
    try:
        page = http.get(authorize_url, timeout=10)
        assert page.status_code == 200, page.text[:300]
        page = http.post(
            f"{base}/app/oauth/signin",
            data={"csrf_token": _csrf(page), "username": user, "password": password or sb.USERS[user]},
            timeout=10,
        )
        assert page.status_code == 200, page.text[:300]
        if page.url.endswith("/app/oauth/account"):
            page = http.post(
                f"{base}/app/oauth/account", data={"csrf_token": _csrf(page), "app": app}, timeout=10
            )
            assert page.status_code == 200, page.text[:300]
        answer = http.post(
            f"{base}/app/oauth/consent",
            data={"csrf_token": _csrf(page), "decision": decision},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text[:300]
        return answer.headers["Location"]
    finally:
        http.close()


def start_flow(client, keap_app: KeapApp, account: ConnectedAccount | None = None) -> str:
    """POST our sign-in step; return the Keap authorize URL we were redirected to."""
    data = {"account": account.pk} if account else {}
    response = client.post(reverse("connectors:connect_signin", args=[keap_app.pk]), data)
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def callback_path(location: str) -> str:
    """Keap's redirect back to us, as a path + query for the test client."""
    parts = urlsplit(location)
    assert parts.path == reverse("connectors:connect_callback"), location
    return f"{parts.path}?{parts.query}"


def callback_params(location: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def keap_connect(keap_settings, sandbox_keap_app, staff_client):
    """`keap_connect(user=..., app=..., account=None, client=None, keap_app=None) -> ConnectedAccount`.

    Walks: sign-in step (POST) -> sandbox sign in -> pick `app` -> allow -> our callback.
    """

    def connect(
        *, user: str = sb.ALICE, app: str = "sa101", account=None, client=None, keap_app=None
    ) -> ConnectedAccount:
        client = client or staff_client
        keap_app = keap_app or sandbox_keap_app
        location = keap_side(start_flow(client, keap_app, account), user=user, app=app)
        response = client.get(callback_path(location))
        assert response.status_code == 302, response.content[:500]
        return ConnectedAccount.objects.get(keap_app=keap_app, app_host=sb.APPS[app]["host"])

    return connect


@pytest.fixture
def connected_account(keap_connect) -> ConnectedAccount:
    """alice@example.com's Keap app sa101 ("Alpine Bakery"), connected through the sandbox app."""
    return keap_connect(user=sb.ALICE, app="sa101")


def _csrf(page) -> str:
    match = CSRF_RE.search(page.text)
    assert match, f"no form at {page.url}: {page.text[:300]}"
    return match.group(1)
