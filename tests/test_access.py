"""Every page of keapconnect is for signed-in staff members only."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("connectors:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_signed_in_non_staff_member_gets_403(client, django_user_model):
    user = django_user_model.objects.create_user(username="visitor", password="pw-visitor-1")
    client.force_login(user)
    response = client.get(reverse("connectors:home"))
    assert response.status_code == 403


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
