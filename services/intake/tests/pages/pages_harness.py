"""An intake app serving the pages with a development code sink, on the harness's database and topics (the
harness's own app folds the views), reached over ASGI or, for the browser, on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from civicloop_intake.entrypoints.http import create_app
from fastapi import FastAPI
from intake_harness import Harness


def pages_app(intake: Harness, sink: Path, **overrides: object) -> FastAPI:
    settings = intake.settings.model_copy(
        update={"resident_code_sink_file": sink, "resident_answer_floor_s": 0.05, **overrides}
    )
    return create_app(settings, start_consumers=False)


@asynccontextmanager
async def pages_client(intake: Harness, sink: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(pages_app(intake, sink), startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("198.51.100.77", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30) as client:
            yield client
