"""The connect wizard end to end: our views through Django's test client, Keap's pages over real HTTP
against the sandbox process."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connectors.models import ConnectedAccount, KeapApp
from connectors.services.accounts import connected_account_client, oauth_token_refresh
from connectors.services.oauth import SESSION_KEY
from tests.fixtures_accounts import callback_params, callback_path, keap_side, start_flow
from tests.support import sandbox as sb

pytestmark = pytest.mark.django_db(transaction=False)

CALLBACK = "http://testserver/connect/callback/"


def test_wizard_connects_the_second_of_two_accounts(keap_settings, staff_client, staff_user):
    sandbox = keap_settings
    # 1 Enter keys
    page = staff_client.get(reverse("connectors:connect_keys"))
    assert CALLBACK in page.content.decode()
    response = staff_client.post(
        reverse("connectors:connect_keys"),
        {
            "keys-name": "Sandbox app",
            "keys-client_id": sb.CLIENT_ID,
            "keys-client_secret": sb.CLIENT_SECRET,
            "keys": "1",
        },
    )
    keap_app = KeapApp.objects.get(client_id=sb.CLIENT_ID)
    assert response["Location"] == reverse("connectors:connect_signin", args=[keap_app.pk])
    # 2 Sign in: our POST sends the browser to Keap with a fresh state
    authorize_url = start_flow(staff_client, keap_app)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(sandbox.url + "/app/oauth/authorize?")
    assert query["client_id"] == [sb.CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["response_type"] == ["code"] and query["scope"] == ["full"]
    assert list(staff_client.session[SESSION_KEY]) == query["state"]
    # 3-4 on Keap: alice signs in, picks her SECOND account (sa102), allows
    location = keap_side(authorize_url, user=sb.ALICE, app="sa102")
    assert callback_params(location)["state"] == query["state"][0]
    # back at our callback
    response = staff_client.get(callback_path(location))
    account = ConnectedAccount.objects.get()
    assert response["Location"] == reverse("connectors:connect_done", args=[account.pk])
    assert (account.keap_app, account.app_host, account.app_name) == (
        keap_app,
        "sa102.infusionsoft.com",
        "sa102",
    )
    assert account.business_name == "Bayside Dental"
    assert account.keap_user_email == sb.ALICE
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.connected_by == staff_user
    assert account.scope == "full|sa102.infusionsoft.com"
    assert account.access_token and account.refresh_token and account.access_token_expires_at
    done = staff_client.get(response["Location"])
    assert "Connected Bayside Dental (sa102)" in done.content.decode()
    assert "connected already" not in done.content.decode()
    # the code exchange presented the credentials in the form body, as Keap wants
    [exchange] = sandbox.requests(path="/token")
    assert exchange["json"] == {
        "grant_type": "authorization_code",
        "code": "***",  # the sandbox redacts secrets in its log; it checked the real values
        "redirect_uri": CALLBACK,
        "client_id": sb.CLIENT_ID,
        "client_secret": "***",
    }
    # the stored tokens work: a call through our client reaches sa102
    with connected_account_client(account=account) as client:
        assert client.get("/v2/businessProfile")["name"] == "Bayside Dental"
    # the state was single-use
    assert staff_client.session[SESSION_KEY] == {}


def test_reconnect_updates_the_same_row(keap_connect, staff_client, sandbox_keap_app):
    account = keap_connect(user=sb.ALICE, app="sa101")
    old_refresh = account.refresh_token
    ConnectedAccount.objects.filter(pk=account.pk).update(
        status=ConnectedAccount.Status.NEEDS_RECONNECT, last_error="Keap refused to refresh"
    )
    response = staff_client.post(reverse("connectors:account_reconnect", args=[account.pk]))
    assert (
        response["Location"]
        == reverse("connectors:connect_signin", args=[sandbox_keap_app.pk]) + f"?account={account.pk}"
    )
    again = keap_connect(user=sb.ALICE, app="sa101", account=account)
    assert again.pk == account.pk
    assert ConnectedAccount.objects.count() == 1
    assert again.status == ConnectedAccount.Status.ACTIVE
    assert again.last_error == ""
    assert again.refresh_token != old_refresh
    done = staff_client.get(reverse("connectors:connect_done", args=[again.pk])).content.decode()
    assert "Alpine Bakery (sa101) was connected already: its connection is renewed, not duplicated." in done


def test_reconnect_picking_another_account_connects_that_one_and_says_so(keap_connect, staff_client):
    first = keap_connect(user=sb.ALICE, app="sa101")
    ConnectedAccount.objects.filter(pk=first.pk).update(status=ConnectedAccount.Status.NEEDS_RECONNECT)
    authorize_url = start_flow(staff_client, first.keap_app, first)
    location = keap_side(authorize_url, user=sb.ALICE, app="sa102")
    response = staff_client.get(callback_path(location), follow=True)
    other = ConnectedAccount.objects.get(app_host="sa102.infusionsoft.com")
    assert response.redirect_chain[-1][0] == reverse("connectors:connect_done", args=[other.pk])
    page = response.content.decode()
    assert "You set out to reconnect Alpine Bakery (sa101), but picked Bayside Dental (sa102)" in page
    first.refresh_from_db()
    assert first.status == ConnectedAccount.Status.NEEDS_RECONNECT


def test_declining_on_keap_shows_declined_and_stores_nothing(keap_settings, staff_client, sandbox_keap_app):
    location = keap_side(
        start_flow(staff_client, sandbox_keap_app), user=sb.ALICE, app="sa101", decision="deny"
    )
    assert callback_params(location)["error"] == "access_denied"
    response = staff_client.get(callback_path(location))
    assert response.status_code == 200
    page = response.content.decode()
    assert "You declined access" in page
    assert reverse("connectors:connect_signin", args=[sandbox_keap_app.pk]) in page  # start again
    assert not ConnectedAccount.objects.exists()
    assert staff_client.session[SESSION_KEY] == {}


def test_tampered_state_is_refused_with_400_and_nothing_is_stored(
    keap_settings, staff_client, sandbox_keap_app, caplog
):
    location = keap_side(start_flow(staff_client, sandbox_keap_app), user=sb.ALICE, app="sa101")
    params = callback_params(location)
    response = staff_client.get(
        reverse("connectors:connect_callback"), {"code": params["code"], "state": params["state"] + "x"}
    )
    assert response.status_code == 400
    assert "This sign-in link is not valid" in response.content.decode()
    assert [r.name for r in caplog.records if r.name.startswith("django.security")] == [
        "django.security.OAuthStateError"
    ]
    assert not ConnectedAccount.objects.exists()
    assert not [r for r in keap_settings.requests(path="/token")]  # the code was never exchanged


def test_reused_state_is_refused(keap_settings, staff_client, sandbox_keap_app):
    location = keap_side(start_flow(staff_client, sandbox_keap_app), user=sb.ALICE, app="sa101")
    assert staff_client.get(callback_path(location)).status_code == 302
    account = ConnectedAccount.objects.get()
    response = staff_client.get(callback_path(location))
    assert response.status_code == 400
    assert ConnectedAccount.objects.get().access_token == account.access_token


def test_expired_state_is_refused(keap_settings, staff_client, sandbox_keap_app, settings):
    location = keap_side(start_flow(staff_client, sandbox_keap_app), user=sb.ALICE, app="sa101")
    session = staff_client.session
    states = session[SESSION_KEY]
    for entry in states.values():
        entry["created"] -= settings.KEAP_OAUTH_STATE_MAX_AGE + 1
    session[SESSION_KEY] = states
    session.save()
    response = staff_client.get(callback_path(location))
    assert response.status_code == 400
    assert not ConnectedAccount.objects.exists()


def test_wrong_client_secret_ends_on_a_page_that_says_what_to_check(keap_settings, staff_client, db):
    keap_app = KeapApp.objects.create(name="Typo", client_id=sb.CLIENT_ID, client_secret="not-the-secret")
    location = keap_side(start_flow(staff_client, keap_app), user=sb.ALICE, app="sa101")
    response = staff_client.get(callback_path(location))
    assert response.status_code == 400
    page = response.content.decode()
    assert "client secret" in page and "redirect URI" in page
    assert CALLBACK in page
    assert "not-the-secret" not in page
    assert not ConnectedAccount.objects.exists()


def test_refresh_against_the_sandbox_rotates_and_a_refused_one_needs_reconnect(
    connected_account, keap_settings
):
    old_refresh = connected_account.refresh_token
    fresh = oauth_token_refresh(account=connected_account)
    assert fresh.refresh_token != old_refresh
    # the old refresh token is dead at Keap: spending it again is refused
    assert sb.refresh_tokens(keap_settings.url, old_refresh).status_code == 400
    keap_settings.revoke(app="sa101")
    from connectors.errors import ReconnectNeeded

    with pytest.raises(ReconnectNeeded):
        oauth_token_refresh(account=fresh)
    fresh.refresh_from_db()
    assert fresh.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert "client secret" in fresh.last_error
