"""What PIs and members are told. Each message is composed in its recipient's locale and
queued in the same transaction (sent after the commit)."""
from flask_babel import gettext as _
from flask_babel import ngettext

from booking.core.money import format_cny
from booking.core.notifications import compose_notice, deliver, notify
from booking.core.security import external_url, site_path
from booking.core.web import current_locale, sentences


def notify_invited(member) -> None:
    notify(member.user, "group.invited", link=site_path("groups.index"), compose=lambda: (
        _("Invitation to a research group"),
        _("%(pi)s invites you to join the research group %(group)s. Accept on your groups "
          "page:", pi=member.group.pi.name, group=member.group.name)
        + " " + external_url("groups.index")))


def notify_join_requested(member) -> None:
    group = member.group
    notify(group.pi, "group.join_requested", link=site_path("groups.detail", group_id=group.id),
           compose=lambda: (
               _("Request to join %(group)s", group=group.name),
               _("%(user)s asks to join the research group %(group)s:", user=member.user.name,
                 group=group.name)
               + " " + external_url("groups.detail", group_id=group.id)))


def notify_pi_asked(approval, reminder: bool = False) -> None:
    """The PI's e-mail carries signed one-time links to approve or reject (no sign-in)."""
    from booking.groups.services import decision_token

    summary = approval.summary or {}
    approve = external_url("groups.decide_by_link", token=decision_token(approval, "approve"))
    reject = external_url("groups.decide_by_link", token=decision_token(approval, "reject"))

    def compose_request():
        subject = (_("Reminder: a request waits for your approval") if reminder
                   else _("A request waits for your approval"))
        body = _("%(user)s asks to book %(instrument)s on %(when)s, charged to %(project)s "
                 "(estimated fee %(fee)s).", user=approval.requester.name,
                 instrument=approval.instrument_in(approval.pi.locale),
                 when=summary.get("when", ""),
                 project=approval.project.label if approval.project else "",
                 fee=format_cny(approval.fee_fen))
        body = sentences(
            body,
            _("It would exceed the project's remaining budget.") if approval.over_budget else "",
            _("It would exceed one of the project's limits.") if summary.get("over_limit")
            else "")
        if summary.get("purpose"):  # the booker's words, on a line of their own: they may
            body += "\n" + _("Purpose: %(purpose)s", purpose=summary["purpose"])  # end bare
        return subject, body

    def compose_mail():
        subject, body = compose_request()
        # the links stay outside the translated text: no translation can lose them
        colon = "：" if current_locale() == "zh_CN" else ": "
        return subject, body + f"\n\n{_('Approve')}{colon}{approve}\n{_('Reject')}{colon}{reject}"

    approvals = site_path("groups.approvals")
    # the e-mail's links decide without signing in, so it is never kept in the inbox; the
    # inbox keeps the request without them, linking to the approvals page
    in_inbox = compose_notice(approval.pi, "group.pi_waiting", compose_request, approvals)
    in_inbox.email = False
    deliver([compose_notice(approval.pi, "group.pi_approval", compose_mail, approvals),
             in_inbox])


def notify_month_digest(pi, month: str, lines) -> None:
    """The PI's digest of `month`: `lines` are (project, rules.MonthMoney, rules.Budget)."""
    from booking.groups.rules import BUDGET_WARNING_PERCENT

    def project_line(project, money, budget) -> str:
        line = _("%(project)s: charged %(charged)s (%(invoices)s), credited %(credited)s. "
                 "Spent %(spent)s of %(budget)s; %(held)s held for open bookings; %(left)s "
                 "left.", project=project.label, charged=format_cny(money.charged_fen),
                 invoices=ngettext("%(num)s invoice", "%(num)s invoices", money.charges),
                 credited=format_cny(money.credited_fen), spent=format_cny(budget.spent_fen),
                 budget=format_cny(budget.budget_fen), held=format_cny(budget.held_fen),
                 left=format_cny(budget.remaining_fen))
        if budget.used_percent >= BUDGET_WARNING_PERCENT:
            line = sentences(line, _("%(percent)s%% of the budget is used or held.",
                                     percent=budget.used_percent))
        return f"- {line}\n  {external_url('groups.project', project_id=project.id)}"

    notify(pi, "project.month_digest", link=site_path("groups.index"), compose=lambda: (
        _("Your projects' money in %(month)s", month=month),
        "\n".join([_("What your projects were charged and credited in %(month)s, and where "
                     "their budgets stand today:", month=month)] +
                  [project_line(*line) for line in lines])))
