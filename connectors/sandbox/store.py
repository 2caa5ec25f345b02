"""The sandbox's state, in memory, behind one lock: safe for the threaded server.

Nothing here knows about HTTP; the Flask views translate.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from . import contacts as contact_rules
from . import seed
from .config import AUTHORIZATION_CODE_TTL, REFRESH_TOKEN_TTL, SIGNIN_FLOW_TTL, Limits, SandboxConfig
from .errors import ApiError

MAX_RECORDED_REQUESTS = 5000
MAX_OPEN_FLOWS = 10_000  # sign-ins in progress across all browsers; the oldest is dropped


class OAuthError(Exception):
    """An answer of the token endpoint: HTTP 400/401 with `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class TokenRejected(Exception):
    """A bearer token the gateway refuses; `expired` picks the fault envelope."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass
class Tenant:
    name: str
    host: str
    profile: dict
    tags: dict[str, dict]
    custom_fields: list[dict]
    email_status: dict[str, str]
    contacts: dict[str, dict] = field(default_factory=dict)
    contact_tags: dict[str, dict[str, str]] = field(default_factory=dict)  # contact id -> tag id -> time
    by_email1: dict[str, set[str]] = field(default_factory=dict)  # lower-case EMAIL1 -> contact ids

    def reindex(self, contact: dict, old_email1: str | None) -> None:
        new = contact_rules.email1_of_stored(contact)
        if new == old_email1:
            return
        if old_email1 is not None:
            ids = self.by_email1.get(old_email1)
            if ids:
                ids.discard(contact["id"])
                if not ids:
                    del self.by_email1[old_email1]
        if new is not None:
            self.by_email1.setdefault(new, set()).add(contact["id"])


@dataclass
class Grant:
    """What an access or refresh token stands for."""

    client_id: str
    tenant: str
    user: str  # the Keap user's email
    expires_at: float
    expired: bool = False  # forced by the control interface


def iso(ts: float) -> str:
    text = datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class Store:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.limits = replace(self.config.limits)
            self.dev_apps = {
                a["client_id"]: a
                for a in seed.developer_apps(
                    self.config.client_id, self.config.client_secret, self.config.redirect_uris
                )
            }
            self.flows: dict[str, dict] = {}  # sign-ins in progress (authorize -> Allow/Deny), by id
            self.users = {u["email"]: copy.deepcopy(u) for u in seed.USERS}
            self.codes: dict[str, dict] = {}
            self.access_tokens: dict[str, Grant] = {}
            self.refresh_tokens: dict[str, Grant] = {}
            self.faults: list[dict] = []
            self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self.total = 0
            self.token_grants = {"authorization_code": 0, "refresh_token": 0}
            self.recorded: deque = deque(maxlen=MAX_RECORDED_REQUESTS)
            self.throttle_windows: dict[str, deque] = defaultdict(deque)
            self.day_counts: dict[str, tuple[int, int]] = {}
            self.next_contact_id = 1
            self.tenants: dict[str, Tenant] = {}
            now = self.now()
            for t in seed.TENANTS:
                tenant = Tenant(
                    name=t["name"],
                    host=t["host"],
                    profile=copy.deepcopy(t["profile"]),
                    tags={
                        tag["id"]: {**tag, "create_time": iso(now), "update_time": iso(now)}
                        for tag in t["tags"]
                    },
                    custom_fields=copy.deepcopy(t["custom_fields"]),
                    email_status=dict(t["email_status"]),
                )
                self.tenants[tenant.name] = tenant
                for raw in t["contacts"]:
                    raw = dict(raw)
                    tags = raw.pop("_tags", [])
                    contact = self.create_contact(tenant, raw)
                    for tag_id in tags:
                        tenant.contact_tags.setdefault(contact["id"], {})[tag_id] = iso(now)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds

    # ---- OAuth -------------------------------------------------------------------------------------

    def developer_app(self, client_id: str | None) -> dict | None:
        return self.dev_apps.get(client_id or "")

    def set_redirect_uris(self, client_id: str, uris: list[str]) -> None:
        """Register `uris` (exact match) for the developer app; an empty list accepts any."""
        with self.lock:
            self.dev_apps[client_id]["redirect_uris"] = list(dict.fromkeys(uris))

    @staticmethod
    def redirect_uri_registered(app: dict, redirect_uri: str) -> bool:
        return not app["redirect_uris"] or redirect_uri in app["redirect_uris"]

    # A sign-in in progress: the browser's pages between authorize and Allow/Deny. The flow itself
    # stays here, small and server-side; the browser's session only lists the ids it owns.

    def start_flow(self, flow: dict) -> str:
        flow_id = secrets.token_urlsafe(12)
        with self.lock:
            now = self.now()
            for key in [k for k, f in self.flows.items() if f["expires_at"] <= now]:
                del self.flows[key]
            while len(self.flows) >= MAX_OPEN_FLOWS:
                del self.flows[next(iter(self.flows))]
            self.flows[flow_id] = {**flow, "expires_at": now + SIGNIN_FLOW_TTL}
        return flow_id

    def flow(self, flow_id: str | None) -> dict | None:
        """The flow, if it is still in progress (not finished, dropped or expired)."""
        with self.lock:
            flow = self.flows.get(flow_id or "")
            return dict(flow) if flow is not None and flow["expires_at"] > self.now() else None

    def update_flow(self, flow_id: str, **changes) -> None:
        with self.lock:
            if flow_id in self.flows:
                self.flows[flow_id].update(changes)

    def end_flow(self, flow_id: str) -> dict | None:
        """Finish the flow; None if it was already finished (a second Allow/Deny gets nothing)."""
        with self.lock:
            flow = self.flows.pop(flow_id, None)
            return flow if flow is not None and flow["expires_at"] > self.now() else None

    def check_password(self, email: str, password: str) -> dict | None:
        user = self.users.get((email or "").strip().lower())
        if user and secrets.compare_digest(user["password"], password or ""):
            return user
        return None

    def issue_code(self, *, client_id: str, redirect_uri: str, user: str, tenant: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "user": user,
                "tenant": tenant,
                "expires_at": self.now() + AUTHORIZATION_CODE_TTL,
            }
        return code

    def _client_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        app = self.developer_app(client_id)
        return bool(
            app and client_secret is not None and secrets.compare_digest(app["client_secret"], client_secret)
        )

    def exchange_code(self, *, code: str, client_id: str, client_secret: str, redirect_uri: str) -> dict:
        with self.lock:
            if not self._client_ok(client_id, client_secret):
                raise OAuthError("invalid_client", "Invalid client credentials")
            entry = self.codes.get(code or "")
            if entry is None or entry["client_id"] != client_id:
                raise OAuthError("invalid_grant", "Invalid authorization code")
            # Single use: a code is spent by any exchange that names it with the right client.
            del self.codes[code]
            if entry["expires_at"] <= self.now():
                raise OAuthError("invalid_grant", "Authorization code expired")
            if entry["redirect_uri"] != redirect_uri:
                raise OAuthError("invalid_grant", "Redirect URI mismatch")
            self.token_grants["authorization_code"] += 1
            return self._issue_tokens(client_id, entry["tenant"], entry["user"])

    def refresh(self, *, refresh_token: str, client_id: str | None, client_secret: str | None) -> dict:
        with self.lock:
            grant = self.refresh_tokens.get(refresh_token or "")
            if (
                not self._client_ok(client_id, client_secret)
                or grant is None
                or grant.client_id != client_id
                or grant.expires_at <= self.now()
            ):
                raise OAuthError("invalid_request", "Invalid Refresh Token")
            del self.refresh_tokens[refresh_token]  # single-use: dead at once
            self.token_grants["refresh_token"] += 1
            return self._issue_tokens(client_id, grant.tenant, grant.user)

    def _issue_tokens(self, client_id: str, tenant: str, user: str) -> dict:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        now = self.now()
        ttl = self.config.access_token_ttl
        self.access_tokens[access] = Grant(client_id, tenant, user, now + ttl)
        self.refresh_tokens[refresh] = Grant(client_id, tenant, user, now + REFRESH_TOKEN_TTL)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "scope": f"full|{self.tenants[tenant].host}",
        }

    def authenticate(self, access_token: str) -> Grant:
        with self.lock:
            grant = self.access_tokens.get(access_token)
            if grant is None:
                raise TokenRejected(expired=False)
            if grant.expired or grant.expires_at <= self.now():
                raise TokenRejected(expired=True)
            return grant

    def expire_tokens(self, *, access_token: str | None = None, app: str | None = None) -> int:
        with self.lock:
            n = 0
            for token, grant in self.access_tokens.items():
                if token == access_token or (app is not None and grant.tenant == app):
                    grant.expired = True
                    n += 1
            return n

    def revoke(self, app: str) -> int:
        with self.lock:
            dead_refresh = [t for t, g in self.refresh_tokens.items() if g.tenant == app]
            dead_access = [t for t, g in self.access_tokens.items() if g.tenant == app]
            for t in dead_refresh:
                del self.refresh_tokens[t]
            for t in dead_access:
                del self.access_tokens[t]
            return len(dead_refresh) + len(dead_access)

    # ---- contacts ----------------------------------------------------------------------------------

    def tenant(self, name: str) -> Tenant:
        try:
            return self.tenants[name]
        except KeyError:
            raise ApiError(404, f"Unknown Keap app '{name}'") from None

    def create_contact(self, tenant: Tenant, body: dict) -> dict:
        with self.lock:
            changes = contact_rules.validate_request(body, tenant.custom_fields)
            contact_rules.require_contact_point(changes)
            return self._insert(tenant, changes)

    def _insert(self, tenant: Tenant, changes: dict) -> dict:
        now = iso(self.now())
        contact = contact_rules.new_contact(str(self.next_contact_id), now)
        self.next_contact_id += 1
        contact_rules.apply_changes(contact, changes, now, tenant.email_status)
        tenant.contacts[contact["id"]] = contact
        tenant.reindex(contact, None)
        return contact

    def upsert_contact(self, tenant: Tenant, body: dict, duplicate_option: str | None) -> tuple[dict, bool]:
        """POST /contacts: returns (contact, created)."""
        if duplicate_option is not None and duplicate_option not in contact_rules.DUPLICATE_OPTIONS:
            raise ApiError(
                400,
                f"duplicate_option '{duplicate_option}' is invalid; use one of "
                f"{', '.join(contact_rules.DUPLICATE_OPTIONS)}",
                "duplicate_option",
            )
        with self.lock:
            changes = contact_rules.validate_request(body, tenant.custom_fields)
            if duplicate_option:
                ids = tenant.by_email1.get(contact_rules.email1(changes), ())
                candidates = [tenant.contacts[i] for i in ids]
                match = contact_rules.find_duplicate(candidates, changes, duplicate_option)
                if match is not None:
                    self._apply(tenant, match, changes)
                    return match, False
            contact_rules.require_contact_point(changes)
            return self._insert(tenant, changes), True

    def update_contact(self, tenant: Tenant, contact_id: str, body: dict, mask: list[str] | None) -> dict:
        with self.lock:
            contact = self.get_contact(tenant, contact_id)
            changes = contact_rules.validate_request(body, tenant.custom_fields)
            changes = contact_rules.mask_changes(changes, body, mask)
            self._apply(tenant, contact, changes)
            return contact

    def _apply(self, tenant: Tenant, contact: dict, changes: dict) -> None:
        old = contact_rules.email1_of_stored(contact)
        contact_rules.apply_changes(contact, changes, iso(self.now()), tenant.email_status)
        tenant.reindex(contact, old)

    def get_contact(self, tenant: Tenant, contact_id: str) -> dict:
        contact = tenant.contacts.get(contact_id)
        if contact is None:
            raise ApiError(404, f"Contact {contact_id} not found")
        return contact

    def serialize(self, tenant: Tenant, contact: dict, fields: list[str] | None = None) -> dict:
        with self.lock:
            tag_ids = sorted(tenant.contact_tags.get(contact["id"], {}), key=int)
            return contact_rules.serialize(
                contact, tag_ids=tag_ids, email_status=tenant.email_status, fields=fields
            )

    # ---- tags --------------------------------------------------------------------------------------

    def apply_tag(self, tenant: Tenant, tag_id: str, contact_ids: list[str], *, remove: bool = False) -> dict:
        with self.lock:
            if tag_id not in tenant.tags:
                raise ApiError(404, f"Tag {tag_id} not found")
            now = iso(self.now())
            results = {}
            for cid in contact_ids:
                if cid not in tenant.contacts:
                    results[cid] = "NOT_FOUND"
                    continue
                applied = tenant.contact_tags.setdefault(cid, {})
                if remove:
                    results[cid] = "SUCCESS" if applied.pop(tag_id, None) else "NOT_APPLIED"
                elif tag_id in applied:
                    results[cid] = "DUPLICATE"
                else:
                    applied[tag_id] = now
                    results[cid] = "SUCCESS"
                tenant.contacts[cid]["update_time"] = now
            return results

    # ---- faults, counters, recorded requests ---------------------------------------------------

    def add_fault(self, fault: dict) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                pattern = fault["path"]
                hit = path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern
                if not hit or (fault.get("method") and fault["method"].upper() != method):
                    continue
                if fault["count"] is not None:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                return dict(fault)
            return None

    def record(self, entry: dict) -> None:
        with self.lock:
            self.counters[f"{entry['method']} {entry['path']}"][str(entry["status"])] += 1
            self.total += 1
            self.recorded.append(entry)

    # ---- throttling --------------------------------------------------------------------------------

    def throttle(self, client_id: str, tenant: str) -> tuple[dict | None, dict]:
        """Count one call of `client_id` against its limits.

        Returns (429 body or None, headers). Rejected calls are not counted. The minute window rolls
        (as Keap's does); the day resets at 00:00 UTC; the spike limit is per rolling second.
        """
        mono = time.monotonic()
        wall = self.now()
        day = int(wall // 86400)
        limits: Limits = self.limits
        with self.lock:
            minute = self.throttle_windows[client_id]
            while minute and minute[0] <= mono - 60:
                minute.popleft()
            second = self.throttle_windows["second:" + client_id]
            while second and second[0] <= mono - 1:
                second.popleft()
            t_minute = self.throttle_windows["tenant:" + tenant]
            while t_minute and t_minute[0] <= mono - 60:
                t_minute.popleft()
            day_key, day_used = self.day_counts.get(client_id, (day, 0))
            if day_key != day:
                day_used = 0
            t_day_key, t_day_used = self.day_counts.get("tenant:" + tenant, (day, 0))
            if t_day_key != day:
                t_day_used = 0

            body = None
            if day_used >= limits.per_day or len(minute) >= limits.per_minute:
                body = ("quota", client_id)
            elif len(second) >= limits.per_second:
                body = ("spike", limits.per_second)
            elif t_day_used >= limits.tenant_per_day or len(t_minute) >= limits.tenant_per_minute:
                body = ("tenant", tenant)
            if body is None:
                minute.append(mono)
                second.append(mono)
                t_minute.append(mono)
                day_used += 1
                t_day_used += 1
                self.day_counts[client_id] = (day, day_used)
                self.day_counts["tenant:" + tenant] = (day, t_day_used)
            headers = {
                "x-keap-product-throttle-limit": str(limits.per_minute),
                "x-keap-product-throttle-time-unit": "minute",
                "x-keap-product-throttle-interval": "1",
                "x-keap-product-throttle-used": str(len(minute)),
                "x-keap-product-throttle-available": str(max(0, limits.per_minute - len(minute))),
                "x-keap-product-quota-limit": str(limits.per_day),
                "x-keap-product-quota-time-unit": "day",
                "x-keap-product-quota-interval": "1",
                "x-keap-product-quota-used": str(day_used),
                "x-keap-product-quota-available": str(max(0, limits.per_day - day_used)),
                "x-keap-product-quota-expiry-time": str((day + 1) * 86400 * 1000),
                "x-keap-tenant-id": tenant,
            }
            return body, headers
