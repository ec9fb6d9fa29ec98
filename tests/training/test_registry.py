"""The registry's life cycle rules: the baseline, one live row, one training, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, NotFound, ValidationFailed
from tests.factories import make_user, principal_of
from training import live_pointer, registry
from training.models import ModelStatus, ModelVersion


def test_the_baseline_is_version_one_and_live_until_something_else_is(session):
    assert registry.live(session).version == registry.BASELINE_VERSION
    versions = registry.list_versions(session)
    assert [(v.version, v.status, v.name) for v in versions] == [(1, "live", "baseline")]
    # Its artifacts are the defaults of bot/: the pointer says so with nulls.
    pointer = live_pointer.pointer_for(versions[0])
    assert pointer["baseline"] is True
    assert pointer["classifier"] is None and pointer["rasa_model"] is None


def test_a_second_live_row_is_impossible(session):
    registry.ensure_baseline(session)
    session.add(ModelVersion(version=2, status=ModelStatus.LIVE, live_marker=True))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_second_training_while_one_runs_is_refused(session):
    first = registry.create_version(session, actor=None, snapshot_id=None)
    with pytest.raises(Conflict) as refused:
        registry.create_version(session, actor=None, snapshot_id=None)
    assert f"model version {first.version} is still training" in refused.value.message
    assert registry.running(session).version == first.version
    # Finishing it frees the slot.
    registry.finish(first, ModelStatus.FAILED, "failed: test")
    session.flush()
    assert registry.create_version(session, actor=None, snapshot_id=None).version == 3


def test_promoting_unknown_or_unfinished_versions_names_them(session):
    with pytest.raises(NotFound) as missing:
        registry.promote(session, version_id=42, actor=None)
    assert "42" in missing.value.message and missing.value.field == "version_id"
    row = registry.create_version(session, actor=None, snapshot_id=None)
    with pytest.raises(Conflict) as training:
        registry.promote(session, version_id=row.version, actor=None)
    assert f"model version {row.version} is training" in training.value.message
    registry.finish(row, ModelStatus.FAILED, "failed: test")
    with pytest.raises(Conflict) as failed:
        registry.promote(session, version_id=row.version, actor=None)
    assert "is failed" in failed.value.message
    with pytest.raises(Conflict):
        registry.rollback(session, to_version_id=row.version, actor=None)
    with pytest.raises(Conflict, match="already live"):
        registry.promote(session, version_id=1, actor=None)
    assert registry.live(session).version == 1


def test_a_forced_promotion_needs_a_real_reason(session):
    row = registry.create_version(session, actor=None, snapshot_id=None)
    registry.finish(row, ModelStatus.CANDIDATE)
    with pytest.raises(ValidationFailed) as refused:
        registry.promote(session, version_id=row.version, actor=None, force_reason="  ok ")
    assert refused.value.field == "force_reason"
    assert registry.live(session).version == 1


def test_cancelling_a_training_that_has_not_started_ends_it_at_once(session):
    actor = principal_of(make_user(session, "ml_engineer"))
    row = registry.create_version(session, actor=actor, snapshot_id=None)
    registry.cancel(session, version_id=row.version, actor=actor)
    assert row.status == ModelStatus.CANCELLED and row.training_marker is None
    with pytest.raises(Conflict, match="not training"):
        registry.cancel(session, version_id=row.version, actor=actor)
