"""Dataset snapshots (training.snapshots): stable content hash, masking before storing and
export, the refusals, immutability, and the Rasa YAML / CSV exports."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
import yaml
from sqlalchemy import func, select

from core.errors import ValidationFailed
from tests.factories import make_ticket, make_user, principal_of
from training import labels, snapshots
from training.intents import rasa_examples
from training.models import (
    DatasetSnapshot,
    SnapshotExample,
    SnapshotImmutable,
    TrainingCandidate,
)
from training.snapshots import Example, content_hash


def _examples(intent="ask_gift_cards", n=5, prefix="gift card question"):
    return [Example(f"{prefix} {i}", intent, "candidate") for i in range(n)]


def test_hash_depends_on_content_only():
    examples = [*_examples(), Example("what's the weather", None, "candidate"),
                Example("where is my order", "ask_orders", "rasa")]
    same = content_hash(examples)
    assert content_hash(list(reversed(examples))) == same
    # Provenance and spacing are not content.
    assert content_hash([Example("  where  is my order ", "ask_orders", "candidate"),
                         *examples[:-1]]) == same
    assert content_hash(examples[1:]) != same
    assert content_hash([Example("where is my order", "ask_returns", "rasa"),
                         *examples[:-1]]) != same
    # An out-of-scope example is not the same as an in-scope one with that text.
    assert content_hash([Example("gift card question 0", None, "candidate"),
                         *examples[1:]]) != same
    # The documented serialisation, so the hash cannot drift between releases or backends.
    canonical = '{"examples":[["greet","hi"]],"out_of_scope":["bye now"]}'
    assert content_hash([Example("hi", "greet", "rasa"), Example("bye now", None, "x")]) == (
        hashlib.sha256(canonical.encode()).hexdigest())


def _candidate(session, text, status="accepted", label="ask_orders"):
    session.add(TrainingCandidate(text=text, source="bot_turn", sources={}, count=1,
                                  embedding=b"", status=status, label=label))
    session.flush()


def test_snapshot_of_project_candidates_and_labels_masked_and_frozen(session):
    ticket = make_ticket(session, text="my email is ann.lee@example.com and my order is late")
    labels.label_conversation(session, ticket_id=ticket.id,
                              actor=principal_of(make_user(session, role="admin")),
                              intent="ask_orders", out_of_scope=False, article_id=None)
    _candidate(session, "parcel stuck in customs for a week")
    _candidate(session, "Where is my order?")  # the Rasa project has it: one copy
    _candidate(session, "tell me a joke", status="out_of_scope", label=None)
    _candidate(session, "asdfgh", status="rejected", label=None)
    actor = make_user(session, role="ml_engineer").id

    first = snapshots.create_snapshot(session, actor=actor, name="first")
    second = snapshots.create_snapshot(session, actor=actor, name="again")

    assert (first.version, second.version) == (1, 2)
    assert first.content_hash == second.content_hash
    assert first.created_by_id == actor
    project = sum(len(t) for t in rasa_examples().values())
    assert first.example_count == project + 2  # + the agent label + one new candidate
    assert first.out_of_scope_count == 1
    assert first.source_counts == {"agent_label": 1, "candidate": 3, "rasa": project - 1}
    assert first.intent_counts["ask_orders"] == len(rasa_examples()["ask_orders"]) + 3
    pairs = snapshots.snapshot_examples(session, first.id)
    assert ("my email is [EMAIL] and my order is late", "ask_orders") in pairs
    assert ("where is my order?", "ask_order_status") not in pairs
    assert ("Where is my order?", "ask_orders") in pairs
    assert snapshots.snapshot_out_of_scope(session, first.id) == ["tell me a joke"]
    assert all(intent is not None for _, intent in pairs)

    exported = snapshots.export_rasa_yaml(session, first.id)
    data = yaml.safe_load(exported)
    assert data["version"] == "3.1"
    by_intent = {item["intent"]: item["examples"] for item in data["nlu"]}
    assert "- my email is [EMAIL] and my order is late\n" in by_intent["ask_orders"]
    assert "tell me a joke" not in exported
    rows = list(csv.DictReader(io.StringIO("".join(snapshots.export_csv(session, first.id)))))
    assert len(rows) == first.example_count + first.out_of_scope_count
    assert {"text": "tell me a joke", "intent": "", "out_of_scope": "true",
            "source": "candidate"} in rows
    for text in (exported, *(r["text"] for r in rows)):
        assert "ann.lee@example.com" not in text

    # New data, new hash; the earlier snapshot keeps its examples.
    _candidate(session, "my parcel is lost")
    third = snapshots.create_snapshot(session, actor=actor, name="more")
    assert third.content_hash != first.content_hash
    assert len(snapshots.snapshot_examples(session, first.id)) == first.example_count

    first.name = "renamed"
    with pytest.raises(SnapshotImmutable):
        session.flush()
    session.rollback()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refuses_empty_and_under_populated_snapshots(session):
    with pytest.raises(ValidationFailed) as empty:
        snapshots.create_snapshot(session, actor=None, name="empty", include_project=False)
    assert empty.value.field == "examples"
    few = [*_examples(), *_examples("ask_vouchers", 2, "voucher")]
    with pytest.raises(ValidationFailed) as thin:
        snapshots.create_snapshot(session, actor=None, name="thin", examples=few)
    assert thin.value.field == "intent"
    assert thin.value.details["intent"] == "ask_vouchers"
    assert "ask_vouchers" in thin.value.message
    with pytest.raises(ValidationFailed) as unnamed:
        snapshots.create_snapshot(session, actor=None, name="  ", examples=_examples())
    assert unnamed.value.field == "name"
    assert session.scalar(select(func.count()).select_from(DatasetSnapshot)) == 0
    assert session.scalar(select(func.count()).select_from(SnapshotExample)) == 0
    # Given examples (a benchmark's) are masked too.
    given = [*_examples(), Example("reach me at +1 555 123 4567 please", "ask_gift_cards",
                                   "candidate")]
    snapshot = snapshots.create_snapshot(session, actor=None, name="bench", examples=given)
    assert ("reach me at [PHONE] please", "ask_gift_cards") in snapshots.snapshot_examples(
        session, snapshot.id)
