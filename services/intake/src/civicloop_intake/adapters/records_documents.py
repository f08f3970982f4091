"""A records export as documents: JSON (machine-readable), HTML and PDF (human-readable), the same entries in each."""

from __future__ import annotations

import json
from typing import Any

from fpdf import FPDF
from jinja2 import Environment, select_autoescape

from civicloop_intake.domain.records_export import RecordsExport

_HTML = Environment(autoescape=select_autoescape(default=True, default_for_string=True)).from_string(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Records of request {{ e.request_number }}</title>
<style>body{font-family:sans-serif;color:#111;margin:2em}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #444;padding:.3em;vertical-align:top;text-align:left}pre{white-space:pre-wrap;margin:0}</style>
</head>
<body><main>
<h1>Records of request {{ e.request_number }}</h1>
<p>Exported {{ e.exported_at.isoformat() }} by {{ e.exported_by }};
{% if e.redacted %}personal data redacted{% else %}personal data NOT redacted (unsealed on request){% endif %}.
{% if e.reason %}Records request: {{ e.reason }}.{% endif %} {{ e.events | length }} events from the log.</p>
<table>
<caption>The request's complete history, in log order</caption>
<thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Event</th><th scope="col">By</th>
<th scope="col">Details</th></tr></thead>
<tbody>
{% for ev in e.events %}<tr><td>{{ loop.index }}</td><td>{{ ev.occurred_at }}</td>
<td>{{ ev.type }} v{{ ev.schema_version }}<br>log {{ ev.partition }}:{{ ev.offset }}</td>
<td>{{ ev.actor.kind }}{% if ev.actor.id %}: {{ ev.actor.id }}{% endif %} ({{ ev.source }})</td>
<td><pre>{{ details(ev) }}</pre></td></tr>
{% endfor %}</tbody>
</table>
</main></body>
</html>
"""
)


def _details(entry: dict[str, Any]) -> str:
    return json.dumps(entry.get("payload", {}), indent=1, sort_keys=True, ensure_ascii=False)


def to_json(export: RecordsExport) -> bytes:
    return json.dumps(export.as_json(), sort_keys=True, ensure_ascii=False).encode()


def to_html(export: RecordsExport) -> str:
    return _HTML.render(e=export, details=_details)


def _latin1(text: str) -> str:
    """The PDF's core font speaks Latin-1: other characters are shown as '?' rather than failing the export."""
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(export: RecordsExport) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_title(f"Records of request {export.request_number}")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(
        0, 8, _latin1(f"Records of request {export.request_number}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("Helvetica", size=9)
    said = "personal data redacted" if export.redacted else "personal data NOT redacted (unsealed on request)"
    header = f"Exported {export.exported_at.isoformat()} by {export.exported_by}; {said}."
    if export.reason:
        header += f" Records request: {export.reason}."
    pdf.multi_cell(
        0, 5, _latin1(f"{header} {len(export.events)} events from the log."), new_x="LMARGIN", new_y="NEXT"
    )
    for n, ev in enumerate(export.events, start=1):
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 9)
        by = ev["actor"]["kind"] + (f": {ev['actor']['id']}" if ev["actor"].get("id") else "")
        title = f"{n}. {ev['occurred_at']}  {ev['type']} v{ev['schema_version']}  by {by} ({ev['source']})"
        pdf.multi_cell(
            0, 5, _latin1(f"{title}  [log {ev['partition']}:{ev['offset']}]"), new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_font("Courier", size=7)
        pdf.multi_cell(0, 3.5, _latin1(_details(ev)), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
