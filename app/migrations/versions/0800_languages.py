"""languages: articles' translation groups

Revision ID: 0800
Revises: 0500
Create Date: 2026-12-04 21:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0800"
down_revision: str | Sequence[str] | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch:
        batch.add_column(sa.Column("translation_group", sa.String(length=120), nullable=True))
        batch.create_index("ix_kb_articles_translation_group", ["translation_group"])


def downgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_index("ix_kb_articles_translation_group")
        batch.drop_column("translation_group")
