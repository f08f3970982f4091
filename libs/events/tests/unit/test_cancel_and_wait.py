"""Ending a background task a component started."""

import asyncio

from civicloop_events.tasks import cancel_and_wait, raise_if_cancelled


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


class RollbackFailed(Exception):
    """What a connection's clean-up can raise when a cancel cut its query short."""


async def test_a_loop_that_carries_on_after_errors_still_ends_when_cancelled_into_another_error() -> None:
    started = asyncio.Event()
    rounds = 0

    async def query_whose_cancel_becomes_another_error() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RollbackFailed from None

    async def loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            try:
                await query_whose_cancel_becomes_another_error()
            except Exception as exc:
                raise_if_cancelled(exc)
            await asyncio.sleep(0)

    task = asyncio.create_task(loop())
    await started.wait()
    await asyncio.wait_for(cancel_and_wait(task), timeout=5)
    assert task.cancelled()
    assert rounds == 1


async def test_an_error_in_a_task_nobody_cancelled_is_left_to_the_loop() -> None:
    raise_if_cancelled(RollbackFailed())  # no cancel pending: returns, the caller logs and carries on


async def test_a_task_that_swallows_a_cancel_is_cancelled_again_until_it_ends() -> None:
    started = asyncio.Event()
    swallowed = 0

    async def swallows_the_first_cancel() -> None:
        nonlocal swallowed
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed += 1  # as 3.11's wait_for can, when its inner call completes at the same moment
        await asyncio.Event().wait()  # carries on as if nothing had happened

    task = asyncio.create_task(swallows_the_first_cancel())
    await started.wait()
    await asyncio.wait_for(cancel_and_wait(task, again_s=0.01), timeout=5)
    assert task.cancelled() and swallowed == 1


async def test_a_stop_that_never_ends_is_let_go_after_its_bound_and_one_that_ends_is_awaited(caplog) -> None:
    from civicloop_events.tasks import within

    stopped = []

    async def stop_on_a_dead_broker() -> None:
        await asyncio.Event().wait()

    async def clean_stop() -> None:
        await asyncio.sleep(0)
        stopped.append("clean")

    await within(0.05, stop_on_a_dead_broker(), what="stop of consumer c")
    assert [r.step for r in caplog.records if r.getMessage() == "gave up waiting"] == ["stop of consumer c"]
    await within(5, clean_stop(), what="stop of consumer d")
    assert stopped == ["clean"]
