"""The control interface for tests and benchmarks: /_sandbox/..., loopback only, JSON in and out."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, abort, current_app, jsonify, request

from .config import is_redirect_uri
from .errors import ApiError

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


def store():
    return current_app.extensions["keap_sandbox"]


class ControlError(Exception):
    pass


@bp.before_request
def loopback_only():
    try:
        loopback = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        abort(403)


@bp.errorhandler(ControlError)
def control_error(exc):
    return jsonify({"error": str(exc)}), 400


@bp.errorhandler(ApiError)
def api_error(exc):
    return jsonify({"error": exc.message}), exc.status


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def endpoints() -> list[tuple[str, str, str]]:
    """(methods, path, summary) of every control endpoint, in declaration order, from the URL map."""
    rows = []
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith(bp.name + "."):
            methods = "|".join(m for m in ("GET", "POST", "DELETE") if m in rule.methods)
            doc = (current_app.view_functions[rule.endpoint].__doc__ or "").strip().splitlines()
            rows.append((methods, rule.rule, doc[0] if doc else ""))
    return rows


def _tenant_name(data) -> str:
    name = data.get("app")
    if name not in store().tenants:
        raise ControlError(f"unknown app {name!r}; known: {sorted(store().tenants)}")
    return name


@bp.get("/health")
def health():
    """Is the sandbox up: {"ok": true}."""
    return jsonify({"ok": True})


@bp.post("/reset")
def reset():
    """Restore the seed: data, tokens, faults, limits, clock, redirect URIs, sign-ins."""
    store().reset()
    return jsonify({"ok": True})


@bp.post("/seed")
def seed():
    """Add contacts to a Keap app: {"app", "contacts": [...], "email_status": {email: status}}."""
    data = body()
    s = store()
    tenant = s.tenant(_tenant_name(data))
    contacts = data.get("contacts") or []
    if not isinstance(contacts, list):
        raise ControlError("contacts must be a list")
    ids = []
    with s.lock:
        for email, status in (data.get("email_status") or {}).items():
            tenant.email_status[email.lower()] = status
        for raw in contacts:
            if not isinstance(raw, dict):
                raise ControlError("each contact must be an object")
            raw = dict(raw)
            tag_ids = [str(t) for t in raw.pop("tag_ids", None) or []]
            contact = s.create_contact(tenant, raw)
            for tag_id in tag_ids:
                s.apply_tag(tenant, tag_id, [contact["id"]])
            ids.append(contact["id"])
    return jsonify({"ids": ids})


@bp.post("/faults")
def add_fault():
    """Add a fault: {"path" (exact or prefix*), "method", "status", "count", "delay_ms", "body", "headers"}"""
    data = body()
    path = data.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ControlError("path must be a URL path starting with /")
    status = data.get("status")
    delay_ms = data.get("delay_ms") or 0
    if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
        raise ControlError("status must be an HTTP status code")
    if status is None and not delay_ms:
        raise ControlError("give a status, a delay_ms, or both")
    count = data.get("count", 1)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ControlError("count must be a positive integer, or null for every call")
    store().add_fault(
        {
            "path": path,
            "method": (data.get("method") or "").upper() or None,
            "status": status,
            "count": count,
            "delay_ms": int(delay_ms),
            "body": data.get("body"),
            "headers": data.get("headers") or {},
        }
    )
    return jsonify({"ok": True})


@bp.delete("/faults")
def clear_faults():
    """Remove every injected fault."""
    s = store()
    with s.lock:
        s.faults.clear()
    return jsonify({"ok": True})


@bp.get("/faults")
def list_faults():
    """The injected faults still pending."""
    s = store()
    with s.lock:
        return jsonify({"faults": list(s.faults)})


@bp.post("/tokens/expire")
def expire_tokens():
    """Expire access tokens: {"access_token"} or {"app"}."""
    data = body()
    if data.get("access_token"):
        n = store().expire_tokens(access_token=data["access_token"])
    elif data.get("app"):
        n = store().expire_tokens(app=_tenant_name(data))
    else:
        raise ControlError("give access_token or app")
    return jsonify({"expired": n})


@bp.post("/tokens/revoke")
def revoke_tokens():
    """Revoke every access and refresh token of a Keap app: {"app"}."""
    return jsonify({"revoked": store().revoke(_tenant_name(body()))})


@bp.post("/limits")
def limits():
    """Throttling limits: {"per_minute", "per_second", "per_day", "tenant_per_minute", "tenant_per_day"}."""
    data = body()
    s = store()
    with s.lock:
        for key in ("per_minute", "per_second", "per_day", "tenant_per_minute", "tenant_per_day"):
            if key in data:
                value = data[key]
                if not isinstance(value, int) or value < 0:
                    raise ControlError(f"{key} must be a non-negative integer")
                setattr(s.limits, key, value)
        return jsonify(vars(s.limits))


@bp.post("/clock")
def clock():
    """Move the clock forward (codes, tokens and sign-ins expire by it): {"advance": seconds}."""
    data = body()
    seconds = data.get("advance")
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ControlError("advance must be a non-negative number of seconds")
    store().advance_clock(seconds)
    return jsonify({"offset": store().clock_offset})


@bp.post("/redirect-uris")
def redirect_uris():
    """Register a developer app's redirect URIs (exact match): {"client_id", "uris": [...]}; [] = any."""
    data = body()
    s = store()
    client_id = data.get("client_id")
    if s.developer_app(client_id) is None:
        raise ControlError(f"unknown client_id {client_id!r}; known: {sorted(s.dev_apps)}")
    uris = data.get("uris")
    if not isinstance(uris, list) or not all(isinstance(u, str) and is_redirect_uri(u) for u in uris):
        raise ControlError("uris must be a list of absolute http(s) URLs without a fragment")
    s.set_redirect_uris(client_id, uris)
    return jsonify({"client_id": client_id, "uris": s.developer_app(client_id)["redirect_uris"]})


@bp.get("/counters")
def counters():
    """Requests counted by method, path and status, and token grants."""
    s = store()
    with s.lock:
        return jsonify(
            {
                "requests": {k: dict(v) for k, v in s.counters.items()},
                "total": s.total,
                "token_grants": dict(s.token_grants),
            }
        )


@bp.get("/requests")
def requests_log():
    """The recorded requests (secrets redacted), filtered by ?path= (exact, or prefix*) and ?method=."""
    path = request.args.get("path")
    method = (request.args.get("method") or "").upper()
    s = store()
    with s.lock:
        rows = [
            r
            for r in s.recorded
            if (not path or r["path"] == path or (path.endswith("*") and r["path"].startswith(path[:-1])))
            and (not method or r["method"] == method)
        ]
    return jsonify({"requests": rows})


@bp.get("/contacts")
def contacts():
    """A Keap app's contacts, as the API serializes them: ?app=."""
    s = store()
    tenant = s.tenant(_tenant_name(request.args))
    with s.lock:
        rows = [s.serialize(tenant, c) for c in sorted(tenant.contacts.values(), key=lambda c: int(c["id"]))]
    return jsonify({"contacts": rows})
