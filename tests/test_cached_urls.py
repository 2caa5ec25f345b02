"""`{% cached_url %}` and `{% cached_static %}` give what Django's tags give, prefix and settings included."""

from django.template import Context, Template
from django.templatetags.static import static
from django.test import override_settings
from django.urls import reverse, set_script_prefix

TAGS = Template(
    "{% load cached_urls %}{% cached_url 'connectors:contact_new' %}|"
    "{% cached_url 'connectors:account_detail' pk %}|{% cached_static 'connectors/app.css' %}"
)


def render(**context) -> list[str]:
    return TAGS.render(Context(context)).split("|")


def test_they_give_what_reverse_and_static_give():
    assert render(pk=7) == [
        reverse("connectors:contact_new"),
        reverse("connectors:account_detail", args=[7]),
        static("connectors/app.css"),
    ]
    assert render(pk=8)[1] == reverse("connectors:account_detail", args=[8])  # arguments are in the key


def test_they_follow_the_script_prefix_and_the_static_settings():
    assert render(pk=7)[0] == "/contacts/new/"
    set_script_prefix("/keap/")
    try:
        assert render(pk=7)[:2] == ["/keap/contacts/new/", "/keap/keap-accounts/7/"]
    finally:
        set_script_prefix("/")
    assert render(pk=7)[0] == "/contacts/new/"
    with override_settings(STATIC_URL="/assets/"):
        assert render(pk=7)[2] == "/assets/connectors/app.css"
    assert render(pk=7)[2] == static("connectors/app.css")
