"""Ranking duplicate candidates (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicloop_geo.domain.duplicates import DuplicatePolicy, NearbyRequest, rank_candidates, score
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 11, 20, tzinfo=UTC)
POLICY = DuplicatePolicy(radius_m=500, window_days=30, max_candidates=3)


def test_nearer_same_category_recent_ranks_first() -> None:
    nearby = [
        NearbyRequest("FAR", "pothole", 400, T0),
        NearbyRequest("RELATED", "sinkhole", 10, T0),
        NearbyRequest("NEAR", "pothole", 20, T0 - timedelta(hours=1)),
        NearbyRequest("OLD", "pothole", 20, T0 - timedelta(days=29)),
    ]
    ranked = rank_candidates(nearby, request_id="NEW", service_code="pothole", submitted_at=T0, policy=POLICY)
    assert [c.request_id for c in ranked] == ["NEAR", "RELATED", "OLD"]
    assert ranked[0].score > ranked[1].score > ranked[2].score


def test_the_request_itself_and_anything_past_radius_or_window_are_dropped() -> None:
    nearby = [
        NearbyRequest("NEW", "pothole", 0, T0),
        NearbyRequest("OUT", "pothole", 501, T0),
        NearbyRequest("STALE", "pothole", 5, T0 - timedelta(days=31)),
    ]
    assert (
        rank_candidates(nearby, request_id="NEW", service_code="pothole", submitted_at=T0, policy=POLICY)
        == []
    )


@given(st.lists(st.tuples(st.floats(0, 500), st.integers(0, 30 * 24), st.booleans()), max_size=30))
def test_scores_are_in_unit_range_and_ranked_descending(rows: list[tuple[float, int, bool]]) -> None:
    nearby = [
        NearbyRequest(f"R{i}", "pothole" if same else "other", d, T0 - timedelta(hours=h))
        for i, (d, h, same) in enumerate(rows)
    ]
    ranked = rank_candidates(nearby, request_id="NEW", service_code="pothole", submitted_at=T0, policy=POLICY)
    assert len(ranked) <= POLICY.max_candidates
    assert all(0 <= c.score <= 1 for c in ranked)
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
    for n in nearby:
        assert 0 <= score(n, service_code="pothole", submitted_at=T0, policy=POLICY) <= 1
