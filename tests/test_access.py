"""Every page of keapconnect is for signed-in staff members only."""

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("connectors:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_signed_in_non_staff_member_gets_403(client, django_user_model, caplog):
    user = django_user_model.objects.create_user(username="visitor", password="pw-visitor-1")
    client.force_login(user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("connectors:home"))
    assert response.status_code == 403
    assert "is not one" in response.content.decode()  # the product's 403 page
    assert [r.exc_info for r in caplog.records] == [None]  # one line in the log, no traceback


def test_staff_member_sees_the_home_page(staff_client):
    response = staff_client.get(reverse("connectors:home"))
    assert response.status_code == 200
    assert b"Connect a Keap account" in response.content


def test_sign_in_page_is_open(client):
    assert client.get(reverse("login")).status_code == 200


def test_health_check_answers_without_sign_in(client):
    response = client.get(reverse("connectors:healthz"))
    assert response.status_code == 200
    assert response.content == b"ok"


def test_a_signed_in_non_staff_member_can_sign_out_from_the_403_page(client, django_user_model):
    user = django_user_model.objects.create_user(username="visitor", password="pw-visitor-1")
    client.force_login(user)
    page = client.get(reverse("connectors:home")).content.decode()
    assert "visitor is not one" in page and f'action="{reverse("logout")}"' in page
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


def test_opening_the_sign_out_address_asks_first(staff_client):
    response = staff_client.get(reverse("logout"))
    assert response.status_code == 200 and b"Sign out of keapconnect?" in response.content
    assert "_auth_user_id" in staff_client.session  # a GET signs nobody out


def test_an_action_opened_as_a_link_gets_a_page_that_says_so(staff_client):
    response = staff_client.get(reverse("connectors:upsert_retry", args=[1]))
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "Not from a link" in response.content.decode()
