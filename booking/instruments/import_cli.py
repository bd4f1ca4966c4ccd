"""`flask instruments import FILE --org CODE`: an asset spreadsheet into the catalogue, the
same rules as the web page, with a progress bar."""
import click
from flask.cli import AppGroup

from booking.extensions import db

instruments_cli = AppGroup("instruments", help="Instrument lists.")


@instruments_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_ref", required=True, help="organisation id or credit code")
@click.option("--dry-run", is_flag=True, help="check every row and write nothing")
@click.option("--skip-invalid", is_flag=True,
              help="import the valid rows and skip rows with problems (else all or nothing)")
def import_command(path, org_ref, dry_run, skip_invalid):
    """Import an instrument list (XLSX or CSV); re-importing updates by 资产编号."""
    import os

    from booking.accounts.services import get_organisation_by_ref
    from booking.instruments import importing

    organisation = get_organisation_by_ref(org_ref)
    if organisation is None:
        raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
    with open(path, "rb") as file:
        data = file.read(importing.MAX_FILE_BYTES + 1)
    try:
        rows = importing.read_table(data, path)
    except importing.UnreadableFile as exc:
        raise click.ClickException(str(exc)) from exc
    with click.progressbar(length=max(len(rows) - 1, 1), label="Checking and importing") as bar:
        result = importing.import_instruments(
            organisation, rows, None, dry_run=dry_run, skip_invalid=skip_invalid,
            source=os.path.basename(path), progress=bar.update)
    for problem in result.problems:
        where = f"row {problem.row}" if problem.row else "file"
        column = f", {problem.column}" if problem.column else ""
        click.echo(f"  {where}{column}: {problem.problem.text()}", err=True)
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
