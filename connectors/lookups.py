"""Keap-backed choice lists (countries, provinces, tags) for one connected account, cached.

Every list comes from the account's own Keap endpoints, following `next_page_token`, so the codes a
form offers are exactly the codes Keap accepts. Two cache entries per list:

- the fresh copy, kept `settings.KEAP_LOOKUP_CACHE_TTL` seconds (default 24 h): while it exists,
  no Keap call is made;
- the "last good" copy, kept without expiry: when Keap cannot be asked and the fresh copy is
  gone, it is used and the result says so (`stale=True`, `notice`).

With neither, the result is `available=False` with a message, so that a form shows the message
instead of offering choices Keap might reject. After a failure Keap is not asked for that list
again for FAILURE_PAUSE seconds, so pages do not each wait for an outage. `lookups_refresh` starts a
new generation of fresh copies for the account (the last good copies stay) and reads countries and
tags again at once.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from django.conf import settings
from django.core.cache import cache

from .errors import AccountUnavailable, ConnectorError, ReconnectNeeded
from .models import ConnectedAccount
from .places import country_name
from .services.accounts import connected_account_client, keap_errors

logger = logging.getLogger(__name__)

COUNTRIES_PATH = "/v2/locales/countries"
PROVINCES_PATH = "/v2/locales/countries/{country}/provinces"
TAGS_PATH = "/v2/tags"
TAGS_PAGE_SIZE = 1000  # Keap's maximum for GET /v2/tags
# After a failed read, Keap is not asked for the same list again for this many seconds (a refresh
# asks at once).
FAILURE_PAUSE = 60


@dataclass(frozen=True)
class Choice:
    code: str  # what Keap stores: alpha-3, ISO 3166-2 code, tag id
    name: str  # what people see


@dataclass(frozen=True)
class Lookup:
    """A choice list and where it came from."""

    kind: str  # "countries", "provinces of CAN", "tags"
    choices: tuple[Choice, ...] = ()
    available: bool = True
    stale: bool = False
    fetched_at: datetime | None = None
    notice: str = ""  # set when stale or unavailable: what a person should be told

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.choices)

    def name_of(self, code: str) -> str:
        return next((c.name for c in self.choices if c.code == code), code)

    @cached_property
    def _pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.code, c.name) for c in self.choices)

    def as_choices(self) -> list[tuple[str, str]]:
        return list(self._pairs)


# -- the lists ------------------------------------------------------------------------------------
def lookup_countries(*, account: ConnectedAccount) -> Lookup:
    """Keap's countries for the account, by name; codes are ISO 3166-1 alpha-3."""
    return _lookup(account=account, name="countries", kind="countries", fetch=_fetch_countries)


def lookup_provinces(*, account: ConnectedAccount, country_code: str) -> Lookup:
    """Keap's provinces of one country (alpha-3), by name; codes are ISO 3166-2 (`CA-BC`)."""
    country_code = (country_code or "").strip().upper()
    return _lookup(
        account=account,
        name=f"provinces:{country_code}",
        kind=f"states/provinces of {country_name(country_code)}",
        fetch=lambda client: _fetch_provinces(client, country_code),
    )


def lookup_tags(*, account: ConnectedAccount, cached_only: bool = False) -> Lookup:
    """The account's tags, by name (with the category when a tag has one); codes are tag ids.

    `cached_only`: never call Keap; whatever copy is cached (fresh or last good), else nothing.
    """
    if cached_only:
        stored = cache.get(_fresh_key(account, "tags")) or cache.get(_last_good_key(account, "tags"))
        return _from_cached("tags", stored) if stored else Lookup(kind="tags", available=False)
    return _lookup(account=account, name="tags", kind="tags", fetch=_fetch_tags)


def lookups_refresh(*, account: ConnectedAccount) -> list[Lookup]:
    """Forget the account's fresh copies (every list, provinces included) and read countries and tags again.

    Returns the two lookups, so the caller can tell whether Keap answered.
    """
    cache.set(_generation_key(account), time.time_ns(), timeout=None)
    return [lookup_countries(account=account), lookup_tags(account=account)]


# -- fetching ---------------------------------------------------------------------------------------
def _fetch_countries(client) -> list[Choice]:
    rows = []
    for item in client.paginate(COUNTRIES_PATH, items_key="countries"):
        code = ((item.get("codes") or {}).get("alpha3") or "").strip()
        if code:
            rows.append(Choice(code=code, name=str(item.get("name") or code)))
    if not rows:  # Keap always lists countries: an empty list is a faulty answer, not a new copy
        raise ConnectorError("Keap listed no countries.")
    return sorted(rows, key=_by_name)


def _fetch_provinces(client, country_code: str) -> list[Choice]:
    if not country_code:
        return []
    rows = []
    path = PROVINCES_PATH.format(country=country_code)
    for item in client.paginate(path, items_key="provinces"):
        code = str(item.get("code") or "").strip()
        if code:
            rows.append(Choice(code=code, name=str(item.get("name") or code)))
    return sorted(rows, key=_by_name)


def _fetch_tags(client) -> list[Choice]:
    rows = []
    for item in client.paginate(TAGS_PATH, items_key="tags", params={"page_size": TAGS_PAGE_SIZE}):
        tag_id = str(item.get("id") or "").strip()
        if not tag_id:
            continue
        name = str(item.get("name") or tag_id)
        category = (
            (item.get("category") or {}).get("name") if isinstance(item.get("category"), dict) else None
        )
        rows.append(Choice(code=tag_id, name=f"{category}: {name}" if category else name))
    return sorted(rows, key=_by_name)


def _by_name(choice: Choice) -> tuple[str, str]:
    """Alphabetical for people: "Côte d'Ivoire" beside "Costa Rica", "Åland Islands" among the A's."""
    plain = unicodedata.normalize("NFKD", choice.name).encode("ascii", "ignore").decode()
    return plain.casefold(), choice.name


# -- caching ----------------------------------------------------------------------------------------
def _lookup(*, account: ConnectedAccount, name: str, kind: str, fetch) -> Lookup:
    fresh_key = _fresh_key(account, name)
    cached = cache.get(fresh_key)
    if cached is not None:
        return _from_cached_memo(fresh_key, kind, cached)
    # Per connection: a reconnect (new tokens) may ask Keap again at once.
    connected = account.connected_at.timestamp() if account.connected_at else 0
    failed_key = f"{fresh_key}:failed:{connected}"
    error = cache.get(failed_key)  # Keap failed moments ago: don't make every page wait for it again
    again = f"Keap is asked again after {FAILURE_PAUSE} seconds."
    if error is None:
        try:
            with keap_errors(account=account), connected_account_client(account=account) as client:
                choices = fetch(client)
        except (AccountUnavailable, ReconnectNeeded) as exc:
            # The account is (now) marked: no call is made until it works again, so no pause either
            # (a reconnect or a passing Test connection shows the lists at once).
            error, again = exc.message, ""  # its message says to reconnect
        except ConnectorError as exc:
            logger.warning("Could not read the %s of Keap account %s: %s", kind, account.pk, exc.message)
            error = exc.message
            cache.set(failed_key, error, timeout=FAILURE_PAUSE)
    if error is not None:
        last_good = cache.get(_last_good_key(account, name))
        if last_good is not None:
            when = _from_cached(kind, last_good).fetched_at
            return _from_cached(
                kind,
                last_good,
                stale=True,
                notice=(
                    f"Keap could not be asked for the {kind} ({error.rstrip('.')}). Showing the copy read "
                    f"on {when:%Y-%m-%d %H:%M} UTC. {again}".strip()
                ),
            )
        return Lookup(
            kind=kind,
            available=False,
            notice=f"The {kind} could not be read from Keap: {error.rstrip('.')}. {again}".strip(),
        )
    stored = {"choices": [(c.code, c.name) for c in choices], "fetched_at": time.time()}
    cache.set(fresh_key, stored, timeout=settings.KEAP_LOOKUP_CACHE_TTL)
    cache.set(_last_good_key(account, name), stored, timeout=None)
    return _from_cached(kind, stored)


def _from_cached(kind: str, stored: dict, *, stale: bool = False, notice: str = "") -> Lookup:
    return Lookup(
        kind=kind,
        choices=tuple(Choice(code=code, name=name) for code, name in stored["choices"]),
        stale=stale,
        fetched_at=datetime.fromtimestamp(stored["fetched_at"], tz=UTC),
        notice=notice,
    )


# The Lookup built from a fresh copy, per process: a copy under one key with one `fetched_at` never
# changes, so the ~250 countries are not rebuilt on every page. Bounded; cleared when full.
_MEMO: dict[tuple[str, float], Lookup] = {}
_MEMO_SIZE = 512


def _from_cached_memo(fresh_key: str, kind: str, stored: dict) -> Lookup:
    memo_key = (fresh_key, stored["fetched_at"])
    lookup = _MEMO.get(memo_key)
    if lookup is None:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        lookup = _MEMO[memo_key] = _from_cached(kind, stored)
    return lookup


def _generation_key(account: ConnectedAccount) -> str:
    return f"keap-lookups:{account.pk}:generation"


def _fresh_key(account: ConnectedAccount, name: str) -> str:
    generation = cache.get(_generation_key(account)) or 0
    return f"keap-lookups:{account.pk}:{generation}:{name}"


def _last_good_key(account: ConnectedAccount, name: str) -> str:
    return f"keap-lookups:{account.pk}:last-good:{name}"
