from django.shortcuts import render

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
