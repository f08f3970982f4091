"""Open311 error documents (ER-01..ER-03): `<errors><error><code/><description/></error></errors>` in XML,
`[{"code":…,"description":…}]` in JSON, and the exception that carries one out of a handler.

The HTTP side (status codes, the handlers that turn every failure under a base path into such a document) is in
`civicloop_open311.http`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from civicloop_open311.render import Document, Many

DEFAULT_DESCRIPTIONS = {
    400: "The request is invalid.",
    403: "Missing or invalid api_key.",
    404: "Resource not found.",
    405: "Method not allowed on this resource.",
    500: "The Open311 service failed to process the request.",
    503: "The Open311 service is temporarily unavailable; retry later.",
}


@dataclass(frozen=True)
class ErrorItem:
    code: int | str
    description: str


class Open311Error(Exception):
    """An Open311 error answer: the HTTP status, then one or more (code, description) pairs (ER-01, ER-02)."""

    def __init__(
        self,
        status: int,
        code: int | str | None = None,
        description: str | None = None,
        *,
        more: Iterable[ErrorItem] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        first = ErrorItem(
            status if code is None else code, description or DEFAULT_DESCRIPTIONS.get(status, "")
        )
        self.status = status
        self.errors: tuple[ErrorItem, ...] = (first, *more)
        self.headers = headers or {}
        super().__init__(f"{status}: {first.description}")


def raise_open311(status: int, description: str, *, code: int | str | None = None) -> NoReturn:
    """Stop handling the request with an Open311 error; `code` defaults to the HTTP status (ER-07)."""
    raise Open311Error(status, code, description)


def error_document(errors: Sequence[ErrorItem]) -> Document:
    return Document("errors", Many("error", [{"code": e.code, "description": e.description} for e in errors]))
