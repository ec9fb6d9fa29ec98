"""BotReply: what the bot's actions answer for a turn, typed from the action to the database.

An action returns each reply as Rasa's custom payload (`custom.tandem`); Rasa passes it through
untouched, and the message pipeline reads it back with BotReply.from_rasa() and acts on its
kind and reason. One model on both sides, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from nlu.handoff_policy import Decision, Reason

log = logging.getLogger(__name__)

PAYLOAD_KEY = "tandem"

ReplyKind = Literal["answer", "clarify", "handoff"]
# A domain response Rasa sends on its own (a form's question): it carries no decision.
PROMPT = "prompt"


class ArticleRef(BaseModel):
    id: int
    slug: str
    title: str
    url: str
    matched_on: str


class RelatedArticle(BaseModel):
    slug: str
    title: str
    score: float


class BotReply(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=False)

    kind: ReplyKind | Literal["prompt"]
    text: str | None = None  # None: Rasa renders the domain response named in `response`
    decision: Decision | None = None  # None only for a prompt
    reason: Reason | None = None
    intent: str | None = None
    confidence: float | None = None
    kb_score: float | None = None
    ranking_source: str | None = None
    article: ArticleRef | None = None
    related: list[RelatedArticle] = []
    # The order forms: which form, which slot a reply is about, what the lookup found.
    form: str | None = None
    slot: str | None = None
    order: str | None = None
    order_status: str | None = None
    return_started: bool | None = None
    return_reference: str | None = None

    @property
    def hands_off(self) -> bool:
        return self.kind == "handoff"

    def to_rasa(self, response: str | None = None) -> dict[str, Any]:
        """The action-server response entry; `response` names a domain response to render."""
        entry: dict[str, Any] = {"custom": {PAYLOAD_KEY: self.model_dump(
            mode="json", exclude_none=True)}}
        if response:
            entry["response"] = response
        return entry

    def meta(self) -> dict[str, Any]:
        """What is stored with the bot's message (everything but the text)."""
        if self.kind == PROMPT:
            return {}
        return self.model_dump(mode="json", exclude_none=True, exclude={"text"})

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> BotReply | None:
        """One of Rasa's output messages as a BotReply; None if it has nothing to store."""
        payload = (message.get("custom") or {}).get(PAYLOAD_KEY)
        if not isinstance(payload, dict):
            text = message.get("text")
            return cls(kind=PROMPT, text=str(text)) if text else None
        try:
            reply = cls.model_validate(payload)
        except ValidationError:
            log.warning("ignoring a malformed bot reply from Rasa: %s", sorted(payload))
            return None
        if reply.text is None and message.get("text"):
            reply = reply.model_copy(update={"text": str(message["text"])})
        return reply


def replies_from_rasa(output: list[dict[str, Any]]) -> list[BotReply]:
    """Rasa's output for one turn as BotReplies. Rasa's REST channel sends a domain response
    rendered for a payload (`utter_greet` plus ours) as two messages, the text and then the
    custom part: they are one reply."""
    replies: list[BotReply] = []
    for message in output:
        reply = BotReply.from_rasa(message)
        if reply is None:
            continue
        if reply.text is None and replies and replies[-1].kind == PROMPT:
            reply = reply.model_copy(update={"text": replies.pop().text})
        replies.append(reply)
    return replies
