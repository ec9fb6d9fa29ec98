"""Login throttling that an attacker cannot turn into a lockout of the real user.

Three counters over the attempts table (shared by every api process through the database):

- per (account, address) pair: the 6th wrong password within WINDOW is refused until the
  oldest of those failures leaves the window. Only the attacker's address is blocked; a
  success from that pair clears its count.
- per address, across accounts (password spraying): after ADDRESS_FREE failures each further
  attempt waits a delay that doubles with every failure (capped at MAX_ADDRESS_DELAY).
- per account, across addresses (a distributed attack): after ACCOUNT_FREE failures a growing
  delay capped at MAX_ACCOUNT_DELAY, which does not apply to an address that has logged in to
  this account successfully before, so the owner keeps getting in from their usual place.

Refused attempts are not counted as failures, so hammering a blocked pair does not extend its
block: the window always ends. Times come from the caller (`now`), so tests move a clock
instead of sleeping.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.auth.models import LoginAttempt
from core.errors import TandemError

WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
ADDRESS_FREE = 10
MAX_ADDRESS_DELAY = timedelta(minutes=15)
ACCOUNT_FREE = 10
MAX_ACCOUNT_DELAY = timedelta(seconds=60)
KNOWN_ADDRESS_MEMORY = timedelta(days=30)
UNKNOWN_ADDRESS = "unknown"


class TooManyAttempts(TandemError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def _growing_delay(failures: int, free: int, cap: timedelta) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(cap, timedelta(seconds=2 ** min(failures - free, 20)))


def check(session: Session, *, account: str, address: str | None, now: datetime) -> None:
    """Raise TooManyAttempts (429 with Retry-After) if this attempt must wait."""
    address = address or UNKNOWN_ADDRESS
    since = now - WINDOW
    last_pair_success = session.scalar(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.account == account, LoginAttempt.client_address == address,
            LoginAttempt.succeeded.is_(True)))
    pair_since = max(since, last_pair_success) if last_pair_success else since
    pair_failures = list(session.scalars(
        select(LoginAttempt.created_at).where(
            LoginAttempt.account == account, LoginAttempt.client_address == address,
            LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > pair_since)
        .order_by(LoginAttempt.created_at)))
    if len(pair_failures) >= PAIR_LIMIT:
        oldest_counted = pair_failures[-PAIR_LIMIT]
        raise TooManyAttempts(
            "too many failed logins for this account from this address; try again later",
            retry_after=_seconds(oldest_counted + WINDOW - now))

    address_count, address_last = session.execute(
        select(func.count(), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.client_address == address, LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since)).one()
    wait = _growing_delay(address_count, ADDRESS_FREE, MAX_ADDRESS_DELAY)
    if wait and address_last + wait > now:
        raise TooManyAttempts("too many failed logins from this address; slow down",
                              retry_after=_seconds(address_last + wait - now))

    known_address = session.scalar(
        select(func.count()).where(
            LoginAttempt.account == account, LoginAttempt.client_address == address,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.created_at > now - KNOWN_ADDRESS_MEMORY))
    if known_address:
        return
    account_count, account_last = session.execute(
        select(func.count(), func.max(LoginAttempt.created_at)).where(
            LoginAttempt.account == account, LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > since)).one()
    wait = _growing_delay(account_count, ACCOUNT_FREE, MAX_ACCOUNT_DELAY)
    if wait and account_last + wait > now:
        raise TooManyAttempts("too many failed logins for this account; slow down",
                              retry_after=_seconds(account_last + wait - now))


def record_attempt(session: Session, *, account: str, address: str | None, succeeded: bool,
                   now: datetime) -> None:
    session.add(LoginAttempt(created_at=now, account=account,
                             client_address=address or UNKNOWN_ADDRESS, succeeded=succeeded))
    # Keep the table small: what is older than the longest memory is never read again.
    session.execute(delete(LoginAttempt).where(
        LoginAttempt.account == account,
        LoginAttempt.created_at < now - KNOWN_ADDRESS_MEMORY))
