"""The contact form in Chromium: provinces follow the country without a reload, and it sends once.

(Part of the contact form's tests, tests/contacts/; here because the browser fixtures live in this
directory's conftest.)
"""

import pytest

from connectors.models import ContactUpsert

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in_page(page, live_server, staff_client, connected_account):
    page.context.add_cookies(
        [{"name": "sessionid", "value": staff_client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


def test_provinces_follow_the_country_and_the_contact_is_sent_once(signed_in_page, live_server, sandbox):
    browser = signed_in_page
    browser.goto(f"{live_server.url}/contacts/new/")
    assert browser.locator("button[name=_refresh]").first.is_hidden()  # the no-JS round trip is not needed
    assert browser.locator("#id_region_code").is_disabled()

    browser.select_option("#id_country_code", "ATA")
    browser.wait_for_function(
        "document.getElementById('id_region_code_helptext').textContent.includes('no states')"
    )
    assert browser.locator("#id_region_code").is_disabled()

    browser.select_option("#id_country_code", "CAN")
    browser.wait_for_selector("#id_region_code option[value='CA-BC']", state="attached")
    browser.select_option("#id_region_code", "CA-BC")
    browser.fill("#id_email", "browser@example.com")
    browser.fill("#id_line1", "1 Robson St")
    browser.get_by_role("button", name="Send to Keap").dblclick()
    browser.wait_for_url("**/contacts/sent/*/")

    assert "Created contact #" in browser.locator("#upsert-message").inner_text()
    record = ContactUpsert.objects.get()
    assert (record.status, record.outcome) == ("succeeded", "created")
    [stored] = [
        c
        for c in sandbox.contacts("sa101")
        if any(e["email"] == "browser@example.com" for e in c["email_addresses"])
    ]
    assert (stored["addresses"][0]["country_code"], stored["addresses"][0]["region_code"]) == ("CAN", "CA-BC")
    assert len(sandbox.requests("/crm/rest/v2/contacts", "POST")) == 1
