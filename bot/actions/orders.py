"""The order forms: order status and starting a return (docs/nlu.md, "Forms").

Rasa's `order_form` collects `order_number` and `order_email` (from_text while the form asks
for them); `validate_order_form` checks each value as it arrives, and the submit actions
(`action_order_status`, `action_start_return`) look the order up in the demo fixture
(bot/demo_orders.yml). Nothing about an order is revealed unless the e-mail matches it; the
second failed verification in a conversation hands off to a person. Replies are BotReplies
like action_tandem_respond's, so the message pipeline stores them and acts on a hand-off the
same way.

Digressions: a message that is not the value asked for is understood like any other turn
(the pipeline's Understanding in the metadata). A question the knowledge base answers gets the
article and the form resumes ("Now, back to your order: …"); asking for a person or an angry
message leaves the form and hands off; "stop" leaves it; the second unrelated message in a row
offers to leave it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.actions.intents import live_thresholds
from bot.actions.respond import (
    ActionResult,
    article_reply,
    decide_turn,
    small_talk_text,
    understanding_of,
)
from bot.replies import BotReply, ReplyKind
from core import i18n
from nlu.handoff_policy import Decision, Reason

ORDERS_FILE = Path(__file__).resolve().parent.parent / "demo_orders.yml"
FORM_NAME = "order_form"
VALIDATE_ACTION = "validate_order_form"
STATUS_ACTION = "action_order_status"
RETURN_ACTION = "action_start_return"
# The form's questions, asked in the customer's language (Rasa calls action_ask_<slot>
# instead of rendering utter_ask_<slot> when the domain lists it).
ASK_ACTIONS = {"action_ask_order_number": "order_number",
               "action_ask_order_email": "order_email"}
NUMBER_SLOT = "order_number"
EMAIL_SLOT = "order_email"
FAILURES_SLOT = "order_verification_failures"
REQUESTED_SLOT = "requested_slot"
# How the form's last turn went, for the wording of its next question (ask()):
# "answered" after a digression the bot answered, "offer" when it offers to leave the form.
ASIDE_SLOT = "form_aside"
RETURN_WINDOW_DAYS = 30
MAX_FAILED_VERIFICATIONS = 2

ORDER_NUMBER = re.compile(r"\b(?:NW[\s-]?)?(\d{6})\b", re.IGNORECASE)
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                   r"\.[A-Za-z]{2,}")
# Ways of leaving the form; matched on the whole message, so "stop" inside a sentence that
# also carries a value does not cancel.
STOP_TEXT = re.compile(
    r"^\s*(?:please\s+)?(?:stop|cancel|quit|exit|never\s*mind|nevermind|forget\s+it|"
    r"no\s+thanks?|not\s+now|skip(?:\s+it)?|"
    r"停止|停|取消|算了|不用了|不要了|退出|先不了|不查了)\W*$", re.IGNORECASE)
HUMAN_INTENTS = frozenset({"request_human"})
# Messages that are an attempt at the value asked for, even when malformed.
VALUE_INTENTS = frozenset({"inform"})
LOOKS_LIKE_VALUE = {"order_number": re.compile(r"\d"), "order_email": re.compile(r"@")}
# A digression that hands off instead of answering: the customer wants a person.
LEAVING_REASONS = frozenset({Reason.CUSTOMER_REQUEST, Reason.FRUSTRATION,
                             Reason.INTENT_OVERRIDE})

@dataclass(frozen=True)
class Order:
    number: str
    email: str
    status: str
    carrier: str | None
    tracking: str | None
    delivered: date | None
    items: tuple[str, ...]


@lru_cache
def _fixture(path: Path = ORDERS_FILE) -> tuple[dict[str, Any], ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(data.get("orders") or ())


def load_orders(today: date | None = None, path: Path = ORDERS_FILE) -> dict[str, Order]:
    today = today or date.today()
    orders = {}
    for row in _fixture(path):
        days = row.get("delivered_days_ago")
        order = Order(number=normalise_order_number(str(row["number"])) or str(row["number"]),
                      email=str(row["email"]).lower(), status=str(row["status"]),
                      carrier=row.get("carrier"), tracking=row.get("tracking"),
                      delivered=None if days is None else today - timedelta(days=int(days)),
                      items=tuple(str(i) for i in row.get("items") or ()))
        orders[order.number] = order
    return orders


def normalise_order_number(text: str) -> str | None:
    """`NW-123456`, `nw 123456`, `nw123456` or `123456` -> `NW-123456`; otherwise None."""
    match = ORDER_NUMBER.search(text or "")
    return f"NW-{match.group(1)}" if match else None


def normalise_email(text: str) -> str | None:
    match = EMAIL.search(text or "")
    return match.group(0).lower() if match else None


def _slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def _reply(kind: ReplyKind, text: str, intent: str | None, reason: Reason,
           **extra: Any) -> dict[str, Any]:
    decision = Decision.HANDOFF if kind == "handoff" else Decision.ANSWER
    return BotReply(kind=kind, text=text, intent=intent, decision=decision, reason=reason,
                    form=FORM_NAME, **extra).to_rasa()


def _request_kind(tracker: dict[str, Any]) -> str:
    return "return" if (tracker.get("slots") or {}).get("order_request") == "return" else "status"


def _form_intent(tracker: dict[str, Any]) -> str:
    return "start_return" if _request_kind(tracker) == "return" else "ask_order_status"


def _leave_form() -> list[dict[str, Any]]:
    """Clear the form and end the loop. The submit rule still runs and stays silent, because
    the slots are empty."""
    return [_slot(NUMBER_SLOT, None), _slot(EMAIL_SLOT, None), _slot(REQUESTED_SLOT, None),
            _slot(ASIDE_SLOT, None), {"event": "active_loop", "name": None}]


def validate(tracker: dict[str, Any]) -> ActionResult:
    """validate_order_form: check the slot the form just asked for, or handle a digression."""
    slots = tracker.get("slots") or {}
    latest = tracker.get("latest_message") or {}
    text = str(latest.get("text") or "")
    result = ActionResult()
    requested = slots.get(REQUESTED_SLOT)
    if not requested:  # the form's first step: nothing was asked yet
        return result
    understanding = understanding_of(tracker)
    intent, locale = understanding.intent, understanding.locale

    if intent in HUMAN_INTENTS or STOP_TEXT.match(text):
        result.events += _leave_form()
        if intent in HUMAN_INTENTS:
            result.responses.append(_reply("handoff", i18n.text("form.human_handoff", locale),
                                           "request_human", Reason.CUSTOMER_REQUEST))
        else:
            result.responses.append(_reply("answer", i18n.text("form.stopped", locale),
                                           _form_intent(tracker), Reason.FORM_STOPPED))
        return result

    normalise, error = ((normalise_order_number, "form.number_error")
                        if requested == NUMBER_SLOT else (normalise_email, "form.email_error"))
    clean = normalise(str(slots.get(requested) or text))
    result.events.append(_slot(requested, clean))
    if clean is not None:
        result.events.append(_slot(ASIDE_SLOT, None))
        return result
    if intent in VALUE_INTENTS or LOOKS_LIKE_VALUE[requested].search(text):
        result.events.append(_slot(ASIDE_SLOT, None))
        result.responses.append(_reply("answer", i18n.text(error, locale), _form_intent(tracker),
                                       Reason.FORM_INVALID_VALUE, slot=requested))
        return result
    return _digression(tracker, understanding, requested, result)


def _digression(tracker: dict[str, Any], understanding: Any, requested: str,
                result: ActionResult) -> ActionResult:
    """Not the value asked for: answer it if the knowledge base can, then resume the form."""
    locale = understanding.locale
    outcome = decide_turn(understanding, 0, live_thresholds(locale))
    if outcome.decision == Decision.HANDOFF and outcome.reason in LEAVING_REASONS:
        result.events += _leave_form()
        result.responses.append(_reply("handoff", i18n.text("form.leaving_handoff", locale),
                                       understanding.intent, outcome.reason))
        return result
    # The second unrelated message in a row (the last question was already a resumption):
    # offer to leave the form instead of asking the same thing again.
    again = (tracker.get("slots") or {}).get(ASIDE_SLOT) in ("answered", "offer")
    result.events.append(_slot(ASIDE_SLOT, "offer" if again else "answered"))
    if outcome.decision == Decision.ANSWER and understanding.best_hit is not None:
        result.responses.append(article_reply(understanding, outcome, form=FORM_NAME).to_rasa())
    elif outcome.reason == Reason.SMALL_TALK:
        reply = BotReply(kind="answer", decision=outcome.decision, reason=outcome.reason,
                         intent=understanding.intent, form=FORM_NAME,
                         text=small_talk_text(understanding.intent, locale))
        result.responses.append(reply.to_rasa())
    else:
        result.responses.append(_reply("answer", i18n.text("form.unrelated", locale),
                                       understanding.intent, Reason.FORM_DIGRESSION,
                                       slot=requested))
    return result


def _lookup(tracker: dict[str, Any], today: date | None) -> tuple[Order | None, bool]:
    """(the verified order or None, whether the form was completed at all)."""
    slots = tracker.get("slots") or {}
    number = normalise_order_number(str(slots.get(NUMBER_SLOT) or ""))
    email = normalise_email(str(slots.get(EMAIL_SLOT) or ""))
    if not number or not email:
        return None, False
    order = load_orders(today).get(number)
    if order is None or order.email != email:
        return None, True
    return order, True


def _reference(order: Order) -> str:
    digest = hashlib.sha256(f"return:{order.number}:{order.email}".encode()).hexdigest()
    return f"RMA-{digest[:8].upper()}"


def _status_text(order: Order, locale: str = "en") -> str:
    values = {"number": order.number, "status": order.status, "carrier": order.carrier,
              "tracking": order.tracking,
              "items": i18n.text("order.item_separator", locale).join(order.items)}
    if order.status == "delivered" and order.delivered:
        key = "order.delivered_by" if order.carrier else "order.delivered"
        return i18n.text(key, locale, date=i18n.format_date(order.delivered, locale), **values)
    if order.status == "shipped":
        key = "order.shipped_tracking" if order.carrier and order.tracking else "order.shipped"
        return i18n.text(key, locale, **values)
    if order.status in ("processing", "cancelled"):
        return i18n.text(f"order.{order.status}", locale, **values)
    return i18n.text("order.other_status", locale, **values)


def _return_text(order: Order, today: date, locale: str = "en") -> tuple[str, bool]:
    """(reply, whether the return was started)."""
    if order.status != "delivered" or order.delivered is None:
        return i18n.text("return.not_delivered", locale, number=order.number), False
    days = (today - order.delivered).days
    if days > RETURN_WINDOW_DAYS:
        return i18n.text("return.window_passed", locale, number=order.number, days=days,
                         date=i18n.format_date(order.delivered, locale),
                         window=RETURN_WINDOW_DAYS), False
    last_day = order.delivered + timedelta(days=RETURN_WINDOW_DAYS)
    return i18n.text("return.started", locale, number=order.number,
                     reference=_reference(order), email=order.email,
                     carrier=order.carrier or i18n.text("return.any_carrier", locale),
                     last_day=i18n.format_date(last_day, locale)), True


def _submit(tracker: dict[str, Any], kind: str, today: date | None) -> ActionResult:
    today = today or date.today()
    slots = tracker.get("slots") or {}
    intent = "start_return" if kind == "return" else "ask_order_status"
    failures = int(float(slots.get(FAILURES_SLOT) or 0))
    result = ActionResult()
    locale = understanding_of(tracker).locale
    # Every submit clears the form, so the next request asks again.
    result.events += [_slot(NUMBER_SLOT, None), _slot(EMAIL_SLOT, None)]
    order, completed = _lookup(tracker, today)
    if not completed:  # the customer left the form; the validator already answered
        return result
    if order is None:
        failures += 1
        result.events.append(_slot(FAILURES_SLOT, failures))
        if failures >= MAX_FAILED_VERIFICATIONS:
            result.responses.append(_reply(
                "handoff", i18n.text("form.verification_handoff", locale), intent,
                Reason.VERIFICATION_FAILED))
        else:
            result.responses.append(_reply("answer", i18n.text("form.not_verified", locale),
                                           intent, Reason.ORDER_NOT_VERIFIED))
        return result
    result.events.append(_slot(FAILURES_SLOT, 0))
    if kind == "return":
        text, started = _return_text(order, today, locale)
        extra: dict[str, Any] = {"order": order.number, "return_started": started}
        if started:
            extra["return_reference"] = _reference(order)
        result.responses.append(_reply("answer", text, intent, Reason.ORDER_VERIFIED, **extra))
    else:
        result.responses.append(_reply("answer", _status_text(order, locale), intent,
                                         Reason.ORDER_VERIFIED, order=order.number,
                                         order_status=order.status))
    return result


def ask(tracker: dict[str, Any], slot: str) -> ActionResult:
    """The form's question for `slot`, worded after how its last turn went (ASIDE_SLOT)."""
    aside = (tracker.get("slots") or {}).get(ASIDE_SLOT)
    key = f"form.ask_{slot}" + (f".{aside}" if aside in ("answered", "offer") else "")
    text = i18n.text(key, understanding_of(tracker).locale)
    return ActionResult(responses=[BotReply(kind="prompt", text=text).to_rasa()])


def ask_action(slot: str) -> Callable[[dict[str, Any]], ActionResult]:
    return lambda tracker: ask(tracker, slot)


def order_status(tracker: dict[str, Any], today: date | None = None) -> ActionResult:
    return _submit(tracker, "status", today)


def start_return(tracker: dict[str, Any], today: date | None = None) -> ActionResult:
    return _submit(tracker, "return", today)
