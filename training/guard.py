"""The promotion guard: a candidate must not be worse than the live model.

Three checks, on the candidate's frozen held-out set (training.evaluation.compare):
- correct automation at the configured wrong-answer rate (the best operating point within
  the target on the held-out risk-coverage curve): is the classifier itself worse?
- correct automation at the thresholds each version ships with: would customers get fewer
  right answers the moment it goes live? (A better classifier behind thresholds calibrated
  too cautiously is still a worse bot.)
- out-of-scope recall averaged over every threshold (`oos_auroc`: the area under the ROC
  curve of confidence, in scope against out of scope; skipped, and said so, when the
  held-out set has no out-of-scope rows). Recall at one threshold would not do: at its
  calibrated thresholds, or at the target rate, a model that answers more (because it is
  right more often) lets more out-of-scope messages through and would be refused for it.
"Worse" means below live by more than `promotion_tolerance` (TANDEM_PROMOTION_TOLERANCE,
absolute, default 0.01). The out-of-scope figure rests on few rows (a held-out set of a hundred
out-of-scope messages), so its tolerance is at least the sampling noise of the difference
(one-sided 95%, the binomial bound: wider than the AUROC's own), or a candidate would be
refused for two messages. A refused candidate can still be promoted by an ML engineer with
a written reason (training.registry.promote(force_reason=...)), which is audited as forced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.settings import get_settings

CHECKS = (("correct_automation_at_target", "correct automation at the target wrong-answer rate"),
          ("correct_automation", "correct automation at the thresholds that go live"),
          ("oos_auroc", "out-of-scope recall over all thresholds (AUROC)"))
ONE_SIDED_95 = 1.645


def noise_tolerance(recall: float, rows: int) -> float:
    """One-sided 95% bound of the difference of two recalls measured on `rows` rows each."""
    if rows <= 0:
        return 0.0
    p = min(max(recall, 0.0), 1.0)
    return ONE_SIDED_95 * math.sqrt(2 * p * (1 - p) / rows)


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
    oos_rows = int((comparison.get("held_out") or {}).get("out_of_scope") or 0)
    reasons: list[str] = []
    checks: list[dict[str, Any]] = []
    for key, label in CHECKS:
        ours, theirs = candidate.get(key), live.get(key)
        if ours is None or theirs is None:
            checks.append({"metric": key, "candidate": ours, "live": theirs, "passed": True,
                           "note": "not measured: the held-out set has no such rows"})
            continue
        allowed = tolerance
        if key == "oos_auroc":
            allowed = max(tolerance, noise_tolerance(float(theirs), oos_rows))
        passed = float(ours) >= float(theirs) - allowed
        checks.append({"metric": key, "candidate": ours, "live": theirs, "passed": passed,
                       "tolerance": round(allowed, 4)})
        if not passed:
            reasons.append(f"{label} {float(ours):.3f} is below live's {float(theirs):.3f} "
                           f"by more than {allowed:.3f}")
    return GuardResult(not reasons, tolerance, reasons, checks)
