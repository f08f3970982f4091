"""A real HTTP peer for a test: any ASGI app under uvicorn on 127.0.0.1, in a thread of its own, so that it answers
while the test's own event loop is blocked or busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from civicloop_testing.processes import free_port


@contextmanager
def serve_in_thread(
    app: Any, *, lifespan: Literal["on", "off"] = "off", port: int | None = None
) -> Iterator[str]:
    """`app` under uvicorn on 127.0.0.1:<port> (a free one unless given: an app that must know its own address
    before it starts) for the block; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan=lifespan,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start {app!r}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
