"""Forms: what staff type, checked before anything is sent to Keap. Choices come from lookups."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Div, Fieldset, Layout, Row
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.choices import BaseChoiceIterator
from django.utils.functional import cached_property

from . import lookups, selectors
from .models import ConnectedAccount
from .places import region_label
from .services.contacts import ContactInput
from .widgets import LongSelect

DUPLICATE_CHOICES = [("Email", "Email"), ("EmailAndName", "Email and name")]
PHONE_TYPES = [("", "—"), ("Work", "Work"), ("Home", "Home"), ("Mobile", "Mobile"), ("Other", "Other")]


class ContactForm(forms.Form):
    """One contact for one connected account.

    Its choice lists come from ContactFormLists, resolved from the form's own account and country
    (the data, or `initial`). Lengths are Keap's (CreateUpdateContactRequest: EMAIL1 75, names 40,
    BILLING lines 75, locality 50, postal code 15, PHONE1 40, job title 255).
    """

    # One per form shown: a second POST of the same entry is answered with the first one's result.
    submission_key = forms.CharField(widget=forms.HiddenInput, required=False)
    account = forms.ModelChoiceField(
        queryset=selectors.connected_account_active_list(),
        label="Keap account",
        empty_label="Choose an account…",
    )
    given_name = forms.CharField(label="First name", max_length=40, required=False)
    family_name = forms.CharField(label="Last name", max_length=40, required=False)
    email = forms.EmailField(label="Email", max_length=75)
    opt_in_reason = forms.CharField(
        label="Opt-in reason",
        max_length=255,
        required=False,
        help_text="Only when the person agreed to receive marketing email, e.g. “Signed up at the counter”.",
    )
    phone_number = forms.CharField(
        label="Phone",
        max_length=40,
        required=False,
        validators=[
            RegexValidator(
                r"^(?=\D*\d)[\d\s+().\-/]*$",
                "Enter a phone number: digits, with spaces, + ( ) . - / if you like.",
                code="invalid_phone",
            )
        ],
    )
    phone_extension = forms.CharField(label="Extension", max_length=40, required=False)
    phone_type = forms.ChoiceField(label="Phone type", choices=PHONE_TYPES, required=False)
    company_name = forms.CharField(label="Company", max_length=100, required=False)
    job_title = forms.CharField(label="Job title", max_length=255, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=75, required=False)
    line2 = forms.CharField(label="Address line 2", max_length=75, required=False)
    city = forms.CharField(label="City", max_length=50, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=15, required=False)
    country_code = forms.ChoiceField(label="Country", required=False, widget=LongSelect)
    # A Select whose value is checked in clean() against the chosen country's provinces, so that a
    # region of another country gets a message that says so.
    region_code = forms.CharField(label="State/province", required=False, widget=LongSelect)
    duplicate_option = forms.ChoiceField(
        label="Duplicate check",
        choices=DUPLICATE_CHOICES,
        initial="Email",
        widget=forms.RadioSelect,
        help_text="An existing contact found this way is updated; otherwise a new contact is created.",
    )
    tag_ids = forms.MultipleChoiceField(
        label="Tags", required=False, widget=forms.CheckboxSelectMultiple, help_text="Applied to the contact."
    )

    def __init__(self, *args, lists: ContactFormLists | None = None, **kwargs):
        """`lists`: the ContactFormLists of this form's account and country, when read already."""
        super().__init__(*args, **kwargs)
        if not self.is_bound and "submission_key" not in self.initial:
            self.initial["submission_key"] = uuid.uuid4()
        self.lists = lists or ContactFormLists(
            account=self._value("account"), country=self._value("country_code")
        )
        self.fields["account"].label_from_instance = self.lists.account_label
        chosen = self.lists.chosen_account
        if chosen is not None and not chosen.is_active:
            # Chosen, then refused by Keap (e.g. a revoked connection): still shown with its lists
            # (from the cache) so that the entry stays as typed; clean_account says what to do.
            self.fields["account"].queryset = selectors.connected_account_list().filter(
                Q(status=ConnectedAccount.Status.ACTIVE) | Q(pk=chosen.pk)
            )
        if chosen is not None and not self.is_bound:
            self.initial.setdefault("account", chosen.pk)
        self._set_choices()

    @property
    def chosen_account(self) -> ConnectedAccount | None:
        return self.lists.chosen_account

    @cached_property
    def helper(self) -> FormHelper:  # built only when the fields are rendered (not on a cache hit)
        return self._helper()

    def _value(self, name: str):
        """The raw value of a field: from the data when bound, else from `initial`."""
        if self.is_bound:
            return (
                self.fields[name].widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                or ""
            )
        value = self.initial.get(name, self.fields[name].initial)
        return value if value is not None else ""

    def _set_choices(self):
        lists = self.lists
        countries = lists.countries.as_choices() if lists.countries else []
        country = self.fields["country_code"]
        country.choices = FlatChoices([("", "—"), *countries])
        shown = _keep_typed(countries, self._value("country_code"))
        if len(shown) != len(countries):  # shown (and refused) as typed: the field's choices stay Keap's
            country.widget.choices = FlatChoices([("", "—"), *shown])
        self.fields["tag_ids"].choices = FlatChoices(lists.tags.as_choices() if lists.tags else [])
        if lists.chosen_account is None:
            # No account, no lists to check against: what was typed stays a valid choice, and the
            # account's own error says what to do (not "Select a valid choice" on a right country).
            country.choices = FlatChoices([("", "—"), *shown])
            self.fields["tag_ids"].choices = FlatChoices([(t, t) for t in self._value("tag_ids") or []])

        region = self.fields["region_code"]
        provinces = lists.provinces.as_choices() if lists.provinces else []
        region.widget.choices = FlatChoices(
            [("", "—"), *_keep_typed(provinces, self._value("region_code"), country=lists.country)]
        )
        if not lists.country:
            region.help_text = "Choose a country first."
        elif lists.provinces is not None and not lists.provinces.available:
            region.help_text = lists.provinces.notice
        elif lists.provinces is not None and not provinces:
            region.help_text = (
                f"Keap lists no states or provinces for {lists.countries.name_of(lists.country)}."
            )
        if not provinces and not self._value("region_code"):
            region.widget.attrs["disabled"] = "disabled"

    def clean_account(self) -> ConnectedAccount:
        account = self.cleaned_data["account"]
        if not account.is_active:
            raise forms.ValidationError(
                f"{account} {account.unavailable_reason}: reconnect it (Keap accounts), then send again.",
                code="account_unavailable",
            )
        return account

    def clean_submission_key(self) -> uuid.UUID:
        """A missing or garbled key (a stale or crafted page) is not the person's error: a new entry."""
        try:
            return uuid.UUID(self.cleaned_data.get("submission_key") or "")
        except ValueError:
            return uuid.uuid4()

    # -- validation ---------------------------------------------------------------------------------
    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and any(unicodedata.category(char) == "Cc" for char in value):
                self.add_error(
                    name, "Remove the invisible control characters (e.g. a pasted tab) from this field."
                )
        cleaned = self.cleaned_data
        lists = self.lists
        if lists.chosen_account is None:
            return cleaned
        if lists.lookups_missing:
            raise forms.ValidationError(
                "Keap's countries or tags could not be read, so this form cannot be checked. "
                "Try again when Keap can be reached.",
                code="lookups_missing",
            )
        country, region = cleaned.get("country_code") or "", (cleaned.get("region_code") or "").strip()
        cleaned["region_code"] = region
        if "country_code" in self.errors:
            pass  # the country's own error says what to fix; the region is checked once it is right
        elif region and not country:
            self.add_error("region_code", "A state/province needs a country: choose the country too.")
        elif region and lists.provinces is not None and not lists.provinces.available:
            self.add_error("region_code", lists.provinces.notice)
        elif region and lists.provinces is not None and region not in lists.provinces.codes:
            country_name = lists.countries.name_of(country)
            self.add_error(
                "region_code", f"{region_label(region)} is not a state/province of {country_name}."
            )
        has_phone_details = cleaned.get("phone_extension") or cleaned.get("phone_type")
        if has_phone_details and not cleaned.get("phone_number"):
            self.add_error("phone_number", "Enter the phone number that the extension or type belongs to.")
        if cleaned.get("duplicate_option") == "EmailAndName" and not (
            cleaned.get("given_name") or cleaned.get("family_name")
        ):
            self.add_error("duplicate_option", "“Email and name” needs a first or last name.")
        return cleaned

    def contact_input(self) -> ContactInput:
        data = self.cleaned_data
        return ContactInput(**{name: data.get(name) or "" for name in ContactInput.__dataclass_fields__})

    # -- layout -------------------------------------------------------------------------------------
    def _helper(self) -> FormHelper:
        helper = FormHelper(self)
        helper.form_tag = False
        helper.disable_csrf = True
        refresh = (
            '<button type="submit" name="_refresh" value="{what}" formnovalidate '
            'class="btn btn-outline-secondary js-hide">{label}</button>'
        )
        helper.layout = Layout(  # submission_key is rendered by the page, outside the cached fields
            Row(
                Column("account", css_class="col-md-8"),
                Column(
                    HTML(refresh.format(what="account", label="Load this account’s lists")),
                    css_class="col-md-4 d-flex align-items-start pt-md-4 mt-md-2",
                ),
            ),
            Fieldset(
                "Person",
                Row(Column("given_name", css_class="col-md-6"), Column("family_name", css_class="col-md-6")),
                Row(Column("email", css_class="col-md-6"), Column("opt_in_reason", css_class="col-md-6")),
                Row(
                    Column("phone_number", css_class="col-md-5"),
                    Column("phone_extension", css_class="col-md-3"),
                    Column("phone_type", css_class="col-md-4"),
                ),
                Row(Column("company_name", css_class="col-md-6"), Column("job_title", css_class="col-md-6")),
            ),
            Fieldset(
                "Billing address",
                "line1",
                "line2",
                Row(Column("city", css_class="col-md-8"), Column("postal_code", css_class="col-md-4")),
                Row(
                    Column("country_code", css_class="col-md-6"),
                    Column("region_code", css_class="col-md-6"),
                ),
                Div(HTML(refresh.format(what="provinces", label="Update provinces")), css_class="mb-3"),
            ),
            Row(
                Column(InlineRadios("duplicate_option"), css_class="col-md-6"),
                Column("tag_ids", css_class="col-md-6"),
            ),
        )
        return helper


class ContactFormLists:
    """What a contact form offers, resolved from the raw account and country it shows.

    The active accounts, the chosen one (from the value, or the only active account), that
    account's countries and tags, and the chosen country's provinces: one query and the lookup
    cache (Keap only when a list is not cached). Apart from the form's fields so that a page whose
    rendered fields are cached needs these and not the fields (ContactFormPage).
    """

    def __init__(self, *, account, country):
        self.active_accounts = selectors.connected_account_active_offer_list()
        self.chosen_account = self._chosen(account)
        self.country = country.strip().upper() if isinstance(country, str) else ""
        self.countries = self.tags = self.provinces = None
        if self.chosen_account is not None:
            self.countries = lookups.lookup_countries(account=self.chosen_account)
            self.tags = lookups.lookup_tags(account=self.chosen_account)
        if self.countries is not None and self.country in self.countries.codes:
            self.provinces = lookups.lookup_provinces(account=self.chosen_account, country_code=self.country)

    def _chosen(self, raw) -> ConnectedAccount | None:
        raw = getattr(raw, "pk", raw)
        if raw not in (None, ""):
            try:
                pk = int(raw)
            except (TypeError, ValueError):
                return None
            chosen = next((account for account in self.active_accounts if account.pk == pk), None)
            return chosen or selectors.connected_account_list().filter(pk=pk).first()
        return self.active_accounts[0] if len(self.active_accounts) == 1 else None

    def account_label(self, account: ConnectedAccount) -> str:
        """'Alpine Bakery (sa101)'; with the developer app when one Keap account is connected twice,
        and with what stops it when it cannot be used ('… (sa101) — needs reconnecting')."""
        label = str(account)
        if sum(str(other) == label for other in self.active_accounts) > 1:
            label = f"{label} · via {account.keap_app.name}"
        if not account.is_active:
            label = f"{label} — {account.unavailable_reason}"
        return label

    @property
    def lookup_notices(self) -> list[str]:
        """Messages about stale or missing lists, for the page to show above the form."""
        return [
            lk.notice for lk in (self.countries, self.tags, self.provinces) if lk is not None and lk.notice
        ]

    @property
    def lookups_missing(self) -> bool:
        return any(lk is not None and not lk.available for lk in (self.countries, self.tags))

    def fields_cache_key(self) -> str | None:
        """A key for the rendered fields of an untouched form with these lists, or None.

        Untouched (nothing typed, only the account chosen), the fields' HTML depends on the account,
        when its countries and tags were read, and the accounts on offer; only fresh lists qualify.
        """
        account = self.chosen_account
        if account is None or not account.is_active:
            return None
        if any(lk is None or lk.stale or not lk.available for lk in (self.countries, self.tags)):
            return None
        accounts = tuple((a.pk, self.account_label(a)) for a in self.active_accounts)
        parts = (account.pk, self.countries.fetched_at, self.tags.fetched_at, accounts)
        return hashlib.sha256(repr(parts).encode()).hexdigest()


class ContactFormPage:
    """A contact form as a page shows it: its lists, its submission key, and the form.

    Made from `initial`, the page builds its form on first use of `form`. The rendered fields of
    an untouched form (only the account chosen) are cached under `render_cache_key`, and a page
    that finds them there never builds the form: copying its 19 fields and setting ~250 countries
    was most of the page's cost.
    """

    UNTOUCHED = frozenset({"account", "submission_key"})

    def __init__(self, form: ContactForm | None = None, *, initial: dict | None = None):
        """Either a built `form` (bound, or showing what was typed), or the `initial` of a new one."""
        if form is not None:
            self.form = form
            self.lists = form.lists
            self.submission_key = form["submission_key"].value()
            untouched = not form.is_bound and not set(form.initial) - self.UNTOUCHED
        else:
            self._initial = {"submission_key": uuid.uuid4(), **(initial or {})}
            self.lists = ContactFormLists(
                account=self._initial.get("account"), country=self._initial.get("country_code")
            )
            self.submission_key = self._initial["submission_key"]
            untouched = not set(self._initial) - self.UNTOUCHED
        self.render_cache_key = self.lists.fields_cache_key() if untouched else None

    @cached_property
    def form(self) -> ContactForm:
        return ContactForm(initial=self._initial, lists=self.lists)


class FlatChoices(BaseChoiceIterator):
    """(value, label) pairs that are already flat and normalized.

    Django normalizes every list given as choices, item by item; Keap's ~250 countries made that a
    large part of the contact form's cost. Lookups are flat pairs of strings, so nothing is lost.
    """

    def __init__(self, pairs: list[tuple[str, str]]):
        self.pairs = pairs

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self):
        return len(self.pairs)


def _keep_typed(choices: list[tuple[str, str]], value, *, country: str = "") -> list[tuple[str, str]]:
    """The choices, plus the submitted value when it is not one of them, so that nothing typed is lost."""
    value = (value or "").strip() if isinstance(value, str) else value
    if not value or value in {code for code, _name in choices}:
        return list(choices)
    suffix = f"not in {country}" if country else "unknown"
    return list(choices) + [(value, f"{value} ({suffix})")]


def contact_form_initial_from(data) -> dict:
    """`initial` for an unbound ContactForm that shows what was posted, without validating it.

    Used by the "Update provinces" round trip: the page comes back with everything kept and no
    error messages, because nothing was submitted yet.
    """
    return {
        name: field.widget.value_from_datadict(data, None, name)
        for name, field in ContactForm.base_fields.items()
    }
