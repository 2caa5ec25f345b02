"""Lookups: paged reads, the per-account cache, the last good copy, and the refresh."""

import pytest
from django.utils import timezone

from connectors import lookups
from connectors.keap.errors import KeapAuthError, KeapThrottled, KeapUnavailable
from connectors.models import ConnectedAccount

pytestmark = pytest.mark.django_db


def test_countries_follow_next_page_token_to_the_last_page(account, fake_keap):
    countries = lookups.lookup_countries(account=account)
    assert [c.code for c in countries.choices] == ["ATA", "CAN", "USA"]  # sorted by name
    pages = fake_keap.calls_to("GET", "/v2/locales/countries")
    assert [c[2].get("page_token") for c in pages] == [None, "2"]
    assert countries.available and not countries.stale and not countries.notice


def test_names_sort_alphabetically_for_people_accents_included(account, fake_keap):
    fake_keap.countries = [
        {"codes": {"alpha3": code}, "name": name}
        for code, name in [
            ("ALA", "Åland Islands"),
            ("CZE", "Czechia"),
            ("CIV", "Côte d'Ivoire"),
            ("CRI", "Costa Rica"),
        ]
    ]
    countries = lookups.lookup_countries(account=account)
    assert [c.name for c in countries.choices] == ["Åland Islands", "Costa Rica", "Côte d'Ivoire", "Czechia"]


def test_provinces_are_read_by_alpha3_and_tags_with_the_largest_page(account, fake_keap):
    provinces = lookups.lookup_provinces(account=account, country_code="can")
    assert provinces.as_choices() == [("CA-BC", "British Columbia"), ("CA-ON", "Ontario")]
    assert fake_keap.calls_to("GET", "/v2/locales/countries/CAN/provinces")
    lookups.lookup_tags(account=account)
    assert fake_keap.calls_to("GET", "/v2/tags")[0][2] == {"page_size": 1000}


def test_a_second_read_comes_from_the_cache_per_account(make_account, fake_keap):
    first, second = make_account(app="sa101"), make_account(app="sa102")
    lookups.lookup_countries(account=first)
    calls = len(fake_keap.calls)
    lookups.lookup_countries(account=first)
    assert len(fake_keap.calls) == calls
    lookups.lookup_countries(account=second)
    assert len(fake_keap.calls) > calls


def test_the_cache_lasts_keap_lookup_cache_ttl(account, fake_keap, settings, monkeypatch):
    settings.KEAP_LOOKUP_CACHE_TTL = 123
    stored = {}
    monkeypatch.setattr(lookups.cache, "set", lambda key, value, timeout: stored.__setitem__(key, timeout))
    lookups.lookup_tags(account=account)
    assert sorted(stored.values(), key=str) == [123, None]  # the fresh copy, and the last good one


def test_keap_unreachable_with_a_last_good_copy_uses_it_with_a_notice(account, fake_keap):
    lookups.lookup_tags(account=account)
    fake_keap.fail[("GET", "/v2/tags")] = KeapThrottled("Quota Exceeded", status=429)
    _countries, refreshed = lookups.lookups_refresh(account=account)  # the fresh copy is gone
    assert refreshed.stale
    tags = lookups.lookup_tags(account=account)
    assert tags.stale and tags.available
    assert [c.code for c in tags.choices] == ["101", "102", "103"]
    assert "Showing the copy read on" in tags.notice
    assert tags.notice.startswith("Keap could not be asked for the tags (Keap is limiting how fast")
    assert ".)" not in tags.notice  # the reason's own full stop is not doubled


def test_keap_unreachable_without_a_copy_says_so_and_offers_nothing(account, fake_keap):
    fake_keap.fail[("GET", "/v2/locales/countries")] = KeapUnavailable("down", status=503)
    countries = lookups.lookup_countries(account=account)
    assert not countries.available and countries.choices == ()
    assert countries.notice == (
        "The countries could not be read from Keap: down. Keap is asked again after 60 seconds."
    )
    fake_keap.fail[("GET", "/v2/locales/countries/CAN/provinces")] = KeapUnavailable("down", status=503)
    provinces = lookups.lookup_provinces(account=account, country_code="CAN")
    assert provinces.notice.startswith("The states/provinces of Canada could not be read")  # a name, not CAN


def test_an_inactive_account_gets_no_lists_and_no_call(make_account, fake_keap):
    account = make_account(status=ConnectedAccount.Status.DISCONNECTED)
    assert not lookups.lookup_countries(account=account).available
    assert fake_keap.calls == []


def test_refresh_reads_again_including_provinces(account, fake_keap):
    lookups.lookup_provinces(account=account, country_code="CAN")
    fake_keap.provinces["CAN"].append({"code": "CA-QC", "name": "Quebec", "country": "CAN"})
    countries, tags = lookups.lookups_refresh(account=account)
    assert countries.available and tags.available
    assert "CA-QC" in lookups.lookup_provinces(account=account, country_code="CAN").codes


def test_after_a_failure_keap_is_not_asked_again_for_a_minute_but_a_refresh_asks(account, fake_keap):
    fake_keap.fail[("GET", "/v2/locales/countries")] = [KeapUnavailable("down", status=503)]
    assert not lookups.lookup_countries(account=account).available
    assert not lookups.lookup_countries(account=account).available
    assert len(fake_keap.calls_to("GET", "/v2/locales/countries")) == 1
    countries, _tags = lookups.lookups_refresh(account=account)
    assert countries.available and "CAN" in countries.codes


def test_after_a_reconnect_keap_is_asked_again_at_once(account, fake_keap):
    fake_keap.fail[("GET", "/v2/locales/countries")] = [KeapUnavailable("down", status=503)]
    assert not lookups.lookup_countries(account=account).available
    account.connected_at = timezone.now()  # what a reconnect does
    assert lookups.lookup_countries(account=account).available
    first_pages = [c for c in fake_keap.calls_to("GET", "/v2/locales/countries") if "page_token" not in c[2]]
    assert len(first_pages) == 2  # the failed read, and the read right after the reconnect


def test_a_refused_account_is_not_paused_so_its_lists_come_at_once_when_it_works_again(account, fake_keap):
    fake_keap.fail[("GET", "/v2/locales/countries")] = [KeapAuthError("Invalid Access Token", status=401)]
    refused = lookups.lookup_countries(account=account)
    account.refresh_from_db()
    assert not refused.available and account.status == ConnectedAccount.Status.NEEDS_RECONNECT
    assert refused.notice.startswith("The countries could not be read from Keap: Keap refused")
    assert "asked again" not in refused.notice  # no pause: it is read once the account works
    ConnectedAccount.objects.filter(pk=account.pk).update(
        status=ConnectedAccount.Status.ACTIVE
    )  # e.g. Test connection
    account.refresh_from_db()
    assert lookups.lookup_countries(account=account).available  # read at once, no 60-second pause
