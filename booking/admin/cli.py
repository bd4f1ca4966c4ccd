"""`flask orgs …`: organisations from the command line, so a new deployment can bootstrap its
first organisation and admin from an empty database (see the README)."""
import click
from flask.cli import AppGroup

from booking.accounts.rules import ORG_KINDS
from booking.extensions import db

orgs_cli = AppGroup("orgs", help="Organisations (universities, institutes, the bureau, ...).")


@orgs_cli.command("create")
@click.option("--kind", required=True, type=click.Choice(ORG_KINDS))
@click.option("--name-zh", required=True, help="Chinese name, e.g. 大连理工大学")
@click.option("--name-en", default="", help="English name")
@click.option("--credit-code", required=True, help="unified social credit code (18 characters)")
@click.option("--city", required=True, help="e.g. 大连")
@click.option("--region", "region_code", default="",
              help="administrative division code (taken from the city for Liaoning cities)")
@click.option("--short-code", default="", help="invoice number prefix, e.g. DLUT")
def create_org_command(kind, name_zh, name_en, credit_code, city, region_code, short_code):
    """Create a verified organisation."""
    from booking.admin import services

    try:
        organisation = services.create_organisation(
            {"kind": kind, "name_zh": name_zh, "name_en": name_en, "credit_code": credit_code,
             "city": city, "region_code": region_code, "short_code": short_code.upper()},
            actor=None)
    except services.ConsoleError as refused:
        raise click.ClickException("; ".join(refused.texts())) from refused
    db.session.commit()
    click.echo(f"created organisation {organisation.id} {organisation.name_zh} "
               f"({organisation.kind}, {organisation.credit_code}, region "
               f"{organisation.region_code})")


@orgs_cli.command("list")
def list_orgs_command():
    """List the organisations."""
    from sqlalchemy import select

    from booking.accounts.models import Organisation

    for o in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        state = "active" if o.active else "deactivated"
        click.echo(f"{o.id:>5}  {o.credit_code}  {o.kind:10} {state:11} {o.name_zh}")
