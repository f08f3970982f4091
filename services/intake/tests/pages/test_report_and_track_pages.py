"""The residents' pages on the real app, database and broker, as a browser without JavaScript uses them: a report
with a photo becomes one request whose photo intake keeps without EXIF, the answer shows its number and QR code, and
the track page opens the request with a one-time code."""

from __future__ import annotations

import io
import re

import pytest
from civicloop_intake.adapters.access_code_sink import read_sink
from civicloop_intake.pages.report_form import attribute_field
from civicloop_testing.photo_samples import has_metadata, phone_photo
from civicloop_testing.polling import eventually
from intake_harness import Harness
from pages_harness import pages_client
from PIL import Image

pytestmark = pytest.mark.integration

EMAIL = "ana.lopez@example.org"
PHONE = "(202) 555-0171"


def _form_key(html: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, "the form carries its Idempotency-Key"
    return found.group(1)


async def test_the_report_form_lists_active_categories_and_is_prefilled_from_a_poster_link(
    intake: Harness, tmp_path
):
    async with pages_client(intake, tmp_path / "codes.jsonl") as client:
        r = await client.get(
            "/report",
            params={"address": "1200 Main St", "lat": "38.9", "lng": "-77.01", "source": "poster-d3"},
        )
        assert r.status_code == 200
        html = r.text
        assert "Pothole" in html and "Graffiti" not in html  # graffiti is withdrawn
        assert f'name="{attribute_field("pothole", "depth")}"' in html
        assert 'value="1200 Main St"' in html and 'value="38.9"' in html and 'value="poster-d3"' in html
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert _form_key(html) != _form_key((await client.get("/report")).text)  # a fresh key per form

        spanish = await client.get("/report", headers={"Accept-Language": "es-MX,es;q=0.9"})
        assert '<html lang="es">' in spanish.text and "Reportar un problema" in spanish.text


async def test_a_report_with_a_photo_makes_one_request_and_keeps_the_photo_without_exif(
    intake: Harness, tmp_path
):
    async with pages_client(intake, tmp_path / "codes.jsonl") as client:
        key = _form_key((await client.get("/report")).text)
        fields = {
            "idempotency_key": key,
            "lang": "en",
            "service_code": "pothole",
            attribute_field("pothole", "depth"): "deep",
            "address": "1200 Main St",
            "description": "A deep hole by the bus stop",
            "email": EMAIL,
            "preferred_channel": "email",
        }
        photo = {"photo": ("IMG_0001.jpg", phone_photo(), "image/jpeg")}
        sent = await client.post("/report", data=fields, files=photo)
        assert sent.status_code == 303, sent.text
        answer_url = sent.headers["location"]
        number = re.search(r"number=([0-9A-Z-]+)", answer_url).group(1)
        again = await client.post("/report", data=fields, files=photo)  # a double click, a retry
        assert again.status_code == 303 and again.headers["location"] == answer_url

        answer = await client.get(answer_url)
        assert answer.status_code == 200
        assert number in answer.text and "/api/qr?data=" in answer.text
        qr = re.search(r'<img src="([^"]+)"', answer.text).group(1).replace("&amp;", "&")
        assert (await client.get(qr)).headers["content-type"].startswith("image/svg+xml")

        async with intake.pool.connection() as conn:
            rows = await (
                await conn.execute("select photo_id from intake.photos where idempotency_key = %s", (key,))
            ).fetchall()
        assert len(rows) == 1
        served = await client.get(f"/media/{rows[0][0]}.jpg")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert not has_metadata(served.content)
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.height > image.width  # turned upright as the camera said

    submitted = [
        r
        for r in await intake.records()
        if r.value and b"request.submitted" in r.value and number.encode() in r.value
    ]
    assert len(submitted) == 1
    assert f"/media/{rows[0][0]}.jpg".encode() in submitted[0].value
    assert EMAIL.encode() not in submitted[0].value  # the contact is sealed


async def test_a_refused_report_comes_back_marked_with_what_was_typed(intake: Harness, tmp_path):
    async with pages_client(intake, tmp_path / "codes.jsonl") as client:
        key = _form_key((await client.get("/report")).text)
        fields = {"idempotency_key": key, "service_code": "pothole", "description": "Hole", "lang": "es"}
        r = await client.post(
            "/report", data=fields, files={"photo": ("x.jpg", b"not a photo", "image/jpeg")}
        )
        assert r.status_code == 422
        assert 'id="e-photo"' in r.text and "no es una foto" in r.text
        r = await client.post("/report", data=fields)
        assert r.status_code == 422
        assert 'id="e-address"' in r.text and 'aria-invalid="true"' in r.text
        assert (
            ">Hole</textarea>" in r.text
            and _form_key(r.text) == key
            and r.headers["Cache-Control"] == "no-store"
        )
        fields |= {"address": "12 Private Ln", "phone": "not a phone"}
        r = await client.post("/report", data=fields)
        assert r.status_code == 422 and 'id="e-phone"' in r.text
        assert "Private" not in "".join(re.findall(r'href="([^"]*)"', r.text))  # typed text never in a link


async def test_the_track_page_opens_a_request_with_a_one_time_code(intake: Harness, tmp_path):
    sink = tmp_path / "codes.jsonl"
    number = await intake.submit(
        "Broken light", address="5 Oak Ave", contact={"email": EMAIL, "phone": PHONE}
    )
    held = await intake.client.post("/api/v1/track", json={"number": number, "phone": PHONE})
    assert held.status_code == 200  # the track view holds the request
    other = await intake.submit(
        "Graffiti on the wall", address="7 Oak Ave", contact={"email": EMAIL, "phone": PHONE}
    )
    held = await intake.client.post("/api/v1/track", json={"number": other, "phone": PHONE})
    assert held.status_code == 200  # the track view holds it too
    async with pages_client(intake, sink) as client:
        page = await client.get("/track", params={"number": number})
        assert page.status_code == 200 and f'value="{number}"' in page.text

        asked = await client.post("/track/code", data={"number": number, "contact": EMAIL, "lang": "en"})
        assert asked.status_code == 200 and 'autocomplete="one-time-code"' in asked.text
        code = read_sink(sink)[-1]["code"]

        wrong = await client.post(
            "/track/open", data={"number": number, "contact": EMAIL, "code": "000000", "lang": "en"}
        )
        assert wrong.status_code == 401 and "does not work" in wrong.text

        invalid = await client.post("/track/code", data={"number": number, "contact": "nobody", "lang": "es"})
        assert invalid.status_code == 422 and "Escriba un correo electrónico" in invalid.text
        assert 'value="nobody"' in invalid.text  # what was typed is kept

        stranger = "(202) 555-0199"  # a resident with a request of their own, not this one
        theirs_number = await intake.submit("Dumped sofa", address="9 Elm St", contact={"phone": stranger})
        held = await intake.client.post("/api/v1/track", json={"number": theirs_number, "phone": stranger})
        assert held.status_code == 200

        async def code_for_stranger() -> str | None:
            # A contact not on file is answered the same and sent nothing: asked again (slowly: codes per contact
            # and requests per client are limited) until their code went.
            await client.post("/track/code", data={"number": number, "contact": stranger, "lang": "en"})
            sent = [c["code"] for c in read_sink(sink) if c["kind"] == "phone"]
            return sent[-1] if sent else None

        stranger_code = await eventually(
            code_for_stranger, timeout=30, what="a code sent to the other resident", interval=2.0
        )
        theirs = await client.post(
            "/track/open", data={"number": number, "contact": stranger, "code": stranger_code}
        )
        assert theirs.status_code == 404 and "not one of the requests made with this contact" in theirs.text
        assert "set-cookie" not in theirs.headers  # their session was closed, not handed over

        opened = await client.post("/track/open", data={"number": number, "contact": EMAIL, "code": code})
        assert opened.status_code == 200, opened.text
        assert number in opened.text and "Open" in opened.text and "Broken light" not in opened.text
        cookie = opened.headers["set-cookie"]
        assert (
            "HttpOnly" in cookie
            and "Path=/track" in cookie
            and "SameSite=strict" in cookie.replace("Strict", "strict")
        )

        again = await client.get("/track", params={"number": number})  # the session, in its cookie
        assert number in again.text and "/track/sign-out" in again.text
        listed = await client.get("/track", params={"number": number})  # their other request, a link away
        assert f"/track?number={other}" in listed.text
        assert "Graffiti on the wall" not in (await client.get("/track", params={"number": other})).text

        out = await client.post("/track/sign-out", data={"lang": "en"})
        assert out.status_code == 303
        client.cookies.clear()
        assert "/track/code" in (await client.get("/track", params={"number": number})).text
