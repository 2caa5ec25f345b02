"""The sandbox's seed: developer apps, Keap users, Keap apps (tenants) and what they hold.

Other code and tests rely on these values; change them only together with tests/support/sandbox.py.
"""

from __future__ import annotations

OTHER_CLIENT_ID = "other-client-id"
OTHER_CLIENT_SECRET = "other-client-secret"


def developer_apps(client_id: str, client_secret: str, redirect_uris=()) -> list[dict]:
    """`redirect_uris`: the main app's registered redirect URIs; empty means any is accepted."""
    return [
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "name": "KeapConnect",
            "redirect_uris": list(redirect_uris),
        },
        {
            "client_id": OTHER_CLIENT_ID,
            "client_secret": OTHER_CLIENT_SECRET,
            "name": "Other Integration",
            "redirect_uris": [],
        },
    ]


USERS = [
    {
        "id": "710001",
        "email": "alice@example.com",
        "password": "alice-password",
        "given_name": "Alice",
        "family_name": "Archer",
        "is_admin": True,
        "apps": ["sa101", "sa102"],  # in picker order
    },
    {
        "id": "710002",
        "email": "bob@example.com",
        "password": "bob-password",
        "given_name": "Bob",
        "family_name": "Baker",
        "is_admin": True,
        "apps": ["sb201"],
    },
]

COMMON_CUSTOM_FIELDS = [
    {
        "id": "7",
        "label": "Favorite Color",
        "field_name": "favoriteColor",
        "field_type": "TEXT",
        "record_type": "CONTACT",
        "group_id": "1",
        "group_name": "Custom Fields",
    },
    {
        "id": "9",
        "label": "Loyalty Points",
        "field_name": "loyaltyPoints",
        "field_type": "WHOLE_NUMBER",
        "record_type": "CONTACT",
        "group_id": "1",
        "group_name": "Custom Fields",
    },
    {
        "id": "11",
        "label": "Preferred Contact",
        "field_name": "preferredContact",
        "field_type": "DROPDOWN",
        "record_type": "CONTACT",
        "group_id": "1",
        "group_name": "Custom Fields",
        "options": [
            {"id": "1", "label": "Email"},
            {"id": "2", "label": "Phone"},
            {"id": "3", "label": "SMS"},
        ],
    },
]

TENANTS = [
    {
        "name": "sa101",
        "host": "sa101.infusionsoft.com",
        "profile": {
            "name": "Alpine Bakery",
            "email": "hello@alpine-bakery.example",
            "phone": "303-555-0101",
            "website": "https://alpine-bakery.example",
            "address": {
                "line1": "100 Larimer St",
                "locality": "Denver",
                "region": "Colorado",
                "country_code": "USA",
                "postal_code": "80202",
            },
            "time_zone": "America/Denver",
            "currency_code": "USD",
            "language_tag": "en-US",
            "business_type": "Bakery",
            "business_goals": ["Grow Business", "Convert more leads"],
        },
        "tags": [
            {"id": "101", "name": "Customer", "description": "Bought something"},
            {"id": "102", "name": "Newsletter", "description": "Reads the newsletter"},
            {"id": "103", "name": "VIP", "description": "High-value customers"},
        ],
        "custom_fields": COMMON_CUSTOM_FIELDS,
        "email_status": {"unsubscribed@example.com": "NON_MARKETABLE"},
        "contacts": [
            {
                "given_name": "Erin",
                "family_name": "Existing",
                "job_title": "Head Baker",
                "email_addresses": [
                    {"email": "existing@example.com", "field": "EMAIL1"},
                    {"email": "erin.work@example.com", "field": "EMAIL2"},
                ],
                "phone_numbers": [
                    {"number": "303-555-1001", "field": "PHONE1", "type": "Mobile"},
                    {"number": "303-555-1002", "field": "PHONE2", "type": "Work"},
                ],
                "addresses": [
                    {
                        "field": "BILLING",
                        "line1": "1 Main St",
                        "locality": "Denver",
                        "region_code": "US-CO",
                        "country_code": "USA",
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
                ],
                "custom_fields": [{"id": "7", "content": "Blue"}],
                "_tags": ["101"],
            },
            {
                "given_name": "Sam",
                "family_name": "Shared",
                "email_addresses": [{"email": "shared@example.com", "field": "EMAIL1"}],
            },
            {
                "given_name": "Sasha",
                "family_name": "Shared",
                "email_addresses": [{"email": "shared@example.com", "field": "EMAIL1"}],
                "phone_numbers": [{"number": "303-555-2002", "field": "PHONE1"}],
            },
            {
                "given_name": "Uma",
                "family_name": "Unsubscribed",
                "email_addresses": [{"email": "unsubscribed@example.com", "field": "EMAIL1"}],
            },
            {
                "given_name": "Dana",
                "family_name": "Diaz",
                "email_addresses": [
                    {
                        "email": "dana@example.com",
                        "field": "EMAIL1",
                        "opt_in_reason": "Signed up at the counter",
                    }
                ],
                "_tags": ["102", "103"],
            },
        ],
    },
    {
        "name": "sa102",
        "host": "sa102.infusionsoft.com",
        "profile": {
            "name": "Bayside Dental",
            "email": "front-desk@bayside-dental.example",
            "phone": "619-555-0102",
            "website": "https://bayside-dental.example",
            "address": {
                "line1": "200 Harbor Dr",
                "locality": "San Diego",
                "region": "California",
                "country_code": "USA",
                "postal_code": "92101",
            },
            "time_zone": "America/Los_Angeles",
            "currency_code": "USD",
            "language_tag": "en-US",
            "business_type": "Dentist",
            "business_goals": ["Retain customers"],
        },
        "tags": [
            {"id": "201", "name": "Customer", "description": "Current patient"},
            {"id": "202", "name": "Newsletter", "description": "Reads the newsletter"},
            {"id": "203", "name": "VIP", "description": "Family plan"},
        ],
        "custom_fields": COMMON_CUSTOM_FIELDS,
        "email_status": {},
        "contacts": [
            {
                "given_name": "Pat",
                "family_name": "Patient",
                "email_addresses": [{"email": "patient@example.com", "field": "EMAIL1"}],
            },
            {
                "given_name": "Other",
                "family_name": "Tenant",
                "email_addresses": [{"email": "existing@example.com", "field": "EMAIL1"}],
            },
        ],
    },
    {
        "name": "sb201",
        "host": "sb201.infusionsoft.com",
        "profile": {
            "name": "Cedar Yoga",
            "email": "namaste@cedar-yoga.example",
            "phone": "604-555-0201",
            "website": "https://cedar-yoga.example",
            "address": {
                "line1": "300 Cedar Ave",
                "locality": "Vancouver",
                "region": "British Columbia",
                "country_code": "CAN",
                "postal_code": "V6B 1A1",
            },
            "time_zone": "America/Vancouver",
            "currency_code": "CAD",
            "language_tag": "en-CA",
            "business_type": "Fitness",
            "business_goals": ["Grow Business"],
        },
        "tags": [
            {"id": "301", "name": "Customer", "description": "Has a class pass"},
            {"id": "302", "name": "Newsletter", "description": "Reads the newsletter"},
            {"id": "303", "name": "VIP", "description": "Unlimited members"},
        ],
        "custom_fields": [
            COMMON_CUSTOM_FIELDS[0],
            {
                "id": "13",
                "label": "Membership",
                "field_name": "membership",
                "field_type": "DROPDOWN",
                "record_type": "CONTACT",
                "group_id": "1",
                "group_name": "Custom Fields",
                "options": [
                    {"id": "1", "label": "Drop-in"},
                    {"id": "2", "label": "10-class"},
                    {"id": "3", "label": "Unlimited"},
                ],
            },
        ],
        "email_status": {},
        "contacts": [
            {
                "given_name": "Yara",
                "family_name": "Yogi",
                "email_addresses": [{"email": "yogi@example.com", "field": "EMAIL1"}],
                "addresses": [
                    {
                        "field": "BILLING",
                        "line1": "9 Pine St",
                        "locality": "Vancouver",
                        "region_code": "CA-BC",
                        "country_code": "CAN",
                        "postal_code": "V6B 2B2",
                    }
                ],
            },
        ],
    },
]
