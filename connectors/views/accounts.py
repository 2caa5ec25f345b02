"""Connected Keap accounts: the list, one account, and its actions (reconnect, test, disconnect)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..errors import ConnectorError
from ..models import ConnectedAccount
from ..services.accounts import connected_account_disconnect, connected_account_test


@require_GET
def account_list(request):
    return render(request, "connectors/accounts/list.html", {"accounts": selectors.connected_account_list()})


@require_GET
def account_detail(request, pk):
    account = get_object_or_404(selectors.connected_account_list(), pk=pk)
    return render(request, "connectors/accounts/detail.html", {"account": account})


@require_POST
def account_reconnect(request, pk):
    """Reconnecting runs the connect wizard again from its sign-in step, for this account."""
    account = get_object_or_404(ConnectedAccount, pk=pk)
    return redirect(
        reverse("connectors:connect_signin", args=[account.keap_app_id]) + f"?account={account.pk}"
    )


@require_POST
def account_test(request, pk):
    account = get_object_or_404(selectors.connected_account_list(), pk=pk)
    try:
        messages.success(request, connected_account_test(account=account))
    except ConnectorError as exc:
        messages.error(request, f"Testing {account} failed: {exc.message}")
    return _back(request, account)


@require_POST
def account_disconnect(request, pk):
    account = get_object_or_404(ConnectedAccount, pk=pk)
    connected_account_disconnect(account=account, performed_by=request.user)
    messages.success(
        request, f"Disconnected {account}: its tokens are deleted. Reconnect it to use it again."
    )
    return _back(request, account)


def _back(request, account):
    """Back to the page the action was sent from (the list or the account), else the account's page."""
    next_url = request.POST.get("next")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect(account)


urlpatterns = [
    path("keap-accounts/", account_list, name="account_list"),
    path("keap-accounts/<int:pk>/", account_detail, name="account_detail"),
    path("keap-accounts/<int:pk>/reconnect/", account_reconnect, name="account_reconnect"),
    path("keap-accounts/<int:pk>/test/", account_test, name="account_test"),
    path("keap-accounts/<int:pk>/disconnect/", account_disconnect, name="account_disconnect"),
]
