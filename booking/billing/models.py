"""Invoices, their lines, payments, the per-provider number counter and processed Stripe events.

Money is integer fen and never negative (CHECK constraints). A credit note stores positive
amounts too: its `kind` says that it gives money back, `credits_id` names the invoice it
corrects. An issued invoice is never edited: only its state (paid, void) and payment fields
move, enforced by `_guard_issued` before every flush.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import Organisation, User
from booking.billing.rules import (
    INCLUDED_IN_ORDER,
    INVOICE_KINDS,
    INVOICE_MOVES,
    INVOICE_STATES,
    LINE_KINDS,
    PAYMENT_METHODS,
    QUANTITY_IN_HOURS,
    charged_percent,
)
from booking.core.clock import to_local
from booking.core.db import TimestampMixin, UTCDateTime
from booking.extensions import Session, db
from booking.groups.models import Project
from booking.instruments.models import Instrument


class InvoiceCounter(db.Model):
    """The last number a provider used in a year; incremented under a row lock."""

    __tablename__ = "invoice_counters"

    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Invoice(TimestampMixin, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(f"state IN {INVOICE_STATES!r}", name="state"),
        CheckConstraint(f"kind IN {INVOICE_KINDS!r}", name="kind"),
        CheckConstraint("subtotal_fen >= 0 AND voucher_fen >= 0 AND voucher_fen <= subtotal_fen "
                        "AND amount_due_fen = subtotal_fen - voucher_fen", name="amounts"),
        CheckConstraint("(kind = 'credit_note') = (credits_id IS NOT NULL)", name="credit_ref"),
        CheckConstraint("state = 'draft' OR number IS NOT NULL", name="numbered"),
        Index("uq_invoices_provider_number", "provider_id", "number", unique=True),
        Index("ix_invoices_customer_state", "customer_org_id", "state"),
        Index("ix_invoices_provider_state", "provider_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    customer_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16), default="invoice")
    credits_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    state: Mapped[str] = mapped_column(String(8), default="draft")
    customer_class: Mapped[str] = mapped_column(String(16))
    period: Mapped[str | None] = mapped_column(String(7), index=True)  # YYYY-MM of a month close
    subtotal_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voucher_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_due_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str] = mapped_column(String(500), default="")
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    payment_error: Mapped[str] = mapped_column(String(500), default="")
    # The project account (经费卡) an internal user's invoice is charged to.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)

    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id])
    project: Mapped[Project | None] = relationship()
    customer_org: Mapped[Organisation] = relationship(foreign_keys=[customer_org_id])
    customer_user: Mapped[User | None] = relationship()
    credits: Mapped["Invoice | None"] = relationship(remote_side=[id])
    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice",
                                                      order_by="InvoiceLine.id",
                                                      cascade="all, delete-orphan")
    payments: Mapped[list["Payment"]] = relationship(back_populates="invoice",
                                                     order_by="Payment.id")

    # Fields that may still change once issued.
    MUTABLE_WHEN_ISSUED = frozenset({"state", "paid_at", "voided_at", "void_reason",
                                     "stripe_payment_intent_id", "payment_error"})

    @property
    def is_credit_note(self) -> bool:
        return self.kind == "credit_note"

    @property
    def shown_lines(self) -> list["InvoiceLine"]:
        """The lines as people read them: those an order's price covers once per booking
        (its samples, its sessions and a no-show it let pass are each written at 0)."""
        seen, shown = set(), []
        for line in self.lines:
            if line.included:
                if line.booking_id in seen:
                    continue
                seen.add(line.booking_id)
            shown.append(line)
        return shown

    @property
    def paid_on(self) -> date | None:
        """The day the money arrived: the latest payment's value date (a bank transfer's is
        the day the bank credited it, which finance may record days later)."""
        days = [p.received_on for p in self.payments if p.received_on is not None]
        if days:
            return max(days)
        return to_local(self.paid_at).date() if self.paid_at else None

    @property
    def quantities_in_hours(self) -> bool:
        """Whether every line's quantity is hours (else some count samples or items: a
        credit note's refund is one item, not one hour)."""
        return all(line.kind in QUANTITY_IN_HOURS for line in self.lines)

    @property
    def is_payable(self) -> bool:
        return self.state == "issued" and self.kind == "invoice" and self.amount_due_fen > 0

    @property
    def paid_fen(self) -> int:
        """What the payments recorded so far add up to (partial payments)."""
        return sum(p.amount_fen for p in self.payments)

    @property
    def outstanding_fen(self) -> int:
        """What is still to pay (never below 0: an overpayment is a balance carried)."""
        return max(self.amount_due_fen - self.paid_fen, 0) if self.kind == "invoice" else 0

    @property
    def to_refund_fen(self) -> int:
        """A credit note's money still to pay back: what was not deducted from its invoice
        while that was open, until the refund is recorded."""
        if not (self.is_credit_note and self.state == "issued"):
            return 0
        return self.amount_due_fen - self.paid_fen

    @property
    def deducted_fen(self) -> int:
        """What credit notes took off this invoice while it was open (or, on a credit note,
        what of it was deducted from its invoice)."""
        return sum(p.amount_fen for p in self.payments if p.method == "credit_note")

    @property
    def wholly_deducted(self) -> bool:
        """A credit note all of which went off its open invoice: nothing was refunded."""
        return self.is_credit_note and self.deducted_fen == self.amount_due_fen

    @property
    def overpaid_fen(self) -> int:
        return max(self.paid_fen - self.amount_due_fen, 0) if self.kind == "invoice" else 0

    @property
    def is_voidable(self) -> bool:
        """Draft or issued: a paid (or void) invoice is corrected with a credit note."""
        return INVOICE_MOVES.allows(self.state, "void")

    def is_overdue(self, at: datetime) -> bool:
        return self.is_payable and self.due_at is not None and self.due_at < at

    def can_view(self, user: User) -> bool:
        """The customer, the provider's finance staff, admins, and the PI of the project an
        invoice (or its credit note) is charged to: their statement links to it. The
        provider's lab managers read it too (their usage pages link to it: what their
        instruments' use was charged, and whether it is paid), but act on it only as finance."""
        return user.is_authenticated and (
            self.can_pay(user) or self.can_manage(user)
            or user.can_manage_organisation(self.provider_id)
            or (self.project is not None and self.project.group.is_pi(user)))

    def can_pay(self, user: User) -> bool:
        """The customer: the user it was issued to, or a member of the customer organisation
        when it names no user."""
        if not user.is_authenticated:
            return False
        if self.customer_user_id is not None:
            return user.id == self.customer_user_id
        return user.organisation_id == self.customer_org_id

    def can_manage(self, user: User) -> bool:
        """Finance staff of the provider: record payments, void, credit."""
        return user.is_authenticated and (user.is_admin or user.has_role("finance",
                                                                         self.provider_id))

    def can_settle(self, user: User) -> bool:
        """Settle against an internal account or grant code: the customer, or the provider's
        finance staff for them."""
        return self.can_pay(user) or self.can_manage(user)

    def __repr__(self):
        return f"<Invoice {self.id} {self.number} {self.state}>"


class InvoiceLine(db.Model):
    """One priced fact. `amount_fen` is authoritative (computed by booking.billing.rules):
    for usage, quantity is billable hours and unit price the hourly rate (+ set-up fee); for
    samples (送样), quantity is the number of samples and unit price the fee per sample."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint(f"kind IN {LINE_KINDS!r}", name="kind"),
        CheckConstraint("amount_fen >= 0 AND unit_price_fen >= 0 AND minutes >= 0",
                        name="amounts"),
        # Each session, each no-show, each late cancellation and each booking's samples are
        # charged at most once.
        Index("uq_invoice_lines_usage_session", "usage_session_id", unique=True,
              sqlite_where=text("kind = 'usage'"), postgresql_where=text("kind = 'usage'")),
        Index("uq_invoice_lines_booking_penalty", "booking_id", unique=True,
              sqlite_where=text("kind IN ('no_show', 'late_cancel')"),
              postgresql_where=text("kind IN ('no_show', 'late_cancel')")),
        Index("uq_invoice_lines_booking_samples", "booking_id", unique=True,
              sqlite_where=text("kind = 'samples'"), postgresql_where=text("kind = 'samples'")),
        Index("ix_invoice_lines_instrument", "instrument_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16), default="usage")
    description: Mapped[str] = mapped_column(String(300))
    minutes: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    unit_price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("instruments.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    usage_session_id: Mapped[int | None] = mapped_column(ForeignKey("usage_sessions.id"))
    service_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    instrument: Mapped[Instrument | None] = relationship()

    @property
    def included(self) -> bool:
        """A booking's time or samples an order's price covers (a line at 0, so that they are
        never charged again): read as one line per booking, with no quantity or price."""
        return self.amount_fen == 0 and self.description.endswith(INCLUDED_IN_ORDER)

    @property
    def included_booking(self) -> str:
        """An included line's order number and booked time (its fixed words left off)."""
        return self.description.removesuffix(INCLUDED_IN_ORDER).strip()

    def description_in(self, locale: str) -> str:
        """Its description for a reader of `locale`: written at issue with the instrument's
        Chinese name (the invoice as issued), which an English reader reads in English."""
        if locale != "en" or self.instrument_id is None:  # a Chinese reader loads nothing
            return self.description
        instrument = self.instrument
        if not instrument.name_en or not self.description.startswith(instrument.name_zh):
            return self.description
        return instrument.name_en + self.description[len(instrument.name_zh):]

    @property
    def charged_percent(self) -> int | None:
        """A no-show's or late cancellation's share of the booked time's fee (rules)."""
        if self.kind not in ("no_show", "late_cancel"):
            return None
        return charged_percent(self.quantity, self.unit_price_fen, self.amount_fen)


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"method IN {PAYMENT_METHODS!r}", name="method"),
        # a refund of an overpayment is negative: sums of an invoice's payments net it out
        CheckConstraint("(method = 'refund' AND amount_fen < 0) OR "
                        "(method <> 'refund' AND amount_fen > 0)", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # PaymentIntent id
    reference: Mapped[str] = mapped_column(String(200), default="")  # bank reference
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The day the money arrived (a bank transfer's value date; else the day it was recorded).
    received_on: Mapped[date | None] = mapped_column(Date)
    # An internal settlement's project account (经费卡): never free text.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    project: Mapped[Project | None] = relationship()


DUNNING_STAGES = ("due", "d14", "d30", "manual")


class DunningNotice(db.Model):
    """A reminder sent for an unpaid invoice: at its due date, and 14 and 30 days later (one
    per invoice and stage, so the daily job never sends one twice), or by the finance office
    from its overdue list (`manual`, `sent_by`)."""

    __tablename__ = "dunning_notices"
    __table_args__ = (
        Index("uq_dunning_notices_stage", "invoice_id", "stage", unique=True,
              sqlite_where=text("stage <> 'manual'"),
              postgresql_where=text("stage <> 'manual'")),
        CheckConstraint(f"stage IN {DUNNING_STAGES!r}", name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    stage: Mapped[str] = mapped_column(String(8))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    invoice: Mapped[Invoice] = relationship()
    sent_by: Mapped[User | None] = relationship()


class ProviderSettings(db.Model):
    """A provider's finance settings: what its invoices print (bank details, tax number) and
    whether customers with invoices overdue beyond N days may book (None: no block)."""

    __tablename__ = "provider_settings"
    __table_args__ = (
        CheckConstraint("block_overdue_days IS NULL OR block_overdue_days BETWEEN 1 AND 365",
                        name="block_days"),
    )

    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True,
                                             autoincrement=False)
    bank_name: Mapped[str] = mapped_column(String(200), default="")
    bank_account: Mapped[str] = mapped_column(String(64), default="")
    tax_number: Mapped[str] = mapped_column(String(32), default="")
    block_overdue_days: Mapped[int | None]


class ProcessedStripeEvent(TimestampMixin, db.Model):
    """A Stripe event id handled once: the unique key makes webhook delivery idempotent."""

    __tablename__ = "processed_stripe_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))


class ImmutableInvoice(Exception):
    """Someone tried to edit an issued invoice or its lines."""


@event.listens_for(Session, "before_flush")
def _guard_issued(session, flush_context, instances) -> None:
    """Issued invoices are immutable: corrections are credit notes."""
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _was_issued(obj):
            changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
            if changed - Invoice.MUTABLE_WHEN_ISSUED - {"lines", "payments"}:
                raise ImmutableInvoice(f"invoice {obj.number} is issued: {sorted(changed)}")
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, InvoiceLine) and obj.invoice is not None and _was_issued(obj.invoice):
            raise ImmutableInvoice(f"invoice {obj.invoice.number} is issued: lines are fixed")


def _was_issued(invoice: Invoice) -> bool:
    """Issued (or later) as stored in the database, before this flush."""
    history = inspect(invoice).attrs.state.history
    before = history.deleted[0] if history.deleted else invoice.state
    return before != "draft" and inspect(invoice).persistent
