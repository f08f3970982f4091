"""The public read model in PostgreSQL (`projections.public_requests`): the rows of `domain.public_request`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from civicloop_projections.domain.public_request import PublicRequest
from civicloop_projections.service_layer.public_handlers import PublicRequestStore

_COLUMNS = (
    ("request_number", "text"),
    ("jurisdiction_id", "text"),
    ("service_code", "text"),
    ("status", "text"),
    ("submitted_at", "timestamptz"),
    ("acknowledged_at", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("close_reason", "text"),
    ("h3_cell", "text"),
    ("h3_resolution", "smallint"),
    ("cell_lat", "double precision"),
    ("cell_long", "double precision"),
    ("block_address", "text"),
    ("service_areas", "text"),  # a JSON array per row: unnest cannot take an array of arrays
    ("public_note", "text"),
    ("nps_score", "smallint"),
    ("fixed", "boolean"),
)
if [name for name, _ in _COLUMNS] != [f.name for f in dataclasses.fields(PublicRequest)]:
    raise RuntimeError("the public_requests columns and PublicRequest's fields differ")

_NAMES = ", ".join(name for name, _ in _COLUMNS)
_SELECTED = ", ".join(
    "case when t.service_areas is null then null"
    " else array(select jsonb_array_elements_text(t.service_areas::jsonb)) end"
    if name == "service_areas"
    else f"t.{name}"
    for name, _ in _COLUMNS
)
_SAVE = f"""insert into projections.public_requests ({_NAMES})
    select {_SELECTED} from unnest({", ".join(f"%s::{kind}[]" for _, kind in _COLUMNS)}) as t({_NAMES})
    on conflict (request_number) do update set
      {", ".join(f"{name} = excluded.{name}" for name, _ in _COLUMNS[1:])}"""


def _values(row: PublicRequest) -> list[Any]:
    values = [getattr(row, name) for name, _ in _COLUMNS]
    index = [name for name, _ in _COLUMNS].index("service_areas")
    values[index] = None if row.service_areas is None else json.dumps(list(row.service_areas))
    return values


def _row(record: dict[str, Any]) -> PublicRequest:
    areas = record["service_areas"]
    return PublicRequest(**{**record, "service_areas": None if areas is None else tuple(areas)})


class PostgresPublicRequestStore(PublicRequestStore):
    """Bound to the consumer runner's connection, inside its transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def load_for_update(self, request_numbers: Collection[str]) -> dict[str, PublicRequest]:
        cur = self.conn.cursor(row_factory=dict_row)
        await cur.execute(
            f"""select {_NAMES} from projections.public_requests
                where request_number = any(%s) order by request_number for update""",
            (sorted(request_numbers),),
        )
        return {r["request_number"]: _row(r) for r in await cur.fetchall()}

    async def save(self, rows: Sequence[PublicRequest]) -> None:
        if rows:
            columns = [list(c) for c in zip(*(_values(r) for r in rows), strict=True)]
            await self.conn.execute(_SAVE, columns)
