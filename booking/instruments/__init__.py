"""Instruments, rate cards, opening hours, blackouts, qualifications and the public directory."""


def connect_signals() -> None:
    from booking.accounts.signals import organisation_deactivated
    from booking.instruments.services import withdraw_organisation

    organisation_deactivated.connect(withdraw_organisation)
