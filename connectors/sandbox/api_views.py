"""REST v2 (and v1 userinfo) as Keap serves it under /crm/rest, behind the bearer-token gateway."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, current_app, g, jsonify, request

from . import contacts as contact_rules
from . import locales
from .errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/crm/rest")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def store():
    return current_app.extensions["keap_sandbox"]


def tenant():
    return store().tenant(g.grant.tenant)


def json_body() -> dict:
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "Request body must be a valid JSON object")
    return body


def paginate(items: list, *, key: str, page_size_default: int = DEFAULT_PAGE_SIZE) -> dict:
    """One page of `items` with `next_page_token` when more follow (absent on the last page)."""
    raw_size = request.args.get("page_size")
    try:
        size = int(raw_size) if raw_size not in (None, "") else 0
    except ValueError:
        raise ApiError(400, f"page_size '{raw_size}' is not a number", "page_size") from None
    if size < 0 or size > MAX_PAGE_SIZE:
        raise ApiError(400, f"page_size must be between 0 and {MAX_PAGE_SIZE}", "page_size")
    size = size or page_size_default
    token = request.args.get("page_token")
    offset = 0
    if token:
        try:
            text = base64.urlsafe_b64decode(token.encode() + b"==").decode()
            assert text.startswith("offset:")
            offset = int(text[len("offset:") :])
            assert offset >= 0
        except (AssertionError, ValueError, binascii.Error, UnicodeDecodeError):
            raise ApiError(400, "Invalid page_token", "page_token") from None
    page = items[offset : offset + size]
    out = {key: page}
    if offset + size < len(items):
        token = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()
        out["next_page_token"] = token.rstrip("=")
    return out


# ---- identity ---------------------------------------------------------------------------------


@bp.get("/v2/oauth/connect/userinfo")
def userinfo_v2():
    user = store().users[g.grant.user]
    return jsonify(
        {
            "email": user["email"],
            "sub": user["id"],
            "id": user["id"],
            "keap_id": user["email"],
            "given_name": user["given_name"],
            "family_name": user["family_name"],
            "is_admin": user["is_admin"],
            "tenant_id": g.grant.tenant,
        }
    )


@bp.get("/v1/oauth/connect/userinfo")
def userinfo_v1():
    user = store().users[g.grant.user]
    return jsonify(
        {
            "email": user["email"],
            "sub": user["id"],
            "global_user_id": int(user["id"]),
            "infusionsoft_id": user["email"],
            "given_name": user["given_name"],
            "family_name": user["family_name"],
        }
    )


@bp.get("/v2/businessProfile")
def business_profile():
    return jsonify(tenant().profile)


# ---- contacts ---------------------------------------------------------------------------------


@bp.get("/v2/contacts")
def list_contacts():
    s, t = store(), tenant()
    fields = contact_rules.parse_fields(request.args.get("fields"))
    with s.lock:
        matches = contact_rules.parse_filter(request.args.get("filter"), t.custom_fields)
        key, reverse = contact_rules.sort_key(request.args.get("order_by"))
        found = sorted((c for c in t.contacts.values() if matches(c)), key=key, reverse=reverse)
        page = paginate(found, key="contacts")
        page["contacts"] = [s.serialize(t, c, fields) for c in page["contacts"]]
    return jsonify(page)


@bp.post("/v2/contacts")
def create_contact():
    s, t = store(), tenant()
    fields = contact_rules.parse_fields(request.args.get("fields"))
    with s.lock:
        contact, created = s.upsert_contact(t, json_body(), request.args.get("duplicate_option"))
        out = s.serialize(t, contact, fields)
    return jsonify(out), 201 if created else 200


@bp.get("/v2/contacts/<contact_id>")
def get_contact(contact_id):
    s, t = store(), tenant()
    fields = contact_rules.parse_fields(request.args.get("fields"))
    with s.lock:
        return jsonify(s.serialize(t, s.get_contact(t, contact_id), fields))


@bp.patch("/v2/contacts/<contact_id>")
def update_contact(contact_id):
    s, t = store(), tenant()
    fields = contact_rules.parse_fields(request.args.get("fields"))
    mask = contact_rules.parse_update_mask(request.args.getlist("update_mask"))
    with s.lock:
        contact = s.update_contact(t, contact_id, json_body(), mask)
        return jsonify(s.serialize(t, contact, fields))


@bp.get("/v2/contacts/model")
def contact_model():
    return jsonify(
        {
            "custom_fields": tenant().custom_fields,
            "optional_properties": [
                "custom_fields",
                "fax_numbers",
                "job_title",
                "social_accounts",
                "utm_parameters",
            ],
        }
    )


@bp.get("/v2/contacts/<contact_id>/tags")
def contact_tags(contact_id):
    s, t = store(), tenant()
    with s.lock:
        s.get_contact(t, contact_id)
        applied = t.contact_tags.get(contact_id, {})
        rows = [
            {"tag": _tag_out(t.tags[tid]), "applied_time": when}
            for tid, when in sorted(applied.items(), key=lambda kv: int(kv[0]))
        ]
    return jsonify(paginate(rows, key="tags"))


# ---- tags -------------------------------------------------------------------------------------


def _tag_out(tag: dict) -> dict:
    out = {k: v for k, v in tag.items() if v is not None}
    return out


@bp.get("/v2/tags")
def list_tags():
    t = tenant()
    tags = sorted(t.tags.values(), key=lambda tag: int(tag["id"]))
    raw = request.args.get("filter")
    if raw:
        for term in raw.split(";"):
            if not term.strip():
                continue
            name, sep, value = term.partition("==")
            if not sep:
                raise ApiError(400, f"Invalid filter expression '{term}'", "filter")
            name = name.strip()
            if name == "name":
                tags = [tag for tag in tags if tag["name"].lower() == value.lower()]
            elif name == "tag_ids":
                ids = {v.strip() for v in value.split(",")}
                tags = [tag for tag in tags if tag["id"] in ids]
            else:
                raise ApiError(400, f"Invalid filter field '{name}'", "filter")
    return jsonify(paginate([_tag_out(tag) for tag in tags], key="tags"))


@bp.get("/v2/tags/<tag_id>")
def get_tag(tag_id):
    tag = tenant().tags.get(tag_id)
    if tag is None:
        raise ApiError(404, f"Tag {tag_id} not found")
    return jsonify(_tag_out(tag))


def _contact_ids() -> list[str]:
    body = json_body()
    ids = body.get("contact_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, (str, int)) for i in ids):
        raise ApiError(400, "contact_ids is required and must be a non-empty array", "contact_ids")
    return [str(i) for i in ids]


@bp.post("/v2/tags/<tag_id>/contacts:applyTags")
def apply_tags(tag_id):
    return jsonify({"results": store().apply_tag(tenant(), tag_id, _contact_ids())})


@bp.post("/v2/tags/<tag_id>/contacts:removeTags")
def remove_tags(tag_id):
    store().apply_tag(tenant(), tag_id, _contact_ids(), remove=True)
    return "", 204


# ---- locales ----------------------------------------------------------------------------------


@bp.get("/v2/locales/countries")
def list_countries():
    return jsonify(paginate(list(locales.countries()), key="countries"))


@bp.get("/v2/locales/countries/<country_code>")
def get_country(country_code):
    c = locales.country(country_code)
    if c is None:
        matches = [row for row in locales.countries() if row["name"].lower() == country_code.lower()]
        if not matches:
            raise ApiError(404, f"Country {country_code} not found")
        return jsonify(matches[0])
    return jsonify({"codes": {"alpha2": c.alpha_2, "alpha3": c.alpha_3}, "name": c.name})


@bp.get("/v2/locales/countries/<country_code>/provinces")
def list_provinces(country_code):
    c = locales.country(country_code)
    if c is None:
        raise ApiError(404, f"Country {country_code} not found")
    return jsonify(paginate(list(locales.provinces(c.alpha_3)), key="provinces"))
