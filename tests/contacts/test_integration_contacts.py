"""The contact form end to end: Django's test client -> our services -> the real Keap sandbox over HTTP.

The account is connected through the real connect wizard (`connected_account`: alice's sa101,
"Alpine Bakery"). Assertions look at what the sandbox received and stores, and at our records.
"""

import pytest
from django.urls import reverse

from connectors.models import ConnectedAccount, ContactUpsert
from tests.support import sandbox as sb

from .conftest import form_data

pytestmark = pytest.mark.django_db

NEW = reverse("connectors:contact_new")
CONTACTS = "/crm/rest/v2/contacts"


def keap_contacts(sandbox, email: str) -> list[dict]:
    return [
        c
        for c in sandbox.contacts("sa101")
        if any(e["email"].lower() == email.lower() for e in c.get("email_addresses", []))
    ]


def keap_calls(sandbox) -> int:
    return sandbox.counters()["total"]


def upsert_posts(sandbox) -> list[dict]:
    return sandbox.requests(CONTACTS, "POST")


def send(client, account, **fields):
    return client.post(NEW, form_data(account, **fields))


def test_create_then_update_the_same_email_makes_one_contact_with_the_new_fields(
    connected_account, staff_client, sandbox
):
    first = send(
        staff_client, connected_account, email="new.person@example.com", given_name="Nora", job_title="Chef"
    )
    assert first.status_code == 302
    created = ContactUpsert.objects.get()
    assert (created.status, created.outcome) == ("succeeded", "created")
    assert first["Location"] == created.get_absolute_url()

    second = send(
        staff_client,
        connected_account,
        email="new.person@example.com",
        given_name="Nora",
        job_title="Head Chef",
    )
    assert second.status_code == 302
    updated = ContactUpsert.objects.latest("pk")
    assert (updated.status, updated.outcome, updated.keap_contact_id) == (
        "succeeded",
        "updated",
        created.keap_contact_id,
    )

    [stored] = keap_contacts(sandbox, "new.person@example.com")
    assert stored["id"] == created.keap_contact_id and stored["job_title"] == "Head Chef"
    assert [r["status"] for r in upsert_posts(sandbox)] == [201, 200]
    assert all(r["query"]["duplicate_option"] == "Email" for r in upsert_posts(sandbox))

    page = staff_client.get(updated.get_absolute_url()).content.decode()
    assert f"Updated contact #{created.keap_contact_id} in Alpine Bakery" in page


def test_the_same_person_typed_in_other_letter_case_is_updated_not_duplicated(
    connected_account, staff_client, sandbox
):
    response = send(
        staff_client,
        connected_account,
        email="  EXISTING@Example.COM ",
        given_name="Erin",
        family_name="Existing",
    )
    assert response.status_code == 302
    [stored] = keap_contacts(sandbox, sb.EXISTING_EMAIL)
    record = ContactUpsert.objects.get()
    assert (record.outcome, record.keap_contact_id) == ("updated", stored["id"])
    sent = upsert_posts(sandbox)[0]["json"]
    assert sent["email_addresses"][0] == {"email": "existing@example.com", "field": "EMAIL1"}  # as stored


def test_the_other_slots_of_an_existing_contact_survive_an_upsert_from_the_form(
    connected_account, staff_client, sandbox
):
    response = send(
        staff_client,
        connected_account,
        email=sb.EXISTING_EMAIL,
        given_name="Erin",
        family_name="Existing",
        phone_number="303-555-7777",
        phone_type="Home",
        line1="5 New Rd",
        city="Denver",
        postal_code="80203",
        country_code="USA",
        region_code="US-CO",
    )
    assert response.status_code == 302
    [stored] = keap_contacts(sandbox, sb.EXISTING_EMAIL)
    emails = {e["field"]: e["email"] for e in stored["email_addresses"]}
    phones = {p["field"]: (p["number"], p.get("type")) for p in stored["phone_numbers"]}
    addresses = {a["field"]: a for a in stored["addresses"]}
    assert emails == {"EMAIL1": "existing@example.com", "EMAIL2": "erin.work@example.com"}
    assert phones == {
        "PHONE1": ("303-555-7777", "Home"),
        "PHONE2": ("303-555-1002", "Work"),
        "PHONE3": ("303-555-1001", "Mobile"),  # the number it replaced as PHONE1, kept
    }
    assert addresses["BILLING"]["line1"] == "5 New Rd"
    assert {
        k: addresses["SHIPPING"].get(k)
        for k in ("line1", "locality", "region_code", "country_code", "postal_code")
    } == {
        "line1": "2 Side St",
        "locality": "Boulder",
        "region_code": "US-CO",
        "country_code": "USA",
        "postal_code": "80302",
    }
    assert stored["job_title"] == "Head Baker"  # not typed, not sent, kept
    assert stored["custom_fields"] == [{"id": "7", "content": "Blue"}]
    assert "101" in stored["tag_ids"]
    for address in upsert_posts(sandbox)[0]["json"]["addresses"]:
        assert "region" not in address and "country" not in address  # codes only


def test_country_and_region_arrive_as_keaps_codes(connected_account, staff_client, sandbox):
    response = send(
        staff_client,
        connected_account,
        email="bc@example.com",
        line1="1 Robson St",
        city="Vancouver",
        postal_code="V6B 1A1",
        country_code="CAN",
        region_code="CA-BC",
    )
    assert response.status_code == 302
    [billing] = upsert_posts(sandbox)[0]["json"]["addresses"]
    assert (billing["country_code"], billing["region_code"]) == ("CAN", "CA-BC")
    [stored] = keap_contacts(sandbox, "bc@example.com")
    assert (stored["addresses"][0]["country_code"], stored["addresses"][0]["region_code"]) == ("CAN", "CA-BC")
    assert stored["addresses"][0]["region"] == "British Columbia"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"country_code": "USA", "region_code": "CA-BC"},
            "British Columbia (CA-BC) is not a state/province of United States",
        ),
        ({"country_code": "", "region_code": "CA-BC"}, "A state/province needs a country"),
    ],
)
def test_a_region_of_another_country_or_without_country_is_refused_before_any_keap_call(
    connected_account, staff_client, sandbox, fields, error
):
    response = send(
        staff_client, connected_account, email="wrong.region@example.com", line1="1 Way", **fields
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert 'value="wrong.region@example.com"' in response.content.decode()  # everything typed stays
    assert upsert_posts(sandbox) == []
    assert sandbox.requests(CONTACTS, "GET") == []
    assert ContactUpsert.objects.count() == 0


def test_tags_are_applied_to_the_contact(connected_account, staff_client, sandbox):
    tags = sb.TAGS["sa101"]
    response = send(
        staff_client, connected_account, email="tagged@example.com", tag_ids=[tags["Newsletter"], tags["VIP"]]
    )
    assert response.status_code == 302
    [stored] = keap_contacts(sandbox, "tagged@example.com")
    assert sorted(stored["tag_ids"]) == sorted([tags["Newsletter"], tags["VIP"]])
    assert ContactUpsert.objects.get().tag_ids == [tags["Newsletter"], tags["VIP"]]


def test_a_form_render_with_a_warm_cache_makes_no_keap_call(connected_account, staff_client, sandbox):
    refresh = form_data(connected_account, country_code="CAN", _refresh="provinces")
    assert staff_client.post(NEW, refresh).status_code == 200  # cold: countries, tags, CAN's provinces
    before = keap_calls(sandbox)
    assert before > 0
    assert staff_client.get(NEW).status_code == 200
    page = staff_client.post(NEW, refresh)
    assert keap_calls(sandbox) == before
    html = page.content.decode()
    assert '<option value="CA-BC">British Columbia</option>' in html
    assert 'value="Lovelace"' in html  # the round trip keeps what was typed
    assert ContactUpsert.objects.count() == 0


def test_a_double_submission_calls_keap_once_and_shows_the_first_result(
    connected_account, staff_client, sandbox
):
    data = form_data(connected_account, email="double@example.com")
    first = staff_client.post(NEW, data)
    again = staff_client.post(NEW, data)
    record = ContactUpsert.objects.get()
    assert first["Location"] == again["Location"] == record.get_absolute_url()
    assert len(upsert_posts(sandbox)) == 1


# -- Keap failures: each leaves the right record and message ------------------------------------------
def test_a_keap_400_puts_its_message_on_the_field_and_keeps_the_entry(
    connected_account, staff_client, sandbox
):
    sandbox.fault(
        CONTACTS,
        400,
        method="POST",
        body={"code": 400, "message": "BILLING Region is invalid", "status": "Bad Request"},
    )
    response = send(
        staff_client,
        connected_account,
        email="rejected@example.com",
        line1="1 Way",
        country_code="USA",
        region_code="US-CA",
    )
    assert response.status_code == 200
    form = response.context["page"].form
    assert "BILLING Region is invalid" in " ".join(form.errors["region_code"])
    assert form["email"].value() == "rejected@example.com"
    assert form["submission_key"].value() != ContactUpsert.objects.get().submission_key  # a new key to resend
    record = ContactUpsert.objects.get()
    assert (record.status, record.attempts) == ("failed", 1)
    assert "BILLING Region is invalid" in record.error_message


def test_a_401_after_a_refused_refresh_asks_to_reconnect_and_marks_the_account(
    connected_account, staff_client, sandbox
):
    sandbox.fault(CONTACTS, 401, method="POST")
    sandbox.fault(
        "/token",
        400,
        method="POST",
        body={"error": "invalid_request", "error_description": "Invalid Refresh Token"},
    )
    response = send(staff_client, connected_account, email="reconnect@example.com")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reconnect the account" in html and connected_account.get_absolute_url() in html
    assert response.context["page"].form["email"].value() == "reconnect@example.com"
    record = ContactUpsert.objects.get()
    assert record.status == "failed" and "reconnect" in record.error_message.lower()
    connected_account.refresh_from_db()
    assert connected_account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert [r["status"] for r in upsert_posts(sandbox)] == [401]


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_or_an_outage_says_try_again_and_leaves_a_failed_record(
    connected_account, staff_client, sandbox, settings, status
):
    settings.KEAP_HTTP_RETRIES = 1
    sandbox.fault(CONTACTS, status, method="POST", count=2)  # the first call and its one retry
    response = send(staff_client, connected_account, email="busy@example.com", given_name="Bea")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Keap could not take the contact right now" in html
    assert response.context["page"].form["given_name"].value() == "Bea"
    record = ContactUpsert.objects.get()
    assert (record.status, record.outcome, record.keap_contact_id) == ("failed", "", "")
    assert [r["status"] for r in upsert_posts(sandbox)] == [status, status]
    assert keap_contacts(sandbox, "busy@example.com") == []

    retry = staff_client.post(reverse("connectors:upsert_retry", args=[record.pk]))  # Keap is back
    assert retry.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.outcome, record.attempts) == ("succeeded", "created", 2)
    assert len(keap_contacts(sandbox, "busy@example.com")) == 1


def test_the_province_fragment_and_the_lookups_refresh_use_the_account_keap(
    connected_account, staff_client, sandbox
):
    url = reverse("connectors:contact_provinces")
    answer = staff_client.get(url, {"account": connected_account.pk, "country": "CAN"}).json()
    assert {"code": "CA-BC", "name": "British Columbia"} in answer["provinces"]
    provinces_calls = len(sandbox.requests("/crm/rest/v2/locales/countries/CAN/provinces", "GET"))
    staff_client.get(url, {"account": connected_account.pk, "country": "CAN"})
    assert len(sandbox.requests("/crm/rest/v2/locales/countries/CAN/provinces", "GET")) == provinces_calls

    refresh = form_data(connected_account, given_name="Kept", _refresh="lookups")
    response = staff_client.post(NEW, refresh)
    assert response.status_code == 200 and 'value="Kept"' in response.content.decode()
    assert "Read 249 countries and" in response.content.decode()
    staff_client.get(url, {"account": connected_account.pk, "country": "CAN"})
    assert len(sandbox.requests("/crm/rest/v2/locales/countries/CAN/provinces", "GET")) == provinces_calls + 1


def test_with_keap_down_the_last_good_lists_are_used_with_a_notice(
    connected_account, staff_client, sandbox, settings
):
    settings.KEAP_HTTP_RETRIES = 0
    assert staff_client.get(NEW).status_code == 200  # fills the cache
    sandbox.fault("/crm/rest/v2/*", 503, count=None)
    refreshed = staff_client.post(NEW, form_data(connected_account, _refresh="lookups")).content.decode()
    assert "Showing the copy read on" in refreshed and "Read 249 countries" not in refreshed
    page = staff_client.get(NEW).content.decode()
    assert "Showing the copy read on" in page
    assert '<option value="CAN">Canada</option>' in page


def test_a_shared_email_updates_the_contact_keaps_duplicate_check_picks_and_keeps_its_phone(
    connected_account, staff_client, sandbox
):
    before = {c["given_name"]: c for c in keap_contacts(sandbox, sb.SHARED_EMAIL)}
    response = send(
        staff_client,
        connected_account,
        email=sb.SHARED_EMAIL,
        given_name="Sasha",
        family_name="Shared",
        job_title="Baker",
        duplicate_option="EmailAndName",
    )
    assert response.status_code == 302
    record = ContactUpsert.objects.get()
    assert (record.outcome, record.keap_contact_id) == ("updated", before["Sasha"]["id"])
    after = {c["given_name"]: c for c in keap_contacts(sandbox, sb.SHARED_EMAIL)}
    assert after["Sasha"]["job_title"] == "Baker"
    assert after["Sasha"]["phone_numbers"][0]["number"] == "303-555-2002"  # not typed, kept
    assert "job_title" not in after["Sam"]

    send(staff_client, connected_account, email=sb.SHARED_EMAIL, given_name="Sam", job_title="Owner")
    oldest = min(before.values(), key=lambda c: int(c["id"]))
    assert ContactUpsert.objects.latest("pk").keap_contact_id == oldest["id"]  # "Email": the oldest match
    assert len(keap_contacts(sandbox, sb.SHARED_EMAIL)) == 2


def test_an_opt_in_reason_for_an_address_that_opted_out_is_reported_as_not_taken(
    connected_account, staff_client, sandbox
):
    response = send(
        staff_client,
        connected_account,
        email=sb.UNSUBSCRIBED_EMAIL,
        opt_in_reason="Asked again at the counter",
    )
    page = staff_client.get(response["Location"]).content.decode()
    assert "Updated contact #" in page
    assert f"Keap keeps {sb.UNSUBSCRIBED_EMAIL} as NON_MARKETABLE" in page
    [stored] = keap_contacts(sandbox, sb.UNSUBSCRIBED_EMAIL)
    assert stored["email_addresses"][0]["email_opt_status"] == "NON_MARKETABLE"
    other = send(staff_client, connected_account, email="willing@example.com", opt_in_reason="Signed up")
    assert "Keap keeps" not in staff_client.get(other["Location"]).content.decode()


@pytest.mark.parametrize("body", ["not json", {}, {"contacts": None}])
def test_an_unreadable_lookup_answer_sends_nothing_and_deletes_nothing(
    connected_account, staff_client, sandbox, body
):
    before = keap_contacts(sandbox, sb.SHARED_EMAIL)
    sandbox.fault(CONTACTS, 200, method="GET", body=body)
    response = send(staff_client, connected_account, email=sb.SHARED_EMAIL, phone_number="303-555-8888")
    assert response.status_code == 200 and "held no contacts list" in response.content.decode()
    assert keap_contacts(sandbox, sb.SHARED_EMAIL) == before  # not merged with "no contact": untouched
    assert upsert_posts(sandbox) == [] and ContactUpsert.objects.get().status == "failed"


def test_an_empty_country_list_from_keap_never_replaces_the_good_copy(
    connected_account, staff_client, sandbox
):
    assert staff_client.get(NEW).status_code == 200  # a good copy
    sandbox.fault("/crm/rest/v2/locales/countries", 200, method="GET", body={"countries": []})
    page = staff_client.post(NEW, form_data(connected_account, _refresh="lookups")).content.decode()
    assert "Keap listed no countries" in page and "Read 0 countries" not in page
    assert '<option value="CAN">Canada</option>' in page  # the last good copy


def test_a_sixth_phone_number_replaces_the_first_and_says_so(connected_account, staff_client, sandbox):
    phones = [{"field": f"PHONE{i}", "number": f"303-555-100{i}"} for i in range(1, 6)]
    sandbox.seed(
        "sa101",
        [
            {
                "given_name": "Five",
                "email_addresses": [{"email": "five@example.com", "field": "EMAIL1"}],
                "phone_numbers": phones,
            }
        ],
    )
    response = send(staff_client, connected_account, email="five@example.com", phone_number="303-555-7777")
    page = staff_client.get(response["Location"]).content.decode()
    assert "all five were taken: 303-555-1001 was replaced by the number entered" in page
    [stored] = keap_contacts(sandbox, "five@example.com")
    assert [p["number"] for p in stored["phone_numbers"]][0] == "303-555-7777"


@pytest.mark.parametrize("body", [[1, 2, 3], "abc", {"id": {"x": 1}}, {"id": True}])
def test_an_upsert_answer_without_a_usable_contact_id_fails_clearly(
    connected_account, staff_client, sandbox, body
):
    sandbox.fault(CONTACTS, 200, method="POST", body=body)
    vip = sb.TAGS["sa101"]["VIP"]
    response = send(
        staff_client, connected_account, email="odd@example.com", given_name="Kept", tag_ids=[vip]
    )
    html = response.content.decode()
    assert response.status_code == 200 and "Keap answered the upsert without a contact id." in html
    assert 'value="Kept"' in html
    record = ContactUpsert.objects.get()
    assert (record.status, record.keap_contact_id) == ("failed", "")
    assert sandbox.requests("/crm/rest/v2/tags", "POST") == []  # no tag call with a made-up id
