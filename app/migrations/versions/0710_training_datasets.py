"""training datasets: intent catalogue, annotation candidates and their origins, immutable
dataset snapshots with their examples

Revision ID: 0710
Revises: 0500
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0710"
down_revision: str | Sequence[str] | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DT = core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "training_intents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_training_intents_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_intents")),
        sa.UniqueConstraint("name", name=op.f("uq_training_intents_name")),
    )
    op.create_table(
        "training_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("predicted_intent", sa.String(length=80), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("kb_score", sa.Float(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", DT, nullable=True),
        sa.Column("first_seen_at", DT, nullable=False),
        sa.Column("last_seen_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"], name=op.f("fk_training_candidates_article_id_kb_articles"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_training_candidates_decided_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_candidates")),
    )
    for column in ("channel", "confidence", "first_seen_at", "predicted_intent", "source",
                   "status"):
        op.create_index(op.f(f"ix_training_candidates_{column}"), "training_candidates",
                        [column])
    op.create_table(
        "training_candidate_origins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("origin_key", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["training_candidates.id"], name=op.f("fk_training_candidate_origins_candidate_id_training_candidates"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], name=op.f("fk_training_candidate_origins_conversation_id_conversations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_candidate_origins")),
        sa.UniqueConstraint("origin_key", name=op.f("uq_training_candidate_origins_origin_key")),
    )
    for column in ("candidate_id", "conversation_id", "source"):
        op.create_index(op.f(f"ix_training_candidate_origins_{column}"),
                        "training_candidate_origins", [column])
    op.create_table(
        "training_dataset_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("example_count", sa.Integer(), nullable=False),
        sa.Column("out_of_scope_count", sa.Integer(), nullable=False),
        sa.Column("intent_counts", sa.JSON(), nullable=False),
        sa.Column("source_counts", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_training_dataset_snapshots_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_dataset_snapshots")),
        sa.UniqueConstraint("version", name=op.f("uq_training_dataset_snapshots_version")),
    )
    op.create_index(op.f("ix_training_dataset_snapshots_content_hash"),
                    "training_dataset_snapshots", ["content_hash"])
    op.create_table(
        "training_snapshot_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=80), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["training_dataset_snapshots.id"], name=op.f("fk_training_snapshot_examples_snapshot_id_training_dataset_snapshots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_snapshot_examples")),
    )
    op.create_index(op.f("ix_training_snapshot_examples_snapshot_id"),
                    "training_snapshot_examples", ["snapshot_id"])


def downgrade() -> None:
    op.drop_table("training_snapshot_examples")
    op.drop_table("training_dataset_snapshots")
    op.drop_table("training_candidate_origins")
    op.drop_table("training_candidates")
    op.drop_table("training_intents")
