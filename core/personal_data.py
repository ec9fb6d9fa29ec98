"""Where a customer's personal data is stored: a registry of sources.

Each domain that keeps customer data registers a source that can export it, erase it and
count what is left. The privacy package walks the registry, so a domain added later (a gap
log, training candidates) joins export and erasure by registering, without the privacy code
importing it or it importing privacy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CustomerRef:
    """Whose data: the conversations found for the customer, and the identifiers used."""

    conversation_ids: tuple[str, ...]
    emails: tuple[str, ...] = ()
    external_ids: tuple[str, ...] = ()
    # Verbatim texts the customer wrote; the verification pass looks for them everywhere.
    texts: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class PersonalDataSource:
    # The table it covers, when it covers one: the generic conversation_id sweep skips it.
    name: str
    export: Callable[[Session, CustomerRef], list[dict[str, Any]]]
    erase: Callable[[Session, CustomerRef], int]  # returns how many records it erased
    remaining: Callable[[Session, CustomerRef], int]


_sources: dict[str, PersonalDataSource] = {}


def register_source(source: PersonalDataSource) -> None:
    _sources[source.name] = source


def sources() -> list[PersonalDataSource]:
    return list(_sources.values())
