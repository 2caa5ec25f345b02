"""The admin: the client secret is written once and shown redacted; tokens are never rendered."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connectors.admin import redact
from connectors.models import ConnectedAccount, KeapApp
from tests.connect.factories import ConnectedAccountFactory, KeapAppFactory

pytestmark = pytest.mark.django_db

SECRET = "abcd-the-middle-of-the-secret-wxyz"


@pytest.fixture
def admin_client(django_user_model):
    """A client of its own: the sandbox fixtures sign `client` in as the staff user."""
    client = Client()
    client.force_login(
        django_user_model.objects.create_superuser("root", "root@example.com", "root-password")
    )
    return client


def test_redact():
    assert redact(SECRET) == "abcd…wxyz"
    assert redact("short") == "…"
    assert redact("") == "—"


def test_secret_is_entered_when_adding_an_app(admin_client):
    page = admin_client.get(reverse("admin:connectors_keapapp_add")).content.decode()
    assert 'name="client_secret"' in page and 'type="password"' in page
    admin_client.post(
        reverse("admin:connectors_keapapp_add"),
        {"name": "Prod", "client_id": "prod-id", "client_secret": SECRET},
    )
    keap_app = KeapApp.objects.get()
    assert keap_app.client_secret == SECRET
    assert keap_app.created_by.username == "root"


def test_secret_is_redacted_and_read_only_afterwards(admin_client):
    keap_app = KeapAppFactory(client_secret=SECRET)
    url = reverse("admin:connectors_keapapp_change", args=[keap_app.pk])
    page = admin_client.get(url).content.decode()
    assert "abcd…wxyz" in page
    assert SECRET not in page
    assert 'name="client_secret"' not in page and 'name="client_id"' not in page
    admin_client.post(url, {"name": "Renamed", "client_id": "hijack", "client_secret": "other-secret-xxxx"})
    keap_app.refresh_from_db()
    assert (keap_app.name, keap_app.client_id, keap_app.client_secret) == (
        "Renamed",
        "test-client-id",
        SECRET,
    )
    listing = admin_client.get(reverse("admin:connectors_keapapp_changelist")).content.decode()
    assert "abcd…wxyz" in listing and SECRET not in listing


def test_connected_account_pages_never_render_tokens(admin_client):
    account = ConnectedAccountFactory(access_token="ACCESS-TOKEN-VALUE", refresh_token="REFRESH-TOKEN-VALUE")
    for url in (
        reverse("admin:connectors_connectedaccount_changelist"),
        reverse("admin:connectors_connectedaccount_change", args=[account.pk]),
        reverse("admin:connectors_connectedaccount_changelist") + "?q=alpine&status__exact=active",
    ):
        page = admin_client.get(url).content.decode()
        assert "Alpine Bakery" in page
        assert "ACCESS-TOKEN-VALUE" not in page and "REFRESH-TOKEN-VALUE" not in page
        assert not re.search(r"\b(access|refresh)_token\b", page)  # no field, not even an empty one


def test_changelist_filters_by_status_and_app(admin_client):
    ConnectedAccountFactory()
    ConnectedAccountFactory(
        app_host="q1.infusionsoft.com", app_name="q1", business_name="Quiet", status="disconnected"
    )
    page = admin_client.get(
        reverse("admin:connectors_connectedaccount_changelist") + "?status__exact=disconnected"
    ).content.decode()
    assert "Quiet" in page and "Alpine Bakery" not in page


def _action(admin_client, action, accounts):
    response = admin_client.post(
        reverse("admin:connectors_connectedaccount_changelist"),
        {"action": action, "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def test_disconnect_action(admin_client):
    account = ConnectedAccountFactory()
    messages = _action(admin_client, "disconnect", [account])
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.DISCONNECTED and account.refresh_token is None
    assert messages == ["Alpine Bakery (xy123): disconnected; its tokens are deleted."]


def test_test_and_refresh_actions_report_per_account(admin_client, connected_account, keap_settings):
    broken = ConnectedAccountFactory(
        keap_app=connected_account.keap_app,
        app_host="gone.infusionsoft.com",
        app_name="gone",
        business_name="Gone",
    )
    messages = _action(admin_client, "test_connection", [connected_account, broken])
    assert any("Alpine Bakery (sa101)" in m and "alice@example.com" in m for m in messages)
    assert any(m.startswith("Gone (gone):") and "reconnect" in m.lower() for m in messages)
    broken.refresh_from_db()
    assert broken.status == ConnectedAccount.Status.NEEDS_RECONNECT

    old_refresh = connected_account.refresh_token
    messages = _action(admin_client, "refresh_tokens_now", [connected_account])
    assert messages[0].startswith("Alpine Bakery (sa101): tokens refreshed")
    connected_account.refresh_from_db()
    assert connected_account.refresh_token != old_refresh
    assert connected_account.access_token_expires_at > timezone.now() + timedelta(hours=23)
