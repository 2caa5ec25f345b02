"""What can go wrong when talking to Keap, in a few classes the services can act on."""


class KeapError(Exception):
    """Keap answered with something we cannot use, or could not be asked at all."""

    def __init__(self, message: str, *, status: int | None = None, payload=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.payload = payload

    def __str__(self):
        return self.message


class KeapTokenError(KeapError):
    """The token endpoint refused a grant: a bad code, a wrong client secret, a dead refresh token."""


class KeapAuthError(KeapError):
    """Keap refused the access token even after a refresh: the account must be reconnected."""


class KeapValidationError(KeapError):
    """Keap rejected the request's content (400): `message` says what; `details` may say where."""

    @property
    def details(self) -> list:
        if isinstance(self.payload, dict) and isinstance(self.payload.get("details"), list):
            return self.payload["details"]
        return []


class KeapNotFound(KeapError):
    """The object asked for does not exist in this Keap account (404)."""


class KeapThrottled(KeapError):
    """Keap's rate limit was hit (429). `retry_after` is seconds when Keap said so."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class KeapUnavailable(KeapError):
    """Keap could not be reached or failed on its side (timeouts, connection errors, 5xx)."""
