"""OpenAPI descriptions of the Open311 documents in both formats, for `responses=` on every route.

The JSON schemas follow the Spark shapes exactly (top-level arrays, ids as strings, null for empty); the XML
bodies are described as strings with the root element named.
"""

from __future__ import annotations

from typing import Any

from civicloop_open311.documents import REQUEST_FIELDS
from civicloop_open311.formats import Format

_S = {"type": "string"}
_S_NULL = {"type": ["string", "null"]}
_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$"}
_DATETIME_NULL = {"anyOf": [_DATETIME, {"type": "null"}]}
_NUMBER_NULL = {"type": ["number", "null"]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


ERRORS = {
    "type": "array",
    "minItems": 1,
    "items": _object({"code": {"type": ["integer", "string"]}, "description": _S}),
}

SERVICES = {
    "type": "array",
    "items": _object(
        {
            "service_code": _S,
            "service_name": _S,
            "description": _S_NULL,
            "metadata": {"type": "boolean"},
            "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
            "keywords": _S_NULL,
            "group": _S_NULL,
        }
    ),
}

_ATTRIBUTE = {
    "variable": {"type": "boolean"},
    "code": _S,
    "datatype": {
        "type": "string",
        "enum": ["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"],
    },
    "required": {"type": "boolean"},
    "datatype_description": _S_NULL,
    "order": {"type": "integer", "minimum": 1},
    "description": _S_NULL,
    "values": {"type": "array", "items": _object({"key": _S, "name": _S})},
}
SERVICE_DEFINITION = _object(
    {
        "service_code": _S,
        "attributes": {
            "type": "array",
            # SD-12: every field on every attribute; `values` only on the list datatypes (SD-10).
            "items": _object(_ATTRIBUTE, required=[name for name in _ATTRIBUTE if name != "values"]),
        },
    }
)

REQUEST = _object(
    {
        "service_request_id": _S,
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": _S_NULL,
        "service_name": _S_NULL,
        "service_code": _S,
        "description": _S_NULL,
        "agency_responsible": _S_NULL,
        "service_notice": _S_NULL,
        "requested_datetime": _DATETIME,
        "updated_datetime": _DATETIME,
        "expected_datetime": _DATETIME_NULL,
        "address": _S_NULL,
        "address_id": _S_NULL,
        "zipcode": _S_NULL,
        "lat": _NUMBER_NULL,
        "long": _NUMBER_NULL,
        "media_url": _S_NULL,
        "extended_attributes": {"type": "object", "description": "only with extensions=true"},
    },
    required=list(REQUEST_FIELDS),
)
REQUESTS = {"type": "array", "items": REQUEST}
ONE_REQUEST = {**REQUESTS, "minItems": 1, "maxItems": 1}

TOKEN = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": _object({"service_request_id": _S, "token": _S}, required=["token"]),
}

UPDATES = {
    "type": "array",
    "items": _object(
        {
            "update_id": _S,
            "service_request_id": _S,
            "status": _S,
            "updated_datetime": _DATETIME,
            "description": _S,
            "media_url": _S_NULL,
            "external_status_code": _S_NULL,
        }
    ),
}

DISCOVERY = _object(
    {
        "changeset": _DATETIME,
        "contact": _S,
        "key_service": _S,
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": _object(
                {
                    "specification": _S,
                    "url": _S,
                    "changeset": _DATETIME,
                    "type": {"type": "string", "enum": ["production", "test"]},
                    "formats": {"type": "array", "minItems": 1, "items": _S},
                }
            ),
        },
        "extensions": {"type": "array", "items": _S},
    },
    required=["changeset", "contact", "key_service", "endpoints"],
)


def _content(json_schema: dict[str, Any], xml_root: str) -> dict[str, Any]:
    return {
        Format.xml.media_type: {"schema": {"type": "string", "description": f"`<{xml_root}>` document"}},
        Format.json.media_type: {"schema": json_schema},
    }


_ERROR_TEXT = {
    400: "Invalid request: a bad parameter, or jurisdiction_id missing where several jurisdictions are served.",
    403: "Missing or invalid api_key.",
    404: "Unknown resource, jurisdiction_id or format suffix (an unknown suffix is answered in XML).",
    405: "The resource does not take this method.",
    500: "Unexpected failure.",
    503: "The database is unreachable; retry later.",
}


def responses(json_schema: dict[str, Any], xml_root: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {
        200: {"description": f"`{xml_root}` in XML or JSON", "content": _content(json_schema, xml_root)}
    }
    for status in (*errors, 503):
        out[status] = {"description": _ERROR_TEXT[status], "content": _content(ERRORS, "errors")}
    return out
