"""`flask instruments import FILE --org CODE`: an asset spreadsheet into the catalogue, the
same rules as the web page, with a progress bar; `flask instruments reindex`: the directory's
search entries written anew."""
import click
from flask.cli import AppGroup
from flask_babel import force_locale

from booking.extensions import db

instruments_cli = AppGroup("instruments", help="Instrument lists.")


@instruments_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_ref", required=True, help="organisation id or credit code")
@click.option("--by", "actor_email", help="the e-mail of the person importing, whom the audit "
              "trail names (a lab manager of the organisation or bureau staff)")
@click.option("--dry-run", is_flag=True, help="check every row and write nothing")
@click.option("--skip-invalid", is_flag=True,
              help="import the valid rows and skip rows with problems (else all or nothing)")
def import_command(path, org_ref, actor_email, dry_run, skip_invalid):
    """Import an instrument list (XLSX or CSV); re-importing updates by 资产编号. Speaks
    English, as the other commands do."""
    with force_locale("en"):
        _import(path, org_ref, actor_email, dry_run, skip_invalid)


def _import(path, org_ref, actor_email, dry_run, skip_invalid):
    import os

    from booking.accounts.services import get_organisation_by_ref, get_user_by_email
    from booking.instruments import importing

    organisation = get_organisation_by_ref(org_ref)
    if organisation is None:
        raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
    if (refused := importing.owner_problem(organisation)) is not None:
        raise click.ClickException(refused.text())
    actor = get_user_by_email(actor_email) if actor_email else None
    if actor_email and (actor is None or not importing.can_import(actor, organisation)):
        raise click.ClickException(f"{actor_email} may not import into {organisation.name_zh}")
    with open(path, "rb") as file:
        data = file.read(importing.MAX_FILE_BYTES + 1)
    try:
        rows = importing.read_table(data, path)
    except importing.UnreadableFile as exc:
        raise click.ClickException(exc.problem.text()) from exc
    label = "Checking" if dry_run else "Checking and importing"
    with click.progressbar(length=max(len(rows) - 1, 1), label=label) as bar:
        result = importing.import_instruments(
            organisation, rows, actor, dry_run=dry_run, skip_invalid=skip_invalid,
            source=os.path.basename(path), via="cli", progress=bar.update)
    _report(result)
    summary = (f"{result.rows} rows: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged, {result.skipped} with problems")
    if result.written:
        db.session.commit()
        click.echo(f"imported into {organisation.name_zh}. {summary}")
    elif dry_run:
        db.session.rollback()
        click.echo(f"dry run, nothing written. {summary}")
    else:
        db.session.rollback()
        raise click.ClickException(f"nothing imported (fix the rows or use --skip-invalid). "
                                   f"{summary}")


def _report(result) -> None:
    """What the web page shows beside the counts: problems, columns not read, what changes,
    and rates left as the lab set them."""
    for problem in result.problems:
        where = f"row {problem.row}" if problem.row else "file"
        column = f", {problem.column}" if problem.column else ""
        click.echo(f"  {where}{column}: {problem.problem.text()}", err=True)
    if result.ignored_columns:
        click.echo(f"  columns not read: {', '.join(result.ignored_columns)}", err=True)
    for row, asset, columns in result.changes:
        click.echo(f"  row {row}, {asset}: changes {', '.join(columns)}")
    for row, asset in result.rates_kept:
        click.echo(f"  row {row}, {asset}: keeps the rates set in the lab console (the "
                   f"list's fee applies to instruments without rates)")


@instruments_cli.command("reindex")
def reindex_command():
    """Write every instrument's directory search entry anew (after an upgrade that changes
    what search finds: the release notes say when)."""
    from booking.instruments.search_index import reindex_all

    count = reindex_all()
    db.session.commit()
    click.echo(f"instruments reindexed: {count}")
