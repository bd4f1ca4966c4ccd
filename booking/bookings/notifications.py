"""What bookers and labs are told about bookings, qualifications and training. Each message is
composed inside its recipient's locale (not the acting user's) and queued in the same
transaction: sent after the commit, never if it rolls back."""
from datetime import timedelta

from flask_babel import gettext as _

from booking.accounts.models import User
from booking.accounts.services import role_holders
from booking.bookings.labels import repeat_label
from booking.bookings.models import Booking, TrainingRequest
from booking.core.clock import now_utc, to_local
from booking.core.money import percent
from booking.core.notifications import Notice, compose_notice, deliver, notify
from booking.core.security import external_url, site_path
from booking.core.web import sentences
from booking.instruments.models import Instrument, Qualification


def _my_bookings() -> str:
    """Where a booker's notices of several bookings link to in the inbox."""
    return site_path("bookings.mine")


def _page_of(booking) -> str:
    """Where a notice of one booking links to: its page (My bookings for one being made)."""
    booking_id = getattr(booking, "id", None)
    return site_path("bookings.show", booking_id=booking_id) if booking_id else _my_bookings()


def lab_managers(organisation_id: int) -> list[User]:
    """The active lab managers of an organisation: who hears of its requests."""
    return role_holders("lab_manager", organisation_id)


def _about(booking: Booking, user: User) -> dict:
    """The booking as `user` reads it: instrument name, local time and zone, reason."""
    start = to_local(booking.start_at, user.timezone)
    end = to_local(booking.end_at, user.timezone)
    return {"instrument": booking.instrument.display_name(user.locale),
            "when": f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({user.timezone})",
            "reason": booking.decision_reason}


def summary_for_pi(booking: Booking, pi: User, over_limit: bool = False) -> dict:
    """What a PI reads of a member's request (kept by booking.groups, which knows no
    bookings): the instrument in both languages with its institution (two often share a
    name), the time in the PI's timezone, what it is for, and whether it goes over one of the
    project's limits."""
    instrument, owner = booking.instrument, booking.instrument.organisation
    return {"instrument": instrument.display_name(pi.locale), "when": _about(booking, pi)["when"],
            "instrument_id": booking.instrument_id, "instrument_zh": instrument.name_zh,
            "instrument_en": instrument.name_en, "organisation_zh": owner.name_zh,
            "organisation_en": owner.name_en, "purpose": booking.purpose,
            "over_limit": over_limit}


# --- to the booker ------------------------------------------------------------------------------
def notify_booking_approved(booking: Booking) -> None:
    deliver(booking_approved_notices(booking))


def booking_approved_notices(booking, booked_by_lab: bool = False) -> list[Notice]:
    """`booking`: a Booking, or what one will be (instrument, user, start_at, end_at,
    purpose). `booked_by_lab`: the lab booked it for the person, who never asked: say what
    for (a test order's time reads "Test order <number>" in the booker's language)."""
    booker = booking.user

    def compose():
        text = _("Your booking of %(instrument)s on %(when)s is confirmed.",
                 **_about(booking, booker))
        if booked_by_lab:
            text = sentences(text, _("The lab booked it for you: %(purpose)s",
                                     purpose=booking.purpose))
        return _("Booking confirmed"), text

    return [compose_notice(booker, "booking.approved", link=_page_of(booking),
                           compose=compose)]


def notify_booking_rejected(booking: Booking) -> None:
    booker = booking.user
    notify(booker, "booking.rejected", link=_page_of(booking), compose=lambda: (
        _("Booking request declined"),
        _("Your request for %(instrument)s on %(when)s was declined: %(reason)s",
          **_about(booking, booker))))


def notify_booking_cancelled(booking: Booking) -> None:
    """The lab cancelled the booking (a booker cancelling their own is not told)."""
    booker = booking.user
    notify(booker, "booking.cancelled", link=_page_of(booking), compose=lambda: (
        _("Booking cancelled"),
        _("Your booking of %(instrument)s on %(when)s was cancelled by the lab. %(reason)s",
          **_about(booking, booker))))


def notify_no_show(booking: Booking) -> None:
    """The booking was recorded as a no-show (by the lab, or the daily job): the booker hears
    of it, and of its charge, now rather than from the month's invoice. Time the lab runs for
    a test order (billed on the order) is the lab's own: nobody is told."""
    if booking.billed_separately:
        return
    booker = booking.user
    instrument = booking.instrument
    # an instrument out of service waives the charge (billing's penalty facts)
    share = instrument.no_show_fraction if instrument.status == "active" else 0

    def compose():
        return _("Booking recorded as a no-show"), sentences(
            _("Your booking of %(instrument)s on %(when)s was recorded as a no-show: no use "
              "was recorded for it.", **_about(booking, booker)),
            _("Unless the lab waives it, %(percent)s%% of the booked time's fee is charged "
              "for it, on the invoice for %(month)s.", percent=percent(share),
              month=f"{to_local(booking.start_at, booker.timezone):%Y-%m}")
            if share else _("It is not charged."),
            _("If you did use the instrument, tell the lab: it can withdraw the no-show."))

    notify(booker, "booking.no_show", link=_page_of(booking), compose=compose)


def notify_no_show_withdrawn(booking: Booking) -> None:
    """The lab took back a no-show: the booker, told of it and of its charge, hears it is
    withdrawn."""
    if booking.billed_separately:
        return
    booker = booking.user
    notify(booker, "booking.no_show", link=_page_of(booking), compose=lambda: (
        _("No-show withdrawn"),
        _("The lab withdrew the no-show of your booking of %(instrument)s on %(when)s: it is "
          "not charged.", **_about(booking, booker))))


def notify_estimates_changed(estimates: list[tuple[Booking, int | None, int]]) -> None:
    """The lab set (or withdrew) a rate to come: one booker's bookings, priced at the rate in
    force when they start, are estimated differently now; (booking, old, new) each, in fen."""
    from booking.core.money import format_cny

    booker, instrument = estimates[0][0].user, estimates[0][0].instrument
    deadline = timedelta(hours=instrument.cancel_deadline_hours)
    free_to_cancel = any(booking.start_at - deadline > now_utc() for booking, _o, _n in estimates)

    def compose():
        name = instrument.display_name(booker.locale)
        lines = [_("The lab changed its rate for %(instrument)s. A booking is priced at the rate "
                   "in force when it starts; the time of yours is now estimated at:",
                   instrument=name)]
        lines += ["- " + _("%(when)s: %(new)s (it was %(old)s)", new=format_cny(new),
                           old=format_cny(old) if old is not None else _("no rate"),
                           when=_about(booking, booker)["when"])
                  for booking, old, new in estimates]
        if free_to_cancel:
            lines.append(_("A booking may be cancelled free of charge until %(hours)d hours "
                           "before it starts.", hours=instrument.cancel_deadline_hours))
        return _("New price estimate for your bookings of %(instrument)s", instrument=name), \
            "\n".join(lines)

    notify(booker, "booking.estimate_changed", link=_page_of(estimates[0][0]), compose=compose)


def notify_cancelled_by_blackout(bookings: list[Booking], free_times) -> None:
    """The lab closed the instrument over a booker's bookings (earliest first): why, that
    nothing is charged, and the next free times as long as the first."""
    first, booker = bookings[0], bookings[0].user

    def compose():
        times = "; ".join(local_range(start, end, booker.timezone) for start, end in free_times)
        if len(bookings) == 1:
            cancelled = _("Your booking of %(instrument)s on %(when)s was cancelled because the "
                          "instrument is unavailable: %(reason)s. Nothing is charged.",
                          **_about(first, booker))
        else:
            cancelled = _("Your %(count)d bookings of %(instrument)s were cancelled because the "
                          "instrument is unavailable: %(reason)s. Nothing is charged.",
                          count=len(bookings), **_about(first, booker)) + "\n" + "\n".join(
                "· " + local_range(b.start_at, b.end_at, booker.timezone) for b in bookings)
        return (_("Booking cancelled: instrument unavailable"), cancelled + "\n\n" + (
            _("Free times you could book instead: %(times)s.", times=times)
            if times else _("There is no free time in the next two weeks.")))

    notify(booker, "booking.cancelled", compose, link=_my_bookings())


def notify_waitlist_offer(entry) -> None:
    """The time someone waited for is free and held for them: until when, and where to take
    it."""
    user = entry.user

    def compose():
        start, end = to_local(entry.start_at, user.timezone), to_local(entry.end_at, user.timezone)
        return (_("A time you waited for is free"),
                _("%(instrument)s is free on %(when)s and held for you until %(until)s. "
                  "Book it here: %(url)s",
                  instrument=entry.instrument.display_name(user.locale),
                  when=f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({user.timezone})",
                  until=f"{to_local(entry.offer_expires_at, user.timezone):%Y-%m-%d %H:%M}",
                  url=external_url("bookings.waitlist_page")))

    notify(user, "waitlist.offer", compose, link=site_path("bookings.waitlist_page"))


def notify_registered_by_lab(user: User, actor: User) -> None:
    """A lab registered a walk-in: how to claim the account."""
    notify(user, "account.registered", lambda: (
        _("Your account on the shared-instrument platform"),
        _("%(lab)s registered you on the shared-instrument platform to book an instrument for "
          "you. To sign in yourself, set a password at %(url)s with this e-mail address.",
          lab=actor.organisation.display_name(user.locale),
          url=external_url("accounts.forgot_password"))))


def notify_booking_moved(booking: Booking, before) -> None:
    """The lab moved the booking to another time."""
    booker = booking.user
    notify(booker, "booking.moved", link=_page_of(booking), compose=lambda: (
        _("Booking moved"),
        _("The lab moved your booking of %(instrument)s from %(before)s to %(when)s.",
          before=local_range(*before, booker.timezone), **_about(booking, booker))))


def local_range(start, end, timezone: str) -> str:
    return f"{to_local(start, timezone):%Y-%m-%d %H:%M}–{to_local(end, timezone):%H:%M}"


def notify_booking_expired(booking: Booking) -> None:
    booker = booking.user
    notify(booker, "booking.expired", link=_page_of(booking), compose=lambda: (
        _("Booking request expired"),
        _("Your request for %(instrument)s on %(when)s was not decided in time and has "
          "expired.", **_about(booking, booker))))


def notify_booking_reminder(booking: Booking) -> None:
    """The booking starts soon (24 hours or 1 hour ahead, as the booker chose)."""
    booker = booking.user
    location = booking.instrument.display_location(booker.locale)

    def compose():
        about = _about(booking, booker)
        lines = [_("Your booking of %(instrument)s starts on %(when)s.", **about)]
        if location:
            lines.append(_("Where: %(location)s", location=location))
        lines.append(_("If you cannot come, cancel it under My bookings: %(url)s",
                       url=external_url("bookings.mine")))
        return _("Reminder: %(instrument)s on %(when)s", **about), "\n".join(lines)

    notify(booker, "booking.reminder", compose, link=_page_of(booking))


# --- to the lab ---------------------------------------------------------------------------------
def notify_booking_requested(booking: Booking) -> None:
    deliver(booking_requested_notices(booking))


def booking_requested_notices(booking) -> list[Notice]:
    """A request waits for approval: every manager of the instrument's organisation.
    `booking`: a Booking, or what one will be (instrument, user, start_at, end_at)."""
    queue = site_path("bookings.queue")
    return [compose_notice(manager, "booking.pending", lambda manager=manager: (
        _("New booking request"),
        _("%(requester)s asked for %(instrument)s on %(when)s.",
          requester=booking.user.name, **_about(booking, manager))), queue)
        for manager in lab_managers(booking.instrument.organisation_id)]


def notify_training_requested(request: TrainingRequest) -> None:
    instrument, requester = request.instrument, request.user
    for manager in lab_managers(instrument.organisation_id):
        notify(manager, "training.requested", lambda manager=manager: (
            _("Training requested"),
            _("%(requester)s asks to be trained on %(instrument)s.",
              instrument=instrument.display_name(manager.locale), requester=requester.name)))


# --- qualifications and training -----------------------------------------------------------------
def notify_qualification_granted(user: User, instrument: Instrument) -> None:
    notify(user, "qualification.granted", lambda: (
        _("Qualification granted"),
        _("You may now operate %(instrument)s yourself.",
          instrument=instrument.display_name(user.locale))))


def notify_qualification_revoked(qualification: Qualification) -> None:
    user, instrument = qualification.user, qualification.instrument
    notify(user, "qualification.revoked", lambda: (
        _("Qualification withdrawn"),
        _("Your qualification for %(instrument)s was withdrawn.",
          instrument=instrument.display_name(user.locale))))


def notify_training_declined(request: TrainingRequest, reason: str) -> None:
    user = request.user
    notify(user, "training.declined", lambda: (
        _("Training request declined"),
        _("Your training request for %(instrument)s was declined: %(reason)s",
          instrument=request.instrument.display_name(user.locale), reason=reason)))


# --- recurring series: one message for the whole series -------------------------------------------
def _about_series(series, bookings: list[Booking], user: User) -> dict:
    """The series as `user` reads it: instrument, rule, how many, first and last slot."""
    first, last = bookings[0], bookings[-1]
    return {"instrument": series.instrument.display_name(user.locale),
            "rule": repeat_label(series.repeat), "count": len(bookings),
            "first": local_range(first.start_at, first.end_at, user.timezone),
            "last": local_range(last.start_at, last.end_at, user.timezone),
            "timezone": user.timezone}


def notify_series_approved(series, bookings: list[Booking]) -> None:
    """A series on an instrument that needs no approval: confirmed at once."""
    booker = series.user
    notify(booker, "booking.approved", link=_my_bookings(), compose=lambda: (
        _("Booking series confirmed"),
        _("Your %(count)d bookings of %(instrument)s (%(rule)s) are confirmed: from "
          "%(first)s to %(last)s (%(timezone)s).", **_about_series(series, bookings, booker))))


def notify_series_requested(series, bookings: list[Booking]) -> None:
    """A series waits for approval: every manager of the instrument's organisation, once."""
    for manager in lab_managers(series.instrument.organisation_id):
        def compose(manager=manager):
            return (_("New booking series request"),
                    _("%(requester)s asked for %(count)d bookings of %(instrument)s (%(rule)s), "
                      "from %(first)s to %(last)s (%(timezone)s).", requester=series.user.name,
                      **_about_series(series, bookings, manager)))

        notify(manager, "booking.pending", compose, link=site_path("bookings.queue"))


def notify_series_decided(series, bookings: list[Booking], *, approved: bool) -> None:
    """The lab approved or rejected the pending occurrences of a series as one."""
    booker = series.user
    if approved:
        notify(booker, "booking.approved", link=_my_bookings(), compose=lambda: (
            _("Booking series approved"),
            _("%(count)d bookings of %(instrument)s (%(rule)s) are approved: from %(first)s "
              "to %(last)s (%(timezone)s).", **_about_series(series, bookings, booker))))
    else:
        notify(booker, "booking.rejected", link=_my_bookings(), compose=lambda: (
            _("Booking series declined"),
            _("%(count)d requested bookings of %(instrument)s (%(rule)s), from %(first)s to "
              "%(last)s (%(timezone)s), were declined: %(reason)s",
              reason=bookings[0].decision_reason, **_about_series(series, bookings, booker))))


def notify_series_expired(series, bookings: list[Booking]) -> None:
    """Requests of a series left undecided past the approval timeout: told once for all."""
    booker = series.user
    notify(booker, "booking.expired", link=_my_bookings(), compose=lambda: (
        _("Booking series requests expired"),
        _("%(count)d requested bookings of %(instrument)s (%(rule)s), from %(first)s to "
          "%(last)s (%(timezone)s), were not decided in time and have expired.",
          **_about_series(series, bookings, booker))))
