"""Instruments, rate cards, opening hours, blackouts, qualifications and the public directory."""


def connect_signals() -> None:
    from booking.accounts.signals import organisation_deactivated, organisation_renamed
    from booking.instruments.search_index import reindex_organisation
    from booking.instruments.services import withdraw_organisation

    organisation_deactivated.connect(withdraw_organisation)
    organisation_renamed.connect(reindex_organisation)
