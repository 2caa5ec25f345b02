"""System checks for settings that are missing or unsafe."""

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_secrets(app_configs, **kwargs):
    problems = []
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        problems.append(
            Warning(
                "DJANGO_SECRET_KEY is the built-in development key.",
                hint="Set DJANGO_SECRET_KEY: it also derives the key that encrypts Keap secrets and tokens.",
                id="connectors.W001",
            )
        )
    if settings.SALT_KEY == ["keapconnect-local-salt"]:
        problems.append(
            Warning(
                "FIELD_ENCRYPTION_SALT is the built-in development salt.",
                hint="Set FIELD_ENCRYPTION_SALT to a random value of your own.",
                id="connectors.W002",
            )
        )
    return problems


@register()
def check_keap_urls(app_configs, **kwargs):
    problems = []
    for name in ("KEAP_AUTHORIZE_URL", "KEAP_TOKEN_URL", "KEAP_API_BASE_URL"):
        url = getattr(settings, name)
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(Warning(f"{name} is not an absolute URL: {url!r}.", id="connectors.W003"))
        elif parsed.scheme == "http" and not settings.KEAP_SANDBOX:
            problems.append(
                Warning(
                    f"{name} uses plain HTTP outside the sandbox: {url!r}.",
                    hint="Real Keap is only reached over HTTPS.",
                    id="connectors.W004",
                )
            )
    return problems
