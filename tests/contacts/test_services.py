"""contact_upsert and contact_upsert_retry with Keap stubbed at the client boundary."""

import uuid

import pytest
from django.db.models import QuerySet

from connectors.errors import AccountUnavailable, KeapRejected, ReconnectNeeded, TryAgainLater
from connectors.keap.errors import KeapAuthError, KeapThrottled, KeapUnavailable, KeapValidationError
from connectors.models import ConnectedAccount, ContactUpsert
from connectors.services.contacts import ContactInput, contact_upsert, contact_upsert_retry

pytestmark = pytest.mark.django_db


def test_a_new_email_creates_a_contact_applies_tags_and_records_it(account, fake_keap, staff_user):
    result = contact_upsert(
        account=account,
        contact=ContactInput(email="ada@example.com", given_name="Ada"),
        duplicate_option="Email",
        tag_ids=["101", "103"],
        performed_by=staff_user,
    )
    assert result.created and result.contact_id == "1001"
    assert result.message == "Created contact #1001 in Alpine Bakery"
    post = fake_keap.calls_to("POST", "/v2/contacts")[0]
    assert post[2] == {"duplicate_option": "Email"}
    assert fake_keap.applied == {"1001": {"101", "103"}}
    record = ContactUpsert.objects.get()
    assert (record.status, record.outcome, record.keap_contact_id, record.attempts) == (
        "succeeded",
        "created",
        "1001",
        1,
    )
    assert (
        record.payload == post[3] and record.tag_ids == ["101", "103"] and record.performed_by == staff_user
    )


def test_the_lookup_before_the_upsert_asks_for_the_exact_email(account, fake_keap):
    contact_upsert(
        account=account,
        contact=ContactInput(email="a+b@example.com"),
    )
    get = fake_keap.calls_to("GET", "/v2/contacts")[0]
    assert get[2]["filter"] == "email==a+b@example.com"  # requests URL-encodes it (+ -> %2B)


def test_an_existing_contact_is_updated_with_its_other_slots_and_stored_email(account, fake_keap):
    fake_keap.contacts.append(
        {
            "id": "77",
            "email_addresses": [
                {"email": "Erin@Example.com", "field": "EMAIL1"},
                {"email": "erin2@example.com", "field": "EMAIL2"},
            ],
        }
    )
    result = contact_upsert(
        account=account,
        contact=ContactInput(email="erin@example.com"),
    )
    assert not result.created and result.contact_id == "77"
    assert result.message == "Updated contact #77 in Alpine Bakery"
    assert result.payload["email_addresses"] == [
        {"email": "Erin@Example.com", "field": "EMAIL1"},
        {"email": "erin2@example.com", "field": "EMAIL2"},
    ]


def test_the_same_submission_key_never_calls_keap_twice(account, fake_keap):
    key = uuid.uuid4()
    first = contact_upsert(
        account=account,
        contact=ContactInput(email="ada@example.com"),
        submission_key=key,
    )
    calls = len(fake_keap.calls)
    again = contact_upsert(
        account=account,
        contact=ContactInput(email="ada@example.com"),
        submission_key=key,
    )
    assert again.replayed and again.upsert.pk == first.upsert.pk
    assert len(fake_keap.calls) == calls
    assert ContactUpsert.objects.count() == 1


def _race(account, fake_keap, monkeypatch):
    """Two requests with one key at once: the second looks before the first has written its record."""
    entry = dict(contact=ContactInput(email="ada@example.com"), duplicate_option="Email", tag_ids=[])
    key = uuid.uuid4()
    first = contact_upsert(account=account, performed_by=None, submission_key=key, **entry)
    calls = len(fake_keap.calls)
    lookups = iter([None])  # the second request's look for the key finds nothing yet
    real_first = QuerySet.first
    monkeypatch.setattr(QuerySet, "first", lambda qs: next(lookups, None) or real_first(qs))
    again = contact_upsert(account=account, performed_by=None, submission_key=key, **entry)
    assert again.replayed and again.upsert.pk == first.upsert.pk  # the unique key stopped the second
    assert len(fake_keap.calls) == calls and ContactUpsert.objects.count() == 1


def test_a_key_sent_twice_at_once_is_sent_once(account, fake_keap, monkeypatch):
    _race(account, fake_keap, monkeypatch)  # inside the test's transaction: a savepoint


@pytest.mark.django_db(transaction=True)
def test_a_key_sent_twice_at_once_is_sent_once_in_autocommit(account, fake_keap, monkeypatch):
    _race(account, fake_keap, monkeypatch)


@pytest.mark.parametrize(
    ("error", "raised", "message_part"),
    [
        (
            KeapValidationError("BILLING Region is invalid", status=400),
            KeapRejected,
            "BILLING Region is invalid",
        ),
        (KeapThrottled("Quota Exceeded", status=429), TryAgainLater, "limiting"),
        (KeapUnavailable("Keap failed on its side (HTTP 503).", status=503), TryAgainLater, "HTTP 503"),
        (KeapAuthError("Invalid Access Token", status=401), ReconnectNeeded, "reconnect"),
    ],
)
def test_a_keap_error_leaves_a_failed_record_and_raises_the_service_error(
    account, fake_keap, error, raised, message_part
):
    fake_keap.fail[("POST", "/v2/contacts")] = error
    with pytest.raises(raised) as caught:
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com", country_code="USA", region_code="US-CA"),
        )
    record = ContactUpsert.objects.get()
    assert (
        record.status == "failed"
        and record.attempts == 1
        and record.outcome == ""
        and record.keap_contact_id == ""
    )
    assert message_part.lower() in record.error_message.lower()
    assert record.error_message == caught.value.message
    assert record.payload["addresses"][0]["region_code"] == "US-CA"  # what would have been sent


def test_a_region_rejection_names_the_state_field(account, fake_keap):
    fake_keap.fail[("POST", "/v2/contacts")] = KeapValidationError("BILLING Region is invalid", status=400)
    with pytest.raises(KeapRejected) as caught:
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
        )
    assert caught.value.field == "region_code"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("EMAIL1 'ada@région.example' is not a valid email address", "email"),
        ("country_code is required if region is specified", "region_code"),
        ("BILLING Country Code is invalid", "country_code"),
        ("given_name exceeds the maximum length of 40 characters", "given_name"),
        ("PHONE1 exceeds the maximum length of 40 characters", "phone_number"),
        ("Something else went wrong", None),
    ],
)
def test_keap_messages_are_attributed_to_form_fields(account, fake_keap, message, field):
    fake_keap.fail[("POST", "/v2/contacts")] = KeapValidationError(message, status=400)
    with pytest.raises(KeapRejected) as caught:
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
        )
    assert caught.value.field == field


def test_an_auth_failure_marks_the_account_for_reconnecting(account, fake_keap):
    fake_keap.fail[("GET", "/v2/contacts")] = KeapAuthError("Invalid Access Token", status=401)
    with pytest.raises(ReconnectNeeded):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
        )
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert ContactUpsert.objects.get().status == "failed"
    assert fake_keap.calls_to("POST") == []


def test_an_inactive_account_leaves_a_failed_record_and_no_call(make_account, fake_keap):
    account = make_account(status=ConnectedAccount.Status.NEEDS_RECONNECT)
    with pytest.raises(AccountUnavailable):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
        )
    assert ContactUpsert.objects.get().status == "failed"
    assert fake_keap.calls == []


def test_retry_sends_again_through_the_same_steps_and_completes_the_record(account, fake_keap, staff_user):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapUnavailable("HTTP 503", status=503)]
    with pytest.raises(TryAgainLater):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com", phone_number="123"),
            duplicate_option="Email",
            tag_ids=["102"],
            performed_by=None,
        )
    record = ContactUpsert.objects.get()
    result = contact_upsert_retry(upsert=record, performed_by=staff_user)
    record.refresh_from_db()
    assert result.created
    assert (record.status, record.outcome, record.attempts, record.error_message) == (
        "succeeded",
        "created",
        2,
        "",
    )
    assert record.performed_by == staff_user
    assert fake_keap.contacts[0]["phone_numbers"] == [{"field": "PHONE1", "number": "123"}]
    assert fake_keap.applied == {record.keap_contact_id: {"102"}}


def test_a_contact_saved_but_not_tagged_is_failed_with_its_id_and_stays_created_on_retry(account, fake_keap):
    fake_keap.fail[("POST", "/v2/tags/103/contacts:applyTags")] = [KeapUnavailable("HTTP 503", status=503)]
    with pytest.raises(TryAgainLater):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
            duplicate_option="Email",
            tag_ids=["103"],
            performed_by=None,
        )
    record = ContactUpsert.objects.get()
    assert (record.status, record.outcome, record.keap_contact_id) == ("failed", "created", "1001")
    contact_upsert_retry(upsert=record, performed_by=None)
    record.refresh_from_db()
    assert (record.status, record.outcome, record.keap_contact_id) == ("succeeded", "created", "1001")
    assert len(fake_keap.contacts) == 1


def test_retry_refuses_a_succeeded_upsert(account, fake_keap):
    from connectors.errors import ConnectorError

    result = contact_upsert(
        account=account,
        contact=ContactInput(email="ada@example.com"),
    )
    with pytest.raises(ConnectorError):
        contact_upsert_retry(upsert=result.upsert, performed_by=None)


def test_a_retry_of_a_record_another_request_is_sending_does_not_send_it_again(account, fake_keap):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapUnavailable("HTTP 503", status=503)]
    with pytest.raises(TryAgainLater):
        contact_upsert(account=account, contact=ContactInput(email="ada@example.com"))
    record = ContactUpsert.objects.get()
    stale_copy = ContactUpsert.objects.get(pk=record.pk)  # what a second click started from
    first = contact_upsert_retry(upsert=record, performed_by=None)
    second = contact_upsert_retry(upsert=stale_copy, performed_by=None)  # the claim is gone: no send
    assert first.succeeded and not first.replayed
    assert second.replayed and second.upsert.status == "succeeded"
    assert len(fake_keap.calls_to("POST", "/v2/contacts")) == 2  # the failed send and one retry


def test_email_and_name_and_company_is_not_offered(account, fake_keap):
    with pytest.raises(ValueError):
        contact_upsert(
            account=account,
            contact=ContactInput(email="a@x.com"),
            duplicate_option="EmailAndNameAndCompany",
            tag_ids=[],
            performed_by=None,
        )


@pytest.mark.django_db(transaction=True)
def test_the_pending_record_is_committed_before_keap_is_called_outside_any_transaction(account, fake_keap):
    from django.db import connection

    seen = {}
    answer = fake_keap._answer

    def spy(method, path, params, json):
        if method == "POST" and path == "/v2/contacts":
            seen["in_transaction"] = connection.in_atomic_block
            seen["record"] = ContactUpsert.objects.values("status", "attempts", "email").get()
        return answer(method, path, params, json)

    fake_keap._answer = spy
    contact_upsert(
        account=account,
        contact=ContactInput(email="ada@example.com"),
    )
    assert seen == {
        "in_transaction": False,
        "record": {"status": "pending", "attempts": 0, "email": "ada@example.com"},
    }


def test_an_unexpected_crash_after_the_record_leaves_it_failed_not_lost(account, fake_keap):
    fake_keap._answer = lambda *args: (_ for _ in ()).throw(RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
        )
    record = ContactUpsert.objects.get()
    assert (record.status, record.error_message) == ("failed", "Unexpected error: RuntimeError")


def test_retry_keeps_the_person_who_entered_the_contact(account, fake_keap, staff_user, django_user_model):
    fake_keap.fail[("POST", "/v2/contacts")] = [KeapUnavailable("HTTP 503", status=503)]
    with pytest.raises(TryAgainLater):
        contact_upsert(
            account=account,
            contact=ContactInput(email="ada@example.com"),
            duplicate_option="Email",
            tag_ids=[],
            performed_by=staff_user,
        )
    other = django_user_model.objects.create_user(username="other", is_staff=True)
    contact_upsert_retry(upsert=ContactUpsert.objects.get(), performed_by=other)
    assert ContactUpsert.objects.get().performed_by == staff_user
