"""A token of another jurisdiction never reads a request: every staff route of this service's OpenAPI document is
called by a token of jurisdiction B about a request of jurisdiction A (its number in the path, its body's reference
and A's id in the query), and must refuse (403), not know it (404), or answer without a trace of it. A route added
later is walked too."""

from __future__ import annotations

import re
import uuid

import pytest
from civicloop_events.payloads import ExternalReferenceAssigned
from civicloop_projections.entrypoints.http import create_app
from civicloop_testing.events import publish_events
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from projection_events import area_defined, new_jurisdiction, new_number, outbound, square, submitted
from projection_harness import api_client, config_caught_up, settings_for

pytestmark = pytest.mark.integration


async def test_no_staff_route_shows_another_jurisdiction_s_request(
    migrated_dsn, fresh_topics, kafka_bootstrap, request_producer
):
    settings = settings_for(migrated_dsn, fresh_topics, kafka_bootstrap, read_your_writes_timeout_s=0.5)
    theirs, ours, number = new_jurisdiction(), new_jurisdiction(), new_number()
    external_id = f"SR-{uuid.uuid4().hex[:8]}"
    known = {"number": number, "body_id": "streets", "external_id": external_id, "jurisdiction_id": theirs}
    async with api_client(settings, jurisdiction_id=theirs) as client:
        await config_caught_up(
            settings,
            await publish_events(
                kafka_bootstrap,
                settings.topics.jurisdiction_config,
                [area_defined(theirs, "hidden-area", square(-118.3, 34.0, 0.2))],
            ),
        )
        await request_producer.publish(submitted(number, theirs, minutes=0))
        last = await request_producer.publish(
            outbound(number, theirs, ExternalReferenceAssigned(body_id="streets", external_id=external_id))
        )
        after = f"{last.partition}:{last.offset}"
        own = await client.get(f"/api/v1/agent/requests/{number}", params={"after": after})
        assert own.status_code == 200  # the data is there: the walk below could find it

        outsider = staff_headers(None, "supervisor", jurisdiction_id=ours)
        walked = 0
        document = create_app(settings, staff_verifier=verifier_for_tests(), start_consumers=False).openapi()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if operation.get("security") != [{"staffToken": []}]:
                    continue
                url = re.sub(r"\{[^}]+\}", lambda m: known.get(m.group(0)[1:-1], "x"), path)
                names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                params = {name: known[name] for name in names if name in known and name != "jurisdiction_id"}
                for with_jurisdiction in (False, True) if "jurisdiction_id" in names else (False,):
                    asked = {**params, "jurisdiction_id": theirs} if with_jurisdiction else params
                    r = await client.request(method, url, params=asked, headers=outsider)
                    walked += 1
                    where = f"{method.upper()} {url} {asked}"
                    assert r.status_code in (200, 403, 404), (where, r.status_code, r.text)
                    if r.status_code == 200:
                        for secret in (number, theirs, external_id, "hidden-area"):
                            assert secret not in r.text, (where, secret)
    assert walked >= 6
