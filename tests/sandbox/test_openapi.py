"""Every response the sandbox gives for the operations it serves validates against Keap's swagger.yml.

The document is Keap's official one, vendored unchanged in connectors/sandbox/openapi/ (provenance in
SOURCE.txt next to it); the sandbox serves it too.
"""

import hashlib
import re

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.support.sandbox import ALICE, EXISTING_EMAIL, PROJECT_ROOT, TAGS, bearer_session, connect

OPENAPI_DIR = PROJECT_ROOT / "connectors" / "sandbox" / "openapi"
SPEC = OPENAPI_DIR / "swagger.yml"
SOURCE = OPENAPI_DIR / "SOURCE.txt"


def spec_bytes() -> bytes:
    if not SPEC.is_file():
        pytest.fail(f"Keap's OpenAPI document is missing: {SPEC} (see {SOURCE})")
    return SPEC.read_bytes()


def test_the_vendored_document_is_the_one_its_source_note_names():
    recorded = re.search(r"sha256:\s*([0-9a-f]{64})", SOURCE.read_text())
    assert recorded, f"no sha256 in {SOURCE}"
    assert hashlib.sha256(spec_bytes()).hexdigest() == recorded.group(1)


def test_the_sandbox_serves_the_document_without_a_token(sandbox):
    url = f"{sandbox.rest_url}/v2/openapi.yml"
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/yaml"
    assert response.content == spec_bytes()
    again = requests.get(url, headers={"If-None-Match": response.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and not again.content


@pytest.fixture(scope="session")
def keap_openapi(sandbox_server):
    spec = yaml.load(spec_bytes(), Loader=yaml.CSafeLoader)
    spec["servers"] = [{"url": f"{sandbox_server.url}/crm"}]
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def test_every_served_operation_answers_as_the_spec_says(sandbox, keap_openapi):
    tokens = connect(sandbox.url, ALICE, "sa101")
    api = bearer_session(tokens["access_token"])
    v2 = f"{sandbox.rest_url}/v2"
    existing = api.get(f"{v2}/contacts", params={"filter": f"email=={EXISTING_EMAIL}"}).json()["contacts"][0]
    full = {
        "given_name": "Spec",
        "family_name": "Check",
        "job_title": "QA",
        "website": "https://example.com",
        "company": {"company_name": "Acme"},
        "origin": {"ip_address": "192.0.2.1"},
        "birth_date": "1990-02-03",
        "source_type": "API",
        "utm_parameters": {"keap_source_id": "42", "utm_source": "google"},
        "email_addresses": [{"email": "spec@example.com", "field": "EMAIL1", "opt_in_reason": "Form"}],
        "phone_numbers": [{"number": "602-555-0100", "field": "PHONE1", "type": "Work", "extension": "7"}],
        "fax_numbers": [{"number": "602-555-0101", "field": "FAX1"}],
        "social_accounts": [{"type": "FACEBOOK", "name": "spec"}],
        "addresses": [
            {
                "field": "BILLING",
                "line1": "1 A St",
                "locality": "Phoenix",
                "region_code": "US-AZ",
                "country_code": "USA",
                "postal_code": "85001",
                "zip_four": "1234",
            }
        ],
        "custom_fields": [{"id": "7", "content": "Green"}, {"id": "9", "content": 3}],
    }
    tag = TAGS["sa101"]["VIP"]
    calls = [
        api.get(f"{v2}/oauth/connect/userinfo"),
        api.get(f"{v2}/businessProfile"),
        api.get(f"{v2}/contacts", params={"page_size": 2}),
        api.get(f"{v2}/contacts", params={"filter": f"email=={EXISTING_EMAIL}"}),
        api.get(f"{v2}/contacts", params={"filter": "bogus==1"}),
        api.post(f"{v2}/contacts", params={"duplicate_option": "Email"}, json=full),
        api.post(f"{v2}/contacts", params={"duplicate_option": "Email"}, json=full),
        api.post(f"{v2}/contacts", json={"given_name": "No contact point"}),
        api.get(f"{v2}/contacts/{existing['id']}"),
        api.get(f"{v2}/contacts/{existing['id']}", params={"fields": "given_name,email_addresses"}),
        api.get(f"{v2}/contacts/999999"),
        api.patch(
            f"{v2}/contacts/{existing['id']}",
            json={"job_title": "Baker"},
            params={"update_mask": "job_title"},
        ),
        api.patch(
            f"{v2}/contacts/{existing['id']}",
            json={"addresses": [{"field": "BILLING", "region_code": "US-AZ"}]},
        ),
        api.get(f"{v2}/contacts/model"),
        api.get(f"{v2}/contacts/{existing['id']}/tags"),
        api.get(f"{v2}/tags"),
        api.get(f"{v2}/tags/{tag}"),
        api.post(f"{v2}/tags/{tag}/contacts:applyTags", json={"contact_ids": [existing["id"]]}),
        api.post(f"{v2}/tags/{tag}/contacts:removeTags", json={"contact_ids": [existing["id"]]}),
        api.get(f"{v2}/locales/countries"),
        api.get(f"{v2}/locales/countries/CAN"),
        api.get(f"{v2}/locales/countries/USA/provinces"),
        api.get(f"{v2}/locales/countries/XYZ/provinces"),
        bearer_session("not-a-token").get(f"{v2}/contacts"),
    ]
    statuses = [r.status_code for r in calls]
    assert statuses == [
        200,
        200,
        200,
        200,
        400,
        201,
        200,
        400,
        200,
        200,
        404,
        200,
        400,
        200,
        200,
        200,
        200,
        200,
        204,
        200,
        200,
        200,
        404,
        401,
    ]
    failures = []
    for response in calls:
        try:
            keap_openapi.validate_response(
                RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
            )
        except Exception as exc:  # collect them all, then fail once with every message
            failures.append(
                f"{response.request.method} {response.request.url} {response.status_code}: "
                f"{exc!r} {getattr(exc, '__cause__', '')!r}"
            )
    assert not failures, "\n".join(failures)
