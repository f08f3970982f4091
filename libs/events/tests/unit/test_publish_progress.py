"""A kept command's publish state, and how an outbox row's columns give it."""

from dataclasses import dataclass, replace

from civicloop_events.outbox_postgres import row_position, row_progress
from civicloop_events.positions import LogPosition, PublishProgress, PublishState


@dataclass(frozen=True)
class _Kept(PublishProgress):
    key: str
    events: int


def test_a_kept_record_starts_pending_with_its_own_fields_first() -> None:
    kept = _Kept("k-1", 2)
    assert (kept.key, kept.events) == ("k-1", 2)
    assert kept.state is PublishState.pending
    assert kept.position is None
    assert not kept.published


def test_a_published_record_says_so_and_keeps_its_position() -> None:
    kept = replace(_Kept("k-1", 1), state=PublishState.published, position=LogPosition(3, 41))
    assert kept.published
    assert kept.position == LogPosition(3, 41)


def test_the_state_is_the_text_the_state_column_holds() -> None:
    assert PublishState("pending") is PublishState.pending
    assert PublishState.published == "published"


def test_a_row_without_an_offset_has_no_position() -> None:
    row = {"state": "pending", "partition": None, "kafka_offset": None}
    assert row_position(row) is None
    assert row_progress(row) == {"state": PublishState.pending, "position": None}


def test_a_published_row_gives_its_state_and_position_as_keyword_arguments() -> None:
    row = {"state": "published", "partition": 2, "kafka_offset": 7}
    kept = _Kept("k-2", 1, **row_progress(row))
    assert kept.published
    assert kept.position == LogPosition(2, 7)
