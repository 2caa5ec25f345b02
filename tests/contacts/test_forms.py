"""ContactForm: choices from the account's lookups, Keap's lengths, region rules, nothing typed lost."""

import pytest

from connectors.forms import ContactForm, contact_form_initial_from
from connectors.keap.errors import KeapUnavailable
from connectors.models import ConnectedAccount
from connectors.services.contacts import ContactInput

from .conftest import form_data

pytestmark = pytest.mark.django_db


def test_choices_come_from_the_account_lookups_and_the_only_account_is_preselected(account, fake_keap):
    form = ContactForm()
    assert form.initial["account"] == account.pk and form.initial["submission_key"]
    assert form.fields["country_code"].choices == [
        ("", "—"),
        ("ATA", "Antarctica"),
        ("CAN", "Canada"),
        ("USA", "United States"),
    ]
    assert form.fields["tag_ids"].choices == [("101", "Customer"), ("102", "Newsletter"), ("103", "VIP")]
    assert form.fields["region_code"].help_text == "Choose a country first."
    assert form.fields["region_code"].widget.attrs["disabled"] == "disabled"


def test_only_active_accounts_are_offered_and_none_is_preselected_among_several(make_account, fake_keap):
    first = make_account(app="sa101")
    second = make_account(app="sa102", business="Bayside Dental")
    make_account(app="sb201", business="Cedar Yoga", status=ConnectedAccount.Status.NEEDS_RECONNECT)
    form = ContactForm()
    assert set(form.fields["account"].queryset) == {first, second}
    assert "account" not in form.initial and form.chosen_account is None
    assert fake_keap.calls == []  # no account chosen: no lists to read


@pytest.mark.parametrize("raw", ["", "999", "garbage", "1.5"])
def test_without_an_account_only_the_account_is_in_error_and_the_entry_stays(make_account, fake_keap, raw):
    make_account(app="sa101")
    make_account(app="sa102", business="Bayside Dental")
    data = {
        "email": "a@example.com",
        "account": raw,
        "country_code": "USA",
        "tag_ids": ["102"],
        "duplicate_option": "Email",
    }
    form = ContactForm(data=data)
    assert not form.is_valid()
    assert list(form.errors) == ["account"]  # not "Select a valid choice" on the country or tags
    assert form["country_code"].value() == "USA" and form["tag_ids"].value() == ["102"]


def test_a_valid_form_gives_the_contact_input(account, fake_keap):
    data = form_data(
        account,
        email="  ada@example.com ",
        country_code="CAN",
        region_code="CA-BC",
        line1="1 Way",
        phone_number="604",
        phone_type="Work",
        tag_ids=["101"],
    )
    form = ContactForm(data=data)
    assert form.is_valid(), form.errors
    assert form.contact_input() == ContactInput(
        email="ada@example.com",
        given_name="Ada",
        family_name="Lovelace",
        phone_number="604",
        phone_type="Work",
        line1="1 Way",
        country_code="CAN",
        region_code="CA-BC",
    )
    assert form.cleaned_data["tag_ids"] == ["101"]


def test_a_region_of_another_country_is_refused_on_the_region_field_and_stays_visible(account, fake_keap):
    form = ContactForm(data=form_data(account, country_code="USA", region_code="CA-BC"))
    assert not form.is_valid()
    assert form.errors["region_code"] == [
        "British Columbia (CA-BC) is not a state/province of United States."
    ]
    assert ("CA-BC", "CA-BC (not in USA)") in form.fields["region_code"].widget.choices
    assert form["region_code"].value() == "CA-BC"
    unknown = ContactForm(data=form_data(account, country_code="CAN", region_code="CA-ZZ"))
    assert unknown.errors["region_code"] == ["CA-ZZ is not a state/province of Canada."]  # no ISO name


def test_a_region_without_a_country_is_refused(account, fake_keap):
    form = ContactForm(data=form_data(account, region_code="CA-BC"))
    assert not form.is_valid()
    assert form.errors["region_code"] == ["A state/province needs a country: choose the country too."]


def test_a_country_keap_does_not_list_is_refused(account, fake_keap):
    form = ContactForm(data=form_data(account, country_code="Canada"))
    assert not form.is_valid() and "country_code" in form.errors


def test_a_country_without_provinces_shows_none_and_says_so(account, fake_keap):
    form = ContactForm(data=form_data(account, country_code="ATA"))
    assert form.is_valid(), form.errors
    assert form.fields["region_code"].widget.choices == [("", "—")]
    assert form.fields["region_code"].help_text == "Keap lists no states or provinces for Antarctica."


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("given_name", 41),
        ("family_name", 41),
        ("line1", 76),
        ("line2", 76),
        ("city", 51),
        ("postal_code", 16),
        ("phone_number", 41),
        ("job_title", 256),
        ("company_name", 101),
    ],
)
def test_keap_lengths_are_enforced(account, fake_keap, field, length):
    char = "5" if field == "phone_number" else "x"
    form = ContactForm(data=form_data(account, **{field: char * length}))
    assert not form.is_valid() and field in form.errors
    ok = ContactForm(data=form_data(account, **{field: char * (length - 1)}))
    assert field not in ok.errors


@pytest.mark.parametrize("number", ["call me maybe", "555-CALL-NOW", "+ ( ) -"])
def test_a_phone_needs_digits(account, fake_keap, number):
    form = ContactForm(data=form_data(account, phone_number=number))
    assert form.errors["phone_number"] == [
        "Enter a phone number: digits, with spaces, + ( ) . - / if you like."
    ]
    assert form["phone_number"].value() == number


def test_a_wrong_country_is_the_only_address_error(account, fake_keap):
    form = ContactForm(data=form_data(account, country_code="can", region_code="CA-BC"))
    assert list(form.errors) == ["country_code"]  # not also "a state/province needs a country"


def test_email_is_required_checked_and_at_most_75_characters(account, fake_keap):
    assert "email" in ContactForm(data=form_data(account, email="")).errors
    assert "email" in ContactForm(data=form_data(account, email="not-an-email")).errors
    long = "a" * 64 + "@" + "b" * 7 + ".com"  # 76 characters
    assert "email" in ContactForm(data=form_data(account, email=long)).errors


def test_a_phone_extension_needs_a_number_and_email_and_name_needs_a_name(account, fake_keap):
    form = ContactForm(data=form_data(account, phone_extension="12"))
    assert "phone_number" in form.errors
    form = ContactForm(
        data=form_data(account, given_name="", family_name="", duplicate_option="EmailAndName")
    )
    assert "duplicate_option" in form.errors


def test_without_keap_lists_the_form_says_so_and_refuses(account, fake_keap):
    fake_keap.fail[("GET", "/v2/locales/countries")] = KeapUnavailable("down", status=503)
    form = ContactForm(data=form_data(account))
    assert not form.is_valid()
    assert form.lists.lookups_missing
    assert "could not be read" in form.non_field_errors()[0]
    assert form.fields["country_code"].choices == [("", "—")]  # no invalid choices offered


def test_initial_from_a_post_keeps_everything_typed(account, fake_keap):
    data = form_data(account, country_code="CAN", region_code="CA-ON", tag_ids=["102"], phone_number="77")
    from django.http import QueryDict

    posted = QueryDict(mutable=True)
    for key, value in data.items():
        posted.setlist(key, value if isinstance(value, list) else [value])
    form = ContactForm(initial=contact_form_initial_from(posted))
    assert not form.is_bound
    assert form["email"].value() == "ada@example.com" and form["phone_number"].value() == "77"
    assert form["region_code"].value() == "CA-ON" and form["tag_ids"].value() == ["102"]
    assert ("CA-ON", "Ontario") in form.fields["region_code"].widget.choices
    assert str(form["submission_key"].value()) == data["submission_key"]


def test_control_characters_are_refused_on_their_field(account, fake_keap):
    form = ContactForm(data=form_data(account, given_name="Al\x07ice\x1b", city="Van\tcouver"))
    assert set(form.errors) == {"given_name", "city"}
    assert "control characters" in form.errors["given_name"][0]
    assert form["given_name"].value() == "Al\x07ice\x1b"  # kept as typed, to be corrected
