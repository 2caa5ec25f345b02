"""The sandbox's Flask application, its gateway behaviour, and the process that serves it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from flask import Flask, current_app, g, jsonify, make_response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler, make_server

from . import api_views, control_views, oauth_views, public_views, seed
from .config import DEFAULT_HOST, DEFAULT_PORT, SandboxConfig
from .errors import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    TENANT_THROTTLED,
    ApiError,
    api_error_body,
    default_fault_body,
    quota_violation,
    spike_arrest_violation,
)
from .store import Store, TokenRejected

TEMPLATES = Path(__file__).resolve().parent / "templates_sandbox"
REDACTED_FORM_FIELDS = ("client_secret", "code", "refresh_token", "password")


def create_app(config: SandboxConfig | None = None) -> Flask:
    config = config or SandboxConfig.from_env()
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=None)
    app.secret_key = os.urandom(32)
    app.config.update(
        SESSION_COOKIE_NAME="keap_sandbox_session",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    app.extensions["keap_sandbox"] = Store(config)
    app.register_blueprint(oauth_views.bp)
    app.register_blueprint(api_views.bp)
    app.register_blueprint(control_views.bp)
    app.register_blueprint(public_views.bp)
    app.before_request(gateway)
    app.after_request(finish)
    app.register_error_handler(ApiError, lambda exc: (jsonify(exc.body()), exc.status))
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, server_error)
    return app


def _is_control() -> bool:
    return request.path.startswith("/_sandbox/") or request.path == "/_sandbox"


def _is_api() -> bool:
    return request.path.startswith("/crm/")


def gateway():
    """What Keap's API gateway does before a call reaches the application."""
    if _is_control():
        return None
    s = app_store()
    g.started = time.perf_counter()
    fault = s.take_fault(request.method, request.path)
    if fault:
        if fault["delay_ms"]:
            time.sleep(fault["delay_ms"] / 1000)
        if fault["status"] is not None:
            g.fault = True
            body = fault["body"] if fault["body"] is not None else default_fault_body(fault["status"])
            response = jsonify(body) if not isinstance(body, str) else make_response(body)
            response.status_code = fault["status"]
            for k, v in fault["headers"].items():
                response.headers[k] = str(v)
            return response
    if not _is_api() or request.path in public_views.PUBLIC_API_PATHS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return jsonify(INVALID_TOKEN), 401
    try:
        grant = s.authenticate(token.strip())
    except TokenRejected as exc:
        return jsonify(EXPIRED_TOKEN if exc.expired else INVALID_TOKEN), 401
    g.grant = grant
    rejected, headers = s.throttle(grant.client_id, grant.tenant)
    g.throttle_headers = headers
    if rejected:
        kind, detail = rejected
        if kind == "quota":
            body = quota_violation(detail)
        elif kind == "spike":
            body = spike_arrest_violation(detail)
        else:
            body = TENANT_THROTTLED
        return jsonify(body), 429
    return None


def finish(response):
    if _is_control():
        return response
    for k, v in (getattr(g, "throttle_headers", None) or {}).items():
        response.headers.setdefault(k, v)
    s = app_store()
    if request.mimetype == "application/x-www-form-urlencoded":
        payload = {k: ("***" if k in REDACTED_FORM_FIELDS else v) for k, v in request.form.items()}
    else:
        payload = request.get_json(silent=True)
    s.record(
        {
            "method": request.method,
            "path": request.path,
            "query": {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()},
            "json": payload,
            "status": response.status_code,
            "client_id": getattr(getattr(g, "grant", None), "client_id", None),
            "app": getattr(getattr(g, "grant", None), "tenant", None),
            "at": s.now(),
        }
    )
    return response


def http_error(exc: HTTPException):
    if _is_api() or _is_control():
        response = jsonify(api_error_body(exc.code or 500, exc.description or exc.name))
        response.status_code = exc.code or 500
        return response
    return exc


def server_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    import traceback

    traceback.print_exc()
    return jsonify(api_error_body(500, "Internal Server Error")), 500


def app_store() -> Store:
    return current_app.extensions["keap_sandbox"]


class QuietRequestHandler(WSGIRequestHandler):
    """Keep-alive (HTTP/1.1) and no line per request on the console; errors still print."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-"):
        pass


def credentials_text(config: SandboxConfig) -> str:
    main_uris = public_views.redirect_uris_text(config.redirect_uris, main_app=True)
    other_uris = public_views.redirect_uris_text((), main_app=False)
    lines = [
        "Developer apps (OAuth clients):",
        f"  KeapConnect        client_id={config.client_id}  client_secret={config.client_secret}",
        f"                     redirect URIs: {main_uris}",
        f"  Other Integration  client_id={seed.OTHER_CLIENT_ID}  client_secret={seed.OTHER_CLIENT_SECRET}",
        f"                     redirect URIs: {other_uris}",
        "Keap users (sign in on the authorize page):",
    ]
    tenants = {t["name"]: t for t in seed.TENANTS}
    for user in seed.USERS:
        apps = ", ".join(
            f"{name} ({tenants[name]['profile']['name']}, {tenants[name]['host']})" for name in user["apps"]
        )
        lines.append(f"  {user['email']} / {user['password']}  ->  {apps}")
    lines.append(f"Access-token lifetime: {config.access_token_ttl} s")
    return "\n".join(lines)


def run(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, access_token_ttl: int | None = None, out=None
) -> None:
    """Serve until interrupted. Prints the listening line first, then the seeded credentials."""
    out = out or sys.stdout
    try:
        config = SandboxConfig.from_env(access_token_ttl=access_token_ttl)
    except ValueError as exc:
        raise SystemExit(f"Keap sandbox: {exc}") from None
    server = make_server(host, port, create_app(config), threaded=True, request_handler=QuietRequestHandler)
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{server.port}"
    print(f"Keap sandbox listening on {url}", file=out, flush=True)
    print(credentials_text(config), file=out, flush=True)
    print(
        f"Open {url}/ for the URLs to configure, these credentials and the control API.", file=out, flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free port)"
    )
    parser.add_argument(
        "--access-token-ttl",
        type=int,
        default=None,
        help="access-token lifetime in seconds (default $KEAP_SANDBOX_ACCESS_TOKEN_TTL or 86400)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.sandbox", description="Run the Keap sandbox.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    run(args.host, args.port, args.access_token_ttl)
