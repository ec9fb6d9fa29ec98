"""What a channel is.

A channel has two halves, and neither touches conversation logic:

* inbound: turn whatever the channel receives into
  `bot.pipeline.handle_customer_message(conversation_id, token, text, client_message_id)`;
* outbound: deliver messages that appear in a conversation. Every stored message is
  published on the realtime hub (topic `conversation:<id>`); a channel delivers from there
  (the widget's WebSocket subscribes to it; an e-mail channel would send a mail per
  agent message from a worker task).

Adding a channel means writing one module with an `APIRouter` (inbound) and, if it
pushes, a subscriber (outbound), then naming it in `conversations.service.KNOWN_CHANNELS`.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from fastapi import APIRouter


class ChannelAdapter(Protocol):
    name: ClassVar[str]

    def router(self) -> APIRouter:
        """The HTTP/WebSocket surface through which this channel receives messages."""
        ...
