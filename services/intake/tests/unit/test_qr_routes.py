"""`GET /api/qr` and the admin poster routes over the real app and in-memory ports."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import segno
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.qr_codes import qr_modules
from civicloop_intake.entrypoints.http import create_app
from civicloop_intake.entrypoints.routes import get_intake
from civicloop_intake.settings import Environment, IntakeSettings
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from intake_fakes import FakeCatalogue, intake_on_fakes

SITE = "https://report.example.gov"
ADMIN = staff_headers(None, "admin")
POSTER = {
    "poster_id": "d3",
    "kind": "spot",
    "title": "Elm Park",
    "address": "100 block of Elm St",
    "lat": 38.9,
    "lng": -77.01,
}


@pytest.fixture
async def client():
    settings = IntakeSettings(env=Environment.test, public_base_url=SITE, qr_rate_limit_per_client="5/minute")
    intake = await intake_on_fakes(FakeCatalogue(CatalogueEntry("demo", "pothole", "Pothole", active=True)))
    app = create_app(settings, staff_verifier=verifier_for_tests())
    app.dependency_overrides[get_intake] = lambda: intake
    intake.settings = settings
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as c:
        yield c


async def test_a_qr_code_is_an_svg_that_clients_may_keep(client):
    r = await client.get("/api/qr", params={"data": f"{SITE}/track?number=7K3D-Q9XA", "size": 200})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "public, max-age=86400, immutable"
    assert r.text.startswith('<svg width="200" height="200" ')
    again = await client.get(
        "/api/qr",
        params={"data": f"{SITE}/track?number=7K3D-Q9XA", "size": 200},
        headers={"If-None-Match": r.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    other = await client.get("/api/qr", params={"data": f"{SITE}/track?number=7K3D-Q9XB", "size": 200})
    assert other.headers["etag"] != r.headers["etag"]


@pytest.mark.parametrize(
    "params",
    [
        {"data": "https://elsewhere.example.com/login"},
        {"data": "javascript:alert(1)"},
        {"data": "hello", "size": 5000},
        {"data": "x" * 513},
        {"data": ""},
    ],
)
async def test_a_refused_code_is_a_422_that_does_not_echo_the_data(client, params):
    r = await client.get("/api/qr", params=params)
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["type"] == "qr_refused" and problem["loc"] == [
        "query",
        "size" if "size" in params else "data",
    ]
    assert "elsewhere" not in r.text and "alert" not in r.text


async def test_qr_codes_are_rate_limited_per_client(client):
    answers = [(await client.get("/api/qr", params={"data": f"code {i}"})).status_code for i in range(7)]
    assert answers[:5] == [200] * 5 and 429 in answers[5:]


async def test_a_submissions_answer_links_its_tracking_qr_code(client):
    r = await client.post(
        "/api/v1/requests", json={"service_code": "pothole", "description": "Deep hole", "lat": 1, "long": 2}
    )
    links = r.json()["links"]
    number = r.json()["request_number"]
    assert links["track_page"] == f"{SITE}/track?number={number}"
    code = await client.get(links["track_qr"])
    assert code.status_code == 200 and code.headers["content-type"] == "image/svg+xml"
    assert parse_qs(urlsplit(links["track_qr"]).query)["data"] == [links["track_page"]]


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
async def test_an_admin_builds_a_poster(client, fmt):
    r = await client.post(f"/api/v1/admin/posters.{fmt}", json=POSTER, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="poster-d3.{fmt}"'
    if fmt == "svg":
        assert r.headers["content-type"] == "image/svg+xml"
        link = f"{SITE}/report?address=100+block+of+Elm+St&lat=38.900000&lng=-77.010000&source=poster-d3"
        assert r.text.count("<rect x=") == sum(m for row in qr_modules(link) for m in row)
        assert segno.make(link, error="m").designator  # the link is one a QR code holds
    else:
        assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (staff_headers(None, "agent"), 403), (staff_headers(None, "auditor"), 403)],
)
async def test_only_admins_build_posters_and_count_sources(client, headers, status):
    assert (
        await client.post("/api/v1/admin/posters.svg", json=POSTER, headers=headers)
    ).status_code == status
    assert (await client.get("/api/v1/admin/report-sources", headers=headers)).status_code == status


async def test_a_poster_with_a_bad_id_is_a_422(client):
    r = await client.post(
        "/api/v1/admin/posters.svg", json={**POSTER, "poster_id": "Poster D3"}, headers=ADMIN
    )
    assert r.status_code == 422
