"""What bot/pipeline.py still imports as `handoff.service`; everything else imports the modules
that do the work (intake, lifecycle, lookup, visibility, queue, merge...)."""

from __future__ import annotations

# Kept while the bot path is rewritten; it should import these from their modules directly.
from handoff.intake import HandoffSignal, hand_off
from handoff.lifecycle import customer_wrote
from handoff.lookup import open_ticket_for

__all__ = ["HandoffSignal", "customer_wrote", "hand_off", "open_ticket_for"]
