"""A POST's parameters as both Open311 apps read them (PR-01, G-63, G-71), and the Bearer credentials of a request."""

from __future__ import annotations

from typing import Any

import pytest
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


async def test_PR_01_multipart_file_parts_are_dropped_and_the_body_comes_first():
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nfrom-body\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\nJPEG\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    request = post(
        body, content_type=f"multipart/form-data; boundary={boundary}", query=b"api_key=from-query"
    )
    form = await read_post_form(request)
    assert form.get("api_key") == "from-body"
    assert form.get("photo") is None


@pytest.mark.parametrize(
    ("authorization", "token"),
    [(None, None), ("", None), ("Basic abc", None), ("Bearer   ", None), ("bearer  k3y ", "k3y")],
)
def test_bearer_token(authorization, token):
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": headers})
    assert bearer_token(request) == token
