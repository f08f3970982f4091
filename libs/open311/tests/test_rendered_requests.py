"""Requests rendered once and assembled into a list later: the same bytes as rendering the list whole (R1-01,
RQ-06, G-10, G-22..G-24, G-30..G-33)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from civicloop_open311.documents import (
    NAME_HOLE,
    REQUEST_FIELDS,
    rendered_request,
    rendered_requests_document,
    view_requests_document,
)
from civicloop_open311.formats import Format
from civicloop_open311.render import render

AWKWARD = [
    "",
    "plain",
    "Straße <kaputt> & «déjà vu» 水 — \"quoted\" 'single'",
    "line\r\nbreak\ttab",
    "control \x01\x02\x1f and \x7f",
    "<service_name></service_name>",
    '"service_name":null',
    "\\u0001 & \\",
    "emoji 🚧",
]
NUMBERS = [None, 0.0, -0.0, 34.0522, -118.2437, 1e-05, 1.5e16, 90.0, 1e-300]


def _row(rng: random.Random, i: int) -> list[Any]:
    text = lambda: rng.choice([None, *AWKWARD])  # noqa: E731
    when = lambda: rng.choice([None, "", "2026-10-01T23:56:50Z"])  # noqa: E731
    values = {
        "service_request_id": f"R-{i}",
        "status": rng.choice(["open", "closed"]),
        "status_notes": text(),
        "service_name": text(),
        "service_code": rng.choice(["001", "graffiti", "a.b"]),
        "description": text(),
        "agency_responsible": text(),
        "service_notice": text(),
        "requested_datetime": when(),
        "updated_datetime": when(),
        "expected_datetime": when(),
        "address": text(),
        "address_id": text(),
        "zipcode": text(),
        "lat": rng.choice(NUMBERS),
        "long": rng.choice(NUMBERS),
        "media_url": text(),
    }
    return [values[name] for name in REQUEST_FIELDS]


@pytest.mark.parametrize("fmt", list(Format))
@pytest.mark.parametrize("count", [0, 1, 2, 57])
def test_a_list_of_rendered_requests_is_the_list_rendered_whole(fmt: Format, count: int):
    rng = random.Random(count)
    rows = [_row(rng, i) for i in range(count)]
    rendered = [rendered_request(row) for row in rows]
    name = REQUEST_FIELDS.index("service_name")
    pieces = [
        (r.json if fmt is Format.json else r.xml, row[name]) for r, row in zip(rendered, rows, strict=True)
    ]
    assert rendered_requests_document(pieces, fmt) == render(view_requests_document(rows), fmt)


def test_the_service_name_is_a_hole_in_both_renderings_and_nowhere_else():
    row = _row(random.Random(1), 1)
    row[REQUEST_FIELDS.index("service_name")] = "Graffiti"
    row[REQUEST_FIELDS.index("description")] = "control \x01 and Graffiti"
    rendered = rendered_request(row)
    assert rendered.json.count(NAME_HOLE) == 1 and '"service_name":\x01,' in rendered.json
    assert rendered.xml.count(NAME_HOLE) == 1 and "<service_name>\x01</service_name>" in rendered.xml
    assert "Graffiti" in rendered.json.split(NAME_HOLE)[1]  # the description's own text stays


def test_a_renamed_service_shows_in_the_assembled_list():
    row = _row(random.Random(2), 2)
    rendered = rendered_request(row)
    row[REQUEST_FIELDS.index("service_name")] = "New & <improved>"
    for fmt, text in ((Format.json, rendered.json), (Format.xml, rendered.xml)):
        assert rendered_requests_document([(text, "New & <improved>")], fmt) == render(
            view_requests_document([row]), fmt
        )
