"""Reads from the database."""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import ConnectedAccount, ContactUpsert, KeapApp


def keap_app_list() -> QuerySet[KeapApp]:
    return KeapApp.objects.order_by("name")


def connected_account_list() -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.select_related("keap_app").order_by("business_name", "app_name")


def connected_account_reconnect_list() -> QuerySet[ConnectedAccount]:
    return connected_account_list().filter(status=ConnectedAccount.Status.NEEDS_RECONNECT)


def connected_account_active_list() -> QuerySet[ConnectedAccount]:
    return connected_account_list().filter(status=ConnectedAccount.Status.ACTIVE)


# What a page needs to offer an account (its label, its status, its lookups' cache keys): no tokens,
# so nothing is decrypted however many accounts are connected, and no developer app, which is read
# only for the label of an account connected through two of them.
ACCOUNT_OFFER_FIELDS = ("id", "keap_app_id", "app_name", "business_name", "status", "connected_at")


def connected_account_active_offer_list() -> list[ConnectedAccount]:
    """The active accounts, lean (ACCOUNT_OFFER_FIELDS), in pk order.

    Read on every contact form page; the lean SELECT without ORDER BY is about a third of what the
    usual queryset costs to build and load (`make bench`). Tokens load on first use.
    """
    accounts = ConnectedAccount.objects.filter(status=ConnectedAccount.Status.ACTIVE)
    return sorted(accounts.order_by().only(*ACCOUNT_OFFER_FIELDS), key=lambda account: account.pk)


def contact_upsert_latest(*, limit: int = 10) -> QuerySet[ContactUpsert]:
    return ContactUpsert.objects.select_related("account", "performed_by").order_by("-created_at")[:limit]


def connected_account_get_or_none(*, pk) -> ConnectedAccount | None:
    """The account whatever its status, or None (also for a pk that is not a number)."""
    try:
        return connected_account_list().filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def contact_upsert_list(*, status: str = "", account_id=None) -> QuerySet[ContactUpsert]:
    upserts = ContactUpsert.objects.select_related("account", "performed_by").order_by("-created_at", "-pk")
    if status in ContactUpsert.Status.values:
        upserts = upserts.filter(status=status)
    if account_id not in (None, ""):
        try:
            upserts = upserts.filter(account_id=int(account_id))
        except (TypeError, ValueError):
            return upserts.none()
    return upserts


def contact_upsert_get(*, pk: int) -> ContactUpsert:
    """Raises ContactUpsert.DoesNotExist."""
    return ContactUpsert.objects.select_related("account", "performed_by").get(pk=pk)


def contact_upsert_get_or_none(*, pk) -> ContactUpsert | None:
    if not pk:
        return None
    return ContactUpsert.objects.select_related("account", "performed_by").filter(pk=pk).first()


def connected_account_refresh_due_list(
    *, older_than_days: int, now: datetime | None = None
) -> QuerySet[ConnectedAccount]:
    """Active accounts whose refresh token is older than `older_than_days` (or of unknown age)."""
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    return (
        connected_account_active_list()
        .exclude(refresh_token__isnull=True)
        .exclude(refresh_token="")
        .filter(Q(refresh_token_issued_at__lte=cutoff) | Q(refresh_token_issued_at__isnull=True))
        .order_by("pk")
    )
