"""Folding a batch of request events into per-request states, as folding them one at a time would."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from civicloop_events import Event

S = TypeVar("S")


def fold_by_request(
    states: Mapping[str, S], events: Sequence[Event[Any]], fold: Callable[[S | None, Event[Any]], S | None]
) -> dict[str, S]:
    """`events` (log order) folded into `states` (a missing one: none yet) with `fold`: request number -> state after
    the batch, for every state an event changed (`fold` returns the very state it was given when nothing changed)."""
    current: dict[str, S] = dict(states)
    changed: dict[str, S] = {}
    for event in events:
        number = event.request_id
        if number is None:
            continue
        before = current.get(number)
        after = fold(before, event)
        if after is not None and after is not before:
            current[number] = changed[number] = after
    return changed
