"""Candidate collection (training.candidates): the four sources, masking before storing,
near-duplicate merging and idempotency, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conversations import service as conversations
from conversations.models import SenderType
from core.errors import ValidationFailed
from knowledge_base import gaps as kb_gaps
from knowledge_base.models import ArticleRating, GapReason
from tests.factories import make_conversation, make_ticket, make_user, principal_of
from training import candidates, labels
from training.models import CandidateOrigin, TrainingCandidate


def _turn(session, text, channel="widget", **trace):
    """A customer message and the bot's reply with its decision record, as the pipeline
    stores them (and logs the knowledge gap, as the pipeline does)."""
    conversation, _ = make_conversation(session, channel=channel)
    conversations.add_customer_message(session, conversation, text, None)
    conversations.add_message(session, conversation, sender_type=SenderType.BOT,
                              body="bot reply", meta=trace)
    kb_gaps.log_bot_turn(session, conversation.id, trace)
    session.flush()
    return conversation


def _by_text(session):
    return {c.text: c for c in session.scalars(select(TrainingCandidate))}


def test_collects_each_source_masked_merged_and_only_once(session):
    # Clarify turn, and a near-duplicate of it in another conversation (low-confidence answer).
    _turn(session, "Where is my parcel? Email me at jo.smith@example.com",
          kind="clarify", intent="ask_shipping", confidence=0.41, decision="clarify",
          reason="ambiguous_intent", kb_score=0.38)
    _turn(session, "where is my parcel? email me at jo.smith@example.com", channel="rest",
          kind="answer", intent="ask_shipping", confidence=0.55, decision="answer",
          reason="confident", kb_score=0.61)
    # A confident answer is not a candidate.
    _turn(session, "how do I reset my password", kind="answer", intent="ask_account",
          confidence=0.97, decision="answer", reason="confident", kb_score=0.8)
    # A not-helpful rating, a helpful one (ignored) and an agent-labelled hand-off.
    rated = _turn(session, "can I pay with an invoice", kind="answer", intent="ask_payments",
                  confidence=0.92, decision="answer", reason="confident", kb_score=0.7)
    for helpful in (False, True):
        session.add(ArticleRating(conversation_id=rated.id, query="can I pay with an invoice",
                                  helpful=helpful))
    ticket = make_ticket(session, text="my card 4111 1111 1111 1111 was charged twice")
    labels.label_conversation(session, ticket_id=ticket.id,
                              actor=principal_of(make_user(session, role="admin")),
                              intent="ask_payments", out_of_scope=False, article_id=None)
    # A gap no bot turn produced (e.g. logged by an editor tool).
    kb_gaps.log_gap(session, "do you ship to the Faroe Islands", GapReason.HANDED_OFF)
    session.flush()

    result = candidates.collect_candidates(session)

    found = _by_text(session)
    assert set(found) == {
        "Where is my parcel? Email me at [EMAIL]",
        "can I pay with an invoice",
        "my card [CARD] was charged twice",
        "do you ship to the Faroe Islands",
    }
    # Nothing personal stored anywhere on the candidate.
    for candidate in found.values():
        assert "example.com" not in candidate.text and "4111" not in candidate.text
    parcel = found["Where is my parcel? Email me at [EMAIL]"]
    # Two conversations asked it; the clarify turn's gap is the same occurrence, not a third.
    assert parcel.count == 2
    assert parcel.sources == {"bot_turn": 2, "gap_cluster": 1}
    assert (parcel.predicted_intent, parcel.confidence, parcel.decision) == (
        "ask_shipping", 0.41, "clarify")
    assert parcel.channel == "widget"
    invoice = found["can I pay with an invoice"]
    assert invoice.sources == {"not_helpful": 1}
    assert invoice.predicted_intent == "ask_payments"
    card = found["my card [CARD] was charged twice"]
    assert card.source == "handoff_label"
    assert card.predicted_intent == "ask_payments"
    assert card.meta["agent_intent"] == "ask_payments"
    assert result.created == 4
    assert result.merged == 2

    origins = session.scalar(select(func.count()).select_from(CandidateOrigin))
    again = candidates.collect_candidates(session)
    assert (again.created, again.merged) == (0, 0)
    assert session.scalar(select(func.count()).select_from(CandidateOrigin)) == origins
    assert _by_text(session)["Where is my parcel? Email me at [EMAIL]"].count == 2

    # A new near-duplicate later merges into the existing candidate.
    _turn(session, "Where is my parcel?? Email me at jo.smith@example.com",
          kind="clarify", intent="ask_shipping", confidence=0.3, decision="clarify")
    later = candidates.collect_candidates(session)
    assert (later.created, later.merged) == (0, 2)  # the bot turn and its gap
    assert _by_text(session)["Where is my parcel? Email me at [EMAIL]"].count == 3


def test_different_questions_stay_apart(session):
    _turn(session, "I want to return my shoes", kind="clarify", intent="start_return",
          confidence=0.45, decision="clarify")
    _turn(session, "I want to return my jacket", kind="clarify", intent="start_return",
          confidence=0.45, decision="clarify")
    result = candidates.collect_candidates(session)
    assert result.created == 2


def _candidate(session, text, **fields):
    candidate = TrainingCandidate(text=text, source=fields.pop("source", "bot_turn"),
                                  sources={}, count=1, embedding=b"", **fields)
    session.add(candidate)
    session.flush()
    session.add(CandidateOrigin(candidate_id=candidate.id, origin_key=f"test:{candidate.id}",
                                source=candidate.source))
    session.flush()
    return candidate


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_filters(session):
    low = _candidate(session, "a", confidence=0.2, predicted_intent="ask_orders",
                     channel="widget")
    mid = _candidate(session, "b", confidence=0.5, predicted_intent="ask_orders",
                     channel="email", source="not_helpful")
    high = _candidate(session, "c", confidence=0.8, predicted_intent="ask_returns",
                      status="rejected")

    def ids(**kw):
        items, total = candidates.list_candidates(session, candidates.CandidateFilters(**kw))
        assert total == len(items)
        return {c.id for c in items}

    assert ids() == {low.id, mid.id, high.id}
    assert ids(band="low") == {low.id}
    assert ids(band="medium") == {mid.id}
    assert ids(confidence_min=0.4, confidence_max=0.9) == {mid.id, high.id}
    assert ids(source="not_helpful") == {mid.id}
    assert ids(predicted_intent="ask_orders", channel="widget") == {low.id}
    assert ids(status="pending") == {low.id, mid.id}
    with pytest.raises(ValidationFailed) as bad:
        ids(band="lukewarm")
    assert bad.value.field == "band"
    with pytest.raises(ValidationFailed) as bad:
        ids(source="rumour")
    assert bad.value.field == "source"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_worker_task_collects_in_its_own_transaction(db_url):
    from core.database import session_scope
    from training.candidate_tasks import collect_candidates_task

    with session_scope() as s:
        _turn(s, "is there a student discount", kind="clarify", intent="ask_payments",
              confidence=0.35, decision="clarify")
    first = collect_candidates_task.run()
    assert (first["created"], first["by_source"]) == (1, {"bot_turn": 1, "gap_cluster": 1})
    assert collect_candidates_task.run()["created"] == 0
    with session_scope() as s:
        assert [c.text for c in s.scalars(select(TrainingCandidate))] == [
            "is there a student discount"]
