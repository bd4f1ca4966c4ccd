"""voucher policy, vouchers, redemptions, reimbursements (issue 6)

Revision ID: 0005_subsidies
Revises: 0004_billing
"""
import sqlalchemy as sa
from alembic import op

import booking.core.db  # noqa: F401

revision = "0005_subsidies"
down_revision = "0004_billing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voucher_budgets',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('committed_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('committed_fen >= 0', name=op.f('ck_voucher_budgets_committed')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_voucher_budgets'))
    )
    op.create_table('organisation_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('subordination', 'co_construction', 'equity_link')", name=op.f('ck_organisation_links_kind')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['organisations.id'], name=op.f('fk_organisation_links_enterprise_id_organisations')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_organisation_links_institution_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_links')),
    sa.UniqueConstraint('enterprise_id', 'institution_id', 'kind', name='uq_organisation_links_pair_kind')
    )
    with op.batch_alter_table('organisation_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_links_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_links_institution_id'), ['institution_id'], unique=False)

    op.create_table('subsidy_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('published_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_fen >= 0', name=op.f('ck_subsidy_policies_budget')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_subsidy_policies_created_by_id_users')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_subsidy_policies_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_policies')),
    sa.UniqueConstraint('year', 'version', name='uq_subsidy_policies_year_version')
    )
    with op.batch_alter_table('subsidy_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_policies_year'), ['year'], unique=False)

    op.create_table('reimbursements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=6), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reward_fen', sa.BigInteger(), nullable=False),
    sa.Column('redemption_count', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('paid_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'paid')", name=op.f('ck_reimbursements_state')),
    sa.CheckConstraint('reward_fen >= 0', name=op.f('ck_reimbursements_reward')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_reimbursements_paid_by_id_users')),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_reimbursements_policy_id_subsidy_policies')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_reimbursements_provider_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reimbursements')),
    sa.UniqueConstraint('provider_id', 'period', name='uq_reimbursements_provider_period')
    )
    with op.batch_alter_table('reimbursements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reimbursements_provider_id'), ['provider_id'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('applicant_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('enterprise_class', sa.String(length=32), nullable=False),
    sa.Column('rate', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('project', sa.Text(), nullable=False),
    sa.Column('declaration', sa.JSON(), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('face_value_fen', sa.BigInteger(), nullable=False),
    sa.Column('used_fen', sa.BigInteger(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=True),
    sa.Column('valid_until', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('applied', 'issued', 'exhausted', 'expired', 'rejected')", name=op.f('ck_vouchers_state')),
    sa.CheckConstraint('face_value_fen >= 0', name=op.f('ck_vouchers_face_value')),
    sa.CheckConstraint('rate >= 0 AND rate <= 1', name=op.f('ck_vouchers_rate')),
    sa.CheckConstraint('requested_fen > 0', name=op.f('ck_vouchers_requested')),
    sa.CheckConstraint('used_fen >= 0 AND used_fen <= face_value_fen', name=op.f('ck_vouchers_used')),
    sa.ForeignKeyConstraint(['applicant_id'], ['users.id'], name=op.f('fk_vouchers_applicant_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_vouchers_decided_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['organisations.id'], name=op.f('fk_vouchers_enterprise_id_organisations')),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_vouchers_policy_id_subsidy_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vouchers_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_year'), ['year'], unique=False)

    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('entry', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('redeemed_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('released_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('flagged_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reimbursement_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(entry = 'claim' AND amount_fen > 0 AND reverses_id IS NULL) OR (entry = 'reversal' AND amount_fen < 0 AND reverses_id IS NOT NULL)", name=op.f('ck_redemptions_amount')),
    sa.CheckConstraint("entry IN ('claim', 'reversal')", name=op.f('ck_redemptions_entry')),
    sa.CheckConstraint("state IN ('reserved', 'redeemed', 'released')", name=op.f('ck_redemptions_state')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_redemptions_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_redemptions_policy_id_subsidy_policies')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_redemptions_provider_id_organisations')),
    sa.ForeignKeyConstraint(['reimbursement_id'], ['reimbursements.id'], name=op.f('fk_redemptions_reimbursement_id_reimbursements')),
    sa.ForeignKeyConstraint(['reverses_id'], ['redemptions.id'], name=op.f('fk_redemptions_reverses_id_redemptions')),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_redemptions_voucher_id_vouchers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('invoice_id', 'entry', name='uq_redemptions_invoice_entry')
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_redeemed_at'), ['redeemed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_reimbursement_id'), ['reimbursement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_voucher_id'), ['voucher_id'], unique=False)



def downgrade():
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemptions_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_state'))
        batch_op.drop_index(batch_op.f('ix_redemptions_reimbursement_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_redeemed_at'))
        batch_op.drop_index(batch_op.f('ix_redemptions_provider_id'))

    op.drop_table('redemptions')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_year'))
        batch_op.drop_index(batch_op.f('ix_vouchers_state'))
        batch_op.drop_index(batch_op.f('ix_vouchers_enterprise_id'))

    op.drop_table('vouchers')
    with op.batch_alter_table('reimbursements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reimbursements_provider_id'))

    op.drop_table('reimbursements')
    with op.batch_alter_table('subsidy_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_policies_year'))

    op.drop_table('subsidy_policies')
    with op.batch_alter_table('organisation_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_links_institution_id'))
        batch_op.drop_index(batch_op.f('ix_organisation_links_enterprise_id'))

    op.drop_table('organisation_links')
    op.drop_table('voucher_budgets')
