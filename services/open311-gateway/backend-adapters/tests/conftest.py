"""Fixtures of the adapter tests: a real work-order API and CSV drops on 127.0.0.1, and the adapter app served by
uvicorn in front of them, called over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backend_adapter_peers import TOKEN, WorkOrderBackend, serve_asgi, serve_directory
from civicloop_backend_adapters.config import AdapterAppConfig
from civicloop_backend_adapters.entrypoints.http import create_app


@pytest.fixture
def work_orders(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WorkOrderBackend, str]]:
    monkeypatch.setenv("CIVICLOOP_SECRET_WORKORDERS_TOKEN", TOKEN)
    backend = WorkOrderBackend()
    with serve_asgi(backend.app) as url:
        yield backend, url


@pytest.fixture
def csv_drop(tmp_path: Path) -> Path:
    drop = tmp_path / "drop"
    drop.mkdir()
    return drop


@pytest.fixture
def csv_http(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    served = tmp_path / "served"
    served.mkdir()
    with serve_directory(served) as url:
        yield served, url


AdapterClient = Callable[[dict[str, Any]], httpx.Client]


@pytest.fixture
def adapter() -> Iterator[AdapterClient]:
    """Serve an adapter app for a `jurisdictions` mapping; returns an httpx client on its Open311 base path."""
    stack: list[Any] = []

    def start(jurisdictions: dict[str, Any]) -> httpx.Client:
        config = AdapterAppConfig.model_validate({"jurisdictions": jurisdictions})
        server = serve_asgi(create_app(config=config))
        url = server.__enter__()
        stack.append(server)
        client = httpx.Client(base_url=f"{url}/open311/v2", timeout=10)
        stack.append(client)
        return client

    yield start
    for item in reversed(stack):
        if isinstance(item, httpx.Client):
            item.close()
        else:
            item.__exit__(None, None, None)
