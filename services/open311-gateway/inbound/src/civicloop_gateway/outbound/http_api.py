"""Admin API of outbound sending, under the Open311 base path (admin bearer token, like the catalogue API):

* `GET admin/outbound/bodies.json[?jurisdiction_id=]` — per body: queued, retrying, sent, given up, paused, the
  oldest queued item's age and the last error.

The router also carries a lifespan: with `CIVICLOOP_OUTBOUND_IN_APP=true` the app runs the outbound consumers and
sender loop beside its own (on the app's pool, producer and vault).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from civicloop_gateway.entrypoints.admin_api import require_admin
from civicloop_gateway.outbound.service import Outbound, default_senders
from civicloop_gateway.outbound.settings import OutboundSettings
from civicloop_gateway.outbound.status import body_statuses


def outbound_settings(settings: Any) -> OutboundSettings:
    """The app's settings as outbound settings (the `outbound_*` and SMTP ones from the environment if absent)."""
    if isinstance(settings, OutboundSettings):
        return settings
    return OutboundSettings(**settings.model_dump(exclude_unset=True))


@asynccontextmanager
async def outbound_lifespan(app: FastAPI) -> AsyncIterator[None]:
    gateway = getattr(app.state, "gateway", None)
    s = outbound_settings(app.state.settings)
    if not s.outbound_in_app or gateway is None:
        yield
        return
    outbound = Outbound(
        settings=s,
        pool=gateway.pool,
        producer=gateway.producer,
        vault=gateway.vault,
        senders=default_senders(s, gateway.pool),
    )
    outbound.start()
    app.state.outbound = outbound
    try:
        yield
    finally:
        app.state.outbound = None
        await outbound.stop()


router = APIRouter(
    prefix="/admin/outbound",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    lifespan=outbound_lifespan,
)


@router.get("/bodies.json")
async def list_body_statuses(
    request: Request, jurisdiction_id: str | None = Query(default=None, max_length=64)
) -> list[dict[str, Any]]:
    """Per body: what is queued, retrying, sent and given up, whether it is paused, the oldest queued item's age."""
    async with request.app.state.pool.connection() as conn:
        return [s.as_json() for s in await body_statuses(conn, jurisdiction_id)]
