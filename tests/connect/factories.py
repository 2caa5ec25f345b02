"""Factories for the connect tests."""

from datetime import timedelta

import factory
from django.utils import timezone

from connectors.models import ConnectedAccount, KeapApp


class KeapAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KeapApp
        django_get_or_create = ("client_id",)

    name = "Test app"
    client_id = "test-client-id"
    client_secret = "test-client-secret"


class ConnectedAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectedAccount

    keap_app = factory.SubFactory(KeapAppFactory)
    app_host = "xy123.infusionsoft.com"
    app_name = "xy123"
    business_name = "Alpine Bakery"
    keap_user_email = "alice@example.com"
    status = ConnectedAccount.Status.ACTIVE
    access_token = "old-access"
    refresh_token = "old-refresh"
    access_token_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=20))
    refresh_token_issued_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    scope = "full|xy123.infusionsoft.com"
