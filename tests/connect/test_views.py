"""The wizard's pages and the accounts pages, through Django's test client."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from connectors.models import ConnectedAccount, KeapApp
from tests.connect.factories import ConnectedAccountFactory, KeapAppFactory
from tests.support import sandbox as sb

pytestmark = pytest.mark.django_db

KEYS = reverse("connectors:connect_keys")


def keys_post(client, **fields):
    data = {"keys": "1"}
    data.update({f"keys-{name}": value for name, value in fields.items()})
    return client.post(KEYS, data)


# -- step 1: keys ------------------------------------------------------------------------------
def test_keys_page_shows_the_redirect_uri_to_register(staff_client, settings):
    page = staff_client.get(KEYS).content.decode()
    assert 'value="http://testserver/connect/callback/"' in page
    assert "1 Enter keys" in page and "4 Allow access" in page
    settings.KEAP_REDIRECT_URI = "https://kc.example.com/connect/callback/"
    assert 'value="https://kc.example.com/connect/callback/"' in staff_client.get(KEYS).content.decode()


def test_entering_keys_saves_the_app_encrypted_and_goes_to_sign_in(staff_client, staff_user):
    response = keys_post(staff_client, name="Production", client_id=" abc123 ", client_secret="s3cret-value")
    keap_app = KeapApp.objects.get()
    assert response["Location"] == reverse("connectors:connect_signin", args=[keap_app.pk])
    assert (keap_app.name, keap_app.client_id, keap_app.client_secret) == (
        "Production",
        "abc123",
        "s3cret-value",
    )
    assert keap_app.created_by == staff_user


def test_missing_keys_get_field_errors(staff_client):
    response = keys_post(staff_client, name="", client_id="has space", client_secret="")
    form = response.context["keys_form"]
    assert set(form.errors) == {"name", "client_id", "client_secret"}
    assert "no spaces" in form.errors["client_id"][0]
    assert not KeapApp.objects.exists()


def test_known_client_id_is_an_error_on_the_field_that_offers_to_replace_the_secret(staff_client):
    existing = KeapAppFactory(name="Production", client_secret="old-secret-value")
    response = keys_post(
        staff_client, name="Again", client_id=existing.client_id, client_secret="new-secret-value"
    )
    form = response.context["keys_form"]
    assert "already saved as the developer app “Production”" in form.errors["client_id"][0]
    assert 'name="keys-replace_secret"' in response.content.decode()
    existing.refresh_from_db()
    assert existing.client_secret == "old-secret-value"
    # ticking the box replaces the secret of that app (a secret reset in Keap's developer portal)
    response = keys_post(
        staff_client,
        name="Again",
        client_id=existing.client_id,
        client_secret="new-secret-value",
        replace_secret="on",
    )
    assert response["Location"] == reverse("connectors:connect_signin", args=[existing.pk])
    existing.refresh_from_db()
    assert (existing.name, existing.client_secret) == ("Again", "new-secret-value")  # the name typed too
    page = staff_client.get(response["Location"]).content.decode()
    assert "Replaced the client secret of “Again” (renamed from “Production”)." in page
    assert KeapApp.objects.count() == 1


def test_a_second_app_of_the_same_name_is_refused_and_saved_apps_show_their_client_id(staff_client):
    KeapAppFactory(name="Demo app", client_id="first-id")
    response = keys_post(staff_client, name="demo APP", client_id="second-id", client_secret="s3cret-value")
    assert response.context["keys_form"].errors["name"] == [
        "A developer app is already called “Demo app”: choose another name."
    ]
    assert KeapApp.objects.count() == 1
    assert "Demo app · client ID first-id" in staff_client.get(KEYS).content.decode()


def test_choosing_a_saved_app_skips_the_keys(staff_client):
    keap_app = KeapAppFactory()
    page = staff_client.get(KEYS).content.decode()
    assert "Use a developer app you have saved" in page
    response = staff_client.post(KEYS, {"choose": "1", "choose-keap_app": keap_app.pk})
    assert response["Location"] == reverse("connectors:connect_signin", args=[keap_app.pk])


# -- step 2: sign in ---------------------------------------------------------------------------
def test_sign_in_page_explains_whose_login_and_posts(staff_client):
    keap_app = KeapAppFactory()
    page = staff_client.get(reverse("connectors:connect_signin", args=[keap_app.pk])).content.decode()
    assert "not</strong> the developer account" in page
    assert 'method="post"' in page and "Sign in with Keap" in page


def test_sign_in_cannot_be_started_by_a_get(staff_client, settings):
    keap_app = KeapAppFactory()
    response = staff_client.get(reverse("connectors:connect_signin", args=[keap_app.pk]))
    assert response.status_code == 200
    assert "keap_oauth_states" not in staff_client.session


def test_sign_in_for_another_apps_account_is_404(staff_client):
    account = ConnectedAccountFactory()
    other = KeapAppFactory(client_id="other")
    url = reverse("connectors:connect_signin", args=[other.pk]) + f"?account={account.pk}"
    assert staff_client.get(url).status_code == 404


def test_callback_without_state_is_a_400_page_not_a_500(staff_client):
    response = staff_client.get(reverse("connectors:connect_callback"), {"code": "abc"})
    assert response.status_code == 400
    assert "This sign-in link is not valid" in response.content.decode()


def start_flow(client) -> str:
    """POST the sign-in step; return the state sent to Keap."""
    keap_app = KeapAppFactory()
    location = client.post(reverse("connectors:connect_signin", args=[keap_app.pk]))["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def test_callback_with_a_keap_error_other_than_denied_says_it_failed(staff_client):
    state = start_flow(staff_client)
    response = staff_client.get(
        reverse("connectors:connect_callback"),
        {"error": "invalid_request", "error_description": "bad client", "state": state},
    )
    assert response.status_code == 400
    assert "Keap did not grant access: bad client." in response.content.decode()


@pytest.mark.parametrize("error", ["access_denied", "server_error"])
def test_an_error_without_a_valid_state_is_not_shown_as_keaps(staff_client, error):
    """A crafted link cannot put its own words on our pages."""
    start_flow(staff_client)
    response = staff_client.get(
        reverse("connectors:connect_callback"),
        {"error": error, "error_description": "Call our support line at +1 555 0100", "state": "forged"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This sign-in link is not valid" in page and "555 0100" not in page


def test_non_staff_cannot_reach_the_wizard(client, django_user_model):
    client.force_login(django_user_model.objects.create_user(username="x", password="pw-x-123456"))
    assert client.get(KEYS).status_code == 403
    assert client.get(reverse("connectors:connect_callback")).status_code == 403


# -- accounts ----------------------------------------------------------------------------------
def test_account_list_shows_status_expiry_and_actions(staff_client):
    account = ConnectedAccountFactory()
    needs = ConnectedAccountFactory(
        app_host="zz9.infusionsoft.com", app_name="zz9", business_name="Zed", status="needs_reconnect"
    )
    page = staff_client.get(reverse("connectors:account_list")).content.decode()
    assert "Alpine Bakery" in page and "Needs reconnect" in page
    assert reverse("connectors:account_test", args=[account.pk]) in page
    assert reverse("connectors:account_disconnect", args=[account.pk]) in page
    assert reverse("connectors:account_reconnect", args=[needs.pk]) in page
    assert reverse("connectors:account_test", args=[needs.pk]) in page  # Keap may accept its tokens again
    assert "old-access" not in page and "old-refresh" not in page


def test_needs_reconnect_account_page_shows_the_error_and_a_reconnect_button(staff_client):
    account = ConnectedAccountFactory(status="needs_reconnect", last_error="Keap refused to refresh.")
    page = staff_client.get(account.get_absolute_url()).content.decode()
    assert "This account needs reconnecting." in page
    assert "Keap refused to refresh." in page
    assert f'action="{reverse("connectors:account_reconnect", args=[account.pk])}"' in page


def test_reconnect_runs_the_wizard_from_sign_in_for_that_account(staff_client):
    account = ConnectedAccountFactory(status="disconnected")
    response = staff_client.post(reverse("connectors:account_reconnect", args=[account.pk]))
    signin = reverse("connectors:connect_signin", args=[account.keap_app_id]) + f"?account={account.pk}"
    assert response["Location"] == signin
    page = staff_client.get(signin).content.decode()
    assert "Reconnect Alpine Bakery (xy123)" in page
    assert f'name="account" value="{account.pk}"' in page


def test_account_actions_are_post_only(staff_client):
    account = ConnectedAccountFactory()
    for name in ("account_reconnect", "account_test", "account_disconnect"):
        assert staff_client.get(reverse(f"connectors:{name}", args=[account.pk])).status_code == 405


def test_disconnect_deletes_the_tokens_and_keeps_the_record(staff_client):
    account = ConnectedAccountFactory()
    response = staff_client.post(reverse("connectors:account_disconnect", args=[account.pk]), follow=True)
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.DISCONNECTED
    assert account.access_token is None and account.refresh_token is None
    assert "Disconnected Alpine Bakery (xy123)" in response.content.decode()


def test_disconnect_does_not_follow_a_foreign_next_url(staff_client):
    account = ConnectedAccountFactory()
    response = staff_client.post(
        reverse("connectors:account_disconnect", args=[account.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == account.get_absolute_url()


def test_testing_a_disconnected_account_says_why_without_calling_keap(staff_client):
    account = ConnectedAccountFactory(status="disconnected", access_token=None, refresh_token=None)
    response = staff_client.post(reverse("connectors:account_test", args=[account.pk]), follow=True)
    assert "is disconnected: reconnect it" in response.content.decode()


def test_test_connection_reports_keaps_answer(staff_client, connected_account, keap_settings):
    response = staff_client.post(
        reverse("connectors:account_test", args=[connected_account.pk]),
        {"next": reverse("connectors:account_list")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("connectors:account_list")
    assert "Keap answered for alice@example.com on sa101.infusionsoft.com" in response.content.decode()
    calls = keap_settings.requests(path="/crm/rest/v2/oauth/connect/userinfo")
    assert calls[-1]["app"] == "sa101" and calls[-1]["status"] == 200


def test_test_connection_of_a_revoked_account_marks_it_needs_reconnect(
    staff_client, connected_account, keap_settings
):
    keap_settings.revoke(app="sa101")
    response = staff_client.post(reverse("connectors:account_test", args=[connected_account.pk]), follow=True)
    connected_account.refresh_from_db()
    assert connected_account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    page = response.content.decode()
    assert "This account needs reconnecting." in page
    assert sb.CLIENT_SECRET not in page


def test_test_connection_makes_an_account_active_again_when_keap_accepts_its_tokens_again(
    staff_client, connected_account, keap_settings
):
    """Two 401s in a row (a hiccup on Keap's side) mark the account; its tokens still work."""
    keap_settings.fault("/crm/rest/v2/oauth/connect/userinfo", 401, count=2)
    url = reverse("connectors:account_test", args=[connected_account.pk])
    staff_client.post(url)
    connected_account.refresh_from_db()
    assert connected_account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    page = staff_client.get(connected_account.get_absolute_url()).content.decode()
    assert f'action="{url}"' in page  # offered on the account that needs reconnecting

    response = staff_client.post(url, follow=True)
    connected_account.refresh_from_db()
    assert (connected_account.status, connected_account.last_error) == (ConnectedAccount.Status.ACTIVE, "")
    assert "Alpine Bakery (sa101) is active again." in response.content.decode()


def test_test_connection_of_a_revoked_account_that_needs_reconnecting_leaves_it_so(
    staff_client, connected_account, keap_settings
):
    ConnectedAccount.objects.filter(pk=connected_account.pk).update(
        status=ConnectedAccount.Status.NEEDS_RECONNECT, last_error="Keap refused the access token."
    )
    keap_settings.revoke(app="sa101")
    response = staff_client.post(reverse("connectors:account_test", args=[connected_account.pk]), follow=True)
    connected_account.refresh_from_db()
    assert connected_account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert "Testing Alpine Bakery (sa101) failed" in response.content.decode()


def test_test_connection_during_an_outage_leaves_a_marked_account_as_it_was(
    staff_client, connected_account, keap_settings, settings
):
    settings.KEAP_HTTP_RETRIES = 0
    ConnectedAccount.objects.filter(pk=connected_account.pk).update(
        status=ConnectedAccount.Status.NEEDS_RECONNECT, last_error="Keap refused the access token."
    )
    keap_settings.fault("/crm/rest/v2/oauth/connect/userinfo", 503, count=1)
    staff_client.post(reverse("connectors:account_test", args=[connected_account.pk]))
    connected_account.refresh_from_db()
    assert connected_account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert connected_account.last_error == "Keap refused the access token."
