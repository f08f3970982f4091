"""The projection's consumers, each kept running by a supervisor and holding the consumers' lock (no rebuild meanwhile)."""

from __future__ import annotations

import asyncio

from civicloop_events.supervisor import ConsumerSupervisor

from civicloop_projections.bootstrap import Projections

__all__ = ["ConsumerSupervisor", "start_consumers", "stop_consumers"]


def start_consumers(projections: Projections) -> list[ConsumerSupervisor]:
    """The agent view and the catalogue consumers, each holding the consumers' lock while it runs."""
    supervisors = [
        ConsumerSupervisor(projections.agent_runner, guard=projections.consumers_lock),
        ConsumerSupervisor(projections.catalogue_runner, guard=projections.consumers_lock),
    ]
    for supervisor in supervisors:
        supervisor.start()
    return supervisors


async def stop_consumers(supervisors: list[ConsumerSupervisor]) -> None:
    await asyncio.gather(*(s.stop() for s in supervisors))
