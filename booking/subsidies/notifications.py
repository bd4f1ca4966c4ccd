"""What applicants are told about their vouchers, in the applicant's locale (not the deciding
bureau user's), queued in the same transaction."""
from flask_babel import gettext as _

from booking.accounts.models import User
from booking.accounts.services import role_holders
from booking.core.money import format_cny
from booking.core.notifications import notify
from booking.core.security import site_path
from booking.subsidies.models import Redemption, Reimbursement, Voucher
from booking.subsidies.rules import percent


def _mine() -> str:
    return site_path("subsidies.my_vouchers")


def notify_approved(voucher: Voucher) -> None:
    notify(voucher.applicant, "voucher.decided", link=_mine(), compose=lambda: (
        _("Your innovation voucher was approved"),
        _("Voucher %(id)s: %(amount)s at %(rate)s%% until the end of %(year)s.",
          id=voucher.id, amount=format_cny(voucher.face_value_fen), rate=percent(voucher.rate),
          year=voucher.year) + ("\n" + _("Less than the %(asked)s applied for: %(reason)s",
                                          asked=format_cny(voucher.requested_fen),
                                          reason=voucher.decision_reason)
                                if voucher.decision_reason else "")))


def notify_rejected(voucher: Voucher) -> None:
    notify(voucher.applicant, "voucher.decided", link=_mine(), compose=lambda: (
        _("Your innovation voucher application was rejected"),
        _("Voucher application %(id)s was rejected: %(reason)s", id=voucher.id,
          reason=voucher.decision_reason)))


def notify_lapsed(voucher: Voucher) -> None:
    notify(voucher.applicant, "voucher.lapsed", link=_mine(), compose=lambda: (
        _("Your innovation voucher application has lapsed"),
        _("Voucher application %(id)s was still undecided when %(year)s ended: a year's "
          "quota cannot be granted in the next year. You may apply again under this year's "
          "policy.", id=voucher.id, year=voucher.year)))


def notify_applied(user: User, voucher: Voucher) -> None:
    """A bureau staff member: an application waits for review (they may turn these mails off
    with the rest of their waiting work; the inbox keeps them)."""
    notify(user, "voucher.applied", link=site_path("subsidies.queue"), compose=lambda: (
        _("Voucher application from %(enterprise)s",
          enterprise=voucher.enterprise.display_name(user.locale)),
        _("%(enterprise)s applied for %(amount)s (application #%(id)s): %(project)s",
          enterprise=voucher.enterprise.display_name(user.locale),
          amount=format_cny(voucher.requested_fen), id=voucher.id, project=voucher.project)))


def notify_overdue(user: User, vouchers: list[Voucher]) -> None:
    """A bureau staff member's reminder of the applications past their review deadline."""
    notify(user, "voucher.overdue", link=site_path("subsidies.queue"), compose=lambda: (
        _("%(n)s voucher application(s) waiting past the review deadline", n=len(vouchers)),
        "\n".join([_("Answer these applications in the review queue:")] +
                   [f"- #{v.id} {v.enterprise.display_name(user.locale)} "
                    f"({format_cny(v.requested_fen)})" for v in vouchers])))


def notify_clawed_back(claim: Redemption, amount_fen: int, invoice_number: str,
                       reason: str) -> None:
    """The provider's finance office: a voucher share it was owed (`amount_fen`: as credit
    notes left it) is taken back from its next statement, and why (it heard nothing, and found
    the amount missing)."""
    for user in role_holders("finance", claim.provider_id):
        notify(user, "voucher.clawed_back", lambda: (
            _("A voucher share was clawed back: %(amount)s", amount=format_cny(amount_fen)),
            _("The bureau clawed back the voucher share of invoice %(invoice)s (%(amount)s): "
              "%(reason)s\nIt is taken off your next reimbursement statement.",
              invoice=invoice_number, amount=format_cny(amount_fen), reason=reason)))


def _statement_link(statement: Reimbursement) -> str:
    return site_path("subsidies.provider_statements", org=statement.provider_id,
                     year=statement.period[:4])


def notify_statement_built(statement: Reimbursement) -> None:
    """The provider's finance office: the bureau built (or completed) its quarter's statement,
    what it will pay and what for (it had to look at its page to learn of it)."""
    for user in role_holders("finance", statement.provider_id):
        notify(user, "reimbursement.built", link=_statement_link(statement), compose=lambda: (
            _("Voucher reimbursement statement %(quarter)s: %(total)s",
              quarter=statement.period, total=format_cny(statement.total_fen)),
            _("The bureau's statement of %(quarter)s for the voucher shares of your paid "
              "invoices: %(count)s share(s), %(amount)s; provider reward %(reward)s. The bureau "
              "is to pay you %(total)s.", quarter=statement.period,
              count=statement.redemption_count, amount=format_cny(statement.amount_fen),
              reward=format_cny(statement.net_reward_fen),
              total=format_cny(statement.total_fen))))


def notify_statement_paid(statement: Reimbursement) -> None:
    """The provider's finance office: the bureau paid the statement, with the transfer's
    reference to match the bank receipt to."""
    for user in role_holders("finance", statement.provider_id):
        notify(user, "reimbursement.paid", link=_statement_link(statement), compose=lambda: (
            _("Voucher reimbursement %(quarter)s paid: %(total)s", quarter=statement.period,
              total=format_cny(statement.total_fen)),
            _("The bureau paid your statement of %(quarter)s, %(total)s (payment reference "
              "%(reference)s). Match it with your bank receipt.", quarter=statement.period,
              total=format_cny(statement.total_fen), reference=statement.payment_reference)))
