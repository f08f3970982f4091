"""Partners' submissions and updates left pending are published by the sweeper, once (real broker and database).

A row is put back to pending as a process that died between the broker's acknowledgement and the mark leaves it
(its event is on the log once already); the sweep finds that event on the log and marks the row without publishing
it again, resolves a batch token, and the partner's retry then answers from the stored row without publishing
anything more.
"""

from __future__ import annotations

import uuid

import pytest
from civicloop_gateway.entrypoints.sweep import sweep_once
from civicloop_testing.open311_catalogue import BULKY, streetlight_form, unique
from write_harness import CITY, WriteGateway, answers

pytestmark = pytest.mark.integration


async def test_a_pending_batch_submission_is_swept_once_and_its_token_resolves(
    write_gw: WriteGateway,
) -> None:
    fields = {"service_code": BULKY, "address_string": "12 Oak St", "description": unique("Old sofa")}
    retry = {"Idempotency-Key": str(uuid.uuid4())}  # what makes the later POST a retry (PR-11)
    [answer] = answers(await write_gw.submit("json", headers=retry, **fields), "json")
    token = answer["token"]
    (number,) = await write_gw.row("select service_request_id from gateway.tokens where token = %s", (token,))
    await write_gw.leave_pending(number)
    await write_gw.execute("update gateway.tokens set service_request_id = null where token = %s", (token,))

    assert await sweep_once(write_gw.settings, older_than_s=0) >= 1
    assert await sweep_once(write_gw.settings, older_than_s=0) == 0
    [only] = await write_gw.events_of(number)  # found on the log by the sweep, not published a second time
    assert await write_gw.row(
        "select s.state, t.service_request_id from gateway.submissions s join gateway.tokens t using (token)"
        " where s.request_number = %s",
        (number,),
    ) == ("published", number)

    [again] = answers(await write_gw.submit("json", headers=retry, **fields), "json")
    assert again["token"] == token
    assert await write_gw.events_of(number) == [only]


async def test_a_pending_update_is_swept_once(write_gw: WriteGateway) -> None:
    fields = {**streetlight_form(), "description": unique("Dark lamp")}
    number = answers(await write_gw.submit("json", **fields), "json")[0]["service_request_id"]
    update = {
        "api_key": write_gw.partner.key,
        "jurisdiction_id": CITY,
        "service_request_id": number,
        "update_id": f"swept-{uuid.uuid4().hex[:12]}",
        "status": "IN_PROGRESS",
        "updated_datetime": "2026-11-30T10:00:00Z",
        "description": "Crew on the way",
    }
    r = await write_gw.post("servicerequestupdates", "json", update)
    assert r.status_code == 200, r.text
    async with write_gw.pool.connection() as conn:
        await conn.execute(
            "update gateway.posted_updates set state = 'pending', published_at = null where service_request_id = %s",
            (number,),
        )
    before = len(await write_gw.events_of(number))
    assert await sweep_once(write_gw.settings, older_than_s=0) >= 1
    assert await sweep_once(write_gw.settings, older_than_s=0) == 0
    # The comment and the status change were on the log already: the sweep marks the row, publishing nothing.
    assert len(await write_gw.events_of(number)) == before
    async with write_gw.pool.connection() as conn:
        cur = await conn.execute(
            "select distinct state from gateway.posted_updates where service_request_id = %s", (number,)
        )
        assert await cur.fetchall() == [("published",)]
    again = await write_gw.post("servicerequestupdates", "json", update)
    assert again.status_code == 200 and again.json() == r.json()
    assert len(await write_gw.events_of(number)) == before
