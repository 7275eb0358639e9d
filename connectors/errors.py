"""Typed failures of a department, each with a stable code clients can branch on."""

from __future__ import annotations

from enum import StrEnum


class UpstreamCode(StrEnum):
    TIMEOUT = "UPSTREAM_TIMEOUT"
    UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    BAD_RESPONSE = "UPSTREAM_BAD_RESPONSE"
    AUTH_FAILED = "UPSTREAM_AUTH_FAILED"
    CIRCUIT_OPEN = "UPSTREAM_CIRCUIT_OPEN"
    OVERLOADED = "UPSTREAM_OVERLOADED"
    CONNECTOR_FAILED = "CONNECTOR_FAILED"  # our side: a connector bug, contained to its department


# Failures worth another try: the department may answer next time. A bad payload or refused
# credentials will not change on a retry, so those fail at once.
RETRYABLE = frozenset({UpstreamCode.TIMEOUT, UpstreamCode.UNAVAILABLE})


class UpstreamError(Exception):
    """A department could not give a usable answer.

    ``message`` is safe to show to clients: it never carries upstream bodies, credentials or personal
    data, only what went wrong in words a front-end developer can act on.
    """

    def __init__(self, code: UpstreamCode, department: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.department = department
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    def __repr__(self) -> str:
        return f"UpstreamError({self.code.value}, {self.department!r}, {self.message!r})"


def status_error(status: int, department: str) -> UpstreamError | None:
    """What an HTTP status says about the department; None for success."""
    if 200 <= status < 300:
        return None
    if status in (401, 403):
        return UpstreamError(UpstreamCode.AUTH_FAILED, department, f"credentials refused (HTTP {status})")
    if status in (408, 504):
        return UpstreamError(UpstreamCode.TIMEOUT, department, f"department timed out (HTTP {status})")
    if status >= 500 or status == 429:
        return UpstreamError(UpstreamCode.UNAVAILABLE, department, f"department answered HTTP {status}")
    return UpstreamError(
        UpstreamCode.BAD_RESPONSE, department, f"department refused the request (HTTP {status})"
    )
