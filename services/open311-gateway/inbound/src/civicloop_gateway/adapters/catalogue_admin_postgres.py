"""The catalogue as the admin API reads it: `gateway.services`, withdrawn services included."""

from __future__ import annotations

from typing import Any

from civicloop_events import ServiceDefined
from civicloop_events.payloads import ServiceAttribute, ServiceType

from civicloop_gateway.adapters.view_positions import FoldedView
from civicloop_gateway.service_layer.catalogue_admin import CatalogueView

_COLUMNS = "service_code, service_name, description, service_group, keywords, type, attributes, active"


def _definition(row: tuple[Any, ...]) -> ServiceDefined:
    code, name, description, group, keywords, kind, attributes, active = row
    return ServiceDefined(
        service_code=code,
        service_name=name,
        description=description,
        group=group,
        keywords=[k.strip() for k in keywords.split(",") if k.strip()],
        type=ServiceType(kind),
        attributes=[ServiceAttribute.model_validate(a) for a in attributes],
        active=active,
    )


class PostgresCatalogueView(FoldedView, CatalogueView):
    """`gateway.services`, which the `jurisdiction.config` consumer folds."""

    async def services(self, jurisdiction_id: str) -> list[ServiceDefined]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"select {_COLUMNS} from gateway.services where jurisdiction_id = %s order by service_code",
                (jurisdiction_id,),
            )
            rows = await cur.fetchall()
        return [_definition(r) for r in rows]

    async def service(self, jurisdiction_id: str, service_code: str) -> ServiceDefined | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                f"select {_COLUMNS} from gateway.services where jurisdiction_id = %s and service_code = %s",
                (jurisdiction_id, service_code),
            )
            row = await cur.fetchone()
        return _definition(row) if row else None
