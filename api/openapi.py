"""The OpenAPI document as the API really behaves, not as FastAPI assumes.

FastAPI declares 200 and 422 for every operation; Sluice never answers 422 (request validation is a
400 with the usual error body, api.errors) and answers 400/401/403/404/409/429/431 with
`{"error": {"type", "code", "message", "param"}}`. This rewrites the generated document once:

- the error responses each operation can give, with the error schema, and no 422;
- the headers: `Request-Id` on every response, `Retry-After` on 429, `Idempotency-Key` on every POST
  under /v1 and `Idempotent-Replayed` on its answers;
- `text/csv` beside JSON for the reports that offer it;
- the API-key security schemes (Bearer, or HTTP Basic with the key as user name);
- the cross-parameter rules OpenAPI cannot express (`asset` needs `network`; `starting_after` and
  `ending_before` exclude each other) in the parameters' descriptions.

tests/api/test_openapi_fuzz.py drives the API from this document and fails on any answer that
contradicts it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from sluice.idempotency.service import MAX_KEY_LENGTH

ERROR_TYPES = [
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "idempotency_error",
    "rate_limit_error",
    "api_error",
]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "code", "message", "param"],
            "properties": {
                "type": {"type": "string", "enum": ERROR_TYPES},
                "code": {"type": "string", "description": "Machine-readable, e.g. parameter_invalid."},
                "message": {"type": "string"},
                "param": {
                    "type": ["string", "null"],
                    "description": "The offending parameter (dotted path into the body), if any.",
                },
            },
        }
    },
}

REQUEST_ID = {
    "description": "This request's id (`req_…`); quote it when asking for support.",
    "required": True,
    "schema": {"type": "string", "pattern": "^req_"},
}

ERRORS = {
    "400": "Invalid request: a parameter is missing or wrong (`param` names it), an invalid state, "
    "or an Idempotency-Key reused with another request.",
    "401": "No API key, or one that is malformed, unknown, revoked or expired.",
    "403": "The key may not do this (publishable or restricted key, wrong mode).",
    "404": "No such object for this merchant (another merchant's objects are not found either).",
    "409": "A request with the same Idempotency-Key is still running, or the key's account changed "
    "while the request ran; retry.",
    "429": "Too many requests with this key, or too many failed authentications from this address.",
    "431": "Request headers larger than 16 KB.",
    "500": "An unexpected error; nothing is half-done, retry with the same Idempotency-Key.",
    "503": "No trustworthy price right now (pricing outage or a depegged stablecoin); retry later.",
}

#: Operations that price in fiat and may answer 503.
PRICING = {("post", "/v1/payment_intents"), ("get", "/v1/quotes")}
CSV_REPORTS = {"/v1/reports/payments", "/v1/reports/refunds", "/v1/reports/balances", "/v1/reports/summary"}
WRITES = {"post", "patch", "put", "delete"}

PARAMETER_NOTES = {
    "asset": " Needs `network`.",
    "starting_after": " Not together with `ending_before`.",
    "ending_before": " Not together with `starting_after`.",
}


def install(app: FastAPI) -> None:
    """Replaces `app.openapi` with one that returns the corrected document (built once)."""
    generate = app.openapi  # FastAPI's: cached, and built anew (a new dict) when routes change
    corrected: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        spec = generate()
        if not corrected or corrected[0] is not spec:
            corrected[:] = [correct(spec)]
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def correct(spec: dict[str, Any]) -> dict[str, Any]:
    """The generated document, changed in place, with Sluice's real responses, headers and security
    (see the module doc)."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "sk_…, rk_… or pk_… key"},
        "basicAuth": {"type": "http", "scheme": "basic", "description": "the key as user name"},
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            _correct_operation(path, method, operation)
    return spec


def _correct_operation(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    v1 = path.startswith("/v1/") or path == "/v1"
    if v1:
        operation["security"] = [{"bearerAuth": []}, {"basicAuth": []}]
        codes = ["400", "401", "403", "404", "429", "431", "500"]
        if method in WRITES:
            codes.append("409")
        if (method, path) in PRICING:
            codes.append("503")
        for code in sorted(codes):
            responses[code] = _error_response(code)
        for parameter in operation.get("parameters", []):
            note = PARAMETER_NOTES.get(parameter.get("name", ""))
            if note and note.strip().lower() not in parameter.get("description", "").lower():
                parameter["description"] = (parameter.get("description", "") + note).strip()
    elif path == "/ready":
        responses["503"] = {
            "description": "The database does not answer.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    else:
        responses.setdefault("431", _error_response("431"))
    if path in CSV_REPORTS and "200" in responses:
        responses["200"].setdefault("content", {})["text/csv"] = {
            "schema": {"type": "string"},
        }
    if v1 and method == "post":
        operation.setdefault("parameters", []).append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Any unique string (a UUID): a retry with the same key and the same "
                "request gets the first answer again, with `Idempotent-Replayed: true`.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
            }
        )
        for code, response in responses.items():
            if code.startswith("2"):
                response.setdefault("headers", {})["Idempotent-Replayed"] = {
                    "description": "`true` when this is the stored answer to an earlier request.",
                    "required": False,
                    "schema": {"type": "string", "enum": ["true"]},
                }
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        headers["Request-Id"] = REQUEST_ID
        if code == "429":
            headers["Retry-After"] = {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }


def _error_response(code: str) -> dict[str, Any]:
    return {
        "description": ERRORS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
