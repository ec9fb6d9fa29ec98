"""report schedules: summary e-mail subscriptions, alert rules and their episodes

Revision ID: 0610
Revises: 0500
Create Date: 2026-12-02 06:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = '0610'
down_revision: str | None = '0500'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('send_hour', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('last_period_end', sa.String(length=10), nullable=True),
    sa.Column('last_sent_at', core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_report_subscriptions_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_subscriptions'))
    )
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('report_alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('window_minutes', sa.Integer(), nullable=False),
    sa.Column('min_volume', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('last_evaluated_at', core.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_report_alert_rules_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_report_alert_rules_team_id_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_alert_rules'))
    )
    with op.batch_alter_table('report_alert_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_alert_rules_team_id'), ['team_id'], unique=False)

    op.create_table('report_alert_episodes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('started_at', core.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', core.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_value', sa.Float(), nullable=False),
    sa.Column('peak_value', sa.Float(), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=False),
    sa.Column('notified', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['report_alert_rules.id'], name=op.f('fk_report_alert_episodes_rule_id_report_alert_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_alert_episodes'))
    )
    with op.batch_alter_table('report_alert_episodes', schema=None) as batch_op:
        batch_op.create_index('ix_report_alert_episodes_rule_open', ['rule_id', 'ended_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_alert_episodes', schema=None) as batch_op:
        batch_op.drop_index('ix_report_alert_episodes_rule_open')
    op.drop_table('report_alert_episodes')
    with op.batch_alter_table('report_alert_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_alert_rules_team_id'))
    op.drop_table('report_alert_rules')
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_subscriptions_user_id'))
    op.drop_table('report_subscriptions')
