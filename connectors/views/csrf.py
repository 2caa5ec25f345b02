"""Django's CSRF failure in the product's words (settings.CSRF_FAILURE_VIEW).

The usual cause here is harmless: the person signed in again in another tab, which gave the session
a new CSRF token, and then sent a form from a page opened before. A contact form sent that way
from this site's own page is kept and shown again, as after a session that ended.
"""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render

from ..middleware import unsent_contact_keep


@login_not_required
def csrf_failure(request, reason=""):
    if _from_this_site(request) and unsent_contact_keep(request):
        return redirect("connectors:contact_new")
    return render(request, "403_csrf.html", status=403)


def _from_this_site(request) -> bool:
    """The browser says the page that sent the form is one of ours (a forged form comes from elsewhere)."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and urlsplit(source).netloc == request.get_host()
