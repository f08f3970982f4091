"""Admin API: the jurisdiction's service catalogue; every change is a `ServiceDefined` event on `jurisdiction.config`.

Under the Open311 base path, JSON only (paths end in `.json`, so errors are Open311 JSON error arrays too):

* `GET    admin/jurisdictions/{jurisdiction_id}/services.json` — the catalogue, withdrawn services included
* `POST   admin/jurisdictions/{jurisdiction_id}/services.json` — define a new service (409 if it is active already)
* `PUT    admin/jurisdictions/{jurisdiction_id}/services/{service_code}.json` — replace its definition
* `DELETE admin/jurisdictions/{jurisdiction_id}/services/{service_code}.json` — withdraw it (`active=false`)

Every call needs a staff access token with the admin role for that jurisdiction (`Authorization: Bearer`, verified
by `civicloop_staff.verifier`): 401 without one or with one that is not valid, 403 for another role or another
jurisdiction. A change answers after the broker acknowledged it and
says whether the view has applied it yet (`applied`).
"""

from __future__ import annotations

from typing import Annotated, Any

from civicloop_events import ServiceDefined
from civicloop_open311.errors import Open311Error
from civicloop_open311.formats import Format, UnknownFormat, split_resource
from civicloop_open311.openapi import ERRORS
from civicloop_runtime.app import running_service
from civicloop_staff.roles import MANAGES_STAFF, StaffPrincipal
from civicloop_staff.verifier import StaffRefused, require_staff
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from civicloop_gateway.adapters.catalogue_admin_postgres import PostgresCatalogueView
from civicloop_gateway.adapters.submit_kafka import ProducerEventLog
from civicloop_gateway.bootstrap import Gateway
from civicloop_gateway.domain.catalogue_admin import ServiceFields, ServiceInput
from civicloop_gateway.domain.submit_errors import Rejected
from civicloop_gateway.service_layer.catalogue_admin import (
    CatalogueChange,
    create_service,
    deactivate_service,
    update_service,
)
from civicloop_gateway.service_layer.submit_ports import EventLogUnavailable


def require_admin(
    request: Request, staff: Annotated[StaffPrincipal, Depends(require_staff(*MANAGES_STAFF))]
) -> StaffPrincipal:
    """An admin of the jurisdiction in the path: a token is for one jurisdiction."""
    jurisdiction_id = request.path_params.get("jurisdiction_id")
    if jurisdiction_id is not None and not staff.acts_for(jurisdiction_id):
        raise StaffRefused(403, "forbidden", "this token is for another jurisdiction")
    return staff


# A resource without a known format suffix is answered in XML, as everywhere under the Open311 base path (G-05).
_ERROR_BODY = {"application/json": {"schema": ERRORS}, "text/xml": {"schema": {"type": "string"}}}
router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        400: {"description": "An invalid definition or parameter.", "content": _ERROR_BODY},
        401: {"description": "No staff token, or one that is not valid.", "content": _ERROR_BODY},
        403: {
            "description": "A staff token without the admin role for this jurisdiction.",
            "content": _ERROR_BODY,
        },
        404: {"description": "Unknown jurisdiction or service.", "content": _ERROR_BODY},
        409: {"description": "A service with this code already exists (use PUT).", "content": _ERROR_BODY},
        503: {"description": "The event log or the database is unavailable.", "content": _ERROR_BODY},
    },
)

JurisdictionId = Annotated[str, Path(min_length=1, max_length=64)]


def _gateway(request: Request) -> Gateway:
    gateway: Gateway | None = running_service(request)
    if gateway is None:
        raise Open311Error(503, 503, "The gateway is not started yet.", headers={"Retry-After": "5"})
    return gateway


def _view(request: Request) -> PostgresCatalogueView:
    return _gateway(request).catalogue_view


def _log(request: Request) -> ProducerEventLog:
    return _gateway(request).catalogue_log


def _service_code(resource: str) -> str:
    try:
        code, fmt = split_resource(resource)
    except UnknownFormat as exc:
        raise Open311Error(404, 404, f"{exc}; the admin API speaks .json") from None
    if fmt is not Format.json:
        raise Open311Error(404, 404, "The admin API speaks .json only.")
    return code


def _definition_json(definition: ServiceDefined) -> dict[str, Any]:
    return definition.model_dump(mode="json")


def _change_response(jurisdiction_id: str, change: CatalogueChange, status: int) -> JSONResponse:
    return JSONResponse(
        {
            "jurisdiction_id": jurisdiction_id,
            "service": _definition_json(change.definition),
            "event_id": change.event_id,
            "position": {"partition": change.position.partition, "offset": change.position.offset},
            "applied": change.applied,
        },
        status_code=status,
    )


async def _run(coro: Any) -> CatalogueChange:
    try:
        return await coro
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


@router.get(
    "/jurisdictions/{jurisdiction_id}/services.json", summary="List the catalogue (withdrawn included)"
)
async def list_services(jurisdiction_id: JurisdictionId, request: Request) -> JSONResponse:
    services = await _view(request).services(jurisdiction_id)
    return JSONResponse(
        {"jurisdiction_id": jurisdiction_id, "services": [_definition_json(s) for s in services]}
    )


@router.post(
    "/jurisdictions/{jurisdiction_id}/services.json", status_code=201, summary="Define a new service"
)
async def create(jurisdiction_id: JurisdictionId, service: ServiceInput, request: Request) -> JSONResponse:
    change = await _run(create_service(jurisdiction_id, service, log=_log(request), view=_view(request)))
    return _change_response(jurisdiction_id, change, 201)


@router.put("/jurisdictions/{jurisdiction_id}/services/{resource}", summary="Replace a service's definition")
async def update(
    jurisdiction_id: JurisdictionId, resource: str, fields: ServiceFields, request: Request
) -> JSONResponse:
    code = _service_code(resource)
    change = await _run(update_service(jurisdiction_id, code, fields, log=_log(request), view=_view(request)))
    return _change_response(jurisdiction_id, change, 200)


@router.delete("/jurisdictions/{jurisdiction_id}/services/{resource}", summary="Withdraw a service")
async def deactivate(jurisdiction_id: JurisdictionId, resource: str, request: Request) -> JSONResponse:
    code = _service_code(resource)
    change = await _run(deactivate_service(jurisdiction_id, code, log=_log(request), view=_view(request)))
    return _change_response(jurisdiction_id, change, 200)
