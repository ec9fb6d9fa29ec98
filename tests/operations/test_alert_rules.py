"""The shipped Prometheus alert rules name only metrics the platform exports."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO

SOURCES = [REPO / "core" / "metrics.py", REPO / "operations" / "metrics_service.py"]
SUFFIXES = ("_bucket", "_count", "_sum")


def _exported() -> set[str]:
    names: set[str] = set()
    for source in SOURCES:
        names |= set(re.findall(r'"(tandem_[a-z_]+)"', source.read_text()))
    return names


def test_every_alert_uses_an_exported_metric_and_says_what_it_means():
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yml").read_text())
    exported = _exported()
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 8
    docs = (REPO / "docs" / "operations.md").read_text()
    for rule in alerts:
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in {"page", "warn"}
        assert f"`{rule['alert']}`" in docs, f"{rule['alert']} is not explained"
        for name in re.findall(r"tandem_[a-z_]+", rule["expr"]):
            base = next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), name)
            assert base in exported, f"{rule['alert']} uses {name}, which nothing exports"
