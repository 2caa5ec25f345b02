"""The connect flow (Keap's OAuth authorization-code grant), as django-allauth runs it.

`state` is only a random id. What it stands for (the developer app, the account being reconnected,
when the flow started) stays in the session under that id, is used once and expires after
settings.KEAP_OAUTH_STATE_MAX_AGE. No secret ever goes into the session.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from ..errors import ConnectorError
from ..keap import oauth as keap_oauth
from ..keap.errors import KeapError, KeapTokenError, KeapUnavailable
from ..models import ConnectedAccount, KeapApp
from .accounts import ConnectResult, connected_account_connect

logger = logging.getLogger(__name__)

SESSION_KEY = "keap_oauth_states"
MAX_PENDING_STATES = 10


class OAuthStateError(SuspiciousOperation):
    """The callback's `state` is missing, unknown, already used or expired (possible CSRF)."""


class OAuthDeclined(ConnectorError):
    """The person refused access on Keap's consent page (`error=access_denied`)."""


class OAuthFailed(ConnectorError):
    """The flow came back but could not be completed. `extra["kind"]` says which step failed."""


@dataclass(frozen=True)
class FlowContext:
    """What a state stood for; lets a failure page offer "start again" for the same app/account."""

    keap_app_id: int | None = None
    account_id: int | None = None


# -- state ---------------------------------------------------------------------------------------
def oauth_state_create(
    *,
    request_session,
    keap_app: KeapApp,
    account: ConnectedAccount | None = None,
    now: datetime | None = None,
) -> str:
    """Make a fresh single-use state for this session and remember what it stands for."""
    now_ts = (now or timezone.now()).timestamp()
    states = _live_states(request_session, now_ts)
    state = secrets.token_urlsafe(32)
    states[state] = {"keap_app": keap_app.pk, "account": account.pk if account else None, "created": now_ts}
    # Keep the newest few: one per open tab is plenty.
    request_session[SESSION_KEY] = dict(
        sorted(states.items(), key=lambda item: item[1]["created"])[-MAX_PENDING_STATES:]
    )
    return state


def oauth_state_consume(*, request_session, state: str | None, now: datetime | None = None) -> FlowContext:
    """Take the state out of the session (it is single-use) and return what it stood for.

    Raises OAuthStateError when it is missing, unknown (tampered with, or from another session),
    already used or expired.
    """
    now_ts = (now or timezone.now()).timestamp()
    states = dict(request_session.get(SESSION_KEY) or {})
    if not state:
        raise OAuthStateError("The Keap callback carried no state.")
    entry = states.pop(state, None)
    request_session[SESSION_KEY] = states
    if entry is None:
        raise OAuthStateError("The Keap callback's state is unknown to this session or was already used.")
    if now_ts - float(entry.get("created", 0)) > settings.KEAP_OAUTH_STATE_MAX_AGE:
        raise OAuthStateError("The Keap callback's state has expired.")
    return FlowContext(keap_app_id=entry.get("keap_app"), account_id=entry.get("account"))


def _live_states(request_session, now_ts: float) -> dict:
    states = dict(request_session.get(SESSION_KEY) or {})
    max_age = settings.KEAP_OAUTH_STATE_MAX_AGE
    return {key: value for key, value in states.items() if now_ts - float(value.get("created", 0)) <= max_age}


# -- the flow ------------------------------------------------------------------------------------
def oauth_flow_start(
    *, request_session, keap_app: KeapApp, account: ConnectedAccount | None = None, redirect_uri: str
) -> str:
    """Return Keap's authorize URL for this developer app, with a fresh state tied to the session."""
    state = oauth_state_create(request_session=request_session, keap_app=keap_app, account=account)
    return keap_oauth.authorization_url(
        authorize_url=settings.KEAP_AUTHORIZE_URL,
        client_id=keap_app.client_id,
        redirect_uri=redirect_uri,
        state=state,
    )


def oauth_flow_complete(
    *,
    request_session,
    params: Mapping[str, str],
    redirect_uri: str,
    performed_by=None,
    now: datetime | None = None,
) -> ConnectResult:
    """Handle Keap's redirect back: check the state, exchange the code, store the connection.

    Raises OAuthStateError (a 400), OAuthDeclined or OAuthFailed; nothing is stored unless the whole
    flow succeeds.
    """
    # The state first, for every answer: an error without a valid state is not Keap's (a crafted link).
    context = oauth_state_consume(request_session=request_session, state=params.get("state"), now=now)
    error = params.get("error")
    if error:
        extra = {"keap_app_id": context.keap_app_id, "account_id": context.account_id}
        if error == "access_denied":
            raise OAuthDeclined("You declined access on Keap, so nothing was connected.", extra=extra)
        description = (params.get("error_description") or error)[:200]
        raise OAuthFailed(f"Keap did not grant access: {description}.", extra={**extra, "kind": "keap_error"})

    extra = {
        "keap_app_id": context.keap_app_id,
        "account_id": context.account_id,
        "redirect_uri": redirect_uri,
    }
    keap_app = KeapApp.objects.filter(pk=context.keap_app_id).first()
    if keap_app is None:
        raise OAuthFailed("The developer app this connection was started with no longer exists.", extra=extra)
    reconnecting = None
    if context.account_id:
        reconnecting = ConnectedAccount.objects.filter(pk=context.account_id, keap_app=keap_app).first()
    code = params.get("code")
    if not code:
        raise OAuthFailed("Keap came back without an authorization code.", extra={**extra, "kind": "no_code"})

    try:
        token = keap_oauth.exchange_code(
            token_url=settings.KEAP_TOKEN_URL,
            client_id=keap_app.client_id,
            client_secret=keap_app.client_secret,
            redirect_uri=redirect_uri,
            code=code,
            timeout=settings.KEAP_HTTP_TIMEOUT,
        )
    except KeapUnavailable as exc:
        logger.warning("Keap's token endpoint failed during a code exchange for app %s: %s", keap_app.pk, exc)
        raise OAuthFailed(
            f"Keap could not be reached to finish the connection ({exc.message}). Start again in a moment.",
            extra={**extra, "kind": "unavailable"},
        ) from exc
    except KeapTokenError as exc:
        logger.warning("Keap refused the code exchange for developer app %s: %s", keap_app.pk, exc.message)
        raise OAuthFailed(
            f"Keap refused to exchange the authorization code for tokens ({exc.message}).",
            extra={**extra, "kind": "exchange", "keap_app_name": keap_app.name},
        ) from exc

    try:
        return connected_account_connect(
            keap_app=keap_app, token=token, performed_by=performed_by, reconnecting=reconnecting, now=now
        )
    except KeapError as exc:
        logger.warning(
            "Keap gave tokens for app %s but the account could not be identified: %s", keap_app.pk, exc
        )
        raise OAuthFailed(
            f"Keap issued tokens but did not say which account was connected ({exc.message}). "
            "Nothing was stored; start again.",
            extra={**extra, "kind": "identify"},
        ) from exc
