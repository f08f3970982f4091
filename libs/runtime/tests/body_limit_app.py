"""A service skeleton with one route that reads its body, for the body-limit test to run under a real uvicorn
process (`uvicorn body_limit_app:app`)."""

from __future__ import annotations

from civicloop_runtime.app import service_app
from civicloop_runtime.ops import Check
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

LIMIT = 1_048_576
router = APIRouter()


@router.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@router.post("/refuse")
async def refuse() -> Response:
    """Answers without reading the body, as a route refusing a missing credential does."""
    return PlainTextResponse("no", status_code=403)


class Running:
    def readiness_checks(self) -> dict[str, Check]:
        return {}

    async def close(self) -> None:
        return None


async def start() -> Running:
    return Running()


app = service_app(title="body limit", version="1", start=start, routers=(router,), max_body_bytes=LIMIT)
