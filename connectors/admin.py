"""The Django admin for keapconnect's records. Secrets are written once and shown redacted; tokens never."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.timezone import localtime

from .errors import ConnectorError
from .keap.errors import KeapError
from .models import ConnectedAccount, KeapApp
from .services.accounts import connected_account_disconnect, connected_account_test, oauth_token_refresh


def redact(secret: str | None) -> str:
    """'abcdefghijklmnopqrstuvwxyz' -> 'abcd…wxyz'; short or empty values are hidden altogether."""
    if not secret:
        return "—"
    if len(secret) < 12:
        return "…"
    return f"{secret[:4]}…{secret[-4:]}"


# -- developer apps --------------------------------------------------------------------------------
class KeapAppAddForm(forms.ModelForm):
    client_secret = forms.CharField(
        label="Client secret",
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted. It can be entered only here, when adding the app.",
    )

    class Meta:
        model = KeapApp
        fields = ["name", "client_id", "client_secret"]


@admin.register(KeapApp)
class KeapAppAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "redacted_client_secret", "account_count", "created_at"]
    search_fields = ["name", "client_id"]
    readonly_fields = ["redacted_client_secret", "created_by", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = KeapAppAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "client_id", "client_secret"]
        return ["name", "client_id", "redacted_client_secret", "created_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The client id is what the connected accounts were authorized for: it does not change.
        return ["client_id", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Client secret")
    def redacted_client_secret(self, obj):
        return redact(obj.client_secret)

    @admin.display(description="Connected accounts")
    def account_count(self, obj):
        return obj.accounts.count()


# -- connected accounts ----------------------------------------------------------------------------
@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "app_host",
        "keap_app",
        "status",
        "access_token_expires_at",
        "last_refreshed_at",
    ]
    list_filter = ["status", "keap_app"]
    search_fields = ["business_name", "app_name", "app_host", "keap_user_email", "keap_user_name"]
    list_select_related = ["keap_app"]
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "keap_app",
        "app_host",
        "app_name",
        "business_name",
        "keap_user_id",
        "keap_user_name",
        "keap_user_email",
        "status",
        "scope",
        "access_token_expires_at",
        "refresh_token_issued_at",
        "last_refreshed_at",
        "connected_by",
        "connected_at",
        "last_error",
        "updated_at",
    ]
    actions = ["test_connection", "refresh_tokens_now", "disconnect"]

    def has_add_permission(self, request):
        return False  # accounts are connected through the connect wizard (OAuth), not typed in

    @admin.action(description="Test connection")
    def test_connection(self, request, queryset: QuerySet[ConnectedAccount]):
        for account in queryset.select_related("keap_app"):
            try:
                self.message_user(request, connected_account_test(account=account), messages.SUCCESS)
            except ConnectorError as exc:
                self.message_user(request, _about(account, exc.message), messages.ERROR)

    @admin.action(description="Refresh tokens now")
    def refresh_tokens_now(self, request, queryset: QuerySet[ConnectedAccount]):
        for account in queryset.select_related("keap_app"):
            try:
                fresh = oauth_token_refresh(account=account)
            except ConnectorError as exc:
                self.message_user(request, _about(account, exc.message), messages.ERROR)
            except KeapError as exc:  # an outage of Keap's token endpoint: nothing changed
                self.message_user(request, _about(account, f"{exc.message} Try again later."), messages.ERROR)
            else:
                expires_at = fresh.access_token_expires_at
                expires = f"at {localtime(expires_at):%Y-%m-%d %H:%M %Z}" if expires_at else "when Keap says"
                self.message_user(
                    request,
                    f"{account}: tokens refreshed; the access token expires {expires}.",
                    messages.SUCCESS,
                )

    @admin.action(description="Disconnect (delete the tokens, keep the record)")
    def disconnect(self, request, queryset: QuerySet[ConnectedAccount]):
        for account in queryset:
            if account.status == ConnectedAccount.Status.DISCONNECTED:
                self.message_user(request, f"{account}: already disconnected.", messages.INFO)
                continue
            connected_account_disconnect(account=account, performed_by=request.user)
            self.message_user(request, f"{account}: disconnected; its tokens are deleted.", messages.SUCCESS)


def _about(account: ConnectedAccount, message: str) -> str:
    """The message, naming the account once."""
    return message if str(account) in message else f"{account}: {message}"


# -- contacts sent to Keap (ContactUpsert) -----------------------------------------------------------
# One appended block: its imports stay with it.
import json  # noqa: E402

from django.utils.html import format_html  # noqa: E402

from .models import ContactUpsert  # noqa: E402
from .services.contacts import contact_upsert_can_retry, contact_upsert_retry  # noqa: E402


@admin.register(ContactUpsert)
class ContactUpsertAdmin(admin.ModelAdmin):
    """Every upsert, as sent. Records are written by the service only: no adding, no editing."""

    list_display = [
        "created_at",
        "email",
        "account",
        "status",
        "outcome",
        "keap_contact_id",
        "attempts",
        "performed_by",
    ]
    list_filter = ["status", "outcome", "account"]
    search_fields = ["email"]
    list_select_related = ["account", "performed_by"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = [
        "account",
        "email",
        "status",
        "outcome",
        "keap_contact_id",
        "error_message",
        "attempts",
        "duplicate_option",
        "tag_ids",
        "pretty_payload",
        "submission_key",
        "performed_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only; the retry action needs only the view permission

    @admin.display(description="Payload sent to Keap")
    def pretty_payload(self, obj: ContactUpsert):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, sort_keys=True)
        )

    @admin.action(description="Retry the selected failed upserts", permissions=["view"])
    def retry(self, request, queryset: QuerySet[ContactUpsert]):
        for upsert in queryset.select_related("account"):
            if not contact_upsert_can_retry(upsert=upsert):
                status = upsert.get_status_display().lower()
                self.message_user(
                    request, f"Skipped {upsert.email}: it is {status}, not failed.", messages.WARNING
                )
                continue
            try:
                result = contact_upsert_retry(upsert=upsert, performed_by=request.user)
            except ConnectorError as exc:
                self.message_user(request, f"Retried {upsert.email}: {exc.message}", messages.ERROR)
            else:
                level = messages.INFO if result.replayed else messages.SUCCESS
                self.message_user(request, f"Retried {upsert.email}: {result.message}", level)
