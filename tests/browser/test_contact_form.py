"""The contact form in Chromium: provinces follow the country without a reload, and it sends once.

(Part of the contact form's tests, tests/contacts/; here because the browser fixtures live in this
directory's conftest.)
"""

import pytest

from connectors.models import ConnectedAccount, ContactUpsert

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
    assert browser.locator(
        "button[name=_refresh][value=provinces]"
    ).is_hidden()  # the no-JS round trip is not needed
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


def test_create_then_update_the_same_person_with_canada_and_british_columbia(
    signed_in_page, live_server, sandbox
):
    browser = signed_in_page
    browser.goto(f"{live_server.url}/contacts/new/")
    browser.fill("#id_given_name", "Ada")
    browser.fill("#id_family_name", "Lovelace")
    browser.fill("#id_email", "ada@example.com")
    browser.fill("#id_line1", "800 Robson St")
    browser.fill("#id_city", "Vancouver")
    browser.fill("#id_postal_code", "V6Z 2E7")
    # The province list follows the country: the United States' first, then Canada's.
    browser.select_option("#id_country_code", label="United States")
    browser.wait_for_selector("#id_region_code option[value='US-CA']", state="attached")
    browser.select_option("#id_country_code", label="Canada")
    browser.wait_for_selector("#id_region_code option[value='CA-BC']", state="attached")
    assert browser.locator("#id_region_code option[value='US-CA']").count() == 0
    browser.select_option("#id_region_code", label="British Columbia")
    browser.get_by_role("button", name="Send to Keap").click()
    browser.wait_for_url("**/contacts/sent/*/")
    created = browser.locator("#upsert-message").inner_text()
    assert created.startswith("Created contact #") and "Alpine Bakery" in created

    # The same person again, typed with other letter case: Keap updates the contact it has.
    browser.get_by_role("link", name="Add another contact").click()
    browser.fill("#id_given_name", "Augusta Ada")
    browser.fill("#id_family_name", "Lovelace")
    browser.fill("#id_email", "  ADA@Example.com ")
    browser.get_by_role("button", name="Send to Keap").click()
    browser.wait_for_url("**/contacts/sent/*/")
    updated = browser.locator("#upsert-message").inner_text()
    contact_id = created.split("#", 1)[1].split()[0]
    assert updated.startswith(f"Updated contact #{contact_id} ")

    [stored] = [
        c
        for c in sandbox.contacts("sa101")
        if any(e["email"].lower() == "ada@example.com" for e in c["email_addresses"])
    ]
    assert stored["id"] == contact_id and stored["given_name"] == "Augusta Ada"
    [billing] = [a for a in stored["addresses"] if a["field"] == "BILLING"]
    assert (billing["country_code"], billing["region_code"]) == ("CAN", "CA-BC")  # kept: not retyped
    assert list(ContactUpsert.objects.order_by("created_at").values_list("outcome", flat=True)) == [
        "created",
        "updated",
    ]


def test_enter_in_a_field_sends_the_form(signed_in_page, live_server, sandbox):
    browser = signed_in_page
    browser.goto(f"{live_server.url}/contacts/new/")
    browser.fill("#id_email", "enter@example.com")
    browser.press("#id_email", "Enter")
    browser.wait_for_url("**/contacts/sent/*/")
    assert "Created contact #" in browser.locator("#upsert-message").inner_text()
    assert ContactUpsert.objects.get().email == "enter@example.com"


def test_a_slow_answer_for_an_earlier_country_does_not_fill_the_province_list(
    signed_in_page, live_server, sandbox
):
    browser = signed_in_page
    held = []

    def hold_canada_once(route):
        if "country=CAN" in route.request.url and not held:
            held.append(route)  # Canada's answer is held back
        else:
            route.continue_()

    browser.route("**/contacts/provinces/**", hold_canada_once)
    browser.goto(f"{live_server.url}/contacts/new/")
    browser.select_option("#id_country_code", "CAN")
    browser.wait_for_function("() => true")
    browser.select_option("#id_country_code", "USA")
    browser.wait_for_selector("#id_region_code option[value='US-CA']", state="attached")
    browser.select_option("#id_country_code", "CAN")  # Canada again: this answer comes at once
    browser.wait_for_selector("#id_region_code option[value='CA-BC']", state="attached")
    held[0].continue_()  # the first, stale answer for Canada arrives last
    browser.wait_for_timeout(300)
    codes = browser.locator("#id_region_code option").evaluate_all("options => options.map(o => o.value)")
    assert "CA-BC" in codes and "US-CA" not in codes
    assert len(codes) == len(set(codes))  # no province listed twice


def test_back_after_sending_brings_the_province_back_with_the_country(signed_in_page, live_server, sandbox):
    browser = signed_in_page
    browser.goto(f"{live_server.url}/contacts/new/")
    browser.fill("#id_email", "ann@example.com")
    browser.select_option("#id_country_code", "CAN")
    browser.wait_for_selector("#id_region_code option[value='CA-BC']", state="attached")
    browser.select_option("#id_region_code", "CA-BC")
    browser.get_by_role("button", name="Send to Keap").click()
    browser.wait_for_url("**/contacts/sent/*/")

    browser.go_back()
    browser.wait_for_function("document.getElementById('id_region_code').value === 'CA-BC'")
    assert browser.locator("#id_country_code").input_value() == "CAN"
    assert browser.locator("#id_region_code").is_enabled()


def test_an_account_that_needs_reconnecting_says_so_without_reloading_the_page(
    signed_in_page, live_server, connected_account
):
    browser = signed_in_page
    url = f"{live_server.url}/contacts/new/?account={connected_account.pk}"
    browser.goto(url)  # countries and tags cached while the account worked
    ConnectedAccount.objects.filter(pk=connected_account.pk).update(
        status=ConnectedAccount.Status.NEEDS_RECONNECT
    )
    ConnectedAccount.objects.create(  # another, active account: the form is still offered
        keap_app=connected_account.keap_app,
        app_host="sa999.example.com",
        app_name="sa999",
        business_name="Other",
    )
    browser.goto(url)
    assert "needs reconnecting" in browser.locator(".alert-warning").first.inner_text()
    loads, asked = [], []
    browser.on("load", lambda _page: loads.append(1))
    browser.on(
        "request",
        lambda request: asked.append(request.url) if "/contacts/provinces/" in request.url else None,
    )

    browser.select_option("#id_country_code", "ITA")  # provinces never read: Keap must be asked
    browser.wait_for_function(
        "document.getElementById('id_region_code_helptext').textContent.includes('needs reconnecting')"
    )
    browser.wait_for_timeout(500)
    assert loads == [] and len(asked) == 1  # once, and no round trip to the server's page


def test_refresh_lookups_keeps_what_was_typed(signed_in_page, live_server, sandbox):
    browser = signed_in_page
    browser.goto(f"{live_server.url}/contacts/new/")
    browser.fill("#id_given_name", "Grace")
    browser.select_option("#id_country_code", "CAN")
    browser.wait_for_selector("#id_region_code option[value='CA-BC']", state="attached")
    browser.select_option("#id_region_code", "CA-BC")
    tags_read = len(sandbox.requests("/crm/rest/v2/tags", "GET"))
    browser.get_by_role("button", name="Refresh lookups").click()
    browser.wait_for_selector(".alert-success")
    assert "countries and" in browser.locator(".alert-success").inner_text()
    assert len(sandbox.requests("/crm/rest/v2/tags", "GET")) > tags_read  # read from Keap again
    assert browser.input_value("#id_given_name") == "Grace"
    assert (browser.input_value("#id_country_code"), browser.input_value("#id_region_code")) == (
        "CAN",
        "CA-BC",
    )
    assert ContactUpsert.objects.count() == 0
