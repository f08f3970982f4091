"""The pure rules of lateness (`domain/late_imports.py`): what the ongoing import reads, and what becomes of an update
heard about a request not known yet."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_open311.wire import RemoteUpdate
from civicloop_outbound.domain.late_imports import (
    Known,
    Limits,
    Step,
    give_up_reason,
    import_windows,
    look_back_due,
    next_step,
    update_from_record,
    update_record,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
FIVE_MIN = timedelta(minutes=5)
LOOKBACK = timedelta(hours=72)


def windows(last: datetime | None, *, by_updated: bool = False, first: timedelta = timedelta(hours=24)):
    return import_windows(
        NOW, last, overlap=FIVE_MIN, lookback=LOOKBACK, first_look_back=first, by_updated=by_updated
    )


def test_a_recent_import_still_rereads_the_look_back_of_creation_dates():
    reads = windows(NOW - timedelta(minutes=15))
    assert reads.requested_start == NOW - LOOKBACK
    assert reads.updated_start is None  # the back-end cannot filter on updated_after


def test_by_updated_date_it_resumes_where_the_last_import_ended_minus_the_overlap():
    last = NOW - timedelta(minutes=15)
    reads = windows(last, by_updated=True)
    assert (reads.requested_start, reads.updated_start) == (NOW - LOOKBACK, last - FIVE_MIN)


def test_an_import_behind_by_more_than_the_look_back_resumes_where_it_ended():
    last = NOW - timedelta(days=10)
    reads = windows(last, by_updated=True)
    assert reads.requested_start == reads.updated_start == last - FIVE_MIN


def test_the_first_import_looks_back_the_longer_of_its_history_and_the_look_back():
    assert windows(None).requested_start == NOW - LOOKBACK
    history = windows(None, first=timedelta(days=30), by_updated=True)
    assert history.requested_start == history.updated_start == NOW - timedelta(days=30)


def test_between_look_backs_the_import_only_resumes():
    last = NOW - timedelta(minutes=15)
    reads = import_windows(
        NOW,
        last,
        overlap=FIVE_MIN,
        lookback=LOOKBACK,
        first_look_back=timedelta(hours=24),
        by_updated=True,
        look_back_due=False,
    )
    assert reads.requested_start == reads.updated_start == last - FIVE_MIN


def test_the_look_back_is_due_once_an_hour():
    hour = timedelta(hours=1)
    assert look_back_due(NOW, None, hour)
    assert not look_back_due(NOW, NOW - timedelta(minutes=59), hour)
    assert look_back_due(NOW, NOW - hour, hour)


HEARD = NOW - timedelta(hours=1)


def step(known: Known, *, attempts: int = 0, importing: bool = True, heard: datetime = HEARD) -> Step:
    return next_step(known, remembered_at=heard, now=NOW, attempts=attempts, importing=importing)


def test_an_update_heard_before_its_request_was_imported_is_in_that_import():
    imported = Known(True, "imported", "category by same code", HEARD + timedelta(minutes=1))
    assert step(imported) is Step.cover


def test_an_update_heard_after_the_import_decision_is_applied():
    imported = Known(True, "imported", "category by same code", HEARD - timedelta(minutes=1))
    assert step(imported) is Step.apply


def test_a_request_that_became_known_by_its_reference_gets_the_update_applied():
    assert step(Known(referenced=True)) is Step.apply
    sent = Known(True, "skipped", "sent by CivicLoop (known reference)", HEARD - timedelta(hours=2))
    assert step(sent) is Step.apply


def test_an_unknown_request_is_fetched_while_the_body_imports_and_given_up_after_the_limit():
    unknown = Known(referenced=False)
    assert step(unknown) is Step.fetch
    assert step(unknown, attempts=Limits().max_fetches - 1) is Step.fetch
    assert step(unknown, attempts=Limits().max_fetches) is Step.give_up
    assert "did not return the request in 5 reads" in give_up_reason(unknown, importing=True, attempts=5)


def test_a_body_that_does_not_import_waits_for_a_reference_then_gives_up():
    unknown = Known(referenced=False)
    assert step(unknown, importing=False) is Step.wait
    assert step(unknown, importing=False, heard=NOW - Limits().max_wait) is Step.give_up
    assert "does not import" in give_up_reason(unknown, importing=False, attempts=0)


@pytest.mark.parametrize(
    "reason",
    [
        "service_code INTERNAL is excluded",
        "no category matches the back-end's service_code 'X' and no fallback is set",
        "no location (neither lat/long nor an address)",
    ],
)
def test_a_request_not_imported_settles_its_updates_as_skipped(reason):
    assert step(Known(False, "skipped", reason, HEARD)) is Step.skip


def test_a_request_we_sent_is_not_fetched_again_but_waits_for_its_reference_for_a_while():
    ours = Known(False, "skipped", "sent by CivicLoop (description carries the CivicLoop marker)", HEARD)
    assert step(ours) is Step.wait
    assert step(ours, attempts=99) is Step.wait  # never fetched again, whatever the count
    assert step(ours, heard=NOW - Limits().max_wait) is Step.give_up
    assert "reference never arrived" in give_up_reason(ours, importing=True, attempts=1)


def test_a_kept_update_reads_back_the_same_to_the_microsecond():
    update = RemoteUpdate(
        update_id="u-7",
        service_request_id="1-870704831",
        status="closed",
        updated_datetime=datetime(2026, 12, 4, 9, 25, 28, 512000, tzinfo=UTC),
        description="Crew cleared the encampment · ä",
        media_url=None,
        external_status_code="DONE",
    )
    assert update_from_record(update_record(update)) == update
