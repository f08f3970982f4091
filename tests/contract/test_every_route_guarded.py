"""Deny by default, checked over every route of every service's OpenAPI document.

A route is either on the short public allow-list below, or a staff route: marked with the `staffToken` security
scheme, answering 401 to an anonymous caller and to a token that is not valid, and 403 to a valid token of a role it
does not admit. The apps are built by their real factories with the test verifier and without their lifespan: a
refusal needs neither database nor broker, and a request that gets past the guard fails (500) instead of acting.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from civicloop_staff.roles import Role
from civicloop_testing.staff_tokens import staff_headers

from tests.contract.service_apps import SERVICES, Service

OPS = ("/healthz", "/readyz", "/metrics")
# The whole public surface, by service: (method or "*", path pattern). Anything else must refuse strangers.
PUBLIC: dict[str, tuple[tuple[str, str], ...]] = {
    "intake": (
        ("post", r"/api/v1/requests"),  # residents report
        ("post", r"/api/v1/track"),  # the phone in the body, rate-limited
        ("post", r"/api/v1/residents/(codes|sessions)"),  # a one-time code, then a resident's session
        ("*", r"/api/v1/staff/auth/.*"),  # signing in is how a stranger becomes staff
        ("get", r"/api/qr"),  # QR codes of text or of links to the own site, rate-limited
        ("*", r"/report(/sent|/places)?"),  # the residents' report form, its answer, its address search
        ("get", r"/report/areas"),  # the report map's service areas (geo's public map, on intake's site)
        ("*", r"/track(/code|/open|/sign-out)?"),  # track with a one-time code, limited like the code routes
        ("get", r"/media/\{photo_file\}"),  # a report's photo, EXIF stripped: its `media_url`, sent to bodies
        ("get", r"/pages-sw\.js"),  # the pages' service worker, served from the root for its scope
        # The agents' console: its sign-in forms and single sign-on (how a stranger becomes staff, limited like
        # the API's sign-in), and /console itself, a redirection to the queue.
        ("*", r"/console(/sign-in(/totp)?|/sso/.*)?"),
    ),
    "public-projections": (
        ("get", r"/public"),  # the transparency page: aggregates, no personal data (docs/public.md)
        ("get", r"/api/public/weekly\.csv"),
    ),
    "open311-gateway": (("*", r"/open311/v2/(?!admin/).*"),),  # Open311 reads, and writes with an api_key
    "outbound": (),
    "geo": (
        ("get", r"/api/v1/public/heatmap"),  # aggregates that never show a point
        ("get", r"/api/v1/public/geocode"),  # an address anyone typed, inside the jurisdiction; rate-limited
        ("get", r"/api/v1/public/areas"),  # the service areas' simplified outlines: published boundaries
    ),
    "notifier": (
        ("*", r"/api/v1/notifier/unsubscribe"),  # the signed link in a resident's email (RFC 8058)
        (
            "post",
            r"/webhooks/twilio/(status|inbound)",
        ),  # Twilio's signature (X-Twilio-Signature) is the check
    ),
    # The cron route admits a cron token or an admin: a staff route as the walk sees it (docs/selfheal.md).
    "selfheal": (),
    # The stand-in for departments' systems: Open311 with each partner's api_key, nothing for staff.
    "backend-adapters": (("*", r"/open311/v2/.*"),),
}
NO_STAFF_ROUTES = frozenset({"backend-adapters"})
# A resident's own requests: not staff routes, but not open either (the resident's session, 401 without it).
RESIDENT_SESSION: dict[str, str] = {"intake": r"/api/v1/residents/(me/.*|sessions/current)"}
# The agents' console pages: a staff member's server-side session (its cookie), never a bearer token; a stranger,
# with or without a token, is sent to the sign-in form (303) and nothing is done. The admin pages are console pages.
CONSOLE_SESSION: dict[str, str] = {"intake": r"/console/(queue(/map)?|sign-out|requests/.*|admin(/.*)?)"}
# Staff routes any signed-in staff member may use (their own account): no role is wrong for them.
ANY_STAFF: dict[str, tuple[str, ...]] = {"intake": (r"/api/v1/staff/me.*",)}


def _is_public(service: str, method: str, path: str) -> bool:
    if path in OPS:
        return True
    return any(m in ("*", method) and re.fullmatch(p, path) for m, p in PUBLIC[service])


def _url(path: str) -> str:
    # "demo" is the tokens' jurisdiction, so a jurisdiction in the path never decides the answer by itself.
    filled = re.sub(r"\{jurisdiction_id\}", "demo", path)
    filled = re.sub(r"\{fmt\}", "json", filled)
    filled = re.sub(r"\{order\}", "1", filled)  # a place in a list (a service's questions): a number
    return re.sub(r"\{[^}]+\}", "AAAA-0001", filled)


async def _walk(service: Service) -> tuple[list[str], int]:
    app = service.build()
    failures: list[str] = []
    staff_routes = 0
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                where = f"{service.name} {method.upper()} {path}"
                if _is_public(service.name, method, path):
                    continue
                if service.name in RESIDENT_SESSION and re.fullmatch(RESIDENT_SESSION[service.name], path):
                    r = await client.request(method, _url(path))
                    if operation.get("security") != [{"resident session": []}] or r.status_code != 401:
                        failures.append(f"{where}: a resident route open to strangers ({r.status_code})")
                    continue
                if service.name in CONSOLE_SESSION and re.fullmatch(CONSOLE_SESSION[service.name], path):
                    for headers in ({}, staff_headers(None, "agent")):
                        r = await client.request(method, _url(path), headers=headers)
                        if r.status_code != 303 or not r.headers["location"].startswith("/console/sign-in"):
                            failures.append(
                                f"{where}: a console page open without a session ({r.status_code})"
                            )
                    continue
                staff_routes += 1
                if operation.get("security") != [{"staffToken": []}]:
                    failures.append(f"{where}: not marked as a staff route in the OpenAPI document")
                url = _url(path)
                for label, headers in (
                    ("anonymous", {}),
                    ("a token that is not valid", {"Authorization": "Bearer not-a-token"}),
                ):
                    r = await client.request(method, url, headers=headers, json={})
                    if r.status_code != 401:
                        failures.append(f"{where}: {label} got {r.status_code}, not 401")
                if any(re.fullmatch(p, path) for p in ANY_STAFF.get(service.name, ())):
                    continue
                answers = {
                    role: (
                        await client.request(method, url, headers=staff_headers(None, role), json={})
                    ).status_code
                    for role in Role
                }
                if 403 not in answers.values():
                    failures.append(f"{where}: no role is refused (403): {answers}")
                if 401 in answers.values():
                    failures.append(f"{where}: a valid token was refused as unauthenticated: {answers}")
    return failures, staff_routes


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_every_route_is_public_by_name_or_refuses_strangers(service: Service) -> None:
    failures, staff_routes = await _walk(service)
    assert failures == []
    if service.name not in NO_STAFF_ROUTES:
        assert staff_routes >= 1, f"{service.name}: no staff route found; is the allow-list too wide?"


def test_every_service_with_an_http_app_is_walked() -> None:
    """A new service (an `entrypoints/http.py`) joins the walk, or this fails."""
    root = Path(__file__).resolve().parents[2]
    apps = {p.parent.parent.name for p in root.glob("services/**/src/*/entrypoints/http.py")}
    assert {s.package for s in SERVICES} == apps


def test_the_allow_list_names_routes_that_exist() -> None:
    """An allow-list entry that matches nothing is a mistake waiting to open the wrong route."""
    for service in SERVICES:
        documented = [
            (method, path) for path, ops in service.build().openapi()["paths"].items() for method in ops
        ]
        for method, pattern in PUBLIC[service.name]:
            assert any(m == method or method == "*" for m, p in documented if re.fullmatch(pattern, p)), (
                f"{service.name}: {method} {pattern} matches no route"
            )
