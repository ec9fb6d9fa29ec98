"""The path of one customer message, whatever the channel.

1. Store the message (its own transaction: once accepted, it is never lost).
2. If a human has the conversation, stop: agents see it live.
3. Otherwise understand the message (bot/understanding.py: the turn's one classification and
   knowledge-base lookup) and ask Rasa with that understanding in the message metadata
   (bot/rasa_client.py: a bounded number of calls at once, the rest queue); store the bot's
   replies (typed BotReply, bot/replies.py), and hand off when a reply says so. Within this
   process a conversation's messages go to Rasa one at a time, in the order they were stored.
4. A message still waiting after `rasa_wait_notice_seconds` gets the customer one notice
   that the answer is coming (once per wait, however many messages wait).
5. If Rasa is down, tell the customer and hand off (reason bot_unavailable); if it is busy
   past `rasa_busy_limit_seconds`, or too many messages already wait, likewise with reason
   bot_busy or bot_queue_full.

A retried send (same client_message_id) is stored once; the retry gets the stored turn: the
message and the replies that followed it (waiting for them first if this process is still
answering it). A stored message nobody answered (the attempt that stored it died with its
api process, or the database went away before the reply was stored) is answered by the
retry: at once when this process saw that attempt end, else once no process can still be on
it (`rasa_busy_limit_seconds` + RESUME_MARGIN_SECONDS after it was stored). The first record
of each answer carries the key `tandem-reply:<message id>` (unique per conversation), so two
processes can never both store an answer to one message.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.rasa_client import BotUnavailable, RasaBusy, RasaQueueFull, RasaSilent, get_rasa_client
from bot.replies import BotReply, replies_from_rasa
from bot.understanding import RECENT_MESSAGES, Understanding, understand
from conversations import service as conversations
from conversations.identity import CustomerIdentity
from conversations.models import ConversationStatus, Message, SenderType
from conversations.schemas import message_to_dict
from core import i18n, metrics
from core.database import session_scope, utcnow
from core.request_context import current_request_id
from core.settings import get_settings
from handoff import service as handoff
from knowledge_base import gaps as kb_gaps
from nlu import language
from nlu.handoff_policy import Reason

log = logging.getLogger(__name__)


_REASONS: dict[type[BotUnavailable], str] = {
    RasaBusy: Reason.BOT_BUSY,
    RasaQueueFull: Reason.BOT_QUEUE_FULL,
}
# The bot's own reply kinds (the tandem custom payload), as message-path metrics.
_PATHS = {"handoff": "handed_off", "clarify": "clarified"}
RECORD_ATTEMPTS = 3
# Beyond the busy limit, for an answer's recording to finish (database retries included).
RESUME_MARGIN_SECONDS = 20.0
ABANDONED_KEPT = 10_000  # turns this process saw end unrecorded, remembered for their retry

T = TypeVar("T")


@dataclass(frozen=True)
class Accepted:
    message: dict[str, Any]
    created: bool
    bot_active: bool
    previous_texts: list[str] = field(default_factory=list)  # the customer's, before this one
    locale: str | None = None  # the conversation's, after this message


@dataclass(frozen=True)
class TurnResult:
    customer_message: dict[str, Any]
    replies: list[dict[str, Any]]
    conversation_status: str
    duplicate: bool = False


# -- one conversation's messages, in order --------------------------------------------------

@dataclass(eq=False)
class _Conversation:
    """This process's messages of one conversation that are being stored or answered."""

    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    accepting: int = 0  # being stored now: one of them may get a smaller id than those waiting
    pending: set[int] = field(default_factory=set)  # stored, waiting for or in their turn
    running: int | None = None
    noticed: bool = False  # told "one moment" during the current wait
    handed_off: bool = False  # a turn here handed it off: later ones need not ask Rasa


class _Conversations:
    def __init__(self) -> None:
        self._by_id: dict[str, _Conversation] = {}
        # Messages whose turn ended here without an answer stored (an error on the way).
        self.abandoned: dict[int, float] = {}

    def abandon(self, message_id: int) -> None:
        self.abandoned[message_id] = time.monotonic()
        while len(self.abandoned) > ABANDONED_KEPT:
            del self.abandoned[next(iter(self.abandoned))]

    def enter(self, conversation_id: str) -> _Conversation:
        state = self._by_id.setdefault(conversation_id, _Conversation())
        state.accepting += 1
        return state

    async def accepted(self, conversation_id: str, state: _Conversation,
                       message_id: int | None) -> None:
        """Stored (or not): in the same step the message joins the line for its turn."""
        async with state.changed:
            state.accepting -= 1
            if message_id is not None:
                state.pending.add(message_id)
            state.changed.notify_all()
        self._forget_if_idle(conversation_id, state)

    async def claim(self, conversation_id: str, state: _Conversation,
                    message_id: int) -> bool:
        """Like accepted(), for a stored message a retry answers: False if another retry
        here already does."""
        async with state.changed:
            state.accepting -= 1
            claimed = message_id not in state.pending
            if claimed:
                state.pending.add(message_id)
            state.changed.notify_all()
        self._forget_if_idle(conversation_id, state)
        return claimed

    async def turn(self, state: _Conversation, message_id: int) -> None:
        """Wait until every earlier message of the conversation has had its turn."""
        async with state.changed:
            await state.changed.wait_for(
                lambda: state.running is None and state.accepting == 0
                and min(state.pending) == message_id)
            state.running = message_id

    async def done(self, conversation_id: str, state: _Conversation, message_id: int) -> None:
        async with state.changed:
            state.pending.discard(message_id)
            if state.running == message_id:
                state.running = None
            state.changed.notify_all()
        self._forget_if_idle(conversation_id, state)

    async def finished(self, state: _Conversation, message_id: int) -> None:
        """Wait until this process is done with `message_id` (at once if it never had it)."""
        async with state.changed:
            await state.changed.wait_for(lambda: message_id not in state.pending)

    def _forget_if_idle(self, conversation_id: str, state: _Conversation) -> None:
        if not state.accepting and not state.pending and \
                self._by_id.get(conversation_id) is state:
            del self._by_id[conversation_id]


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Conversations] = \
    weakref.WeakKeyDictionary()


def _conversations() -> _Conversations:
    # asyncio conditions belong to one loop; tests start a loop per app.
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = _Conversations()
    return registry


# -- database steps (each its own transaction, in a worker thread) --------------------------

def _transient(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return exc.connection_invalidated or "database is locked" in text


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Record what Rasa answered even through a moment of database contention (SQLite's
    write lock held past its busy timeout): the client's retry could not bring it back."""
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            return await run_in_threadpool(fn, *args)
        except OperationalError as exc:
            if attempt == RECORD_ATTEMPTS or not _transient(exc):
                raise
            log.warning("database busy while recording a bot turn; trying again")
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _accept(conversation_id: str, token: str | None, text: str,
            client_message_id: str | None, identity: CustomerIdentity | None) -> Accepted:
    with session_scope() as session:
        conversation = conversations.authorize_customer(session, conversation_id, token,
                                                        identity)
        message, created = conversations.add_customer_message(
            session, conversation, text, client_message_id
        )
        if created:
            # Wakes the ticket: pending → open, a recently solved one reopens.
            handoff.customer_wrote(session, conversation)
            conversation.locale = language.conversation_locale(
                text, conversation.locale, get_settings().supported_languages)
        bot_active = conversation.status == ConversationStatus.BOT
        previous = conversations.recent_customer_texts(
            session, conversation.id, before_id=message.id, limit=RECENT_MESSAGES
        ) if created and bot_active else []
        return Accepted(message_to_dict(message), created, bot_active, previous,
                        conversation.locale)


def reply_key(message_id: int) -> str:
    """The client_message_id of the first record of the answer to a customer message."""
    return f"{conversations.RESERVED_KEY_PREFIX}reply:{message_id}"


def _answered_elsewhere(conversation_id: str, message_id: int) -> tuple[
        list[dict[str, Any]], str]:
    turn = _stored_turn(conversation_id, message_id)
    return turn.replies, turn.status


def _record_bot_turn(conversation_id: str, message_id: int,
                     replies: list[BotReply]) -> tuple[list[dict[str, Any]], str]:
    try:
        return _store_bot_turn(conversation_id, message_id, replies)
    except IntegrityError:  # another process stored an answer to this message first
        return _answered_elsewhere(conversation_id, message_id)


def _store_bot_turn(conversation_id: str, message_id: int,
                    replies: list[BotReply]) -> tuple[list[dict[str, Any]], str]:
    stored: list[Message] = []
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        if conversation.status != ConversationStatus.BOT:
            # An agent took over while Rasa was thinking: the bot stays silent.
            return [], conversation.status
        signal: handoff.HandoffSignal | None = None
        for reply in replies:
            if not reply.text:
                continue
            meta = reply.meta()
            stored.append(conversations.add_message(
                session, conversation, sender_type=SenderType.BOT, body=reply.text, meta=meta,
                client_message_id=None if stored else reply_key(message_id)))
            kb_gaps.log_bot_turn(session, conversation.id, meta)
            if reply.hands_off:
                signal = handoff.HandoffSignal(reason=reply.reason or Reason.LOW_NLU_CONFIDENCE,
                                               intent=reply.intent,
                                               confidence=reply.confidence)
        if signal is not None:
            ticket_before = handoff.open_ticket_for(session, conversation.id)
            handoff.hand_off(session, conversation, signal)
            if ticket_before is None:
                stored += _handoff_notices(session, conversation.id, stored)
        status = conversation.status
        return [message_to_dict(m) for m in stored], status


def _handoff_notices(session: Session, conversation_id: str,
                     already: list[Message]) -> list[Message]:
    """The hand-off's own notices to the customer (queued, or away until a time), so the
    REST channel returns them with the turn."""
    after = max((m.id for m in already), default=0)
    return [m for m in conversations.transcript(session, conversation_id, after_id=after)
            if m.sender_type == SenderType.SYSTEM and m.meta.get("kind") in ("queued", "away")]


def _record_bot_unavailable(conversation_id: str, message_id: int, reason: str,
                            why: str) -> tuple[list[dict[str, Any]], str]:
    try:
        return _store_bot_unavailable(conversation_id, message_id, reason, why)
    except IntegrityError:
        return _answered_elsewhere(conversation_id, message_id)


def _store_bot_unavailable(conversation_id: str, message_id: int, reason: str,
                           why: str) -> tuple[list[dict[str, Any]], str]:
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        if conversation.status != ConversationStatus.BOT:
            return [], conversation.status  # someone else handed it off meanwhile
        text = i18n.text("notice.bot_unavailable" if reason == Reason.BOT_UNAVAILABLE
                         else "notice.bot_busy", conversation.locale)
        notice = conversations.add_message(
            session, conversation, sender_type=SenderType.SYSTEM, body=text,
            meta={"reason": reason, "detail": why}, client_message_id=reply_key(message_id))
        handoff.hand_off(session, conversation, handoff.HandoffSignal(reason=reason))
        stored = [notice, *_handoff_notices(session, conversation.id, [notice])]
        return [message_to_dict(m) for m in stored], conversation.status


def _record_wait_notice(conversation_id: str) -> dict[str, Any] | None:
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        if conversation.status != ConversationStatus.BOT:
            return None
        notice = conversations.add_message(
            session, conversation, sender_type=SenderType.SYSTEM,
            body=i18n.text("notice.wait", conversation.locale),
            meta={"kind": "waiting"})
        return message_to_dict(notice)


def _previous_texts(conversation_id: str, message_id: int) -> tuple[list[str], str]:
    """The customer's recent messages before this one, and the conversation's locale."""
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        return conversations.recent_customer_texts(
            session, conversation_id, before_id=message_id, limit=RECENT_MESSAGES
        ), conversation.locale


@dataclass(frozen=True)
class _StoredTurn:
    replies: list[dict[str, Any]]
    status: str
    answered: bool  # a bot reply or a hand-off notice follows the message
    age_seconds: float


def _stored_turn(conversation_id: str, message_id: int) -> _StoredTurn:
    """What followed a customer message: the replies up to the customer's next message."""
    with session_scope() as session:
        conversation = conversations.get_conversation(session, conversation_id)
        message = session.get(Message, message_id)
        age = (utcnow() - message.created_at).total_seconds() if message else 0.0
        replies: list[dict[str, Any]] = []
        answered = False
        for later in conversations.transcript(session, conversation_id, after_id=message_id):
            if later.sender_type == SenderType.CUSTOMER:
                break
            replies.append(message_to_dict(later))
            answered = answered or later.sender_type == SenderType.BOT \
                or later.client_message_id == reply_key(message_id) \
                or bool(later.meta.get("reason"))
        return _StoredTurn(replies, conversation.status, answered, age)


# -- the turn ---------------------------------------------------------------------------------

@dataclass(eq=False)
class _Waiting:
    """One message's wait for Rasa, as the notice timer sees it."""

    recording: bool = False  # the answer (or hand-off) is being stored: too late for a notice
    notice: asyncio.Task[dict[str, Any] | None] | None = None


async def _understand(text: str, previous_texts: list[str], locale: str | None
                      ) -> Understanding | None:
    try:
        return await run_in_threadpool(understand, text, previous_texts, locale)
    except Exception:  # Rasa's action then understands the message itself
        log.exception("could not understand a message before asking Rasa")
        return None


async def _ask_bot(conversation_id: str, state: _Conversation, message: dict[str, Any],
                   previous_texts: list[str], locale: str | None, deadline: float,
                   waiting: _Waiting) -> tuple[list[dict[str, Any]], str]:
    registry = _conversations()
    try:
        await registry.turn(state, message["id"])
        if state.handed_off:
            metrics.count_message("human")
            return [], ConversationStatus.HUMAN
        understanding = await _understand(message["text"], previous_texts, locale)
        try:
            output = await get_rasa_client().send_message(
                conversation_id, message["text"],
                # The request id travels on to Rasa's action call (bot/actions/endpoints.py).
                {"message_id": message["id"], "request_id": current_request_id(),
                 **(understanding.to_metadata() if understanding else {})},
                deadline=deadline)
            replies = replies_from_rasa(output)
            if not replies:
                raise RasaSilent("Rasa answered nothing (its log says why: e.g. a failed "
                                 "action call)")
        except BotUnavailable as exc:
            reason = _REASONS.get(type(exc), Reason.BOT_UNAVAILABLE)
            log.warning("no bot answer for conversation %s (%s): %s", conversation_id, reason,
                        exc.message)
            await _stop_notice(waiting)
            stored, status = await _in_thread(_record_bot_unavailable, conversation_id,
                                               message["id"], reason, exc.message)
            metrics.count_message(reason)
        else:
            await _stop_notice(waiting)
            stored, status = await _in_thread(_record_bot_turn, conversation_id,
                                               message["id"], replies)
            metrics.count_message(_path_of(stored, status))
            state.noticed = False  # answered: the next wait may have its own notice
        if status != ConversationStatus.BOT:
            state.handed_off = True
        return stored, status
    except BaseException:
        registry.abandon(message["id"])  # its retry answers it (see the module docstring)
        raise
    finally:
        await registry.done(conversation_id, state, message["id"])


def _path_of(stored: list[dict[str, Any]], status: str) -> str:
    if not stored:
        return "human" if status != ConversationStatus.BOT else "no_reply"
    kinds = {r["meta"].get("kind") for r in stored if r["sender_type"] == SenderType.BOT}
    return next((path for kind, path in _PATHS.items() if kind in kinds), "answered")


async def _stop_notice(waiting: _Waiting) -> None:
    """No notice after this point; one being stored goes before the answer."""
    waiting.recording = True
    if waiting.notice is not None:
        await asyncio.wait({waiting.notice})


async def handle_customer_message(
    conversation_id: str, token: str | None, text: str, client_message_id: str | None = None,
    identity: CustomerIdentity | None = None,
) -> TurnResult:
    registry = _conversations()
    state = registry.enter(conversation_id)
    try:
        accepted = await run_in_threadpool(_accept, conversation_id, token, text,
                                           client_message_id, identity)
    except BaseException:
        await registry.accepted(conversation_id, state, None)
        raise
    message = accepted.message
    asks_bot = accepted.created and accepted.bot_active
    await registry.accepted(conversation_id, state, message["id"] if asks_bot else None)
    if not accepted.created:
        return await _retried(conversation_id, message)
    if not asks_bot:
        metrics.count_message("human")
        return TurnResult(message, [], ConversationStatus.HUMAN)
    stored, status = await _answer(conversation_id, state, message, accepted.previous_texts,
                                   accepted.locale)
    return TurnResult(message, stored, status)


async def _answer(conversation_id: str, state: _Conversation, message: dict[str, Any],
                  previous_texts: list[str], locale: str | None
                  ) -> tuple[list[dict[str, Any]], str]:
    """Ask the bot in the message's turn (it is in state.pending), with the wait notice."""
    settings = get_settings()
    # The deadline counts from now, the message being stored: queueing is part of the wait.
    deadline = asyncio.get_running_loop().time() + settings.rasa_busy_limit_seconds
    waiting = _Waiting()
    # A task of its own: the turn completes even if this request goes away meanwhile.
    work = asyncio.ensure_future(_ask_bot(conversation_id, state, message, previous_texts,
                                          locale, deadline, waiting))
    done, _ = await asyncio.wait({work}, timeout=settings.rasa_wait_notice_seconds)
    if not done and not waiting.recording and not state.noticed:
        state.noticed = True
        waiting.notice = asyncio.ensure_future(
            run_in_threadpool(_record_wait_notice, conversation_id))
    stored, status = await asyncio.shield(work)
    return _notice_of(waiting) + stored, status


async def _retried(conversation_id: str, message: dict[str, Any]) -> TurnResult:
    """A send already stored: its stored turn, answering it first if nobody did."""
    registry = _conversations()
    message_id = message["id"]
    resume_at = get_settings().rasa_busy_limit_seconds + RESUME_MARGIN_SECONDS
    while True:
        state = registry.enter(conversation_id)
        await registry.accepted(conversation_id, state, None)
        await registry.finished(state, message_id)  # this process's attempt, if under way
        turn = await run_in_threadpool(_stored_turn, conversation_id, message_id)
        if turn.answered or turn.status != ConversationStatus.BOT:
            return TurnResult(message, turn.replies, turn.status, duplicate=True)
        if message_id in registry.abandoned or turn.age_seconds >= resume_at:
            state = registry.enter(conversation_id)
            if await registry.claim(conversation_id, state, message_id):
                break
            continue  # another retry here answers it: wait for that
        # Another process may still be answering it: give it until it cannot be.
        await asyncio.sleep(min(2.0, resume_at - turn.age_seconds))
    registry.abandoned.pop(message_id, None)
    log.warning("answering message %s of conversation %s, stored by an attempt that did not "
                "answer it", message_id, conversation_id)
    previous, locale = await run_in_threadpool(_previous_texts, conversation_id, message_id)
    stored, status = await _answer(conversation_id, state, message, previous, locale)
    return TurnResult(message, turn.replies + stored, status, duplicate=True)


def _notice_of(waiting: _Waiting) -> list[dict[str, Any]]:
    task = waiting.notice
    if task is None or not task.done() or task.cancelled():
        return []
    if task.exception() is not None:  # the answer matters more than the notice
        log.warning("the wait notice was not stored: %r", task.exception())
        return []
    notice = task.result()
    return [notice] if notice else []
