"""The admin bearer check both Open311 apps use: deny by default, constant-time comparison, Open311 errors."""

from __future__ import annotations

import pytest
from civicloop_open311.errors import Open311Error
from civicloop_open311.http import require_bearer
from starlette.requests import Request


def request_with(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize("authorization", [None, "", "Basic abc", "Bearer ", "Bearer    "])
def test_no_bearer_token_is_a_401_with_its_challenge(authorization):
    with pytest.raises(Open311Error) as refused:
        require_bearer(request_with(authorization), "s3cret-token")
    assert refused.value.status == 401
    assert "Bearer" in refused.value.headers["WWW-Authenticate"]


def test_a_wrong_token_is_a_403():
    with pytest.raises(Open311Error) as refused:
        require_bearer(request_with("Bearer nope"), "s3cret-token")
    assert refused.value.status == 403


@pytest.mark.parametrize("configured", [None, ""])
def test_no_configured_token_refuses_everyone(configured):
    with pytest.raises(Open311Error) as refused:
        require_bearer(request_with("Bearer anything"), configured)
    assert refused.value.status == 403


def test_the_right_token_passes_whatever_the_scheme_case():
    assert require_bearer(request_with("bearer s3cret-token"), "s3cret-token") is None
