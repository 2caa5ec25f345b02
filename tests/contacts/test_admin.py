"""The ContactUpsert admin: filters, search, the read-only pretty payload, and the Retry action."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import ContactUpsert

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:connectors_contactupsert_changelist")


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "root-password")
    client.force_login(user)
    return client


@pytest.fixture
def records(make_account):
    alpine, bayside = make_account(app="sa101"), make_account(app="sa102", business="Bayside Dental")
    return {
        "created": ContactUpsert.objects.create(
            account=alpine,
            email="ann@example.com",
            payload={"given_name": "Ann"},
            status="succeeded",
            outcome="created",
            keap_contact_id="1",
        ),
        "updated": ContactUpsert.objects.create(
            account=bayside,
            email="bob@example.com",
            payload={},
            status="succeeded",
            outcome="updated",
            keap_contact_id="2",
        ),
        "failed": ContactUpsert.objects.create(
            account=alpine,
            email="cy@example.com",
            status="failed",
            error_message="Keap is unavailable",
            attempts=1,
            submitted={"email": "cy@example.com"},
            payload={"email_addresses": [{"email": "cy@example.com", "field": "EMAIL1"}]},
            tag_ids=["103"],
        ),
    }


def shown(response) -> set[str]:
    return {u.email for u in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "emails"),
    [
        ({"status__exact": "failed"}, {"cy@example.com"}),
        ({"outcome__exact": "created"}, {"ann@example.com"}),
        ({"outcome__exact": "updated"}, {"bob@example.com"}),
        ({"q": "BOB@"}, {"bob@example.com"}),
    ],
)
def test_the_list_filters_and_searches(admin_client_, records, query, emails):
    assert shown(admin_client_.get(CHANGELIST, query)) == emails


def test_the_list_filters_by_account(admin_client_, records):
    account = records["updated"].account
    assert shown(admin_client_.get(CHANGELIST, {"account__id__exact": account.pk})) == {"bob@example.com"}


def test_the_payload_is_shown_read_only_and_pretty(admin_client_, records):
    record = records["created"]
    html = admin_client_.get(
        reverse("admin:connectors_contactupsert_change", args=[record.pk])
    ).content.decode()
    assert "<pre>{\n  &quot;given_name&quot;: &quot;Ann&quot;\n}</pre>" in html
    assert 'name="payload"' not in html and 'name="email"' not in html
    assert admin_client_.get(reverse("admin:connectors_contactupsert_add")).status_code == 403


def test_the_retry_action_sends_failed_ones_through_the_service(admin_client_, records, fake_keap):
    stuck = records["failed"]
    pending = ContactUpsert.objects.create(account=stuck.account, email="new@example.com", payload={})
    response = admin_client_.post(
        CHANGELIST,
        {"action": "retry", "_selected_action": [stuck.pk, records["created"].pk, pending.pk]},
        follow=True,
    )
    stuck.refresh_from_db()
    assert (stuck.status, stuck.outcome, stuck.attempts, stuck.error_message) == (
        "succeeded",
        "created",
        2,
        "",
    )
    assert fake_keap.applied == {stuck.keap_contact_id: {"103"}}
    texts = [str(m) for m in response.context["messages"]]
    assert "Retried cy@example.com: Created contact #1001 in Alpine Bakery" in texts
    assert any("ann@example.com" in t and "Skipped" in t for t in texts)
    assert any("new@example.com" in t and "Skipped" in t for t in texts)  # pending, not stuck yet
    assert len(fake_keap.calls_to("POST", "/v2/contacts")) == 1


def test_a_pending_upsert_stuck_for_minutes_can_be_retried(admin_client_, records, fake_keap):
    stuck = ContactUpsert.objects.create(
        account=records["created"].account,
        email="stuck@example.com",
        submitted={"email": "stuck@example.com"},
        payload={"email_addresses": [{"email": "stuck@example.com", "field": "EMAIL1"}]},
    )
    ContactUpsert.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(minutes=10))
    admin_client_.post(CHANGELIST, {"action": "retry", "_selected_action": [stuck.pk]})
    stuck.refresh_from_db()
    assert stuck.status == "succeeded"
