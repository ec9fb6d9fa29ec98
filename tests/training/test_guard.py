"""The promotion guard compares candidate and live with a tolerance."""

from __future__ import annotations

from training import guard


def comparison(candidate: dict, live: dict) -> dict:
    return {"candidate": candidate, "live": live}


def test_a_candidate_as_good_as_live_within_tolerance_passes():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.695, "oos_recall": 0.80},
        {"correct_automation_at_target": 0.70, "oos_recall": 0.80}), tolerance=0.01)
    assert result.allowed and result.reasons == []


def test_worse_correct_automation_is_refused_and_named():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.60, "oos_recall": 0.90},
        {"correct_automation_at_target": 0.70, "oos_recall": 0.80}), tolerance=0.01)
    assert not result.allowed
    assert len(result.reasons) == 1 and "correct automation" in result.reasons[0]


def test_worse_out_of_scope_recall_is_refused():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.80, "oos_recall": 0.50},
        {"correct_automation_at_target": 0.70, "oos_recall": 0.80}), tolerance=0.01)
    assert not result.allowed and "out-of-scope recall" in result.reasons[0]


def test_unmeasured_out_of_scope_recall_does_not_block_but_is_reported():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.80, "oos_recall": None},
        {"correct_automation_at_target": 0.70, "oos_recall": None}))
    assert result.allowed
    assert [c["metric"] for c in result.checks if "note" in c] == ["oos_recall"]


def test_the_tolerance_comes_from_settings(monkeypatch):
    from tests.conftest import configure

    configure(TANDEM_PROMOTION_TOLERANCE="0.2")
    try:
        result = guard.check(comparison({"correct_automation_at_target": 0.55},
                                        {"correct_automation_at_target": 0.70}))
        assert result.allowed and result.tolerance == 0.2
    finally:
        monkeypatch.delenv("TANDEM_PROMOTION_TOLERANCE")
        configure()
