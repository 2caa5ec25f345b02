"""The connect wizard in Chromium, the way a staff member walks it: keapconnect's pages and the
Keap sandbox's pages (sign in, pick the account, allow) over real HTTP."""

import pytest

from connectors.models import ConnectedAccount, KeapApp
from tests.support import sandbox as sb

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_page(page, live_server, keap_settings, django_user_model):
    """A browser signed in to keapconnect through its sign-in page."""
    django_user_model.objects.create_user(username="maria", password="maria-password-1", is_staff=True)
    page.goto(live_server.url + "/")
    assert "/signin/" in page.url  # sent to sign in first
    page.fill("#id_username", "maria")
    page.fill("#id_password", "maria-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    return page


def walk_to_keap_allow_page(page, live_server):
    page.get_by_role("link", name="Connect a Keap account").first.click()
    page.get_by_label("Name").fill("Sandbox developer app")
    page.get_by_label("Client ID").fill(sb.CLIENT_ID)
    page.get_by_label("Client Secret").fill(sb.CLIENT_SECRET)
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_role("button", name="Sign in with Keap").click()
    # Now on Keap (the sandbox): its own sign-in page, for the Keap user's login.
    assert page.url.startswith(keap_sandbox_url(page, live_server))
    page.fill("input[name=username]", sb.ALICE)
    page.fill("input[name=password]", sb.ALICE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # alice has two Keap accounts: the picker lists both; take the second.
    page.get_by_text("Bayside Dental").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Allow").wait_for()


def keap_sandbox_url(page, live_server):
    from django.conf import settings

    return settings.KEAP_AUTHORIZE_URL.rsplit("/app/", 1)[0]


def test_wizard_connects_the_second_of_two_keap_accounts(staff_page, live_server):
    page = staff_page
    walk_to_keap_allow_page(page, live_server)
    page.get_by_role("button", name="Allow").click()

    page.get_by_role("heading", name="Connected Bayside Dental (sa102)").wait_for()
    assert page.url.startswith(live_server.url)
    account = ConnectedAccount.objects.get()
    assert (account.app_host, account.business_name, account.status) == (
        "sa102.infusionsoft.com",
        "Bayside Dental",
        ConnectedAccount.Status.ACTIVE,
    )
    assert account.keap_user_email == sb.ALICE
    assert KeapApp.objects.get().client_id == sb.CLIENT_ID

    page.get_by_role("link", name="Keap accounts").first.click()
    row = page.locator("tr", has_text="Bayside Dental")
    assert "Active" in row.inner_text()


def test_declining_on_keap_ends_on_the_declined_page(staff_page, live_server):
    page = staff_page
    walk_to_keap_allow_page(page, live_server)
    page.get_by_role("button", name="Deny").click()

    page.get_by_role("heading", name="You declined access").wait_for()
    assert page.url.startswith(live_server.url)
    assert ConnectedAccount.objects.count() == 0
