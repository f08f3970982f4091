"""Real Los Angeles 311 requests (2017), a fifth of them published late, polled in rounds on a virtual clock: every
request is imported by polling alone, exactly once, whichever way the back-end tells of updates; a second import adds
nothing.

The requests keep their real relative creation times (moved so that the newest is an hour old). Publication: most at
creation; some two days late, unchanged since (inside the 72-hour look-back); some four days late (beyond it), closed
as they are published, so only `updated_after` or the update in `servicerequestupdates` tells of them.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import pytest
from civicloop_outbound.adapters.open311_polling import PollReport
from civicloop_testing import shared_dir
from late_harness import T0, request_row, update_row, world

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SHARED = shared_dir()
CSV = SHARED / "data" / "requests" / "la-311-2017-sample.csv" if SHARED else None
if CSV is None or not CSV.exists():
    pytest.skip(
        "../shared/data/requests/la-311-2017-sample.csv is not beside this checkout (a user's clone)",
        allow_module_level=True,
    )

EVERY = 80  # one row in 80 of the sample: about a hundred requests over its four and a half days
STEP = timedelta(hours=2)


def la_rows() -> list[dict[str, str]]:
    with CSV.open(newline="", encoding="utf-8") as f:  # type: ignore[union-attr]
        located = [r for r in csv.DictReader(f) if r["Latitude"] and r["Longitude"]]
    return sorted(located[::EVERY], key=lambda r: created(r))


def created(row: dict[str, str]) -> datetime:
    return datetime.strptime(row["CreatedDate"], "%m/%d/%Y %I:%M:%S %p")


def code(row: dict[str, str]) -> str:
    return row["RequestType"].upper().replace("/", " ").replace(" ", "_")


@pytest.mark.parametrize("updates_method", ["requests_updated_after", "servicerequestupdates"])
async def test_every_la_request_arrives_once_by_polling_though_a_fifth_are_published_late(
    late, o311_pool, o311_http, o311_producer, o311_topics, kafka_bootstrap, updates_method
):
    rows = la_rows()
    newest = created(rows[-1])
    w = await world(
        late,
        o311_pool,
        o311_http,
        o311_producer,
        o311_topics,
        kafka_bootstrap,
        updates_method=updates_method,
        codes=sorted({code(r) for r in rows}),
    )
    start = T0 - timedelta(hours=1) - (newest - created(rows[0]))
    w.state.now = start - STEP
    late_by: dict[str, timedelta] = {}
    for i, row in enumerate(rows):
        requested = T0 - timedelta(hours=1) - (newest - created(row))
        delay = {0: timedelta(days=2), 5: timedelta(days=4)}.get(i % 10, timedelta(0))
        published = requested + delay
        sr = request_row(
            row["SRNumber"],
            requested,
            code=code(row),
            description=f"{row['RequestType']} at {row['Address']}",
        )
        sr.update(lat=float(row["Latitude"]), long=float(row["Longitude"]), address=row["Address"])
        if delay > timedelta(days=3):  # closed as it was published: the back-end's update tells of it
            sr.update(status="closed", status_notes="Collected", updated_datetime=published)
            w.state.publish_update(
                update_row(f"{row['SRNumber']}-1", row["SRNumber"], published, "closed", "Collected"),
                at=published,
            )
        w.state.publish(sr, at=published)
        if delay:
            late_by[row["SRNumber"]] = delay
    assert len(rows) >= 100 and len(late_by) >= 20

    total = PollReport()
    while w.state.clock() < T0 + timedelta(days=4, hours=1):
        report = await w.round(STEP)
        total.imported += report.imported
        total.status_changes += report.status_changes
    imported = await w.imported()
    assert imported == {r["SRNumber"]: 1 for r in rows}
    assert total.imported == len(rows)

    async with o311_pool.connection() as conn:
        cur = await conn.execute(
            "select outcome, count(*) from outbound.backend_imports where jurisdiction_id = %s group by outcome",
            (w.jurisdiction,),
        )
        assert dict(await cur.fetchall()) == {"imported": len(rows)}
        cur = await conn.execute(
            "select state, count(*) from outbound.backend_unknown_updates where jurisdiction_id = %s group by state",
            (w.jurisdiction,),
        )
        kept = dict(await cur.fetchall())
    # every update heard before its request was in that request's import: none pending, none given up
    assert set(kept) == {"covered"}
    if updates_method == "servicerequestupdates":  # only the four-day-late ones were heard of first
        assert kept["covered"] == sum(1 for d in late_by.values() if d > timedelta(days=3))

    again = await w.poller.import_window(w.body, start - timedelta(days=1), w.state.clock())
    assert again.imported == 0 and again.skipped == {"already decided": len(rows)}
    assert await w.imported() == imported
