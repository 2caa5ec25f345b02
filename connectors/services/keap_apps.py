"""Keap developer apps: the client id and secret our OAuth requests present."""

from __future__ import annotations

import logging

from django.db import transaction

from ..models import KeapApp

logger = logging.getLogger(__name__)


@transaction.atomic
def keap_app_create(*, name: str, client_id: str, client_secret: str, created_by=None) -> KeapApp:
    """Save a developer app. `client_id` must not exist yet (the form says so on the field)."""
    keap_app = KeapApp(
        name=name.strip(),
        client_id=client_id.strip(),
        client_secret=client_secret.strip(),
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    keap_app.full_clean()
    keap_app.save()
    logger.info("Added Keap developer app %s (%s)", keap_app.pk, keap_app.name)
    return keap_app


@transaction.atomic
def keap_app_secret_update(
    *, keap_app: KeapApp, client_secret: str, name: str = "", performed_by=None
) -> KeapApp:
    """Replace a developer app's client secret, e.g. after it was reset in Keap's developer portal.

    A `name` given with it renames the app (the keys form asks for both).
    """
    locked = KeapApp.objects.select_for_update().get(pk=keap_app.pk)
    locked.client_secret = client_secret.strip()
    locked.name = name.strip() or locked.name
    locked.save(update_fields=["client_secret", "name"])
    logger.info(
        "Replaced the client secret of Keap developer app %s by user %s",
        locked.pk,
        getattr(performed_by, "pk", None),
    )
    return locked
