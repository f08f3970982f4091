"""A back-end's api_key goes in the query string of every GET the Open311 client makes (GeoReport v2 has no other
place for it); httpx logs each request's URL at INFO, and the process's one redaction point keeps the key out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from civicloop_outbound.adapters.open311_client import Open311Client
from civicloop_outbound.bootstrap import SERVICE
from civicloop_testing.observability import captured_output
from o311client_harness import DeviantState, deviant_body


async def test_the_api_key_of_a_back_end_request_does_not_reach_the_logs(
    deviant: tuple[DeviantState, str], o311_http: httpx.AsyncClient
) -> None:
    state, url = deviant
    connection = deviant_body(url, "public-works").open311
    assert connection is not None
    client = Open311Client(connection, o311_http, environ={"CIVICLOOP_SECRET_DEVIANT_KEY": state.api_key})
    now = datetime.now(UTC)
    with captured_output(SERVICE, level="INFO") as out:
        await client.request_updates(now - timedelta(hours=1), now)
    assert state.update_queries[-1]["api_key"] == state.api_key  # the back-end did get it
    messages = [str(line["message"]) for line in out.log_lines()]
    assert any(m.startswith("HTTP Request: GET http://127.0.0.1") for m in messages), messages
    assert state.api_key not in out.text()
