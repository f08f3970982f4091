"""Outbound's views folded from the log, and what the folds need from storage.

Each handler runs in the consumer runner's transaction (effect + inbox + position): the rows are bound to it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from civicloop_events import Event, ServiceAreaDefined, ServiceDefined
from civicloop_events.payloads import (
    BodyDefined,
    BodyPaused,
    BodyPollNudged,
    BodyResumed,
    ExternalReferenceAssigned,
    RoutingRulesDefined,
)


class OutboundConfigRows(abc.ABC):
    """Bodies, routing rules, service areas and the catalogue's names, as sending and routing read them."""

    @abc.abstractmethod
    async def save_body(self, event: Event[BodyDefined]) -> None:
        """The latest definition of a body replaces the previous one (its pause stays)."""

    @abc.abstractmethod
    async def pause_body(self, event: Event[BodyPaused]) -> None: ...

    @abc.abstractmethod
    async def resume_body(self, event: Event[BodyResumed]) -> None: ...

    @abc.abstractmethod
    async def replace_rules(self, event: Event[RoutingRulesDefined]) -> None:
        """A jurisdiction's rules are replaced whole, in their order."""

    @abc.abstractmethod
    async def save_service(self, event: Event[ServiceDefined]) -> None: ...

    @abc.abstractmethod
    async def save_area(self, event: Event[ServiceAreaDefined]) -> None: ...

    @abc.abstractmethod
    async def nudge_poll(self, event: Event[BodyPollNudged]) -> None:
        """The body's next poll is due at once (its back-off cleared, its batch tokens too), once."""


# (jurisdiction_id, body_id, external_id, request_id): which of our requests a body's id names.
ExternalReference = tuple[str, str, str, str]


class ExternalReferences(abc.ABC):
    @abc.abstractmethod
    async def remember(self, references: Sequence[ExternalReference]) -> None:
        """Each reference kept once, the first one of a (jurisdiction, body, id) staying (the poller reads updates
        through them)."""


async def when_config_event_update_outbound_config(rows: OutboundConfigRows, event: Event[Any]) -> None:
    """Fold one `jurisdiction.config` event; the events outbound does not read change nothing."""
    p = event.payload
    if isinstance(p, BodyDefined):
        await rows.save_body(event)
    elif isinstance(p, BodyPaused):
        await rows.pause_body(event)
    elif isinstance(p, BodyResumed):
        await rows.resume_body(event)
    elif isinstance(p, RoutingRulesDefined):
        await rows.replace_rules(event)
    elif isinstance(p, ServiceDefined):
        await rows.save_service(event)
    elif isinstance(p, ServiceAreaDefined):
        await rows.save_area(event)
    elif isinstance(p, BodyPollNudged):
        await rows.nudge_poll(event)


def external_references(events: Sequence[Event[Any]]) -> list[ExternalReference]:
    """The references a batch assigns, in log order."""
    return [
        (e.jurisdiction_id, e.payload.body_id, e.payload.external_id, e.request_id)
        for e in events
        if isinstance(e.payload, ExternalReferenceAssigned) and e.request_id
    ]


async def when_external_references_assigned_remember_them(
    refs: ExternalReferences, events: Sequence[Event[Any]]
) -> None:
    """`ExternalReferenceAssigned` -> the body's id of the request, for hearing back from the body; a batch of
    events in one write."""
    if references := external_references(events):
        await refs.remember(references)


async def when_external_reference_assigned_remember_it(refs: ExternalReferences, event: Event[Any]) -> None:
    """One event (a batch of one)."""
    await when_external_references_assigned_remember_them(refs, [event])
