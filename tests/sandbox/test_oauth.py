"""The sandbox's OAuth 2.0: the browser pages and the token endpoint, over real HTTP."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.sandbox import (
    ALICE,
    BOB,
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    SandboxControl,
    SandboxServer,
    bearer_session,
    connect,
    exchange_code,
    oauth_authorize_redirect,
    oauth_dance,
    refresh_tokens,
)

REDIRECT = "http://127.0.0.1:8000/connect/callback?keep=1"


def authorize_params(**overrides):
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "full",
        "state": "s-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_whole_dance_then_refresh_rotates_and_kills_the_old_refresh_token(sandbox):
    http = requests.Session()
    page = http.get(sandbox.authorize_url, params=authorize_params(state="xyz/+= 1"))
    assert page.url.endswith("/app/oauth/signin")
    assert 'name="username"' in page.text and 'name="password"' in page.text and "Sign in" in page.text

    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa102", state="xyz/+= 1")
    response = exchange_code(sandbox.url, code, REDIRECT)
    assert response.status_code == 200
    first = response.json()
    assert set(first) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert first["token_type"] == "bearer"
    assert first["expires_in"] == 86400
    assert first["scope"] == "full|sa102.infusionsoft.com"

    me = bearer_session(first["access_token"]).get(f"{sandbox.rest_url}/v2/oauth/connect/userinfo").json()
    assert me["email"] == ALICE and me["tenant_id"] == "sa102"

    refreshed = refresh_tokens(sandbox.url, first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "full|sa102.infusionsoft.com"

    again = refresh_tokens(sandbox.url, first["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_request", "error_description": "Invalid Refresh Token"}
    assert refresh_tokens(sandbox.url, second["refresh_token"]).status_code == 200
    assert sandbox.counters()["token_grants"] == {"authorization_code": 1, "refresh_token": 2}


def test_redirect_keeps_state_unchanged_and_the_redirect_uris_own_query(sandbox):
    location = oauth_authorize_redirect(sandbox.url, REDIRECT, BOB, state="a b&c=d")
    query = parse_qs(urlsplit(location).query)
    assert location.startswith("http://127.0.0.1:8000/connect/callback?")
    assert query["state"] == ["a b&c=d"]
    assert query["keep"] == ["1"]
    assert "code" in query


def test_a_user_with_one_keap_app_skips_the_picker_and_the_consent_names_the_app(sandbox):
    http = requests.Session()
    page = http.get(sandbox.authorize_url, params=authorize_params(client_id=OTHER_CLIENT_ID))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    page = http.post(
        f"{sandbox.url}/app/oauth/signin",
        data={"csrf_token": csrf, "username": BOB, "password": "bob-password"},
    )
    assert page.url.endswith("/app/oauth/consent")
    assert "Other Integration" in page.text and "Cedar Yoga" in page.text
    assert ">Allow<" in page.text and ">Deny<" in page.text


def test_the_picker_lists_both_of_alices_accounts_in_order(sandbox):
    http = requests.Session()
    page = http.get(sandbox.authorize_url, params=authorize_params())
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    page = http.post(
        f"{sandbox.url}/app/oauth/signin",
        data={"csrf_token": csrf, "username": ALICE, "password": "alice-password"},
    )
    assert page.url.endswith("/app/oauth/account")
    assert page.text.index("Alpine Bakery") < page.text.index("Bayside Dental")
    assert 'name="app" value="sa101"' in page.text and 'name="app" value="sa102"' in page.text
    assert "Continue" in page.text


def test_wrong_password_shows_an_error_and_no_code(sandbox):
    http = requests.Session()
    page = http.get(sandbox.authorize_url, params=authorize_params())
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    page = http.post(
        f"{sandbox.url}/app/oauth/signin", data={"csrf_token": csrf, "username": ALICE, "password": "wrong"}
    )
    assert page.status_code == 401
    assert "incorrect" in page.text
    assert page.url.endswith("/app/oauth/signin")


def test_deny_redirects_with_access_denied_and_state(sandbox):
    location = oauth_authorize_redirect(sandbox.url, REDIRECT, ALICE, "sa101", state="st", decision="deny")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st"]
    assert "code" not in query


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": None},
        {"client_id": "unknown-client"},
        {"redirect_uri": None},
        {"redirect_uri": "not-a-url"},
        {"response_type": "token"},
        {"response_type": None},
        {"scope": "contacts"},
        {"scope": None},
    ],
)
def test_bad_authorize_requests_get_an_error_page_not_a_redirect(sandbox, overrides):
    response = requests.get(
        sandbox.authorize_url, params=authorize_params(**overrides), allow_redirects=False
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


def test_code_is_single_use(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    assert exchange_code(sandbox.url, code, REDIRECT).status_code == 200
    second = exchange_code(sandbox.url, code, REDIRECT)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_code_expires_after_ten_minutes(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    sandbox.advance_clock(601)
    response = exchange_code(sandbox.url, code, REDIRECT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_redirect_uri_exactly(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    response = exchange_code(sandbox.url, code, REDIRECT.replace("keep=1", "keep=2"))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    stolen = exchange_code(
        sandbox.url, code, REDIRECT, client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET
    )
    assert stolen.status_code == 400
    assert exchange_code(sandbox.url, code, REDIRECT).status_code == 200


def test_wrong_client_secret_is_refused(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    response = exchange_code(sandbox.url, code, REDIRECT, client_secret="wrong")
    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_code_exchange_wants_credentials_in_the_body_not_basic(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    response = requests.post(
        sandbox.token_url,
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_rejects_a_json_body(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    response = requests.post(
        sandbox.token_url,
        json={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_wants_basic_credentials_and_the_right_secret(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    refresh = exchange_code(sandbox.url, code, REDIRECT).json()["refresh_token"]
    in_body = requests.post(
        sandbox.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert in_body.status_code in (400, 401)
    wrong = refresh_tokens(sandbox.url, refresh, client_secret="wrong")
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_request", "error_description": "Invalid Refresh Token"}
    other = refresh_tokens(sandbox.url, refresh, client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET)
    assert other.status_code == 400
    # Neither mistake spent the token.
    assert refresh_tokens(sandbox.url, refresh).status_code == 200


def test_revoked_app_cannot_refresh(sandbox):
    code = oauth_dance(sandbox.url, REDIRECT, ALICE, "sa101")
    tokens = exchange_code(sandbox.url, code, REDIRECT).json()
    assert sandbox.revoke("sa101") == 2
    assert (
        refresh_tokens(sandbox.url, tokens["refresh_token"]).json()["error_description"]
        == "Invalid Refresh Token"
    )
    api = bearer_session(tokens["access_token"])
    assert api.get(f"{sandbox.rest_url}/v2/businessProfile").status_code == 401


def test_access_token_lifetime_is_configurable():
    with SandboxServer(access_token_ttl=1) as server:
        control = SandboxControl(server.url)
        code = oauth_dance(server.url, REDIRECT, BOB)
        tokens = exchange_code(server.url, code, REDIRECT).json()
        assert tokens["expires_in"] == 1
        api = bearer_session(tokens["access_token"])
        assert api.get(f"{control.rest_url}/v2/businessProfile").status_code == 200
        control.advance_clock(2)
        response = api.get(f"{control.rest_url}/v2/businessProfile")
        assert response.status_code == 401
        assert response.json()["fault"]["detail"]["errorcode"] == "keymanagement.service.access_token_expired"


def test_client_credentials_come_from_the_environment():
    env = {"KEAP_SANDBOX_CLIENT_ID": "env-id", "KEAP_SANDBOX_CLIENT_SECRET": "env-secret"}
    with SandboxServer(env=env) as server:
        assert "client_secret=env-secret" in server.wait_for_output("client_id=env-id")
        code = oauth_dance(server.url, REDIRECT, BOB, client_id="env-id")
        assert (
            exchange_code(
                server.url, code, REDIRECT, client_id="env-id", client_secret="env-secret"
            ).status_code
            == 200
        )


# ---- redirect URI registration -----------------------------------------------------------------

NOT_REGISTERED = "redirect_uri is not registered for this app"


def refused_redirect(url: str, redirect_uri: str, client_id: str = CLIENT_ID) -> bool:
    """True if authorize answers the error page for an unregistered redirect URI (and no redirect)."""
    response = requests.get(
        f"{url}/app/oauth/authorize",
        params=authorize_params(client_id=client_id, redirect_uri=redirect_uri),
        allow_redirects=False,
        timeout=10,
    )
    if response.status_code == 302:
        return False
    assert response.status_code == 400 and "Location" not in response.headers, response.text[:300]
    assert NOT_REGISTERED in response.text
    return True


def test_by_default_any_redirect_uri_is_accepted_and_the_start_up_output_says_so(sandbox, sandbox_server):
    line = sandbox_server.wait_for_output("redirect URIs: any (set KEAP_SANDBOX_REDIRECT_URIS")
    assert line.strip() == "redirect URIs: any (set KEAP_SANDBOX_REDIRECT_URIS to require registered ones)"
    assert not refused_redirect(sandbox.url, "https://anything.example/cb")


def test_registered_redirect_uris_are_matched_exactly_and_can_be_switched_off(sandbox):
    assert sandbox.redirect_uris(CLIENT_ID, [REDIRECT, REDIRECT]) == [REDIRECT]
    assert connect(sandbox.url, redirect_uri=REDIRECT)["access_token"]
    for other in (
        REDIRECT.replace("keep=1", "keep=2"),
        "http://127.0.0.1:8000/connect/callback",
        REDIRECT.replace("http://", "https://"),
        "http://evil.example/connect/callback?keep=1",
    ):
        assert refused_redirect(sandbox.url, other), other
    # Registration is per developer app: the other app still accepts any.
    assert not refused_redirect(sandbox.url, "http://evil.example/cb", client_id=OTHER_CLIENT_ID)

    assert sandbox.redirect_uris(CLIENT_ID, []) == []
    assert not refused_redirect(sandbox.url, "http://evil.example/cb")
    sandbox.redirect_uris(CLIENT_ID, [REDIRECT])
    sandbox.reset()  # back to the start-up registration: any
    assert not refused_redirect(sandbox.url, "http://evil.example/cb")


@pytest.mark.parametrize(
    "body",
    [
        {"client_id": "unknown", "uris": []},
        {"client_id": CLIENT_ID},
        {"client_id": CLIENT_ID, "uris": "http://127.0.0.1/cb"},
        {"client_id": CLIENT_ID, "uris": ["/relative"]},
        {"client_id": CLIENT_ID, "uris": ["http://127.0.0.1/cb#fragment"]},
    ],
)
def test_redirect_uri_registration_refuses_bad_requests(sandbox, body):
    response = requests.post(f"{sandbox.url}/_sandbox/redirect-uris", json=body, timeout=10)
    assert response.status_code == 400
    assert "error" in response.json()


def test_redirect_uris_can_be_registered_from_the_environment():
    second = "http://localhost:8000/connect/callback/"
    env = {"KEAP_SANDBOX_REDIRECT_URIS": f" {REDIRECT} ,{second},"}
    with SandboxServer(env=env) as server:
        server.wait_for_output(f"redirect URIs: {REDIRECT}, {second}")
        assert connect(server.url, BOB, "sb201", redirect_uri=second)["access_token"]
        assert refused_redirect(server.url, "http://localhost:8000/connect/callback")
        assert f"redirect URIs: {REDIRECT}, {second}" in requests.get(server.url + "/", timeout=10).text
        SandboxControl(server.url).reset()  # the start-up registration survives a reset
        assert refused_redirect(server.url, "http://localhost:8000/connect/callback")
        assert not refused_redirect(server.url, REDIRECT)


def test_an_invalid_redirect_uri_in_the_environment_stops_the_start_with_a_message():
    with pytest.raises(RuntimeError, match="KEAP_SANDBOX_REDIRECT_URIS: 'localhost:8000/cb'"):
        SandboxServer(env={"KEAP_SANDBOX_REDIRECT_URIS": "localhost:8000/cb"}).start()
