"""Commands a service with consumers adds to its CLI (`civicloop_runtime.cli.service_cli`): `consume`, the
consumers without HTTP, and one-off commands (a sweep, a rebuild) that run the service without its consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import TypeVar

import typer
from civicloop_events.producer import EventProducer

from civicloop_runtime.process import configured
from civicloop_runtime.settings import ServiceSettings
from civicloop_runtime.signals import Closable, run_until_stopped

S = TypeVar("S", bound=ServiceSettings)
C = TypeVar("C", bound=Closable)


def add_consume(
    app: typer.Typer,
    service: str,
    settings_type: type[S],
    bootstrap: Callable[[S], Awaitable[Closable]],
    *,
    help: str,
) -> None:
    """`consume`: the service's bootstrap from its environment, kept running until SIGINT or SIGTERM, then closed."""

    @app.command("consume", help=help)
    def consume() -> None:
        run_until_stopped(partial(bootstrap, configured(service, settings_type)))


@asynccontextmanager
async def without_consumers(
    bootstrap: Callable[..., Awaitable[C]], settings: S, *, topic: str, client_id: str
) -> AsyncIterator[C]:
    """The service for one command: its consumers not started, a producer of its own on `topic` (what it
    publishes, or the dead letters its runners need); both closed afterwards, the service first."""
    producer = EventProducer(settings.kafka_bootstrap, topic, client_id=client_id)
    await producer.start()
    try:
        service = await bootstrap(settings, producer=producer, start_consumers=False)
        try:
            yield service
        finally:
            await service.close()
    finally:
        await producer.stop()
