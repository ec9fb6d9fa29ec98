"""The model registry: versions, the live pointer, training starts, promotion and rollback.

Life cycle: training -> candidate | failed | cancelled; candidate -> live (promote, guarded);
live -> retired when another version becomes live; retired/candidate -> live again (rollback).

Version 1 is the baseline: the models the bot runs on before anything is promoted (the
classifier bot/actions/intents.py trains from bot/rasa/data/nlu.yml and the Rasa model
`tandem bot train` makes). It is registered lazily, the first time the registry is used
(`ensure_baseline`), so a fresh install needs no extra step and a rollback can always return
to it. Its artifacts are null: "the defaults of bot/".

Exactly one row is live: `live_marker` is unique (True on the live row, NULL elsewhere), and
the switch is a conditional UPDATE of the old live row, so two concurrent promotions cannot
both succeed (the loser gets 409). The same trick (`training_marker`) allows one training
at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.auth.service import Principal
from core.database import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.settings import get_settings
from training import live_pointer
from training.guard import GuardResult
from training.models import ModelStatus, ModelVersion

BASELINE_VERSION = 1
BASELINE_NAME = "baseline"
MIN_FORCE_REASON_CHARS = 10
TRAINED = (ModelStatus.CANDIDATE, ModelStatus.LIVE, ModelStatus.RETIRED)


@dataclass
class Promotion:
    version: ModelVersion
    previous: ModelVersion | None
    guard: GuardResult | None = None  # None: a rollback (no guard)
    forced: bool = False


def _actor_id(actor: Principal | None) -> int | None:
    return actor.user_id if actor is not None else None


# --- reading ---------------------------------------------------------------------------

def ensure_baseline(session: Session) -> ModelVersion:
    """Version 1, registered (live, unless something else is) the first time it is needed."""
    existing = session.get(ModelVersion, BASELINE_VERSION)
    if existing is not None:
        return existing
    any_live = session.scalar(select(ModelVersion).where(ModelVersion.live_marker.is_(True)))
    baseline = ModelVersion(
        version=BASELINE_VERSION, name=BASELINE_NAME, status=(
            ModelStatus.RETIRED if any_live else ModelStatus.LIVE),
        live_marker=None if any_live else True, progress=1.0,
        log="The default models of bot/ (bot/rasa/data/nlu.yml), registered as the baseline.\n",
        options={"baseline": True}, artifacts={}, metrics={},
        started_at=utcnow(), finished_at=utcnow(), promoted_at=utcnow())
    try:
        with session.begin_nested():
            session.add(baseline)
    except IntegrityError:  # registered by a concurrent caller meanwhile
        found = session.get(ModelVersion, BASELINE_VERSION)
        assert found is not None
        return found
    return baseline


def live(session: Session) -> ModelVersion:
    """The live version (the baseline until something else is promoted)."""
    ensure_baseline(session)
    row = session.scalar(select(ModelVersion).where(ModelVersion.live_marker.is_(True)))
    assert row is not None, "the registry has no live version"
    return row


def get(session: Session, version_id: int) -> ModelVersion:
    ensure_baseline(session)
    row = session.get(ModelVersion, version_id)
    if row is None:
        raise NotFound(f"model version {version_id} does not exist", field="version_id")
    return row


def list_versions(session: Session) -> list[ModelVersion]:
    ensure_baseline(session)
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.version.desc())))


def running(session: Session) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.training_marker.is_(True)))


# --- training --------------------------------------------------------------------------

def _abandon_if_stale(session: Session, row: ModelVersion) -> bool:
    """A training whose job died (worker killed) stops blocking new ones after the limit."""
    limit = get_settings().training_time_limit_seconds + 120
    if utcnow() - row.updated_at < timedelta(seconds=limit):
        return False
    row.status = ModelStatus.FAILED
    row.training_marker = None
    row.error = "abandoned: the training job stopped reporting progress"
    row.log += f"{row.error}\n"
    row.finished_at = utcnow()
    session.flush()
    return True


def create_version(session: Session, *, actor: Principal | None, snapshot_id: int | None,
                   name: str = "", options: dict[str, Any] | None = None) -> ModelVersion:
    """A new row in status training; 409 while another training runs."""
    ensure_baseline(session)
    current = running(session)
    if current is not None and not _abandon_if_stale(session, current):
        raise Conflict(f"model version {current.version} is still training; wait for it or "
                       f"cancel it first", field="snapshot_id", running_version=current.version)
    number = (session.scalar(select(func.max(ModelVersion.version))) or 0) + 1
    row = ModelVersion(version=number, name=name or f"v{number}", snapshot_id=snapshot_id,
                       status=ModelStatus.TRAINING, training_marker=True,
                       created_by_id=_actor_id(actor), options=dict(options or {}),
                       artifacts={}, metrics={}, log="", updated_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # a concurrent start won the race
        raise Conflict("another training was started at the same moment; wait for it",
                       field="snapshot_id") from exc
    return row


def start_training(session: Session, *, snapshot_id: int, actor: Principal | None,
                   skip_rasa: bool = False, name: str = "", enqueue: bool = True
                   ) -> ModelVersion:
    """Register a training from a snapshot; the worker runs it after this commits
    (`enqueue=False`: the caller runs training.jobs.run_training itself, e.g. the CLI)."""
    from training import jobs, tasks

    jobs.check_snapshot(session, snapshot_id)
    row = create_version(session, actor=actor, snapshot_id=snapshot_id, name=name,
                         options={"skip_rasa": skip_rasa, "source": "snapshot"})
    row.log = f"queued: train from snapshot {snapshot_id}" + (
        " (platform classifier only; Rasa model kept)" if skip_rasa else "") + "\n"
    audit.record(session, actor=_actor_id(actor), action="models.train",
                 target=f"model_version:{row.version}",
                 after={"snapshot_id": snapshot_id, "skip_rasa": skip_rasa})
    if enqueue:
        from core.tasks import enqueue_after_commit

        enqueue_after_commit(session, tasks.train_model, row.version)
    return row


def cancel(session: Session, *, version_id: int, actor: Principal | None) -> ModelVersion:
    row = get(session, version_id)
    if row.status != ModelStatus.TRAINING:
        raise Conflict(f"model version {version_id} is {row.status}, not training; "
                       "only a running training can be cancelled", field="version_id")
    row.cancel_requested = True
    if row.started_at is None:  # the job has not picked it up: nothing to stop
        finish(row, ModelStatus.CANCELLED, "cancelled before it started")
    audit.record(session, actor=_actor_id(actor), action="models.cancel",
                 target=f"model_version:{row.version}")
    session.flush()
    return row


def finish(row: ModelVersion, status: ModelStatus, message: str = "") -> None:
    row.status = status
    row.training_marker = None
    row.finished_at = utcnow()
    row.updated_at = utcnow()
    if status != ModelStatus.CANDIDATE:
        row.error = message or row.error
    else:
        row.progress = 1.0
    if message:
        row.log = (row.log or "") + f"[{utcnow():%H:%M:%S}] {message}\n"


# --- promotion -------------------------------------------------------------------------

def _switch_live(session: Session, new: ModelVersion, actor: Principal | None,
                 reason: str | None, forced: bool) -> ModelVersion:
    old = live(session)
    # Conditional: if another promotion moved the live row meanwhile, nothing matches.
    result = session.execute(
        update(ModelVersion)
        .where(ModelVersion.version == old.version, ModelVersion.live_marker.is_(True))
        .values(status=ModelStatus.RETIRED, live_marker=None, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the live model changed while promoting; reload and try again",
                       field="version_id")
    session.expire(old)
    new.status = ModelStatus.LIVE
    new.live_marker = True
    new.promoted_by_id = _actor_id(actor)
    new.promote_reason = reason
    new.forced = forced
    new.promoted_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("another promotion made a different version live at the same moment",
                       field="version_id") from exc
    live_pointer.write_after_commit(session, new)
    return old


def promote(session: Session, *, version_id: int, actor: Principal | None,
            force_reason: str | None = None) -> Promotion:
    """Make a candidate live if the guard allows it, or with a written reason (forced)."""
    from training import evaluation, guard

    row = get(session, version_id)
    if row.status == ModelStatus.LIVE:
        raise Conflict(f"model version {version_id} is already live", field="version_id")
    if row.status != ModelStatus.CANDIDATE:
        hint = " (use rollback for a retired version)" if row.status == ModelStatus.RETIRED else ""
        raise Conflict(f"model version {version_id} is {row.status}; only a candidate can be "
                       f"promoted{hint}", field="version_id", status=row.status)
    reason = (force_reason or "").strip() or None
    if force_reason is not None and (reason is None or len(reason) < MIN_FORCE_REASON_CHARS):
        raise ValidationFailed(f"a forced promotion needs a written reason of at least "
                               f"{MIN_FORCE_REASON_CHARS} characters", field="force_reason")
    current = live(session)
    comparison = evaluation.compare(session, candidate=row, live=current)
    verdict = guard.check(comparison)
    if not verdict.allowed and reason is None:
        raise Conflict(f"the guard refused model version {version_id}: "
                       + "; ".join(verdict.reasons), field="version_id",
                       guard=verdict.as_dict())
    forced = not verdict.allowed
    old = _switch_live(session, row, actor, reason, forced)
    audit.record(session, actor=_actor_id(actor),
                 action="models.promote_forced" if forced else "models.promote",
                 target=f"model_version:{row.version}",
                 before={"live_version": old.version},
                 after={"live_version": row.version, "reason": reason,
                        "guard": verdict.as_dict()})
    return Promotion(row, old, verdict, forced)


def rollback(session: Session, *, to_version_id: int, actor: Principal | None,
             reason: str | None = None) -> Promotion:
    """Make an earlier, successfully trained version live again, in one step (no guard)."""
    row = get(session, to_version_id)
    current = live(session)
    if row.version == current.version:
        raise Conflict(f"model version {to_version_id} is already live", field="to_version_id")
    if row.status not in TRAINED:
        raise Conflict(f"model version {to_version_id} is {row.status}; only a version that "
                       "trained successfully can be rolled back to", field="to_version_id",
                       status=row.status)
    if row.version > current.version:
        raise Conflict(f"model version {to_version_id} is newer than the live version "
                       f"{current.version}; promote it instead", field="to_version_id")
    old = _switch_live(session, row, actor, (reason or "").strip() or "rollback", False)
    audit.record(session, actor=_actor_id(actor), action="models.rollback",
                 target=f"model_version:{row.version}",
                 before={"live_version": old.version},
                 after={"live_version": row.version, "reason": reason})
    return Promotion(row, old)

