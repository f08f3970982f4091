"""GET parameters into queries: lists (RQ-01), overrides (RQ-02), windows (RQ-03, FX-02), statuses (RQ-05),
G-50 empties, paging (PG-02), updated_after (UP-01), radius (GEO-01), extensions (CX-01)."""

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_gateway.domain.queries import (
    InvalidQuery,
    Limits,
    Order,
    comma_list,
    near,
    page,
    request_query,
    statuses,
    updates_query,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LIMITS = Limits(max_requests=1000, window_days=90, updates_window_hours=24, max_radius_m=50_000)


def q(**params):
    return request_query(
        {k: v if isinstance(v, list) else [v] for k, v in params.items()},
        jurisdiction_id="springfield",
        now=NOW,
        limits=LIMITS,
    )


def test_RQ_01_lists_are_comma_delimited_or_repeated_and_trimmed():
    assert comma_list(["a, b", "c", "a"]) == ("a", "b", "c")
    assert q(service_code=["POTHOLE,TREE", "LIGHT"]).service_codes == ("POTHOLE", "TREE", "LIGHT")


def test_G_50_empty_parameters_are_absent():
    empty = q(
        status="",
        service_code="",
        start_date="",
        end_date="",
        jurisdiction_id="",
        page="",
        lat="",
        extensions="",
    )
    assert empty == q()
    assert empty.statuses is None and empty.service_codes is None and empty.near is None


def test_RQ_03_default_window_is_the_last_90_days_capped_at_1000():
    query = q()
    assert query.requested.lower == NOW - timedelta(days=90)
    assert query.requested.upper > NOW
    assert query.page.limit == 1000 and query.page.offset == 0
    assert query.order is Order.newest_requested


def test_RQ_03_start_and_end_are_inclusive_and_a_date_covers_its_day():
    query = q(start_date="2026-01-01T00:00:00Z", end_date="2026-01-31")
    assert query.requested.lower == datetime(2026, 1, 1, tzinfo=UTC)
    assert query.requested.upper == datetime(2026, 2, 1, tzinfo=UTC)


def test_RQ_03_one_sided_windows_extend_90_days():
    only_start = q(start_date="2026-01-01T00:00:00Z").requested
    assert only_start.upper - only_start.lower == timedelta(days=90)
    only_end = q(end_date="2026-06-01T00:00:00Z").requested
    assert only_end.lower == datetime(2026, 6, 1, tzinfo=UTC) - timedelta(days=90)


def test_RQ_03_a_span_over_90_days_or_backwards_is_a_400():
    with pytest.raises(InvalidQuery, match="90 days"):
        q(start_date="2026-01-01T00:00:00Z", end_date="2026-04-02T00:00:00Z")
    with pytest.raises(InvalidQuery, match="before"):
        q(start_date="2026-02-01T00:00:00Z", end_date="2026-01-01T00:00:00Z")
    assert q(start_date="2026-01-01T00:00:00Z", end_date="2026-04-01T00:00:00Z").requested is not None


def test_RQ_05_bad_dates_and_statuses_are_400s_naming_the_parameter():
    with pytest.raises(InvalidQuery, match="start_date"):
        q(start_date="last week")
    with pytest.raises(InvalidQuery, match="status"):
        q(status="open,pending")
    assert statuses(["OPEN", "closed,open"]) == ("open", "closed")


def test_RQ_02_service_request_id_overrides_every_other_filter():
    query = q(
        service_request_id="A,B",
        status="closed",
        service_code="X",
        start_date="2001-01-01",
        lat="1",
        long="2",
        radius="3",
    )
    assert query.ids == ("A", "B")
    assert query.requested is None and query.statuses is None and query.service_codes is None
    assert query.near is None


def test_UP_01_updated_after_alone_lifts_the_default_window_and_sorts_by_update():
    query = q(updated_after="2020-01-01T00:00:00Z")
    assert query.requested is None
    assert query.updated_after == datetime(2020, 1, 1, tzinfo=UTC)
    assert query.order is Order.oldest_updated
    both = q(updated_after="2026-01-01", updated_before="2026-01-02", start_date="2026-01-01T00:00:00Z")
    assert both.requested is not None and both.order is Order.newest_requested
    assert both.updated_before == datetime(2026, 1, 3, tzinfo=UTC)
    with pytest.raises(InvalidQuery):
        q(updated_after="2026-02-01", updated_before="2026-01-01")


def test_PG_02_paging_is_one_based_with_the_core_cap():
    assert page(None, None, cap=1000).limit == 1000
    second = page("2", "50", cap=1000)
    assert (second.limit, second.offset, second.number) == (50, 50, 2)
    assert page("3", None, cap=1000).offset == 2000
    for bad in (("0", "10"), ("1", "0"), ("1", "1001"), ("x", None)):
        with pytest.raises(InvalidQuery):
            page(*bad, cap=1000)


def test_GEO_01_lat_long_radius_go_together_in_range():
    assert near("38.9", "-77.0", "500", max_radius_m=50_000).radius_m == 500
    assert near(None, None, None, max_radius_m=50_000) is None
    for bad in (
        ("38.9", None, "500"),
        ("91", "0", "10"),
        ("0", "181", "10"),
        ("0", "0", "0"),
        ("0", "0", "nan"),
        ("0", "0", "60000"),
    ):
        with pytest.raises(InvalidQuery):
            near(*bad, max_radius_m=50_000)


def test_CX_01_extensions_only_when_asked_and_must_be_a_boolean():
    assert q().extensions is False
    assert q(extensions="true").extensions is True
    assert q(extensions="false").extensions is False
    with pytest.raises(InvalidQuery):
        q(extensions="please")


def test_FX_02_updates_default_to_a_recent_window_and_take_explicit_ones():
    recent = updates_query({}, jurisdiction_id="j", now=NOW, limits=LIMITS).window
    assert recent.lower == NOW - timedelta(hours=24)
    explicit = updates_query(
        {"start_date": ["2026-11-23T08:00:00Z"], "end_date": ["2026-11-23T10:00:00Z"]},
        jurisdiction_id="j",
        now=NOW,
        limits=LIMITS,
    ).window
    assert explicit.lower == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert explicit.upper == datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC)
