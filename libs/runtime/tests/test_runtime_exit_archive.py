"""The exit archive's pure parts: a record's line round-trips its bytes, text or not; `verify` refuses an archive
with a damaged, missing or added file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from civicloop_events.topics import Topics
from civicloop_runtime.exit_archive import (
    CHECKSUMS,
    FORMAT,
    MANIFEST,
    ArchiveError,
    decode_bytes,
    record_line,
    topic_names,
    verify,
)
from hypothesis import given
from hypothesis import strategies as st

maybe_bytes = st.none() | st.binary(max_size=64) | st.text(max_size=64).map(str.encode)


@given(
    key=maybe_bytes,
    value=maybe_bytes,
    headers=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.binary(max_size=16)), max_size=4),
    offset=st.integers(0, 2**40),
    timestamp=st.integers(0, 2**45),
)
def test_a_record_line_gives_back_every_byte(key, value, headers, offset, timestamp):
    doc = json.loads(record_line(offset=offset, timestamp=timestamp, key=key, value=value, headers=headers))
    assert (doc["offset"], doc["timestamp_ms"]) == (offset, timestamp)
    assert decode_bytes("key", doc) == key
    assert decode_bytes("value", doc) == value
    assert [(h["name"], decode_bytes("value", h)) for h in doc["headers"]] == headers


def test_an_events_value_stays_readable_text():
    event = b'{"event_id":"e1","type":"request.submitted","payload":{"description":"caf\xc3\xa9"}}'
    doc = json.loads(record_line(offset=0, timestamp=1, key=b"SR-1", value=event, headers=[]))
    assert doc["value"] == event.decode() and doc["key"] == "SR-1"
    assert "value_b64" not in doc


def test_an_archive_names_its_topics_without_the_deployments_prefix():
    assert topic_names(Topics(prefix="county.")) == {
        "requests.events": "county.requests.events",
        "requests.events.dlq": "county.requests.events.dlq",
        "jurisdiction.config": "county.jurisdiction.config",
    }


def archive(tmp_path: Path) -> Path:
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "partition-0000.jsonl").write_text('{"offset":0}\n')
    (tmp_path / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": {}}))
    sums = "".join(
        f"{hashlib.sha256((tmp_path / p).read_bytes()).hexdigest()}  {p}\n"
        for p in ("log/partition-0000.jsonl", MANIFEST)
    )
    (tmp_path / CHECKSUMS).write_text(sums)
    return tmp_path


def test_an_intact_archive_verifies(tmp_path):
    assert verify(archive(tmp_path))["format"] == FORMAT


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: (d / "log" / "partition-0000.jsonl").write_text('{"offset":1}\n'), "checksums differ"),
        (lambda d: (d / "log" / "partition-0000.jsonl").unlink(), "missing or unlisted"),
        (lambda d: (d / "log" / "extra.jsonl").write_text("{}\n"), "missing or unlisted"),
    ],
)
def test_a_damaged_archive_is_refused(tmp_path, damage, error):
    directory = archive(tmp_path)
    damage(directory)
    with pytest.raises(ArchiveError, match=error):
        verify(directory)
