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
