"""The demo command's checks (the demo itself is walked by hand and by the README's first command)."""

import socket

import pytest
from django.core.management import CommandError, call_command

from connectors.management.commands.demo import Command
from connectors.models import ConnectedAccount
from tests.connect.factories import ConnectedAccountFactory

pytestmark = pytest.mark.django_db


def test_the_demo_needs_the_sandbox(settings):
    settings.KEAP_SANDBOX = False
    with pytest.raises(CommandError, match="KEAP_SANDBOX=1"):
        call_command("demo")


def test_a_busy_port_is_refused_with_a_way_out(settings):
    settings.KEAP_SANDBOX = True
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        settings.KEAP_SANDBOX_URL = f"http://127.0.0.1:{busy.getsockname()[1]}"
        with pytest.raises(CommandError, match="is in use.*KEAP_SANDBOX_URL=http://127.0.0.1:8766"):
            call_command("demo")


def test_connections_from_an_earlier_sandbox_are_marked_for_reconnecting():
    account = ConnectedAccountFactory()
    Command()._mark_connections_stale()
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert "sandbox was restarted" in account.last_error
    assert account.access_token  # kept as they are
