"""Reads of the Open311 view (`gateway.*`), one query per document; every list is scoped to one jurisdiction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from civicloop_open311.documents import REQUEST_FIELDS, rendered_request
from civicloop_open311.formats import Format
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from civicloop_gateway.domain.queries import RequestQuery, UpdatesQuery
from civicloop_gateway.domain.request_view import RENDERING


def _w3c(column: str) -> str:
    """A timestamptz column as W3C text (G-40), as `format_w3c` writes it: in UTC, seconds truncated, `Z`.

    Not named after the column: `order by requested_datetime` must keep sorting by the column (and its index).
    """
    return f"""to_char({column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


# A request row: the request object's fields in `REQUEST_FIELDS` order, datetimes already W3C text; then, when the
# extensions are asked for (CX-01), what `extensions=true` adds.
REQUEST_COLUMNS = ", ".join(_w3c(name) if name.endswith("_datetime") else name for name in REQUEST_FIELDS)
EXTENSION_COLUMNS = ("civicloop_status", "source", "media_urls")


def _request_columns(extensions: bool) -> str:
    return f"{REQUEST_COLUMNS}, {', '.join(EXTENSION_COLUMNS)}" if extensions else REQUEST_COLUMNS


def rendered_columns(fmt: Format) -> str:
    """A request's stored rendering in `fmt` (null when missing or of another version), its service name, its id."""
    column = "open311_json" if fmt is Format.json else "open311_xml"
    return f"case when open311_rendering = {RENDERING} then {column} end, service_name, service_request_id"


# Up to this many values, a filter binds one text parameter each (sent as they are); a longer list, as one array
# (scanned for its element type on every request, but never near PostgreSQL's limit on parameters).
_LISTED = 32


def _in(column: str, values: tuple[str, ...], params: dict[str, Any]) -> str:
    """`column = v` for one value (an ordered index scan), `column in (...)` or `column = any(...)` for several."""
    if len(values) == 1:
        params[column] = values[0]
        return f"{column} = %({column})s"
    if len(values) > _LISTED:
        params[column] = list(values)
        return f"{column} = any(%({column})s)"
    names = [f"{column}_{i}" for i in range(len(values))]
    params |= dict(zip(names, values, strict=True))
    return f"{column} in ({', '.join(f'%({name})s' for name in names)})"


def requests_sql(
    q: RequestQuery, *, extra: int = 1, columns: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement `Open311View.requests` runs for `q`, and its parameters; `columns`: what it selects of each
    row instead of the request's fields."""
    where = ["jurisdiction_id = %(jurisdiction_id)s"]
    params: dict[str, Any] = {
        "jurisdiction_id": q.jurisdiction_id,
        "limit": q.page.limit + extra,
        "offset": q.page.offset,
    }
    for column, values in (
        ("service_request_id", q.ids),
        ("service_code", q.service_codes),
        ("status", q.statuses),
    ):
        if values is not None:
            where.append(_in(column, values, params))
    if q.requested is not None:
        where.append("requested_datetime >= %(requested_from)s and requested_datetime < %(requested_to)s")
        params |= {"requested_from": q.requested.lower, "requested_to": q.requested.upper}
    if q.updated_after is not None:
        where.append("updated_datetime >= %(updated_after)s")
        params["updated_after"] = q.updated_after
    if q.updated_before is not None:
        where.append("updated_datetime < %(updated_before)s")
        params["updated_before"] = q.updated_before
    if q.near is not None:
        # On the public point (`location` holds the H3 cell centre, never the exact point: a check since gateway_0006):
        # repeated small-radius queries cannot narrow a request down past its cell. A search near a cell's edge may miss by up to ~200 m.
        where.append(
            "ST_DWithin(location, ST_SetSRID(ST_MakePoint(%(near_long)s, %(near_lat)s), 4326)::geography,"
            " %(radius)s)"
        )
        params |= {"near_lat": q.near.lat, "near_long": q.near.long, "radius": q.near.radius_m}
    sql = (
        f"select {columns or _request_columns(q.extensions)} from gateway.requests where {' and '.join(where)}"
        f" order by {q.order.value} limit %(limit)s offset %(offset)s"
    )
    return sql, params


class KnownJurisdictions:
    """Whether the view serves a jurisdiction, asked of the database once per jurisdiction and process.

    The catalogue's fold only ever adds jurisdictions (`gateway.jurisdictions` has no delete), so a yes stays true
    and is kept; a no is asked again, as the jurisdiction may appear with the next catalogue event.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._known: set[str] = set()

    async def exists(self, jurisdiction_id: str) -> bool:
        if jurisdiction_id in self._known:
            return True
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "select 1 from gateway.jurisdictions where jurisdiction_id = %s", (jurisdiction_id,)
            )
            found = await cur.fetchone() is not None
        if found:
            self._known.add(jurisdiction_id)
        return found


class Open311View:
    def __init__(self, pool: AsyncConnectionPool, *, jurisdictions: KnownJurisdictions | None = None) -> None:
        self.pool = pool
        self.jurisdictions = jurisdictions or KnownJurisdictions(pool)

    async def _all(self, query: str, params: Any) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            return await cur.fetchall()

    async def _rows(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=tuple_row, binary=True)
            await cur.execute(query, params)
            return await cur.fetchall()

    async def _one(self, query: str, params: Any) -> dict[str, Any] | None:
        rows = await self._all(query, params)
        return rows[0] if rows else None

    # -- jurisdictions and catalogue --------------------------------------------------------------------------
    async def jurisdiction_exists(self, jurisdiction_id: str) -> bool:
        return await self.jurisdictions.exists(jurisdiction_id)

    async def changeset(self, jurisdiction_id: str | None) -> datetime | None:
        """The latest catalogue change (of one jurisdiction, or of all)."""
        if jurisdiction_id is None:
            row = await self._one("select max(changeset) as changeset from gateway.jurisdictions", ())
        else:
            row = await self._one(
                "select changeset from gateway.jurisdictions where jurisdiction_id = %s", (jurisdiction_id,)
            )
        return row["changeset"] if row else None

    async def services(self, jurisdiction_id: str) -> list[dict[str, Any]]:
        return await self._all(
            "select service_code, service_name, description, metadata, type, keywords, service_group"
            " from gateway.services where jurisdiction_id = %s and active order by service_code",
            (jurisdiction_id,),
        )

    async def service_attributes(
        self, jurisdiction_id: str, service_code: str
    ) -> list[dict[str, Any]] | None:
        """The attributes of an active service; None when there is no such service."""
        row = await self._one(
            "select attributes from gateway.services where jurisdiction_id = %s and service_code = %s and active",
            (jurisdiction_id, service_code),
        )
        return None if row is None else list(row["attributes"])

    # -- requests ---------------------------------------------------------------------------------------------
    async def requests(self, q: RequestQuery, *, extra: int = 1) -> list[tuple[Any, ...]]:
        """The page `q` asks for, plus `extra` rows past it (so the caller knows whether another page follows).

        Request rows (`REQUEST_COLUMNS`, then `EXTENSION_COLUMNS` when `q.extensions`).
        """
        return await self._rows(*requests_sql(q, extra=extra))

    async def rendered_requests(
        self, q: RequestQuery, fmt: Format, *, extra: int = 1
    ) -> list[tuple[str, str | None]]:
        """`requests` as their stored renderings in `fmt`, each with its service name (what
        `rendered_requests_document` assembles); a row without a current rendering is rendered from its columns."""
        rows = await self._rows(*requests_sql(q, extra=extra, columns=rendered_columns(fmt)))
        missing = [id_ for text, _, id_ in rows if text is None]
        if not missing:
            return [(text, name) for text, name, _ in rows]
        fields = await self._rows(
            f"select {REQUEST_COLUMNS} from gateway.requests where service_request_id = any(%s)", (missing,)
        )
        made = {values[0]: getattr(rendered_request(values), fmt.value) for values in fields}
        # A row gone in between (the view emptied for a rebuild) is left out, as the next read would.
        return [
            (text if text is not None else made[id_], name)
            for text, name, id_ in rows
            if text is not None or id_ in made
        ]

    async def request(
        self, jurisdiction_id: str, service_request_id: str, *, extensions: bool = False
    ) -> tuple[Any, ...] | None:
        """One request row (as `requests` gives them), or None."""
        rows = await self._rows(
            f"select {_request_columns(extensions)} from gateway.requests"
            " where service_request_id = %s and jurisdiction_id = %s",
            (service_request_id, jurisdiction_id),
        )
        return rows[0] if rows else None

    # -- tokens (written by the POST side, gateway.tokens) -----------------------------------------------------
    async def token(
        self, jurisdiction_id: str, token: str, *, ttl: timedelta
    ) -> tuple[str, str | None] | None:
        """(token, service_request_id or None while pending); None for a token never issued here (or expired).

        A token resolves once its request is in the view, so the id it answers with can be fetched at once.
        """
        row = await self._one(
            "select t.token, t.service_request_id, r.service_request_id as visible from gateway.tokens t"
            " left join gateway.requests r on r.service_request_id = t.service_request_id"
            " where t.token = %s and t.jurisdiction_id = %s and t.created_at > now() - %s",
            (token, jurisdiction_id, ttl),
        )
        if row is None:
            return None
        return row["token"], row["visible"]

    # -- updates ----------------------------------------------------------------------------------------------
    async def updates(self, q: UpdatesQuery, *, extra: int = 1) -> list[dict[str, Any]]:
        return await self._all(
            "select update_id, service_request_id, status, updated_datetime, description, media_url,"
            " external_status_code from gateway.request_updates"
            " where jurisdiction_id = %(j)s and updated_datetime >= %(lo)s and updated_datetime < %(hi)s"
            " order by updated_datetime, update_id limit %(limit)s offset %(offset)s",
            {
                "j": q.jurisdiction_id,
                "lo": q.window.lower,
                "hi": q.window.upper,
                "limit": q.page.limit + extra,
                "offset": q.page.offset,
            },
        )
