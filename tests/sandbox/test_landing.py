"""The sandbox's landing page at /: what it is, its credentials, the URLs to configure, the control API."""

import html
import re

import requests

from tests.support.sandbox import (
    APPS,
    CLIENT_ID,
    CLIENT_NAME,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_NAME,
    OTHER_CLIENT_SECRET,
    USER_APPS,
    USERS,
)

CONTROL_ENDPOINTS = [
    "GET /_sandbox/health",
    "POST /_sandbox/reset",
    "POST /_sandbox/seed",
    "POST /_sandbox/faults",
    "DELETE /_sandbox/faults",
    "GET /_sandbox/faults",
    "POST /_sandbox/tokens/expire",
    "POST /_sandbox/tokens/revoke",
    "POST /_sandbox/limits",
    "POST /_sandbox/clock",
    "POST /_sandbox/redirect-uris",
    "GET /_sandbox/counters",
    "GET /_sandbox/requests",
    "GET /_sandbox/contacts",
]


def landing_text(url: str) -> str:
    page = requests.get(url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    return html.unescape(page.text)


def test_the_landing_page_says_what_it_is_and_lists_what_to_configure(sandbox):
    text = landing_text(sandbox.url)
    assert "A local stand-in for Keap: OAuth 2.0 and REST v2" in text
    assert '<div class="brand">Keap</div>' in text  # the sign-in pages' look
    for app, client_id, secret in (
        (CLIENT_NAME, CLIENT_ID, CLIENT_SECRET),
        (OTHER_CLIENT_NAME, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET),
    ):
        row = re.search(rf"<tr><td>{app}</td>.*?</tr>", text, re.S)
        assert row and client_id in row.group(0) and secret in row.group(0), app
    assert "redirect URIs: any (set KEAP_SANDBOX_REDIRECT_URIS to require registered ones)" in text
    for user, password in USERS.items():
        row = re.search(rf"<tr><td><code>{re.escape(user)}</code>.*?</tr>", text, re.S)
        assert row and password in row.group(0), user
        for app in USER_APPS[user]:
            assert app in row.group(0) and APPS[app]["business"] in row.group(0)
            assert APPS[app]["host"] in row.group(0)
    for url in (sandbox.authorize_url, sandbox.token_url, sandbox.rest_url):
        assert f"<code>{url}</code>" in text
    assert f'href="{sandbox.rest_url}/v2/openapi.yml"' in text


def test_the_landing_page_lists_every_control_endpoint_on_one_line_each(sandbox):
    text = landing_text(sandbox.url)
    rows = re.findall(r"<tr><td><code>([A-Z|]+ /_sandbox/\S+)</code></td><td>([^<\n]+)</td></tr>", text)
    assert [endpoint for endpoint, _ in rows] == CONTROL_ENDPOINTS
    assert all(summary.strip() for _, summary in rows)


def test_the_landing_page_shows_the_current_redirect_uri_registration(sandbox):
    sandbox.redirect_uris(CLIENT_ID, ["http://127.0.0.1:8000/connect/callback/"])
    assert "redirect URIs: http://127.0.0.1:8000/connect/callback/" in landing_text(sandbox.url)
