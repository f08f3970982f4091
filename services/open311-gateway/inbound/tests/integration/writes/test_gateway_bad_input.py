"""Hostile POSTs against the real gateway app under uvicorn (its pool and producers open, on the real broker and
PostGIS): each gets a clear 4xx as an Open311 error document, read no further than its limit, and creates nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from civicloop_gateway.entrypoints.http import create_app
from civicloop_testing.open311_catalogue import streetlight_form, unique
from civicloop_testing.oversized import post_oversized
from civicloop_testing.threaded_server import serve_in_thread
from write_harness import CITY, WriteGateway, errors

pytestmark = pytest.mark.integration

BODY = 20 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def gateway_url(write_gw: WriteGateway) -> Iterator[str]:
    """The gateway's app as a process serves it: uvicorn, its lifespan (consumers left to the session's gateway)."""
    app = create_app(write_gw.settings, start_consumers=False)
    with serve_in_thread(app, lifespan="on") as url:
        yield url


def encoded(pairs: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()


async def count_described(write_gw: WriteGateway, marker: str) -> int:
    row = await write_gw.row(
        "select count(*) from gateway.submissions where event->'payload'->>'description' like %s",
        (f"%{marker}%",),
    )
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
async def test_a_20_mb_body_is_refused_413_as_an_open311_error_and_the_connection_closed(
    gateway_url: str, chunked: bool
) -> None:
    # In a thread: the session's event loop keeps serving its consumers meanwhile.
    answer = await asyncio.to_thread(
        post_oversized, gateway_url, "/open311/v2/requests.json", size=BODY, chunked=chunked
    )
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert b'"code":413' in answer.body.replace(b" ", b"")
    assert answer.headers["connection"] == "close"
    assert answer.sent < BODY // 2, f"the gateway let the client send {answer.sent} bytes"


async def test_a_malformed_20_mb_multipart_body_is_refused_at_once_and_the_connection_closed(
    gateway_url: str,
) -> None:
    answer = await asyncio.to_thread(
        post_oversized,
        gateway_url,
        "/open311/v2/requests.xml",
        size=BODY,
        chunked=True,
        content_type="multipart/form-data; boundary=x",
    )
    assert answer.status == 400
    assert (
        b"<errors><error><code>400</code><description>The multipart/form-data body is malformed."
        in answer.body
    )
    assert answer.headers["connection"] == "close"
    assert answer.sent < BODY // 2


async def test_a_20_mb_photo_upload_is_refused_at_its_headers_and_the_connection_closed(
    gateway_url: str, write_gw: WriteGateway
) -> None:
    """The issue's 50 MB multipart file, streamed: refused (400, naming media_url) at the file part's headers, then
    read no further than the limit."""
    prefix = (
        f'--x\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n{write_gw.partner.key}\r\n'
        '--x\r\nContent-Disposition: form-data; name="photo1"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    answer = await asyncio.to_thread(
        post_oversized,
        gateway_url,
        "/open311/v2/requests.json",
        size=BODY,
        chunked=True,
        content_type="multipart/form-data; boundary=x",
        prefix=prefix,
    )
    assert answer.status == 400
    [error] = json.loads(answer.body)
    assert error["code"] == 400 and "photo1" in error["description"] and "media_url" in error["description"]
    assert answer.headers["connection"] == "close"
    assert answer.sent < BODY // 2


@pytest.mark.parametrize(
    "body",
    [
        b"description=Lamp+out+caf%E9",  # Latin-1, %-escaped
        b"description=Lamp+out+caf\xe9",  # Latin-1, raw
        b"description=Lamp+out+%C3%28",  # an invalid UTF-8 sequence
    ],
    ids=["escaped-latin1", "raw-latin1", "invalid-sequence"],
)
async def test_g10_invalid_utf8_is_refused_not_stored_garbled(
    gateway_url: str, write_gw: WriteGateway, fmt: str, body: bytes
) -> None:
    marker = unique("Garbled")
    fields = {**streetlight_form(description=None), "api_key": write_gw.partner.key, "jurisdiction_id": CITY}
    content = encoded(list(fields.items())) + b"&" + body + b"+" + marker.replace(" ", "+").encode()
    async with httpx.AsyncClient(base_url=f"{gateway_url}/open311/v2/") as client:
        r = await client.post(f"requests.{fmt}", content=content, headers={"Content-Type": FORM})
    assert "UTF-8" in errors(r, fmt, 400)
    assert await count_described(write_gw, marker) == 0


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_ten_thousand_fields_are_refused(
    gateway_url: str, write_gw: WriteGateway, fmt: str, kind: str
) -> None:
    fields = [("api_key", write_gw.partner.key), *((f"attribute[F{i}]", "x") for i in range(10_000))]
    if kind == "urlencoded":
        content, content_type = encoded(fields), FORM
    else:
        parts = "".join(
            f'--x\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields
        )
        content, content_type = f"{parts}--x--\r\n".encode(), "multipart/form-data; boundary=x"
    async with httpx.AsyncClient(base_url=f"{gateway_url}/open311/v2/") as client:
        r = await client.post(f"requests.{fmt}", content=content, headers={"Content-Type": content_type})
    assert "more than 1000 parameters" in errors(r, fmt, 400)


async def test_a_photo_upload_is_refused_and_nothing_is_created(
    gateway_url: str, write_gw: WriteGateway, fmt: str
) -> None:
    marker = unique("Photo of the lamp")
    fields = {
        **streetlight_form(description=marker),
        "api_key": write_gw.partner.key,
        "jurisdiction_id": CITY,
    }
    photo = {"photo1": ("lamp.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 200_000, "image/jpeg")}
    async with httpx.AsyncClient(base_url=f"{gateway_url}/open311/v2/") as client:
        r = await client.post(f"requests.{fmt}", data=fields, files=photo)
    assert "media_url" in errors(r, fmt, 400)
    assert await count_described(write_gw, marker) == 0
