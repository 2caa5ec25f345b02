"""The errors services raise, for views and the admin to turn into messages and form errors.

Django's ValidationError stays for form and model validation; these are about Keap and accounts.
"""


class ConnectorError(Exception):
    """Something a person must be told about. `message` is written for them; `extra` is for logs."""

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def __str__(self):
        return self.message


class ReconnectNeeded(ConnectorError):
    """Keap refused the account's tokens: someone must run the connect flow for it again."""


class KeapRejected(ConnectorError):
    """Keap refused what we sent (a validation error). `field` names the form field when it can be told."""

    def __init__(self, message: str, extra: dict | None = None, *, field: str | None = None):
        super().__init__(message, extra)
        self.field = field


class TryAgainLater(ConnectorError):
    """Keap is throttling us or unavailable: nothing is lost, the same request can be sent again."""


class AccountUnavailable(ConnectorError):
    """The account is disconnected or needs reconnecting, so no call is made."""
