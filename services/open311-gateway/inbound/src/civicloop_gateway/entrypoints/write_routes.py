"""Open311 writes: POST requests (PR-01..PR-12), POST servicerequestupdates (FX-10).

Both read the same fields from `application/x-www-form-urlencoded` and `multipart/form-data` bodies (PR-01), in
UTF-8; CivicLoop stores no uploads, so a multipart body with a file part is refused with a 400 naming `media_url`
(photos travel as links) rather than the file being dropped while the request is created. The api_key is read from
the body, else the query string (G-71: the Swagger draft puts it there), else an `Authorization: Bearer` header
(Austin). POST requests takes the partner's `Idempotency-Key` header (PR-11, `submit_request`). Answers come only
after the broker acknowledged the events; when it does not, the answer is 503 with Retry-After (ER-04, our choice:
the partner retries, and the retry makes no second request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from civicloop_open311 import openapi
from civicloop_open311.errors import ErrorItem, Open311Error
from civicloop_open311.forms import OpenForm
from civicloop_open311.http import bearer_token, document_response, read_post_form, requested_format
from civicloop_open311.render import Document, Many
from civicloop_runtime.app import running_service
from fastapi import APIRouter, Request, Response

from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.domain.submit_errors import Rejected
from civicloop_gateway.domain.submit_record import SubmitAnswer, checked_idempotency_key
from civicloop_gateway.service_layer.post_update import UpdateAnswer, post_update
from civicloop_gateway.service_layer.submit_ports import EventLogUnavailable
from civicloop_gateway.service_layer.submit_request import submit_request

router = APIRouter(tags=["open311 writes"])
T = TypeVar("T")
Route = TypeVar("Route", bound=Callable[..., Any])

_TEXT = {"type": "string"}
_FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_body(properties: dict[str, dict[str, str]], required: list[str], note: str) -> dict[str, object]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": True}
    return {
        "requestBody": {
            "required": True,
            "description": note,
            "content": {media: {"schema": schema} for media in _FORM_MEDIA_TYPES},
        }
    }


REQUEST_FORM = _form_body(
    {
        name: {**_TEXT, "description": text}
        for name, text in {
            "api_key": "required (403 when missing, unknown or revoked); also accepted in the query string or as "
            "`Authorization: Bearer`",
            "jurisdiction_id": "required when the endpoint serves several jurisdictions",
            "service_code": "required (400 when missing, 404 when unknown)",
            "lat": "WGS84, with long",
            "long": "WGS84, with lat",
            "address_string": "free text",
            "address_id": "opaque",
            "attribute[CODE]": "an answer; `attribute[CODE][]` or the key repeated for a multivaluelist",
            "description": "plain text, at most 4,000 characters; HTML tags are removed",
            "media_url": "repeatable, at most 10",
            "email": "sealed",
            "device_id": "sealed",
            "account_id": "sealed",
            "first_name": "sealed",
            "last_name": "sealed",
            "phone": "sealed",
        }.items()
    },
    ["api_key", "service_code"],
    "Open311 POST Service Request. A location (lat & long, address_string or address_id) is required. "
    "Send an `Idempotency-Key` header to make retries safe: the same key with the same body within the dedup "
    "window answers with the same request. Without one, only a body naming its sender (or carrying "
    "`attribute[fixmystreet_id]`) is recognised as a retry; an anonymous body is a new request each time. "
    "File parts are refused (400): send photos as `media_url`.",
)
REQUEST_FORM["parameters"] = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "the partner's key of this report, the same on every retry of it (1-255 printable ASCII)",
        "schema": {**_TEXT, "maxLength": 255},
    }
]
REQUEST_ANSWER = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "service_request_id": _TEXT,
            "token": _TEXT,
            "service_notice": {"type": ["string", "null"]},
            "account_id": {"type": ["string", "null"]},
        },
        "required": ["service_notice", "account_id"],
    },
}
UPDATE_FORM = _form_body(
    {
        name: {**_TEXT, "description": text}
        for name, text in {
            "api_key": "required",
            "jurisdiction_id": "required when several jurisdictions are served",
            "service_request_id": "required: a request this partner submitted",
            "update_id": "the partner's id; makes retries safe",
            "status": "required: OPEN, CLOSED, FIXED, IN_PROGRESS, ... (upper case)",
            "updated_datetime": "required, W3C",
            "description": "the public comment (may be empty)",
            "media_url": "repeatable",
            "external_status_code": "kept with the status change",
        }.items()
    },
    ["api_key", "service_request_id", "status", "updated_datetime"],
    "FixMyStreet's POST Service Request Update: a public comment and/or a status change.",
)
UPDATE_ANSWER = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {"type": "object", "properties": {"update_id": _TEXT}, "required": ["update_id"]},
}

RETRY_AFTER_S = "5"
IDEMPOTENCY_HEADER = "Idempotency-Key"


async def read_form(request: Request) -> tuple[OpenForm, str | None]:
    """The POST's text parameters, and its api_key: the form's, else an `Authorization: Bearer` header's."""
    form = await read_post_form(request)
    api_key = form.get("api_key")
    return form, bearer_token(request) if api_key is None else api_key


def _open311_error(exc: Rejected) -> Open311Error:
    first, *rest = exc.descriptions
    return Open311Error(exc.status, exc.status, first, more=[ErrorItem(exc.status, d) for d in rest])


def _unavailable() -> Open311Error:
    return Open311Error(
        503,
        503,
        "The event log did not acknowledge the request; retry the same POST later "
        "(it will not create a second request).",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def answer_document(answer: SubmitAnswer) -> Document:
    """PR-09: one `request` with the id (realtime), the token (batch) or neither (blackbox), never both."""
    record: dict[str, Any] = {}
    if answer.service_request_id is not None:
        record["service_request_id"] = answer.service_request_id
    if answer.token is not None:
        record["token"] = answer.token
    record["service_notice"] = answer.service_notice
    # PR-09 `account_id` "may not be returned": the partner's account ids are sealed, never kept in clear.
    record["account_id"] = None
    return Document("service_requests", Many("request", [record]))


def _gateway(request: Request) -> Gateway:
    gateway: Gateway | None = running_service(request)
    if gateway is None:
        raise _unavailable()
    return gateway


def _partner_write(
    path: str, summary: str, form: dict[str, object], answer_schema: dict[str, Any], xml_root: str
) -> Callable[[Route], Route]:
    """A partner's POST of a form, answering an Open311 document: 400 for a broken rule, 403 for a missing, unknown
    or revoked api_key, 404 for an unknown jurisdiction, request or service (documented with the answer's schema)."""
    return router.post(
        path,
        summary=summary,
        openapi_extra=form,
        responses=openapi.responses(answer_schema, xml_root, 400, 403, 404),
    )


async def _write(
    fmt: str,
    request: Request,
    command: Callable[..., Awaitable[T]],
    context: Callable[[Gateway], object],
    document: Callable[[T], Document],
) -> Response:
    """What both POSTs do around their command (`command(form, api_key=..., ctx=...)`): the format, the form and
    its api_key, the refusals as Open311 errors (503 with Retry-After when the event log did not acknowledge), and
    the answer as a document."""
    out = requested_format(fmt)
    form, api_key = await read_form(request)
    try:
        answer = await command(form, api_key=api_key, ctx=context(_gateway(request)))
    except Rejected as exc:
        raise _open311_error(exc) from None
    except EventLogUnavailable:
        raise _unavailable() from None
    return document_response(document(answer), out)


def update_answer_document(answer: UpdateAnswer) -> Document:
    return Document("service_request_updates", Many("request_update", [{"update_id": answer.update_id}]))


@_partner_write(
    "/requests.{fmt}",
    "POST Service Request (form-encoded or multipart; api_key required)",
    REQUEST_FORM,
    REQUEST_ANSWER,
    "service_requests",
)
async def post_service_request(fmt: str, request: Request) -> Response:
    try:
        key = checked_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    except Rejected as exc:
        raise _open311_error(exc) from None
    submit = partial(submit_request, idempotency_key=key)
    return await _write(fmt, request, submit, lambda gateway: gateway.submit, answer_document)


@_partner_write(
    "/servicerequestupdates.{fmt}",
    "POST Service Request Update (FixMyStreet extension; api_key required)",
    UPDATE_FORM,
    UPDATE_ANSWER,
    "service_request_updates",
)
async def post_service_request_update(fmt: str, request: Request) -> Response:
    return await _write(fmt, request, post_update, lambda gateway: gateway.update, update_answer_document)
