"""knowledge base: versions, ratings, gaps, owners and related articles

Revision ID: 0300
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0300"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.add_column(sa.Column("related_slugs", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_editor_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_kb_articles_owner_id_users"), "users",
                                    ["owner_id"], ["id"], ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_kb_articles_last_editor_id_users"), "users",
                                    ["last_editor_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.alter_column("related_slugs", server_default=None)
    op.create_table(
        "kb_article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("alternative_questions", sa.JSON(), nullable=False),
        sa.Column("related_slugs", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"],
                                name=op.f("fk_kb_article_versions_article_id_kb_articles"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["editor_id"], ["users.id"],
                                name=op.f("fk_kb_article_versions_editor_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint("article_id", "version",
                            name=op.f("uq_kb_article_versions_article_id")),
    )
    with op.batch_alter_table("kb_article_versions") as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_article_versions_article_id"), ["article_id"],
                              unique=False)
    op.create_table(
        "kb_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"],
                                name=op.f("fk_kb_ratings_article_id_kb_articles"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_kb_ratings_conversation_id_conversations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_ratings")),
    )
    with op.batch_alter_table("kb_ratings") as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_ratings_article_id"), ["article_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_kb_ratings_conversation_id"), ["conversation_id"],
                              unique=False)
    op.create_table(
        "kb_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"],
                                name=op.f("fk_kb_gaps_article_id_kb_articles"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_kb_gaps_conversation_id_conversations"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_gaps")),
    )
    with op.batch_alter_table("kb_gaps") as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_gaps_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_gaps_conversation_id"), ["conversation_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_kb_gaps_reason"), ["reason"], unique=False)


def downgrade() -> None:
    op.drop_table("kb_gaps")
    op.drop_table("kb_ratings")
    op.drop_table("kb_article_versions")
    with op.batch_alter_table("kb_articles") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_kb_articles_last_editor_id_users"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_kb_articles_owner_id_users"),
                                 type_="foreignkey")
        batch_op.drop_column("last_editor_id")
        batch_op.drop_column("owner_id")
        batch_op.drop_column("related_slugs")
