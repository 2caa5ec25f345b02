"""Keap's two error envelopes: the gateway `fault` (401s, throttling) and the v2 application error."""

from __future__ import annotations

from http import HTTPStatus


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def api_error_body(status: int, message: str, details: list[dict] | None = None) -> dict:
    """The v2 `Error` schema: `{"code": int, "message", "status", "details": [{domain, resource}]}`."""
    body = {"code": status, "message": message, "status": reason(status)}
    if details:
        body["details"] = details
    return body


def fault_body(faultstring: str, errorcode: str) -> dict:
    """The API gateway's envelope, used for 401s and throttling."""
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}


INVALID_TOKEN = fault_body("Invalid Access Token", "keymanagement.service.invalid_access_token")
EXPIRED_TOKEN = fault_body("Access Token expired", "keymanagement.service.access_token_expired")
# Keap's application-level throttling answer (seen with `code` as a string).
TENANT_THROTTLED = {"code": "429", "message": "Quota Exceeded", "status": "Request Throttled"}


def quota_violation(identifier: str) -> dict:
    return fault_body(
        f"Rate limit quota violation. Quota limit  exceeded. Identifier : {identifier}",
        "policies.ratelimit.QuotaViolation",
    )


def spike_arrest_violation(per_second: int) -> dict:
    return fault_body(
        f"Spike arrest violation. Allowed rate : MessageRate{{messagesPerPeriod={per_second}, "
        f"periodInMicroseconds=1000000, maxBurstMessageCount={float(per_second)}}}",
        "policies.ratelimit.SpikeArrestViolation",
    )


def default_fault_body(status: int) -> dict:
    """The Keap-shaped body an injected fault answers with when the test gave none."""
    if status == 401:
        return EXPIRED_TOKEN
    if status == 429:
        return quota_violation("injected")
    return api_error_body(status, reason(status))


class ApiError(Exception):
    """A v2 application error: the view answers `status` with the `Error` envelope."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict:
        details = [{"domain": "contact", "resource": self.field}] if self.field else None
        return api_error_body(self.status, self.message, details)
