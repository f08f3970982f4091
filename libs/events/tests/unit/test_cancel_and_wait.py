"""Ending a background task a component started."""

import asyncio

from civicloop_events.tasks import cancel_and_wait


async def test_a_running_task_is_cancelled_and_has_ended_on_return() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(forever())
    await started.wait()
    await cancel_and_wait(task)
    assert task.done()
    assert task.cancelled()


async def test_a_task_that_ended_by_itself_is_left_as_it_was() -> None:
    async def quick() -> int:
        return 7

    task = asyncio.create_task(quick())
    await task
    await cancel_and_wait(task)
    assert task.result() == 7


async def test_no_task_is_nothing_to_stop() -> None:
    await cancel_and_wait(None)
