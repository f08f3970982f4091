"""§9.3 jurisdiction_id (G-60..G-63, §1.7) on every method, in both jurisdiction modes.

The session's gateway runs in `multi` mode with no default jurisdiction, so a missing id is a 400 and an unknown
one a 404 (G-61). A second gateway, on a database and topics of its own, runs in `single` mode for Springfield:
without an id, with an empty one, or with its own, every answer is the same; any other id is a 404, the choice
`GatewaySettings` documents (Chicago's rule, G-62).
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from civicloop_testing import create_database, drop_database, make_topics
from civicloop_testing.open311_catalogue import (
    POTHOLE,
    SHELBYVILLE,
    SHELBYVILLE_CODES,
    SPRINGFIELD,
    SPRINGFIELD_CODES,
    STREETLIGHT,
)
from civicloop_testing.open311_reading import read
from civicloop_testing.polling import eventually
from conformance_harness import gateway_settings, publish_configuration, run_migrations, running_gateway
from conformance_wire import error_text, errors_of, requests_of

pytestmark = pytest.mark.integration

UNKNOWN = "nowhere.example.gov"


def read_paths(gateway) -> list[tuple[str, str]]:
    """(label, path) of every GET method (the jurisdiction is checked before whatever the path names)."""
    return [
        ("services", "services"),
        ("service definition", f"services/{STREETLIGHT}"),
        ("requests", "requests"),
        ("request", f"requests/{gateway.history['at_30d']}"),
        ("servicerequestupdates", "servicerequestupdates"),
        ("token", "tokens/7F0C1A2B-0000-4000-8000-000000000000"),
    ]


@pytest.mark.parametrize("jurisdiction_id", [None, ""], ids=["absent", "empty"])
async def test_G_61_missing_jurisdiction_id_is_400_on_every_read(gateway, fmt, jurisdiction_id):
    """G-61, G-50, SL-09, SD-11, RQ-07, R1-04, ER-03: in multi-jurisdiction mode a missing id is a 400 error
    document in the requested format; an empty one is the same as a missing one."""
    for label, path in read_paths(gateway):
        params = {} if jurisdiction_id is None else {"jurisdiction_id": jurisdiction_id}
        r = await gateway.get(path, fmt, **params)
        errors = errors_of(r, fmt, 400)
        assert "jurisdiction" in error_text(errors).lower(), f"{label}: the error names jurisdiction_id"


async def test_G_61_unknown_jurisdiction_id_is_404_on_every_read(gateway, fmt):
    """G-61, SL-09, SD-11, RQ-07, R1-04, TK-02: an id the gateway does not serve is a 404 naming it."""
    for label, path in read_paths(gateway):
        errors = errors_of(await gateway.get(path, fmt, jurisdiction_id=UNKNOWN), fmt, 404)
        assert "jurisdiction" in error_text(errors).lower() or UNKNOWN in error_text(errors), label


async def test_G_61_post_without_jurisdiction_id_is_400_and_unknown_is_404(gateway, fmt):
    """G-61, PR-02 ("404 service_code or jurisdiction_id not found; 400 not provided") with a valid key."""
    body = {
        "api_key": gateway.partner.key,
        "service_code": POTHOLE,
        "lat": "39.78",
        "long": "-89.65",
        "description": "jurisdiction test",
    }
    errors_of(await gateway.post("requests", fmt, body), fmt, 400)
    errors_of(await gateway.post("requests", fmt, {**body, "jurisdiction_id": ""}), fmt, 400)
    errors_of(await gateway.post("requests", fmt, {**body, "jurisdiction_id": UNKNOWN}), fmt, 404)


async def test_G_60_each_jurisdiction_serves_its_own_catalogue(gateway, fmt):
    """G-60: the same service code in two cities is two services; each list holds only its own."""
    springfield = read(await gateway.get("services", fmt, jurisdiction_id=SPRINGFIELD), fmt, root="services")
    shelbyville = read(await gateway.get("services", fmt, jurisdiction_id=SHELBYVILLE), fmt, root="services")
    assert {s["service_code"] for s in springfield} == SPRINGFIELD_CODES
    assert {s["service_code"] for s in shelbyville} == SHELBYVILLE_CODES
    names = {s["service_name"] for s in shelbyville if s["service_code"] == POTHOLE}
    assert names == {"Road damage"}


async def test_G_60_requests_are_scoped_to_their_jurisdiction(gateway, fmt):
    """G-60, R1-02, RQ-02: Springfield's request is not found through Shelbyville."""
    number = gateway.history["at_30d"]
    errors_of(await gateway.get(f"requests/{number}", fmt, jurisdiction_id=SHELBYVILLE), fmt, 404)
    r = await gateway.get("requests", fmt, jurisdiction_id=SHELBYVILLE, service_request_id=number)
    assert r.status_code == 200 and requests_of(r, fmt) == []


async def test_G_70_partner_key_works_only_in_its_jurisdiction(gateway, fmt):
    """G-70: the partner is authorised for Springfield; posting to Shelbyville with its key is a 403."""
    body = {
        "api_key": gateway.partner.key,
        "jurisdiction_id": SHELBYVILLE,
        "service_code": POTHOLE,
        "lat": "39.70",
        "long": "-89.60",
        "description": "not my city",
    }
    errors_of(await gateway.post("requests", fmt, body), fmt, 403)


# -- single mode ------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def single_gateway(pg_admin_dsn, kafka_bootstrap, partners):
    topics = await make_topics(kafka_bootstrap)
    dsn = create_database(pg_admin_dsn, prefix="cl_conformance_single")
    try:
        run_migrations(dsn)
        await publish_configuration(kafka_bootstrap, topics, [(SPRINGFIELD, partners["main"])])
        settings = gateway_settings(
            dsn, topics, kafka_bootstrap, jurisdictions_mode="single", default_jurisdiction_id=SPRINGFIELD
        )
        async with running_gateway(settings) as (_, client):

            async def springfield_served() -> bool:
                # Partners are published before the catalogue, so they are folded once the whole list is served.
                r = await client.get("services.json")
                return r.status_code == 200 and {s["service_code"] for s in r.json()} == SPRINGFIELD_CODES

            await eventually(springfield_served, timeout=45, what="the single-mode gateway's catalogue")
            yield client
    finally:
        drop_database(pg_admin_dsn, dsn)


async def test_G_62_single_mode_answers_the_same_with_own_empty_or_no_jurisdiction_id(single_gateway, fmt):
    """G-62, G-50: one city served; its own id, an empty id and no id give identical answers."""
    for path in ("services", f"services/{STREETLIGHT}", "requests"):
        answers = []
        for params in ({}, {"jurisdiction_id": ""}, {"jurisdiction_id": SPRINGFIELD}):
            r = await single_gateway.get(f"{path}.{fmt}", params=params)
            assert r.status_code == 200, f"{path} {params}: {r.status_code} {r.text[:300]}"
            answers.append(r.content)
        assert answers[0] == answers[1] == answers[2], f"{path}: answers differ by jurisdiction_id"


async def test_G_62_single_mode_refuses_another_jurisdiction_with_404(single_gateway, fmt):
    """G-62 (documented choice: a wrong id is a 404, Chicago-style), G-61, ER-03."""
    for path in ("services", f"services/{STREETLIGHT}", "requests", "discovery"):
        r = await single_gateway.get(f"{path}.{fmt}", params={"jurisdiction_id": SHELBYVILLE})
        if path == "discovery" and r.status_code == 200:
            continue  # discovery is not a GeoReport method and need not take jurisdiction_id [DISC]
        errors_of(r, fmt, 404)


async def test_G_62_single_mode_posts_without_jurisdiction_id(single_gateway, partners, fmt):
    """G-62, PR-09: a POST without jurisdiction_id is for the one city served."""
    body = {
        "api_key": partners["main"].key,
        "service_code": POTHOLE,
        "lat": "39.781",
        "long": "-89.650",
        "description": f"single mode {fmt}",
    }
    r = await single_gateway.post(f"requests.{fmt}", data=body)
    assert r.status_code == 200, r.text
    [answer] = requests_of(r, fmt)
    number = answer["service_request_id"]
    r = await single_gateway.get(f"requests/{number}.{fmt}")
    assert r.status_code == 200 and requests_of(r, fmt)[0]["service_request_id"] == number
