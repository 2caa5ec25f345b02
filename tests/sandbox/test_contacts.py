"""Contacts, validation, tags, the contacts model and locales, as the sandbox serves them."""

import pytest

from tests.support.sandbox import (
    ALICE,
    BOB,
    CUSTOM_FIELDS,
    EXISTING_EMAIL,
    SHARED_EMAIL,
    TAGS,
    UNSUBSCRIBED_EMAIL,
    bearer_session,
    connect,
)


def find(api, email):
    response = api.get(f"{api.v2}/contacts", params={"filter": f"email=={email}"})
    assert response.status_code == 200
    return response.json()["contacts"]


def slots(contact, key):
    return sorted(item["field"] for item in contact.get(key, []))


# ---- the upsert -------------------------------------------------------------------------------


def test_upsert_creates_201_then_updates_200_for_the_same_email(api, sandbox):
    body = {"given_name": "Nina", "email_addresses": [{"email": "nina@example.com", "field": "EMAIL1"}]}
    first = api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=body)
    assert first.status_code == 201
    body["family_name"] = "New"
    second = api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=body)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["family_name"] == "New"
    assert (
        len([c for c in sandbox.contacts("sa101") if c["email_addresses"][0]["email"] == "nina@example.com"])
        == 1
    )


def test_upsert_update_branch_replaces_the_lists_it_is_sent_and_keeps_the_others(api):
    (existing,) = find(api, EXISTING_EMAIL)
    assert slots(existing, "email_addresses") == ["EMAIL1", "EMAIL2"]
    assert slots(existing, "phone_numbers") == ["PHONE1", "PHONE2"]
    assert slots(existing, "addresses") == ["BILLING", "SHIPPING"]
    response = api.post(
        f"{api.v2}/contacts",
        params={"duplicate_option": "Email"},
        json={
            "email_addresses": [{"email": EXISTING_EMAIL, "field": "EMAIL1"}],
            "phone_numbers": [{"number": "303-555-9999", "field": "PHONE1"}],
        },
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["id"] == existing["id"]
    assert slots(updated, "email_addresses") == ["EMAIL1"]  # EMAIL2 deleted: not sent
    assert [(p["field"], p["number"]) for p in updated["phone_numbers"]] == [("PHONE1", "303-555-9999")]
    assert slots(updated, "addresses") == ["BILLING", "SHIPPING"]  # not sent: untouched
    assert updated["given_name"] == "Erin"  # scalar not sent: untouched


def test_empty_list_deletes_all_items(api):
    (existing,) = find(api, EXISTING_EMAIL)
    response = api.patch(f"{api.v2}/contacts/{existing['id']}", json={"addresses": []})
    assert response.status_code == 200
    assert response.json()["addresses"] == []
    assert slots(response.json(), "phone_numbers") == ["PHONE1", "PHONE2"]


def test_without_duplicate_option_it_always_creates(api):
    body = {"email_addresses": [{"email": EXISTING_EMAIL, "field": "EMAIL1"}]}
    response = api.post(f"{api.v2}/contacts", json=body)
    assert response.status_code == 201
    assert len(find(api, EXISTING_EMAIL)) == 2


def test_email_duplicate_with_two_matches_updates_the_oldest(api):
    before = find(api, SHARED_EMAIL)
    assert len(before) == 2
    response = api.post(
        f"{api.v2}/contacts",
        params={"duplicate_option": "Email"},
        json={"job_title": "Twin", "email_addresses": [{"email": SHARED_EMAIL.upper(), "field": "EMAIL1"}]},
    )
    assert response.status_code == 200
    assert response.json()["id"] == min((c["id"] for c in before), key=int)


def test_email_and_name_needs_the_names_to_match(api):
    url = f"{api.v2}/contacts"
    email = [{"email": SHARED_EMAIL, "field": "EMAIL1"}]
    match = api.post(
        url,
        params={"duplicate_option": "EmailAndName"},
        json={"given_name": "sasha", "family_name": "SHARED", "email_addresses": email},
    )
    assert match.status_code == 200
    assert match.json()["given_name"] == "sasha"
    other = api.post(
        url,
        params={"duplicate_option": "EmailAndName"},
        json={"given_name": "Someone", "family_name": "Else", "email_addresses": email},
    )
    assert other.status_code == 201


def test_email_and_name_and_company_matches_the_company_record_not_its_text(api):
    url = f"{api.v2}/contacts"
    body = {
        "given_name": "Cy",
        "family_name": "Co",
        "company": {"company_name": "Acme"},
        "email_addresses": [{"email": "cy@example.com", "field": "EMAIL1"}],
    }
    params = {"duplicate_option": "EmailAndNameAndCompany"}
    assert api.post(url, params=params, json=body).status_code == 201
    assert api.post(url, params=params, json=body).status_code == 201  # text only: a duplicate
    body["company"] = {"id": "55", "company_name": "Acme"}
    created = api.post(url, params=params, json=body)
    assert created.status_code == 201
    again = api.post(url, params=params, json=body)
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]


def test_unsubscribed_email_stays_opted_out(api):
    response = api.post(
        f"{api.v2}/contacts",
        params={"duplicate_option": "Email"},
        json={
            "email_addresses": [
                {"email": UNSUBSCRIBED_EMAIL, "field": "EMAIL1", "opt_in_reason": "Asked again"}
            ]
        },
    )
    assert response.status_code == 200
    email = response.json()["email_addresses"][0]
    assert email["is_opt_in"] is False
    assert email["email_opt_status"] == "NON_MARKETABLE"
    fresh = api.post(
        f"{api.v2}/contacts",
        json={
            "email_addresses": [{"email": "fresh@example.com", "field": "EMAIL1", "opt_in_reason": "Form"}]
        },
    )
    assert fresh.json()["email_addresses"][0]["is_opt_in"] is True


# ---- reads and updates ----------------------------------------------------------------------


def test_get_patch_and_update_mask(api):
    (existing,) = find(api, EXISTING_EMAIL)
    url = f"{api.v2}/contacts/{existing['id']}"
    assert api.get(url).json()["email_addresses"] == existing["email_addresses"]
    patched = api.patch(
        url, json={"given_name": "Erina", "family_name": "Ignored"}, params={"update_mask": "given_name"}
    )
    assert patched.status_code == 200
    assert patched.json()["given_name"] == "Erina"
    assert patched.json()["family_name"] == "Existing"
    assert api.get(url, params={"fields": "given_name"}).json() == {
        "id": existing["id"],
        "given_name": "Erina",
    }


def test_unknown_contact_is_404_with_the_error_envelope(api):
    response = api.get(f"{api.v2}/contacts/999999")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == 404 and body["status"] == "Not Found" and body["message"]


def test_filter_grammar(api):
    assert len(find(api, SHARED_EMAIL)) == 2
    assert len(find(api, "shar*")) == 2
    both = api.get(f"{api.v2}/contacts", params={"filter": f"email=={SHARED_EMAIL};given_name==Sam"}).json()
    assert [c["given_name"] for c in both["contacts"]] == ["Sam"]
    ignored = api.get(f"{api.v2}/contacts", params={"filter": f"email=={SHARED_EMAIL}", "nonsense": "1"})
    assert len(ignored.json()["contacts"]) == 2
    by_custom = api.get(f"{api.v2}/contacts", params={"filter": "favoriteColor==Blue"}).json()["contacts"]
    assert [c["email_addresses"][0]["email"] for c in by_custom] == [EXISTING_EMAIL]
    bad = api.get(f"{api.v2}/contacts", params={"filter": "shoe_size==9"})
    assert bad.status_code == 400 and bad.json()["code"] == 400


def test_list_pages_with_next_page_token(api):
    seen, token = [], None
    while True:
        params = {"page_size": 2} | ({"page_token": token} if token else {})
        page = api.get(f"{api.v2}/contacts", params=params).json()
        seen += [c["id"] for c in page["contacts"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 5


# ---- validation -------------------------------------------------------------------------------

US_BILLING = {
    "field": "BILLING",
    "line1": "1 A St",
    "locality": "Phoenix",
    "country_code": "USA",
    "region_code": "US-AZ",
    "postal_code": "85001",
}


def address(**changes):
    return {"addresses": [{**US_BILLING, **changes}]}


INVALID = {
    "bad email": {"email_addresses": [{"email": "not-an-email", "field": "EMAIL1"}]},
    "EMAIL1 over 75": {"email_addresses": [{"email": "a" * 64 + "@example.com", "field": "EMAIL1"}]},
    "given_name over 40": {"given_name": "x" * 41, "phone_numbers": [{"number": "1", "field": "PHONE1"}]},
    "job_title over 255": {"job_title": "x" * 256, "phone_numbers": [{"number": "1", "field": "PHONE1"}]},
    "PHONE4 over 20": {"phone_numbers": [{"number": "1" * 21, "field": "PHONE4"}]},
    "BILLING line1 over 75": address(line1="x" * 76),
    "BILLING locality over 50": address(locality="x" * 51),
    "BILLING postal over 15": address(postal_code="1" * 16),
    "no email, phone or address": {"given_name": "Lonely"},
    "empty lists only": {"email_addresses": [], "phone_numbers": [], "addresses": []},
    "alpha-2 country": address(country_code="US", region_code=None),
    "country name": address(country_code="Canada", region_code=None),
    "bare region": address(region_code="CA"),
    "region name": address(country_code="CAN", region_code="Ontario"),
    "region of another country": address(country_code="CAN", region_code="US-IN"),
    "region without country": address(country_code=None),
    "long region read back": address(region="Arizona"),
    "read-only id": {"id": "1", "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}]},
    "read-only tag_ids": {
        "tag_ids": ["101"],
        "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}],
    },
    "read-only create_time": {
        "create_time": "2024-01-01T00:00:00Z",
        "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}],
    },
    "read-only opt status": {
        "email_addresses": [
            {"email": "a@example.com", "field": "EMAIL1", "email_opt_status": "SINGLE_OPT_IN"}
        ]
    },
    "slot twice": {
        "email_addresses": [
            {"email": "a@example.com", "field": "EMAIL1"},
            {"email": "b@example.com", "field": "EMAIL1"},
        ]
    },
    "unknown slot": {"email_addresses": [{"email": "a@example.com", "field": "EMAIL9"}]},
    "unknown custom field": {
        "custom_fields": [{"id": "404", "content": "x"}],
        "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}],
    },
    "dropdown not an option": {
        "custom_fields": [{"id": CUSTOM_FIELDS["Preferred Contact"], "content": "Fax"}],
        "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}],
    },
    "not a number": {
        "custom_fields": [{"id": CUSTOM_FIELDS["Loyalty Points"], "content": "many"}],
        "email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}],
    },
}


@pytest.mark.parametrize("body", INVALID.values(), ids=INVALID.keys())
def test_invalid_requests_are_rejected_with_keaps_envelope(api, sandbox, body):
    body = {k: v for k, v in body.items()}
    if "addresses" in body:
        body["addresses"] = [{k: v for k, v in a.items() if v is not None} for a in body["addresses"]]
    response = api.post(f"{api.v2}/contacts", params={"duplicate_option": "Email"}, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == 400 and error["status"] == "Bad Request" and error["message"]
    assert len(sandbox.contacts("sa101")) == 5


def test_validation_messages_keap_users_meet(api):
    def message(body):
        return api.post(f"{api.v2}/contacts", json=body).json()["message"]

    assert message(address(region_code="CA")) == "BILLING Region is invalid"
    assert message(address(country_code=None)) == "country_code is required if region is specified"


def test_valid_edges_are_accepted(api):
    response = api.post(
        f"{api.v2}/contacts",
        json={
            "given_name": "x" * 40,
            "email_addresses": [{"email": "a" * 64 + "@example.com", "field": "EMAIL2"}],
            "phone_numbers": [
                {"number": "1" * 40, "field": "PHONE1"},
                {"number": "1" * 20, "field": "PHONE5"},
            ],
            "addresses": [
                {**US_BILLING, "line1": "x" * 75},
                {"field": "SHIPPING", "line1": "y" * 100, "country_code": "CAN", "region_code": "CA-BC"},
                {"field": "OTHER", "country_code": "GBR"},
            ],
            "custom_fields": [
                {"id": CUSTOM_FIELDS["Loyalty Points"], "content": 12},
                {"id": CUSTOM_FIELDS["Preferred Contact"], "content": "SMS"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    billing = response.json()["addresses"][0]
    assert billing["region_code"] == "US-AZ" and billing["region"] == "Arizona"


def test_invalid_duplicate_option_is_rejected(api):
    response = api.post(
        f"{api.v2}/contacts",
        params={"duplicate_option": "Phone"},
        json={"email_addresses": [{"email": "a@example.com", "field": "EMAIL1"}]},
    )
    assert response.status_code == 400


# ---- tags and model ---------------------------------------------------------------------------


def test_tags_list_and_apply(api):
    tags = api.get(f"{api.v2}/tags").json()["tags"]
    assert {t["name"]: t["id"] for t in tags} == TAGS["sa101"]
    (existing,) = find(api, EXISTING_EMAIL)
    vip = TAGS["sa101"]["VIP"]
    response = api.post(
        f"{api.v2}/tags/{vip}/contacts:applyTags", json={"contact_ids": [existing["id"], "999999"]}
    )
    assert response.status_code == 200
    assert response.json() == {"results": {existing["id"]: "SUCCESS", "999999": "NOT_FOUND"}}
    assert vip in api.get(f"{api.v2}/contacts/{existing['id']}").json()["tag_ids"]
    assert (
        api.post(
            f"{api.v2}/tags/{TAGS['sa102']['VIP']}/contacts:applyTags", json={"contact_ids": [existing["id"]]}
        ).status_code
        == 404
    )
    removed = api.post(f"{api.v2}/tags/{vip}/contacts:removeTags", json={"contact_ids": [existing["id"]]})
    assert removed.status_code == 204
    assert vip not in api.get(f"{api.v2}/contacts/{existing['id']}").json()["tag_ids"]


def test_contacts_model_lists_the_custom_fields(api):
    model = api.get(f"{api.v2}/contacts/model").json()
    assert {f["label"]: f["id"] for f in model["custom_fields"]} == CUSTOM_FIELDS
    dropdown = next(f for f in model["custom_fields"] if f["field_type"] == "DROPDOWN")
    assert [o["label"] for o in dropdown["options"]] == ["Email", "Phone", "SMS"]


# ---- locales ----------------------------------------------------------------------------------


def collect(api, url, key):
    items, token, pages = [], None, 0
    while True:
        page = api.get(url, params={"page_token": token} if token else {}).json()
        items += page[key]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            return items, pages


def test_countries_are_paged_and_complete(api):
    first = api.get(f"{api.v2}/locales/countries").json()
    assert first["next_page_token"]
    countries, pages = collect(api, f"{api.v2}/locales/countries", "countries")
    assert pages > 1 and len(countries) == 249
    assert {"codes": {"alpha2": "CA", "alpha3": "CAN"}, "name": "Canada"} in countries
    assert api.get(f"{api.v2}/locales/countries/USA").json()["codes"]["alpha2"] == "US"


def test_provinces_are_paged_and_belong_to_their_country(api):
    provinces, pages = collect(api, f"{api.v2}/locales/countries/USA/provinces", "provinces")
    assert pages == 2
    codes = {p["code"] for p in provinces}
    assert {"US-CA", "US-WY", "US-DC"} <= codes
    assert all(p["country"] == "USA" and p["code"].startswith("US-") for p in provinces)
    canada = api.get(f"{api.v2}/locales/countries/CAN/provinces").json()
    assert "next_page_token" not in canada and len(canada["provinces"]) == 13
    assert api.get(f"{api.v2}/locales/countries/XYZ/provinces").status_code == 404


# ---- tenants ----------------------------------------------------------------------------------


def test_each_keap_app_sees_only_its_own_contacts(api, sandbox):
    (mine,) = find(api, EXISTING_EMAIL)
    other = bearer_session(connect(sandbox.url, ALICE, "sa102")["access_token"])
    other.v2 = api.v2
    assert other.get(f"{api.v2}/contacts/{mine['id']}").status_code == 404
    assert other.patch(f"{api.v2}/contacts/{mine['id']}", json={"given_name": "Hacked"}).status_code == 404
    (theirs,) = find(other, EXISTING_EMAIL)
    assert theirs["id"] != mine["id"] and theirs["given_name"] == "Other"
    upsert = other.post(
        f"{api.v2}/contacts",
        params={"duplicate_option": "Email"},
        json={"given_name": "Still Other", "email_addresses": [{"email": EXISTING_EMAIL, "field": "EMAIL1"}]},
    )
    assert upsert.status_code == 200 and upsert.json()["id"] == theirs["id"]
    assert api.get(f"{api.v2}/contacts/{mine['id']}").json()["given_name"] == "Erin"
    bob = bearer_session(connect(sandbox.url, BOB, "sb201")["access_token"])
    emails = [c["email_addresses"][0]["email"] for c in bob.get(f"{api.v2}/contacts").json()["contacts"]]
    assert emails == ["yogi@example.com"]
    assert bob.get(f"{api.v2}/businessProfile").json()["name"] == "Cedar Yoga"


def test_control_seed_adds_contacts_to_one_tenant(api, sandbox):
    ids = sandbox.seed(
        "sa101",
        [
            {
                "given_name": "Seeded",
                "tag_ids": [TAGS["sa101"]["VIP"]],
                "email_addresses": [{"email": "seeded@example.com", "field": "EMAIL1"}],
            }
        ],
    )
    (seeded,) = find(api, "seeded@example.com")
    assert seeded["id"] == ids[0] and seeded["tag_ids"] == [TAGS["sa101"]["VIP"]]
    assert sandbox.contacts("sa102")[0]["email_addresses"][0]["email"] != "seeded@example.com"


def test_concurrent_upserts_of_one_email_make_exactly_one_contact(api, sandbox, tokens):
    from concurrent.futures import ThreadPoolExecutor

    def upsert(i):
        http = bearer_session(tokens["access_token"])
        return http.post(
            f"{api.v2}/contacts",
            params={"duplicate_option": "Email"},
            json={
                "given_name": f"Racer{i}",
                "email_addresses": [{"email": "race@example.com", "field": "EMAIL1"}],
            },
        )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(upsert, range(16)))
    assert sorted(r.status_code for r in responses) == [200] * 15 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(find(api, "race@example.com")) == 1
