from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors


def home(request):
    return render(
        request,
        "connectors/home.html",
        {
            "accounts": selectors.connected_account_list(),
            "upserts": selectors.contact_upsert_latest(limit=10),
        },
    )


@login_not_required
@require_GET
def healthz(request):
    """For load balancers and monitoring: the process answers. Touches neither the database nor Keap."""
    return HttpResponse("ok", content_type="text/plain")
