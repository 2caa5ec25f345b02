"""Forms of the connect wizard's first step: choose a saved developer app, or enter its keys."""

from django import forms

from . import selectors
from .models import KeapApp


class KeapAppChooseForm(forms.Form):
    keap_app = forms.ModelChoiceField(
        label="Developer app", queryset=KeapApp.objects.none(), empty_label=None
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keap_app"].queryset = selectors.keap_app_list()
        # The client ID tells apart two apps given the same name (it is no secret: it is in every
        # sign-in address).
        self.fields["keap_app"].label_from_instance = lambda app: f"{app.name} · client ID {app.client_id}"


class KeapAppKeysForm(forms.Form):
    """The keys of a Keap developer app, as shown in Keap's developer portal (My Apps).

    A client ID that is already saved is an error on the field, unless the person ticks
    `replace_secret`: then the form is valid and `existing` is the app whose secret to replace
    (the usual reason to type known keys again is a secret reset in the developer portal).
    """

    name = forms.CharField(max_length=100, help_text="A name for people, e.g. 'Production app'.")
    client_id = forms.CharField(
        label="Client ID", max_length=255, help_text="Keap calls it the key or client ID."
    )
    client_secret = forms.CharField(
        label="Client Secret",
        max_length=255,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; it is never shown again.",
    )
    replace_secret = forms.BooleanField(
        required=False, label="Replace the saved client secret of this app with the one entered above"
    )

    existing: KeapApp | None = None

    def clean_client_id(self):
        client_id = self.cleaned_data["client_id"].strip()
        if any(char.isspace() for char in client_id):
            raise forms.ValidationError(
                "A client ID has no spaces: copy it again from Keap's developer portal."
            )
        return client_id

    def clean_client_secret(self):
        secret = self.cleaned_data["client_secret"]
        if any(char.isspace() for char in secret):
            raise forms.ValidationError(
                "A client secret has no spaces: copy it again from Keap's developer portal."
            )
        return secret

    def clean(self):
        cleaned = super().clean()
        client_id = cleaned.get("client_id")
        if client_id:
            self.existing = KeapApp.objects.filter(client_id=client_id).first()
        name = (cleaned.get("name") or "").strip()
        named = KeapApp.objects.filter(name__iexact=name).exclude(client_id=client_id or "").first()
        if name and named is not None:
            self.add_error("name", f"A developer app is already called “{named.name}”: choose another name.")
        if self.existing is not None and not cleaned.get("replace_secret"):
            self.add_error(
                "client_id",
                f"This client ID is already saved as the developer app “{self.existing.name}”. "
                "Choose that app above; or, if its client secret was reset in Keap's developer portal, "
                "enter the new secret and tick the box below to replace the saved one.",
            )
        return cleaned

    @property
    def offers_replace(self) -> bool:
        return self.existing is not None
