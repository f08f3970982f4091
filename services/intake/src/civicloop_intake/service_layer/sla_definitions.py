"""The jurisdiction's SLA definition, set by an admin (API) or the operator (CLI): checked, stored with its event in
the staff outbox (published on `jurisdiction.config` before the caller hears "yes", like every staff change), and
read back from what intake folded of the log (`intake.sla_definitions`, the latest per jurisdiction)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from civicloop_events import Actor, Event
from civicloop_events.outbox import EventLog
from civicloop_events.payloads.service_levels import SlaDefined
from civicloop_staff import accounts
from civicloop_staff.accounts import StaffChangeRejected, StaffProblem
from civicloop_staff.roles import StaffPrincipal

from civicloop_intake.domain.sla_definitions import decide_definition
from civicloop_intake.domain.staff import actor_of, staff_event
from civicloop_intake.service_layer.ports import Catalogue
from civicloop_intake.service_layer.staff_ports import StaffStore
from civicloop_intake.service_layer.staff_publishing import publish_change


@dataclass(frozen=True)
class DefinedSla:
    """The definition in force for a jurisdiction, and the event that set it (who, when)."""

    jurisdiction_id: str
    definition: SlaDefined
    event_id: UUID
    actor: Actor
    defined_at: datetime


class SlaDefinitions(ABC):
    """What intake folded of `jurisdiction.sla.defined`."""

    @abstractmethod
    async def current(self, jurisdiction_id: str) -> DefinedSla | None: ...


@dataclass(frozen=True)
class SlaAdmin:
    store: StaffStore  # its outbox carries the event, as it carries every staff change
    config_log: EventLog
    definitions: SlaDefinitions
    catalogue: Catalogue
    operator: str = "operator"  # who ran the CLI (with `by=None`)

    async def define(
        self, definition: SlaDefined, *, jurisdiction_id: str, by: StaffPrincipal | None
    ) -> Event[Any] | None:
        """Publish `definition` for the jurisdiction; None when it is the one in force already (nothing published).
        `SlaDefinitionRejected` for an unknown time zone or category, `StaffChangeRejected` for anyone but an
        admin of the jurisdiction (or the operator's CLI)."""
        if not accounts.may_manage_staff(by) or (by is not None and not by.acts_for(jurisdiction_id)):
            raise StaffChangeRejected(
                StaffProblem.not_allowed, "only an admin defines the jurisdiction's SLA"
            )
        current = await self.definitions.current(jurisdiction_id)
        codes = {c.service_code for c in definition.categories}
        known = {code for code in codes if await self.catalogue.get(jurisdiction_id, code) is not None}
        payload = decide_definition(
            definition, current=current.definition if current else None, known_codes=known
        )
        if payload is None:
            return None
        actor, source = actor_of(by, self.operator)
        event = staff_event(payload, jurisdiction_id=jurisdiction_id, actor=actor, source=source)
        await self.store.add_change(event, staff_id=None)
        await publish_change(self.store, self.config_log, event.event_id, what="SLA definition recorded")
        return event

    async def current(self, jurisdiction_id: str) -> DefinedSla | None:
        return await self.definitions.current(jurisdiction_id)
