"""Errors a service raises for the view to show; each has a stable code and names the field."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, details=None):  # noqa: ANN001
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class LimitReached(ServiceError):
    status = 429
    code = "limit_reached"


class UploadTooLarge(ServiceError):
    """An upload went past its limit: 413 from every blueprint, with the one message that says which limit."""

    status = 413
    code = "too_large"

    def __init__(self, limit: int, *, field: str = "file", what: str = "file",
                 limit_name: str = "this challenge's limit"):
        super().__init__(f"The {what} is larger than {limit_name} of {limit:,} bytes.", field=field)
        self.limit = limit


class Unavailable(ServiceError):
    status = 503
    code = "unavailable"
