"""Reads from the database."""
from django.db.models import QuerySet

from .models import ConnectedAccount, ContactUpsert, KeapApp


def keap_app_list() -> QuerySet[KeapApp]:
    return KeapApp.objects.order_by("name")


def connected_account_list() -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.select_related("keap_app").order_by("business_name", "app_name")


def connected_account_active_list() -> QuerySet[ConnectedAccount]:
    return connected_account_list().filter(status=ConnectedAccount.Status.ACTIVE)


def contact_upsert_latest(*, limit: int = 10) -> QuerySet[ContactUpsert]:
    return ContactUpsert.objects.select_related("account", "performed_by").order_by("-created_at")[:limit]
