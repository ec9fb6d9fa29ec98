"""The promotion guard: a candidate must not be worse than the live model.

Two checks, on the candidate's frozen held-out set (training.evaluation.compare):
- correct automation at the configured wrong-answer rate (the best operating point within
  the target on the held-out risk-coverage curve);
- out-of-scope recall at each model's calibrated thresholds (skipped, and said so, when the
  held-out set has no out-of-scope rows).
"Worse" means below live by more than `promotion_tolerance` (TANDEM_PROMOTION_TOLERANCE,
absolute, default 0.01). A refused candidate can still be promoted by an ML engineer with a
written reason (training.registry.promote(force_reason=...)), which is audited as forced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.settings import get_settings

CHECKS = (("correct_automation_at_target", "correct automation at the target wrong-answer rate"),
          ("oos_recall", "out-of-scope recall"))


@dataclass(frozen=True)
class GuardResult:
    allowed: bool
    tolerance: float
    reasons: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "tolerance": self.tolerance,
                "reasons": list(self.reasons), "checks": list(self.checks)}


def check(comparison: dict[str, Any], tolerance: float | None = None) -> GuardResult:
    tolerance = get_settings().promotion_tolerance if tolerance is None else tolerance
    candidate, live = comparison.get("candidate") or {}, comparison.get("live") or {}
    reasons: list[str] = []
    checks: list[dict[str, Any]] = []
    for key, label in CHECKS:
        ours, theirs = candidate.get(key), live.get(key)
        if ours is None or theirs is None:
            checks.append({"metric": key, "candidate": ours, "live": theirs, "passed": True,
                           "note": "not measured: the held-out set has no such rows"})
            continue
        passed = float(ours) >= float(theirs) - tolerance
        checks.append({"metric": key, "candidate": ours, "live": theirs, "passed": passed})
        if not passed:
            reasons.append(f"{label} {float(ours):.3f} is below live's {float(theirs):.3f} "
                           f"by more than {tolerance:.3f}")
    return GuardResult(not reasons, tolerance, reasons, checks)
