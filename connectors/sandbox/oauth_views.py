"""Keap's OAuth 2.0 authorization-code grant: the browser pages and the token endpoint.

The dance's browser-side state lives in Flask's signed session cookie (named so that it never
collides with the Django app's cookies on the same host).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for

from .store import OAuthError

bp = Blueprint("oauth", __name__)


def store():
    return current_app.extensions["keap_sandbox"]


def error_page(title: str, message: str, status: int = 400):
    return render_template("error.html", title=title, message=message), status


def _flow() -> dict | None:
    return session.get("flow")


def _save(flow: dict) -> None:
    session["flow"] = flow
    session.modified = True


def _csrf_ok(flow: dict) -> bool:
    return secrets.compare_digest(flow.get("csrf", ""), request.form.get("csrf_token", ""))


def _with_params(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---- the browser pages ------------------------------------------------------------------------


@bp.get("/app/oauth/authorize")
def authorize():
    args = request.args
    app = store().developer_app(args.get("client_id"))
    if not args.get("client_id"):
        return error_page("Invalid request", "The client_id parameter is missing.")
    if app is None:
        return error_page("Invalid client", "The client_id does not belong to a registered application.")
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        return error_page("Invalid request", "The redirect_uri parameter is missing.")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return error_page("Invalid request", "The redirect_uri must be an absolute http(s) URL.")
    if args.get("response_type") != "code":
        return error_page("Unsupported response type", "response_type must be 'code'.")
    if args.get("scope") != "full":
        return error_page("Invalid scope", "scope must be 'full'.")
    _save(
        {
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "state": args.get("state"),
            "csrf": secrets.token_urlsafe(16),
            "user": None,
            "app": None,
        }
    )
    return redirect(url_for("oauth.signin"))


@bp.route("/app/oauth/signin", methods=["GET", "POST"])
def signin():
    flow = _flow()
    if not flow:
        return error_page("No sign-in in progress", "Start again from the application you came from.")
    app = store().developer_app(flow["client_id"])
    error = None
    if request.method == "POST":
        if not _csrf_ok(flow):
            return error_page("Invalid request", "The form has expired. Start again.", 403)
        user = store().check_password(request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = "The email or password you entered is incorrect."
        else:
            flow["user"] = user["email"]
            flow["app"] = user["apps"][0] if len(user["apps"]) == 1 else None
            _save(flow)
            return redirect(url_for("oauth.consent" if flow["app"] else "oauth.account"))
    status = 401 if error else 200
    return render_template(
        "signin.html", app=app, csrf=flow["csrf"], error=error, username=request.form.get("username", "")
    ), status


@bp.route("/app/oauth/account", methods=["GET", "POST"])
def account():
    flow = _flow()
    if not flow or not flow.get("user"):
        return error_page("No sign-in in progress", "Start again from the application you came from.")
    s = store()
    user = s.users[flow["user"]]
    accounts = [s.tenants[name] for name in user["apps"]]
    error = None
    if request.method == "POST":
        if not _csrf_ok(flow):
            return error_page("Invalid request", "The form has expired. Start again.", 403)
        chosen = request.form.get("app")
        if chosen in user["apps"]:
            flow["app"] = chosen
            _save(flow)
            return redirect(url_for("oauth.consent"))
        error = "Choose one of your accounts."
    return render_template(
        "account.html",
        accounts=accounts,
        csrf=flow["csrf"],
        error=error,
        app=s.developer_app(flow["client_id"]),
    ), 400 if error else 200


@bp.route("/app/oauth/consent", methods=["GET", "POST"])
def consent():
    flow = _flow()
    if not flow or not flow.get("user") or not flow.get("app"):
        return error_page("No sign-in in progress", "Start again from the application you came from.")
    s = store()
    app = s.developer_app(flow["client_id"])
    tenant = s.tenants[flow["app"]]
    if request.method == "POST":
        if not _csrf_ok(flow):
            return error_page("Invalid request", "The form has expired. Start again.", 403)
        decision = request.form.get("decision")
        if decision not in ("allow", "deny"):
            return error_page("Invalid request", "Choose Allow or Deny.")
        session.pop("flow", None)
        if decision == "deny":
            denied = {"error": "access_denied", "state": flow["state"]}
            return redirect(_with_params(flow["redirect_uri"], denied))
        code = s.issue_code(
            client_id=flow["client_id"],
            redirect_uri=flow["redirect_uri"],
            user=flow["user"],
            tenant=flow["app"],
        )
        return redirect(_with_params(flow["redirect_uri"], {"code": code, "state": flow["state"]}))
    return render_template(
        "consent.html", app=app, tenant=tenant, user=s.users[flow["user"]], csrf=flow["csrf"]
    )


# ---- the token endpoint -----------------------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400):
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


@bp.post("/token")
def token():
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(
            "invalid_request", "The request must be form-encoded (application/x-www-form-urlencoded)"
        )
    form = request.form
    grant_type = form.get("grant_type")
    s = store()
    try:
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri", "client_id", "client_secret"):
                if not form.get(name):
                    return _oauth_error("invalid_request", f"Missing parameter: {name}")
            tokens = s.exchange_code(
                code=form["code"],
                client_id=form["client_id"],
                client_secret=form["client_secret"],
                redirect_uri=form["redirect_uri"],
            )
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                return _oauth_error("invalid_request", "Missing parameter: refresh_token")
            credentials = _basic_credentials()
            if credentials is None:
                return _oauth_error(
                    "invalid_client",
                    "Client credentials are required in an HTTP Basic Authorization header",
                    401,
                )
            tokens = s.refresh(
                refresh_token=form["refresh_token"], client_id=credentials[0], client_secret=credentials[1]
            )
        elif not grant_type:
            return _oauth_error("invalid_request", "Missing parameter: grant_type")
        else:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {grant_type}")
    except OAuthError as exc:
        return _oauth_error(exc.error, exc.description, exc.status)
    response = jsonify(tokens)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
