"""Countries (ISO 3166-1) and provinces (ISO 3166-2) from pycountry, in Keap's v2 shapes."""

from __future__ import annotations

from functools import cache, lru_cache

import pycountry


@lru_cache(maxsize=1)
def countries() -> tuple[dict, ...]:
    """Every country, sorted by name: `{"codes": {"alpha2", "alpha3"}, "name"}`."""
    rows = [
        {"codes": {"alpha2": c.alpha_2, "alpha3": c.alpha_3}, "name": c.name} for c in pycountry.countries
    ]
    return tuple(sorted(rows, key=lambda r: r["name"]))


@lru_cache(maxsize=1)
def _by_alpha3() -> dict[str, object]:
    return {c.alpha_3: c for c in pycountry.countries}


@lru_cache(maxsize=1)
def _by_alpha2() -> dict[str, object]:
    return {c.alpha_2: c for c in pycountry.countries}


def country(code: str):
    """The pycountry country for an alpha-3 (or, for lookups only, alpha-2) code; None if unknown."""
    if not isinstance(code, str):
        return None
    return _by_alpha3().get(code) or (_by_alpha2().get(code) if len(code) == 2 else None)


def country_by_alpha3(code: str):
    return _by_alpha3().get(code) if isinstance(code, str) else None


@cache
def provinces(alpha3: str) -> tuple[dict, ...]:
    """ISO 3166-2 subdivisions of a country, sorted by code: `{"code", "name", "country"}`."""
    c = country_by_alpha3(alpha3)
    if c is None:
        return ()
    subs = pycountry.subdivisions.get(country_code=c.alpha_2) or []
    rows = [{"code": s.code, "name": s.name, "country": c.alpha_3} for s in subs]
    return tuple(sorted(rows, key=lambda r: r["code"]))


@cache
def _province_names(alpha3: str) -> dict[str, str]:
    return {p["code"]: p["name"] for p in provinces(alpha3)}


def province_name(alpha3: str, code: str) -> str | None:
    """The long name of `code` when it is an ISO 3166-2 code of that country, else None."""
    return _province_names(alpha3).get(code)
