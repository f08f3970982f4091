"""How many records a transaction takes with a handler per event: about what fits in the time bound at the pace seen."""

from __future__ import annotations

from typing import Any

from civicloop_events.consumer import ConsumerRunner
from psycopg_pool import AsyncConnectionPool


def runner(**bounds: Any) -> ConsumerRunner:
    async def handler(conn: Any, event: Any) -> None:
        return None

    return ConsumerRunner(
        name="t.room.v1",
        bootstrap_servers="127.0.0.1:1",
        topic="t.requests.events",
        dead_letter_topic="t.requests.events.dlq",
        pool=AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False),
        schema="t",
        handler=handler,
        producer=None,  # type: ignore[arg-type]  # never reached
        **bounds,
    )


async def test_a_batch_cut_by_the_time_bound_makes_the_next_take_what_fitted_with_a_margin():
    r = runner(batch_max_records=500, batch_max_ms=100)
    r._fit_batch_room(0.1, reached=250, taken=500)
    assert r._batch_room == 200
    r._fit_batch_room(5.0, reached=1, taken=2)  # however slow, at least one record
    assert r._batch_room == 1


async def test_a_batch_that_was_not_cut_grows_the_room_to_its_pace_never_past_the_bound_nor_below_where_it_was():
    r = runner(batch_max_records=500, batch_max_ms=100)
    r._fit_batch_room(0.1, reached=250, taken=500)
    r._fit_batch_room(0.040, reached=200, taken=200)  # 0.2 ms a record: 400 fit in 80 % of 100 ms
    assert r._batch_room == 400
    r._fit_batch_room(
        0.005, reached=1, taken=1
    )  # a lone record's pace is mostly the transaction's fixed cost
    assert r._batch_room == 400
    r._fit_batch_room(0.001, reached=400, taken=400)
    assert r._batch_room == 500
