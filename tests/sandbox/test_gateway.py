"""The gateway's behaviour: 401s, throttling and its headers, injected faults, counters, control access."""

import json
import socket
import time

import pytest
import requests

from tests.support.sandbox import (
    BOB,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    SandboxServer,
    bearer_session,
    connect,
)

THROTTLE_HEADERS = (
    "x-keap-product-throttle-limit",
    "x-keap-product-throttle-available",
    "x-keap-product-throttle-used",
    "x-keap-product-quota-limit",
    "x-keap-product-quota-available",
    "x-keap-product-quota-used",
    "x-keap-product-quota-expiry-time",
)
NEW_CONTACT = {"email_addresses": [{"email": "gw@example.com", "field": "EMAIL1"}]}


def errorcode(response):
    return response.json()["fault"]["detail"]["errorcode"]


# ---- 401 ----------------------------------------------------------------------------------------


def test_missing_or_invalid_token_is_401_with_the_fault_envelope(sandbox, tokens):
    url = f"{sandbox.rest_url}/v2/contacts"
    for response in (
        requests.get(url),
        requests.get(url, headers={"Authorization": "Bearer nope"}),
        requests.get(url, params={"access_token": tokens["access_token"]}),  # never as a query parameter
        requests.get(url, headers={"Authorization": f"Basic {tokens['access_token']}"}),
    ):
        assert response.status_code == 401
        assert errorcode(response) == "keymanagement.service.invalid_access_token"
        assert response.json()["fault"]["faultstring"]


def test_expired_token_is_401_access_token_expired(sandbox, tokens, api):
    assert api.get(f"{api.v2}/businessProfile").status_code == 200
    assert sandbox.expire(access_token=tokens["access_token"]) == 1
    response = api.get(f"{api.v2}/businessProfile")
    assert response.status_code == 401
    assert response.json() == {
        "fault": {
            "faultstring": "Access Token expired",
            "detail": {"errorcode": "keymanagement.service.access_token_expired"},
        }
    }


def test_expire_by_app_leaves_other_apps_alone(sandbox, api):
    bob = bearer_session(connect(sandbox.url, BOB, "sb201")["access_token"])
    sandbox.expire(app="sa101")
    assert api.get(f"{api.v2}/businessProfile").status_code == 401
    assert bob.get(f"{api.v2}/businessProfile").status_code == 200


def test_token_expires_by_its_lifetime(sandbox, api):
    sandbox.advance_clock(86401)
    assert errorcode(api.get(f"{api.v2}/businessProfile")) == "keymanagement.service.access_token_expired"


# ---- throttling ---------------------------------------------------------------------------------


def test_every_api_response_carries_the_throttle_headers(api):
    for response in (
        api.get(f"{api.v2}/businessProfile"),
        api.get(f"{api.v2}/contacts/999999"),
        api.post(f"{api.v2}/contacts", json={"given_name": "x"}),
    ):
        for header in THROTTLE_HEADERS:
            assert header in response.headers, (response.status_code, header)
    assert response.headers["x-keap-product-throttle-limit"] == "1500"
    assert response.headers["x-keap-product-quota-limit"] == "150000"
    assert int(response.headers["x-keap-product-throttle-used"]) == 3
    assert int(response.headers["x-keap-product-throttle-available"]) == 1497


def test_spike_limit_answers_429_without_retry_after(sandbox, api):
    sandbox.limits(per_second=3)
    statuses = [api.get(f"{api.v2}/tags") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    rejected = statuses[-1]
    assert errorcode(rejected) == "policies.ratelimit.SpikeArrestViolation"
    assert "Retry-After" not in rejected.headers
    assert "x-keap-product-throttle-available" in rejected.headers
    time.sleep(1.05)
    assert api.get(f"{api.v2}/tags").status_code == 200


def test_minute_limit_is_per_client_app_across_its_keap_apps(sandbox, api):
    sandbox.limits(per_minute=4)
    bob = bearer_session(connect(sandbox.url, BOB, "sb201")["access_token"])
    other = bearer_session(
        connect(sandbox.url, BOB, "sb201", client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET)[
            "access_token"
        ]
    )
    assert [api.get(f"{api.v2}/tags").status_code for _ in range(2)] == [200, 200]
    assert [bob.get(f"{api.v2}/tags").status_code for _ in range(2)] == [200, 200]
    rejected = bob.get(f"{api.v2}/tags")
    assert rejected.status_code == 429
    assert errorcode(rejected) == "policies.ratelimit.QuotaViolation"
    assert rejected.headers["x-keap-product-throttle-available"] == "0"
    assert api.get(f"{api.v2}/tags").status_code == 429
    assert other.get(f"{api.v2}/tags").status_code == 200  # another client id has its own allowance


def test_daily_quota(sandbox, api):
    sandbox.limits(per_day=2)
    assert [api.get(f"{api.v2}/tags").status_code for _ in range(3)] == [200, 200, 429]


def test_tenant_limit_uses_keaps_application_body(sandbox, api):
    sandbox.limits(tenant_per_minute=1)
    assert api.get(f"{api.v2}/tags").status_code == 200
    rejected = api.get(f"{api.v2}/tags")
    assert rejected.status_code == 429
    assert rejected.json() == {"code": "429", "message": "Quota Exceeded", "status": "Request Throttled"}


def test_reset_restores_the_default_limits(sandbox, api):
    sandbox.limits(per_minute=1)
    api.get(f"{api.v2}/tags")
    assert api.get(f"{api.v2}/tags").status_code == 429
    sandbox.reset()
    fresh = bearer_session(connect(sandbox.url)["access_token"])
    assert fresh.get(f"{api.v2}/tags").headers["x-keap-product-throttle-limit"] == "1500"


# ---- faults -------------------------------------------------------------------------------------


def test_fault_answers_the_next_n_calls_then_stops(sandbox, api):
    sandbox.fault("/crm/rest/v2/contacts", 503, count=2, method="POST")
    assert api.get(f"{api.v2}/contacts").status_code == 200  # other method: untouched
    first = api.post(f"{api.v2}/contacts", json=NEW_CONTACT)
    assert first.status_code == 503
    assert first.json() == {"code": 503, "message": "Service Unavailable", "status": "Service Unavailable"}
    assert api.post(f"{api.v2}/contacts", json=NEW_CONTACT).status_code == 503
    assert api.post(f"{api.v2}/contacts", json=NEW_CONTACT).status_code == 201
    assert (
        len([c for c in sandbox.contacts("sa101") if c["email_addresses"][0]["email"] == "gw@example.com"])
        == 1
    )


def test_fault_with_body_headers_and_prefix(sandbox, api):
    sandbox.fault(
        "/crm/rest/v2/contacts*",
        429,
        body={"code": "429", "message": "Quota Exceeded", "status": "Request Throttled"},
        headers={"Retry-After": "2"},
    )
    response = api.get(f"{api.v2}/contacts/1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["message"] == "Quota Exceeded"
    assert api.get(f"{api.v2}/contacts/1").status_code == 200


def test_fault_default_401_is_the_expired_envelope(sandbox, api):
    sandbox.fault("/crm/rest/v2/businessProfile", 401)
    assert errorcode(api.get(f"{api.v2}/businessProfile")) == "keymanagement.service.access_token_expired"


def test_fault_delay(sandbox, api):
    sandbox.fault("/crm/rest/v2/tags", delay_ms=300)
    started = time.perf_counter()
    assert api.get(f"{api.v2}/tags").status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    api.get(f"{api.v2}/tags")
    assert time.perf_counter() - started < 0.3


def test_faults_on_the_token_endpoint_and_clearing(sandbox):
    sandbox.fault("/token", 500, count=None)
    assert requests.post(sandbox.token_url, data={"grant_type": "refresh_token"}).status_code == 500
    assert requests.post(sandbox.token_url, data={"grant_type": "refresh_token"}).status_code == 500
    sandbox.clear_faults()
    assert requests.post(sandbox.token_url, data={"grant_type": "refresh_token"}).status_code == 400


# ---- counters and recorded requests -------------------------------------------------------------


def test_counters_count_api_calls_by_path_and_status(sandbox, api):
    api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=NEW_CONTACT)
    api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=NEW_CONTACT)
    api.get(f"{api.v2}/contacts/999999")
    sandbox.contacts("sa101")  # control calls are not counted
    counters = sandbox.counters()
    assert counters["requests"]["POST /crm/rest/v2/contacts"] == {"201": 1, "200": 1}
    assert counters["requests"]["GET /crm/rest/v2/contacts/999999"] == {"404": 1}
    assert counters["requests"]["POST /token"] == {"200": 1}
    assert counters["token_grants"] == {"authorization_code": 1, "refresh_token": 0}
    assert counters["total"] == sum(sum(v.values()) for v in counters["requests"].values())
    assert not any(key.startswith(("GET /_sandbox", "POST /_sandbox")) for key in counters["requests"])


def test_recorded_requests_hold_what_keap_received_but_no_secrets(sandbox, tokens, api):
    api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=NEW_CONTACT)
    (recorded,) = sandbox.requests(path="/crm/rest/v2/contacts", method="POST")
    assert recorded["json"] == NEW_CONTACT
    assert recorded["query"] == {"duplicate_option": "Email"}
    assert recorded["status"] == 201
    assert recorded["app"] == "sa101"
    dump = json.dumps(sandbox.requests())
    assert tokens["access_token"] not in dump
    assert tokens["refresh_token"] not in dump
    assert "sandbox-client-secret" not in dump
    assert "Authorization" not in dump


# ---- control access -----------------------------------------------------------------------------


def non_loopback_address():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_control_interface_refuses_non_loopback_callers():
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with SandboxServer(host="0.0.0.0") as server:
        port = server.url.rsplit(":", 1)[1]
        assert requests.post(f"http://{address}:{port}/_sandbox/reset").status_code == 403
        assert requests.get(f"http://{address}:{port}/_sandbox/counters").status_code == 403
        assert requests.get(f"http://127.0.0.1:{port}/_sandbox/counters").status_code == 200
