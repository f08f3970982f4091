"""§9.1 Service Discovery: `discovery.xml` and `discovery.json` [DISC]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_testing.open311_catalogue import SPRINGFIELD
from civicloop_testing.open311_reading import read
from conformance_wire import W3C

pytestmark = pytest.mark.integration

GEOREPORT_V2 = "http://wiki.open311.org/GeoReport_v2"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def discovery(gateway, fmt):
    return await gateway.get("discovery", fmt, jurisdiction_id=SPRINGFIELD)


async def test_DS_01_discovery_is_served_in_both_formats(gateway, fmt):
    """DS-01, G-10, G-11, G-21: 200, the format's content type, the XML declaration, root <discovery>."""
    r = await discovery(gateway, fmt)
    assert r.status_code == 200, r.text
    tree = read(r, fmt, root="discovery")
    assert isinstance(tree, dict), f"discovery is an object (G-30, Spark), got {type(tree).__name__}"


async def test_DS_03_discovery_has_every_field_with_w3c_changesets(gateway, fmt):
    """DS-03, DS-05, DS-06, G-21, G-30, G-40: changeset/contact/key_service, endpoints with every field."""
    tree = read(await discovery(gateway, fmt), fmt, root="discovery")
    for name in ("changeset", "contact", "key_service", "endpoints"):
        assert tree.get(name), f"discovery lacks {name!r} (DS-03: all fields are required)"
    now = datetime.now(UTC) + timedelta(seconds=5)
    assert W3C.match(tree["changeset"]), (
        f"changeset {tree['changeset']!r} is not a W3C datetime (DS-05, G-40)"
    )
    assert _instant(tree["changeset"]) <= now, "changeset lies in the future (DS-05)"
    assert isinstance(tree["endpoints"], list) and tree["endpoints"], "endpoints is a non-empty array (DS-05)"
    for endpoint in tree["endpoints"]:
        for name in ("specification", "url", "changeset", "type", "formats"):
            assert endpoint.get(name), f"endpoint lacks {name!r} (DS-03): {endpoint}"
        assert W3C.match(endpoint["changeset"]), f"endpoint changeset {endpoint['changeset']!r} (DS-05, G-40)"
        assert _instant(endpoint["changeset"]) <= now, "endpoint changeset lies in the future (DS-05)"
        assert endpoint["type"] in ("production", "test"), endpoint["type"]
        assert isinstance(endpoint["formats"], list) and all(isinstance(f, str) for f in endpoint["formats"])


async def test_DS_03_a_georeport_v2_endpoint_points_at_this_api_with_both_formats(gateway, fmt):
    """DS-03, DS-05, DS-06, G-02: specification http://wiki.open311.org/GeoReport_v2, text/xml listed, and
    application/json since JSON is served; its url is the public base URL of these resources."""
    tree = read(await discovery(gateway, fmt), fmt, root="discovery")
    v2 = [e for e in tree["endpoints"] if e["specification"] == GEOREPORT_V2]
    assert v2, f"no endpoint with specification {GEOREPORT_V2}: {tree['endpoints']}"
    endpoint = v2[0]
    assert "text/xml" in endpoint["formats"], "every v2 endpoint lists text/xml (DS-05)"
    assert "application/json" in endpoint["formats"], "JSON is served, so it is advertised (G-02, DS-06)"
    assert endpoint["url"].rstrip("/") == gateway.settings.open311_base_url, endpoint["url"]
    assert endpoint["type"] == gateway.settings.endpoint_type


async def test_DS_03_changeset_follows_the_catalogue(gateway, fmt):
    """DS-03: the changeset is bumped when the service list or a definition changes (a cache key for clients):
    this run's catalogue was published after `configured_at`, so the changeset is not older than that."""
    tree = read(await discovery(gateway, fmt), fmt, root="discovery")
    assert _instant(tree["changeset"]) >= gateway.configured_at - timedelta(seconds=1), (
        f"changeset {tree['changeset']} predates the catalogue published at {gateway.configured_at}"
    )


async def test_DS_01_both_formats_carry_the_same_document(gateway):
    """DS-01, G-30: the JSON is the Spark mapping of the XML."""
    xml = read(await discovery(gateway, "xml"), "xml", root="discovery")
    json_ = read(await discovery(gateway, "json"), "json")
    assert xml == json_
