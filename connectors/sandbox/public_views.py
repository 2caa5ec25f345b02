"""The sandbox's own public pages: the landing page at / and Keap's OpenAPI document.

Neither needs a token; the OpenAPI document is Keap's official swagger.yml, vendored unchanged in
openapi/ (see openapi/SOURCE.txt), read on the first request and kept in memory.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for

from . import control_views

bp = Blueprint("public", __name__)

OPENAPI_FILE = Path(__file__).resolve().parent / "openapi" / "swagger.yml"
OPENAPI_PATH = "/crm/rest/v2/openapi.yml"
PUBLIC_API_PATHS = frozenset({OPENAPI_PATH})  # under /crm/ but served without a bearer token
ANY_REDIRECT_URI = "any"
REDIRECT_URIS_HINT = "any (set KEAP_SANDBOX_REDIRECT_URIS to require registered ones)"


def redirect_uris_text(uris, *, main_app: bool) -> str:
    """How a developer app's redirect-URI registration reads at start-up and on the landing page."""
    if uris:
        return ", ".join(uris)
    return REDIRECT_URIS_HINT if main_app else ANY_REDIRECT_URI


@functools.cache
def openapi_document() -> tuple[bytes, str]:
    data = OPENAPI_FILE.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


@bp.get(OPENAPI_PATH)
def openapi():
    data, digest = openapi_document()
    response = Response(data, mimetype="application/yaml")
    response.set_etag(digest)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response.make_conditional(request)


@bp.get("/")
def landing():
    s = current_app.extensions["keap_sandbox"]
    base = request.host_url.rstrip("/")
    apps = [
        {
            **app,
            "redirect_uris_text": redirect_uris_text(
                app["redirect_uris"], main_app=app["client_id"] == s.config.client_id
            ),
        }
        for app in s.dev_apps.values()
    ]
    users = [{**user, "accounts": [s.tenants[name] for name in user["apps"]]} for user in s.users.values()]
    return render_template(
        "landing.html",
        base=base,
        urls=[
            ("Authorize URL", base + url_for("oauth.authorize")),
            ("Token URL", base + url_for("oauth.token")),
            ("REST base URL", base + "/crm/rest"),
        ],
        openapi_url=base + OPENAPI_PATH,
        apps=apps,
        users=users,
        access_token_ttl=s.config.access_token_ttl,
        control=control_views.endpoints(),
    )
