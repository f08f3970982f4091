"""JSON Schemas of the contract, generated from the models and checked into `libs/events/schemas/`.

Other languages and auditors read these files; a test fails when the models and the files drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from civicloop_events import CONTRACT_VERSION
from civicloop_events.envelope import Event
from civicloop_events.registry import REGISTRY, EventRegistry

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
BASE_URI = "https://civicloop.org/schemas/events"


def schema_documents(registry: EventRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every (type, version) the registry knows, each as a full envelope."""
    docs: dict[str, dict[str, Any]] = {}
    for (event_type, version), model in sorted(registry.models.items()):
        name = f"{event_type}.v{version}.json"
        schema = Event[model].model_json_schema()  # type: ignore[valid-type]
        schema["$id"] = f"{BASE_URI}/{event_type}/v{version}"
        schema["$comment"] = f"civicloop-events contract {CONTRACT_VERSION}; topic role {model.topic.value}"
        schema["title"] = f"{event_type} v{version}"
        names = registry.names_of(event_type)
        if len(names) == 1:
            schema["properties"]["type"]["const"] = event_type
        else:  # earlier names are on the log and still valid
            schema["properties"]["type"]["enum"] = names
        schema["properties"]["schema_version"]["const"] = version
        docs[name] = schema
    return docs


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, doc in schema_documents().items():
        path = directory / name
        path.write_text(render(doc))
        written.append(path)
    return written


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing, stale or no longer generated."""
    expected = {name: render(doc) for name, doc in schema_documents().items()}
    present = {p.name: p.read_text() for p in directory.glob("*.json")} if directory.exists() else {}
    return sorted(
        [n for n, text in expected.items() if present.get(n) != text]
        + [n for n in present if n not in expected]
    )
