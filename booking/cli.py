"""Flask CLI commands. Thin: each parses options and calls one service."""
import click
from flask import current_app
from flask.cli import AppGroup

from booking.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
demo_cli = AppGroup("demo", help="Demo data (development only).")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", "roles", required=True, multiple=True,
              type=click.Choice(["member", "student", "lab_manager", "finance", "bureau_staff",
                                 "admin"]))
@click.option("--org", "org_ref", required=True, help="organisation id or credit code")
@click.option("--name", default=None, help="display name (defaults to the e-mail's local part)")
def create_user_command(email, password, roles, org_ref, name):
    """Create a user with one or more roles in an organisation."""
    from booking.accounts import services
    from booking.accounts.rules import password_problems

    organisation = services.get_organisation_by_ref(org_ref)
    if organisation is None:
        raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException("password too weak: " + "; ".join(problems))
    try:
        user = services.create_user(email=email, password=password,
                                    name=name or email.split("@")[0],
                                    organisation=organisation, roles=roles)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created user {user.id} <{user.email}> roles={','.join(roles)} "
               f"in {organisation.name_zh}")


@demo_cli.command("seed")
@click.option("--scale", type=click.Choice(["small"]), default="small", show_default=True)
@click.option("--if-empty", is_flag=True, help="do nothing when the database already has users")
def seed_command(scale, if_empty):
    """Seed demo organisations and accounts (password demo-pass-2026). Idempotent."""
    if not current_app.config.get("DEMO_SEED_ALLOWED"):
        raise click.ClickException("demo seed refuses to run with the production config")
    from booking.accounts.demo import ACCOUNTS, DEMO_PASSWORD
    from booking.accounts.models import User

    from booking import area_modules

    if if_empty and db.session.query(User.id).first() is not None:
        click.echo("database already has data: demo seed skipped")
    else:
        for module in area_modules("demo"):
            module.seed(scale)
            db.session.commit()
    click.echo(f"demo data ready ({scale}). Log in with any of these, password {DEMO_PASSWORD}:")
    for email, (_name, _org, roles) in ACCOUNTS.items():
        click.echo(f"  {email:28} {', '.join(roles)}")


def register_cli(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
