"""A project's ledger as people read it: its lines, what each is about in the reader's
language, and the statement the PI downloads."""
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.core.categories import category_name
from booking.core.clock import to_local
from booking.core.tables import yuan
from booking.extensions import db
from booking.groups import limits
from booking.groups.models import BOOKINGS, Project, ProjectEntry, ResearchGroup


def entries_of(project: Project) -> list[ProjectEntry]:
    return list(db.session.scalars(select(ProjectEntry).where(
        ProjectEntry.project_id == project.id).order_by(ProjectEntry.created_at,
                                                        ProjectEntry.id)))




def entry_descriptions(entries: list[ProjectEntry], locale: str, timezone: str
                       ) -> dict[int, str]:
    """What ledger lines are about in the reader's language (by entry id): a booking's hold
    names its instrument and the booking's day where the reader is; a voided invoice's credit
    says so. Other lines keep their stored text (an invoice or a credit note's number)."""
    holds = [e for e in entries if e.kind == "hold" and e.instrument_id and e.booking_id]
    names = limits.instrument_names([e.instrument_id for e in holds], locale)
    starts = dict(db.session.execute(select(BOOKINGS.c.id, BOOKINGS.c.start_at).where(
        BOOKINGS.c.id.in_({e.booking_id for e in holds}))).all()) if holds else {}
    described = {
        e.id: f"{names[e.instrument_id]} {to_local(starts[e.booking_id], timezone):%Y-%m-%d}"
        for e in holds if e.instrument_id in names and e.booking_id in starts}
    for entry in entries:
        if entry.kind == "credit" and entry.description.startswith("void "):
            described[entry.id] = gettext("invoice %(number)s voided",
                                          number=entry.description.removeprefix("void "))
    return described


def entry_members(entries: list[ProjectEntry]) -> dict[int, str]:
    """Whose use each line is (by entry id): the member who booked it, or, for an invoice's
    charge or credit naming no one booking (a month's invoice), the person it was issued to.
    The PI reads whose use the project pays."""
    from booking.billing.models import Invoice  # billing charges projects: imported late

    booking_ids = {e.booking_id for e in entries if e.booking_id}
    invoice_ids = {e.invoice_id for e in entries if e.invoice_id and not e.booking_id}
    by_booking = dict(db.session.execute(select(BOOKINGS.c.id, User.name).join(
        User, User.id == BOOKINGS.c.user_id).where(BOOKINGS.c.id.in_(booking_ids))).all()
                      ) if booking_ids else {}
    by_invoice = dict(db.session.execute(select(Invoice.id, User.name).join(
        User, User.id == Invoice.customer_user_id).where(Invoice.id.in_(invoice_ids))).all()
                      ) if invoice_ids else {}
    members = {}
    for entry in entries:
        name = by_booking.get(entry.booking_id) if entry.booking_id else \
            by_invoice.get(entry.invoice_id)
        if name:
            members[entry.id] = name
    return members


def recent_entries(group: ResearchGroup, limit: int = 50) -> list[ProjectEntry]:
    """The latest ledger lines of the group's projects (bookings held, invoices charged)."""
    return list(db.session.scalars(select(ProjectEntry).join(Project).where(
        Project.group_id == group.id).order_by(ProjectEntry.created_at.desc(),
                                               ProjectEntry.id.desc()).limit(limit)))


def statement_table(project: Project, locale: str, timezone: str
                    ) -> tuple[list[str], list[list]]:
    """A project's statement: every ledger line with what is left of the budget once charged
    (holds are not charges), in the reader's language, amounts as numbers (yuan), times as
    local date cells."""
    _ = gettext
    header = [_("Date"), _("Kind"), _("Entry details"), _("Member"), _("Booking id"),
              _("Invoice"), _("Instrument id"), _("Category"), _("Amount (CNY)"), _("Released"),
              _("Budget left after charges (CNY)")]
    entries = entries_of(project)
    described = entry_descriptions(entries, locale, timezone)
    members = entry_members(entries)
    numbers = _invoice_numbers({e.invoice_id for e in entries if e.invoice_id})
    kinds = {"hold": _("held"), "charge": _("charged"), "credit": _("credited")}
    remaining, rows = project.budget_fen, []
    for entry in entries:
        if entry.kind == "charge":
            remaining -= entry.amount_fen
        elif entry.kind == "credit":
            remaining += entry.amount_fen
        rows.append([entry.created_at, kinds[entry.kind],
                     described.get(entry.id, entry.description), members.get(entry.id, ""),
                     entry.booking_id,
                     numbers.get(entry.invoice_id, ""), entry.instrument_id,
                     category_name(entry.category, locale) if entry.category else "",
                     yuan(-entry.amount_fen if entry.kind == "credit" else entry.amount_fen),
                     entry.released_at, yuan(remaining)])
    return header, rows


def viewable_invoices(entries: list[ProjectEntry], user: User) -> set[int]:
    """The invoices and credit notes of these lines the reader may open (the PI all of them;
    a member only their own): the page links those."""
    from booking.billing.models import Invoice  # billing charges projects: imported late

    ids = {e.invoice_id for e in entries if e.invoice_id and e.kind != "hold"}
    return {invoice.id for invoice in db.session.scalars(select(Invoice).where(
        Invoice.id.in_(ids)).options(joinedload(Invoice.project).joinedload(Project.group)))
        if invoice.can_view(user)} if ids else set()


def _invoice_numbers(invoice_ids: set[int]) -> dict[int, str]:
    """The numbers people know invoices by (an id in a statement read as one: 1977)."""
    from booking.billing.models import Invoice  # billing charges projects: imported late

    if not invoice_ids:
        return {}
    return dict(db.session.execute(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_(invoice_ids))).all())


def open_holds_of(group: ResearchGroup, user_id: int) -> tuple[int, int]:
    """(bookings, fen held) of a member's open bookings charged to the group's projects: what
    stays charged to them when the member leaves (the PI is told)."""
    count, held = db.session.execute(select(
        db.func.count(db.func.distinct(ProjectEntry.booking_id)),
        db.func.coalesce(db.func.sum(ProjectEntry.amount_fen), 0))
        .join(Project, Project.id == ProjectEntry.project_id)
        .join(BOOKINGS, BOOKINGS.c.id == ProjectEntry.booking_id)
        .where(Project.group_id == group.id, BOOKINGS.c.user_id == user_id,
               ProjectEntry.kind == "hold", ProjectEntry.released_at.is_(None))).one()
    return int(count), int(held)
