"""Immutable, versioned training sets ("snapshots") and their exports.

A snapshot is built from three sources:

- `rasa`: the Rasa project's NLU examples (bot/rasa/data/nlu.yml), authored data kept as it
  is (masking would turn the `inform` intent's example addresses into one "[EMAIL]");
- `candidate`: candidates the ML team accepted (or marked out of scope), already masked;
- `agent_label`: agents' labels of handed-off conversations (`training.labels`), masked here.

Texts are normalised (whitespace collapsed, Unicode NFC). One text appears once: when two
sources disagree on its label, the later human decision wins (candidate > agent label >
project). Out-of-scope examples are kept as a separate list, for threshold calibration.

The content hash is SHA-256 over a canonical JSON serialisation of the sorted (intent, text)
pairs and the sorted out-of-scope texts, so the same content gives the same hash whatever the
order it was read in and whichever database stored it. Examples are stored with the snapshot
and never change afterwards (`training.models` refuses updates and deletes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.errors import NotFound, ValidationFailed
from nlu.pii import mask_text
from training import dataset_privacy as _dataset_privacy  # noqa: F401 - registers the sources
from training import labels
from training.intents import rasa_examples
from training.models import CandidateStatus, DatasetSnapshot, SnapshotExample, TrainingCandidate

# Fewer examples than this for an intent and the snapshot is refused: the intent classifier's
# cross-validated calibration and Rasa's DIET both need several per intent, and the
# CLINC150 bench starts from 5 per intent.
MIN_EXAMPLES_PER_INTENT = 5
MAX_NAME_CHARS = 120
# Later sources win a conflict over the same text.
SOURCE_PRECEDENCE = ("rasa", "agent_label", "candidate")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str | None  # None = out of scope
    source: str


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(examples: Iterable[Example]) -> str:
    """Stable over order, run and backend: only the (intent, text) content counts."""
    in_scope = sorted([e.intent, normalise(e.text)] for e in examples if e.intent is not None)
    out_of_scope = sorted(normalise(e.text) for e in examples if e.intent is None)
    canonical = json.dumps({"examples": in_scope, "out_of_scope": out_of_scope},
                           ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _gather(session: Session, include_project: bool) -> list[Example]:
    gathered: list[Example] = []
    if include_project:
        for intent, texts in rasa_examples().items():
            gathered += [Example(t, intent, "rasa") for t in texts]
    for text, agent_intent in labels.labelled_examples(session):
        gathered.append(Example(mask_text(text), agent_intent, "agent_label"))
    decided = session.execute(
        select(TrainingCandidate.text, TrainingCandidate.label, TrainingCandidate.status)
        .where(TrainingCandidate.status.in_([CandidateStatus.ACCEPTED,
                                             CandidateStatus.OUT_OF_SCOPE]))
        .order_by(TrainingCandidate.id)).all()
    for text, label, status in decided:
        if status == CandidateStatus.ACCEPTED and not label:
            continue
        gathered.append(Example(mask_text(text), label if status == CandidateStatus.ACCEPTED
                                else None, "candidate"))
    return gathered


def _deduplicated(examples: list[Example]) -> list[Example]:
    chosen: dict[str, Example] = {}
    rank = {source: i for i, source in enumerate(SOURCE_PRECEDENCE)}
    for example in examples:
        text = normalise(example.text)
        if not text:
            continue
        key = text.casefold()
        current = chosen.get(key)
        if current is None or rank[example.source] > rank[current.source]:
            chosen[key] = Example(text, example.intent, example.source)
    return sorted(chosen.values(), key=lambda e: (e.intent or "", e.text, e.source))


def build_examples(session: Session, *, include_project: bool = True) -> list[Example]:
    return _deduplicated(_gather(session, include_project))


def _check(examples: list[Example]) -> Counter[str]:
    counts = Counter(e.intent for e in examples if e.intent is not None)
    if not counts:
        raise ValidationFailed("nothing to snapshot: no labelled examples", field="examples")
    for intent, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])):
        if n < MIN_EXAMPLES_PER_INTENT:
            raise ValidationFailed(
                f"intent '{intent}' has {n} example{'s' if n != 1 else ''}; a snapshot needs "
                f"at least {MIN_EXAMPLES_PER_INTENT} per intent", field="intent",
                intent=intent, examples=n, minimum=MIN_EXAMPLES_PER_INTENT)
    return counts


def create_snapshot(session: Session, *, actor: int | None, name: str,
                    include_project: bool = True,
                    examples: list[Example] | None = None) -> DatasetSnapshot:
    """A new version from the current data (or from `examples`, e.g. a benchmark's), refused
    (422) when empty or when an intent has fewer than MIN_EXAMPLES_PER_INTENT examples."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ValidationFailed(f"a snapshot name is 1 to {MAX_NAME_CHARS} characters",
                               field="name")
    chosen = (_deduplicated([Example(mask_text(e.text), e.intent, e.source) for e in examples])
              if examples is not None else build_examples(session,
                                                          include_project=include_project))
    counts = _check(chosen)
    version = (session.scalar(select(func.max(DatasetSnapshot.version))) or 0) + 1
    snapshot = DatasetSnapshot(
        version=version, name=name, content_hash=content_hash(chosen),
        example_count=sum(counts.values()),
        out_of_scope_count=sum(1 for e in chosen if e.intent is None),
        intent_counts=dict(sorted(counts.items())),
        source_counts=dict(sorted(Counter(e.source for e in chosen).items())),
        created_by_id=actor)
    session.add(snapshot)
    session.flush()
    session.add_all([SnapshotExample(snapshot_id=snapshot.id, text=e.text, intent=e.intent,
                                     source=e.source) for e in chosen])
    session.flush()
    audit.record(session, actor=actor, action="training.snapshot.create",
                 target=f"snapshot:{snapshot.id}",
                 after={"version": version, "name": name, "content_hash": snapshot.content_hash,
                        "examples": snapshot.example_count,
                        "out_of_scope": snapshot.out_of_scope_count})
    return snapshot


def get_snapshot(session: Session, snapshot_id: int) -> DatasetSnapshot:
    snapshot = session.get(DatasetSnapshot, snapshot_id)
    if snapshot is None:
        raise NotFound(f"snapshot {snapshot_id} does not exist", field="snapshot_id")
    return snapshot


def list_snapshots(session: Session) -> list[DatasetSnapshot]:
    return list(session.scalars(select(DatasetSnapshot).order_by(DatasetSnapshot.version.desc())))


def _stored(session: Session, snapshot_id: int) -> list[Example]:
    get_snapshot(session, snapshot_id)
    rows = session.execute(select(SnapshotExample.text, SnapshotExample.intent,
                                  SnapshotExample.source)
                           .where(SnapshotExample.snapshot_id == snapshot_id)
                           .order_by(SnapshotExample.id)).all()
    return [Example(text, intent, source) for text, intent, source in rows]


def snapshot_examples(session: Session, snapshot_id: int, *, include_out_of_scope: bool = False
                      ) -> list[tuple[str, str | None]]:
    """(text, intent) for training; with include_out_of_scope, also (text, None) pairs."""
    return [(e.text, e.intent) for e in _stored(session, snapshot_id)
            if include_out_of_scope or e.intent is not None]


def snapshot_out_of_scope(session: Session, snapshot_id: int) -> list[str]:
    return [e.text for e in _stored(session, snapshot_id) if e.intent is None]


def export_rasa_yaml(session: Session, snapshot_id: int) -> str:
    """Rasa 3.x NLU training data. Out-of-scope examples are not an intent and are left out
    (the CSV export has them)."""
    snapshot = get_snapshot(session, snapshot_id)
    by_intent: dict[str, list[str]] = {}
    for example in _stored(session, snapshot_id):
        if example.intent is not None:
            by_intent.setdefault(example.intent, []).append(example.text)
    lines = [f"# Tandem dataset snapshot v{snapshot.version} ({snapshot.name})",
             f"# content hash {snapshot.content_hash}",
             'version: "3.1"', "", "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in sorted(by_intent[intent])]
        lines.append("")
    return "\n".join(lines)


CSV_COLUMNS = ("text", "intent", "out_of_scope", "source")


def export_csv(session: Session, snapshot_id: int) -> Iterator[str]:
    """CSV rows (header first), produced a chunk at a time for a streamed response. The rows
    are read up front, so the iterator needs no database session while it is consumed."""
    examples = _stored(session, snapshot_id)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for i, example in enumerate(examples, 1):
            writer.writerow([example.text, example.intent or "",
                             "true" if example.intent is None else "false", example.source])
            if i % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return rows()
