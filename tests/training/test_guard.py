"""The promotion guard compares candidate and live with a tolerance."""

from __future__ import annotations

from training import guard


def comparison(candidate: dict, live: dict) -> dict:
    return {"candidate": candidate, "live": live}


def test_a_candidate_as_good_as_live_within_tolerance_passes():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.695, "oos_auroc": 0.80},
        {"correct_automation_at_target": 0.70, "oos_auroc": 0.80}), tolerance=0.01)
    assert result.allowed and result.reasons == []


def test_worse_correct_automation_is_refused_and_named():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.60, "oos_auroc": 0.90},
        {"correct_automation_at_target": 0.70, "oos_auroc": 0.80}), tolerance=0.01)
    assert not result.allowed
    assert len(result.reasons) == 1 and "correct automation" in result.reasons[0]


def test_worse_out_of_scope_recall_is_refused():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.80, "oos_auroc": 0.50},
        {"correct_automation_at_target": 0.70, "oos_auroc": 0.80}), tolerance=0.01)
    assert not result.allowed and "out-of-scope recall" in result.reasons[0]


def test_a_better_classifier_behind_too_cautious_thresholds_is_refused():
    # Better at the 10% operating point, but at the thresholds it would go live with it
    # answers fewer customers correctly than live does today.
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.86, "correct_automation": 0.56, "oos_auroc": 0.97},
        {"correct_automation_at_target": 0.79, "correct_automation": 0.61, "oos_auroc": 0.93}),
        tolerance=0.01)
    assert not result.allowed
    assert result.reasons == ["correct automation at the thresholds that go live 0.560 is "
                              "below live's 0.610 by more than 0.010"]


def test_out_of_scope_recall_tolerance_covers_the_noise_of_a_small_held_out_set():
    candidate = {"correct_automation_at_target": 0.89, "oos_auroc": 0.95}
    live = {"correct_automation_at_target": 0.86, "oos_auroc": 0.98}
    # Three messages of 100: within the noise, so allowed.
    small = guard.check({**comparison(candidate, live), "held_out": {"out_of_scope": 100}},
                        tolerance=0.01)
    assert small.allowed
    assert [c["tolerance"] for c in small.checks if c["metric"] == "oos_auroc"] == [0.0326]
    # The same three points on 2,000 messages are a real regression.
    large = guard.check({**comparison(candidate, live), "held_out": {"out_of_scope": 2000}},
                        tolerance=0.01)
    assert not large.allowed and "out-of-scope recall" in large.reasons[0]


def test_unmeasured_out_of_scope_recall_does_not_block_but_is_reported():
    result = guard.check(comparison(
        {"correct_automation_at_target": 0.80, "correct_automation": 0.7, "oos_auroc": None},
        {"correct_automation_at_target": 0.70, "correct_automation": 0.7, "oos_auroc": None}))
    assert result.allowed
    assert [c["metric"] for c in result.checks if "note" in c] == ["oos_auroc"]


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

