"""How password reset links reach the user: a pluggable sender.

The link is a secret; it is never logged. Deployments install a sender (e-mail, chat) with
`set_sender`; without one, the request is accepted and nothing is sent (an administrator
can still issue a link from the console). Tests install a recording sender and read the link
from it.
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class ResetLinkSender(Protocol):
    def send(self, *, email: str, link: str) -> None: ...


class NoSender:
    def send(self, *, email: str, link: str) -> None:
        log.warning("password reset requested but no reset-link sender is configured")


_sender: ResetLinkSender = NoSender()


def set_sender(sender: ResetLinkSender) -> ResetLinkSender:
    """Install a sender; returns the previous one so a caller can put it back."""
    global _sender
    previous, _sender = _sender, sender
    return previous


def get_sender() -> ResetLinkSender:
    return _sender
