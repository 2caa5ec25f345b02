"""keapconnect settings: one file, driven by the environment (django-environ).

Every variable is listed with its default in `.env.example`. The defaults run the app with no
configuration at all: SQLite, the local-memory cache and, with KEAP_SANDBOX=1, the local Keap sandbox.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key is for local use only; checks.py warns when it is used without DEBUG.
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-keapconnect-local-development-key"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
# Earlier keys, still accepted (sessions) and still able to decrypt stored secrets and tokens.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
ROOT_URLCONF = "keapconnect.urls"
WSGI_APPLICATION = "keapconnect.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Keep connections open between requests (seconds); health-checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the page views read while a worker writes; IMMEDIATE takes the write lock up front
    # so that concurrent writers queue (for `timeout` seconds) instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )

# CACHES
# ------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://keapconnect")}

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS and JS, served locally
    "connectors",
    "connectors.sandbox",  # only for its `keap_sandbox` command; the app never imports it
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "connectors.middleware.SignInRequiredMiddleware",  # Django's LoginRequiredMiddleware
    "connectors.middleware.StaffRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "connectors.middleware.MethodNotAllowedPageMiddleware",
]

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "connectors.context_processors.keap",
            ],
        },
    },
]
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# AUTHENTICATION
# ------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "connectors:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# STATIC
# ------------------------------------------------------------------------------
STATIC_URL = "static/"
# Where `collectstatic` gathers files for production; unset, WhiteNoise serves through the finders.
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default="") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves CSS and JS from the installed packages and static/ (no CDN: works on an
# intranet). Without `collectstatic` it reads them through the finders.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# SECURITY
# ------------------------------------------------------------------------------
# Sessions live in the database and are read through the cache (one query fewer per page).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
CSRF_FAILURE_VIEW = "connectors.views.csrf.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Salt for the encryption of client secrets and tokens at rest (django-fernet-encrypted-fields
# derives the Fernet key from SECRET_KEY and this salt). A list allows key rotation.
SALT_KEY = env.list("FIELD_ENCRYPTION_SALT", default=["keapconnect-local-salt"])

# KEAP
# ------------------------------------------------------------------------------
# KEAP_SANDBOX=1 points every Keap URL at the local Keap sandbox (`manage.py keap_sandbox`).
# Otherwise the real Keap URLs apply. Each URL can still be set on its own.
KEAP_SANDBOX = env.bool("KEAP_SANDBOX", default=False)
KEAP_SANDBOX_URL = env("KEAP_SANDBOX_URL", default="http://127.0.0.1:8765").rstrip("/")
if KEAP_SANDBOX:
    _authorize, _token, _api = (
        f"{KEAP_SANDBOX_URL}/app/oauth/authorize",
        f"{KEAP_SANDBOX_URL}/token",
        f"{KEAP_SANDBOX_URL}/crm/rest",
    )
else:
    _authorize, _token, _api = (
        "https://accounts.infusionsoft.com/app/oauth/authorize",
        "https://api.infusionsoft.com/token",
        "https://api.infusionsoft.com/crm/rest",
    )
KEAP_AUTHORIZE_URL = env("KEAP_AUTHORIZE_URL", default=_authorize)
KEAP_TOKEN_URL = env("KEAP_TOKEN_URL", default=_token)
# The REST root: v2 calls go to f"{KEAP_API_BASE_URL}/v2/...".
KEAP_API_BASE_URL = env("KEAP_API_BASE_URL", default=_api).rstrip("/")
# The redirect URI registered with the Keap developer app. Empty: built from the request
# (scheme + host + /connect/callback/); set it when a proxy hides the public address.
KEAP_REDIRECT_URI = env("KEAP_REDIRECT_URI", default="")
KEAP_HTTP_TIMEOUT = env.float("KEAP_HTTP_TIMEOUT", default=15.0)
# Safe calls (GETs, the upsert with duplicate_option) are retried this often on 429/5xx/connection
# errors, with exponential backoff from this factor (seconds), honouring Retry-After.
KEAP_HTTP_RETRIES = env.int("KEAP_HTTP_RETRIES", default=3)
KEAP_HTTP_BACKOFF = env.float("KEAP_HTTP_BACKOFF", default=0.5)
# Refresh an access token this many seconds before it expires.
KEAP_TOKEN_REFRESH_MARGIN = env.int("KEAP_TOKEN_REFRESH_MARGIN", default=300)
# `keap_refresh_tokens` refreshes connections whose refresh token is older than this (Keap: 45 days).
KEAP_REFRESH_TOKEN_MAX_AGE_DAYS = env.int("KEAP_REFRESH_TOKEN_MAX_AGE_DAYS", default=30)
# How long an OAuth `state` stays valid, in seconds.
KEAP_OAUTH_STATE_MAX_AGE = env.int("KEAP_OAUTH_STATE_MAX_AGE", default=600)
# How long countries, provinces and tags fetched from Keap are cached, in seconds.
KEAP_LOOKUP_CACHE_TTL = env.int("KEAP_LOOKUP_CACHE_TTL", default=86400)

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # oauthlib logs request bodies (codes, secrets) at DEBUG: never let that through.
        "oauthlib": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
    },
}
