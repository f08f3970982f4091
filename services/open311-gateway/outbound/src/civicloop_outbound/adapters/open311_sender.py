"""The `open311` send method: POST requests to a body's Open311 endpoint (CHECKLIST §2.3, §10.2-§10.4).

A realtime answer's `service_request_id` is the result's `external_id` (the dispatch core publishes
`ExternalReferenceAssigned`); a batch answer's token is stored in `outbound.open311_tokens` for the token poller; a
blackbox answer has neither. The reference is also written to `outbound.external_refs` at once, so an update or an
import poll that runs before the event is folded already knows the request is ours.

An `update` row (an agent's reopening or public comment, a transfer notice) is a `POST servicerequestupdates` on
that reference (`send_update`). A back-end that answers 404, 405 or 501 takes no updates (`UpdatesRefused`); a
request the back-end gave no id for cannot be updated (`Undeliverable`), one whose batch token is still pending waits.
"""

from __future__ import annotations

from typing import Any

import httpx
from civicloop_events.payloads import SendMethod
from civicloop_open311.wire import OutgoingRequest
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.adapters.open311_client import (
    Open311Client,
    Open311Failure,
    Open311Permanent,
    Open311Temporary,
    OutgoingUpdate,
)
from civicloop_outbound.domain.backend_updates import open311_status, refuses_updates
from civicloop_outbound.domain.ports import (
    BodyRecord,
    OutboundItem,
    PermanentFailure,
    Sender,
    SendResult,
    TemporaryFailure,
    Undeliverable,
    UpdatesRefused,
)


def outgoing_of(item: OutboundItem) -> OutgoingRequest:
    p = item.payload
    contact = item.contact
    first = last = None
    if contact is not None and contact.name:
        first, _, last = contact.name.strip().partition(" ")
    return OutgoingRequest(
        service_code=p.service_code,
        description=p.description,
        lat=p.location.lat,
        long=p.location.long,
        address_string=p.location.address_string,
        address_id=p.location.address_id,
        attributes=p.attributes,
        media_url=p.media_urls[0] if p.media_urls else None,
        request_number=p.request_id,
        email=contact.email if contact else None,
        phone=contact.phone if contact else None,
        first_name=first or None,
        last_name=last or None,
    )


async def multi_valued_codes(pool: AsyncConnectionPool, jurisdiction_id: str, service_code: str) -> set[str]:
    """The multivaluelist attributes of our service definition, sent as lists even with one value."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select attributes from outbound.services where jurisdiction_id = %s and service_code = %s",
            (jurisdiction_id, service_code),
        )
        row = await cur.fetchone()
    attributes: list[dict[str, Any]] = (row[0] if row else None) or []
    return {a["code"] for a in attributes if a.get("datatype") == "multivaluelist"}


async def remember_reference(
    conn: Any,
    jurisdiction_id: str,
    body_id: str,
    external_id: str,
    request_id: str,
    last_status: str | None = None,
) -> None:
    await conn.execute(
        """insert into outbound.external_refs (jurisdiction_id, body_id, external_id, request_id, last_status)
           values (%s, %s, %s, %s, %s) on conflict (jurisdiction_id, body_id, external_id) do nothing""",
        (jurisdiction_id, body_id, external_id, request_id, last_status),
    )


class Open311Sender(Sender):
    method = SendMethod.open311

    def __init__(
        self, pool: AsyncConnectionPool, http: httpx.AsyncClient, *, environ: dict[str, str] | None = None
    ) -> None:
        self.pool = pool
        self.http = http
        self.environ = environ

    def destination(self, body: BodyRecord, item: OutboundItem) -> str:
        c = body.definition.open311
        return f"{c.endpoint.rstrip('/')}/requests.{c.format}" if c else ""

    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        connection = body.definition.open311
        if connection is None:
            raise PermanentFailure(f"body {body.body_id} has no Open311 connection")
        client = Open311Client(connection, self.http, environ=self.environ)
        if item.purpose == "update":
            return await self.send_update(client, body, item)
        p = item.payload
        try:
            answer = await client.post_request(
                outgoing_of(item),
                multi_valued=await multi_valued_codes(self.pool, p.jurisdiction_id, p.service_code),
            )
        except Open311Permanent as exc:
            raise PermanentFailure(str(exc)) from exc
        except Open311Temporary as exc:
            failure = TemporaryFailure(
                str(exc)
                + (f" (Retry-After {exc.retry_after_s:g} s)" if exc.retry_after_s is not None else ""),
                retry_after_s=exc.retry_after_s,
            )
            raise failure from exc
        destination = self.destination(body, item)
        async with self.pool.connection() as conn:
            if answer.service_request_id:
                await remember_reference(
                    conn, body.jurisdiction_id, body.body_id, answer.service_request_id, p.request_id
                )
                return SendResult(external_id=answer.service_request_id, destination=destination)
            if answer.token:
                await conn.execute(
                    """insert into outbound.open311_tokens (jurisdiction_id, body_id, token, request_id)
                       values (%s, %s, %s, %s) on conflict do nothing""",
                    (body.jurisdiction_id, body.body_id, answer.token, p.request_id),
                )
        return SendResult(external_id=None, destination=destination)

    async def send_update(self, client: Open311Client, body: BodyRecord, item: OutboundItem) -> SendResult:
        """An agent's update as `POST servicerequestupdates` on the back-end's id of the request. The update ids (ours
        and the one it answers) are marked seen, so the poller does not bring our own update back as the body's."""
        update = item.payload.update
        if update is None:
            raise PermanentFailure("an update row without its update")
        j, b, request_id = body.jurisdiction_id, body.body_id, item.payload.request_id
        async with self.pool.connection() as conn:
            ref = await reference_of(conn, j, b, request_id)
            if ref is None:
                if await token_pending(conn, j, b, request_id):
                    raise TemporaryFailure(
                        "the back-end has not given its id of the request yet (batch token)"
                    )
                raise Undeliverable(
                    "the back-end gave no id of the request (no id, no token): it cannot be updated"
                )
        external_id, backend_status = ref
        outgoing = OutgoingUpdate(
            service_request_id=external_id,
            update_id=item.delivery_id,
            status=open311_status(update, backend_status),
            updated_datetime=update.occurred_at,
            description=update.text,
            media_urls=update.media_urls,
        )
        try:
            answer = await client.post_update(outgoing)
        except Open311Failure as exc:
            if already_has_it(exc):
                # Sent before, but our record of it was lost (a crash before the commit): the back-end dropped
                # the repeat by its update_id (CHECKLIST FX-11), so it is delivered.
                return SendResult(
                    destination=client.url("servicerequestupdates"),
                    answer="HTTP 400: the back-end already has this update_id (a repeat)",
                )
            if exc.status is not None and refuses_updates(exc.status):
                raise UpdatesRefused(str(exc), status=exc.status) from exc
            if isinstance(exc, Open311Permanent):
                raise PermanentFailure(str(exc)) from exc
            raise TemporaryFailure(str(exc), retry_after_s=exc.retry_after_s) from exc
        async with self.pool.connection() as conn:
            for update_id in {item.delivery_id, answer.update_id} - {None}:
                await conn.execute(
                    "insert into outbound.backend_updates_seen (jurisdiction_id, body_id, update_id, external_id)"
                    " values (%s, %s, %s, %s) on conflict do nothing",
                    (j, b, update_id, external_id),
                )
        said = f"HTTP {answer.status}" + (f", update_id {answer.update_id}" if answer.update_id else "")
        return SendResult(destination=client.url("servicerequestupdates"), answer=said)


def already_has_it(failure: Open311Failure) -> bool:
    """FixMyStreet's answer to an update_id it already has: a 400 saying it "already exists" (FX-11)."""
    return failure.status == 400 and b"already exists" in failure.body.lower()


async def reference_of(
    conn: Any, jurisdiction_id: str, body_id: str, request_id: str
) -> tuple[str, str | None] | None:
    """The body's id of the request and the status it last gave it (CivicLoop's name), or None."""
    cur = await conn.execute(
        "select external_id, last_status from outbound.external_refs"
        " where jurisdiction_id = %s and body_id = %s and request_id = %s order by assigned_at limit 1",
        (jurisdiction_id, body_id, request_id),
    )
    row = await cur.fetchone()
    return (row[0], row[1]) if row else None


async def token_pending(conn: Any, jurisdiction_id: str, body_id: str, request_id: str) -> bool:
    cur = await conn.execute(
        "select 1 from outbound.open311_tokens where jurisdiction_id = %s and body_id = %s and request_id = %s"
        " and state = 'pending'",
        (jurisdiction_id, body_id, request_id),
    )
    return await cur.fetchone() is not None
