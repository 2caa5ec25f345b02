"""keapconnect's records: developer apps, the Keap accounts connected through them, and upserts."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from encrypted_fields.fields import EncryptedCharField, EncryptedTextField


class KeapApp(models.Model):
    """A Keap developer app: the client id and secret that our OAuth requests present."""

    name = models.CharField(max_length=100, help_text="A name for people, e.g. 'Production app'.")
    client_id = models.CharField("client ID", max_length=255, unique=True)
    client_secret = EncryptedCharField("client secret", max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Keap developer app"

    def __str__(self):
        return self.name


class ConnectedAccount(models.Model):
    """One Keap account (a Keap "app", e.g. xy123.infusionsoft.com) connected through a KeapApp."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    keap_app = models.ForeignKey(
        KeapApp, on_delete=models.PROTECT, related_name="accounts", verbose_name="developer app"
    )
    app_host = models.CharField(
        "Keap app host", max_length=255, help_text="From the token scope, e.g. xy123.infusionsoft.com."
    )
    app_name = models.CharField("Keap app name", max_length=100, help_text="e.g. xy123.")
    business_name = models.CharField(max_length=255, blank=True)
    keap_user_id = models.CharField("Keap user id", max_length=64, blank=True)
    keap_user_name = models.CharField("Keap user", max_length=255, blank=True)
    keap_user_email = models.EmailField("Keap user email", max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    access_token = EncryptedTextField(blank=True, null=True)
    refresh_token = EncryptedTextField(blank=True, null=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_issued_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=255, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["business_name", "app_name"]
        constraints = [
            models.UniqueConstraint(fields=["keap_app", "app_host"], name="unique_account_per_keap_app"),
        ]

    def __str__(self):
        if self.business_name:
            return f"{self.business_name} ({self.app_name})"
        return self.app_name

    def get_absolute_url(self):
        return reverse("connectors:account_detail", args=[self.pk])

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE

    @property
    def unavailable_reason(self) -> str:
        """Why no call can be made with this account: for messages, e.g. "needs reconnecting"."""
        if self.status == self.Status.NEEDS_RECONNECT:
            return "needs reconnecting"
        if self.status == self.Status.DISCONNECTED:
            return "is disconnected"
        return "" if self.access_token and self.refresh_token else "holds no tokens"


class ContactUpsert(models.Model):
    """One contact sent (or to be sent) to Keap: written before the call, completed after it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Outcome(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    account = models.ForeignKey(ConnectedAccount, on_delete=models.PROTECT, related_name="upserts")
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One per submitted form: a second POST of the same form finds this row instead of sending again.
    submission_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=255)
    duplicate_option = models.CharField(max_length=32, default="Email")
    submitted = models.JSONField(default=dict, blank=True, help_text="What the person entered, as entered.")
    payload = models.JSONField(help_text="The CreateUpdateContactRequest body sent to Keap.")
    tag_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    keap_contact_id = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "sent contact"
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self):
        return f"{self.email} -> {self.account} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("connectors:upsert_detail", args=[self.pk])
