"""The local SMS servers' outbox (`/local/outbox`): JSON for a program, a page for a person in a browser.

A client that asks for HTML first (a browser's `Accept: text/html,...`) gets a table of the texts, newest first, each
body as the phone shows it; every other client (httpx, curl: `*/*`) gets the JSON list, oldest first, as before.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response


@dataclass(frozen=True)
class Text:
    """One text as the page shows it."""

    to: str
    sender: str
    body: str


def wants_html(request: Request) -> bool:
    """Whether the client names HTML before JSON (or JSON not at all) in its Accept header."""
    accept = request.headers.get("accept", "").lower()
    at_html = accept.find("text/html")
    at_json = accept.find("application/json")
    return at_html >= 0 and (at_json < 0 or at_html < at_json)


def outbox_response(
    request: Request, records: Sequence[dict[str, Any]], texts: Sequence[Text], provider: str
) -> Response:
    """`records` as JSON, or `texts` as a page when the client is a browser."""
    if not wants_html(request):
        return JSONResponse(list(records))
    rows = "".join(
        f"<tr><td class='body'>{html.escape(t.body)}</td><td>{html.escape(t.to)}</td><td>{html.escape(t.sender)}</td></tr>"
        for t in reversed(texts)
    )
    count = f"{len(texts)} text{'s' if len(texts) != 1 else ''}"
    table = (
        "<div class='scroll' role='region' aria-label='Texts' tabindex='0'><table>"
        "<thead><tr><th scope='col'>Text</th><th scope='col'>To</th><th scope='col'>From</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        if texts
        else "<p>No text sent yet.</p>"
    )
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Local SMS outbox ({html.escape(provider)})</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}"
        ".scroll{overflow-x:auto}table{border-collapse:collapse}th,td{border:1px solid #c8c8c8;padding:.35rem .6rem;"
        "text-align:left;vertical-align:top}th{background:#eef2f6}td.body{white-space:pre-wrap;overflow-wrap:anywhere;"
        "min-width:12rem}</style></head><body><main>"
        f"<h1>Local SMS outbox</h1><p>Every text sent through the local {html.escape(provider)} server, newest first "
        f"({count}); reload for new ones. The same list as JSON: "
        f"<code>curl -s {html.escape(str(request.url))}</code>.</p>"
        f"{table}</main></body></html>"
    )
