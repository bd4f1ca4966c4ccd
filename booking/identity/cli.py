"""`flask sso …`: campus sign-on housekeeping (thin: each command calls one service)."""
import click
from flask.cli import AppGroup

sso_cli = AppGroup("sso", help="Campus sign-on (CAS, OpenID Connect, LDAP).")


@sso_cli.command("sync")
@click.option("--org", "org_ref", required=True, help="organisation id or credit code")
def sync_command(org_ref):
    """Deactivate the organisation's people who have left its LDAP directory (their future
    bookings are cancelled with a notice). For cron, e.g. nightly."""
    from booking.accounts.services import get_organisation_by_ref
    from booking.core.notifications import commit
    from booking.identity import services
    from booking.identity.assertion import SignOnRefused

    organisation = get_organisation_by_ref(org_ref)
    if organisation is None:
        raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
    provider = services.provider_of_organisation(organisation)
    if provider is None:
        raise click.ClickException(f"{organisation.name_zh} has no sign-in provider")
    try:
        result = services.sync_leavers(provider)
    except SignOnRefused as exc:
        raise click.ClickException(str(exc)) from exc
    commit()
    click.echo(f"{organisation.name_zh}: {result.checked} linked people checked, "
               f"{result.deactivated} deactivated, {result.bookings_cancelled} future "
               f"booking(s) cancelled")
