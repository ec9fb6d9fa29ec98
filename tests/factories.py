"""Builders for test data, going through the services as production code does."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from conversations import service as conversations
from conversations.models import Conversation, SenderType
from core.auth.models import User
from core.auth.permissions import permissions_for
from core.auth.service import Principal, create_user
from handoff import intake
from handoff.models import Ticket
from knowledge_base import service as kb
from knowledge_base.models import Article, ArticleStatus

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(session: Session, role: str = "agent", email: str | None = None) -> User:
    n = next(_counter)
    return create_user(session, email=email or f"{role}{n}@example.test",
                       display_name=f"{role.title()} {n}", password=PASSWORD, role=role)


def make_conversation(session: Session, channel: str = "rest") -> tuple[Conversation, str]:
    return conversations.start_conversation(session, channel=channel)


def make_ticket(session: Session, text: str = "I need help with my order",
                reason: str = "customer_request") -> Ticket:
    conversation, _ = make_conversation(session)
    conversations.add_customer_message(session, conversation, text, None)
    conversations.add_message(session, conversation, sender_type=SenderType.BOT,
                              body="Handing you over.", meta={"kind": "handoff"})
    return intake.hand_off(session, conversation,
                            intake.HandoffSignal(reason=reason, intent="request_human",
                                                  confidence=0.93))


def make_article(session: Session, title: str, questions: list[str] | None = None, *,
                 body: str = "", category: str = "general",
                 status: str = ArticleStatus.PUBLISHED) -> Article:
    """Published by default (its index sync is sent after commit, as in production)."""
    return kb.create_article(session, kb.ArticleInput(
        title=title, body=body, category=category,
        alternative_questions=list(questions or [])), None, status=status)


def principal_of(user: User) -> Principal:
    """The caller as the services see it after authentication."""
    return Principal(user.id, user.email, user.display_name, user.role,
                     permissions_for(user.role))
