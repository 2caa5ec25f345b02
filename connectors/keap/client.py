"""KeapClient: every REST call to Keap for one connected account goes through here.

Built on requests-oauthlib's OAuth2Session (it puts the access token in the Authorization header,
never in the URL) with urllib3's Retry for backoff. The client knows nothing about the database:
it is given the current token and a `refresher` callback that returns a fresh token. The service
layer implements the callback under the account's row lock, so that a rotating refresh token is
never spent twice.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3.exceptions import InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util import Retry

from .errors import (
    KeapAuthError,
    KeapError,
    KeapNotFound,
    KeapThrottled,
    KeapUnavailable,
    KeapValidationError,
)
from .oauth import allow_plain_http_on_loopback

logger = logging.getLogger(__name__)

Token = dict[str, Any]  # {"access_token": str, "expires_at": float | None (epoch seconds)}
Refresher = Callable[[Token], Token]

RETRY_STATUSES = (429, 502, 503, 504)
RETRY_AFTER_MAX = 5  # seconds: a longer Retry-After is not waited for (KeapRetry)


class KeapClient:
    """Calls Keap's REST API (v2 by default) with one account's token.

    - Refreshes through `refresher` when the token expires within `refresh_margin` seconds, and
      once more when Keap answers 401, then retries the call once.
    - Retries only what is safe to repeat (GETs, and calls made with `idempotent=True` such as the
      upsert with `duplicate_option`), on connection errors and 429/502/503/504, with backoff and
      Keap's `Retry-After` when it sends one.
    - Turns every failure into one of the classes in `connectors.keap.errors`.
    """

    def __init__(
        self,
        *,
        api_base_url: str,
        token: Token,
        refresher: Refresher | None = None,
        timeout: float = 15.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        refresh_margin: float = 300,
        clock: Callable[[], float] = time.time,
        adapters: tuple[HTTPAdapter, HTTPAdapter] | None = None,
    ):
        self.api_base_url = api_base_url.rstrip("/")
        # OAuth2Session refuses plain HTTP; the local sandbox (loopback only) speaks it.
        allow_plain_http_on_loopback(self.api_base_url)
        self.token = dict(token)
        self.refresher = refresher
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self.clock = clock
        # Given adapters (connection pools) are shared and outlive this client; its own are closed.
        self._owns_adapters = adapters is None
        retrying, once = adapters or http_adapters(retries=retries, backoff_factor=backoff_factor)
        self._adapters = {"retrying": retrying, "once": once}
        self._sessions: dict[str, OAuth2Session] = {}  # made on first use: most clients need one

    def _session(self, kind: str) -> OAuth2Session:
        session = self._sessions.get(kind)
        if session is None:
            session = self._sessions[kind] = OAuth2Session(token=self._bearer())
            session.trust_env = False  # the environment is read once (environment_settings), not per call
            proxies, session.verify = environment_settings(self.api_base_url)
            session.proxies = dict(proxies)
            session.mount("https://", self._adapters[kind])
            session.mount("http://", self._adapters[kind])
        return session

    def _bearer(self) -> dict:
        return {"access_token": self.token["access_token"], "token_type": "Bearer"}

    def close(self):
        if self._owns_adapters:
            for adapter in self._adapters.values():
                adapter.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- calls ------------------------------------------------------------------------------
    def get(self, path: str, *, params: dict | None = None) -> Any:
        return self.request("GET", path, params=params, idempotent=True)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        idempotent: bool = False,
        with_status: bool = False,
    ) -> Any:
        return self.request(
            "POST", path, json=json, params=params, idempotent=idempotent, with_status=with_status
        )

    def patch(self, path: str, *, json: Any = None, params: dict | None = None) -> Any:
        return self.request("PATCH", path, json=json, params=params)

    def paginate(
        self, path: str, *, items_key: str, params: dict | None = None, max_pages: int = 100
    ) -> Iterator:
        """Yield every item of a v2 list, following `next_page_token` to the last page.

        A page that is not a JSON object holding an `items_key` list raises KeapUnavailable: an
        answer that cannot be read is never taken for an empty list (an upsert merging with "no
        existing contact" would delete the contact's other emails and phones).
        """
        params = dict(params or {})
        for _page in range(max_pages):
            body = self.get(path, params=params)
            items = body.get(items_key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise KeapUnavailable(
                    f"Keap's answer to {path} held no {items_key} list; nothing was taken from it."
                )
            yield from items
            next_token = body.get("next_page_token")
            if not next_token:
                return
            params["page_token"] = next_token
        raise KeapError(f"{path} had more than {max_pages} pages; stopped reading.")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        idempotent: bool = False,
        with_status: bool = False,
    ) -> Any:
        """Make one call and return the decoded JSON body (None when empty). Raises KeapError.

        With `with_status=True` it returns `(status_code, body)`: the upsert answers 201 when it
        created a contact and 200 when it updated one, with the same body.
        """
        if self._expires_soon():
            self._refresh()
        response = self._send(method, path, params=params, json=json, idempotent=idempotent)
        if response.status_code == 401 and self.refresher is not None:
            logger.info("Keap answered 401 to %s %s; refreshing the token once", method, path)
            self._refresh()
            response = self._send(method, path, params=params, json=json, idempotent=idempotent)
        body = self._handle(response)
        return (response.status_code, body) if with_status else body

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/v"):
            path = "/v2/" + path.lstrip("/")
        return self.api_base_url + path

    # -- internals ----------------------------------------------------------------------------
    def _send(self, method, path, *, params, json, idempotent) -> requests.Response:
        session = self._session("retrying" if idempotent or method in ("GET", "HEAD") else "once")
        url = self.url(path)
        try:
            return session.request(
                method,
                url,
                params=params,
                json=json,
                timeout=self.timeout,
                headers={"Accept": "application/json"},
            )
        except requests.Timeout as exc:
            raise KeapUnavailable(_timeout_message(self.timeout, method)) from exc
        except requests.RequestException as exc:
            if _read_timed_out(exc):  # with retries on, urllib3 reports a read timeout this way
                raise KeapUnavailable(_timeout_message(self.timeout, method)) from exc
            raise KeapUnavailable(f"Keap could not be reached ({type(exc).__name__}).") from exc

    def _expires_soon(self) -> bool:
        expires_at = self.token.get("expires_at")
        return (
            bool(expires_at)
            and self.refresher is not None
            and expires_at - self.refresh_margin <= self.clock()
        )

    def _refresh(self):
        stale = dict(self.token)
        self.token = dict(self.refresher(stale))
        for session in self._sessions.values():
            session.token = self._bearer()

    def _handle(self, response: requests.Response) -> Any:
        status = response.status_code
        body = _json_or_none(response)
        if 200 <= status < 300:
            return body
        message = _error_message(body) or response.reason or f"HTTP {status}"
        if status == 401:
            raise KeapAuthError(f"Keap refused the access token: {message}", status=status, payload=body)
        if status == 429:
            raise KeapThrottled(
                f"Keap's rate limit was reached: {message}",
                retry_after=_retry_after(response),
                status=status,
                payload=body,
            )
        if status == 404:
            raise KeapNotFound(message, status=status, payload=body)
        if status in (400, 422):
            raise KeapValidationError(message, status=status, payload=body)
        if status >= 500:
            raise KeapUnavailable(
                f"Keap failed on its side (HTTP {status}: {message.rstrip('.')}).",
                status=status,
                payload=body,
            )
        raise KeapError(f"Keap answered HTTP {status}: {message}", status=status, payload=body)


@lru_cache(maxsize=16)
def environment_settings(base_url: str) -> tuple[dict[str, str], str | bool]:
    """The proxies (NO_PROXY applied) and CA bundle that requests would take from the environment.

    Read once per process and URL: a requests.Session reads the environment on every call (proxy
    variables, REQUESTS_CA_BUNDLE, ~/.netrc), which was a good part of each call's cost to the local
    sandbox (`make bench`). Like any setting, a change takes effect on restart. Not taking ~/.netrc
    also means a netrc entry can never replace the bearer token.
    """
    proxies = requests.utils.get_environ_proxies(base_url)
    return proxies, os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


class KeapRetry(Retry):
    """urllib3's Retry, which gives up at once when Keap asks to wait longer than RETRY_AFTER_MAX.

    A page may wait a few seconds for a brief throttle, never minutes: the 429 then reaches the
    caller at once, and the person is told how long Keap asked to wait.
    """

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        wait = _retry_after_seconds(response)
        if wait is not None and wait > RETRY_AFTER_MAX:
            raise MaxRetryError(_pool, url, ResponseError(f"Keap asked to wait {wait:g} seconds"))
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _retry_after_seconds(response) -> float | None:
    raw = response.headers.get("Retry-After") if response is not None else None
    if raw is None:
        return None
    try:
        return Retry(retry_after_max=sys.maxsize).parse_retry_after(raw)  # seconds or an HTTP date
    except InvalidHeader:
        return None


def http_adapters(*, retries: int, backoff_factor: float) -> tuple[HTTPAdapter, HTTPAdapter]:
    """The two connection pools a client sends through: one that retries, one that never does.

    The retrying one repeats connection errors and 429/502/503/504 with exponential backoff
    (honouring a Retry-After of up to RETRY_AFTER_MAX seconds), but never a request that reached
    Keap and timed out.
    """
    retry = KeapRetry(
        total=retries,
        connect=retries,
        read=0,  # a request that reached Keap and timed out may have been applied
        status=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # which calls may repeat is decided per call (by the pool chosen)
        backoff_factor=backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    once = Retry(total=0, connect=0, read=0, status=0, raise_on_status=False, redirect=0)
    return HTTPAdapter(max_retries=retry, pool_maxsize=10), HTTPAdapter(max_retries=once, pool_maxsize=10)


def _timeout_message(timeout: float, method: str) -> str:
    message = f"Keap did not answer within {timeout:g} seconds."
    if method not in ("GET", "HEAD"):
        message += " It may still have applied the request."
    return message


def _read_timed_out(exc: requests.RequestException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ReadTimeoutError)


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(body: Any) -> str:
    """Keap's two error envelopes: the gateway's `fault` and the application's `message`."""
    if not isinstance(body, dict):
        return ""
    fault = body.get("fault")
    if isinstance(fault, dict):
        return str(fault.get("faultstring") or "")
    return str(body.get("message") or body.get("error_description") or body.get("error") or "")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
