"""Property tests over EVERY registered (type, version), with payloads generated from each pydantic model.

A new type or version is covered the moment it is registered: its strategy is derived from its fields and their
constraints (`payload_strategy`). `test_every_type_has_a_strategy` fails when a registered model has a field this
derivation does not know; teach `_field_strategy` the new kind of field rather than leaving the type out.
"""

from __future__ import annotations

import enum
import re
import types
import typing
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from civicloop_events import REGISTRY, Event, decode_event, encode_event
from civicloop_events.payloads import EventPayload
from event_strategies import actor_kinds, envelope, numbers, times
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo

ALL_VERSIONS = sorted(REGISTRY.models)
HISTORICAL = [(t, v) for t, v in ALL_VERSIONS if v < REGISTRY.latest_version(t)]
ids = [f"{t}.v{v}" for t, v in ALL_VERSIONS]

json_scalars = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=10)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for m in metadata:
        for attr in ("min_length", "max_length", "ge", "gt", "le", "lt", "pattern"):
            if getattr(m, attr, None) is not None:
                found[attr] = getattr(m, attr)
    return found


def _field_strategy(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """A strategy for one field's values, honouring the constraints pydantic enforces on it."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    b = _bounds(metadata)
    if origin is typing.Annotated:
        return _field_strategy(args[0], [*metadata, *annotation.__metadata__])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([st.none() if a is type(None) else _field_strategy(a, metadata) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if annotation is Any:
        return json_values
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(list(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_strategy(annotation)
    if annotation is AwareDatetime or annotation is datetime:
        return times
    if annotation is date:
        return st.dates()
    if annotation is uuid.UUID:
        return st.uuids()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(b.get("ge", b.get("gt", -(2**40) - 1) + 1), b.get("le", 2**40))
    if annotation is float:
        return st.floats(
            min_value=b.get("ge", b.get("gt", -1e9)),
            max_value=b.get("le", b.get("lt", 1e9)),
            exclude_min="gt" in b,
            exclude_max="lt" in b,
            allow_nan=False,
        )
    if annotation is str:
        low, high = b.get("min_length", 0), min(b.get("max_length", 40), 40 + b.get("min_length", 0))
        if "pattern" in b:
            # pydantic's `$` is the end of the string; Python's also matches before a final newline.
            pattern = re.sub(r"\$$", r"\\Z", re.sub(r"^\^", r"\\A", b["pattern"]))
            return st.from_regex(pattern).filter(lambda s: low <= len(s) <= b.get("max_length", 10**6))
        return st.text(min_size=low, max_size=high)
    if origin is list:
        return st.lists(
            _field_strategy(args[0], []),
            min_size=b.get("min_length", 0),
            max_size=min(b.get("max_length", 3), 3),
        )
    if origin is tuple:  # fixed length, e.g. a bounding box
        return st.tuples(*(_field_strategy(a, []) for a in args))
    if origin is dict:
        return st.dictionaries(st.text(max_size=12), _field_strategy(args[1], []), max_size=3)
    raise NotImplementedError(f"no strategy for a field of type {annotation!r}: teach _field_strategy")


def _field(name: str, info: FieldInfo) -> st.SearchStrategy[Any]:
    return _field_strategy(info.annotation, list(info.metadata))


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Field values as JSON-ready data: every required field, each optional one either left out or generated."""
    required = {n: _field(n, f) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: _field(n, f) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional)


def payload_strategy(model: type[EventPayload]) -> st.SearchStrategy[EventPayload]:
    @st.composite
    def build(draw: st.DrawFn) -> EventPayload:
        data = draw(model_strategy(model))
        try:
            return model.model_validate(data)
        except ValidationError:
            # Only rules a model checks across fields (a `Location` needs a place) may reject generated values.
            assume(False)
            raise

    return build()


valid_payloads = payload_strategy


def envelopes(model: type[EventPayload]) -> st.SearchStrategy[Event[Any]]:
    return st.builds(
        envelope,
        valid_payloads(model),
        st.none() | numbers,
        times,
        actor_kinds,
        st.uuids(version=4).map(lambda u: uuid.UUID(str(u))),
    )


PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def test_the_property_tests_cover_every_registered_type_and_version():
    assert len(ALL_VERSIONS) == len(REGISTRY.models) >= 24
    assert {t for t, _ in ALL_VERSIONS} == set(REGISTRY.event_types())


@pytest.mark.parametrize("key", ALL_VERSIONS, ids=ids)
def test_every_type_has_a_strategy(key: tuple[str, int]):
    model = REGISTRY.models[key]
    strategy = payload_strategy(model)

    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payload=strategy)
    def valid(payload: EventPayload) -> None:
        assert isinstance(payload, model)

    valid()


@pytest.mark.parametrize("key", ALL_VERSIONS, ids=ids)
def test_any_valid_event_round_trips(key: tuple[str, int]):
    model = REGISTRY.models[key]

    @PROPERTY
    @given(event=envelopes(model))
    def round_trip(event: Event[Any]) -> None:
        wire = encode_event(event)
        decoded = decode_event(wire)
        latest = REGISTRY.latest_version(key[0])
        assert decoded.type == key[0] and decoded.schema_version == latest
        if key[1] == latest:
            assert decoded == event
            assert encode_event(decoded) == wire
        else:  # a historical version reads as a valid payload of the latest one
            assert isinstance(decoded.payload, REGISTRY.models[(key[0], latest)])
            assert decoded.model_copy(update={"payload": event.payload, "schema_version": key[1]}) == event

    round_trip()


@pytest.mark.parametrize("key", HISTORICAL, ids=[f"{t}.v{v}" for t, v in HISTORICAL])
def test_any_historical_payload_upcasts_to_a_valid_current_one(key: tuple[str, int]):
    """Whatever a writer of that version could put on the log, with or without its optional fields."""
    event_type, written = key
    latest_model = REGISTRY.models[(event_type, REGISTRY.latest_version(event_type))]

    @PROPERTY
    @given(payload=payload_strategy(REGISTRY.models[key]))
    def upcasts(payload: EventPayload) -> None:
        data = payload.model_dump(
            mode="json", exclude_unset=True
        )  # as a writer of that version put it on the wire
        before = repr(data)
        version, upcast = REGISTRY.upcast(event_type, written, data)
        assert repr(data) == before, "an upcaster must not change its input"
        assert isinstance(latest_model.model_validate(upcast), latest_model)
        assert version == latest_model.schema_version

    upcasts()
