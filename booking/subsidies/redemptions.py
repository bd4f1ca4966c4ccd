"""Voucher redemption: the share of a quote, the deduction reserved when an invoice is issued,
redeemed when the customer pays the remainder, released when the invoice is voided or fully
refunded. An invoice carries a voucher claim at most once (unique index).

Billing never imports this module: it sends `invoice_issuing` and we answer with the amount.
Payments, voids and refunds are picked up from the invoice rows as the ORM flushes them; what
billing writes set-based (credit notes) is reconciled by `release_cancelled_claims` before
reimbursement statements are built.
"""
from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, case, event, func, inspect, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from booking.accounts.models import Organisation, User
from booking.billing.models import Invoice
from booking.bookings.models import Booking
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.db import chunks
from booking.extensions import Session, db
from booking.instruments.models import Instrument
from booking.subsidies import rules
from booking.subsidies.models import OrganisationLink, Redemption, Voucher
from booking.subsidies.policy import class_rule
from booking.subsidies.services import controller_group_ids, enterprise_facts, local_today

SERVICE_OF_MODE = {"self_operated": "instrument_use", "staff_operated": "testing"}
# why a share went back, as a reversal stores it (English, for the log; reimbursements.REASONS
# says it to the provider)
CREDITED, VOIDED, VOIDED_OR_CREDITED = ("invoice refunded", "invoice voided",
                                        "invoice voided or refunded")


def _usable():
    """Issued, of this year, still valid, money left."""
    return (Voucher.state == "issued", Voucher.year == local_today().year,
            Voucher.valid_until > now_utc(), Voucher.used_fen < Voucher.face_value_fen)


def usable_voucher(org: Organisation) -> Voucher | None:
    """The enterprise's oldest usable voucher."""
    return db.session.scalar(select(Voucher).where(Voucher.enterprise_id == org.id, *_usable())
                             .order_by(Voucher.decided_at, Voucher.id))


def _provider_facts(provider: Organisation) -> rules.Provider:
    return rules.Provider(id=provider.id, kind=provider.kind, credit_code=provider.credit_code,
                          region_code=provider.region_code, listed=provider.verified,
                          actual_controller=provider.actual_controller)


def _links(enterprise_id: int, provider_id: int) -> frozenset:
    return frozenset(db.session.scalars(select(OrganisationLink.kind).where(
        OrganisationLink.enterprise_id == enterprise_id,
        OrganisationLink.institution_id == provider_id)))


def _group_ids(voucher: Voucher) -> tuple[int, ...]:
    return tuple(controller_group_ids(voucher.enterprise, voucher.policy.rules))


def _group_used_fen(voucher: Voucher) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Voucher.used_fen), 0)).where(
        Voucher.enterprise_id.in_(_group_ids(voucher)), Voucher.year == voucher.year)) or 0


def _check(voucher: Voucher, instrument: Instrument, service: str,
           links: frozenset | None = None):
    """Eligible (with the provider-adjusted rate) or the failing rules, under the voucher's
    own policy version. `links`: the enterprise's declared links to the provider, if known."""
    enterprise = voucher.enterprise
    if links is None:
        links = _links(enterprise.id, instrument.organisation_id)
    return rules.eligibility(
        enterprise_facts(enterprise, voucher.declaration), _provider_facts(instrument.organisation),
        rules.InstrumentFacts(is_listed=instrument.is_listed, has_rates=bool(instrument.rates)),
        service, voucher.policy.rules, rules.Ledger(today=local_today(), links=links),
        declared_class=voucher.enterprise_class)


def _share(voucher: Voucher, rate, amount_fen: int) -> int:
    cap = class_rule(voucher.policy.rules, voucher.enterprise_class).cap_per_year_fen
    year_left = cap - _group_used_fen(voucher)
    return rules.subsidy_for(amount_fen, voucher.face_value_fen - voucher.used_fen, rate,
                             voucher.policy.rules, year_left)


def voucher_share(user: User, instrument: Instrument, fee_fen: int,
                  service: str = "instrument_use", done_by: datetime | None = None) -> int:
    """What the user's voucher would pay of a fee for this instrument (0 when none applies:
    an enterprise's vouchers are for the members it has confirmed). `done_by`: when the
    service ends (a booking's end); a voucher that lapses before then cannot pay for it."""
    voucher = usable_voucher(user.organisation) \
        if user.organisation.is_enterprise and user.membership_confirmed else None
    if voucher is None or (done_by is not None and voucher.valid_until is not None
                           and done_by > voucher.valid_until):
        return 0
    result = _check(voucher, instrument, service)
    return 0 if isinstance(result, list) else _share(voucher, result.rate, fee_fen)


# --- invoices --------------------------------------------------------------------------------
def _modes_of(invoices: list[Invoice]) -> dict[int, str]:
    booking_ids = {line.booking_id for i in invoices for line in i.lines if line.booking_id}
    return dict(db.session.execute(select(Booking.id, Booking.mode).where(
        Booking.id.in_(booking_ids))).all()) if booking_ids else {}


# An invoice's voucher is judged by when its service was done, not when it is issued: a
# voucher that lapsed since (written expired or not) still pays for use made while it held.
CLAIMABLE_STATES = ("issued", "expired")


def _claimable_vouchers(org_ids: set[int]) -> dict[int, list[Voucher]]:
    """{enterprise id: its vouchers with money left that were issued this year or last, the
    oldest first}: the ones an invoice being issued may draw on."""
    vouchers: dict[int, list[Voucher]] = defaultdict(list)
    for voucher in db.session.scalars(
            select(Voucher).where(Voucher.enterprise_id.in_(org_ids),
                                  Voucher.state.in_(CLAIMABLE_STATES),
                                  Voucher.valid_until.is_not(None),
                                  Voucher.year >= local_today().year - 1,
                                  Voucher.used_fen < Voucher.face_value_fen)
            .order_by(Voucher.decided_at, Voucher.id)
            .options(selectinload(Voucher.policy), selectinload(Voucher.enterprise))):
        vouchers[voucher.enterprise_id].append(voucher)
    return vouchers


class _Batch:
    """The running state of one batch of invoices: eligibility answers (per voucher, instrument
    and service), each voucher's money left and each controller group's yearly use, both
    counting the shares taken so far in the batch."""

    def __init__(self, invoices: list[Invoice]):
        self.modes = _modes_of(invoices)
        instrument_ids = {line.instrument_id for i in invoices for line in i.lines}
        self.instruments = {i.id: i for i in db.session.scalars(
            select(Instrument).where(Instrument.id.in_(instrument_ids)).options(
                selectinload(Instrument.rates), selectinload(Instrument.organisation)))}
        self.links: dict[tuple, set] = defaultdict(set)
        for enterprise_id, provider_id, kind in db.session.execute(select(
                OrganisationLink.enterprise_id, OrganisationLink.institution_id,
                OrganisationLink.kind).where(OrganisationLink.enterprise_id.in_(
                {i.customer_org_id for i in invoices}))):
            self.links[(enterprise_id, provider_id)].add(kind)
        self.checked: dict = {}
        self.left: dict[int, int] = {}
        self.group_of: dict[int, tuple] = {}
        self.group_used: dict[tuple, int] = {}

    def eligible_lines(self, voucher: Voucher, invoice: Invoice):
        """(amount, rate) of the lines the voucher may pay for: use, samples and an order's
        fees done while it held (rules.covers_service). Samples and fees (送样) are testing;
        use is the service of its booking's mode."""
        for line in invoice.lines:
            if line.kind not in ("usage", "samples", "fee") or line.instrument_id is None or \
                    not rules.covers_service(voucher.decided_at, voucher.valid_until,
                                             line.service_at, line.minutes):
                continue
            service = "testing" if line.kind in ("samples", "fee") else \
                SERVICE_OF_MODE.get(self.modes.get(line.booking_id), "instrument_use")
            key = (voucher.id, line.instrument_id, service)
            if key not in self.checked:
                instrument = self.instruments[line.instrument_id]
                self.checked[key] = _check(voucher, instrument, service, frozenset(
                    self.links[(voucher.enterprise_id, instrument.organisation_id)]))
            if not isinstance(self.checked[key], list):
                yield line.amount_fen, self.checked[key].rate

    def share(self, voucher: Voucher, invoice: Invoice) -> int:
        """The voucher's share of the invoice, counted as taken."""
        if voucher.id not in self.group_of:
            group = self.group_of[voucher.id] = _group_ids(voucher)
            self.left[voucher.id] = voucher.face_value_fen - voucher.used_fen
            if group not in self.group_used:
                self.group_used[group] = _group_used_fen(voucher)
        group, left = self.group_of[voucher.id], self.left[voucher.id]
        rules_ = voucher.policy.rules
        year_left = class_rule(rules_, voucher.enterprise_class).cap_per_year_fen - \
            self.group_used[group]
        by_rate: dict = {}
        for amount, rate in self.eligible_lines(voucher, invoice):
            by_rate[rate] = by_rate.get(rate, 0) + amount
        amount = min(sum(rules.subsidy_for(total, left, rate, rules_, year_left)
                         for rate, total in by_rate.items()),
                     left, int(rules_["caps"]["per_application_fen"]))
        amount = max(amount, 0)
        self.left[voucher.id] -= amount
        self.group_used[group] += amount
        return amount


def _take(voucher_id: int, amount_fen: int) -> bool:
    """Add to the voucher's used amount unless that would pass its face value (one conditional
    UPDATE: concurrent claims on one voucher can never over-spend it)."""
    used = Voucher.used_fen + amount_fen
    taken = db.session.execute(
        update(Voucher).where(Voucher.id == voucher_id, Voucher.state.in_(CLAIMABLE_STATES),
                              used <= Voucher.face_value_fen)
        .values(used_fen=used, state=case(
            ((used == Voucher.face_value_fen) & (Voucher.state == "issued"), "exhausted"),
            else_=Voucher.state))
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.expire(db.session.get(Voucher, voucher_id))
    return taken


def _of_confirmed_members(invoices: list[Invoice]) -> list[Invoice]:
    """The invoices whose customer the enterprise has confirmed as its member (or that name
    no person): its vouchers pay only for them."""
    people = {i.customer_user_id for i in invoices} - {None}
    confirmed = set(db.session.scalars(select(User.id).where(
        User.id.in_(people), User.membership_confirmed.is_(True)))) if people else set()
    return [i for i in invoices if i.customer_user_id is None or i.customer_user_id in confirmed]


def _voucher_for(invoice: Invoice, candidates: list[Voucher], batch: "_Batch") -> Voucher | None:
    """The oldest of the enterprise's vouchers that pays for any of the invoice's lines (one
    invoice, one claim)."""
    return next((v for v in candidates if any(batch.eligible_lines(v, invoice))), None)


def reserve_for_invoices(invoices: list[Invoice],
                         vouchers: dict[int, list[Voucher]] | None = None) -> dict[int, int]:
    """Reserve the voucher shares of a batch of invoices being issued: {invoice id: fen}.
    Set-based: a few queries per batch, plus one per voucher and per instrument a voucher meets,
    whatever the number of invoices. Each voucher is charged with one conditional UPDATE; if a
    concurrent claim got there first, that voucher's invoices of the batch get no share."""
    invoices = _of_confirmed_members(
        [i for i in invoices if i.kind == "invoice" and i.customer_org.is_enterprise])
    if not invoices:
        return {}
    ids = [i.id for i in invoices]
    claimed = set(db.session.scalars(select(Redemption.invoice_id).where(
        Redemption.invoice_id.in_(ids))))
    if vouchers is None:
        vouchers = _claimable_vouchers({i.customer_org_id for i in invoices})
    batch = _Batch(invoices)
    claims: dict[int, list[Redemption]] = defaultdict(list)
    for invoice in invoices:
        if invoice.id in claimed:
            continue
        voucher = _voucher_for(invoice, vouchers.get(invoice.customer_org_id, []), batch)
        if voucher is None:
            continue
        amount = batch.share(voucher, invoice)
        if amount > 0:
            claims[voucher.id].append(Redemption(
                voucher_id=voucher.id, invoice_id=invoice.id, provider_id=invoice.provider_id,
                policy_id=voucher.policy_id, entry="claim", state="reserved", amount_fen=amount))
    reserved = [claim for voucher_id, batch_claims in claims.items()
                if _take(voucher_id, sum(c.amount_fen for c in batch_claims))
                for claim in batch_claims]
    db.session.add_all(reserved)
    db.session.flush()
    for claim in reserved:
        audit.record("voucher.reserved", obj=claim, voucher_id=claim.voucher_id,
                     invoice_id=claim.invoice_id, amount_fen=claim.amount_fen)
    return {claim.invoice_id: claim.amount_fen for claim in reserved}


def reserve_for_invoice(invoice: Invoice) -> int:
    """Reserve the voucher share of one invoice being issued; returns it (fen)."""
    return reserve_for_invoices([invoice]).get(invoice.id, 0)


def answer_invoice_issuing(batch, **extra) -> dict[int, int]:
    """Billing asks, as it issues invoices (an invoicing.IssuingBatch): the voucher share
    reserved on each. Only the invoices of customers holding a usable voucher are loaded."""
    vouchers = _claimable_vouchers(batch.customers)
    return reserve_for_invoices(batch.invoices(set(vouchers)), vouchers) if vouchers else {}


def answer_quote_requested(instrument: Instrument, *, user: User, fee_fen: int, mode: str,
                            done_by: datetime | None = None, **extra) -> int:
    """Billing asks, as it quotes: what the user's voucher would pay of the fee for a service
    ending `done_by` (an order's tests: not known, None)."""
    return voucher_share(user, instrument, fee_fen, SERVICE_OF_MODE.get(mode, "instrument_use"),
                         done_by)


def _claim_of(invoice_id: int) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(Redemption.invoice_id == invoice_id,
                                                      Redemption.entry == "claim"))


def redeem(claim: Redemption, paid_at: datetime | None = None) -> None:
    """The customer paid the remainder (at `paid_at`, else now): the reserved share (less what
    credit notes gave back meanwhile) is owed to the provider from then on, on the statement
    of that quarter."""
    if claim.state == "reserved":
        at = paid_at or now_utc()
        claim.state, claim.redeemed_at = "redeemed", at
        for entry in _given_back(claim):
            entry.state, entry.redeemed_at = "redeemed", at
        audit.record("voucher.redeemed", obj=claim, amount_fen=claim.amount_fen)


def _given_back(claim: Redemption) -> list[Redemption]:
    """The reversals that gave part of the share back to the voucher (those of credit notes
    and refunds; not a clawback, which takes it from the provider only)."""
    return list(db.session.scalars(select(Redemption).where(
        Redemption.reverses_id == claim.id, ~is_clawback())))


def is_clawback():
    """A reversal the bureau made (a clawback), not one a credit note or a void gave back."""
    return Redemption.reason.startswith(CLAWBACK)


def clawback_of(claim: Redemption) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(
        Redemption.reverses_id == claim.id, is_clawback()))


def _kept(claim: Redemption) -> int:
    return claim.amount_fen + sum(entry.amount_fen for entry in _given_back(claim))


def release(claim: Redemption, reason: str) -> int:
    """The invoice was voided or refunded in full: what is left of the share goes back onto
    the voucher (a clawed-back claim stays used: the clawback already settled it)."""
    if claim.state == "released" or clawback_of(claim) is not None:
        return 0
    kept = _kept(claim)
    _give_back(claim, kept, claim.invoice_id, reason)
    return kept


def follow_credit(note: Invoice, **extra) -> None:
    """A credit note shrinks the share of its invoice in proportion to what it gives back
    (rules.share_after_credits); the freed part returns to the voucher and, once the claim is
    redeemed, nets out of the provider's next statement."""
    claim = _claim_of(note.credits_id)
    if claim is None or claim.state == "released":
        return
    original = db.session.get(Invoice, note.credits_id)
    credited = int(db.session.scalar(_credited_fen(original.id)) or 0)  # NUMERIC on PostgreSQL
    target = rules.share_after_credits(claim.amount_fen, original.amount_due_fen, credited)
    _give_back(claim, _kept(claim) - target, note.id, CREDITED)


def answer_voucher_returned(note: Invoice, **extra) -> int:
    """Billing asks, to show a credit note: what it gave back to the voucher, i.e. what the
    share came to before it less what it came to after (as follow_credit computed it)."""
    claim = _claim_of(note.credits_id) if note.credits_id else None
    if claim is None:
        return 0
    original = db.session.get(Invoice, note.credits_id)
    before = int(db.session.scalar(_credited_fen(original.id, before_id=note.id)) or 0)

    def share(credited: int) -> int:
        return rules.share_after_credits(claim.amount_fen, original.amount_due_fen, credited)
    return share(before) - share(before + note.amount_due_fen)


def _give_back(claim: Redemption, amount_fen: int, entry_invoice_id: int, reason: str) -> None:
    """Give `amount_fen` of the claim back to the voucher: a claim given back whole before
    any statement is released; otherwise a reversal records the part (history is never
    rewritten), keyed on the invoice or credit note that gave it back."""
    if amount_fen <= 0:
        return
    if amount_fen == claim.amount_fen and claim.reimbursement_id is None:
        claim.state, claim.released_at, claim.reason = "released", now_utc(), reason[:500]
    else:
        db.session.add(Redemption(
            voucher_id=claim.voucher_id, invoice_id=entry_invoice_id,
            provider_id=claim.provider_id, policy_id=claim.policy_id, entry="reversal",
            state=claim.state, amount_fen=-amount_fen, reverses_id=claim.id,
            reason=reason[:500], redeemed_at=now_utc() if claim.state == "redeemed" else None))
    db.session.execute(
        update(Voucher).where(Voucher.id == claim.voucher_id)
        .values(used_fen=Voucher.used_fen - amount_fen,
                state=case((Voucher.state == "exhausted", "issued"), else_=Voucher.state))
        .execution_options(synchronize_session=False))
    db.session.expire(db.session.get(Voucher, claim.voucher_id))
    audit.record("voucher.released", obj=claim, amount_fen=amount_fen, reason=reason)


CLAWBACK = "clawback"  # the reason of a clawback's reversal starts with it


def claw_back_claim(claim: Redemption, reason: str) -> Redemption:
    """Take a redeemed claim back from the provider (the voucher is not refilled): the
    negative of what the provider kept of it after any refunds."""
    reversal = Redemption(voucher_id=claim.voucher_id, invoice_id=claim.invoice_id,
                          provider_id=claim.provider_id, policy_id=claim.policy_id,
                          entry="reversal", state="redeemed", amount_fen=-_kept(claim),
                          reverses_id=claim.id, reason=f"{CLAWBACK}: {reason}"[:500],
                          redeemed_at=now_utc())
    db.session.add(reversal)
    return reversal


def _credited_fen(invoice_id, before_id: int | None = None):
    """The sum of credit notes against an invoice (`invoice_id` may be a column); with
    `before_id`, of those written before that credit note."""
    note = aliased(Invoice)
    query = select(func.coalesce(func.sum(note.amount_due_fen), 0)).where(
        note.credits_id == invoice_id, note.kind == "credit_note", note.state != "void")
    return query if before_id is None else query.where(note.id < before_id)


def release_cancelled_claims() -> int:
    """Release the claims of invoices voided or credited in full by any path (billing may
    write invoices set-based, out of sight of the ORM); run before statements are built."""
    credited = _credited_fen(Redemption.invoice_id).scalar_subquery()
    claims = db.session.scalars(select(Redemption).join(
        Invoice, Invoice.id == Redemption.invoice_id).where(
        Redemption.entry == "claim", Redemption.state.in_(("reserved", "redeemed")),
        or_(Invoice.state == "void",
            and_(Invoice.amount_due_fen > 0, credited >= Invoice.amount_due_fen)))).all()
    return sum(1 for claim in claims if release(claim, VOIDED_OR_CREDITED))


def _invoice_changes(session) -> list[tuple[Invoice, str]]:
    changes = []
    for obj in session.dirty:
        if not isinstance(obj, Invoice) or not inspect(obj).attrs.state.history.added:
            continue
        if obj.kind == "invoice" and obj.state in ("paid", "void"):
            changes.append((obj, obj.state))
    return changes


def follow_settlement(invoice_ids: list[int], **extra) -> None:
    """Billing's `invoices_settled`: the shares reserved on invoices paid in bulk are redeemed
    when each was paid."""
    for chunk in chunks(invoice_ids):
        for claim, paid_at in db.session.execute(
                select(Redemption, Invoice.paid_at).join(Invoice, Invoice.id ==
                                                         Redemption.invoice_id)
                .where(Redemption.invoice_id.in_(chunk), Redemption.entry == "claim")):
            redeem(claim, paid_at)


@event.listens_for(Session, "before_flush")
def _follow_invoices(session, flush_context, instances) -> None:
    """Redeem on payment, release on void (whichever billing path did it); credit notes are
    followed through billing's invoice_credited signal (follow_credit)."""
    changes = _invoice_changes(session)
    if not changes:
        return
    with session.no_autoflush:
        for invoice, change in changes:
            claim = _claim_of(invoice.id)
            if claim is None:
                continue
            if change == "paid":
                redeem(claim)
            else:
                release(claim, VOIDED)
