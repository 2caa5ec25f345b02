"""Keap's OAuth 2.0 authorization-code grant, through requests-oauthlib.

Keap wants the code exchange's client credentials in the form body and the refresh's in an HTTP
Basic header; both requests are form-encoded. Keap's refresh tokens are single-use: every refresh
returns a new one and kills the old one, so callers must persist the result before anything else.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import requests
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from .errors import KeapTokenError, KeapUnavailable

SCOPE = ["full"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def allow_plain_http_on_loopback(url: str) -> None:
    """oauthlib refuses plain HTTP; the local Keap sandbox speaks it on loopback, and nothing else may."""
    parsed = urlparse(url)
    if parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def authorization_url(*, authorize_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """The Keap URL to send the person to: sign in, pick the account, allow."""
    allow_plain_http_on_loopback(authorize_url)
    oauth = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=SCOPE, state=state)
    url, _state = oauth.authorization_url(authorize_url)
    return url


def exchange_code(
    *, token_url: str, client_id: str, client_secret: str, redirect_uri: str, code: str, timeout: float
) -> dict:
    """Trade an authorization code for the first access and refresh tokens."""
    # No scope on the token sessions: Keap answers "full|<host>", which oauthlib would call a change.
    oauth = _token_session(client_id, redirect_uri=redirect_uri)
    return _token_call(
        oauth.fetch_token,
        token_url,
        code=code,
        client_secret=client_secret,
        include_client_id=True,
        timeout=timeout,
    )


def refresh(
    *, token_url: str, client_id: str, client_secret: str, refresh_token: str, timeout: float
) -> dict:
    """Spend a refresh token for a new pair. The old refresh token is dead once Keap answers."""
    oauth = _token_session(client_id)
    token = _token_call(
        oauth.refresh_token,
        token_url,
        refresh_token=refresh_token,
        auth=HTTPBasicAuth(client_id, client_secret),
        timeout=timeout,
    )
    if not token.get("refresh_token"):
        # Keap always rotates, but a response without a new one must not lose the old one.
        token["refresh_token"] = refresh_token
    return token


def app_host_from_scope(scope) -> str:
    """The Keap app host from a token's scope, e.g. 'full|xy123.infusionsoft.com' -> 'xy123.infusionsoft.com'.

    requests-oauthlib may hand the scope back as a list of words; Keap's is one word with a '|'.
    """
    if isinstance(scope, (list, tuple)):
        scope = " ".join(scope)
    for word in (scope or "").split():
        if "|" in word:
            host = word.split("|", 1)[1].strip().lower()
            if host:
                return host
    raise KeapTokenError(f"Keap's token did not name the connected account (scope {scope!r}).")


def app_name_from_host(host: str) -> str:
    """The Keap app name is the host's first label: 'xy123.infusionsoft.com' -> 'xy123'."""
    return host.split(".", 1)[0]


def _token_session(client_id: str, **kwargs) -> OAuth2Session:
    oauth = OAuth2Session(client_id, **kwargs)
    for hook in ("access_token_response", "refresh_token_response"):
        oauth.register_compliance_hook(hook, _raise_for_server_error)
    return oauth


def _raise_for_server_error(response: requests.Response) -> requests.Response:
    """A 5xx or 429 from the token endpoint is an outage, not a refusal: the grant may still be good."""
    if response.status_code >= 500 or response.status_code == 429:
        raise KeapUnavailable(
            f"Keap's token endpoint is unavailable (HTTP {response.status_code}).",
            status=response.status_code,
        )
    return response


def _token_call(func, token_url: str, **kwargs) -> dict:
    allow_plain_http_on_loopback(token_url)
    try:
        token = func(token_url, **kwargs)
    except OAuth2Error as exc:
        description = exc.description or exc.error or "refused"
        raise KeapTokenError(
            f"Keap refused the token request: {description}",
            status=exc.status_code,
            payload={"error": exc.error},
        ) from exc
    except requests.Timeout as exc:
        raise KeapUnavailable("Keap's token endpoint did not answer in time.") from exc
    except requests.RequestException as exc:
        raise KeapUnavailable(f"Keap's token endpoint could not be reached ({type(exc).__name__}).") from exc
    except ValueError as exc:  # not JSON: an HTML error page, a proxy's answer
        raise KeapUnavailable("Keap's token endpoint answered with something that is not a token.") from exc
    return dict(token)
