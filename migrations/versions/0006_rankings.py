"""ratings, ranking policy and snapshots (issue 7)

Seeds ranking policy version 1 (published) from booking/rankings/default_policy.toml.

Revision ID: 0006_rankings
Revises: 0005_subsidies
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import booking.core.db
from booking.rankings.policy import default_rules

revision = "0006_rankings"
down_revision = "0005_subsidies"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ranking_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('published_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ranking_policies_created_by_id_users')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_ranking_policies_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_policies')),
    sa.UniqueConstraint('version', name=op.f('uq_ranking_policies_version'))
    )
    op.create_table('ranking_reward_pools',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=6), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_ranking_reward_pools_amount')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_ranking_reward_pools_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_reward_pools')),
    sa.UniqueConstraint('period', name=op.f('uq_ranking_reward_pools_period'))
    )
    op.create_table('ranking_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=6), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('reward_pool_fen', sa.BigInteger(), nullable=False),
    sa.Column('reward_remainder_fen', sa.BigInteger(), nullable=False),
    sa.Column('computed_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('reward_pool_fen >= 0 AND reward_remainder_fen >= 0', name=op.f('ck_ranking_snapshots_amounts')),
    sa.ForeignKeyConstraint(['computed_by_id'], ['users.id'], name=op.f('fk_ranking_snapshots_computed_by_id_users')),
    sa.ForeignKeyConstraint(['policy_id'], ['ranking_policies.id'], name=op.f('fk_ranking_snapshots_policy_id_ranking_policies')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_ranking_snapshots_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ranking_snapshots')),
    sa.UniqueConstraint('period', name=op.f('uq_ranking_snapshots_period'))
    )
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ranking_snapshots_published_at'), ['published_at'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_ratings_stars')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_ratings_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_ratings_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ratings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_ratings_booking_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_instrument_id'), ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_user_id'), ['user_id'], unique=False)

    _seed_default_policy()


def downgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_user_id'))
        batch_op.drop_index(batch_op.f('ix_ratings_instrument_id'))

    op.drop_table('ratings')
    with op.batch_alter_table('ranking_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ranking_snapshots_published_at'))

    op.drop_table('ranking_snapshots')
    op.drop_table('ranking_reward_pools')
    op.drop_table('ranking_policies')


def _seed_default_policy():
    policies = sa.table("ranking_policies", sa.column("version", sa.Integer),
                        sa.column("rules", sa.JSON),
                        sa.column("published_at", booking.core.db.UTCDateTime),
                        sa.column("created_at", booking.core.db.UTCDateTime))
    now = datetime.now(UTC)
    op.bulk_insert(policies, [{"version": 1, "rules": default_rules(), "published_at": now,
                               "created_at": now}])
