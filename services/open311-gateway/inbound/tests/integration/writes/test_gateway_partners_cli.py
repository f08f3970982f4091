"""`civicloop-gateway partners create|list|revoke` end to end: the real CLI, broker, database and gateway (G-70)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

import pytest
from civicloop_events import decode_event
from civicloop_events.payloads import PartnerAuthorised, PartnerKeyRevoked
from civicloop_gateway.entrypoints.cli import app as cli
from civicloop_testing.open311_catalogue import streetlight_form
from typer.testing import CliRunner, Result
from write_harness import CITY, WriteGateway, answers, errors

pytestmark = pytest.mark.integration

KEY = re.compile(r"^o311_([a-z2-7]{8})_[A-Za-z0-9_-]{43}$", re.MULTILINE)


async def run(gw: WriteGateway, *args: str) -> Result:
    """The CLI in a thread of its own (it runs its own event loop), configured by environment like in production."""
    return await asyncio.to_thread(CliRunner().invoke, cli, ["partners", *args], env=gw.cli_env())


async def test_g70_partners_create_list_revoke_end_to_end(write_gw: WriteGateway) -> None:
    """create shows a 256-bit key once and publishes only its digest; the key works at once; list shows key ids,
    never keys; revoke publishes PartnerKeyRevoked and the key is refused (403) from then on."""
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    created = await run(
        write_gw, "create", "--jurisdiction", CITY, "--client-id", client_id, "--name", "Neighbour App"
    )
    assert created.exit_code == 0, created.output
    match = KEY.search(created.output)
    assert match, created.output
    key, key_id = match.group(0), match.group(1)
    assert "shown once" in created.output and "not applied" not in created.output

    events = [decode_event(r.value) for r in await write_gw.config_records()]
    [authorised] = [
        e for e in events if isinstance(e.payload, PartnerAuthorised) and e.payload.client_id == client_id
    ]
    assert authorised.jurisdiction_id == CITY and authorised.payload.key_id == key_id
    assert authorised.payload.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert key not in authorised.model_dump_json()
    async with write_gw.pool.connection() as conn:
        cur = await conn.execute("select key_sha256 from gateway.partners where client_id = %s", (client_id,))
        assert [row[0] for row in await cur.fetchall()] == [authorised.payload.key_sha256]

    r = await write_gw.submit("xml", **streetlight_form(api_key=key))
    number = answers(r, "xml")[0]["service_request_id"]
    [event] = await write_gw.events_of(number)
    assert event.source == f"open311:{client_id}"

    listed = await run(write_gw, "list", "--jurisdiction", CITY)
    assert listed.exit_code == 0, listed.output
    assert client_id in listed.output and key_id in listed.output and "Neighbour App" in listed.output
    assert key not in listed.output and authorised.payload.key_sha256 not in listed.output

    revoked = await run(
        write_gw, "revoke", "--jurisdiction", CITY, "--client-id", client_id, "--key-id", key_id
    )
    assert revoked.exit_code == 0, revoked.output
    events = [decode_event(r.value) for r in await write_gw.config_records()]
    assert [
        e.payload.key_id
        for e in events
        if isinstance(e.payload, PartnerKeyRevoked) and e.payload.client_id == client_id
    ] == [key_id]
    assert "revoked" in errors(await write_gw.submit("json", **streetlight_form(api_key=key)), "json", 403)

    listed = await run(write_gw, "list")
    row = next(line for line in listed.output.splitlines() if key_id in line)
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\s.*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", row), (
        row
    )

    again = await run(
        write_gw, "revoke", "--jurisdiction", CITY, "--client-id", client_id, "--key-id", key_id
    )
    assert again.exit_code == 1 and "already revoked" in again.output


async def test_partners_create_refuses_a_bad_client_id(write_gw: WriteGateway) -> None:
    result = await run(write_gw, "create", "--jurisdiction", CITY, "--client-id", "Not Valid", "--name", "X")
    assert result.exit_code == 1 and "client id" in result.output
    assert KEY.search(result.output) is None
