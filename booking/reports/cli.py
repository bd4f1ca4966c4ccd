"""`flask reports …`: the national platform's annual report and the bureau's bulletins."""
import click
from flask.cli import AppGroup

reports_cli = AppGroup("reports", help="National-platform report and bulletins.")


@reports_cli.command("nrii")
@click.option("--year", required=True, type=click.IntRange(2000, 2999))
@click.option("--org", "org_ref", default=None, help="one organisation (id or credit code)")
@click.option("--region", default="", help="a region code (e.g. 2102); default: everything")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx",
              show_default=True)
@click.option("--out", "path", default=None, help="file to write (default: nrii-<year>-….<fmt>)")
def nrii_command(year, org_ref, region, fmt, path):
    """Write the annual per-instrument report for the national platform."""
    from booking.accounts.services import get_organisation_by_ref
    from booking.core import tables
    from booking.core.clock import year_period
    from booking.reports import annual

    scope = annual.Scope(region_code=region.strip())
    if org_ref:
        organisation = get_organisation_by_ref(org_ref)
        if organisation is None:
            raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
        scope.organisation_id = organisation.id
    period = year_period(year)
    rows = annual.rows(period, scope)
    body = tables.csv_bytes(annual.HEADER, rows) if fmt == "csv" else \
        tables.xlsx_bytes(period.label, annual.HEADER, rows, freeze="C2")
    path = path or f"{annual.file_name(period, scope)}.{fmt}"
    with open(path, "wb") as file:
        file.write(body)
    click.echo(f"{len(rows)} instrument(s) written to {path}")


@reports_cli.command("bulletin")
@click.option("--period", required=True, help="YYYY-MM (monthly) or YYYYQn (quarterly)")
@click.option("--out", "path", default=None, help="PDF to write (default: bulletin-<period>.pdf)")
def bulletin_command(period, path):
    """Write the bureau's bulletin for a month or quarter as a PDF."""
    from booking.core.clock import PeriodError, parse_period
    from booking.reports import bulletin, pdf

    try:
        parsed = parse_period(period, "month", "quarter")
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc
    lines, total = bulletin.bulletin(parsed)
    kind = "月度" if parsed.kind == "month" else "季度"
    body = pdf.bulletin_pdf(f"大型科研仪器开放共享{kind}通报 {parsed.label}", parsed.label,
                            parsed.previous().label, lines, total)
    path = path or f"bulletin-{parsed.label}.pdf"
    with open(path, "wb") as file:
        file.write(body)
    click.echo(f"{len(lines)} institution(s); written to {path}")
