"""`manage.py keap_refresh_tokens`, against the sandbox."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from connectors.models import ConnectedAccount
from tests.support import sandbox as sb

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("keap_refresh_tokens", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def age(account, days):
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_token_issued_at=timezone.now() - timedelta(days=days)
    )


@pytest.fixture
def two_accounts(keap_connect):
    old = keap_connect(user=sb.ALICE, app="sa101")
    young = keap_connect(user=sb.ALICE, app="sa102")
    age(old, 31)
    age(young, 2)
    return old, young


def test_refreshes_only_old_refresh_tokens(two_accounts, keap_settings):
    old, young = two_accounts
    out, err = run()
    assert "refreshed Alpine Bakery (sa101)" in out and "31 days old" in out
    assert "Bayside Dental" not in out
    assert "1 refreshed, 0 failed." in out
    fresh = ConnectedAccount.objects.get(pk=old.pk)
    assert fresh.refresh_token != old.refresh_token
    assert fresh.refresh_token_issued_at > timezone.now() - timedelta(minutes=1)
    assert ConnectedAccount.objects.get(pk=young.pk).refresh_token == young.refresh_token
    grants = [r for r in keap_settings.requests(path="/token") if r["json"]["grant_type"] == "refresh_token"]
    assert len(grants) == 1 and grants[0]["app"] in (None, "sa101")


def test_older_than_days_and_dry_run(two_accounts, keap_settings):
    old, young = two_accounts
    out, _ = run("--older-than-days", "1", "--dry-run")
    assert "would refresh Alpine Bakery (sa101)" in out and "would refresh Bayside Dental (sa102)" in out
    assert "Dry run: 2 connection(s) due, nothing refreshed." in out
    assert ConnectedAccount.objects.get(pk=old.pk).refresh_token == old.refresh_token
    assert not [
        r for r in keap_settings.requests(path="/token") if r["json"]["grant_type"] == "refresh_token"
    ]


def test_skips_accounts_that_are_not_active(two_accounts):
    old, _young = two_accounts
    ConnectedAccount.objects.filter(pk=old.pk).update(status=ConnectedAccount.Status.NEEDS_RECONNECT)
    out, _ = run()
    assert "No active connection has a refresh token older than 30 days." in out


def test_a_refused_refresh_is_reported_and_exits_non_zero(two_accounts, keap_settings):
    old, young = two_accounts
    age(young, 40)
    keap_settings.revoke(app="sa101")
    with pytest.raises(CommandError) as caught:
        run()
    assert caught.value.returncode == 1
    assert "1 of 2 connection(s) could not be refreshed" in str(caught.value)
    old = ConnectedAccount.objects.get(pk=old.pk)
    assert old.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert ConnectedAccount.objects.get(pk=young.pk).refresh_token != young.refresh_token
