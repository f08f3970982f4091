"""The `open311` send method: POST requests to a body's Open311 endpoint (CHECKLIST §2.3, §10.2-§10.4).

A realtime answer's `service_request_id` is the result's `external_id` (the dispatch core publishes
`ExternalReferenceAssigned`); a batch answer's token is stored in `outbound.open311_tokens` for the token poller; a
blackbox answer has neither. The reference is also written to `outbound.external_refs` at once, so an update or an
import poll that runs before the event is folded already knows the request is ours.
"""

from __future__ import annotations

from typing import Any

import httpx
from civicloop_events.payloads import SendMethod
from civicloop_open311.wire import OutgoingRequest
from psycopg_pool import AsyncConnectionPool

from civicloop_outbound.adapters.open311_client import Open311Client, Open311Permanent, Open311Temporary
from civicloop_outbound.domain.ports import (
    BodyRecord,
    OutboundItem,
    PermanentFailure,
    Sender,
    SendResult,
    TemporaryFailure,
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
