"""KeapClient's token handling, with HTTP stubbed at the boundary."""

import http.server
import threading
import time

import pytest
import responses

from connectors.keap.client import KeapClient, environment_settings
from connectors.keap.errors import KeapAuthError, KeapThrottled, KeapUnavailable

API = "http://127.0.0.1:9/crm/rest"  # plain HTTP on loopback, as the sandbox speaks
URL = f"{API}/v2/oauth/connect/userinfo"
FAULT = {"fault": {"faultstring": "Access Token expired"}}


def make_client(refresher=None, expires_at=None, now=1_000_000.0):
    return KeapClient(
        api_base_url=API,
        token={"access_token": "old", "expires_at": expires_at},
        refresher=refresher,
        retries=0,
        refresh_margin=300,
        clock=lambda: now,
    )


class Refresher:
    def __init__(self):
        self.stale = []

    def __call__(self, stale):
        self.stale.append(stale["access_token"])
        return {"access_token": f"new{len(self.stale)}", "expires_at": 2_000_000.0}


@responses.activate
def test_plain_http_on_loopback_works_without_an_earlier_oauth_call():
    responses.get(URL, json={"email": "a@example.com"})
    assert make_client().get("oauth/connect/userinfo") == {"email": "a@example.com"}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer old"
    assert "old" not in responses.calls[0].request.url


@responses.activate
def test_refreshes_before_the_call_when_the_token_expires_within_the_margin():
    refresher = Refresher()
    responses.get(URL, json={})
    make_client(refresher, expires_at=1_000_000.0 + 299).get(URL)
    assert refresher.stale == ["old"]
    assert responses.calls[0].request.headers["Authorization"] == "Bearer new1"


@responses.activate
def test_does_not_refresh_a_token_outside_the_margin():
    refresher = Refresher()
    responses.get(URL, json={})
    make_client(refresher, expires_at=1_000_000.0 + 301).get(URL)
    assert refresher.stale == []


@responses.activate
def test_on_401_refreshes_once_and_retries_once_then_gives_up():
    refresher = Refresher()
    responses.get(URL, status=401, json=FAULT)
    client = make_client(refresher)
    with pytest.raises(KeapAuthError, match="Access Token expired"):
        client.get(URL)
    assert refresher.stale == ["old"]
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer old", "Bearer new1"]


@responses.activate
def test_without_a_refresher_a_401_is_an_auth_error_at_once():
    responses.get(URL, status=401, json=FAULT)
    with pytest.raises(KeapAuthError):
        make_client().get(URL)
    assert len(responses.calls) == 1


def test_a_read_timeout_says_keap_did_not_answer_and_may_have_applied_a_write():
    """Not "could not be reached": the request reached Keap, which may have saved it."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(1)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = KeapClient(
        api_base_url=f"http://127.0.0.1:{server.server_port}/crm/rest",
        token={"access_token": "t"},
        timeout=0.2,
    )
    try:
        with pytest.raises(KeapUnavailable) as caught:
            client.post("/v2/contacts", json={}, idempotent=True)
    finally:
        server.shutdown()
    assert (
        caught.value.message
        == "Keap did not answer within 0.2 seconds. It may still have applied the request."
    )


@pytest.fixture
def fresh_environment(monkeypatch):
    """The client reads the environment once per process: forget what was read, before and after."""
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    environment_settings.cache_clear()
    yield monkeypatch
    environment_settings.cache_clear()


@pytest.fixture
def proxy():
    """An HTTP proxy that answers every request itself and records the absolute URLs it was asked for."""
    asked = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"via": "proxy"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()


def test_calls_go_through_the_environment_proxy_read_once(fresh_environment, proxy):
    proxy_url, asked = proxy
    fresh_environment.setenv("HTTP_PROXY", proxy_url)
    fresh_environment.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/keap-ca.pem")
    client = make_client()
    assert client.get("/v2/oauth/connect/userinfo") == {"via": "proxy"}
    assert asked == [URL]  # the absolute URL: sent to the proxy, not to Keap's host
    assert client._session("retrying").verify == "/etc/ssl/keap-ca.pem"
    fresh_environment.delenv("HTTP_PROXY")  # read once per process: a change needs a restart
    assert make_client().get("/v2/oauth/connect/userinfo") == {"via": "proxy"}


def test_no_proxy_sends_calls_to_keap_directly(fresh_environment, proxy):
    proxy_url, asked = proxy
    fresh_environment.setenv("HTTP_PROXY", proxy_url)
    fresh_environment.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(KeapUnavailable):  # nothing listens on port 9: the call went direct
        make_client().get("/v2/oauth/connect/userinfo")
    assert asked == []


@pytest.fixture
def throttling_keap():
    """A Keap that answers 429 with the queued Retry-After values, then 200; counts the calls."""
    waits, calls = [], []

    class Keap(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(time.monotonic())
            if waits:
                self.send_response(429)
                self.send_header("Retry-After", waits.pop(0))
                body = b'{"message": "Too Many Requests"}'
            else:
                self.send_response(200)
                body = b'{"ok": true}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/crm/rest", waits, calls
    server.shutdown()


def test_a_short_retry_after_is_waited_for_and_a_long_one_reaches_the_caller_at_once(throttling_keap):
    api, waits, calls = throttling_keap
    client = KeapClient(api_base_url=api, token={"access_token": "t"}, retries=3, backoff_factor=0)
    waits.append("1")
    assert client.get("/v2/tags") == {"ok": True}
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9  # waited as asked, then retried

    calls.clear()
    waits.append("120")
    started = time.monotonic()
    with pytest.raises(KeapThrottled) as raised:
        client.get("/v2/tags")
    assert len(calls) == 1 and time.monotonic() - started < 2  # not retried: the caller hears at once
    assert raised.value.retry_after == 120
