"""Admin API: a jurisdiction's partner clients and their Open311 API keys, for its admins (the admin pages' partners
section; `civicloop-gateway partners ...` does the same from a shell). Under the Open311 base path, JSON only:

* `GET  admin/jurisdictions/{jurisdiction_id}/partners.json` — each client's keys: key id, authorised, revoked
  (never a key or its digest), and its use: `requests` (writes let in), `refused` (writes refused: revoked, or
  another jurisdiction's), `last_used_at` (null if never used)
* `POST admin/jurisdictions/{jurisdiction_id}/partners.json` (`{"client_id", "name"}`) — a new key for the client
  (a new client, or another key for one: a rotation is a new key, then the old one revoked); `201` carries the key,
  shown this once (only its SHA-256 digest is published); never logged
* `POST admin/jurisdictions/{jurisdiction_id}/partners/{client_id}/keys/{key_id}/revoke` — the key refused from
  when the view applied it

The admin's token for that jurisdiction, as for the catalogue (`admin_api.require_admin`); the events carry the
admin as actor. A change answers once on the log and says whether the view applied it yet (`applied`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from civicloop_open311.errors import Open311Error
from civicloop_staff.roles import StaffPrincipal
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from civicloop_gateway.adapters.partner_postgres import list_partners
from civicloop_gateway.domain.submit_errors import Rejected
from civicloop_gateway.entrypoints.admin_api import _gateway, _log, require_admin
from civicloop_gateway.entrypoints.admin_api import router as catalogue_router
from civicloop_gateway.service_layer.partner_admin import authorise_partner, revoke_key
from civicloop_gateway.service_layer.submit_ports import EventLogUnavailable

log = logging.getLogger("civicloop.gateway.partners")
router = APIRouter(prefix="/admin", tags=["admin"], responses=catalogue_router.responses)
Admin = Annotated[StaffPrincipal, Depends(require_admin)]
JurisdictionId = Annotated[str, Path(min_length=1, max_length=64)]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]
KeyId = Annotated[str, Path(min_length=1, max_length=64)]


class NewKeyBody(BaseModel):
    client_id: str = Field(min_length=1, max_length=64, description="a-z 0-9 _ . -")
    name: str = Field(min_length=1, max_length=200, description="the partner's display name")


@contextmanager
def _refused_as_open311() -> Iterator[None]:
    try:
        yield
    except Rejected as exc:
        first, *_ = exc.descriptions
        raise Open311Error(exc.status, exc.status, first) from None
    except EventLogUnavailable:
        raise Open311Error(
            503,
            503,
            "The event log did not acknowledge the change; retry later.",
            headers={"Retry-After": "5"},
        ) from None


@router.get("/jurisdictions/{jurisdiction_id}/partners.json", summary="List partner clients and their keys")
async def list_keys(jurisdiction_id: JurisdictionId, request: Request, admin: Admin) -> JSONResponse:
    partners = await list_partners(_gateway(request).pool, jurisdiction_id=jurisdiction_id)
    return JSONResponse(
        {
            "jurisdiction_id": jurisdiction_id,
            "keys": [
                {
                    "client_id": p.client_id,
                    "name": p.name,
                    "key_id": p.key_id,
                    "authorised_at": p.authorised_at,
                    "revoked_at": p.revoked_at,
                    "requests": p.requests,
                    "refused": p.refused,
                    "last_used_at": p.last_used_at,
                }
                for p in partners
            ],
        }
    )


@router.post(
    "/jurisdictions/{jurisdiction_id}/partners.json",
    status_code=201,
    summary="A new API key for a partner client",
)
async def new_key(
    jurisdiction_id: JurisdictionId, body: NewKeyBody, request: Request, admin: Admin
) -> JSONResponse:
    with _refused_as_open311():
        authorised = await authorise_partner(
            jurisdiction_id, body.client_id, body.name, log=_log(request), actor=admin.actor
        )
    applied = await _gateway(request).catalogue_view.wait_until_applied(authorised.position)
    log.info("partner key issued", extra={"client_id": body.client_id, "key_id": authorised.issued.key_id})
    return JSONResponse(
        {
            "jurisdiction_id": jurisdiction_id,
            "client_id": body.client_id,
            "key_id": authorised.issued.key_id,
            "key": authorised.issued.key,  # shown this once; never logged
            "applied": applied,
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/jurisdictions/{jurisdiction_id}/partners/{client_id}/keys/{key_id}/revoke",
    summary="Revoke one API key of a partner client",
)
async def revoke(
    jurisdiction_id: JurisdictionId, client_id: ClientId, key_id: KeyId, request: Request, admin: Admin
) -> JSONResponse:
    gateway = _gateway(request)
    known = await list_partners(gateway.pool, jurisdiction_id=jurisdiction_id)
    with _refused_as_open311():
        position = await revoke_key(
            jurisdiction_id, client_id, key_id, known=known, log=_log(request), actor=admin.actor
        )
    applied = await gateway.catalogue_view.wait_until_applied(position)
    return JSONResponse(
        {"jurisdiction_id": jurisdiction_id, "client_id": client_id, "key_id": key_id, "applied": applied}
    )
