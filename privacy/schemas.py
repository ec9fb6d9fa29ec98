"""The privacy API's bodies: a customer's data export (a document privacy.service builds) and
the erasure report. Times are ISO 8601 strings as `datetime.isoformat` writes them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from conversations.models import Conversation
from core.schemas import Timestamp
from handoff.schemas import TicketOut

# A stored row exactly as its table holds it (column name: value); tables differ.
StoredRow = Annotated[dict[str, Any], Field(json_schema_extra={
    "x-free-form": "a stored row as its table holds it; every table has its own columns"})]
# A record as the personal-data source that registered it exports it (core.personal_data).
SourceRecord = Annotated[dict[str, Any], Field(json_schema_extra={
    "x-free-form": "a record in the format of the personal-data source that exports it; "
                   "sources are registered by the domains that store customer data"})]


class ExportedConversation(BaseModel):
    """One of the customer's conversations, with what they told us about themselves."""

    id: str
    channel: str
    status: str
    customer_name: str | None
    customer_email: str | None
    customer_external_id: str | None
    identity_verified: bool
    locale: str
    created_at: Timestamp
    last_message_at: Timestamp

    @classmethod
    def of(cls, conversation: Conversation) -> ExportedConversation:
        return cls(id=conversation.id, channel=conversation.channel,
                   status=conversation.status, customer_name=conversation.customer_name,
                   customer_email=conversation.customer_email,
                   customer_external_id=conversation.customer_external_id,
                   identity_verified=conversation.identity_verified,
                   locale=conversation.locale, created_at=conversation.created_at,
                   last_message_at=conversation.last_message_at)


class CustomerIdentifiers(BaseModel):
    """Everything the customer was found by, including what their conversations added."""

    emails: list[str]
    external_ids: list[str]
    conversation_ids: list[str]


class TrackerEvent(BaseModel):
    """One event of a conversation's Rasa tracker."""

    conversation_id: str
    type: str = Field(description="Rasa's event type, e.g. `user`, `bot`, `action`")
    timestamp: float | None
    event: Any = Field(json_schema_extra={
        "x-free-form": "the event as Rasa serialised it; its shape is Rasa's"})


class CustomerExport(BaseModel):
    """Everything stored about one customer, unmasked. Besides the parts named here, each
    personal-data source (core.personal_data: `messages`, `ticket_records`,
    `webhook_deliveries`, the training sets, ...) adds a list of its records under its name."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, list[SourceRecord]] = Field(init=False)

    generated_at: Timestamp
    identifiers: CustomerIdentifiers
    conversations: list[ExportedConversation]
    tickets: list[TicketOut]
    other_records: dict[str, list[StoredRow]] = Field(
        description="Rows of tables with a conversation_id that no source claims, by table")
    rasa_tracker_events: list[TrackerEvent]


class ErasureVerification(BaseModel):
    """What is left after an erasure; `clean` when nothing is."""

    remaining: dict[str, int] = Field(description="Records left, by source or table")
    rasa_tracker_events: int | None = Field(
        description="Tracker events left; null when the tracker store could not be checked")
    database_text_matches: list[str] = Field(
        description="`table.column` wherever the customer's identifiers or words still occur")
    search_index_matches: list[str] = Field(
        description="Search index files holding them (never expected: the index holds "
                    "articles only)")
    clean: bool


class ErasureReport(BaseModel):
    """What an erasure removed, and the check that nothing was left behind."""

    conversation_ids: list[str]
    erased: dict[str, int] = Field(description="Records erased, by source or table")
    tracker_error: str | None = Field(
        description="Why the tracker store could not be erased (a retry is queued)")
    verification: ErasureVerification
    complete: bool = Field(description="Erased everywhere and verified clean")
