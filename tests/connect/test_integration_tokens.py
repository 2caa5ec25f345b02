"""The token lifecycle against the real sandbox: single-flight refresh, and nothing secret at rest."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from connectors.models import ConnectedAccount
from connectors.services.accounts import connected_account_client, connected_account_test

THREADS = 20


def _refresh_grants(sandbox) -> list[dict]:
    return [
        r for r in sandbox.requests(path="/token") if (r["json"] or {}).get("grant_type") == "refresh_token"
    ]


def _call_userinfo_in_threads(account_pk: int) -> tuple[list, list]:
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def worker():
        try:
            account = ConnectedAccount.objects.select_related("keap_app").get(pk=account_pk)
            client = connected_account_client(account=account)
            barrier.wait(timeout=10)
            with client:
                results.append(client.get("/v2/oauth/connect/userinfo")["email"])
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_calls_with_an_expired_token_refresh_exactly_once(
    postgres_only, connected_account, keap_settings
):
    sandbox = keap_settings
    sandbox.expire(app="sa101")
    ConnectedAccount.objects.filter(pk=connected_account.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    results, errors = _call_userinfo_in_threads(connected_account.pk)
    assert errors == []
    assert results == ["alice@example.com"] * THREADS
    grants = _refresh_grants(sandbox)
    assert len(grants) == 1
    assert [g["status"] for g in grants] == [200]
    account = ConnectedAccount.objects.get(pk=connected_account.pk)
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.refresh_token != connected_account.refresh_token
    assert account.access_token_expires_at > timezone.now() + timedelta(hours=23)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_401s_refresh_exactly_once(postgres_only, connected_account, keap_settings):
    """The stored expiry says valid but Keap answers 401: one refresh, the others retry on its token."""
    sandbox = keap_settings
    sandbox.expire(app="sa101")
    results, errors = _call_userinfo_in_threads(connected_account.pk)
    assert errors == []
    assert len(results) == THREADS
    assert len(_refresh_grants(sandbox)) == 1
    assert not [r for r in sandbox.requests(path="/token") if r["status"] != 200]


@pytest.mark.django_db
def test_expired_access_token_is_refreshed_once_and_the_call_succeeds(connected_account, keap_settings):
    sandbox = keap_settings
    sandbox.expire(app="sa101")
    message = connected_account_test(account=connected_account)
    assert "alice@example.com" in message
    assert len(_refresh_grants(sandbox)) == 1
    calls = sandbox.requests(path="/crm/rest/v2/oauth/connect/userinfo")
    assert [c["status"] for c in calls][-2:] == [401, 200]


@pytest.mark.django_db
def test_no_plain_text_secret_or_token_in_the_database_rows(connected_account):
    account = ConnectedAccount.objects.get(pk=connected_account.pk)
    secrets = [account.keap_app.client_secret, account.access_token, account.refresh_token]
    assert all(secrets)
    dump = []
    with connection.cursor() as cursor:
        for table in ("connectors_keapapp", "connectors_connectedaccount"):
            cursor.execute(f"SELECT * FROM {table}")
            dump.extend(str(value) for row in cursor.fetchall() for value in row)
    text = "\n".join(dump)
    assert "sa101.infusionsoft.com" in text  # the rows were read
    for secret in secrets:
        assert secret not in text
