"""Publishing workflows: instruments, rate cards, opening hours, exceptions, blackouts, photos,
freshness reminders. They flush, never commit: the route (or CLI command) commits once."""
import os
import secrets
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import select

from booking.accounts.models import Organisation, User
from booking.accounts.services import role_holders
from booking.core import audit
from booking.core.clock import now_utc
from booking.core.problems import Problem, Refused, _l
from booking.extensions import db
from booking.inbox.services import received_since
from booking.instruments import classification, notifications, rules, search_index
from booking.instruments.models import Blackout, Instrument, OpeningException, OpeningHours, Rate
from booking.instruments.photos import PhotoRefused, fitted_photo


class CatalogueError(Refused):
    """A workflow refused before changing anything; `field` is the form field it is about."""

    def __init__(self, code: str, message: str, field: str | None = None, **params):
        super().__init__(Problem(code, message, params))
        self.field = field


#: Asked before an instrument is retired (sender: the instrument); receivers (the bookings
#: area) return how many bookings still to come it holds: retiring waits until none is left.
bookings_held = Namespace().signal("instrument-bookings-held")
#: Sent when a rate to come is added or withdrawn (sender: the instrument; customer_class,
#: since: from when prices change, before: the rate cards as they were); receivers (billing)
#: tell the bookers whose estimates it changes and return how many they told.
rates_changed = Namespace().signal("instrument-rates-changed")


def _touch(instrument: Instrument, actor: User | None, action: str, **data) -> None:
    """Every edit marks the entry reviewed, refreshes its index row and is audited."""
    instrument.info_updated_at = now_utc()
    search_index.reindex(instrument)
    audit.record(action, actor=actor, obj=instrument, **data)


def _check_asset_number(organisation_id: int, asset_number: str | None,
                        instrument_id: int | None = None) -> None:
    """An asset number names one instrument of its organisation (the import's key)."""
    if not asset_number:
        return
    clash = select(Instrument.id).where(Instrument.organisation_id == organisation_id,
                                        Instrument.asset_number == asset_number)
    if instrument_id is not None:
        clash = clash.where(Instrument.id != instrument_id)
    if db.session.scalar(clash):
        raise CatalogueError("asset_number_taken", _l(
            "Another instrument of this organisation has this asset number."), "asset_number")


def create_instrument(organisation: Organisation, fields: dict, actor: User) -> Instrument:
    _check_asset_number(organisation.id, fields.get("asset_number"))
    if fields.get("national_class"):
        fields = {"category": classification.category_of(fields["national_class"]), **fields}
    instrument = Instrument(organisation=organisation, **fields)
    db.session.add(instrument)
    db.session.flush()
    _touch(instrument, actor, "instrument.created")
    return instrument


def _check_retiring(instrument: Instrument, status: str | None) -> None:
    """A retired instrument takes no bookings: the ones still to come are cancelled first,
    by a blackout over them (which tells each booker why and when else)."""
    if status != "retired" or instrument.status == "retired":
        return
    held = sum(int(count or 0) for _receiver, count in bookings_held.send(instrument))
    if held:
        raise CatalogueError("bookings_held", _l(
            "%(count)s bookings are still to come. Add a blackout over them first (it cancels "
            "them and tells each booker), then retire the instrument."), "status", count=held)


def update_instrument(instrument: Instrument, fields: dict, actor: User) -> None:
    """Change the fields sent; nothing changed is no edit (it neither refreshes the entry
    nor writes an audit record: confirming an entry is mark_reviewed)."""
    _check_asset_number(instrument.organisation_id, fields.get("asset_number"), instrument.id)
    _check_retiring(instrument, fields.get("status"))
    if fields.get("is_public") and not instrument.is_public and \
            not instrument.organisation.active:
        raise CatalogueError("organisation_inactive", _l(
            "The institution is deactivated: its instruments are not listed."), "is_public")
    changed = sorted(k for k, v in fields.items() if getattr(instrument, k) != v)
    if not changed:
        return
    for key, value in fields.items():
        setattr(instrument, key, value)
    _touch(instrument, actor, "instrument.updated", changed=changed)


def withdraw_organisation(organisation: Organisation, actor: User | None = None, **_extra
                          ) -> None:
    """Receiver of accounts' `organisation_deactivated`: its listed instruments leave the
    directory (nobody there runs them any more). Each is audited, so that the lab sees what
    to publish again if the organisation comes back."""
    withdrawn = db.session.scalars(select(Instrument).where(
        Instrument.organisation_id == organisation.id, Instrument.is_public.is_(True))).all()
    for instrument in withdrawn:
        instrument.is_public = False
        _touch(instrument, actor, "instrument.withdrawn", reason="organisation deactivated")


def mark_reviewed(instrument: Instrument, actor: User) -> None:
    """The manager confirms the entry is still correct."""
    _touch(instrument, actor, "instrument.reviewed")


def add_rate(instrument: Instrument, *, customer_class: str, hourly_fen: int,
             rounding_minutes: int, minimum_minutes: int, setup_fee_fen: int,
             valid_from: datetime, actor: User) -> tuple[Rate, int]:
    """A new rate applies from valid_from on; it never rewrites prices already in force.
    Returns it, and how many bookers were told of their estimate changed by it."""
    now = now_utc()
    valid_from = max(valid_from, now)
    if any(r.customer_class == customer_class and r.valid_from >= valid_from
           for r in instrument.rates):
        raise CatalogueError("rate_exists", _l(
            "A rate for this class already starts on or after that date."), "valid_from")
    rate = Rate(customer_class=customer_class, hourly_fen=hourly_fen,
                rounding_minutes=rounding_minutes, minimum_minutes=minimum_minutes,
                setup_fee_fen=setup_fee_fen, valid_from=valid_from)
    in_force = {c: r.hourly_fen for c, r in
                rules.effective_rates(instrument.rates, valid_from).items()}
    problems = rules.rate_order_problems({**in_force, customer_class: hourly_fen})
    if problems:
        raise CatalogueError("rate_order", problems[0], "hourly")
    before = list(instrument.rates)
    instrument.rates.append(rate)
    _touch(instrument, actor, "rate.added", customer_class=customer_class,
           hourly_fen=hourly_fen, valid_from=valid_from.isoformat())
    return rate, _tell_of_rates(instrument, customer_class, valid_from, before)


def _tell_of_rates(instrument: Instrument, customer_class: str, since: datetime,
                   before: list[Rate]) -> int:
    return sum(told or 0 for _receiver, told in rates_changed.send(
        instrument, customer_class=customer_class, since=since, before=before))


def remove_rate(instrument: Instrument, rate: Rate, actor: User) -> int:
    """Withdraw a rate not yet in force (a mistyped price or date): nothing was priced at it.
    One in force, or past, is history: a new rate from a date changes it. Returns how many
    bookers were told of their estimate changed back."""
    if rate.valid_from <= now_utc():
        raise CatalogueError("rate_in_force", _l(
            "A rate in force or past is never removed: add a new one from the day the price "
            "should change."))
    before = list(instrument.rates)
    instrument.rates.remove(rate)
    _touch(instrument, actor, "rate.removed", customer_class=rate.customer_class,
           hourly_fen=rate.hourly_fen, valid_from=rate.valid_from.isoformat())
    return _tell_of_rates(instrument, rate.customer_class, rate.valid_from, before)


def set_opening_hours(instrument: Instrument, intervals_by_weekday: dict, actor: User) -> None:
    """Replace the weekly hours: {weekday: [(opens, closes), ...]} in local time."""
    instrument.opening_hours = [
        OpeningHours(weekday=day, opens=opens, closes=closes)
        for day, intervals in sorted(intervals_by_weekday.items())
        for opens, closes in intervals]
    _touch(instrument, actor, "opening_hours.set", hours={
        str(day): [f"{o:%H:%M}-{c:%H:%M}" for o, c in ivs]
        for day, ivs in intervals_by_weekday.items() if ivs})


def add_exception(instrument: Instrument, *, day, opens, closes, reason: str,
                  actor: User) -> OpeningException:
    if any(e.day == day for e in instrument.exceptions):
        raise CatalogueError("exception_exists", _l("There is already an exception for that day."),
                             "day")
    exception = OpeningException(day=day, opens=opens, closes=closes, reason=reason)
    instrument.exceptions.append(exception)
    _touch(instrument, actor, "opening_exception.added", day=day.isoformat(), reason=reason)
    return exception


def remove_exception(instrument: Instrument, exception: OpeningException, actor: User) -> None:
    instrument.exceptions.remove(exception)
    _touch(instrument, actor, "opening_exception.removed", day=exception.day.isoformat())


def add_blackout(instrument: Instrument, *, start_at: datetime, end_at: datetime, reason: str,
                 actor: User) -> Blackout:
    """start_at/end_at are aware UTC (converted from the instrument's local time)."""
    if end_at <= start_at:
        raise CatalogueError("negative_duration", _l("The end must be after the start."), "end")
    if end_at <= now_utc():  # nobody could book that time any more: nothing to close
        raise CatalogueError("blackout_over", _l(
            "That time is over: a blackout closes time still to come."), "end")
    if any(b.start_at == start_at and b.end_at == end_at for b in instrument.blackouts):
        raise CatalogueError("blackout_exists", _l(  # the same form sent twice (Back, submit)
            "A blackout over exactly this time exists already."), "start")
    blackout = Blackout(start_at=start_at, end_at=end_at, reason=reason, created_by_id=actor.id)
    instrument.blackouts.append(blackout)
    _touch(instrument, actor, "blackout.added", start=start_at.isoformat(),
           end=end_at.isoformat(), reason=reason)
    return blackout


def remove_blackout(instrument: Instrument, blackout: Blackout, actor: User) -> None:
    instrument.blackouts.remove(blackout)
    _touch(instrument, actor, "blackout.removed", start=blackout.start_at.isoformat())


def photo_dir() -> str:
    return os.path.join(current_app.config["UPLOAD_DIR"], "instruments")


def set_photo(instrument: Instrument, data: bytes, actor: User) -> None:
    """Store a checked image (magic bytes, size, pixels), fitted to the directory's size,
    under UPLOAD_DIR with a random name."""
    problem = rules.photo_problem(data)
    if problem:
        raise CatalogueError("bad_photo", problem, "photo")
    kind = rules.image_kind(data[:16])
    try:
        data = fitted_photo(data, kind)
    except PhotoRefused as refused:
        raise CatalogueError("bad_photo", refused.args[0], "photo") from refused
    name = f"{instrument.id}-{secrets.token_hex(8)}.{rules.PHOTO_EXTENSIONS[kind]}"
    os.makedirs(photo_dir(), exist_ok=True)
    with open(os.path.join(photo_dir(), name), "wb") as file:
        file.write(data)
    instrument.photo_path = name
    _touch(instrument, actor, "instrument.photo_set", photo=name)


# --- freshness ---------------------------------------------------------------------------

def stale_instruments(now: datetime) -> list[Instrument]:
    cutoff = now - timedelta(days=rules.STALE_AFTER_DAYS)
    return list(db.session.scalars(
        select(Instrument).where(Instrument.status != "retired",
                                 Instrument.info_updated_at <= cutoff)
        .order_by(Instrument.organisation_id, Instrument.id)))


def _reminded_today(manager: User, now: datetime) -> bool:
    """Asked of the inbox, which keeps every notice, e-mailed or not (the manager may have
    turned these e-mails off)."""
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return received_since(manager.id, notifications.REMINDER_KIND, day_start)


def queue_stale_reminders(console_url: str, now: datetime | None = None) -> int:
    """One reminder per manager listing their stale instruments; at most one a day each."""
    now = now or now_utc()
    by_org: dict[int, list[Instrument]] = {}
    for instrument in stale_instruments(now):
        by_org.setdefault(instrument.organisation_id, []).append(instrument)
    queued = 0
    for org_id, instruments in by_org.items():
        for manager in role_holders("lab_manager", org_id):
            if _reminded_today(manager, now):
                continue
            notifications.notify_stale(manager, instruments, console_url)
            queued += 1
    return queued
