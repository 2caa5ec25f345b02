"""`{% cached_url %}` and `{% cached_static %}`: Django's `{% url %}` and `{% static %}`, remembered.

Every page's navigation reverses seven URLs and links two static files; at ~10 µs a reverse, that
was over half of base.html's rendering time (`make bench`). A URL depends only on the view name,
its arguments, the URLconf and the script prefix, and a static URL only on the path and the static
settings, so each is computed once per process and key. Used by base.html and the contact form page.
"""

from functools import lru_cache

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse

register = template.Library()


@register.simple_tag
def cached_url(viewname: str, *args) -> str:
    """`{% cached_url 'connectors:account_detail' account.pk %}`: positional arguments only."""
    return _reverse(viewname, args, get_urlconf(), get_script_prefix())


@register.simple_tag
def cached_static(path: str) -> str:
    return _static(path)


@lru_cache(maxsize=1024)
def _reverse(viewname: str, args: tuple, urlconf, script_prefix: str) -> str:
    return reverse(viewname, args=args, urlconf=urlconf)


@lru_cache(maxsize=256)
def _static(path: str) -> str:
    return static(path)


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    """Tests that change the URLconf or the static settings get fresh URLs."""
    if setting in {"ROOT_URLCONF", "STATIC_URL", "STORAGES", "STATICFILES_STORAGE"}:
        _reverse.cache_clear()
        _static.cache_clear()
