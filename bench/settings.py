"""keapconnect's settings plus one URL: a trivial view behind the same staff-only rules as every page."""

from keapconnect.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
