"""An Open311 document as an HTTP response, with the spec's content types (G-10, G-11)."""

from __future__ import annotations

from starlette.responses import Response

from civicloop_gateway.open311.formats import Format
from civicloop_gateway.open311.render import Document, render


def document_response(
    document: Document, fmt: Format, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        render(document, fmt),
        status_code=status,
        media_type=None,
        headers={"Content-Type": fmt.content_type, **(headers or {})},
    )
