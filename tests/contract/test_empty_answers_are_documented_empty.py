"""An answer with no body must not be documented as JSON: clients (and schemathesis) would try to parse it.

A route whose handler returns a bare `Response` sends no body and no Content-Type; FastAPI documents its success
answer as `application/json` unless the route says `response_class=Response` (204 is exempt: it has no content).
Routes that build their own answer (Open311's XML or JSON) document its content themselves and are not caught.
"""

from __future__ import annotations

import inspect

import pytest
from fastapi import Response
from fastapi.routing import APIRoute, iter_route_contexts

from tests.contract.service_apps import SERVICES, Service

FASTAPI_DEFAULT = {"application/json": {"schema": {}}}  # what FastAPI writes when a route declares nothing

FASTAPI_DEFAULT = {"application/json": {"schema": {}}}  # what FastAPI writes when a route declares nothing


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_a_route_that_answers_without_a_body_documents_no_content(service: Service) -> None:
    app = service.build()
    spec = app.openapi()["paths"]
    documented: set[str] = set()
    wrong: list[str] = []
    for context in iter_route_contexts(app.routes):  # routers included in routers, flattened
        route = context.route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        documented.add(context.path_format)
        if inspect.signature(route.endpoint, eval_str=True).return_annotation is not Response:
            continue
        code = str(route.status_code or 200)
        for method in route.methods:
            answer = spec[context.path_format][method.lower()]["responses"].get(code, {})
            if answer.get("content") == FASTAPI_DEFAULT:
                wrong.append(f"{method} {context.path_format} {code}: documented as JSON by default")
    assert documented == set(spec)  # every documented path was looked at
    assert wrong == []
