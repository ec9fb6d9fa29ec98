"""languages: articles' translation groups, staff members' language and time zone

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
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("locale")
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_index("ix_kb_articles_translation_group")
        batch.drop_column("translation_group")
