"""An agent's reply turned into a knowledge-base article draft (training.article_drafts):
masked before anything lands, in the editors' review queue, erased with the customer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conversations import service as conversations
from conversations.models import SenderType
from core.audit import AuditEntry
from core.errors import Conflict, ValidationFailed
from handoff import intake, lifecycle
from knowledge_base import service as kb
from knowledge_base.models import Article, ArticleOrigin, ArticleStatus, ArticleVersion
from privacy import service as privacy
from tests.factories import make_conversation, make_user, principal_of
from training import article_drafts
from training.models import ArticleDraftOrigin

QUESTION = ("Hi, I'm Mirela Dunsworth (mirela.d@example.org, +44 20 7946 0958). "
            "Can I change the delivery address after the parcel has shipped?")
ANSWER = ("Hello Mirela, yes: until the parcel reaches the local depot we can redirect it. "
          "I've changed it to 12 Baker Street for you; call us on +44 20 7946 0000 if needed.")
SECRETS = ("Mirela", "Dunsworth", "mirela.d@example.org", "7946 0958", "12 Baker Street")


def _solved_by_agent(session, agent):
    conversation, _ = make_conversation(session, channel="widget")
    conversation.customer_name = "Mirela Dunsworth"
    conversations.add_customer_message(session, conversation, QUESTION, None)
    conversations.add_message(session, conversation, sender_type=SenderType.BOT,
                              body="Let me get a person.", meta={
                                  "kind": "handoff", "intent": "ask_shipping",
                                  "confidence": 0.38, "decision": "handoff",
                                  "reason": "low_kb_score"})
    ticket = intake.hand_off(session, conversation, intake.HandoffSignal(
        reason="low_kb_score", intent="ask_shipping", confidence=0.38))
    lifecycle.claim(session, ticket.id, agent)
    reply = lifecycle.reply(session, ticket.id, agent, ANSWER)
    session.flush()
    return conversation, ticket, reply


def _stored_texts(session, article_id):
    article = session.get(Article, article_id)
    texts = [article.title, article.body, *article.alternative_questions, article.slug]
    for version in session.scalars(select(ArticleVersion)
                                   .where(ArticleVersion.article_id == article_id)):
        texts += [version.title, version.body, *version.alternative_questions]
    return " ".join(texts)


def test_the_draft_is_masked_before_it_lands_and_waits_for_review(session):
    agent = principal_of(make_user(session))
    _conversation, ticket, reply = _solved_by_agent(session, agent)

    article, origin = article_drafts.draft_from_reply(session, ticket_id=ticket.id,
                                                      message_id=reply.id, actor=agent)

    stored = _stored_texts(session, article.id)  # the article and its first version
    for secret in SECRETS:
        assert secret.lower() not in stored.lower(), secret
    assert "[EMAIL]" in article.alternative_questions[0]
    assert "[NAME]" in article.body and "[ADDRESS]" in article.body
    assert "change the delivery address" in article.title
    assert article.status == ArticleStatus.IN_REVIEW
    assert article.origin == ArticleOrigin.AGENT
    assert origin.masked["name"] >= 2 and origin.masked["email"] == 1
    assert origin.reply_message_id == reply.id and origin.ticket_id == ticket.id
    # The editors' review queue, filtered to what came from agents.
    queue = kb.list_articles(session, status=ArticleStatus.IN_REVIEW, origin=ArticleOrigin.AGENT)
    assert [a.id for a in queue] == [article.id]
    assert kb.list_articles(session, origin=ArticleOrigin.EDITOR) == []
    audit = session.scalar(select(AuditEntry).where(
        AuditEntry.action == "kb.article.drafted_from_reply"))
    assert audit is not None and audit.target == f"kb_article:{article.id}"


def test_one_draft_per_reply_and_only_from_an_agents_reply(session):
    agent = principal_of(make_user(session))
    conversation, ticket, reply = _solved_by_agent(session, agent)
    article, _ = article_drafts.draft_from_reply(session, ticket_id=ticket.id,
                                                 message_id=reply.id, actor=agent)
    with pytest.raises(Conflict) as again:
        article_drafts.draft_from_reply(session, ticket_id=ticket.id, message_id=reply.id,
                                        actor=agent)
    assert again.value.details["article_id"] == article.id
    customer_message = conversations.transcript(session, conversation.id)[0]
    for message_id in (customer_message.id, 999_999):
        with pytest.raises(ValidationFailed) as bad:
            article_drafts.draft_from_reply(session, ticket_id=ticket.id,
                                            message_id=message_id, actor=agent)
        assert bad.value.field == "message_id"
    assert session.scalar(select(ArticleDraftOrigin.id).where(
        ArticleDraftOrigin.reply_message_id == customer_message.id)) is None


def test_a_later_reply_answers_what_the_customer_asked_since_the_previous_one(session):
    agent = principal_of(make_user(session))
    conversation, ticket, _first = _solved_by_agent(session, agent)
    conversations.add_customer_message(session, conversation,
                                       "And do you deliver on Sundays?", None)
    lifecycle.customer_wrote(session, conversation)
    second = lifecycle.reply(session, ticket.id, agent, "Not yet; Saturdays until 2 pm.")
    article, _ = article_drafts.draft_from_reply(session, ticket_id=ticket.id,
                                                 message_id=second.id, actor=agent)
    assert article.title == "And do you deliver on Sundays?"
    assert article.body == "Not yet; Saturdays until 2 pm."


def test_erasing_the_customer_removes_an_unpublished_draft_of_theirs(session):
    agent = principal_of(make_user(session))
    conversation, ticket, reply = _solved_by_agent(session, agent)
    article, _ = article_drafts.draft_from_reply(session, ticket_id=ticket.id,
                                                 message_id=reply.id, actor=agent)
    admin = principal_of(make_user(session, role="admin"))
    query = privacy.CustomerQuery(conversation_id=conversation.id)
    exported = privacy.export_customer(session, admin, query)
    assert [d["article_id"] for d in exported["training_article_drafts"]] == [article.id]

    report = privacy.erase_customer(session, admin, query)
    assert report["erased"]["training_article_drafts"] == 1
    assert session.get(Article, article.id) is None
    assert report["verification"]["remaining"]["training_article_drafts"] == 0
