"""The OAuth state: random, tied to the session, single-use, expiring; and the authorize URL."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from connectors.services import oauth
from tests.connect.factories import ConnectedAccountFactory, KeapAppFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    return SessionStore()


def test_state_stands_for_the_app_and_account_and_holds_no_secret(session):
    account = ConnectedAccountFactory()
    state = oauth.oauth_state_create(request_session=session, keap_app=account.keap_app, account=account)
    assert len(state) >= 40
    entry = session[oauth.SESSION_KEY][state]
    assert set(entry) == {"keap_app", "account", "created"}
    assert (entry["keap_app"], entry["account"]) == (account.keap_app.pk, account.pk)
    assert "test-client-secret" not in str(dict(session))


def test_state_is_single_use(session):
    keap_app = KeapAppFactory()
    state = oauth.oauth_state_create(request_session=session, keap_app=keap_app)
    context = oauth.oauth_state_consume(request_session=session, state=state)
    assert context == oauth.FlowContext(keap_app_id=keap_app.pk, account_id=None)
    with pytest.raises(oauth.OAuthStateError):
        oauth.oauth_state_consume(request_session=session, state=state)


def test_state_expires(session, settings):
    now = timezone.now()
    state = oauth.oauth_state_create(request_session=session, keap_app=KeapAppFactory(), now=now)
    later = now + timedelta(seconds=settings.KEAP_OAUTH_STATE_MAX_AGE + 1)
    with pytest.raises(oauth.OAuthStateError, match="expired"):
        oauth.oauth_state_consume(request_session=session, state=state, now=later)


@pytest.mark.parametrize("state", [None, "", "forged"])
def test_missing_or_unknown_state_is_suspicious(session, state):
    oauth.oauth_state_create(request_session=session, keap_app=KeapAppFactory())
    with pytest.raises(oauth.OAuthStateError):
        oauth.oauth_state_consume(request_session=session, state=state)


def test_a_session_keeps_only_a_few_live_states(session):
    keap_app = KeapAppFactory()
    states = [oauth.oauth_state_create(request_session=session, keap_app=keap_app) for _ in range(15)]
    assert len(session[oauth.SESSION_KEY]) == oauth.MAX_PENDING_STATES
    assert states[-1] in session[oauth.SESSION_KEY]


def test_flow_start_builds_keaps_authorize_url(session, settings):
    settings.KEAP_AUTHORIZE_URL = "https://accounts.keap.test/app/oauth/authorize"
    keap_app = KeapAppFactory()
    url = oauth.oauth_flow_start(
        request_session=session, keap_app=keap_app, redirect_uri="https://kc.example/connect/callback/"
    )
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == settings.KEAP_AUTHORIZE_URL
    assert query == {
        "response_type": ["code"],
        "client_id": ["test-client-id"],
        "redirect_uri": ["https://kc.example/connect/callback/"],
        "scope": ["full"],
        "state": list(session[oauth.SESSION_KEY]),
    }
    assert "test-client-secret" not in url
