"""Fixtures for the contact form, lookups and upsert tests.

Unit tests stub Keap at the client boundary (`fake_keap`); integration tests (`test_integration_*`)
use the real sandbox over real HTTP with an account connected through the real connect wizard
(`connected_account` from tests/fixtures_accounts.py).
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.utils import timezone

from connectors.keap.errors import KeapError
from connectors.models import ConnectedAccount, KeapApp

COUNTRIES = [
    {"codes": {"alpha2": "CA", "alpha3": "CAN"}, "name": "Canada"},
    {"codes": {"alpha2": "US", "alpha3": "USA"}, "name": "United States"},
    {"codes": {"alpha2": "AQ", "alpha3": "ATA"}, "name": "Antarctica"},
]
PROVINCES = {
    "CAN": [
        {"code": "CA-BC", "name": "British Columbia", "country": "CAN"},
        {"code": "CA-ON", "name": "Ontario", "country": "CAN"},
    ],
    "USA": [
        {"code": "US-CA", "name": "California", "country": "USA"},
        {"code": "US-CO", "name": "Colorado", "country": "USA"},
    ],
    "ATA": [],
}
TAGS = [{"id": "101", "name": "Customer"}, {"id": "102", "name": "Newsletter"}, {"id": "103", "name": "VIP"}]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_account(db):
    def make(*, app: str = "sa101", business: str = "Alpine Bakery", status=ConnectedAccount.Status.ACTIVE):
        keap_app, _ = KeapApp.objects.get_or_create(
            client_id="unit-client-id", defaults={"name": "Unit app", "client_secret": "unit-secret"}
        )
        return ConnectedAccount.objects.create(
            keap_app=keap_app,
            app_host=f"{app}.infusionsoft.com",
            app_name=app,
            business_name=business,
            status=status,
            access_token="unit-access-token",
            refresh_token="unit-refresh-token",
            access_token_expires_at=timezone.now() + timedelta(hours=12),
        )

    return make


@pytest.fixture
def account(make_account):
    return make_account()


class FakeKeap:
    """Keap at the client boundary: records every call, answers from small in-memory data.

    `fail[("POST", "/v2/contacts")] = KeapValidationError(...)` makes that call raise (a list: one
    per call, in order). `page_size` splits list answers into pages with `next_page_token`.
    """

    def __init__(self):
        self.calls: list[tuple[str, str, dict | None, object]] = []
        self.countries = list(COUNTRIES)
        self.provinces = {k: list(v) for k, v in PROVINCES.items()}
        self.tags = list(TAGS)
        self.contacts: list[dict] = []
        self.next_id = 1000
        self.applied: dict[str, set[str]] = {}
        self.fail: dict[tuple[str, str], object] = {}
        self.page_size = 2

    # the KeapClient surface that the code uses
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def close(self):
        pass

    def get(self, path, *, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, *, json=None, params=None, idempotent=False, with_status=False):
        return self.request("POST", path, params=params, json=json, with_status=with_status)

    def paginate(self, path, *, items_key, params=None, max_pages=100):
        params = dict(params or {})
        while True:
            body = self.get(path, params=params) or {}
            yield from body.get(items_key) or []
            if not body.get("next_page_token"):
                return
            params["page_token"] = body["next_page_token"]

    def request(self, method, path, *, params=None, json=None, with_status=False):
        self.calls.append((method, path, dict(params or {}), json))
        failure = self.fail.get((method, path))
        if isinstance(failure, list):
            failure = failure.pop(0) if failure else None
        if isinstance(failure, KeapError):
            raise failure
        status, body = self._answer(method, path, params or {}, json)
        return (status, body) if with_status else body

    def calls_to(self, method, path_prefix=""):
        return [c for c in self.calls if c[0] == method and c[1].startswith(path_prefix)]

    def _page(self, items, key, params):
        offset = int(params.get("page_token") or 0)
        page = {key: items[offset : offset + self.page_size]}
        if offset + self.page_size < len(items):
            page["next_page_token"] = str(offset + self.page_size)
        return page

    def _answer(self, method, path, params, json):
        if method == "GET" and path == "/v2/locales/countries":
            return 200, self._page(self.countries, "countries", params)
        m = re.fullmatch(r"/v2/locales/countries/(\w+)/provinces", path)
        if method == "GET" and m:
            return 200, self._page(self.provinces.get(m.group(1), []), "provinces", params)
        if method == "GET" and path == "/v2/tags":
            return 200, self._page(self.tags, "tags", params)
        if method == "GET" and path == "/v2/contacts":
            wanted = unquote(params.get("filter", "")).partition("==")[2].lower()
            found = [
                c for c in self.contacts if any(e["email"].lower() == wanted for e in c["email_addresses"])
            ]
            return 200, self._page(found, "contacts", params)
        if method == "POST" and path == "/v2/contacts":
            email = next(e["email"] for e in json["email_addresses"] if e["field"] == "EMAIL1").lower()
            match = next(
                (
                    c
                    for c in self.contacts
                    if any(
                        e["field"] == "EMAIL1" and e["email"].lower() == email for e in c["email_addresses"]
                    )
                ),
                None,
            )
            if match is not None and params.get("duplicate_option"):
                match.update(json)
                return 200, dict(match)
            self.next_id += 1
            contact = {"id": str(self.next_id), **json}
            self.contacts.append(contact)
            return 201, dict(contact)
        m = re.fullmatch(r"/v2/tags/(\w+)/contacts:applyTags", path)
        if method == "POST" and m:
            results = {}
            for cid in json["contact_ids"]:
                self.applied.setdefault(cid, set()).add(m.group(1))
                results[cid] = "SUCCESS"
            return 200, {"results": results}
        raise AssertionError(f"FakeKeap has no answer for {method} {path}")


@pytest.fixture
def fake_keap(monkeypatch):
    """Replace `connected_account_client` (lookups and contacts) with one FakeKeap for every account."""
    fake = FakeKeap()

    def client_for(*, account):
        from connectors.errors import AccountUnavailable

        if account.status != ConnectedAccount.Status.ACTIVE:
            raise AccountUnavailable(f"{account} {account.unavailable_reason}: reconnect it before using it.")
        return fake

    monkeypatch.setattr("connectors.lookups.connected_account_client", client_for)
    monkeypatch.setattr("connectors.services.contacts.connected_account_client", client_for)
    return fake


def form_data(account, **overrides) -> dict:
    """A valid POST of the contact form for `account`."""
    import uuid

    data = {
        "submission_key": str(uuid.uuid4()),
        "account": str(account.pk),
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.com",
        "opt_in_reason": "",
        "phone_number": "",
        "phone_extension": "",
        "phone_type": "",
        "company_name": "",
        "job_title": "",
        "line1": "",
        "line2": "",
        "city": "",
        "postal_code": "",
        "country_code": "",
        "region_code": "",
        "duplicate_option": "Email",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
