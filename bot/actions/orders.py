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
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.actions.intents import live_thresholds
from bot.actions.respond import ActionResult, article_reply, decide_turn, understanding_of
from bot.replies import BotReply, ReplyKind
from nlu.handoff_policy import Decision, Reason

ORDERS_FILE = Path(__file__).resolve().parent.parent / "demo_orders.yml"
FORM_NAME = "order_form"
VALIDATE_ACTION = "validate_order_form"
STATUS_ACTION = "action_order_status"
RETURN_ACTION = "action_start_return"
NUMBER_SLOT = "order_number"
EMAIL_SLOT = "order_email"
FAILURES_SLOT = "order_verification_failures"
REQUESTED_SLOT = "requested_slot"
# How the form's last turn went, for the wording of its next question (domain.yml responses):
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
    r"no\s+thanks?|not\s+now|skip(?:\s+it)?)\W*$", re.IGNORECASE)
HUMAN_INTENTS = frozenset({"request_human"})
# Messages that are an attempt at the value asked for, even when malformed.
VALUE_INTENTS = frozenset({"inform"})
LOOKS_LIKE_VALUE = {"order_number": re.compile(r"\d"), "order_email": re.compile(r"@")}
# A digression that hands off instead of answering: the customer wants a person.
LEAVING_REASONS = frozenset({Reason.CUSTOMER_REQUEST, Reason.FRUSTRATION,
                             Reason.INTENT_OVERRIDE})

# The form asks again right after these (utter_ask_order_number / utter_ask_order_email).
NUMBER_ERROR = ("Sorry, that doesn't look like an order number: they look like NW-123456. "
                "(You can say \"stop\" to leave this.)")
EMAIL_ERROR = ("Sorry, that doesn't look like an e-mail address. "
               "(You can say \"stop\" to leave this.)")
STOPPED_TEXT = "No problem, I've stopped. What else can I help you with?"
NOT_VERIFIED_TEXT = ("Sorry, I couldn't verify that order with that e-mail address, so I can't "
                     "share its details. Please check both and ask me again.")
VERIFICATION_HANDOFF_TEXT = ("I still couldn't verify the order, so I'm passing you to a member "
                             "of our support team; they will reply here shortly.")
HUMAN_HANDOFF_TEXT = ("Of course. I'm connecting you with a member of our support team; they "
                      "will reply here shortly.")
UNRELATED_TEXT = "Sorry, I can't help with that while I'm looking up your order."
LEAVING_HANDOFF_TEXT = ("I'll leave the order lookup. A member of our support team will take "
                        "this over and reply here shortly.")


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
    intent = understanding.intent

    if intent in HUMAN_INTENTS or STOP_TEXT.match(text):
        result.events += _leave_form()
        if intent in HUMAN_INTENTS:
            result.responses.append(_reply("handoff", HUMAN_HANDOFF_TEXT, "request_human",
                                           Reason.CUSTOMER_REQUEST))
        else:
            result.responses.append(_reply("answer", STOPPED_TEXT, _form_intent(tracker),
                                           Reason.FORM_STOPPED))
        return result

    normalise, error = ((normalise_order_number, NUMBER_ERROR) if requested == NUMBER_SLOT
                        else (normalise_email, EMAIL_ERROR))
    clean = normalise(str(slots.get(requested) or text))
    result.events.append(_slot(requested, clean))
    if clean is not None:
        result.events.append(_slot(ASIDE_SLOT, None))
        return result
    if intent in VALUE_INTENTS or LOOKS_LIKE_VALUE[requested].search(text):
        result.events.append(_slot(ASIDE_SLOT, None))
        result.responses.append(_reply("answer", error, _form_intent(tracker),
                                       Reason.FORM_INVALID_VALUE, slot=requested))
        return result
    return _digression(tracker, understanding, requested, result)


def _digression(tracker: dict[str, Any], understanding: Any, requested: str,
                result: ActionResult) -> ActionResult:
    """Not the value asked for: answer it if the knowledge base can, then resume the form."""
    outcome = decide_turn(understanding, 0, live_thresholds())
    if outcome.decision == Decision.HANDOFF and outcome.reason in LEAVING_REASONS:
        result.events += _leave_form()
        result.responses.append(_reply("handoff", LEAVING_HANDOFF_TEXT, understanding.intent,
                                       outcome.reason))
        return result
    # The second unrelated message in a row (the last question was already a resumption):
    # offer to leave the form instead of asking the same thing again.
    again = (tracker.get("slots") or {}).get(ASIDE_SLOT) in ("answered", "offer")
    result.events.append(_slot(ASIDE_SLOT, "offer" if again else "answered"))
    if outcome.decision == Decision.ANSWER and understanding.best_hit is not None:
        result.responses.append(article_reply(understanding, outcome, form=FORM_NAME).to_rasa())
    elif outcome.reason == Reason.SMALL_TALK:
        reply = BotReply(kind="answer", decision=outcome.decision, reason=outcome.reason,
                         intent=understanding.intent, form=FORM_NAME)
        result.responses.append(reply.to_rasa(response=f"utter_{understanding.intent}"))
    else:
        result.responses.append(_reply("answer", UNRELATED_TEXT, understanding.intent,
                                       Reason.FORM_DIGRESSION, slot=requested))
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


def _status_text(order: Order) -> str:
    items = ", ".join(order.items)
    if order.status == "delivered" and order.delivered:
        text = f"Order {order.number} ({items}) was delivered on {order.delivered:%B %-d, %Y}"
        if order.carrier:
            text += f" by {order.carrier}"
        return text + "."
    if order.status == "shipped":
        text = f"Order {order.number} ({items}) is on its way"
        if order.carrier and order.tracking:
            text += f" with {order.carrier}, tracking number {order.tracking}"
        return text + "."
    if order.status == "processing":
        return (f"Order {order.number} ({items}) is being prepared in our warehouse; you'll get "
                "an e-mail with tracking as soon as it ships.")
    if order.status == "cancelled":
        return f"Order {order.number} ({items}) was cancelled."
    return f"Order {order.number} ({items}) has the status \u201c{order.status}\u201d."


def _return_text(order: Order, today: date) -> tuple[str, bool]:
    """(reply, whether the return was started)."""
    if order.status != "delivered" or order.delivered is None:
        return (f"Order {order.number} hasn't been delivered yet, so it can't be returned. "
                "Once it arrives you have 30 days to start a return. Would you like to talk "
                "to a person about it?"), False
    days = (today - order.delivered).days
    if days > RETURN_WINDOW_DAYS:
        return (f"Order {order.number} was delivered on {order.delivered:%B %-d, %Y}, "
                f"{days} days ago. Our return window is {RETURN_WINDOW_DAYS} days from delivery, "
                "so I can't start a return here. If you think an exception applies, ask to "
                "talk to a person and our team will take a look."), False
    last_day = order.delivered + timedelta(days=RETURN_WINDOW_DAYS)
    return (f"Your return for order {order.number} is started. Return reference: "
            f"{_reference(order)}. 1) Pack the items with their tags. 2) Print the prepaid "
            f"label we've e-mailed to {order.email}. 3) Drop the parcel off at any "
            f"{order.carrier or 'carrier'} location by {last_day:%B %-d, %Y}. Your refund "
            "follows within 5 business days of the parcel reaching us."), True


def _submit(tracker: dict[str, Any], kind: str, today: date | None) -> ActionResult:
    today = today or date.today()
    slots = tracker.get("slots") or {}
    intent = "start_return" if kind == "return" else "ask_order_status"
    failures = int(float(slots.get(FAILURES_SLOT) or 0))
    result = ActionResult()
    # Every submit clears the form, so the next request asks again.
    result.events += [_slot(NUMBER_SLOT, None), _slot(EMAIL_SLOT, None)]
    order, completed = _lookup(tracker, today)
    if not completed:  # the customer left the form; the validator already answered
        return result
    if order is None:
        failures += 1
        result.events.append(_slot(FAILURES_SLOT, failures))
        if failures >= MAX_FAILED_VERIFICATIONS:
            result.responses.append(_reply("handoff", VERIFICATION_HANDOFF_TEXT, intent,
                                             Reason.VERIFICATION_FAILED))
        else:
            result.responses.append(_reply("answer", NOT_VERIFIED_TEXT, intent,
                                             Reason.ORDER_NOT_VERIFIED))
        return result
    result.events.append(_slot(FAILURES_SLOT, 0))
    if kind == "return":
        text, started = _return_text(order, today)
        extra: dict[str, Any] = {"order": order.number, "return_started": started}
        if started:
            extra["return_reference"] = _reference(order)
        result.responses.append(_reply("answer", text, intent, Reason.ORDER_VERIFIED, **extra))
    else:
        result.responses.append(_reply("answer", _status_text(order), intent,
                                         Reason.ORDER_VERIFIED, order=order.number,
                                         order_status=order.status))
    return result


def order_status(tracker: dict[str, Any], today: date | None = None) -> ActionResult:
    return _submit(tracker, "status", today)


def start_return(tracker: dict[str, Any], today: date | None = None) -> ActionResult:
    return _submit(tracker, "return", today)
