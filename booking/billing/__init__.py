"""Pricing, invoices and payments."""


def connect_signals() -> None:
    """Wire billing's receivers to other areas' signals (the app factory calls it, nothing
    is connected on import): a booking is invoiced when its session closes, without metering
    importing billing."""
    from booking.billing.dunning import answer_booking_checking
    from booking.billing.facts import answer_no_shows_charged, answer_sessions_charged
    from booking.billing.invoicing import invoice_completed_booking
    from booking.billing.rate_changes import answer_rates_changed
    from booking.bookings.signals import booking_checking
    from booking.instruments.services import rates_changed
    from booking.metering.services import no_shows_charged, session_closed, sessions_charged

    session_closed.connect(invoice_completed_booking)
    # a charged session is not corrected (the correction would be charged a second time)
    sessions_charged.connect(answer_sessions_charged)
    # a use recorded over a no-show already charged: the lab is told to have it credited
    no_shows_charged.connect(answer_no_shows_charged)
    # a customer with invoices overdue beyond the provider's limit may not book
    booking_checking.connect(answer_booking_checking)
    # a rate to come changes the estimates of bookings to come: their bookers are told
    rates_changed.connect(answer_rates_changed)
