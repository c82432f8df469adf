"""Refusals the service gives: each message is safe to show to the person who asked."""

from __future__ import annotations

__all__ = [
    "AmbiguousDeliverable",
    "NotAuthorised",
    "ServiceError",
    "UnknownDeliverable",
    "ValidationError",
]

from store import Deliverable


class ServiceError(Exception):
    """A user-facing refusal. ``str(err)`` is safe to show to the person who asked."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ValidationError(ServiceError):
    pass


class UnknownDeliverable(ServiceError):
    pass


class AmbiguousDeliverable(ServiceError):
    def __init__(self, message: str, candidates: list[Deliverable]) -> None:
        super().__init__(message, field="deliverable")
        self.candidates = candidates


class NotAuthorised(ServiceError):
    pass
