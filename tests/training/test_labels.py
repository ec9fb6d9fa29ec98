"""Agents' labels on handed-off conversations (training.labels), on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conversations import service as conversations
from conversations.models import SenderType
from core.database import utcnow
from core.errors import NotFound, ValidationFailed
from handoff import intake
from handoff.models import Team
from knowledge_base import feedback
from knowledge_base.models import Article, ArticleRating
from privacy import service as privacy
from tests.factories import make_conversation, make_ticket, make_user, principal_of
from training import labels
from training.models import ConversationLabel


def _bot(session, conversation, text, **meta):
    conversations.add_message(session, conversation, sender_type=SenderType.BOT, body=text,
                              meta=meta)


def _handed_off_chat(session):
    """Small talk the bot answered, then a question it could not handle, then the ask for a
    person; the agent's part comes after the hand-off."""
    conversation, token = make_conversation(session, channel="widget")
    conversations.add_customer_message(session, conversation, "hello there", None)
    _bot(session, conversation, "Hi! How can I help?", kind="answer", intent="greet",
         confidence=0.97, decision="answer")
    conversations.add_customer_message(
        session, conversation, "my parcel came crushed and the insurance form rejects me", None)
    _bot(session, conversation, "Do you mean shipping or returns?", kind="clarify",
         intent="ask_shipping", confidence=0.41, decision="clarify")
    conversations.add_customer_message(session, conversation, "let me talk to a person", None)
    _bot(session, conversation, "Handing you over.", kind="handoff", intent="request_human",
         confidence=0.95, decision="handoff")
    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
        reason="low_nlu_confidence", intent="ask_shipping", confidence=0.41))
    session.flush()
    return conversation, ticket, token


def _article(session):
    article = Article(slug="damaged-parcels", title="Damaged parcels", body="Claim within 14 days",
                      category="shipping", tags=[], alternative_questions=[], status="published")
    session.add(article)
    session.flush()
    return article


def test_label_keeps_the_text_that_needed_a_human_and_the_bots_guess(session):
    agent = principal_of(make_user(session))
    _conversation, ticket, _token = _handed_off_chat(session)
    article = _article(session)

    label = labels.label_conversation(session, ticket_id=ticket.id, actor=agent,
                                      intent="ask_shipping", out_of_scope=False,
                                      article_id=article.id)

    # The greeting was answered and the bare request for a person says nothing: left out.
    assert label.text == "my parcel came crushed and the insurance form rejects me"
    assert label.predicted_intent == "ask_shipping"
    assert label.predicted_confidence == pytest.approx(0.41)
    assert label.article_id == article.id and label.labelled_by_id == agent.user_id
    assert label.channel == "widget"
    assert labels.labelled_examples(session) == [
        ("my parcel came crushed and the insurance form rejects me", "ask_shipping")]


def test_labelling_again_replaces_the_label_and_out_of_scope_reads_as_none(session):
    agent = principal_of(make_user(session))
    _conversation, ticket, _token = _handed_off_chat(session)
    labels.label_conversation(session, ticket_id=ticket.id, actor=agent, intent="ask_shipping",
                              out_of_scope=False, article_id=None)
    labels.label_conversation(session, ticket_id=ticket.id, actor=agent, intent=None,
                              out_of_scope=True, article_id=None)

    assert session.scalar(select(func.count()).select_from(ConversationLabel)) == 1
    [(text, intent)] = labels.labelled_examples(session)
    assert intent is None and "insurance form" in text


def test_a_customer_who_asked_for_a_person_at_once_is_labelled_by_what_they_told_the_agent(
        session):
    agent = principal_of(make_user(session))
    conversation, _ = make_conversation(session)
    conversations.add_customer_message(session, conversation, "agent please", None)
    _bot(session, conversation, "Handing you over.", kind="handoff", intent="request_human",
         confidence=0.99, decision="handoff")
    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
        reason="customer_request", intent="request_human", confidence=0.99))
    session.flush()
    label = labels.label_conversation(session, ticket_id=ticket.id, actor=agent,
                                      intent="ask_payments", out_of_scope=False, article_id=None)
    # Only the request for a person was before the hand-off: it is all there is to label.
    assert label.text == "agent please"


@pytest.mark.parametrize(("intent", "out_of_scope", "article_id", "field"), [
    ("no_such_intent", False, None, "intent"),
    (None, False, None, "intent"),  # neither an intent nor out of scope
    ("ask_shipping", True, None, "intent"),  # both
    ("ask_shipping", False, 987654, "article_id"),
])
def test_bad_labels_name_the_field_and_store_nothing(session, intent, out_of_scope, article_id,
                                                     field):
    agent = principal_of(make_user(session))
    _conversation, ticket, _token = _handed_off_chat(session)
    with pytest.raises(ValidationFailed) as failure:
        labels.label_conversation(session, ticket_id=ticket.id, actor=agent, intent=intent,
                                  out_of_scope=out_of_scope, article_id=article_id)
    assert failure.value.field == field
    assert labels.labelled_examples(session) == []


def test_an_agent_outside_the_team_cannot_label_it(session):
    team = Team(slug="billing", name="Billing")
    session.add(team)
    session.flush()
    ticket = make_ticket(session)
    ticket.team_id = team.id
    outsider = principal_of(make_user(session))
    with pytest.raises(NotFound):
        labels.label_conversation(session, ticket_id=ticket.id, actor=outsider,
                                  intent="ask_orders", out_of_scope=False, article_id=None)


def test_labelled_examples_since(session):
    agent = principal_of(make_user(session))
    first = make_ticket(session, text="where is my refund")
    second = make_ticket(session, text="can I pay with a voucher")
    labels.label_conversation(session, ticket_id=first.id, actor=agent, intent="ask_returns",
                              out_of_scope=False, article_id=None)
    label = labels.label_conversation(session, ticket_id=second.id, actor=agent,
                                      intent="ask_payments", out_of_scope=False, article_id=None)
    old = session.get(ConversationLabel, label.id - 1)
    old.updated_at = utcnow() - timedelta(days=3)
    session.flush()
    assert labels.labelled_examples(session, since=utcnow() - timedelta(days=1)) == [
        ("can I pay with a voucher", "ask_payments")]


def test_labels_and_rating_comments_are_exported_and_erased_with_the_customer(session):
    agent = principal_of(make_user(session))
    conversation, ticket, token = _handed_off_chat(session)
    labels.label_conversation(session, ticket_id=ticket.id, actor=agent, intent="ask_shipping",
                              out_of_scope=False, article_id=None)
    feedback.rate_answer(session, conversation.id, token, article_id=None, helpful=False,
                         query="my parcel came crushed", comment="nothing about insurance")
    admin = principal_of(make_user(session, role="admin"))
    query = privacy.CustomerQuery(conversation_id=conversation.id)

    exported = privacy.export_customer(session, admin, query)
    assert [row["ticket_id"] for row in exported["training_conversation_labels"]] == [ticket.id]
    assert exported["other_records"]["kb_ratings"][0]["comment"] == "nothing about insurance"

    report = privacy.erase_customer(session, admin, query)
    # Erased with its ticket or by its own source, whichever runs first.
    assert report["verification"]["remaining"]["training_conversation_labels"] == 0
    assert labels.labelled_examples(session) == []
    assert session.scalar(select(func.count()).select_from(ArticleRating)) == 0
    assert report["verification"]["database_text_matches"] == []


def test_the_form_offers_the_bots_guess_and_its_articles_first(session):
    agent = principal_of(make_user(session))
    conversation, ticket, _token = _handed_off_chat(session)
    article = _article(session)
    other = Article(slug="a-first", title="A first article", body="x", category="shipping",
                    tags=[], alternative_questions=[], status="published")
    session.add(other)
    _bot(session, conversation, "Claim within 14 days", kind="answer", intent="ask_shipping",
         confidence=0.8, decision="answer",
         article={"id": article.id, "slug": article.slug, "title": article.title})
    session.flush()
    form = labels.label_form(session, ticket.id, agent)
    assert form.intents[0] == "ask_shipping" and "ask_returns" in form.intents
    assert [(a.id, a.offered_by_bot) for a in form.articles] == [
        (article.id, True), (other.id, False)]
    assert form.predicted_intent == "ask_shipping" and form.label is None


def test_an_answer_rated_not_helpful_is_still_the_question_that_needed_a_human(session):
    agent = principal_of(make_user(session))
    conversation, token = make_conversation(session, channel="widget")
    question = "how long does shipping to Canada take?"
    conversations.add_customer_message(session, conversation, question, None)
    _bot(session, conversation, "5 to 8 business days.", kind="answer", intent="ask_shipping",
         confidence=0.91, decision="answer")
    feedback.rate_answer(session, conversation.id, token, article_id=None, query=question,
                         helpful=False, comment="customs fees")
    conversations.add_customer_message(session, conversation, "I want to talk to a person", None)
    _bot(session, conversation, "Handing you over.", kind="handoff", intent="request_human",
         confidence=0.95, decision="handoff")
    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
        reason="customer_request", intent="request_human", confidence=0.95))
    session.flush()
    label = labels.label_conversation(session, ticket_id=ticket.id, actor=agent,
                                      intent="ask_shipping", out_of_scope=False, article_id=None)
    assert label.text == question


def test_hand_off_share_counts_the_conversations_the_bot_took_since_the_first_label(session):
    assert labels.handoff_share(session) is None  # no label yet: nothing to stand for
    earlier, _ = make_conversation(session, channel="widget")
    _bot(session, earlier, "Hi!", kind="answer", decision="answer")
    earlier.created_at = utcnow() - timedelta(days=30)  # before the first label: not counted
    conversation, ticket, _ = _handed_off_chat(session)
    conversation.created_at = utcnow() - timedelta(days=1)
    for _ in range(3):  # answered by the bot alone
        answered, _ = make_conversation(session, channel="widget")
        _bot(session, answered, "Our returns window is 30 days.", kind="answer",
             decision="answer")
    session.flush()
    labels.label_conversation(session, ticket_id=ticket.id,
                              actor=principal_of(make_user(session)), intent=None,
                              out_of_scope=True, article_id=None)
    assert labels.handoff_share(session) == 0.25
