"""ticketing: ticket life cycle, routing, presence, SLAs, notes, history, canned replies,
CSAT, e-mail threading and notifications; merges the earlier branches into one head

Revision ID: 0500
Revises: 0100, 0200, 0300
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0500"
down_revision: str | Sequence[str] | None = ("0100", "0200", "0300")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DT = core.database.UTCDateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "business_calendars",
        _id(),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("always_open", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_business_calendars_name")),
    )
    with op.batch_alter_table("teams") as batch_op:
        batch_op.add_column(sa.Column("assignment_policy", sa.String(length=20),
                                      server_default="manual", nullable=False))
        batch_op.add_column(sa.Column("calendar_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_assigned_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_teams_calendar_id_business_calendars"),
                                    "business_calendars", ["calendar_id"], ["id"],
                                    ondelete="SET NULL")
    op.create_table(
        "agent_presence",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("last_assigned_at", DT, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_agent_presence_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_presence")),
    )
    op.create_table(
        "routing_rules",
        _id(),
        sa.Column("match_field", sa.String(length=20), nullable=False),
        sa.Column("match_value", sa.String(length=80), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_routing_rules_team_id_teams"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("match_field", "match_value", name="uq_routing_rules_match"),
    )
    op.create_table(
        "sla_policies",
        _id(),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("warn_ratio", sa.Float(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["business_calendars.id"],
                                name=op.f("fk_sla_policies_calendar_id_business_calendars"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("priority", name=op.f("uq_sla_policies_priority")),
    )
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.alter_column("resolved_at", new_column_name="solved_at")
        batch_op.add_column(sa.Column("category", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("tags", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reply_by_email", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column("updated_at", DT, nullable=True))
        batch_op.add_column(sa.Column("last_customer_message_at", DT, nullable=True))
        batch_op.add_column(sa.Column("last_agent_reply_at", DT, nullable=True))
        batch_op.add_column(sa.Column("closed_at", DT, nullable=True))
        batch_op.add_column(sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("first_response_due_at", DT, nullable=True))
        batch_op.add_column(sa.Column("next_response_due_at", DT, nullable=True))
        batch_op.add_column(sa.Column("resolution_due_at", DT, nullable=True))
        batch_op.add_column(sa.Column("sla_paused_at", DT, nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=20), server_default="ok",
                                      nullable=False))
        batch_op.add_column(sa.Column("escalated_at", DT, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_tickets_merged_into_id_tickets"), "tickets",
                                    ["merged_into_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_tickets_sla_policy_id_sla_policies"),
                                    "sla_policies", ["sla_policy_id"], ["id"],
                                    ondelete="SET NULL")
    # The earlier three states map onto the life cycle: queued → new, assigned → open,
    # resolved → solved.
    op.execute("UPDATE tickets SET status = 'new' WHERE status = 'queued'")
    op.execute("UPDATE tickets SET status = 'open' WHERE status = 'assigned'")
    op.execute("UPDATE tickets SET status = 'solved' WHERE status = 'resolved'")
    op.execute("UPDATE tickets SET updated_at = created_at")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.alter_column("updated_at", existing_type=DT, nullable=False)
        batch_op.alter_column("tags", server_default=None)
    op.create_table(
        "ticket_watchers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_watchers_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_ticket_watchers_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_watchers")),
    )
    op.create_index(op.f("ix_ticket_watchers_user_id"), "ticket_watchers", ["user_id"])
    op.create_table(
        "ticket_notes",
        _id(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_notes_ticket_id_tickets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_ticket_notes_author_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    op.create_index(op.f("ix_ticket_notes_ticket_id"), "ticket_notes", ["ticket_id"])
    op.create_table(
        "ticket_events",
        _id(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_events_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"],
                                name=op.f("fk_ticket_events_actor_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index("ix_ticket_events_ticket_id_id", "ticket_events", ["ticket_id", "id"])
    op.create_table(
        "canned_responses",
        _id(),
        sa.Column("shortcut", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_canned_responses_team_id_teams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_canned_responses_owner_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_canned_responses_created_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    op.create_index(op.f("ix_canned_responses_team_id"), "canned_responses", ["team_id"])
    op.create_index(op.f("ix_canned_responses_owner_id"), "canned_responses", ["owner_id"])
    op.create_table(
        "csat_ratings",
        _id(),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_csat_ratings_ticket_id_tickets"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"],
                                name=op.f("fk_csat_ratings_agent_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"],
                                name=op.f("fk_csat_ratings_team_id_teams"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_ratings")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_csat_ratings_ticket_id")),
    )
    op.create_index(op.f("ix_csat_ratings_agent_id"), "csat_ratings", ["agent_id"])
    op.create_table(
        "email_messages",
        _id(),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("in_reply_to", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("chat_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_email_messages_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_message_id"], ["messages.id"],
                                name=op.f("fk_email_messages_chat_message_id_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_messages_message_id")),
    )
    op.create_index(op.f("ix_email_messages_ticket_id"), "email_messages", ["ticket_id"])
    op.create_table(
        "notifications",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("read_at", DT, nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_notifications_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_user_unread", "notifications", ["user_id", "read_at"])


def downgrade() -> None:
    for table in ("notifications", "email_messages", "csat_ratings", "canned_responses",
                  "ticket_events", "ticket_notes", "ticket_watchers"):
        op.drop_table(table)
    op.execute("UPDATE tickets SET status = 'queued' WHERE status = 'new'")
    op.execute("UPDATE tickets SET status = 'assigned' WHERE status IN "
               "('open', 'pending', 'on_hold')")
    op.execute("UPDATE tickets SET status = 'resolved' WHERE status IN ('solved', 'closed')")
    with op.batch_alter_table("tickets") as batch_op:
        batch_op.drop_constraint("fk_tickets_sla_policy_id_sla_policies", type_="foreignkey")
        batch_op.drop_constraint("fk_tickets_merged_into_id_tickets", type_="foreignkey")
        for column in ("escalated_at", "sla_state", "sla_paused_at", "resolution_due_at",
                       "next_response_due_at", "first_response_due_at", "sla_policy_id",
                       "closed_at", "last_agent_reply_at", "last_customer_message_at",
                       "updated_at", "reply_by_email", "merged_into_id", "tags", "category"):
            batch_op.drop_column(column)
        batch_op.alter_column("solved_at", new_column_name="resolved_at")
    op.drop_table("sla_policies")
    op.drop_table("routing_rules")
    op.drop_table("agent_presence")
    with op.batch_alter_table("teams") as batch_op:
        batch_op.drop_constraint("fk_teams_calendar_id_business_calendars", type_="foreignkey")
        for column in ("last_assigned_user_id", "calendar_id", "assignment_policy"):
            batch_op.drop_column(column)
    op.drop_table("business_calendars")
