"""training capture: agents' labels on handed-off conversations, article drafts made from
agents' replies (and the articles' origin), customers' comment on a not-helpful rating

Revision ID: 0700
Revises: 0500
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0700"
down_revision: str | Sequence[str] | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DT = core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "training_conversation_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("out_of_scope", sa.Boolean(), nullable=False),
        sa.Column("predicted_intent", sa.String(length=80), nullable=True),
        sa.Column("predicted_confidence", sa.Float(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("labelled_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"],
            name=op.f("fk_training_conversation_labels_article_id_kb_articles"),
            ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_training_conversation_labels_conversation_id_conversations"),
            ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["labelled_by_id"], ["users.id"],
            name=op.f("fk_training_conversation_labels_labelled_by_id_users"),
            ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_training_conversation_labels_ticket_id_tickets"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_conversation_labels")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_training_conversation_labels_ticket_id")),
    )
    with op.batch_alter_table("training_conversation_labels") as batch_op:
        batch_op.create_index(batch_op.f("ix_training_conversation_labels_conversation_id"),
                              ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_conversation_labels_created_at"),
                              ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_conversation_labels_intent"),
                              ["intent"], unique=False)

    op.create_table(
        "training_article_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("reply_message_id", sa.Integer(), nullable=True),
        sa.Column("question_message_ids", sa.JSON(), nullable=False),
        sa.Column("masked", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"],
            name=op.f("fk_training_article_drafts_article_id_kb_articles"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"],
            name=op.f("fk_training_article_drafts_conversation_id_conversations"),
            ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"],
            name=op.f("fk_training_article_drafts_created_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["reply_message_id"], ["messages.id"],
            name=op.f("fk_training_article_drafts_reply_message_id_messages"),
            ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_training_article_drafts_ticket_id_tickets"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_article_drafts")),
        sa.UniqueConstraint("article_id", name=op.f("uq_training_article_drafts_article_id")),
        sa.UniqueConstraint("reply_message_id",
                            name=op.f("uq_training_article_drafts_reply_message_id")),
    )
    with op.batch_alter_table("training_article_drafts") as batch_op:
        batch_op.create_index(batch_op.f("ix_training_article_drafts_conversation_id"),
                              ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_article_drafts_ticket_id"),
                              ["ticket_id"], unique=False)

    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=20), server_default="editor",
                                      nullable=False))
        batch_op.create_index(batch_op.f("ix_kb_articles_origin"), ["origin"], unique=False)

    with op.batch_alter_table("kb_ratings") as batch_op:
        batch_op.add_column(sa.Column("comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kb_ratings") as batch_op:
        batch_op.drop_column("comment")
    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_articles_origin"))
        batch_op.drop_column("origin")
    op.drop_table("training_article_drafts")
    op.drop_table("training_conversation_labels")
