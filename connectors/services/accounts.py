"""Connected accounts: connect, disconnect, test, and the token lifecycle.

Every Keap call for an account goes through `connected_account_client`, whose `refresher` is
`oauth_token_refresh`: the refresh runs under the account's row lock and re-reads the row after
taking it, so that Keap's single-use refresh token is never spent twice, however many workers find
the access token expired at once.

Call Keap outside your own `transaction.atomic` block: a refusal marks the account "needs
reconnect" with a write of its own, which an enclosing transaction would roll back with the
exception that follows it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import AccountUnavailable, ConnectorError, KeapRejected, ReconnectNeeded, TryAgainLater
from ..keap import oauth as keap_oauth
from ..keap.client import KeapClient, http_adapters
from ..keap.errors import (
    KeapAuthError,
    KeapError,
    KeapThrottled,
    KeapTokenError,
    KeapUnavailable,
    KeapValidationError,
)
from ..models import ConnectedAccount, KeapApp

logger = logging.getLogger(__name__)

USERINFO_PATH = "/v2/oauth/connect/userinfo"
BUSINESS_PROFILE_PATH = "/v2/businessProfile"

REFRESH_REFUSED = (
    "Keap refused to refresh this connection's tokens ({detail}). Either the connection expired or "
    "was revoked in Keap, or the developer app's client secret is wrong. Reconnect the account; if "
    "that fails too, check the client secret of the developer app."
)
ACCESS_REFUSED = (
    "Keap refused this connection's access token even after a refresh ({detail}). The connection "
    "was probably revoked in Keap: reconnect the account."
)

# What a token response sets on an account (`_store_token`).
TOKEN_FIELDS = (
    "access_token",
    "refresh_token",
    "access_token_expires_at",
    "refresh_token_issued_at",
    "scope",
    "last_refreshed_at",
)


# -- clients and errors ------------------------------------------------------------------------
def connected_account_client(*, account: ConnectedAccount) -> KeapClient:
    """A KeapClient for the account, which refreshes its tokens under the account's row lock.

    Raises AccountUnavailable when the account is not active or holds no tokens.
    """
    if account.status != ConnectedAccount.Status.ACTIVE:
        raise AccountUnavailable(
            f"{account} {account.unavailable_reason}: reconnect it before using it.",
            extra={"account_id": account.pk, "status": account.status},
        )
    if not account.access_token or not account.refresh_token:
        raise AccountUnavailable(
            f"{account} holds no tokens: reconnect it before using it.", extra={"account_id": account.pk}
        )

    def refresher(stale: dict) -> dict:
        fresh = oauth_token_refresh(account=account, stale_access_token=stale.get("access_token"))
        return _client_token(fresh)

    return KeapClient(
        api_base_url=settings.KEAP_API_BASE_URL,
        token=_client_token(account),
        refresher=refresher,
        timeout=settings.KEAP_HTTP_TIMEOUT,
        retries=settings.KEAP_HTTP_RETRIES,
        backoff_factor=settings.KEAP_HTTP_BACKOFF,
        refresh_margin=settings.KEAP_TOKEN_REFRESH_MARGIN,
        adapters=_thread_adapters(),
    )


_local = threading.local()


def _thread_adapters():
    """This thread's connection pools to Keap, kept across calls: one TLS handshake, not one a call.

    Per thread, because a request worker handles one request at a time; keyed by the retry settings.
    """
    pools = _local.__dict__.setdefault("adapters", {})
    key = (settings.KEAP_HTTP_RETRIES, settings.KEAP_HTTP_BACKOFF)
    if key not in pools:
        pools[key] = http_adapters(retries=key[0], backoff_factor=key[1])
    return pools[key]


@contextmanager
def keap_errors(*, account: ConnectedAccount) -> Iterator[None]:
    """Turn the Keap client's errors into the service errors that views show.

    KeapAuthError/KeapTokenError -> the account is marked "needs reconnect", ReconnectNeeded;
    KeapThrottled/KeapUnavailable -> TryAgainLater; KeapValidationError -> KeapRejected (field=None:
    the caller refines it); any other KeapError -> ConnectorError. ConnectorErrors pass unchanged.
    """
    try:
        yield
    except ConnectorError:
        raise
    except KeapTokenError as exc:
        message = REFRESH_REFUSED.format(detail=exc.message)
        connected_account_mark_needs_reconnect(account=account, error=message)
        raise ReconnectNeeded(message, extra={"account_id": account.pk, "status": exc.status}) from exc
    except KeapAuthError as exc:
        message = ACCESS_REFUSED.format(detail=exc.message)
        connected_account_mark_needs_reconnect(account=account, error=message)
        raise ReconnectNeeded(message, extra={"account_id": account.pk, "status": exc.status}) from exc
    except KeapThrottled as exc:
        seconds = round(exc.retry_after or 0)
        wait = (
            f" Wait {seconds} second{'' if seconds == 1 else 's'}, then try again."
            if seconds
            else " Try again shortly."
        )
        raise TryAgainLater(
            f"Keap is limiting how fast we may call it.{wait}",
            extra={"account_id": account.pk, "retry_after": exc.retry_after, "status": exc.status},
        ) from exc
    except KeapUnavailable as exc:
        raise TryAgainLater(
            exc.message,  # a whole sentence; the page around it says what to do
            extra={"account_id": account.pk, "status": exc.status},
        ) from exc
    except KeapValidationError as exc:
        raise KeapRejected(
            f"Keap rejected the request: {exc.message}",
            extra={"account_id": account.pk, "status": exc.status, "details": exc.details},
            field=None,
        ) from exc
    except KeapError as exc:
        raise ConnectorError(
            f"Keap answered with an error: {exc.message}",
            extra={"account_id": account.pk, "status": exc.status},
        ) from exc


# -- the token lifecycle -----------------------------------------------------------------------
def oauth_token_refresh(
    *, account: ConnectedAccount, stale_access_token: str | None = None, now: datetime | None = None
) -> ConnectedAccount:
    """Refresh the account's tokens under its row lock; return the row as stored afterwards.

    With `stale_access_token` (the token a caller found expired or refused), a row whose access
    token already differs from it and is not about to expire was refreshed by another worker: it is
    returned as it is, without calling Keap. Without it, the tokens are always refreshed.

    A refusal (KeapTokenError) marks the account "needs reconnect", keeps its tokens untouched and
    raises ReconnectNeeded. An outage (KeapUnavailable) changes nothing and propagates.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = (
                ConnectedAccount.objects.select_for_update().select_related("keap_app").get(pk=account.pk)
            )
            if (
                stale_access_token is not None
                and locked.status == ConnectedAccount.Status.ACTIVE
                and locked.access_token
                and locked.access_token != stale_access_token
                and not _expires_soon(locked, now)
            ):
                _copy_token_fields(locked, account)
                return locked  # another worker refreshed while we waited for the lock
            if locked.status != ConnectedAccount.Status.ACTIVE or not locked.refresh_token:
                raise AccountUnavailable(
                    f"{locked} {locked.unavailable_reason}: reconnect it.",
                    extra={"account_id": locked.pk, "status": locked.status},
                )
            token = keap_oauth.refresh(
                token_url=settings.KEAP_TOKEN_URL,
                client_id=locked.keap_app.client_id,
                client_secret=locked.keap_app.client_secret,
                refresh_token=locked.refresh_token,
                timeout=settings.KEAP_HTTP_TIMEOUT,
            )
            _store_token(locked, token, now=now)
            locked.last_error = ""
            locked.save(update_fields=[*TOKEN_FIELDS, "last_error", "updated_at"])
    except KeapTokenError as exc:
        # Outside the atomic block: the mark must outlive the exception.
        message = REFRESH_REFUSED.format(detail=exc.message)
        connected_account_mark_needs_reconnect(account=account, error=message)
        logger.warning("Keap refused to refresh the tokens of account %s (%s)", account.pk, account.app_host)
        raise ReconnectNeeded(message, extra={"account_id": account.pk, "status": exc.status}) from exc
    logger.info("Refreshed the Keap tokens of account %s (%s)", locked.pk, locked.app_host)
    _copy_token_fields(locked, account)
    return locked


def connected_account_mark_needs_reconnect(*, account: ConnectedAccount, error: str) -> None:
    """Mark the account "needs reconnect" with `error`, leaving its tokens as they are.

    A single UPDATE, committed on its own when no transaction is open.
    """
    ConnectedAccount.objects.filter(pk=account.pk).exclude(
        status=ConnectedAccount.Status.DISCONNECTED
    ).update(status=ConnectedAccount.Status.NEEDS_RECONNECT, last_error=error, updated_at=timezone.now())
    if account.status != ConnectedAccount.Status.DISCONNECTED:
        account.status = ConnectedAccount.Status.NEEDS_RECONNECT
        account.last_error = error


# -- connect, disconnect, test -----------------------------------------------------------------
@dataclass(frozen=True)
class ConnectResult:
    account: ConnectedAccount
    created: bool
    # Set when the person reconnected one account but picked another on Keap's account picker.
    reconnect_requested: ConnectedAccount | None = None

    @property
    def picked_other_account(self) -> bool:
        return self.reconnect_requested is not None and self.reconnect_requested.pk != self.account.pk


def connected_account_connect(
    *,
    keap_app: KeapApp,
    token: dict,
    performed_by=None,
    reconnecting: ConnectedAccount | None = None,
    now: datetime | None = None,
) -> ConnectResult:
    """Store a freshly exchanged token as the connection of the Keap app it names (in its scope).

    Asks Keap who and what was connected (userinfo, business profile), then creates or updates the
    ConnectedAccount of (keap_app, app host): reconnecting the same Keap app updates its row, makes
    it active and clears its last error. `reconnecting` is the account the person set out to
    reconnect; when they picked another Keap account on Keap, that other one is connected and the
    result says so.
    """
    now = now or timezone.now()
    app_host = keap_oauth.app_host_from_scope(token.get("scope"))
    identity_client = KeapClient(
        api_base_url=settings.KEAP_API_BASE_URL,
        token={"access_token": token["access_token"], "expires_at": None},
        timeout=settings.KEAP_HTTP_TIMEOUT,
        retries=settings.KEAP_HTTP_RETRIES,
        backoff_factor=settings.KEAP_HTTP_BACKOFF,
    )
    with identity_client:
        userinfo = identity_client.get(USERINFO_PATH) or {}
        business = identity_client.get(BUSINESS_PROFILE_PATH) or {}
    return _connected_account_save(
        keap_app=keap_app,
        app_host=app_host,
        token=token,
        userinfo=userinfo,
        business=business,
        performed_by=performed_by,
        reconnecting=reconnecting,
        now=now,
    )


@transaction.atomic
def _connected_account_save(
    *, keap_app, app_host, token, userinfo, business, performed_by, reconnecting, now
) -> ConnectResult:
    account, created = ConnectedAccount.objects.select_for_update().get_or_create(
        keap_app=keap_app,
        app_host=app_host,
        defaults={"app_name": keap_oauth.app_name_from_host(app_host)},
    )
    account.app_name = keap_oauth.app_name_from_host(app_host)
    account.business_name = str(business.get("name") or "")[:255]
    account.keap_user_id = str(userinfo.get("id") or userinfo.get("keap_id") or "")[:64]
    full_name = " ".join(
        str(part) for part in (userinfo.get("given_name"), userinfo.get("family_name")) if part
    )
    account.keap_user_name = full_name[:255]
    account.keap_user_email = str(userinfo.get("email") or "")[:255]
    _store_token(account, token, now=now)
    account.status = ConnectedAccount.Status.ACTIVE
    account.last_error = ""
    account.connected_by = performed_by if getattr(performed_by, "pk", None) else None
    account.connected_at = now
    account.save()
    logger.info(
        "%s Keap account %s (%s) through developer app %s",
        "Connected" if created else "Reconnected",
        account.pk,
        account.app_host,
        keap_app.pk,
    )
    return ConnectResult(account=account, created=created, reconnect_requested=reconnecting)


@transaction.atomic
def connected_account_disconnect(*, account: ConnectedAccount, performed_by=None) -> ConnectedAccount:
    """Forget the account's tokens and mark it disconnected; the record stays (and its upserts)."""
    locked = ConnectedAccount.objects.select_for_update().get(pk=account.pk)
    locked.access_token = None
    locked.refresh_token = None
    locked.access_token_expires_at = None
    locked.refresh_token_issued_at = None
    locked.status = ConnectedAccount.Status.DISCONNECTED
    locked.last_error = ""
    locked.save()
    logger.info(
        "Disconnected Keap account %s (%s) by user %s",
        locked.pk,
        locked.app_host,
        getattr(performed_by, "pk", None),
    )
    _copy_token_fields(locked, account)
    account.status = locked.status
    account.last_error = ""
    return locked


def connected_account_test(*, account: ConnectedAccount) -> str:
    """Call Keap's userinfo with the account's tokens; return what a person should be told.

    An account marked "needs reconnect" that still holds its tokens is tried too (with a token
    refresh if Keap asks for one): when Keap accepts them, as after a brief refusal on Keap's side,
    the account is active again without a new sign-in; when it refuses, it stays marked.
    Raises AccountUnavailable, ReconnectNeeded, TryAgainLater or ConnectorError on failure.
    """
    if account.status == ConnectedAccount.Status.NEEDS_RECONNECT and account.refresh_token:
        return _connected_account_recheck(account)
    with keap_errors(account=account), connected_account_client(account=account) as client:
        userinfo = client.get(USERINFO_PATH) or {}
    who = userinfo.get("email") or "an unnamed user"
    return f"The connection to {account} works: Keap answered for {who} on {account.app_host}."


def _connected_account_recheck(account: ConnectedAccount) -> str:
    previous_error = account.last_error
    now = timezone.now()
    ConnectedAccount.objects.filter(pk=account.pk, status=ConnectedAccount.Status.NEEDS_RECONNECT).update(
        status=ConnectedAccount.Status.ACTIVE, updated_at=now
    )
    account.status = ConnectedAccount.Status.ACTIVE
    try:
        works = connected_account_test(account=account)
    except ReconnectNeeded:
        raise  # refused again: marked "needs reconnect" with Keap's new answer
    except ConnectorError:
        # Keap could not be asked (an outage): nothing learnt, the account stays as it was.
        connected_account_mark_needs_reconnect(account=account, error=previous_error)
        raise
    ConnectedAccount.objects.filter(pk=account.pk).update(last_error="")
    account.last_error = ""
    return f"{works} {account} is active again."


# -- helpers ------------------------------------------------------------------------------------
def _client_token(account: ConnectedAccount) -> dict:
    expires_at = account.access_token_expires_at
    return {
        "access_token": account.access_token,
        "expires_at": expires_at.timestamp() if expires_at else None,
    }


def _expires_soon(account: ConnectedAccount, now: datetime) -> bool:
    expires_at = account.access_token_expires_at
    if expires_at is None:
        return False
    return expires_at - timedelta(seconds=settings.KEAP_TOKEN_REFRESH_MARGIN) <= now


def _store_token(account: ConnectedAccount, token: dict, *, now: datetime) -> None:
    """Copy a token response onto the account (not saved). Lifetimes come from `expires_in`."""
    access_token = token.get("access_token")
    if not access_token:
        raise KeapTokenError("Keap's token response held no access token.")
    account.access_token = access_token
    new_refresh = token.get("refresh_token")
    if new_refresh and new_refresh != account.refresh_token:
        account.refresh_token = new_refresh
        account.refresh_token_issued_at = now
    try:
        expires_in = float(token.get("expires_in"))
    except (TypeError, ValueError):
        expires_in = None
    account.access_token_expires_at = now + timedelta(seconds=expires_in) if expires_in else None
    scope = token.get("scope")
    if isinstance(scope, (list, tuple)):
        scope = " ".join(scope)
    if scope:
        account.scope = str(scope)[:255]
    account.last_refreshed_at = now


def _copy_token_fields(source: ConnectedAccount, target: ConnectedAccount) -> None:
    if source is target:
        return
    for name in (*TOKEN_FIELDS, "last_error", "status"):
        setattr(target, name, getattr(source, name))
