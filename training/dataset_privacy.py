"""Candidates and snapshot examples in per-customer export and erasure (core registry).

Both hold customer words, masked; masking cannot catch everything (a name, say), so erasing a
customer removes them too:

- candidates collected from the customer's conversations (their origins), and any candidate
  whose text contains one of the customer's messages, are deleted;
- snapshot examples that contain one of the customer's messages have their text replaced by
  "[ERASED]". This is the one change a snapshot ever takes: the right to erasure outranks
  immutability. The snapshot keeps its recorded content hash, which then no longer matches
  its examples: the sign that it was redacted. The Rasa project's own (authored) examples
  are never touched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.personal_data import CustomerRef, PersonalDataSource, register_source
from nlu.pii import mask_text
from training.models import CandidateOrigin, SnapshotExample, TrainingCandidate

# Shorter texts ("hi", "thanks") occur everywhere and identify no one (as in the privacy
# service's verification pass).
MIN_NEEDLE_CHARS = 12
NEEDLE_CHUNK = 40
ERASED_TEXT = "[ERASED]"
CUSTOMER_SOURCES = ("candidate", "agent_label")


def _needles(ref: CustomerRef) -> list[str]:
    needles: set[str] = set()
    for text in ref.texts:
        collapsed = " ".join(text.split())
        if len(collapsed) >= MIN_NEEDLE_CHARS:
            needles.update({collapsed, mask_text(collapsed)})
    return sorted(n for n in needles if len(n) >= MIN_NEEDLE_CHARS)


def _containing(column: Any, needles: list[str]) -> list[Any]:
    return [or_(*(column.contains(n, autoescape=True) for n in needles[i:i + NEEDLE_CHUNK]))
            for i in range(0, len(needles), NEEDLE_CHUNK)]


def _candidate_ids(session: Session, ref: CustomerRef) -> set[int]:
    ids: set[int] = set()
    if ref.conversation_ids:
        ids.update(session.scalars(select(CandidateOrigin.candidate_id).where(
            CandidateOrigin.conversation_id.in_(ref.conversation_ids))))
    for condition in _containing(TrainingCandidate.text, _needles(ref)):
        ids.update(session.scalars(select(TrainingCandidate.id).where(condition)))
    return ids


def _export_candidates(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    ids = sorted(_candidate_ids(session, ref))
    return [{"id": c.id, "text": c.text, "status": c.status, "label": c.label,
             "first_seen_at": c.first_seen_at.isoformat()}
            for c in session.scalars(select(TrainingCandidate).where(
                TrainingCandidate.id.in_(ids)).order_by(TrainingCandidate.id))]


def _erase_candidates(session: Session, ref: CustomerRef) -> int:
    ids = sorted(_candidate_ids(session, ref))
    if not ids:
        return 0
    session.execute(delete(CandidateOrigin).where(CandidateOrigin.candidate_id.in_(ids)))
    result = session.execute(delete(TrainingCandidate).where(TrainingCandidate.id.in_(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _example_conditions(ref: CustomerRef) -> list[Any]:
    return [condition & SnapshotExample.source.in_(CUSTOMER_SOURCES)
            for condition in _containing(SnapshotExample.text, _needles(ref))]


def _export_examples(session: Session, ref: CustomerRef) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for condition in _example_conditions(ref):
        rows += [{"snapshot_id": e.snapshot_id, "text": e.text, "intent": e.intent}
                 for e in session.scalars(select(SnapshotExample).where(condition)
                                          .order_by(SnapshotExample.id))]
    return rows


def _erase_examples(session: Session, ref: CustomerRef) -> int:
    erased = 0
    for condition in _example_conditions(ref):
        # A Core UPDATE: the ORM's guard against changing snapshots does not apply here.
        result = session.execute(update(SnapshotExample).where(condition)
                                 .values(text=ERASED_TEXT)
                                 .execution_options(synchronize_session=False))
        erased += int(result.rowcount)  # type: ignore[attr-defined]
    return erased


def _count_examples(session: Session, ref: CustomerRef) -> int:
    return sum(int(session.scalar(select(func.count()).select_from(SnapshotExample)
                                  .where(condition)) or 0)
               for condition in _example_conditions(ref))


register_source(PersonalDataSource(
    name="training_candidates", export=_export_candidates, erase=_erase_candidates,
    remaining=lambda session, ref: len(_candidate_ids(session, ref))))
register_source(PersonalDataSource(
    name="training_snapshot_examples", export=_export_examples, erase=_erase_examples,
    remaining=_count_examples))
