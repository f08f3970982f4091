"""Authorise a partner client with a new API key, or revoke one: events on `jurisdiction.config`.

Only the key's SHA-256 digest travels in `PartnerAuthorised`; the clear key is returned to the caller once and kept
nowhere. Creating a second key for a client is a rotation: both work until the old one is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import PartnerAuthorised, PartnerKeyRevoked

from civicloop_gateway.domain.partner_keys import IssuedKey, check_client_id, issue_key
from civicloop_gateway.domain.submit_errors import BadRequest, NotFound
from civicloop_gateway.domain.submit_record import LogPosition
from civicloop_gateway.service_layer.submit_ports import EventLog

CLI_ACTOR = Actor(kind=ActorKind.agent, id="gateway-partners-cli")
ADMIN_SOURCE = "admin"


@dataclass(frozen=True)
class PartnerListing:
    jurisdiction_id: str
    client_id: str
    name: str
    key_id: str
    authorised_at: str
    revoked_at: str | None
    requests: int = 0  # writes let in with the key
    refused: int = 0  # writes refused with it (revoked, or another jurisdiction's)
    last_used_at: str | None = None


@dataclass(frozen=True)
class AuthorisedPartner:
    issued: IssuedKey
    event_id: str
    position: LogPosition


async def authorise_partner(
    jurisdiction_id: str, client_id: str, name: str, *, log: EventLog, actor: Actor = CLI_ACTOR
) -> AuthorisedPartner:
    """A new key for the client (a client may hold several: a rotation is a new key, then the old one revoked);
    `actor`: the CLI, or the admin calling the admin API."""
    try:
        check_client_id(client_id)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if not name.strip():
        raise BadRequest("a partner needs a name")
    issued = issue_key()
    payload = PartnerAuthorised(
        client_id=client_id, name=name.strip(), key_id=issued.key_id, key_sha256=issued.key_sha256
    )
    event = Event.create(
        payload, request_id=None, jurisdiction_id=jurisdiction_id, actor=actor, source=ADMIN_SOURCE
    )
    position = await log.publish(event)
    return AuthorisedPartner(issued, str(event.event_id), position)


async def revoke_key(
    jurisdiction_id: str,
    client_id: str,
    key_id: str,
    *,
    known: list[PartnerListing],
    log: EventLog,
    actor: Actor = CLI_ACTOR,
) -> LogPosition:
    """Revoke a key `known` (the partners view) lists as live for this client and jurisdiction."""
    match = [
        p for p in known if (p.jurisdiction_id, p.client_id, p.key_id) == (jurisdiction_id, client_id, key_id)
    ]
    if not match:
        raise NotFound(f"no key {key_id!r} of client {client_id!r} in jurisdiction {jurisdiction_id!r}")
    if match[0].revoked_at is not None:
        raise BadRequest(
            f"key {key_id!r} of client {client_id!r} was already revoked at {match[0].revoked_at}"
        )
    event = Event.create(
        PartnerKeyRevoked(client_id=client_id, key_id=key_id),
        request_id=None,
        jurisdiction_id=jurisdiction_id,
        actor=actor,
        source=ADMIN_SOURCE,
    )
    return await log.publish(event)
