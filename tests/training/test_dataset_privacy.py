"""Erasing a customer removes their words from candidates and redacts them in snapshots."""

from __future__ import annotations

from sqlalchemy import func, select

from conversations import service as conversations
from privacy import service as privacy
from tests.factories import make_conversation, make_user, principal_of
from training import snapshots
from training.models import CandidateOrigin, SnapshotExample, TrainingCandidate


def test_erasure_reaches_candidates_and_snapshot_examples(session):
    conversation, _ = make_conversation(session)
    words = "my neighbour Ingrid Haugen signed for the parcel"  # a name masking cannot see
    conversations.add_customer_message(session, conversation, words, None)
    mine = TrainingCandidate(text=words, source="bot_turn", sources={"bot_turn": 1}, count=1,
                             embedding=b"", status="accepted", label="ask_shipping")
    other = TrainingCandidate(text="someone else asked this", source="bot_turn", sources={},
                              count=1, embedding=b"", status="accepted", label="ask_shipping")
    session.add_all([mine, other])
    session.flush()
    session.add(CandidateOrigin(candidate_id=mine.id, origin_key="turn:1", source="bot_turn",
                                conversation_id=conversation.id))
    snapshot = snapshots.create_snapshot(session, actor=None, name="before erasure")
    admin = principal_of(make_user(session, role="admin"))
    query = privacy.CustomerQuery(conversation_id=conversation.id)

    exported = privacy.export_customer(session, admin, query)
    assert [c["text"] for c in exported["training_candidates"]] == [words]
    assert [e["text"] for e in exported["training_snapshot_examples"]] == [words]

    report = privacy.erase_customer(session, admin, query)
    assert report["erased"]["training_candidates"] == 1
    assert report["erased"]["training_snapshot_examples"] == 1
    assert report["verification"]["database_text_matches"] == []
    assert report["verification"]["remaining"]["training_candidates"] == 0
    assert [c.text for c in session.scalars(select(TrainingCandidate))] == [
        "someone else asked this"]
    texts = set(session.scalars(select(SnapshotExample.text).where(
        SnapshotExample.snapshot_id == snapshot.id)))
    assert "[ERASED]" in texts and words not in texts and "someone else asked this" in texts
    # The example stays counted; only its words are gone.
    assert session.scalar(select(func.count()).select_from(SnapshotExample).where(
        SnapshotExample.snapshot_id == snapshot.id)) == (
        snapshot.example_count + snapshot.out_of_scope_count)
