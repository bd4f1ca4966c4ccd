"""Flask CLI commands. Thin: each parses options and calls one service."""
import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import update

from booking.core.clock import now_utc
from booking.core.db import analyze
from booking.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
demo_cli = AppGroup("demo", help="Demo data (development only).")
notify_cli = AppGroup("notify", help="Notifications and reminders.")
vouchers_cli = AppGroup("vouchers", help="Innovation vouchers.")
subsidies_cli = AppGroup("subsidies", help="Voucher reimbursement to providers.")
bookings_cli = AppGroup("bookings", help="Booking housekeeping.")
billing_cli = AppGroup("billing", help="Invoices.")
usage_cli = AppGroup("usage", help="Usage sessions (metering).")
rankings_cli = AppGroup("rankings", help="Sharing rankings of institutions.")
groups_cli = AppGroup("groups", help="Research groups and their projects.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", "roles", required=True, multiple=True,
              type=click.Choice(["member", "student", "lab_manager", "finance", "bureau_staff",
                                 "admin"]))
@click.option("--org", "org_ref", default=None,
              help="organisation id or credit code (default: the platform's bureau, if only one)")
@click.option("--name", default=None, help="display name (defaults to the e-mail's local part)")
def create_user_command(email, password, roles, org_ref, name):
    """Create a user with one or more roles in an organisation."""
    from booking.accounts import services
    from booking.accounts.rules import password_problems

    if org_ref is None:
        organisation = services.sole_bureau()
        if organisation is None:
            raise click.ClickException("give --org: there is not exactly one bureau")
    else:
        organisation = services.get_organisation_by_ref(org_ref)
        if organisation is None:
            raise click.ClickException(f"no organisation with id or credit code {org_ref!r}")
    problems = password_problems(password, email)
    if problems:
        raise click.ClickException("password too weak: " + "; ".join(p.message for p in problems))
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
@click.option("--scale", type=click.Choice(["small", "city", "province"]), default="small",
              show_default=True, help="city: 200 instruments; province: also 500 institutions "
              "with 20,000 instruments")
@click.option("--if-empty", is_flag=True, help="do nothing when the database already has users")
def seed_command(scale, if_empty):
    """Seed demo organisations and accounts (password demo-pass-2026). Idempotent."""
    if not current_app.config.get("DEMO_SEED_ALLOWED"):
        raise click.ClickException("demo seed refuses to run with the production config")
    from booking import DEMO_AREAS, area_modules
    from booking.accounts.demo import ACCOUNTS, DEMO_PASSWORD
    from booking.accounts.models import User

    if if_empty and db.session.query(User.id).first() is not None:
        click.echo("database already has data: demo seed skipped")
    else:
        for module in area_modules("demo", DEMO_AREAS):
            started = time.perf_counter()
            module.seed(scale)
            analyze(db.session)  # what was loaded, for the next area's queries
            db.session.commit()
            click.echo(f"{module.__name__.split('.')[1]}: {time.perf_counter() - started:.1f} s")
        _settle_seeded_mail()
    click.echo(f"demo data ready ({scale}). Log in with any of these, password {DEMO_PASSWORD}:")
    for email, (_name, _org, roles) in ACCOUNTS.items():
        click.echo(f"  {email:28} {', '.join(roles)}")


def _settle_seeded_mail() -> None:
    """The messages the seed's year of history queued (invoices, reminders) are that past,
    not mail to send now: marked sent, so a session's first real message (an invitation) is
    not queued behind hundreds of them. Their inbox notices stay."""
    from booking.core.notifications import OutboxMessage

    db.session.execute(update(OutboxMessage).where(OutboxMessage.sent_at.is_(None)).values(
        sent_at=now_utc(), transport="demo"))
    db.session.commit()


@billing_cli.command("close")
@click.option("--month", required=True, help="YYYY-MM (local time of Asia/Shanghai)")
def billing_close_command(month):
    """Invoice the month's uncharged usage, penalties and samples (idempotent, one
    transaction), and e-mail each customer their invoice (the outbox; `notify send` sends what
    is left)."""
    from booking.billing import close
    from booking.core.clock import now_utc, parse_period
    from booking.core.notifications import commit

    try:
        period = parse_period(month, "month")
    except ValueError as exc:
        raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from exc
    if period.end > now_utc():  # its use is still being recorded (as the finance page says)
        raise click.BadParameter(f"{month} has not ended", param_hint="--month")
    facts = close.month_facts(month)
    with click.progressbar(length=len(facts), label=f"Pricing {month}") as bar:
        result = close.close_month(month, facts, progress=bar.update)
    commit()
    click.echo(f"{month}: {result.invoices} invoices, {result.lines} charges, "
               f"amount due {result.amount_fen / 100:.2f} CNY")


@billing_cli.command("dunning")
def billing_dunning_command():
    """Remind customers of unpaid invoices at the due date, +14 and +30 days (daily cron;
    each reminder goes once)."""
    from booking.billing.dunning import send_reminders
    from booking.core.notifications import commit

    sent = send_reminders()
    commit()
    click.echo(f"{sent} payment reminders queued")


@groups_cli.command("digest")
@click.option("--month", help="YYYY-MM (local time of Asia/Shanghai); the last month if omitted")
def groups_digest_command(month):
    """Tell each PI what their projects were charged and credited in the month and where
    their budgets stand (monthly cron, after `billing close`; each PI once per month)."""
    from booking.billing.project_digests import send_month_digests
    from booking.core.clock import local_today, month_period, parse_period
    from booking.core.notifications import commit

    try:
        period = parse_period(month, "month") if month else \
            month_period(*local_today().timetuple()[:2]).previous()
    except ValueError as exc:
        raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from exc
    if period.end > now_utc():
        raise click.BadParameter(f"{period.label} has not ended", param_hint="--month")
    told = send_month_digests(period)
    commit()
    click.echo(f"{period.label}: {told} PI(s) told")


@usage_cli.command("mark-no-shows")
def mark_no_shows_command():
    """Approved bookings with no usage session by their end plus grace become no-shows."""
    from booking.core.notifications import commit
    from booking.metering import services

    count = services.mark_no_shows()
    commit()  # and send the bookers' notices
    click.echo(f"{count} bookings marked no-show")


@bookings_cli.command("expire")
def expire_bookings_command():
    """Expire pending requests left undecided past their instrument's approval timeout, and
    wait-list offers not taken in time (their time goes to the next in line); remind PIs of
    members' requests waiting for them, and lapse those past the PI's deadline."""
    from booking.bookings import waitlist
    from booking.bookings.requests import expire_pending
    from booking.core.notifications import commit
    from booking.groups.services import lapse_and_remind

    count = expire_pending()
    lapsed = waitlist.lapse()
    pi_lapsed, pi_reminded = lapse_and_remind()
    commit()
    click.echo(f"expired {count} pending booking request(s), {lapsed} wait-list entr(y/ies); "
               f"{pi_lapsed} PI approval(s) lapsed, {pi_reminded} PI(s) reminded")


@vouchers_cli.command("expire")
def expire_vouchers_command():
    """Expire vouchers past their validity (and undecided applications of past years)."""
    from booking.subsidies.services import expire_vouchers

    count = expire_vouchers()
    db.session.commit()
    click.echo(f"{count} voucher(s) expired")


@vouchers_cli.command("remind")
def remind_vouchers_command():
    """E-mail bureau staff the applications still undecided past the review deadline."""
    from booking.subsidies.services import remind_overdue

    count = remind_overdue()
    db.session.commit()
    click.echo(f"{count} application(s) overdue")


@rankings_cli.command("compute")
@click.option("--period", required=True, help="YYYY or YYYYQn, e.g. 2026Q3")
@click.option("--publish", is_flag=True, help="publish the snapshot (it never changes after)")
def rankings_compute_command(period, publish):
    """Compute a period's ranking with the current policy and store the snapshot."""
    from booking.rankings import services

    def progress(step):
        click.echo(f"  {step} ... done")

    click.echo(f"computing the ranking of {period}")
    try:
        snapshot = services.compute_snapshot(period, progress=progress)
        if publish:
            services.publish_snapshot(snapshot, None)
    except services.RankingError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{snapshot.period}: {len(snapshot.rows)} institutions ranked with policy "
               f"v{snapshot.policy_version}" + (", published" if publish else ", not published"))
    for row in snapshot.rows[:10]:
        click.echo(f"  {row['rank']:>3}  {row['score']:6.2f}  {row['grade']:9}  {row['org_name']}")


@notify_cli.command("reminders")
def notify_reminders_command():
    """Remind bookers of their approved bookings 24 h and/or 1 h before they start (as each
    chose; once per booking and horizon: run it every few minutes), and lab managers of
    instruments not reviewed for 180 days (at most once a day). Links in the e-mails are
    built on PUBLIC_BASE_URL."""
    from booking.bookings.reminders import send_booking_reminders
    from booking.core.notifications import commit
    from booking.core.security import external_url
    from booking.instruments.services import queue_stale_reminders

    bookings = send_booking_reminders()
    count = queue_stale_reminders(external_url("instruments.manage"))
    commit()
    click.echo(f"queued {bookings} reminder(s) of bookings starting soon")
    click.echo(f"queued {count} reminder(s) about stale instruments")


@notify_cli.command("send")
def notify_send_command():
    """Send the outbox messages not sent yet (retries those that failed; for cron)."""
    from booking.core.notifications import send_pending

    click.echo(f"sent {send_pending(limit=10_000)} message(s)")


@subsidies_cli.command("reimburse")
@click.option("--quarter", required=True, help="YYYYQn, e.g. 2026Q2")
def reimburse_command(quarter):
    """Build the quarter's reimbursement statements per provider (idempotent)."""
    from booking.core.notifications import commit
    from booking.subsidies.reimbursements import ReimbursementError, reimburse

    try:
        touched = reimburse(quarter)
    except ReimbursementError as exc:
        raise click.ClickException(str(exc)) from exc
    commit()  # and send the providers' notices
    for statement in touched:
        click.echo(f"{statement.period} {statement.provider.name_zh}: "
                   f"{statement.redemption_count} entries, {statement.amount_fen} fen "
                   f"+ reward {statement.net_reward_fen} fen")
    click.echo(f"{len(touched)} statement(s) built or completed")


def register_cli(app):
    from booking.admin.cli import orgs_cli
    from booking.identity.cli import sso_cli
    from booking.instruments.import_cli import instruments_cli
    from booking.reports.cli import reports_cli

    app.cli.add_command(orgs_cli)
    app.cli.add_command(instruments_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(sso_cli)
    app.cli.add_command(notify_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(vouchers_cli)
    app.cli.add_command(subsidies_cli)
    app.cli.add_command(bookings_cli)
    app.cli.add_command(billing_cli)
    app.cli.add_command(usage_cli)
    app.cli.add_command(rankings_cli)
    app.cli.add_command(groups_cli)
