"""The account services: the client they build, error mapping, the locked refresh, connect/disconnect/test."""

import http.server
import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from connectors.errors import AccountUnavailable, ConnectorError, KeapRejected, ReconnectNeeded, TryAgainLater
from connectors.keap.errors import (
    KeapAuthError,
    KeapError,
    KeapThrottled,
    KeapTokenError,
    KeapUnavailable,
    KeapValidationError,
)
from connectors.models import ConnectedAccount
from connectors.services import accounts as svc

pytestmark = pytest.mark.django_db

API = "https://keap.test/crm/rest"
TOKEN_URL = "https://keap.test/token"


@pytest.fixture(autouse=True)
def _keap_urls(settings):
    settings.KEAP_API_BASE_URL = API
    settings.KEAP_TOKEN_URL = TOKEN_URL
    settings.KEAP_HTTP_RETRIES = 0


@pytest.fixture
def account(db):
    from tests.connect.factories import ConnectedAccountFactory

    return ConnectedAccountFactory()


def token_body(access="new-access", refresh="new-refresh", host="xy123.infusionsoft.com"):
    return {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": 86400,
        "refresh_token": refresh,
        "scope": f"full|{host}",
    }


@responses.activate
def test_client_sends_the_stored_access_token_as_bearer(account):
    responses.get(f"{API}/v2/oauth/connect/userinfo", json={"email": "alice@example.com"})
    client = svc.connected_account_client(account=account)
    assert client.get("/v2/oauth/connect/userinfo") == {"email": "alice@example.com"}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer old-access"


@pytest.mark.parametrize(
    "status", [ConnectedAccount.Status.NEEDS_RECONNECT, ConnectedAccount.Status.DISCONNECTED]
)
def test_client_refuses_inactive_accounts(account, status):
    account.status = status
    with pytest.raises(AccountUnavailable):
        svc.connected_account_client(account=account)


def test_clients_of_one_thread_share_connection_pools_that_outlive_each_client(account, settings):
    class Keap(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Keap

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.KEAP_API_BASE_URL = f"http://127.0.0.1:{server.server_port}/crm/rest"
    try:
        first = svc.connected_account_client(account=account)
        first.get("/v2/businessProfile")
        first.close()
        second = svc.connected_account_client(account=account)
        pool = second._adapters["retrying"].poolmanager
        assert first._adapters["retrying"].poolmanager is pool
        [key] = [k for k in pool.pools.keys() if k.key_port == server.server_port]  # noqa: SIM118 (no iter)
        # ... the first client's connection pool is still open for the next one
        second.get("/v2/businessProfile")
        assert pool.pools[key].num_connections == 1  # one connection served both clients
    finally:
        server.shutdown()
    other_thread = []

    def connect_in_another_thread():
        other_thread.append(svc.connected_account_client(account=account))

    thread = threading.Thread(target=connect_in_another_thread)
    thread.start()
    thread.join()
    assert other_thread[0]._adapters["retrying"].poolmanager is not pool  # one pool set per thread


def test_client_refuses_an_account_without_tokens(account):
    account.refresh_token = None
    with pytest.raises(AccountUnavailable):
        svc.connected_account_client(account=account)


@responses.activate
def test_refresh_spends_the_refresh_token_with_basic_auth_and_stores_the_new_pair(account):
    responses.post(TOKEN_URL, json=token_body())
    now = timezone.now()
    fresh = svc.oauth_token_refresh(account=account, now=now)
    sent = responses.calls[0].request
    body = parse_qs(sent.body)
    assert body["grant_type"] == ["refresh_token"]
    assert body["refresh_token"] == ["old-refresh"]
    assert sent.headers["Authorization"].startswith("Basic ")
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token) == ("new-access", "new-refresh")
    assert account.access_token_expires_at == now + timedelta(seconds=86400)
    assert account.refresh_token_issued_at == now
    assert fresh.access_token == "new-access"


@responses.activate
def test_refresh_skips_keap_when_another_worker_already_refreshed(account):
    account.access_token = "someone-elses-fresh-token"
    account.access_token_expires_at = timezone.now() + timedelta(hours=20)
    account.save()
    fresh = svc.oauth_token_refresh(account=account, stale_access_token="old-access")
    assert fresh.access_token == "someone-elses-fresh-token"
    assert len(responses.calls) == 0


@responses.activate
def test_refused_refresh_marks_needs_reconnect_and_keeps_the_tokens(account):
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": "Invalid Refresh Token"}
    )
    with pytest.raises(ReconnectNeeded) as caught:
        svc.oauth_token_refresh(account=account, stale_access_token="old-access")
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert "revoked" in account.last_error and "client secret" in account.last_error
    assert (account.access_token, account.refresh_token) == ("old-access", "old-refresh")
    assert "client secret" in caught.value.message


@responses.activate
def test_token_endpoint_outage_changes_nothing(account):
    responses.post(TOKEN_URL, status=503, body="down")
    with pytest.raises(KeapUnavailable):
        svc.oauth_token_refresh(account=account)
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.refresh_token == "old-refresh"


@responses.activate
def test_client_refreshes_once_on_401_and_retries_with_the_new_token(account):
    responses.get(f"{API}/v2/oauth/connect/userinfo", status=401, json={"fault": {"faultstring": "Invalid"}})
    responses.get(f"{API}/v2/oauth/connect/userinfo", json={"email": "alice@example.com"})
    responses.post(TOKEN_URL, json=token_body())
    message = svc.connected_account_test(account=account)
    assert "alice@example.com" in message
    auths = [c.request.headers.get("Authorization") for c in responses.calls if "userinfo" in c.request.url]
    assert auths == ["Bearer old-access", "Bearer new-access"]
    account.refresh_from_db()
    assert account.refresh_token == "new-refresh"


@responses.activate
def test_client_refreshes_before_expiry(account, settings):
    settings.KEAP_TOKEN_REFRESH_MARGIN = 300
    account.access_token_expires_at = timezone.now() + timedelta(seconds=60)
    account.save()
    responses.post(TOKEN_URL, json=token_body())
    responses.get(f"{API}/v2/oauth/connect/userinfo", json={"email": "alice@example.com"})
    svc.connected_account_test(account=account)
    assert responses.calls[0].request.url == TOKEN_URL
    assert responses.calls[1].request.headers["Authorization"] == "Bearer new-access"


@responses.activate
def test_refused_refresh_during_a_call_surfaces_as_reconnect_needed(account):
    responses.get(f"{API}/v2/oauth/connect/userinfo", status=401, json={"fault": {"faultstring": "expired"}})
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Invalid Refresh Token"}
    )
    with pytest.raises(ReconnectNeeded):
        svc.connected_account_test(account=account)
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert account.refresh_token == "old-refresh"


@pytest.mark.parametrize(
    "raised, expected",
    [
        (KeapThrottled("slow down", retry_after=7), TryAgainLater),
        (KeapUnavailable("down"), TryAgainLater),
        (KeapValidationError("bad", status=400, payload={"details": [{"field": "x"}]}), KeapRejected),
        (KeapError("odd"), ConnectorError),
    ],
)
def test_keap_errors_maps_client_errors(account, raised, expected):
    with pytest.raises(expected) as caught, svc.keap_errors(account=account):
        raise raised
    assert type(caught.value) is expected
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.ACTIVE


def test_keap_errors_rejected_has_no_field_and_keeps_details(account):
    with pytest.raises(KeapRejected) as caught, svc.keap_errors(account=account):
        raise KeapValidationError("bad", status=400, payload={"details": [{"field": "x"}]})
    assert caught.value.field is None
    assert caught.value.extra["details"] == [{"field": "x"}]


@pytest.mark.parametrize("raised", [KeapAuthError("no", status=401), KeapTokenError("no", status=400)])
def test_keap_errors_marks_needs_reconnect_on_auth_failures(account, raised):
    with pytest.raises(ReconnectNeeded), svc.keap_errors(account=account):
        raise raised
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert account.access_token == "old-access"


def test_disconnect_forgets_tokens_and_keeps_the_record(account, staff_user):
    svc.connected_account_disconnect(account=account, performed_by=staff_user)
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.DISCONNECTED
    assert account.access_token is None and account.refresh_token is None
    assert account.app_host == "xy123.infusionsoft.com"
