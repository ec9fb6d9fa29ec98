"""The ML team's decisions on candidates (training.annotation): each action, bad input,
bulk all-or-nothing, creating an intent, adding a question to an article, progress."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.audit import AuditEntry
from core.errors import Conflict, NotFound, ValidationFailed
from knowledge_base.models import Article, ArticleVersion
from tests.factories import make_user
from training import annotation, intents
from training.models import CandidateOrigin, TrainingCandidate


def _candidate(session, text="where is my parcel", predicted="ask_shipping", source="bot_turn"):
    candidate = TrainingCandidate(text=text, source=source, sources={source: 1}, count=1,
                                  predicted_intent=predicted, confidence=0.4, embedding=b"")
    session.add(candidate)
    session.flush()
    session.add(CandidateOrigin(candidate_id=candidate.id, origin_key=f"test:{candidate.id}",
                                source=source))
    session.flush()
    return candidate


def _actions(session, candidate):
    return [e.action for e in session.scalars(
        select(AuditEntry).where(AuditEntry.target == f"candidate:{candidate.id}")
        .order_by(AuditEntry.id))]


def test_each_action_decides_once_and_is_audited(session):
    actor = make_user(session, role="ml_engineer").id
    accepted, rejected, oos = (_candidate(session, t) for t in ("a", "b", "c"))

    assert annotation.accept(session, accepted.id, actor=actor).label == "ask_shipping"
    assert annotation.reject(session, rejected.id, actor=actor).status == "rejected"
    assert annotation.mark_out_of_scope(session, oos.id, actor=actor).status == "out_of_scope"
    assert (accepted.status, accepted.decided_by_id) == ("accepted", actor)

    # A decided candidate takes no second decision ...
    for act in (annotation.accept, annotation.reject, annotation.mark_out_of_scope):
        with pytest.raises(Conflict):
            act(session, accepted.id, actor=actor)
    # ... except a relabel, which also turns a rejected one into an accepted example.
    relabelled = annotation.relabel(session, rejected.id, intent="ask_returns", actor=actor)
    assert (relabelled.status, relabelled.label) == ("accepted", "ask_returns")

    assert _actions(session, accepted) == ["training.candidate.accept"]
    assert _actions(session, rejected) == ["training.candidate.reject",
                                           "training.candidate.relabel"]
    entry = session.scalar(select(AuditEntry).where(
        AuditEntry.action == "training.candidate.relabel"))
    assert entry.before["status"] == "rejected"
    assert entry.after == {"status": "accepted", "label": "ask_returns", "article_id": None}


def test_bad_input_changes_nothing(session):
    candidate = _candidate(session, predicted=None)
    with pytest.raises(ValidationFailed) as unknown:
        annotation.relabel(session, candidate.id, intent="teleport_me", actor=None)
    assert unknown.value.field == "intent"
    with pytest.raises(ValidationFailed) as nothing_to_accept:
        annotation.accept(session, candidate.id, actor=None)
    assert nothing_to_accept.value.field == "intent"
    with pytest.raises(NotFound):
        annotation.reject(session, 999_999, actor=None)
    assert candidate.status == "pending"
    assert _actions(session, candidate) == []


def test_bulk_is_all_or_nothing(session):
    first, second = _candidate(session, "a"), _candidate(session, "b")
    decided = _candidate(session, "c")
    annotation.reject(session, decided.id, actor=None)

    with pytest.raises(Conflict) as refused:
        annotation.bulk(session, action="accept", candidate_ids=[first.id, decided.id],
                        actor=None)
    assert refused.value.details["candidate_id"] == decided.id
    assert first.status == "pending"
    with pytest.raises(NotFound):
        annotation.bulk(session, action="reject", candidate_ids=[first.id, 999_999], actor=None)
    with pytest.raises(ValidationFailed) as bad_action:
        annotation.bulk(session, action="teleport", candidate_ids=[first.id], actor=None)
    assert bad_action.value.field == "action"
    with pytest.raises(ValidationFailed) as unknown:
        annotation.bulk(session, action="relabel", candidate_ids=[first.id], intent="nope",
                        actor=None)
    assert unknown.value.field == "intent"

    done = annotation.bulk(session, action="relabel",
                           candidate_ids=[first.id, second.id, decided.id, first.id],
                           intent="ask_orders", actor=None)
    assert [c.id for c in done] == [first.id, second.id, decided.id]
    assert {c.label for c in done} == {"ask_orders"}


def test_create_intent_labels_candidates_and_joins_the_catalogue(session):
    candidate = _candidate(session, "do you sell gift cards", predicted=None)
    _intent, labelled = annotation.create_intent(
        session, name="ask_gift_cards", description="gift cards", candidate_ids=[candidate.id],
        actor=None)
    assert "ask_gift_cards" in intents.known_intents(session)
    assert "ask_shipping" in intents.known_intents(session)  # the Rasa project's
    assert [c.label for c in labelled] == ["ask_gift_cards"]
    with pytest.raises(Conflict):
        annotation.create_intent(session, name="ask_gift_cards", actor=None)
    with pytest.raises(Conflict):
        annotation.create_intent(session, name="greet", actor=None)  # a Rasa intent
    with pytest.raises(ValidationFailed) as bad:
        annotation.create_intent(session, name="Gift Cards!", actor=None)
    assert bad.value.field == "name"
    with pytest.raises(NotFound):
        annotation.create_intent(session, name="ask_vouchers", candidate_ids=[999_999],
                                 actor=None)
    assert "ask_vouchers" not in intents.known_intents(session)


def test_add_as_alternative_question_to_an_article(session):
    article = Article(slug="gift-cards", title="Gift cards", body="We sell them.",
                      category="products", tags=[], alternative_questions=["buy a gift card"],
                      status="draft")
    session.add(article)
    session.flush()
    candidate = _candidate(session, "do you sell gift vouchers", predicted=None)

    annotation.add_to_article(session, candidate.id, article_id=article.id, actor=None)
    session.refresh(article)
    assert article.alternative_questions == ["buy a gift card", "do you sell gift vouchers"]
    assert article.version == 2
    assert session.scalar(select(ArticleVersion.version).where(
        ArticleVersion.article_id == article.id).order_by(ArticleVersion.version.desc())) == 2
    assert candidate.article_id == article.id and candidate.status == "pending"
    assert _actions(session, candidate) == ["training.candidate.add_to_article"]
    with pytest.raises(Conflict):
        annotation.add_to_article(session, candidate.id, article_id=article.id, actor=None)
    with pytest.raises(NotFound):
        annotation.add_to_article(session, candidate.id, article_id=999_999, actor=None)


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_progress_counts_by_status_and_source(session):
    a, b = _candidate(session, "a"), _candidate(session, "b", source="not_helpful")
    _candidate(session, "c", source="gap_cluster")
    session.add(CandidateOrigin(candidate_id=a.id, origin_key="test:extra", source="not_helpful"))
    annotation.accept(session, a.id, actor=None)
    annotation.mark_out_of_scope(session, b.id, actor=None)
    counts = annotation.progress(session)
    assert counts.total == annotation.StatusCounts(pending=1, accepted=1, out_of_scope=1)
    assert counts.by_source["not_helpful"] == annotation.StatusCounts(accepted=1,
                                                                      out_of_scope=1)
    assert counts.by_source["gap_cluster"].pending == 1
    assert counts.by_source["handoff_label"] == annotation.StatusCounts()
