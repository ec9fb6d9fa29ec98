"""What agents without pii.read see: transcripts with personal data masked.

Free text goes through `nlu.pii.mask_text` (e-mails, phones, cards, addresses, order ids);
fields that are personal data as a whole (the customer's name and e-mail) are redacted.
"""

from __future__ import annotations

from typing import Any

from core.auth.permissions import Permission
from core.auth.service import Principal
from nlu.pii import mask_text, mask_value


def mask_message(message: dict[str, Any]) -> dict[str, Any]:
    masked = dict(message)
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_text(masked["text"])
    return masked


def mask_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    masked = dict(ticket)
    if isinstance(masked.get("subject"), str):
        masked["subject"] = mask_text(masked["subject"])
    for key in ("customer_name", "customer_email"):
        if masked.get(key):
            masked[key] = mask_value(masked[key])
    return masked


def shown_ticket(viewer: Principal, ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as `viewer` may see it (its subject is the customer's own words)."""
    return ticket if viewer.can(Permission.PII_READ) else mask_ticket(ticket)


def mask_ticket_view(view: dict[str, Any]) -> dict[str, Any]:
    """A ticket-detail response: ticket, conversation (customer fields), messages."""
    masked = dict(view)
    if "ticket" in masked:
        masked["ticket"] = mask_ticket(masked["ticket"])
    if "conversation" in masked:
        conversation = dict(masked["conversation"])
        for key in ("customer_name", "customer_email", "customer_external_id"):
            if key in conversation:
                conversation[key] = mask_value(conversation[key])
        masked["conversation"] = conversation
    if "messages" in masked:
        masked["messages"] = [mask_message(m) for m in masked["messages"]]
    if "notes" in masked:  # agents quote customers in notes
        masked["notes"] = [mask_message(n) for n in masked["notes"]]
    if "previous_conversations" in masked:
        masked["previous_conversations"] = [mask_ticket(p)
                                            for p in masked["previous_conversations"]]
    return masked


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """A live event for the agent WebSocket."""
    masked = dict(event)
    if isinstance(masked.get("message"), dict):
        masked["message"] = mask_message(masked["message"])
    if isinstance(masked.get("ticket"), dict):
        masked["ticket"] = mask_ticket(masked["ticket"])
    if isinstance(masked.get("note"), dict):
        masked["note"] = mask_message(masked["note"])
    return masked
