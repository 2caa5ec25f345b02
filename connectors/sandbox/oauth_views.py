"""Keap's OAuth 2.0 authorization-code grant: the browser pages and the token endpoint.

Each authorize starts its own sign-in ("flow"), kept server-side in the store under a random id;
the pages' forms carry that id (hidden field `flow`) with the flow's CSRF token, and Flask's
signed session cookie (named so that it never collides with the Django app's cookies on the same
host) lists the ids this browser owns, so sign-ins started in several tabs go on independently:
the last MAX_SIGNIN_FLOWS of them, each for SIGNIN_FLOW_TTL seconds.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for

from .config import MAX_SIGNIN_FLOWS, is_redirect_uri
from .store import OAuthError

bp = Blueprint("oauth", __name__)

SESSION_FLOWS = "flows"  # the session's list of flow ids, least recently used first
NO_ACCESS_NOTE = "No access was granted. Go back to the application and try again."
RESTART_NOTE = (
    "These pages only work inside a sign-in that an application has just started. To connect a "
    "Keap account, go back to the application you came from and start connecting again: it sends "
    "you here with a new sign-in."
)


def store():
    return current_app.extensions["keap_sandbox"]


def error_page(title: str, message: str, status: int = 400, note: str = NO_ACCESS_NOTE):
    return render_template("error.html", title=title, message=message, note=note), status


def no_signin_page():
    return error_page(
        "No sign-in in progress",
        "There is no sign-in in progress in this browser for this page: it has finished, expired, "
        "or was started somewhere else.",
        note=RESTART_NOTE,
    )


def expired_form_page():
    return error_page(
        "Invalid request",
        "The form has expired: its sign-in has finished or expired, or was started somewhere else.",
        403,
        note=RESTART_NOTE,
    )


def _owned_ids() -> list[str]:
    ids = session.get(SESSION_FLOWS)
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _touch(flow_id: str) -> None:
    """Make `flow_id` this browser's most recently used flow; drop (and end) any beyond the limit."""
    ids = [i for i in _owned_ids() if i != flow_id] + [flow_id]
    for old in ids[:-MAX_SIGNIN_FLOWS]:
        store().end_flow(old)
    session[SESSION_FLOWS] = ids[-MAX_SIGNIN_FLOWS:]


def _forget(flow_id: str) -> None:
    session[SESSION_FLOWS] = [i for i in _owned_ids() if i != flow_id]


def _page_flow(reached: Callable[[dict], bool]) -> tuple[str, dict] | None:
    """The flow a GET of a page shows: the one named by `?flow=`, else this browser's most recently
    used flow that has reached the page."""
    s = store()
    wanted = request.args.get("flow")
    for flow_id in reversed(_owned_ids()):
        if wanted and flow_id != wanted:
            continue
        flow = s.flow(flow_id)
        if flow is not None and reached(flow):
            return flow_id, flow
    return None


def _posted_flow() -> tuple[str, dict] | None:
    """The flow a form was posted for: its hidden `flow` id (or, from a form without one, the flow
    its CSRF token belongs to), owned by this browser, still in progress, with the right token."""
    s = store()
    wanted = request.form.get("flow")
    token = request.form.get("csrf_token", "")
    for flow_id in reversed(_owned_ids()):
        if wanted and flow_id != wanted:
            continue
        flow = s.flow(flow_id)
        if flow is not None and secrets.compare_digest(flow["csrf"], token):
            return flow_id, flow
    return None


def _with_params(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _signed_in(flow: dict) -> bool:
    return bool(flow.get("user"))


def _account_chosen(flow: dict) -> bool:
    return bool(flow.get("user") and flow.get("app"))


# ---- the browser pages ------------------------------------------------------------------------


@bp.get("/app/oauth/authorize")
def authorize():
    args = request.args
    s = store()
    app = s.developer_app(args.get("client_id"))
    if not args.get("client_id"):
        return error_page("Invalid request", "The client_id parameter is missing.")
    if app is None:
        return error_page("Invalid client", "The client_id does not belong to a registered application.")
    redirect_uri = args.get("redirect_uri")
    if not redirect_uri:
        return error_page("Invalid request", "The redirect_uri parameter is missing.")
    if not is_redirect_uri(redirect_uri):
        return error_page("Invalid request", "The redirect_uri must be an absolute http(s) URL.")
    if not s.redirect_uri_registered(app, redirect_uri):
        return error_page("Invalid request", "The redirect_uri is not registered for this app.")
    if args.get("response_type") != "code":
        return error_page("Unsupported response type", "response_type must be 'code'.")
    if args.get("scope") != "full":
        return error_page("Invalid scope", "scope must be 'full'.")
    flow_id = s.start_flow(
        {
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "state": args.get("state"),
            "csrf": secrets.token_urlsafe(16),
            "user": None,
            "app": None,
        }
    )
    _touch(flow_id)
    return redirect(url_for("oauth.signin"))


@bp.route("/app/oauth/signin", methods=["GET", "POST"])
def signin():
    s = store()
    found = _posted_flow() if request.method == "POST" else _page_flow(lambda flow: True)
    if found is None:
        return expired_form_page() if request.method == "POST" and _owned_ids() else no_signin_page()
    flow_id, flow = found
    error = None
    if request.method == "POST":
        user = s.check_password(request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = "The email or password you entered is incorrect."
        else:
            chosen = user["apps"][0] if len(user["apps"]) == 1 else None
            s.update_flow(flow_id, user=user["email"], app=chosen)
            _touch(flow_id)
            return redirect(url_for("oauth.consent" if chosen else "oauth.account"))
    return render_template(
        "signin.html",
        app=s.developer_app(flow["client_id"]),
        flow_id=flow_id,
        csrf=flow["csrf"],
        error=error,
        username=request.form.get("username", ""),
    ), 401 if error else 200


@bp.route("/app/oauth/account", methods=["GET", "POST"])
def account():
    s = store()
    found = _posted_flow() if request.method == "POST" else _page_flow(_signed_in)
    if found is None:
        return expired_form_page() if request.method == "POST" and _owned_ids() else no_signin_page()
    flow_id, flow = found
    if not _signed_in(flow):
        return no_signin_page()
    user = s.users[flow["user"]]
    error = None
    if request.method == "POST":
        chosen = request.form.get("app")
        if chosen in user["apps"]:
            s.update_flow(flow_id, app=chosen)
            _touch(flow_id)
            return redirect(url_for("oauth.consent"))
        error = "Choose one of your accounts."
    return render_template(
        "account.html",
        accounts=[s.tenants[name] for name in user["apps"]],
        flow_id=flow_id,
        csrf=flow["csrf"],
        error=error,
        app=s.developer_app(flow["client_id"]),
    ), 400 if error else 200


@bp.route("/app/oauth/consent", methods=["GET", "POST"])
def consent():
    s = store()
    found = _posted_flow() if request.method == "POST" else _page_flow(_account_chosen)
    if found is None:
        return expired_form_page() if request.method == "POST" and _owned_ids() else no_signin_page()
    flow_id, flow = found
    if not _account_chosen(flow):
        return no_signin_page()
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision not in ("allow", "deny"):
            return error_page("Invalid request", "Choose Allow or Deny.")
        _forget(flow_id)
        if s.end_flow(flow_id) is None:  # a second click, or a parallel request, got there first
            return no_signin_page()
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
        "consent.html",
        app=s.developer_app(flow["client_id"]),
        tenant=s.tenants[flow["app"]],
        user=s.users[flow["user"]],
        flow_id=flow_id,
        csrf=flow["csrf"],
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
