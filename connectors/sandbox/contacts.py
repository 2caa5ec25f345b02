"""Contacts as Keap REST v2 holds them: request validation, replace semantics, duplicate matching.

Everything here works on plain dicts of one tenant and is called with the store's lock held.
"""

from __future__ import annotations

import copy
import re
from datetime import date

from . import locales
from .errors import ApiError

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

# Scalar string properties of CreateUpdateContactRequest with their max lengths (None: no limit).
STRING_FIELDS: dict[str, int | None] = {
    "given_name": 40,
    "family_name": 40,
    "middle_name": 100,
    "preferred_name": 100,
    "spouse_name": 100,
    "job_title": 255,
    "website": 100,
    "assistant_name": 20,
    "assistant_phone": 15,
    "billing_information": 100,
    "prefix": None,
    "suffix": None,
    "contact_type": None,
    "leadsource_id": None,
    "owner_id": None,
    "preferred_locale": None,
    "referral_code": None,
    "time_zone": None,
}
DATE_FIELDS = ("anniversary_date", "birth_date")
SOURCE_TYPES = {
    "SOURCE_TYPE_UNSPECIFIED",
    "API",
    "APPOINTMENT",
    "FORM_API_HOSTED",
    "FORM_API_INTERNAL",
    "IMPORT",
    "INTERNAL_FORM",
    "LANDING_PAGE",
    "MANUAL",
    "OTHER",
    "UNKNOWN",
    "WEBFORM",
}
LIST_FIELDS = (
    "email_addresses",
    "phone_numbers",
    "addresses",
    "fax_numbers",
    "social_accounts",
    "custom_fields",
)
# Properties of the returned Contact that a request may not carry (the request schema lacks them).
READ_ONLY_FIELDS = (
    "id",
    "tag_ids",
    "create_time",
    "update_time",
    "score_value",
    "links",
    "groups",
    "account_id",
    "created_by",
    "last_updated_by",
)
EMAIL_SLOTS = {"EMAIL1": 75, "EMAIL2": 100, "EMAIL3": 100}
PHONE_SLOTS = {"PHONE1": 40, "PHONE2": 40, "PHONE3": 40, "PHONE4": 20, "PHONE5": 20}
FAX_SLOTS = ("FAX1", "FAX2")
ADDRESS_SLOTS = ("BILLING", "SHIPPING", "OTHER")
SOCIAL_TYPES = {"FACEBOOK", "LINKED_IN", "TWITTER", "INSTAGRAM", "SNAPCHAT", "YOUTUBE", "PINTEREST"}
DUPLICATE_OPTIONS = ("Email", "EmailAndName", "EmailAndNameAndCompany")
OPTED_IN = {"SINGLE_OPT_IN", "DOUBLE_OPT_IN", "CONFIRMED"}
OPTED_OUT = {
    "UNENGAGED_NON_MARKETABLE",
    "NON_MARKETABLE",
    "LOCKDOWN",
    "BOUNCE",
    "HARD_BOUNCE",
    "LIST_UNSUBSCRIBE",
    "FEEDBACK",
    "SPAM",
    "INVALID",
    "DEACTIVATED",
}
CONTACT_PROPERTIES = (
    "addresses",
    "anniversary_date",
    "birth_date",
    "company",
    "contact_type",
    "create_time",
    "custom_fields",
    "email_addresses",
    "family_name",
    "fax_numbers",
    "given_name",
    "id",
    "job_title",
    "leadsource_id",
    "links",
    "middle_name",
    "notes",
    "origin",
    "owner_id",
    "phone_numbers",
    "preferred_locale",
    "preferred_name",
    "prefix",
    "referral_code",
    "score_value",
    "social_accounts",
    "source_type",
    "spouse_name",
    "suffix",
    "tag_ids",
    "time_zone",
    "update_time",
    "utm_parameters",
    "website",
    "account_id",
    "assistant_name",
    "assistant_phone",
    "billing_information",
    "created_by",
    "groups",
    "last_updated_by",
)


def bad(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field)


def _string(value, path: str, max_len: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(f"{path} must be a string", path)
    if max_len is not None and len(value) > max_len:
        raise bad(f"{path} exceeds the maximum length of {max_len} characters", path)
    return value


def _object(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise bad(f"{path} must be an object", path)
    return value


def _list(value, path: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(f"{path} must be an array", path)
    return value


def _slot(item: dict, path: str, allowed) -> str:
    field = item.get("field")
    if field is None:
        raise bad(f"{path}.field is required", path)
    if field not in allowed:
        raise bad(f"{path}.field '{field}' is invalid", path)
    return field


def _unique_slots(items: list[dict], name: str) -> None:
    seen = set()
    for item in items:
        if item["field"] in seen:
            raise bad(f"{name} contains {item['field']} more than once", name)
        seen.add(item["field"])


def _emails(value) -> list[dict]:
    out = []
    for i, raw in enumerate(_list(value, "email_addresses")):
        path = f"email_addresses[{i}]"
        item = _object(raw, path)
        for ro in ("is_opt_in", "email_opt_status"):
            if ro in item:
                raise bad(f"{path}.{ro} is read-only", path)
        field = _slot(item, path, EMAIL_SLOTS)
        email = item.get("email")
        if not isinstance(email, str) or not email:
            raise bad(f"{path}.email is required", path)
        if len(email) > EMAIL_SLOTS[field]:
            raise bad(f"{field} exceeds the maximum length of {EMAIL_SLOTS[field]} characters", path)
        if not EMAIL_RE.match(email):
            raise bad(f"{field} '{email}' is not a valid email address", path)
        entry = {"email": email, "field": field}
        reason = _string(item.get("opt_in_reason"), f"{path}.opt_in_reason", 4096)
        if reason:
            entry["opt_in_reason"] = reason
        out.append(entry)
    _unique_slots(out, "email_addresses")
    return out


def _phones(value) -> list[dict]:
    out = []
    for i, raw in enumerate(_list(value, "phone_numbers")):
        path = f"phone_numbers[{i}]"
        item = _object(raw, path)
        field = _slot(item, path, PHONE_SLOTS)
        number = item.get("number")
        if not isinstance(number, str) or not number.strip():
            raise bad(f"{path}.number is required", path)
        if len(number) > PHONE_SLOTS[field]:
            raise bad(f"{field} exceeds the maximum length of {PHONE_SLOTS[field]} characters", path)
        entry = {"field": field, "number": number}
        ext = _string(item.get("extension"), f"{path}.extension", 40)
        if ext:
            entry["extension"] = ext
        kind = _string(item.get("type"), f"{path}.type", 40)
        if kind:
            entry["type"] = kind
        digits = re.sub(r"\D", "", number)
        if len(digits) == 10:
            entry["number_e164"] = "+1" + digits
        elif len(digits) == 11 and digits.startswith("1"):
            entry["number_e164"] = "+" + digits
        out.append(entry)
    _unique_slots(out, "phone_numbers")
    return out


def _faxes(value) -> list[dict]:
    out = []
    for i, raw in enumerate(_list(value, "fax_numbers")):
        path = f"fax_numbers[{i}]"
        item = _object(raw, path)
        field = _slot(item, path, FAX_SLOTS)
        number = _string(item.get("number"), f"{path}.number", 40)
        if not number:
            raise bad(f"{path}.number is required", path)
        entry = {"field": field, "number": number}
        kind = _string(item.get("type"), f"{path}.type", 40)
        if kind:
            entry["type"] = kind
        out.append(entry)
    _unique_slots(out, "fax_numbers")
    return out


def _addresses(value) -> list[dict]:
    out = []
    for i, raw in enumerate(_list(value, "addresses")):
        path = f"addresses[{i}]"
        item = _object(raw, path)
        field = _slot(item, path, ADDRESS_SLOTS)
        billing = field == "BILLING"
        for ro in ("region", "country"):
            if item.get(ro) not in (None, ""):
                raise bad(f"{field} {ro} is read-only: send {ro}_code", path)
        entry = {"field": field}
        limits = {
            "line1": 75 if billing else 100,
            "line2": 75 if billing else 100,
            "locality": 50 if billing else 100,
            "postal_code": 20 if field == "SHIPPING" else 15,
            "zip_code": 20 if field == "SHIPPING" else 15,
            "zip_four": 10,
        }
        for key, max_len in limits.items():
            v = _string(item.get(key), f"{path}.{key}", max_len)
            if v:
                entry[key] = v
        country_code = item.get("country_code")
        region_code = item.get("region_code")
        if country_code not in (None, ""):
            if not isinstance(country_code, str) or locales.country_by_alpha3(country_code) is None:
                raise bad(f"{field} Country Code is invalid", path)
            entry["country_code"] = country_code
            entry["country"] = locales.country_by_alpha3(country_code).name
        if region_code not in (None, ""):
            if "country_code" not in entry:
                raise bad("country_code is required if region is specified", path)
            name = locales.province_name(country_code, region_code) if isinstance(region_code, str) else None
            if name is None:
                raise bad(f"{field} Region is invalid", path)
            entry["region_code"] = region_code
            entry["region"] = name
        out.append(entry)
    _unique_slots(out, "addresses")
    return out


def _socials(value) -> list[dict]:
    out = []
    for i, raw in enumerate(_list(value, "social_accounts")):
        path = f"social_accounts[{i}]"
        item = _object(raw, path)
        kind = item.get("type")
        if kind not in SOCIAL_TYPES:
            raise bad(f"{path}.type is required and must be one of {sorted(SOCIAL_TYPES)}", path)
        name = _string(item.get("name"), f"{path}.name", 255)
        if not name:
            raise bad(f"{path}.name is required", path)
        out.append({"type": kind, "name": name})
    return out


def _custom_value(meta: dict, content, path: str):
    kind = meta["field_type"]
    if content is None:
        return None
    if kind in ("WHOLE_NUMBER", "YEAR"):
        if isinstance(content, bool) or not isinstance(content, (int, str)):
            raise bad(f"{path}.content must be a whole number", path)
        try:
            return int(content)
        except ValueError:
            raise bad(f"{path}.content must be a whole number", path) from None
    if not isinstance(content, str):
        raise bad(f"{path}.content must be a string", path)
    if kind == "DROPDOWN":
        labels = {o["label"] for o in meta.get("options", [])}
        if content not in labels:
            raise bad(f"{path}.content '{content}' is not an option of {meta['label']}", path)
    if kind == "DATE":
        _parse_date(content, f"{path}.content")
    if len(content) > 65535:
        raise bad(f"{path}.content exceeds the maximum length of 65535 characters", path)
    return content


def _customs(value, model: list[dict]) -> list[dict]:
    by_id = {f["id"]: f for f in model}
    out = []
    seen = set()
    for i, raw in enumerate(_list(value, "custom_fields")):
        path = f"custom_fields[{i}]"
        item = _object(raw, path)
        cid = item.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            cid = str(cid)
        if cid not in by_id:
            raise bad(f"{path}.id '{item.get('id')}' is not a custom field of this app", path)
        if cid in seen:
            raise bad(f"custom_fields contains {cid} more than once", path)
        seen.add(cid)
        content = _custom_value(by_id[cid], item.get("content"), path)
        if content is not None:
            out.append({"id": cid, "content": content})
    return out


def _parse_date(value, path: str) -> str:
    if not isinstance(value, str):
        raise bad(f"{path} must be a date (YYYY-MM-DD)", path)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise bad(f"{path} must be a date (YYYY-MM-DD)", path) from None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise bad(f"{path} must be a date (YYYY-MM-DD)", path)
    return value


def validate_request(body, custom_field_model: list[dict]) -> dict:
    """Check a CreateUpdateContactRequest; return the properties it sets, normalised.

    Properties absent from the body are absent from the result; a property sent as null is present
    with the value None (list properties: an empty list), meaning "clear it".
    """
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    for key in READ_ONLY_FIELDS:
        if key in body:
            raise bad(f"{key} is read-only and cannot be set", key)
    changes: dict = {}
    for key, max_len in STRING_FIELDS.items():
        if key in body:
            changes[key] = _string(body[key], key, max_len) or None
    for key in DATE_FIELDS:
        if key in body:
            changes[key] = None if body[key] in (None, "") else _parse_date(body[key], key)
    if "source_type" in body:
        if body["source_type"] is not None and body["source_type"] not in SOURCE_TYPES:
            raise bad(f"source_type '{body['source_type']}' is invalid", "source_type")
        changes["source_type"] = body["source_type"]
    if "company" in body:
        company = body["company"]
        if company is None:
            changes["company"] = None
        else:
            company = _object(company, "company")
            entry = {}
            cid = company.get("id")
            if cid not in (None, ""):
                entry["id"] = str(cid)
            name = _string(company.get("company_name"), "company.company_name", 100)
            if name:
                entry["company_name"] = name
            changes["company"] = entry or None
    if "origin" in body:
        origin = body["origin"]
        if origin is None:
            changes["origin"] = None
        else:
            ip = _string(_object(origin, "origin").get("ip_address"), "origin.ip_address", 45)
            changes["origin"] = {"ip_address": ip} if ip else None
    if "utm_parameters" in body:
        utm = body["utm_parameters"]
        if utm is None:
            changes["utm_parameters"] = None
        else:
            utm = _object(utm, "utm_parameters")
            if not isinstance(utm.get("keap_source_id"), str) or not utm["keap_source_id"]:
                raise bad("utm_parameters.keap_source_id is required", "utm_parameters")
            changes["utm_parameters"] = {
                k: _string(utm.get(k), f"utm_parameters.{k}", 255)
                for k in (
                    "keap_source_id",
                    "utm_source",
                    "utm_medium",
                    "utm_term",
                    "utm_campaign",
                    "utm_content",
                )
                if utm.get(k)
            }
    parsers = {
        "email_addresses": _emails,
        "phone_numbers": _phones,
        "addresses": _addresses,
        "fax_numbers": _faxes,
        "social_accounts": _socials,
        "custom_fields": lambda v: _customs(v, custom_field_model),
    }
    for key, parse in parsers.items():
        if key in body:
            changes[key] = parse(body[key])
    return changes


def require_contact_point(changes: dict) -> None:
    if not any(changes.get(k) for k in ("email_addresses", "phone_numbers", "addresses")):
        raise bad("Contact must contain at least one item in email_addresses, phone_numbers, or addresses")


def new_contact(contact_id: str, now_iso: str) -> dict:
    return {
        "id": contact_id,
        "create_time": now_iso,
        "update_time": now_iso,
        "email_addresses": [],
        "phone_numbers": [],
        "addresses": [],
        "fax_numbers": [],
        "social_accounts": [],
        "custom_fields": [],
        "source_type": "API",
    }


def apply_changes(contact: dict, changes: dict, now_iso: str, email_status: dict[str, str]) -> None:
    """Write `changes` into the stored contact. List properties replace what is stored."""
    for key, value in changes.items():
        if key == "email_addresses":
            for entry in value:
                _record_opt_in(entry, email_status)
            contact[key] = copy.deepcopy(value)
        elif key == "utm_parameters":
            if value:
                contact.setdefault("_utm", []).append(value)
        elif value is None:
            contact.pop(key, None)
        else:
            contact[key] = copy.deepcopy(value)
    contact["update_time"] = now_iso


def _record_opt_in(entry: dict, email_status: dict[str, str]) -> None:
    key = entry["email"].lower()
    current = email_status.get(key)
    if entry.get("opt_in_reason"):
        if current not in OPTED_OUT:  # an unsubscribed address cannot be re-opted-in via the API
            email_status[key] = "SINGLE_OPT_IN"
    elif current is None:
        email_status[key] = "UNENGAGED_MARKETABLE"


def email1(contact_or_changes: dict) -> str | None:
    emails = contact_or_changes.get("email_addresses") or []
    for e in emails:
        if e["field"] == "EMAIL1":
            return e["email"].lower()
    return emails[0]["email"].lower() if emails else None


def _norm(value) -> str:
    return (value or "").strip().lower()


def find_duplicate(contacts, changes: dict, option: str) -> dict | None:
    """The contact a `duplicate_option` upsert updates: the oldest match, or None.

    Email compares the request's EMAIL1 (or its first email) with each contact's EMAIL1, case
    insensitively. EmailAndName also needs given and family name equal. EmailAndNameAndCompany also
    needs the same linked company record (`company.id`), never the company text.
    """
    key = email1(changes)
    if not key:
        return None
    matches = []
    for contact in contacts:
        if email1_of_stored(contact) != key:
            continue
        if option in ("EmailAndName", "EmailAndNameAndCompany"):
            if _norm(contact.get("given_name")) != _norm(changes.get("given_name")):
                continue
            if _norm(contact.get("family_name")) != _norm(changes.get("family_name")):
                continue
        if option == "EmailAndNameAndCompany":
            mine = (changes.get("company") or {}).get("id")
            theirs = (contact.get("company") or {}).get("id")
            if not mine or mine != theirs:
                continue
        matches.append(contact)
    return min(matches, key=lambda c: int(c["id"])) if matches else None


def email1_of_stored(contact: dict) -> str | None:
    for e in contact.get("email_addresses") or []:
        if e["field"] == "EMAIL1":
            return e["email"].lower()
    return None


def serialize(
    contact: dict, *, tag_ids: list[str], email_status: dict[str, str], fields: list[str] | None = None
) -> dict:
    """The stored contact in the v2 `Contact` shape."""
    out = {}
    for key, value in contact.items():
        if key.startswith("_") or value is None:
            continue
        if key == "email_addresses":
            value = [_email_out(e, email_status) for e in value]
        out[key] = copy.deepcopy(value)
    out["tag_ids"] = list(tag_ids)
    out["utm_parameters"] = [
        {
            "id": i + 1,
            "keapSourceId": u.get("keap_source_id"),
            **{
                camel: u[snake]
                for snake, camel in (
                    ("utm_source", "utmSource"),
                    ("utm_medium", "utmMedium"),
                    ("utm_term", "utmTerm"),
                    ("utm_campaign", "utmCampaign"),
                    ("utm_content", "utmContent"),
                )
                if u.get(snake)
            },
            "firstTouch": i == 0,
            "lastTouch": i == len(contact.get("_utm", [])) - 1,
        }
        for i, u in enumerate(contact.get("_utm", []))
    ]
    if fields:
        wanted = set(fields) | {"id"}
        out = {k: v for k, v in out.items() if k in wanted}
    return out


def _email_out(entry: dict, email_status: dict[str, str]) -> dict:
    status = email_status.get(entry["email"].lower(), "UNENGAGED_MARKETABLE")
    out = dict(entry)
    out["email_opt_status"] = status
    out["is_opt_in"] = status in OPTED_IN
    return out


def parse_fields(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [f.strip() for f in raw.split(",") if f.strip()]


def parse_update_mask(raw_values: list[str]) -> list[str] | None:
    names = [n.strip() for raw in raw_values for n in raw.split(",") if n.strip()]
    if not raw_values:
        return None
    for n in names:
        if n not in CONTACT_PROPERTIES:
            raise bad(f"update_mask '{n}' is not a Contact property", "update_mask")
    return names


def mask_changes(changes: dict, body: dict, mask: list[str] | None) -> dict:
    """With an update_mask, only the masked properties change (an absent one is cleared)."""
    if mask is None:
        return changes
    out = {}
    for name in mask:
        if name in READ_ONLY_FIELDS or name == "notes":
            continue
        out[name] = changes.get(name, [] if name in LIST_FIELDS else None)
    return out


# ---- the filter grammar of GET /v2/contacts ---------------------------------------------------

FILTER_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|>=|<=|>|<)(.*)$")
TEXT_FILTERS = {"given_name", "family_name", "middle_name", "website"}


def parse_filter(raw: str | None, custom_field_model: list[dict]):
    """`field==value` terms joined by `;` -> a predicate over stored contacts."""
    if not raw:
        return lambda contact: True
    by_name = {f["field_name"].lower(): f for f in custom_field_model}
    preds = []
    for term in raw.split(";"):
        if not term.strip():
            continue
        m = FILTER_RE.match(term)
        if not m:
            raise bad(f"Invalid filter expression '{term}'", "filter")
        name, op, value = m.group(1), m.group(2), m.group(3)
        if name == "contact_id":
            try:
                number = int(value)
            except ValueError:
                raise bad(f"Invalid filter value for contact_id: '{value}'", "filter") from None
            preds.append(_compare(lambda c: int(c["id"]), op, number))
            continue
        if op != "==":
            raise bad(f"Operator '{op}' is not supported for filter field '{name}'", "filter")
        if name == "email":
            preds.append(_email_pred(value))
        elif name in TEXT_FILTERS:
            preds.append(_text_pred(lambda c, n=name: c.get(n), value))
        elif name in ("ids", "contact_ids"):
            ids = {v.strip() for v in value.split(",") if v.strip()}
            preds.append(lambda c, ids=ids: c["id"] in ids)
        elif name.lower() in by_name:
            fid = by_name[name.lower()]["id"]
            preds.append(
                _text_pred(
                    lambda c, fid=fid: next(
                        (str(v["content"]) for v in c.get("custom_fields", []) if v["id"] == fid), None
                    ),
                    value,
                )
            )
        else:
            raise bad(f"Invalid filter field '{name}'", "filter")
    return lambda contact: all(p(contact) for p in preds)


def _compare(getter, op, number):
    ops = {
        "==": lambda a: a == number,
        ">": lambda a: a > number,
        "<": lambda a: a < number,
        ">=": lambda a: a >= number,
        "<=": lambda a: a <= number,
    }
    check = ops[op]
    return lambda c: check(getter(c))


def _matcher(value: str):
    value = value.lower()
    if value.endswith("*"):
        prefix = value[:-1]
        return lambda s: s is not None and s.lower().startswith(prefix)
    return lambda s: s is not None and s.lower() == value


def _text_pred(getter, value):
    match = _matcher(value)
    return lambda c: match(getter(c))


def _email_pred(value):
    match = _matcher(value)
    return lambda c: any(match(e["email"]) for e in c.get("email_addresses", []))


def sort_key(order_by: str | None):
    """`order_by` as `field [asc|desc]`; returns (key function, reverse)."""
    if not order_by:
        return (lambda c: int(c["id"])), False
    parts = order_by.replace(",", " ").split()
    name = parts[0]
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if name not in ("id", "create_time", "update_time", "email") or direction not in ("asc", "desc"):
        raise bad(f"Invalid order_by '{order_by}'", "order_by")
    if name == "id":
        key = lambda c: int(c["id"])  # noqa: E731
    elif name == "email":
        key = lambda c: (email1_of_stored(c) or "", int(c["id"]))  # noqa: E731
    else:
        key = lambda c, n=name: (c.get(n) or "", int(c["id"]))  # noqa: E731
    return key, direction == "desc"
