"""The public outputs the property test reads, each one line in `public_outputs`, and the check of one output's
text against the residents' strings (naming the output, what leaked and where the resident had typed it)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers
from privacy_residents import Resident


@dataclass
class System:
    intake: httpx.AsyncClient
    geo: httpx.AsyncClient
    projections: httpx.AsyncClient
    open311: httpx.AsyncClient
    agent: dict[str, str]
    pg_dsn: str
    sent: list[str] = field(default_factory=list)  # every request number sent so far, across examples
    residents: list[Resident] = field(default_factory=list)  # and who sent them


Read = Callable[[System], Awaitable[str]]
DEMO = {"jurisdiction_id": "demo"}


def _get(client: str, path: str, **params: str) -> Read:
    async def read(system: System) -> str:
        r = await getattr(system, client).get(path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.text

    return read


def _open_data(file_name: str) -> Read:
    """One file of an open-data export an admin fires through projections' route, as text."""

    async def read(system: System) -> str:
        exports, admin = "/api/v1/admin/open-data/exports", staff_headers(None, "admin")
        started = await system.projections.post(exports, headers=admin)
        assert started.status_code == 202, started.text
        href = started.json()["href"]

        async def done() -> bool:
            return (await system.projections.get(href, headers=admin)).json()["state"] == "done"

        await eventually(done, timeout=60, what="the open-data export to finish", interval=0.2)
        r = await system.projections.get(f"{href}/{file_name}", headers=admin)
        assert r.status_code == 200, (file_name, r.status_code)
        if file_name.endswith(".parquet"):
            return repr(pq.read_table(io.BytesIO(r.content)).to_pylist())
        return r.text

    return read


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    w3c = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "start_date": (now - timedelta(hours=1)).strftime(w3c),
        "end_date": (now + timedelta(hours=1)).strftime(w3c),
    }


@dataclass(frozen=True)
class Output:
    """A public output: its name, how to read it, the example's requests it lists (so the test sees they are there
    to leak), and whether it shows typed text (descriptions, notes, comments: scrubbed of phones and emails, not of
    names)."""

    name: str
    read: Read
    shows: Sequence[str] = ()
    free_text: bool = False


def public_outputs(numbers: Sequence[str]) -> list[Output]:
    """Every output the public can fetch; `numbers`: this example's requests. A new output is one line here."""
    window, each = {**DEMO, **_window()}, tuple(numbers)
    heat = {**DEMO, "resolution": "9", "days": "1"}
    updates = "/servicerequestupdates"
    return [
        Output("GET /public", _get("projections", "/public")),
        Output("GET /api/public/weekly.csv", _get("projections", "/api/public/weekly.csv")),
        Output("Open311 GET requests.json", _get("open311", "/requests.json", **window), each, True),
        Output("Open311 GET requests.xml", _get("open311", "/requests.xml", **window), each, True),
        *(
            Output(f"Open311 GET requests/{n}", _get("open311", f"/requests/{n}.json", **DEMO), (n,), True)
            for n in each
        ),
        Output(
            "Open311 GET servicerequestupdates.json", _get("open311", f"{updates}.json", **window), each, True
        ),
        Output(
            "Open311 GET servicerequestupdates.xml", _get("open311", f"{updates}.xml", **window), each, True
        ),
        Output("geo GET /api/v1/public/heatmap", _get("geo", "/api/v1/public/heatmap", **heat)),
        Output("open-data export requests.csv", _open_data("requests.csv"), each, True),
        Output("open-data export requests.geojson", _open_data("requests.geojson"), each, True),
        Output("open-data export requests.parquet", _open_data("requests.parquet"), each, True),
    ]


_FREE_TEXT = (
    ("description", "in_description"),
    ("address (with phone and email)", "in_address"),
    ("address (the name alone)", "name_in_address"),
    ("agent's public comment", "in_comment"),
    ("closing public note", "in_close_note"),
)


def _typed_in(person: Resident) -> list[str]:
    return [where for where, flag in _FREE_TEXT if getattr(person, flag)]


@dataclass(frozen=True)
class Leak:
    output: Output
    kind: str
    value: str
    typed_in: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(self.typed_in) or "nowhere public (contact only)"
        return f"{self.output.name}: {self.kind} {self.value!r} (typed in: {where})"


def leaks(output: Output, text: str, people: Sequence[Resident]) -> list[Leak]:
    """What of the residents' personal strings `text` shows, once each; none: []. Two residents may be drawn with one
    string: where it was typed is where any of them typed it."""
    typed_by: dict[tuple[str, str], set[str]] = {}
    for person in people:
        typed = set(_typed_in(person))
        for kind, value in person.strings().items():
            if value.lower() in text.lower():
                typed_by.setdefault((kind, value), set()).update(typed)
        for lat, long in person.points():
            if lat in text and long in text:
                typed_by.setdefault(("the exact point", f"{lat},{long}"), set()).update(typed)
    return [Leak(output, kind, value, tuple(sorted(typed))) for (kind, value), typed in typed_by.items()]


async def wait_until_public(system: System, numbers: Sequence[str]) -> None:
    """Every request sent so far folded by each public output's read model: placed and closed."""

    async def public_model() -> bool:
        async with await psycopg.AsyncConnection.connect(system.pg_dsn) as conn:
            cur = await conn.execute(
                "select count(*) from projections.public_requests"
                " where request_number = any(%s) and status = 'closed' and h3_cell is not null",
                (list(system.sent),),
            )
            (count,) = await cur.fetchone()
        return count == len(system.sent)

    async def open311() -> bool:
        for number in numbers:
            r = await system.open311.get(f"/requests/{number}.json", params=DEMO)
            if r.status_code != 200 or r.json()[0]["status"] != "closed":
                return False
        return True

    async def heatmap() -> bool:
        r = await system.geo.get("/api/v1/public/heatmap", params={**DEMO, "days": "1"})
        return r.status_code == 200 and sum(c["requests"] for c in r.json()["cells"]) >= len(system.sent)

    await eventually(
        public_model, timeout=60, what="the public read model to fold and place them", interval=0.2
    )
    await eventually(open311, timeout=60, what="the Open311 view to close them", interval=0.2)
    await eventually(heatmap, timeout=60, what="geo to place them", interval=0.2)
