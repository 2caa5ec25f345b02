"""WSGI config for keapconnect."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keapconnect.settings")

application = get_wsgi_application()
