"""The connect wizard: 1 enter keys, 2 sign in, (3 pick the account, 4 allow: on Keap), connected."""

import logging

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors
from ..forms_connect import KeapAppChooseForm, KeapAppKeysForm
from ..models import ConnectedAccount, KeapApp
from ..services.keap_apps import keap_app_create, keap_app_secret_update
from ..services.oauth import (
    OAuthDeclined,
    OAuthFailed,
    OAuthStateError,
    oauth_flow_complete,
    oauth_flow_start,
)

security_logger = logging.getLogger("django.security.OAuthStateError")


def redirect_uri_for(request) -> str:
    """The redirect URI registered with the Keap developer app: from settings, or this site's callback URL."""
    return settings.KEAP_REDIRECT_URI or request.build_absolute_uri(reverse("connectors:connect_callback"))


@require_http_methods(["GET", "POST"])
def connect_keys(request):
    """Step 1: choose a saved developer app, or enter the keys of a new one."""
    choose_form = KeapAppChooseForm(prefix="choose")
    keys_form = KeapAppKeysForm(prefix="keys")
    if request.method == "POST":
        if "choose" in request.POST:
            choose_form = KeapAppChooseForm(request.POST, prefix="choose")
            if choose_form.is_valid():
                return redirect(
                    "connectors:connect_signin", keap_app_id=choose_form.cleaned_data["keap_app"].pk
                )
        else:
            keys_form = KeapAppKeysForm(request.POST, prefix="keys")
            if keys_form.is_valid():
                data = keys_form.cleaned_data
                if keys_form.existing is not None:
                    old_name = keys_form.existing.name
                    keap_app = keap_app_secret_update(
                        keap_app=keys_form.existing,
                        client_secret=data["client_secret"],
                        name=data["name"],
                        performed_by=request.user,
                    )
                    renamed = f" (renamed from “{old_name}”)" if keap_app.name != old_name else ""
                    messages.success(request, f"Replaced the client secret of “{keap_app.name}”{renamed}.")
                else:
                    keap_app = keap_app_create(
                        name=data["name"],
                        client_id=data["client_id"],
                        client_secret=data["client_secret"],
                        created_by=request.user,
                    )
                    messages.success(request, f"Saved the developer app “{keap_app.name}”.")
                return redirect("connectors:connect_signin", keap_app_id=keap_app.pk)
    keap_apps = list(selectors.keap_app_list())
    return render(
        request,
        "connectors/connect/keys.html",
        {
            "step": 1,
            "redirect_uri": redirect_uri_for(request),
            "keap_apps": keap_apps,
            "choose_form": choose_form,
            "keys_form": keys_form,
        },
    )


@require_http_methods(["GET", "POST"])
def connect_signin(request, keap_app_id):
    """Step 2: explain whose Keap login comes next; a POST sends the person to Keap with a fresh state."""
    keap_app = get_object_or_404(KeapApp, pk=keap_app_id)
    account = None
    account_id = request.POST.get("account") or request.GET.get("account")
    if account_id:
        if not str(account_id).isdigit():
            return redirect("connectors:connect_signin", keap_app_id=keap_app.pk)
        account = get_object_or_404(ConnectedAccount, pk=account_id, keap_app=keap_app)
    if request.method == "POST":
        url = oauth_flow_start(
            request_session=request.session,
            keap_app=keap_app,
            account=account,
            redirect_uri=redirect_uri_for(request),
        )
        return redirect(url)
    return render(
        request,
        "connectors/connect/signin.html",
        {"step": 2, "keap_app": keap_app, "account": account, "authorize_url": settings.KEAP_AUTHORIZE_URL},
    )


@require_GET
def connect_callback(request):
    """Keap sends the person back here with `code` and `state` (or `error`)."""
    try:
        result = oauth_flow_complete(
            request_session=request.session,
            params=request.GET,
            redirect_uri=redirect_uri_for(request),
            performed_by=request.user,
        )
    except OAuthStateError as exc:
        security_logger.warning("Rejected a Keap OAuth callback: %s", exc, extra={"request": request})
        return render(request, "connectors/connect/state_invalid.html", {"step": 2}, status=400)
    except OAuthDeclined as exc:
        return render(request, "connectors/connect/declined.html", _retry_context(exc), status=200)
    except OAuthFailed as exc:
        context = _retry_context(exc)
        context.update(kind=exc.extra.get("kind"), redirect_uri=exc.extra.get("redirect_uri"))
        return render(request, "connectors/connect/failed.html", context, status=400)

    account = result.account
    if result.picked_other_account:
        messages.warning(
            request,
            f"You set out to reconnect {result.reconnect_requested}, but picked {account} on Keap: "
            f"{account} is now {'connected' if result.created else 'reconnected'}, and "
            f"{result.reconnect_requested} was left as it was.",
        )
    elif not result.created:
        messages.info(request, f"{account} was connected already: its connection is renewed, not duplicated.")
    return redirect("connectors:connect_done", pk=account.pk)


@require_GET
def connect_done(request, pk):
    account = get_object_or_404(ConnectedAccount.objects.select_related("keap_app"), pk=pk)
    return render(request, "connectors/connect/done.html", {"step": 5, "account": account})


def _retry_context(exc) -> dict:
    """Where "start again" leads: the same app (and account) when the state told us, else step 1."""
    keap_app = (
        KeapApp.objects.filter(pk=exc.extra.get("keap_app_id")).first()
        if exc.extra.get("keap_app_id")
        else None
    )
    account_id = exc.extra.get("account_id")
    if keap_app is not None:
        retry_url = reverse("connectors:connect_signin", args=[keap_app.pk])
        if account_id:
            retry_url += f"?account={account_id}"
    else:
        retry_url = reverse("connectors:connect_keys")
    return {"step": 2, "message": exc.message, "keap_app": keap_app, "retry_url": retry_url}


urlpatterns = [
    path("connect/", connect_keys, name="connect_keys"),
    path("connect/<int:keap_app_id>/sign-in/", connect_signin, name="connect_signin"),
    path("connect/callback/", connect_callback, name="connect_callback"),
    path("connect/done/<int:pk>/", connect_done, name="connect_done"),
]
