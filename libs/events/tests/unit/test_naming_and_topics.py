"""The naming rule, renamed types' earlier names, each type's topic, and the contract's one version."""

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from civicloop_events import CONTRACT_VERSION, REGISTRY, decode_event, encode_event
from civicloop_events.payloads import (
    BodyDefined,
    ClusterDetected,
    EventPayload,
    LocationResolved,
    ServiceAreaDefined,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_events.schemas import schema_documents
from civicloop_events.topic_roles import TopicRole
from civicloop_events.topics import Topics

GOLDEN = Path(__file__).parents[1] / "golden"
HISTORY = GOLDEN / "history"
EVENTS_DOC = Path(__file__).parents[4] / "docs" / "events.md"

# `<aggregate>.<fact>`: the aggregate, then the fact in the past tense, in snake_case; a fact about one part of
# the aggregate names the part first (`request.status.changed`).
AGGREGATES = {"request", "jurisdiction", "cluster", "staff"}
NAME = re.compile(r"^(?P<aggregate>[a-z]+)\.[a-z][a-z_]*(\.[a-z][a-z_]*)?$")
PRODUCERS = {"intake", "gateway", "outbound", "geo", "projections", "importer", "agent", "admin"}


@pytest.mark.parametrize("event_type", REGISTRY.event_types())
def test_every_name_is_aggregate_dot_fact_never_a_producer(event_type: str):
    match = NAME.match(event_type)
    assert match, f"{event_type!r} is not <aggregate>.<fact>"
    assert match["aggregate"] in AGGREGATES, (
        f"{event_type!r}: a new aggregate? add it to the rule and the docs"
    )
    assert not set(event_type.replace("_", ".").split(".")) & PRODUCERS, f"{event_type!r} names a producer"


def test_every_earlier_name_has_a_fixture_as_it_was_written():
    written = {json.loads(p.read_text())["type"] for p in HISTORY.glob("*.json")}
    assert set(REGISTRY.aliases) <= written


@pytest.mark.parametrize("path", sorted(HISTORY.glob("*.json")), ids=lambda p: p.stem)
def test_an_event_written_under_an_earlier_name_is_read_under_the_current_one(path: Path):
    raw = json.loads(path.read_text())
    event = decode_event(raw)
    assert event.type == REGISTRY.canonical(raw["type"]) != raw["type"]
    assert isinstance(event.payload, REGISTRY.models[(event.type, event.schema_version)])
    # Read again after a writer of today re-encodes it: the same event.
    assert decode_event(encode_event(event)) == event


def same_event_under_current_name(path: Path) -> Path:
    raw = json.loads(path.read_text())
    return GOLDEN / f"{REGISTRY.canonical(raw['type'])}.v{raw['schema_version']}.json"


RENAMED = sorted(p for p in HISTORY.glob("*.json") if ".v1.no_place" not in p.name)


def test_every_renamed_fixture_has_its_twin_under_the_current_name():
    assert RENAMED and all(same_event_under_current_name(p).exists() for p in RENAMED)


@pytest.mark.parametrize("path", RENAMED, ids=lambda p: p.stem)
def test_old_and_new_names_of_one_event_fold_identically(path: Path):
    """The same fact on the log under its earlier and its current name: readers cannot tell them apart."""
    old, new = json.loads(path.read_text()), json.loads(same_event_under_current_name(path).read_text())
    assert old["type"] != new["type"] and {**old, "type": new["type"]} == new
    assert decode_event(old) == decode_event(new)
    assert encode_event(decode_event(old)) == encode_event(decode_event(new))


def test_an_alias_cannot_be_a_current_name_or_belong_to_two_types():
    from civicloop_events.payloads import StatusChangedV1  # a first version: it registers alone
    from civicloop_events.registry import EventRegistry

    registry = EventRegistry()
    registry.register(StatusChangedV1)

    class Clash(StatusChangedV1):
        event_type = "request.other"
        aliases = ("request.status.changed",)

    with pytest.raises(ValueError, match="alias"):
        registry.register(Clash)


def test_each_type_names_its_topic_and_topics_resolve_it():
    topics = Topics(prefix="t1.")
    assert topics.of(ServiceRequestSubmitted) == topics.request_events == "t1.requests.events"
    assert topics.of(LocationResolved) == topics.of(ClusterDetected) == topics.request_events
    assert topics.of(ServiceAreaDefined) == topics.of(BodyDefined) == topics.jurisdiction_config
    assert topics.of(StatusChanged(status="closed")) == topics.request_events
    for (event_type, _), model in REGISTRY.models.items():
        expected = (
            TopicRole.jurisdiction_config
            if event_type.startswith(
                ("jurisdiction.", "staff.")
            )  # staff accounts: one order per jurisdiction
            else TopicRole.request_events
        )
        assert model.topic is expected, event_type
    assert {topics.for_role(role) for role in TopicRole} <= {spec.name for spec in topics.specs()}


def test_the_contract_version_is_the_package_version_and_stamps_the_schemas():
    assert version("civicloop-events") == CONTRACT_VERSION
    assert all(CONTRACT_VERSION in doc["$comment"] for doc in schema_documents().values())
    major_minor = ".".join(CONTRACT_VERSION.split(".")[:2])
    assert f"(contract {major_minor})" in EVENTS_DOC.read_text()


def test_the_catalogue_in_the_docs_names_every_type_and_every_earlier_name():
    doc = EVENTS_DOC.read_text()
    missing = [n for t in REGISTRY.event_types() for n in REGISTRY.names_of(t) if f"`{n}`" not in doc]
    assert missing == [], "add them to docs/events.md (Catalogue)"


def test_schemas_accept_every_name_a_type_was_written_under():
    doc = schema_documents()["request.submitted.v1.json"]
    assert doc["properties"]["type"]["enum"] == ["request.submitted", "intake.service_request.submitted"]
    assert schema_documents()["request.status.changed.v1.json"]["properties"]["type"]["const"] == (
        "request.status.changed"
    )


def test_every_payload_class_of_every_context_module_is_registered():
    """A class without `@registered`, or a module the package does not import, would be silently left out."""
    import importlib
    import pkgutil

    import civicloop_events.payloads as package

    modules = [
        importlib.import_module(f"{package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(package.__path__)
    ]
    declared = {
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, EventPayload)
        and obj is not EventPayload
        and obj.__module__ == module.__name__
    }
    assert declared == set(REGISTRY.models.values())
    assert {m.__name__.rsplit(".", 1)[1] for m in modules} >= {
        "requests",
        "delivery",
        "geo",
        "catalogue",
        "bodies",
    }
    assert all(getattr(package, cls.__name__) is cls for cls in declared), (
        "re-export it from payloads/__init__.py"
    )
