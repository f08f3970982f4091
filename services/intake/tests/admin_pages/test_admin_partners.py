"""Partners' Open311 keys in the admin pages, with the gateway's real app (its own database, the test's broker
topics): an admin makes a key (shown once, never again), rotates it (a new key for the client) and revokes the old
one, each through the gateway's admin API with the admin's own token and on `jurisdiction.config` with the admin as
actor; each key's use, as the gateway counts the partner's writes, shows on the page; a refusal comes back on the
page; a forged form changes nothing."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx
import pytest
from admin_harness import admin_world, config_events, gateway_served, replica, sign_in
from civicloop_testing.polling import eventually
from console_harness import hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/partners"
KEY = re.compile(r'id="issued-key">(o311_[^<]+)<')


def usage(html: str, key_id: str) -> tuple[str, str]:
    """A key's row on the page: its requests let in, and refused."""
    row = html[html.index(f'id="key-{key_id}"') :]
    row = row[: row.index("</tr>")]
    found = re.search(r'class="count requests">(\d+)<.*class="count refused">(\d+)<', row, re.S)
    assert found, row
    return found.group(1), found.group(2)


async def test_an_admin_makes_rotates_and_revokes_a_partners_key(intake: Harness, pg_admin_dsn: str):
    client_id = f"app-{uuid4().hex[:6]}"
    async with admin_world(intake) as (world, _):
        with gateway_served(world, intake, pg_admin_dsn) as gateway_url:
            async with replica(world, admin_gateway_url=gateway_url) as client:
                await sign_in(client, world)
                page = await client.get(PAGE)
                assert page.status_code == 200, page.text
                csrf = hidden(page.text, "csrf", f"{PAGE}/keys")
                forged = await client.post(
                    f"{PAGE}/keys", data={"csrf": "x", "client_id": client_id, "name": "N"}
                )
                assert forged.status_code == 403

                made = await client.post(
                    f"{PAGE}/keys", data={"csrf": csrf, "client_id": client_id, "name": "Neighbour App"}
                )
                assert made.status_code == 200, made.text
                assert made.headers["cache-control"] == "no-store"
                first_key = KEY.search(made.text)
                assert first_key, "the key is shown once"
                first_id = first_key.group(1).split("_")[1]

                listed = await client.get(PAGE)
                assert f'id="key-{first_id}"' in listed.text and first_key.group(1) not in listed.text

                rotated = await client.post(
                    f"{PAGE}/keys", data={"csrf": csrf, "client_id": client_id, "name": "Neighbour App"}
                )
                second_key = KEY.search(rotated.text)
                assert second_key and second_key.group(1) != first_key.group(1)
                revoke = f"{PAGE}/{client_id}/keys/{first_id}/revoke"
                revoked = await client.post(revoke, data={"csrf": csrf})
                assert revoked.status_code == 303 and "done=revoked" in revoked.headers["location"], (
                    revoked.text
                )
                shown = await client.get(revoked.headers["location"])
                row = shown.text[shown.text.index(f'id="key-{first_id}"') :]
                assert "Revoked" in row[: row.index("</tr>")]
                again = await client.post(revoke, data={"csrf": csrf})
                assert again.status_code == 409 and "Refused:" in again.text

                # The partner writes with both keys: the gateway counts each key's use, and the page shows it.
                async with httpx.AsyncClient(base_url=f"{gateway_url}/open311/v2", timeout=10) as partner:
                    write = {"jurisdiction_id": "demo", "service_code": "pothole", "lat": "1", "long": "1"}
                    old = await partner.post("/requests.json", data={**write, "api_key": first_key.group(1)})
                    assert old.status_code == 403 and "revoked" in old.text

                    async def let_in() -> bool:  # once the gateway's view knows the jurisdiction
                        answer = await partner.post(
                            "/requests.json", data={**write, "api_key": second_key.group(1)}
                        )
                        return answer.status_code not in (403, 404)

                    await eventually(let_in, timeout=30, what="a write let in with the new key")
                used = await client.get(PAGE)
                second_id = second_key.group(1).split("_")[1]
                assert usage(used.text, first_id) == ("0", "1") and usage(used.text, second_id) == ("1", "0")
                for key_id in (first_id, second_id):
                    row = used.text[used.text.index(f'id="key-{key_id}"') :]
                    assert "Never" not in row[: row.index("</tr>")]

                bad = await client.post(
                    f"{PAGE}/keys", data={"csrf": csrf, "client_id": "Not OK!", "name": "N"}
                )
                assert bad.status_code == 409 and 'value="Not OK!"' in bad.text

    changes = [
        e
        for e in await config_events(intake)
        if e.type.startswith("jurisdiction.partner.") and getattr(e.payload, "client_id", None) == client_id
    ]
    assert [e.type for e in changes] == [
        "jurisdiction.partner.authorised",
        "jurisdiction.partner.authorised",
        "jurisdiction.partner.key_revoked",
    ]
    assert {(e.actor.kind, e.actor.id) for e in changes} == {("agent", str(world.agent.staff_id))}
