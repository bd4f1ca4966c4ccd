"""usage sessions, invoices and payments (issue 5)

Revision ID: 0004_billing
Revises: 0003_bookings
"""
import sqlalchemy as sa
from alembic import op

import booking.core.db

revision = "0004_billing"
down_revision = "0003_bookings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invoice_counters',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_invoice_counters_provider_id_organisations')),
    sa.PrimaryKeyConstraint('provider_id', 'year', name=op.f('pk_invoice_counters'))
    )
    op.create_table('processed_stripe_events',
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_processed_stripe_events'))
    )
    op.create_table('instrument_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_instrument_tokens_created_by_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_tokens_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_instrument_tokens_token_hash'))
    )
    with op.batch_alter_table('instrument_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instrument_tokens_instrument_id'), ['instrument_id'], unique=False)
    op.create_table('usage_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('void', sa.Boolean(), nullable=False),
    sa.Column('overrun', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('kiosk', 'manager', 'api')", name=op.f('ck_usage_sessions_source')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at > started_at', name=op.f('ck_usage_sessions_order')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_usage_sessions_booking_id_bookings')),
    sa.ForeignKeyConstraint(['corrects_id'], ['usage_sessions.id'], name=op.f('fk_usage_sessions_corrects_id_usage_sessions')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_usage_sessions_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_usage_sessions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_usage_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_sessions')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_usage_sessions_corrects_id'))
    )
    with op.batch_alter_table('usage_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_sessions_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_usage_sessions_instrument_started', ['instrument_id', 'started_at'], unique=False)
        batch_op.create_index('ix_usage_sessions_started', ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_sessions_user_id'), ['user_id'], unique=False)
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('customer_org_id', sa.Integer(), nullable=False),
    sa.Column('customer_user_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('credits_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('customer_class', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('subtotal_fen', sa.BigInteger(), nullable=False),
    sa.Column('voucher_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_due_fen', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=64), nullable=True),
    sa.Column('payment_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'credit_note') = (credits_id IS NOT NULL)", name=op.f('ck_invoices_credit_ref')),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f('ck_invoices_kind')),
    sa.CheckConstraint("state = 'draft' OR number IS NOT NULL", name=op.f('ck_invoices_numbered')),
    sa.CheckConstraint("state IN ('draft', 'issued', 'paid', 'void')", name=op.f('ck_invoices_state')),
    sa.CheckConstraint('subtotal_fen >= 0 AND voucher_fen >= 0 AND voucher_fen <= subtotal_fen AND amount_due_fen = subtotal_fen - voucher_fen', name=op.f('ck_invoices_amounts')),
    sa.ForeignKeyConstraint(['credits_id'], ['invoices.id'], name=op.f('fk_invoices_credits_id_invoices')),
    sa.ForeignKeyConstraint(['customer_org_id'], ['organisations.id'], name=op.f('fk_invoices_customer_org_id_organisations')),
    sa.ForeignKeyConstraint(['customer_user_id'], ['users.id'], name=op.f('fk_invoices_customer_user_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_invoices_provider_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_invoices_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_credits_id'), ['credits_id'], unique=False)
        batch_op.create_index('ix_invoices_customer_state', ['customer_org_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_customer_user_id'), ['customer_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_period'), ['period'], unique=False)
        batch_op.create_index('ix_invoices_provider_state', ['provider_id', 'state'], unique=False)
        batch_op.create_index('uq_invoices_provider_number', ['provider_id', 'number'], unique=True)
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', booking.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('stripe', 'bank_transfer', 'internal')", name=op.f('ck_payments_method')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payments_amount')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('external_id', name=op.f('uq_payments_external_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('usage_session_id', sa.Integer(), nullable=True),
    sa.Column('service_at', booking.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('usage', 'no_show', 'late_cancel', 'credit')", name=op.f('ck_invoice_lines_kind')),
    sa.CheckConstraint('amount_fen >= 0 AND unit_price_fen >= 0 AND minutes >= 0', name=op.f('ck_invoice_lines_amounts')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_invoice_lines_booking_id_bookings')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_invoice_lines_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['usage_session_id'], ['usage_sessions.id'], name=op.f('fk_invoice_lines_usage_session_id_usage_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_lines_instrument', ['instrument_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('uq_invoice_lines_booking_penalty', ['booking_id'], unique=True, sqlite_where=sa.text("kind IN ('no_show', 'late_cancel')"), postgresql_where=sa.text("kind IN ('no_show', 'late_cancel')"))
        batch_op.create_index('uq_invoice_lines_usage_session', ['usage_session_id'], unique=True, sqlite_where=sa.text("kind = 'usage'"), postgresql_where=sa.text("kind = 'usage'"))


def downgrade():
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('uq_invoice_lines_usage_session', sqlite_where=sa.text("kind = 'usage'"), postgresql_where=sa.text("kind = 'usage'"))
        batch_op.drop_index('uq_invoice_lines_booking_penalty', sqlite_where=sa.text("kind IN ('no_show', 'late_cancel')"), postgresql_where=sa.text("kind IN ('no_show', 'late_cancel')"))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))
        batch_op.drop_index('ix_invoice_lines_instrument')
    op.drop_table('invoice_lines')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))
    op.drop_table('payments')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('uq_invoices_provider_number')
        batch_op.drop_index('ix_invoices_provider_state')
        batch_op.drop_index(batch_op.f('ix_invoices_period'))
        batch_op.drop_index(batch_op.f('ix_invoices_customer_user_id'))
        batch_op.drop_index('ix_invoices_customer_state')
        batch_op.drop_index(batch_op.f('ix_invoices_credits_id'))
    op.drop_table('invoices')
    with op.batch_alter_table('usage_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_sessions_user_id'))
        batch_op.drop_index('ix_usage_sessions_started')
        batch_op.drop_index('ix_usage_sessions_instrument_started')
        batch_op.drop_index(batch_op.f('ix_usage_sessions_booking_id'))
    op.drop_table('usage_sessions')
    with op.batch_alter_table('instrument_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instrument_tokens_instrument_id'))
    op.drop_table('instrument_tokens')
    op.drop_table('processed_stripe_events')
    op.drop_table('invoice_counters')
