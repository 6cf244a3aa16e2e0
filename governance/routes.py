"""The governance API's route table: what the handler serves and what the hub declares, in one place.

Pure Python so that `CentralRegistry` reads it at plan time without importing boto3 or the handler.
The api handler registers exactly these routes (a test holds it to that).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

VERSION_PATH = "/use-cases/{use_case_id}/models/{group}/versions/{version}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway style: /use-cases/{use_case_id}
    operation: str  # the handler function's name, also the OpenAPI operationId

    @property
    def key(self) -> str:
        """The API Gateway route key, `GET /use-cases/{use_case_id}`."""
        return f"{self.method} {self.path}"

    @property
    def resolver_path(self) -> str:
        """The same path as Powertools' resolver spells it, `/use-cases/<use_case_id>`."""
        return re.sub(r"\{([^}]+)\}", r"<\1>", self.path)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches a request path (as sent, percent-encoded) segment by segment."""
        return re.compile("^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")

    @property
    def slug(self) -> str:
        """`GET /use-cases/{use_case_id}` → `get-use-cases-use-case-id` (stable resource names)."""
        return re.sub(r"[^a-z0-9]+", "-", self.key.lower()).strip("-")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/use-cases", "list_use_cases"),
    Route("GET", "/use-cases/{use_case_id}", "get_use_case"),
    Route("POST", "/use-cases/{use_case_id}/decision", "decide_use_case"),
    Route("GET", "/use-cases/{use_case_id}/audit", "use_case_audit"),
    Route("GET", "/use-cases/{use_case_id}/audit/verify", "use_case_audit_verify"),
    Route("GET", "/use-cases/{use_case_id}/evidence", "use_case_evidence"),
    Route("GET", "/queue", "queue"),
    Route("GET", VERSION_PATH, "get_version"),
    Route("POST", VERSION_PATH + "/decision", "decide"),
    Route("POST", VERSION_PATH + "/metrics", "metrics"),
    Route("GET", VERSION_PATH + "/audit", "version_audit"),
    Route("GET", VERSION_PATH + "/audit/verify", "version_audit_verify"),
    Route("GET", "/dashboard", "governance_dashboard"),
    Route("GET", "/openapi.json", "openapi_document"),
)


def route_keys() -> list[str]:
    return [r.key for r in ROUTES]


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `method path` and its path parameters (still percent-encoded), or None."""
    for route in ROUTES:
        m = route.pattern.match(path) if route.method == method else None
        if m:
            return route, m.groupdict()
    return None
