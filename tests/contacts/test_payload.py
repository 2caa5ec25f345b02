"""Building the CreateUpdateContactRequest: a whitelist, no empty strings, other slots kept, codes only."""

from connectors.services.contacts import (
    ContactInput,
    contact_match,
    contact_payload_build,
)

EXISTING = {
    "id": "7",
    "given_name": "Erin",
    "family_name": "Existing",
    "tag_ids": ["101"],
    "create_time": "2024-01-01T00:00:00Z",
    "email_addresses": [
        {
            "email": "Existing@Example.com",
            "field": "EMAIL1",
            "is_opt_in": False,
            "email_opt_status": "UNENGAGED_MARKETABLE",
        },
        {
            "email": "erin.work@example.com",
            "field": "EMAIL2",
            "is_opt_in": True,
            "email_opt_status": "SINGLE_OPT_IN",
            "opt_in_reason": "Trade fair",
        },
    ],
    "phone_numbers": [
        {"number": "303-555-1001", "field": "PHONE1", "type": "Mobile", "number_e164": "+13035551001"},
        {"number": "303-555-1002", "field": "PHONE2", "type": "Work", "number_e164": "+13035551002"},
    ],
    "addresses": [
        {
            "field": "BILLING",
            "line1": "1 Main St",
            "locality": "Denver",
            "region_code": "US-CO",
            "region": "Colorado",
            "country_code": "USA",
            "country": "United States",
            "postal_code": "80202",
        },
        {
            "field": "SHIPPING",
            "line1": "2 Side St",
            "locality": "Boulder",
            "region_code": "US-CO",
            "region": "Colorado",
            "country_code": "USA",
            "country": "United States",
            "postal_code": "80302",
        },
    ],
}


def test_only_what_was_typed_is_sent_and_never_an_empty_string():
    payload = contact_payload_build(
        contact=ContactInput(email="  ada@example.com ", given_name="Ada", job_title=" ")
    )
    assert payload == {
        "given_name": "Ada",
        "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
    }


def test_every_typed_field_lands_in_its_keap_property():
    contact = ContactInput(
        email="ada@example.com",
        given_name="Ada",
        family_name="Lovelace",
        phone_number="604-555-0100",
        phone_extension="12",
        phone_type="Work",
        company_name="Engines Ltd",
        job_title="Analyst",
        line1="1 Loop Rd",
        line2="Unit 2",
        city="Vancouver",
        postal_code="V6B 1A1",
        country_code="CAN",
        region_code="CA-BC",
        opt_in_reason="Asked at the counter",
    )
    assert contact_payload_build(contact=contact) == {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "job_title": "Analyst",
        "company": {"company_name": "Engines Ltd"},
        "email_addresses": [
            {"email": "ada@example.com", "field": "EMAIL1", "opt_in_reason": "Asked at the counter"}
        ],
        "phone_numbers": [{"field": "PHONE1", "number": "604-555-0100", "extension": "12", "type": "Work"}],
        "addresses": [
            {
                "field": "BILLING",
                "line1": "1 Loop Rd",
                "line2": "Unit 2",
                "locality": "Vancouver",
                "postal_code": "V6B 1A1",
                "country_code": "CAN",
                "region_code": "CA-BC",
            }
        ],
    }


def test_merge_keeps_the_other_slots_in_request_shape_and_never_read_only_properties():
    contact = ContactInput(
        email="existing@example.com",
        given_name="Erin",
        phone_number="303-555-9999",
        line1="9 New St",
        city="Denver",
        country_code="USA",
        region_code="US-CO",
    )
    payload = contact_payload_build(contact=contact, existing=EXISTING)
    assert payload["email_addresses"] == [
        {"email": "Existing@Example.com", "field": "EMAIL1"},  # as Keap stores it
        {"email": "erin.work@example.com", "field": "EMAIL2"},  # no opt-in re-sent, no read-only status
    ]
    assert payload["phone_numbers"] == [
        {"field": "PHONE1", "number": "303-555-9999"},
        {"field": "PHONE2", "number": "303-555-1002", "type": "Work"},
        {"field": "PHONE3", "number": "303-555-1001", "type": "Mobile"},  # moved, not deleted
    ]
    assert payload["addresses"] == [
        {  # a new street in the same city keeps the city's postal code
            "field": "BILLING",
            "line1": "9 New St",
            "locality": "Denver",
            "country_code": "USA",
            "region_code": "US-CO",
            "postal_code": "80202",
        },
        {
            "field": "SHIPPING",
            "line1": "2 Side St",
            "locality": "Boulder",
            "region_code": "US-CO",
            "country_code": "USA",
            "postal_code": "80302",
        },
    ]
    for key in ("id", "tag_ids", "create_time"):
        assert key not in payload


def billing(payload: dict) -> dict:
    [address] = [a for a in payload["addresses"] if a["field"] == "BILLING"]
    return address


def test_a_partly_typed_address_keeps_the_stored_parts_that_still_belong_to_it():
    def sent(**typed):
        return billing(
            contact_payload_build(contact=ContactInput(email="e@example.com", **typed), existing=EXISTING)
        )

    stored = {"line1": "1 Main St", "locality": "Denver", "postal_code": "80202"}
    colorado = {"field": "BILLING", "country_code": "USA", "region_code": "US-CO"}
    # Only the second line typed: the rest of the stored address stays.
    assert sent(line2="Suite 4") == {**colorado, **stored, "line2": "Suite 4"}
    # The same city, typed in other letter case, and a new postal code: the street stays.
    assert sent(city="DENVER", postal_code="80203") == {
        **colorado,
        **stored,
        "locality": "DENVER",
        "postal_code": "80203",
    }
    # Another city: the stored street and postal code were Denver's, so they go.
    assert sent(city="Aspen", country_code="USA", region_code="US-CO") == {**colorado, "locality": "Aspen"}
    # Another country: nothing of the stored address belongs to it.
    assert sent(city="Vancouver", country_code="CAN", region_code="CA-BC") == {
        "field": "BILLING",
        "locality": "Vancouver",
        "country_code": "CAN",
        "region_code": "CA-BC",
    }
    # A part the stored address lacks is added without dropping anything.
    no_region = {**EXISTING, "addresses": [{"field": "BILLING", "line1": "1 Main St", "country_code": "USA"}]}
    payload = contact_payload_build(
        contact=ContactInput(email="e@example.com", country_code="USA", region_code="US-CO"),
        existing=no_region,
    )
    assert billing(payload) == {
        "field": "BILLING",
        "line1": "1 Main St",
        "country_code": "USA",
        "region_code": "US-CO",
    }


def test_the_same_phone_number_keeps_its_stored_type_and_another_number_does_not():
    def sent(**typed):
        payload = contact_payload_build(
            contact=ContactInput(email="e@example.com", **typed), existing=EXISTING
        )
        return payload["phone_numbers"][0]

    assert sent(phone_number="(303) 555-1001") == {
        "field": "PHONE1",
        "number": "(303) 555-1001",
        "type": "Mobile",
    }
    assert sent(phone_number="303-555-1001", phone_type="Home", phone_extension="12") == {
        "field": "PHONE1",
        "number": "303-555-1001",
        "type": "Home",
        "extension": "12",
    }
    assert sent(phone_number="303-555-7777") == {"field": "PHONE1", "number": "303-555-7777"}


def test_a_new_phone_number_moves_the_old_one_and_a_known_number_is_never_stored_twice():
    def phones(typed, stored):
        existing = {"phone_numbers": [{"field": f, "number": n} for f, n in stored]}
        payload = contact_payload_build(
            contact=ContactInput(email="e@example.com", phone_number=typed), existing=existing
        )
        return [(p["field"], p["number"]) for p in payload["phone_numbers"]]

    # The number stored as PHONE2 becomes PHONE1; the old PHONE1 takes the slot it left.
    assert phones("303-555-1002", [("PHONE1", "303-555-1001"), ("PHONE2", "303-555-1002")]) == [
        ("PHONE1", "303-555-1002"),
        ("PHONE2", "303-555-1001"),
    ]
    # A new number: the old PHONE1 moves to the first free slot.
    assert phones("555-0000", [("PHONE1", "1"), ("PHONE2", "2"), ("PHONE4", "4")]) == [
        ("PHONE1", "555-0000"),
        ("PHONE2", "2"),
        ("PHONE3", "1"),
        ("PHONE4", "4"),
    ]
    # A number moved from another slot keeps its type and extension unless typed.
    existing = {
        "phone_numbers": [
            {"field": "PHONE1", "number": "303-555-3001", "type": "Mobile"},
            {"field": "PHONE2", "number": "303-555-3002", "type": "Work", "extension": "77"},
        ]
    }
    payload = contact_payload_build(
        contact=ContactInput(email="e@example.com", phone_number="303 555 3002"), existing=existing
    )
    assert payload["phone_numbers"] == [
        {"field": "PHONE1", "number": "303 555 3002", "type": "Work", "extension": "77"},
        {"field": "PHONE2", "number": "303-555-3001", "type": "Mobile"},
    ]
    # Every slot taken: only then is the old PHONE1 replaced.
    full = [(f"PHONE{i}", str(i)) for i in range(1, 6)]
    assert phones("555-0000", full) == [("PHONE1", "555-0000"), *full[1:]]


def test_lists_the_form_does_not_touch_are_not_sent_so_keap_keeps_them():
    payload = contact_payload_build(contact=ContactInput(email="existing@example.com"), existing=EXISTING)
    assert "phone_numbers" not in payload
    assert "addresses" not in payload
    assert [e["field"] for e in payload["email_addresses"]] == ["EMAIL1", "EMAIL2"]


def test_match_is_the_oldest_contact_whose_email1_equals_the_email_in_any_case():
    contacts = [
        {"id": "12", "email_addresses": [{"email": "a@x.com", "field": "EMAIL1"}]},
        {"id": "9", "email_addresses": [{"email": "A@X.COM", "field": "EMAIL1"}]},
        {"id": "3", "email_addresses": [{"email": "a@x.com", "field": "EMAIL2"}]},  # not EMAIL1: no match
    ]
    assert contact_match(contacts=contacts, email="a@X.com", duplicate_option="Email")["id"] == "9"


def test_email_and_name_match_needs_the_names_too():
    contacts = [
        {
            "id": "1",
            "given_name": "Sam",
            "family_name": "Shared",
            "email_addresses": [{"email": "s@x.com", "field": "EMAIL1"}],
        },
        {
            "id": "2",
            "given_name": "Sasha",
            "family_name": "Shared",
            "email_addresses": [{"email": "s@x.com", "field": "EMAIL1"}],
        },
    ]
    found = contact_match(
        contacts=contacts,
        email="s@x.com",
        duplicate_option="EmailAndName",
        given_name=" sasha ",
        family_name="SHARED",
    )
    assert found["id"] == "2"
    assert (
        contact_match(
            contacts=contacts,
            email="s@x.com",
            duplicate_option="EmailAndName",
            given_name="Kim",
            family_name="Shared",
        )
        is None
    )
