"""The contact pages with Keap stubbed: form, round trips, double submission, results, list, retry."""

import re

import pytest
from django.urls import reverse

from connectors import lookups
from connectors.forms import ContactForm
from connectors.keap.errors import KeapAuthError, KeapUnavailable, KeapValidationError
from connectors.models import ConnectedAccount, ContactUpsert, KeapApp

from .conftest import form_data

pytestmark = pytest.mark.django_db

NEW = reverse("connectors:contact_new")


def test_the_form_page_lists_the_account_lookups_with_codes_as_values(account, fake_keap, staff_client):
    html = staff_client.get(NEW).content.decode()
    assert '<option value="CAN">Canada</option>' in html
    assert 'name="submission_key"' in html and 'name="_refresh"' in html
    assert 'name="_refresh" value="lookups"' in html  # "Refresh lookups" sends the entry back with new lists
    assert 'data-provinces-url="/contacts/provinces/"' in html and "contact_form.js" in html


def test_a_warm_page_shows_the_cached_fields_without_building_the_form(
    account, fake_keap, staff_client, monkeypatch
):
    first = staff_client.get(NEW).content.decode()  # builds the form, caches its rendered fields
    keap_calls = len(fake_keap.calls)  # countries and tags, read for the first page
    built = []
    build = ContactForm.__init__
    monkeypatch.setattr(
        ContactForm, "__init__", lambda form, *a, **kw: built.append(1) or build(form, *a, **kw)
    )
    second = staff_client.get(NEW).content.decode()
    assert built == [] and len(fake_keap.calls) == keap_calls > 0

    def key(html):
        return re.search(r'name="submission_key" value="([0-9a-f-]{36})"', html).group(1)

    def without_tokens(html):  # each page has its own submission key and CSRF token
        return re.sub(r'name="(submission_key|csrfmiddlewaretoken)" value="[^"]+"', r'name="\1"', html)

    assert key(first) != key(second)
    assert without_tokens(first) == without_tokens(second)
    assert '<option value="CAN">Canada</option>' in second


def test_account_query_parameter_preselects_it(make_account, fake_keap, staff_client):
    make_account(app="sa101")
    second = make_account(app="sa102", business="Bayside Dental")
    response = staff_client.get(NEW, {"account": second.pk})
    assert response.context["page"].form.chosen_account == second


def test_no_active_account_says_how_to_connect_one(db, fake_keap, staff_client):
    html = staff_client.get(NEW).content.decode()
    assert "No active Keap account is connected" in html


def test_update_provinces_round_trip_keeps_everything_and_sends_nothing(account, fake_keap, staff_client):
    data = form_data(account, country_code="CAN", line1="1 Robson", tag_ids=["102"], _refresh="provinces")
    response = staff_client.post(NEW, data)
    assert response.status_code == 200
    form = response.context["page"].form
    assert not form.is_bound and not form.errors
    assert ("CA-BC", "British Columbia") in form.fields["region_code"].widget.choices
    html = response.content.decode()
    assert 'value="1 Robson"' in html and 'value="Lovelace"' in html
    assert fake_keap.calls_to("POST") == [] and ContactUpsert.objects.count() == 0


def test_a_successful_post_redirects_to_the_result(account, fake_keap, staff_client):
    response = staff_client.post(NEW, form_data(account), follow=True)
    record = ContactUpsert.objects.get()
    assert response.redirect_chain == [(record.get_absolute_url(), 302)]
    html = response.content.decode()
    assert "Created contact #1001 in Alpine Bakery" in html
    assert "ada@example.com" in html and "&quot;EMAIL1&quot;" in html  # what was sent
    # ... and a fresh form for the next entry: same account, nothing typed, a new submission key.
    page = response.context["next_page"]
    assert not page.form.is_bound and page.lists.chosen_account == account
    assert 'id="next-contact"' in html and 'name="email" value=' not in html
    assert f'name="submission_key" value="{page.submission_key}"' in html
    assert str(page.submission_key) != str(record.submission_key)


def test_a_second_post_with_the_same_key_shows_the_first_result_without_calling_keap(
    account, fake_keap, staff_client
):
    data = form_data(account)
    staff_client.post(NEW, data)
    posts = len(fake_keap.calls_to("POST"))
    response = staff_client.post(NEW, data)
    assert response["Location"] == ContactUpsert.objects.get().get_absolute_url()
    assert len(fake_keap.calls_to("POST")) == posts


def test_form_errors_keep_what_was_typed(account, fake_keap, staff_client):
    response = staff_client.post(NEW, form_data(account, email="not-an-email", job_title="Builder"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="not-an-email"' in html and 'value="Builder"' in html
    assert "is-invalid" in html
    assert fake_keap.calls_to("POST") == []


def test_keap_rejecting_the_email_puts_the_message_on_the_email_field(account, fake_keap, staff_client):
    fake_keap.fail[("POST", "/v2/contacts")] = KeapValidationError(
        "EMAIL1 'ada@example.com' is not a valid email address", status=400
    )
    data = form_data(account)
    response = staff_client.post(NEW, data)
    form = response.context["page"].form
    assert "not a valid email address" in form.errors["email"][0]
    assert str(form["submission_key"].value()) == data["submission_key"]  # resent on the same record
    assert response.context["failed_upsert"].status == "failed"


def test_a_keap_refusal_no_field_explains_is_given_in_full_above_the_form(account, fake_keap, staff_client):
    fake_keap.fail[("POST", "/v2/contacts")] = KeapValidationError("Something else entirely", status=400)
    response = staff_client.post(NEW, form_data(account, given_name="Kept"))
    html = response.content.decode()
    assert "Keap rejected the request: Something else entirely" in html
    assert "field concerned" not in html and not response.context["page"].form.errors
    assert 'value="Kept"' in html


def test_a_contact_saved_but_not_tagged_says_so_and_sending_again_applies_the_tags(
    account, fake_keap, staff_client
):
    fake_keap.fail[("POST", "/v2/tags/103/contacts:applyTags")] = [KeapUnavailable("HTTP 503", status=503)]
    data = form_data(account, tag_ids=["103"])
    html = staff_client.post(NEW, data).content.decode()
    assert "Contact #1001 was saved in Keap, but its tags could not be applied right now." in html
    assert "could not take the contact" not in html
    response = staff_client.post(NEW, data)  # sent again: the same record, the tag applied
    record = ContactUpsert.objects.get()
    assert response["Location"] == record.get_absolute_url()
    assert (record.status, record.keap_contact_id) == ("succeeded", "1001")
    assert len(fake_keap.calls_to("POST", "/v2/tags/103")) == 2


def test_keap_unavailable_says_try_again_and_sending_again_completes_the_same_record(
    account, fake_keap, staff_client
):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapUnavailable("HTTP 503", status=503)]
    response = staff_client.post(NEW, form_data(account))
    assert "send it again in a moment" in response.content.decode()
    again = form_data(account, submission_key=str(response.context["page"].form["submission_key"].value()))
    assert staff_client.post(NEW, again).status_code == 302
    record = ContactUpsert.objects.get()  # one entry, one record: no stale "failed" row beside it
    assert (record.status, record.attempts) == ("succeeded", 2)


def test_an_entry_corrected_after_keap_refused_it_is_sent_on_the_same_record(
    account, fake_keap, staff_client
):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapValidationError("BILLING Region is invalid", status=400)]
    response = staff_client.post(NEW, form_data(account))
    key = str(response.context["page"].form["submission_key"].value())
    staff_client.post(NEW, form_data(account, submission_key=key, given_name="Augusta"))
    record = ContactUpsert.objects.get()
    assert (record.status, record.attempts, record.submitted["given_name"]) == ("succeeded", 2, "Augusta")
    assert fake_keap.calls_to("POST", "/v2/contacts")[-1][3]["given_name"] == "Augusta"


def test_an_entry_edited_after_it_was_sent_is_sent_as_a_new_entry(account, fake_keap, staff_client):
    """Back, edit, send: the old page's key must not swallow the new person."""
    data = form_data(account)
    staff_client.post(NEW, data)
    response = staff_client.post(NEW, {**data, "email": "second@example.com", "given_name": "Second"})
    second = ContactUpsert.objects.get(email="second@example.com")
    assert response["Location"] == second.get_absolute_url()
    assert second.status == "succeeded" and ContactUpsert.objects.count() == 2
    assert fake_keap.calls_to("POST", "/v2/contacts")[-1][3]["given_name"] == "Second"


def test_the_provinces_fragment(account, fake_keap, staff_client):
    url = reverse("connectors:contact_provinces")
    answer = staff_client.get(url, {"account": account.pk, "country": "USA"}).json()
    assert answer["provinces"] == [
        {"code": "US-CA", "name": "California"},
        {"code": "US-CO", "name": "Colorado"},
    ]
    assert staff_client.get(url, {"account": account.pk, "country": "ATA"}).json()["message"] == (
        "Keap lists no states or provinces for Antarctica."
    )
    assert staff_client.get(url, {"account": account.pk, "country": "XXX"}).json()["provinces"] == []
    assert staff_client.get(url, {"account": 999, "country": "USA"}).status_code == 404


def test_the_list_filters_by_status_and_pages(account, fake_keap, staff_client):
    for i in range(30):
        ContactUpsert.objects.create(
            account=account,
            email=f"p{i}@example.com",
            payload={},
            status="failed" if i % 3 == 0 else "succeeded",
            outcome="created",
        )
    page = staff_client.get(reverse("connectors:upsert_list"), {"status": "failed"})
    assert len(page.context["page"].object_list) == 10
    assert all(u.status == "failed" for u in page.context["page"].object_list)
    everything = staff_client.get(reverse("connectors:upsert_list"), {"page": 2})
    assert everything.context["page"].number == 2 and len(everything.context["page"].object_list) == 5


def test_a_failed_upsert_has_a_retry_button_that_sends_it_again(account, fake_keap, staff_client):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapUnavailable("HTTP 503", status=503)]
    staff_client.post(NEW, form_data(account))
    record = ContactUpsert.objects.get()
    detail = staff_client.get(record.get_absolute_url()).content.decode()
    assert reverse("connectors:upsert_retry", args=[record.pk]) in detail
    assert staff_client.get(reverse("connectors:upsert_retry", args=[record.pk])).status_code == 405
    response = staff_client.post(reverse("connectors:upsert_retry", args=[record.pk]), follow=True)
    record.refresh_from_db()
    assert record.status == "succeeded" and record.attempts == 2
    assert "Created contact #1001" in response.content.decode()


def test_refresh_lookups_reads_the_lists_again_and_keeps_what_was_typed(account, fake_keap, staff_client):
    staff_client.get(NEW)  # lists cached
    calls = len(fake_keap.calls_to("GET", "/v2/tags"))
    data = form_data(account, given_name="Ada", country_code="CAN", region_code="CA-BC", _refresh="lookups")
    response = staff_client.post(NEW, data)
    html = response.content.decode()
    assert len(fake_keap.calls_to("GET", "/v2/tags")) > calls  # read from Keap again
    assert 'value="Ada"' in html and '<option value="CA-BC" selected>British Columbia</option>' in html
    assert "Read 3 countries and 3 tags from Alpine Bakery (sa101) again." in html
    assert ContactUpsert.objects.count() == 0 and not fake_keap.calls_to("POST")


def test_an_account_that_needs_reconnecting_is_named_so_and_its_provinces_answer_why(
    account, make_account, fake_keap, staff_client
):
    staff_client.get(NEW)  # countries and tags cached
    make_account(app="sa102", business="Bayside Dental")  # an active one: the form is shown
    account.status = ConnectedAccount.Status.NEEDS_RECONNECT
    account.save()
    lookups.lookups_refresh(account=account)  # its lists are now the last good copies, with notices
    html = staff_client.get(NEW, {"account": account.pk}).content.decode()
    assert "Alpine Bakery (sa101) needs reconnecting</strong>: nothing can be sent to it" in html
    assert html.count('class="alert ') == 1  # one alert for one cause: no lookup notices beside it
    assert "Alpine Bakery (sa101) — needs reconnecting</option>" in html
    # The form's script gets an answer, not a 404 (which made it reload the page again and again).
    answer = staff_client.get(
        reverse("connectors:contact_provinces"), {"account": account.pk, "country": "USA"}
    ).json()
    assert answer["provinces"] == [] and answer["available"] is False
    assert "needs reconnecting" in answer["message"]
    assert not fake_keap.calls_to("GET", "/v2/locales/countries/USA")


def test_the_page_names_the_country_its_provinces_are_for(account, fake_keap, staff_client):
    """The script asks for provinces only when the country shown is not that one (no reload loop)."""
    assert 'data-provinces-for=""' in staff_client.get(NEW).content.decode()
    page = staff_client.post(NEW, form_data(account, country_code="can", _refresh="provinces"))
    assert 'data-provinces-for="CAN"' in page.content.decode()


def test_an_unknown_upsert_is_404(db, staff_client):
    assert staff_client.get(reverse("connectors:upsert_detail", args=[999])).status_code == 404


def test_the_pages_are_for_staff_only(account, client):
    for url in (NEW, reverse("connectors:upsert_list"), reverse("connectors:contact_provinces")):
        assert client.get(url).status_code == 302


@pytest.mark.parametrize("key", ["nope", ""])
def test_a_garbled_or_missing_submission_key_still_sends_the_entry(account, fake_keap, staff_client, key):
    response = staff_client.post(NEW, form_data(account, submission_key=key))
    record = ContactUpsert.objects.get()
    assert response["Location"] == record.get_absolute_url() and record.status == "succeeded"


def test_the_result_names_the_tags_from_the_cache_without_calling_keap(account, fake_keap, staff_client):
    staff_client.post(NEW, form_data(account, tag_ids=["102"]))  # the form's render cached the tags
    calls = len(fake_keap.calls)
    html = staff_client.get(ContactUpsert.objects.get().get_absolute_url()).content.decode()
    assert "Newsletter (102)" in html
    assert len(fake_keap.calls) == calls


def test_with_no_active_account_the_form_lists_those_needing_a_reconnect(make_account, staff_client):
    account = make_account(status="needs_reconnect")
    page = staff_client.get(NEW).content.decode()
    assert "No active Keap account is connected" in page
    assert "need reconnecting" in page and account.get_absolute_url() in page


def test_one_keap_account_connected_through_two_developer_apps_is_told_apart(
    account, fake_keap, staff_client
):
    other_app = KeapApp.objects.create(name="Other Integration", client_id="other", client_secret="s")
    twin = ConnectedAccount.objects.create(
        keap_app=other_app,
        app_host=account.app_host,
        app_name=account.app_name,
        business_name=account.business_name,
        access_token="a",
        refresh_token="r",
    )
    labels = dict(staff_client.get(NEW).context["page"].form.fields["account"].choices)
    assert labels[account.pk] == "Alpine Bakery (sa101) · via Unit app"
    assert labels[twin.pk] == "Alpine Bakery (sa101) · via Other Integration"


def test_a_reconnect_button_for_each_account_that_needs_it(make_account, staff_client):
    account = make_account(status="needs_reconnect")
    page = staff_client.get(NEW).content.decode()
    assert f'action="{reverse("connectors:account_reconnect", args=[account.pk])}"' in page


def test_after_keap_refuses_the_connection_the_entry_stays_whole_and_says_reconnect(
    account, fake_keap, staff_client
):
    fake_keap.fail[("POST", "/v2/contacts")] = KeapAuthError("Invalid Access Token", status=401)
    data = form_data(account, country_code="CAN", region_code="CA-BC", tag_ids=["103"])
    response = staff_client.post(NEW, data)
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    form = response.context["page"].form
    assert form.chosen_account == account  # still chosen, with its lists (from the cache)
    html = response.content.decode()
    assert '<option value="CA-BC" selected>' in html and "(not in" not in html and "(unknown)" not in html
    assert 'value="103"' in html and "checked" in html.split('value="103"')[1][:40]

    again = staff_client.post(NEW, data)  # without reconnecting: refused on the field, nothing sent
    assert "needs reconnecting" in again.context["page"].form.errors["account"][0]
    assert len(fake_keap.calls_to("POST", "/v2/contacts")) == 1


def test_a_contact_sent_after_the_session_ended_comes_back_after_signing_in(account, fake_keap, staff_client):
    assert '<input type="hidden" name="_entered_by" value="staff">' in staff_client.get(NEW).content.decode()
    data = form_data(
        account,
        given_name="Ada",
        country_code="CAN",
        region_code="CA-BC",
        tag_ids=["102"],
        _entered_by="staff",
    )
    staff_client.post(reverse("logout"))  # e.g. in another tab
    response = staff_client.post(NEW, data)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    signin = staff_client.post(
        f"{reverse('login')}?next={NEW}", {"username": "staff", "password": "staff-password", "next": NEW}
    )
    assert signin["Location"] == NEW
    html = staff_client.get(NEW).content.decode()
    assert "Nothing was sent: you were signed out, or signed in again in another tab" in html
    assert 'value="Ada"' in html and '<option value="CA-BC" selected>British Columbia</option>' in html
    assert re.search(r'name="tag_ids" value="102"[^>]*checked>', html)
    assert not fake_keap.calls_to("POST") and ContactUpsert.objects.count() == 0
    assert "Nothing was sent" not in staff_client.get(NEW).content.decode()  # shown once


def test_a_contact_sent_while_signed_out_comes_back_only_to_whoever_typed_it(
    account, fake_keap, staff_client, django_user_model
):
    django_user_model.objects.create_user(username="other", password="other-password", is_staff=True)
    staff_client.get(NEW)
    staff_client.post(reverse("logout"))
    staff_client.post(NEW, form_data(account, given_name="Ada", _entered_by="staff"))
    staff_client.post(reverse("login"), {"username": "other", "password": "other-password"})
    html = staff_client.get(NEW).content.decode()
    assert 'value="Ada"' not in html and "Nothing was sent" not in html


def test_the_result_names_the_state_and_country_it_sent(account, fake_keap, staff_client):
    data = form_data(account, line1="1 Robson St", city="Vancouver", country_code="CAN", region_code="CA-BC")
    html = staff_client.post(NEW, data, follow=True).content.decode()
    assert "1 Robson St, Vancouver, British Columbia (CA-BC), Canada" in html


def test_switching_account_clears_the_ticked_tags_and_says_so(make_account, fake_keap, staff_client):
    first = make_account(app="sa101")
    second = make_account(app="sa102", business="Bayside Dental")
    data = form_data(first, given_name="Kept", tag_ids=["102"], _refresh="account")
    data["account"] = str(second.pk)  # the tag 102 of the first account is not the second's
    html = staff_client.post(NEW, data).content.decode()
    assert "Tags belong to each Keap account: tick them again for Bayside Dental (sa102)." in html
    assert not re.search(r'name="tag_ids" value="102"[^>]*checked', html)
    assert 'value="Kept"' in html


def test_a_tag_keap_refuses_after_the_contact_was_saved_says_the_contact_was_saved(
    account, fake_keap, staff_client
):
    fake_keap.fail[("POST", "/v2/tags/103/contacts:applyTags")] = [
        KeapValidationError("Bad Request", status=400)
    ]
    html = staff_client.post(NEW, form_data(account, tag_ids=["103"])).content.decode()
    assert (
        "Contact #1001 was saved in Keap, but its tags were not applied:</strong> Keap rejected the request"
        in html
    )


@pytest.fixture
def csrf_checking_client(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def test_a_contact_sent_from_a_page_whose_token_went_stale_comes_back(
    account, fake_keap, csrf_checking_client
):
    """Signed in again in another tab: the session's CSRF token changed under the open page."""
    client = csrf_checking_client
    client.get(NEW)
    data = form_data(account, given_name="Ada", _entered_by="staff", csrfmiddlewaretoken="stale" * 8)
    response = client.post(NEW, data, headers={"Origin": "http://testserver"})
    assert response.status_code == 302 and response["Location"] == NEW
    html = client.get(NEW).content.decode()
    assert "Nothing was sent" in html and 'value="Ada"' in html
    assert not fake_keap.calls_to("POST") and ContactUpsert.objects.count() == 0


def test_a_forged_form_from_another_site_is_refused_and_kept_nowhere(
    account, fake_keap, csrf_checking_client
):
    client = csrf_checking_client
    data = form_data(account, given_name="Mallory", _entered_by="staff")
    response = client.post(NEW, data, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and "This page was out of date" in response.content.decode()
    assert 'value="Mallory"' not in client.get(NEW).content.decode()
