"""The report map's server side: the tile server named in the page's policy, and intake's copy of geo's map (asked
again with If-None-Match, at most every FRESH_S, and served as it is while geo does not answer)."""

from __future__ import annotations

import pytest
from civicloop_intake.pages import area_map
from civicloop_testing.threaded_server import serve_in_thread
from fastapi import FastAPI, Header, Response

POLICY = "default-src 'self'; img-src 'self' data: blob:; script-src 'self'"


@pytest.mark.parametrize(
    ("tiles", "origin"),
    [
        ("", ""),
        ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:9000/t/{z}/{x}/{y}.png?key=abc", "http://127.0.0.1:9000"),
    ],
)
def test_the_tile_server_alone_joins_img_src(tiles: str, origin: str) -> None:
    assert area_map.tile_origin(tiles) == origin
    expected = f"img-src 'self' data: blob: {origin}" if origin else "img-src 'self' data: blob:"
    assert area_map.with_tiles(POLICY, tiles) == f"default-src 'self'; {expected}; script-src 'self'"


def _geo() -> FastAPI:
    app = FastAPI()
    app.state.asked = []

    @app.get(area_map.AREAS_PATH)
    async def areas(jurisdiction_id: str, if_none_match: str | None = Header(default=None)) -> Response:
        app.state.asked.append((jurisdiction_id, if_none_match))
        headers = {"ETag": '"v1"', "Cache-Control": "public, max-age=300"}
        if if_none_match == '"v1"':
            return Response(status_code=304, headers=headers)
        body = b'{"type":"FeatureCollection","features":[]}'
        return Response(body, media_type="application/geo+json", headers=headers)

    return app


async def test_intake_keeps_geos_map_and_asks_again_only_when_it_is_stale(monkeypatch) -> None:
    geo = _geo()
    copies = area_map.AreaMapCopies()
    with serve_in_thread(geo) as geo_url:
        first = await copies.current(geo_url, "demo", timeout_s=5)
        assert first.etag == '"v1"' and first.body.startswith(b'{"type":"FeatureCollection"')
        again = await copies.current(geo_url, "demo", timeout_s=5)  # fresh: geo is not asked
        assert again is first and geo.state.asked == [("demo", None)]

        monkeypatch.setattr(area_map, "FRESH_S", 0.0)
        stale = await copies.current(geo_url, "demo", timeout_s=5)  # stale: asked with the ETag, 304
        assert geo.state.asked[-1] == ("demo", '"v1"') and stale.body == first.body
    # Geo gone: the copy still serves; a jurisdiction intake has no copy of is unavailable.
    kept = await copies.current(geo_url, "demo", timeout_s=1)
    assert kept.body == first.body
    with pytest.raises(area_map.AreasUnavailable):
        await copies.current(geo_url, "elsewhere", timeout_s=1)


async def test_a_map_past_the_limit_is_refused_and_not_kept(monkeypatch) -> None:
    monkeypatch.setattr(area_map, "MAX_BYTES", 1_000)
    geo = FastAPI()

    @geo.get(area_map.AREAS_PATH)
    async def areas(jurisdiction_id: str) -> Response:
        return Response(b"[" + b"0," * 5_000 + b"0]", media_type="application/geo+json")

    copies = area_map.AreaMapCopies()
    with serve_in_thread(geo) as geo_url, pytest.raises(area_map.AreasUnavailable):
        await copies.current(geo_url, "demo", timeout_s=5)
