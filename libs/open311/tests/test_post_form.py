"""A POST's parameters as both Open311 apps read them (PR-01, G-63, G-71), and the Bearer credentials of a request."""

from __future__ import annotations

from typing import Any

import pytest
from civicloop_open311.errors import Open311Error
from civicloop_open311.http import bearer_token, read_post_form
from starlette.requests import Request


def post(body: bytes, *, content_type: str, query: bytes = b"") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/open311/v2/requests.json",
        "query_string": query,
        "headers": [(b"content-type", content_type.encode())],
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def test_PR_01_a_form_encoded_body_with_the_query_string_api_key_and_jurisdiction():
    request = post(
        b"service_code=POT&attribute%5BDEPTH%5D=3&media_url=https%3A%2F%2Fa&media_url=https%3A%2F%2Fb",
        content_type="application/x-www-form-urlencoded",
        query=b"api_key=from-query&jurisdiction_id=demo&service_code=ignored",
    )
    form = await read_post_form(request)
    assert form.get("service_code") == "POT"  # only api_key and jurisdiction_id come from the query string
    assert form.get("api_key") == "from-query" and form.get("jurisdiction_id") == "demo"
    assert form.attributes == {"DEPTH": ["3"]}
    assert form.all("media_url") == ["https://a", "https://b"]


def multipart(*parts: str, boundary: str = "b0undary") -> bytes:
    return ("".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n").encode()


def text_part(name: str, value: str) -> str:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'


MULTIPART = "multipart/form-data; boundary=b0undary"


async def test_PR_01_multipart_text_parts_and_the_body_comes_first():
    body = multipart(text_part("api_key", "from-body"), text_part("attribute[DEPTH]", "3"))
    form = await read_post_form(post(body, content_type=MULTIPART, query=b"api_key=from-query"))
    assert form.get("api_key") == "from-body"
    assert form.attributes == {"DEPTH": ["3"]}


async def test_a_multipart_file_part_is_refused_at_its_headers_never_dropped():
    """CivicLoop stores no uploads: a photo sent as a file would be lost while the request is created, so the POST
    is refused (400, naming media_url) as soon as the part's headers say it is a file."""
    body = multipart(
        text_part("api_key", "k"),
        'Content-Disposition: form-data; name="photo1"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\nJPEG',
    )
    with pytest.raises(Open311Error) as refused:
        await read_post_form(post(body, content_type=MULTIPART))
    assert refused.value.status == 400
    assert "photo1" in refused.value.errors[0].description
    assert "media_url" in refused.value.errors[0].description


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"api_key=k&description=caf%E9", "application/x-www-form-urlencoded"),  # Latin-1 %-escaped
        (b"api_key=k&description=caf\xe9", "application/x-www-form-urlencoded; charset=utf-8"),  # raw Latin-1
        (multipart(text_part("api_key", "k")).replace(b"k\r\n", b"\xff\xfe\r\n"), MULTIPART),
    ],
    ids=["escaped", "raw", "multipart"],
)
async def test_G_10_a_body_that_is_not_utf8_is_refused(body, content_type):
    with pytest.raises(Open311Error) as refused:
        await read_post_form(post(body, content_type=content_type))
    assert refused.value.status == 400
    assert "UTF-8" in refused.value.errors[0].description


async def test_utf8_text_arrives_intact():
    form = await read_post_form(
        post(
            b"description=Stra%C3%9Fe+%E2%80%93+caf\xc3\xa9", content_type="application/x-www-form-urlencoded"
        )
    )
    assert form.get("description") == "Straße – café"  # noqa: RUF001 - non-ASCII on purpose


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_too_many_parameters_are_refused(kind):
    if kind == "urlencoded":
        body, content_type = (
            "&".join(f"f{i}=v" for i in range(1_001)).encode(),
            "application/x-www-form-urlencoded",
        )
    else:
        body, content_type = multipart(*(text_part(f"f{i}", "v") for i in range(1_001))), MULTIPART
    with pytest.raises(Open311Error) as refused:
        await read_post_form(post(body, content_type=content_type))
    assert refused.value.errors[0].description == "The request has more than 1000 parameters."


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_a_value_over_the_limit_is_refused(kind):
    big = "x" * (256 * 1024 + 1)
    if kind == "urlencoded":
        body, content_type = f"api_key=k&description={big}".encode(), "application/x-www-form-urlencoded"
    else:
        body, content_type = multipart(text_part("api_key", "k"), text_part("description", big)), MULTIPART
    with pytest.raises(Open311Error) as refused:
        await read_post_form(post(body, content_type=content_type))
    assert "'description' is larger than 262144 bytes" in refused.value.errors[0].description


@pytest.mark.parametrize(
    "body",
    [
        multipart(text_part("api_key", "k"))[:-12],  # cut before the closing boundary
        b"no boundary at all",
    ],
    ids=["incomplete", "garbage"],
)
async def test_a_broken_multipart_body_is_refused(body):
    with pytest.raises(Open311Error) as refused:
        await read_post_form(post(body, content_type=MULTIPART))
    assert refused.value.status == 400 and "multipart" in refused.value.errors[0].description


async def test_a_multipart_type_without_a_boundary_is_refused():
    with pytest.raises(Open311Error):
        await read_post_form(post(b"", content_type="multipart/form-data"))


@pytest.mark.parametrize(
    ("authorization", "token"),
    [(None, None), ("", None), ("Basic abc", None), ("Bearer   ", None), ("bearer  k3y ", "k3y")],
)
def test_bearer_token(authorization, token):
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": headers})
    assert bearer_token(request) == token
