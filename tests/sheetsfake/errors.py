"""Google-shaped API errors: ``{"error": {"code", "message", "status", "details"?}}``."""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_MESSAGES = {
    401: (
        "Request is missing required authentication credential. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "Deadline expired before operation could complete.",
}


class ApiError(Exception):
    """An error the fake answers with; ``body()`` is the JSON Google would send."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        status: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.message = message if message is not None else DEFAULT_MESSAGES.get(code, "Error")
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details
        self.headers = headers or {}
        super().__init__(f"{code} {self.status}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str, violations: list[tuple[str, str]] | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, with ``google.rpc.BadRequest`` field violations when given."""
    details = None
    if violations:
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {"field": field, "description": desc} if field else {"description": desc}
                    for field, desc in violations
                ],
            }
        ]
    return ApiError(400, message, details=details)


def quota_exceeded(write: bool, retry_after: float | None = None) -> ApiError:
    """429 RESOURCE_EXHAUSTED as Google sends it when the per-minute quota is used up."""
    kind = "Write" if write else "Read"
    metric = "write_requests" if write else "read_requests"
    message = (
        f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per "
        f"minute per user' of service 'sheets.googleapis.com' for consumer "
        f"'project_number:000000000000'."
    )
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "quota_location": "global",
                "quota_metric": f"sheets.googleapis.com/{metric}",
                "quota_limit": f"{kind}RequestsPerMinutePerUser",
                "quota_limit_value": "60",
                "consumer": "projects/000000000000",
                "service": "sheets.googleapis.com",
            },
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {
                    "description": "Request a higher quota limit.",
                    "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                }
            ],
        },
    ]
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(
            int(retry_after) if float(retry_after).is_integer() else retry_after
        )
    return ApiError(429, message, details=details, headers=headers)
