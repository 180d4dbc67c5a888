"""API errors with a stable ``error_id``, an HTTP status and details.

Services raise these; the HTTP layer renders them as ``{error_id, message, details}``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API reports to its client; ``error_id`` never changes meaning."""

    status_code = 400
    error_id = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        error_id: str | None = None,
        status_code: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error_id is not None:
            self.error_id = error_id
        if status_code is not None:
            self.status_code = status_code
        self.details = details


class NotFound(ApiError):
    """The object does not exist, or belongs to another tenant (indistinguishable)."""

    status_code = 404
    error_id = "not_found"


class Conflict(ApiError):
    """The change conflicts with existing state (duplicate name, limit reached...)."""

    status_code = 409
    error_id = "conflict"


class Unauthorized(ApiError):
    """No valid credentials."""

    status_code = 401
    error_id = "unauthorized"


class Forbidden(ApiError):
    """Credentials are valid but do not allow this."""

    status_code = 403
    error_id = "forbidden"


class TooManyRequests(ApiError):
    """A rate limit was hit."""

    status_code = 429
    error_id = "rate_limited"


class CapacityExceeded(ApiError):
    """A tenant capacity limit (lines, agents, IVR ports) would be exceeded."""

    status_code = 409
    error_id = "capacity_exceeded"
