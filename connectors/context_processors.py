from django.conf import settings


def keap(request):
    """Tell every template whether the app talks to the local sandbox or to the real Keap."""
    return {"keap_sandbox": settings.KEAP_SANDBOX, "keap_sandbox_url": settings.KEAP_SANDBOX_URL}
