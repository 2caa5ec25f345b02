"""The sandbox's configuration: command-line options over environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_ACCESS_TOKEN_TTL = 86400  # seconds; Keap: 24 h
REFRESH_TOKEN_TTL = 45 * 86400  # Keap: 45 days
AUTHORIZATION_CODE_TTL = 600  # Keap: 10 minutes
SIGNIN_FLOW_TTL = 1800  # seconds a started sign-in (authorize -> Allow/Deny) stays usable
MAX_SIGNIN_FLOWS = 10  # sign-ins in progress per browser session; the oldest is dropped

# Keap's published limits per client app (client id), across every Keap app it is connected to.
DEFAULT_PER_MINUTE = 1500
DEFAULT_PER_SECOND = 25
DEFAULT_PER_DAY = 150_000
# Per Keap app (tenant), whatever the client.
DEFAULT_TENANT_PER_MINUTE = 10_000
DEFAULT_TENANT_PER_DAY = 250_000


@dataclass
class Limits:
    per_minute: int = DEFAULT_PER_MINUTE
    per_second: int = DEFAULT_PER_SECOND
    per_day: int = DEFAULT_PER_DAY
    tenant_per_minute: int = DEFAULT_TENANT_PER_MINUTE
    tenant_per_day: int = DEFAULT_TENANT_PER_DAY


@dataclass
class SandboxConfig:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL
    # The main developer app's registered redirect URIs (exact match); empty: any is accepted.
    redirect_uris: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, *, access_token_ttl: int | None = None) -> SandboxConfig:
        ttl = access_token_ttl
        if ttl is None:
            ttl = int(os.environ.get("KEAP_SANDBOX_ACCESS_TOKEN_TTL") or DEFAULT_ACCESS_TOKEN_TTL)
        return cls(
            client_id=os.environ.get("KEAP_SANDBOX_CLIENT_ID") or "sandbox-client-id",
            client_secret=os.environ.get("KEAP_SANDBOX_CLIENT_SECRET") or "sandbox-client-secret",
            access_token_ttl=ttl,
            redirect_uris=parse_redirect_uris(os.environ.get("KEAP_SANDBOX_REDIRECT_URIS", "")),
        )


def is_redirect_uri(uri: str) -> bool:
    """An absolute http(s) URL without a fragment: what Keap accepts as a redirect URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def parse_redirect_uris(text: str) -> tuple[str, ...]:
    """`KEAP_SANDBOX_REDIRECT_URIS`: comma-separated exact URIs; blanks ignored, order kept."""
    uris = tuple(dict.fromkeys(u.strip() for u in text.split(",") if u.strip()))
    for uri in uris:
        if not is_redirect_uri(uri):
            raise ValueError(
                f"KEAP_SANDBOX_REDIRECT_URIS: {uri!r} is not an absolute http(s) URL without a fragment"
            )
    return uris
