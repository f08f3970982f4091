"""The supervisor restarts a failed runner, holds its guard while running, and stops by cancelling."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from civicloop_events.supervisor import ConsumerSupervisor


class ScriptedRunner:
    """Stands in for a ConsumerRunner: fails in `run` when told to, else runs until cancelled."""

    name, topic = "test.consumer.v1", "t"

    def __init__(self, fail: bool, log: list[str]) -> None:
        self.fail, self.log = fail, log

    async def start(self) -> None:
        self.log.append("start")

    async def run(self) -> None:
        if self.fail:
            self.log.append("fail")
            raise RuntimeError("broker went away")
        self.log.append("run")
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.log.append("stop")


async def test_a_failed_runner_is_replaced_and_the_guard_is_held_while_running():
    log: list[str] = []
    held = []
    runners = iter([ScriptedRunner(True, log), ScriptedRunner(False, log)])

    @asynccontextmanager
    async def guard():
        held.append(True)
        try:
            yield
        finally:
            held.pop()

    supervisor = ConsumerSupervisor(lambda: next(runners), guard=guard, initial_backoff_s=0.01)
    supervisor.start()
    async with asyncio.timeout(5):
        while not (supervisor.running and "run" in log):
            await asyncio.sleep(0.01)
    assert log == ["start", "fail", "stop", "start", "run"]
    assert held == [True]

    await supervisor.stop()
    assert log[-1] == "stop"
    assert held == [] and not supervisor.running


class StuckOnStop(ScriptedRunner):
    """A runner whose consumer's stop waits on a broker that no longer answers."""

    async def stop(self) -> None:
        self.log.append("stop")
        await asyncio.Event().wait()


async def test_a_runner_whose_stop_never_ends_is_let_go_after_its_bound():
    log: list[str] = []
    supervisor = ConsumerSupervisor(lambda: StuckOnStop(False, log), runner_stop_s=0.1)
    supervisor.start()
    async with asyncio.timeout(5):
        while not (supervisor.running and "run" in log):
            await asyncio.sleep(0.01)

    async with asyncio.timeout(5):  # without the bound, this waits forever
        await supervisor.stop()
    assert log == ["start", "run", "stop"]
    assert not supervisor.running
