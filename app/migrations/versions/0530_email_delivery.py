"""email delivery: each outbound e-mail records its claim, attempts and outcome

Revision ID: 0530
Revises: 0500
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0530"
down_revision: str | Sequence[str] | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DT = core.database.UTCDateTime(timezone=True)
INDEX = "ix_email_messages_unsent"


def upgrade() -> None:
    with op.batch_alter_table("email_messages") as batch:
        batch.add_column(sa.Column("sent_at", DT, nullable=True))
        batch.add_column(sa.Column("failed_at", DT, nullable=True))
        batch.add_column(sa.Column("claimed_at", DT, nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("next_attempt_at", DT, nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch.create_index(INDEX, ["direction", "sent_at", "created_at"], unique=False)
    # Nothing recorded whether earlier e-mails went out; counting them as sent keeps the
    # resend sweep from mailing customers old replies again.
    op.execute("UPDATE email_messages SET sent_at = created_at WHERE direction = 'outbound'")


def downgrade() -> None:
    with op.batch_alter_table("email_messages") as batch:
        batch.drop_index(INDEX)
        batch.drop_column("last_error")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("claimed_at")
        batch.drop_column("failed_at")
        batch.drop_column("sent_at")
