"""Names of ISO codes for people (pycountry), in messages and on pages; Keap's own lists stay the truth."""

import pycountry


def country_name(alpha3: str) -> str:
    """'Canada' for CAN (ISO 3166-1 alpha-3); the code itself when unknown."""
    country = pycountry.countries.get(alpha_3=alpha3) if alpha3 and len(alpha3) == 3 else None
    return getattr(country, "name", None) or alpha3


def region_label(code: str) -> str:
    """'British Columbia (CA-BC)' for an ISO 3166-2 code; the code itself when unknown."""
    subdivision = pycountry.subdivisions.get(code=code) if code else None
    return f"{subdivision.name} ({code})" if subdivision else code
