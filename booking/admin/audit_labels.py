"""The audit trail in words: an action code ("voucher.approved") as "Voucher approved", an
object as "Voucher #12", an event's data as labelled values with amounts in yuan and times on
the reader's clock. A code without a label shows as recorded (an event written by an older
version). The exports keep the codes and the raw data: they are for auditors and tools."""
import json
import re
from datetime import datetime

from babel.dates import get_day_names
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from booking.bookings.labels import CLASS_LABELS as CUSTOMER_CLASS_LABELS
from booking.bookings.labels import MODE_LABELS
from booking.bookings.labels import STATE_LABELS as BOOKING_STATE_LABELS
from booking.core.clock import to_local
from booking.core.money import format_cny
from booking.core.problems import LIST_SEPARATOR, Msgid
from booking.core.web import current_locale
from booking.labels import KIND_LABELS, PAYMENT_METHOD_LABELS, role_label
from booking.orders.notifications import STATE_LABELS as ORDER_STATE_LABELS
from booking.subsidies.forms import CLASS_LABELS as ENTERPRISE_CLASS_LABELS
from booking.subsidies.forms import described_changes

ACTION_LABELS = {
    "api_token.created": _l("API token created"),
    "api_token.revoked": _l("API token revoked"),
    "billing.month_closed": _l("Month closed and invoiced"),
    "billing.settings_saved": _l("Billing settings saved"),
    "blackout.added": _l("Blackout added"),
    "blackout.removed": _l("Blackout removed"),
    "booking.requested": _l("Booking requested"),
    "booking.approved": _l("Booking approved"),
    "booking.booked_for": _l("Booked on someone's behalf"),
    "booking.cancelled": _l("Booking cancelled"),
    "booking.completed": _l("Booking completed"),
    "booking.expired": _l("Booking request expired"),
    "booking.in_use": _l("Booking in use"),
    "booking.no_show": _l("Booking marked no-show"),
    "booking.rated": _l("Booking rated"),
    "booking.rejected": _l("Booking rejected"),
    "booking.rescheduled": _l("Booking rescheduled"),
    "feed_token.reset": _l("Calendar feed link reset"),
    "group.approval_set": _l("Group approval rule set"),
    "group.created": _l("Research group created"),
    "group.invited": _l("Invited to a research group"),
    "group.join_requested": _l("Asked to join a research group"),
    "group.joined": _l("Joined a research group"),
    "group.left": _l("Left a research group"),
    "instrument.created": _l("Instrument created"),
    "instrument.photo_set": _l("Instrument photo set"),
    "instrument.reviewed": _l("Instrument entry reviewed"),
    "instrument.updated": _l("Instrument updated"),
    "instrument.withdrawn": _l("Instrument withdrawn"),
    "instrument_token.created": _l("Instrument token created"),
    "instrument_token.revoked": _l("Instrument token revoked"),
    "instruments.imported": _l("Instruments imported"),
    "invoice.credited": _l("Invoice credited"),
    "invoice.overpayment_refunded": _l("Overpayment refunded"),
    "invoice.issued": _l("Invoice issued"),
    "invoice.paid": _l("Invoice paid"),
    "invoice.part_paid": _l("Invoice partly paid"),
    "invoice.payment_failed": _l("Card payment failed"),
    "invoice.payment_intent": _l("Card payment started"),
    "invoice.payment_intent_cancelled": _l("Card payment for an old amount cancelled"),
    "invoice.reminded": _l("Payment reminder sent"),
    "invoice.voided": _l("Invoice voided"),
    "login.failed": _l("Sign-in failed"),
    "login.succeeded": _l("Signed in"),
    "member.confirmed": _l("Membership confirmed"),
    "notices.preferences": _l("Notification preferences saved"),
    "opening_exception.added": _l("Opening exception added"),
    "opening_exception.removed": _l("Opening exception removed"),
    "opening_hours.set": _l("Opening hours set"),
    "order.submitted": _l("Test order submitted"),
    "order.accepted": _l("Test order accepted"),
    "order.declined": _l("Test order declined"),
    "order.cancelled": _l("Test order cancelled"),
    "order.received": _l("Samples received"),
    "order.testing": _l("Testing started"),
    "order.report_ready": _l("Test report ready"),
    "order.closed": _l("Test order closed"),
    "order.reinvoiced": _l("Test order invoiced again"),
    "order.file_uploaded": _l("Order file uploaded"),
    "order.scheduled": _l("Order scheduled on an instrument"),
    "order.settings": _l("Order settings saved"),
    "organisation.activated": _l("Organisation activated"),
    "organisation.created": _l("Organisation created"),
    "organisation.deactivated": _l("Organisation deactivated"),
    "organisation.registered": _l("Organisation registered"),
    "organisation.updated": _l("Organisation updated"),
    "organisation.verified": _l("Organisation verified"),
    "organisation_link.declared": _l("Related-party link declared"),
    "organisation_link.removed": _l("Related-party link removed"),
    "password.changed": _l("Password changed"),
    "password.reset_requested": _l("Password reset requested"),
    "pi_approval.requested": _l("PI approval requested"),
    "pi_approval.approved": _l("PI approved a booking"),
    "pi_approval.rejected": _l("PI rejected a booking"),
    "pi_approval.expired": _l("PI approval expired"),
    "pi_approval.withdrawn": _l("PI approval withdrawn (the request ended before the PI decided)"),
    "project.created": _l("Project created"),
    "project.updated": _l("Project changed"), "project.closed": _l("Project closed"),
    "project.reopened": _l("Project opened again"),
    "project.limit_removed": _l("Project spending limit removed"),
    "project.limit_set": _l("Project spending limit set"),
    "qualification.granted": _l("Qualification granted"),
    "qualification.revoked": _l("Qualification revoked"),
    "ranking.computed": _l("Ranking computed"),
    "ranking.flag_cleared": _l("Ranking flag cleared"),
    "ranking.flag_raised": _l("Ranking flag raised"),
    "ranking.published": _l("Ranking published"),
    "ranking.reward_pool_set": _l("Reward pool set"),
    "ranking_policy.draft_saved": _l("Ranking policy draft saved"),
    "ranking_policy.published": _l("Ranking policy published"),
    "rate.added": _l("Rate added"),
    "rate.removed": _l("Upcoming rate withdrawn"),
    "reimbursement.paid": _l("Voucher payout paid"),
    "series.created": _l("Booking series created"),
    "series.approved": _l("Booking series approved"),
    "series.rejected": _l("Booking series rejected"),
    "series.cancelled": _l("Booking series cancelled"),
    "sso.linked": _l("Campus account linked"),
    "sso.provider_saved": _l("Sign-on provider saved"),
    "sso.refused_leaver": _l("Campus sign-on refused: account closed"),
    "sso.refused_other_org": _l("Campus sign-on refused: another organisation"),
    "sso.signed_out": _l("Signed out at the campus"),
    "sso.sync_kept": _l("Directory sync kept an account"),
    "sso.synced": _l("Directory synced"),
    "sso.user_created": _l("Account created by campus sign-on"),
    "sso.user_refreshed": _l("Account refreshed by campus sign-on"),
    "stripe.event_refused": _l("Payment event refused"),
    "subsidies.reimbursed": _l("Voucher payout statements built"),
    "subsidy_policy.created": _l("Voucher policy created"),
    "subsidy_policy.edited": _l("Voucher policy draft edited"),
    "subsidy_policy.published": _l("Voucher policy published"),
    "training.requested": _l("Training request sent"),
    "training.granted": _l("Training granted"),
    "training.declined": _l("Training declined"),
    "usage.checked_in": _l("Checked in"),
    "usage.checked_out": _l("Checked out"),
    "usage.corrected": _l("Usage corrected"),
    "usage.recorded": _l("Usage recorded"),
    "usage.walk_up": _l("Walk-up use started"),
    "user.created": _l("Account created"), "user.email_confirmed": _l("E-mail address confirmed"),
    "user.email_change_requested": _l("Change of e-mail address asked"),
    "user.email_changed": _l("E-mail address changed"),
    "user.deactivated": _l("Account deactivated"),
    "user.invited": _l("Account invited"),
    "user.invitation_resent": _l("Invitation sent again"),
    "user.reactivated": _l("Account re-activated"),
    "user.roles_changed": _l("Roles changed"),
    "voucher.applied": _l("Voucher applied for"),
    "voucher.approved": _l("Voucher approved"),
    "voucher.check_confirmed": _l("Voucher spot check confirmed"),
    "voucher.clawed_back": _l("Voucher payment clawed back"),
    "voucher.expired": _l("Voucher expired"),
    "voucher.redeemed": _l("Voucher redeemed"),
    "voucher.rejected": _l("Voucher rejected"),
    "voucher.released": _l("Voucher share released"),
    "voucher.reserved": _l("Voucher share reserved"),
    "vouchers.sampled": _l("Vouchers sampled for checks"),
    "waitlist.joined": _l("Joined a waiting list"),
    "waitlist.left": _l("Left a waiting list"),
    "waitlist.offered": _l("Waiting list offered a slot"),
    "waitlist.booked": _l("Booked from a waiting list"),
}

OBJECT_LABELS = {
    "ApiToken": _l("API token"), "Blackout": _l("Blackout"), "Booking": _l("Booking"),
    "BookingSeries": _l("Booking series"), "ExternalIdentity": _l("Campus account"),
    "FeedToken": _l("Calendar feed"), "GroupMember": _l("Group member"),
    "IdentityProvider": _l("Sign-on provider"), "Instrument": _l("Instrument"),
    "InstrumentToken": _l("Instrument token"), "Invoice": _l("Invoice"),
    "OpeningException": _l("Opening exception"), "OpeningHours": _l("Opening hours"),
    "Order": _l("Test order"), "OrderFile": _l("Order file"), "OrderSettings": _l("Order settings"),
    "Organisation": _l("Organisation"), "OrganisationLink": _l("Related-party link"),
    "PiApproval": _l("PI approval"), "Project": _l("Project"), "ProjectLimit": _l("Project limit"),
    "ProviderSettings": _l("Billing settings"), "Qualification": _l("Qualification"),
    "RankingFlag": _l("Ranking flag"), "RankingPolicy": _l("Ranking policy"),
    "RankingSnapshot": _l("Ranking"), "Rating": _l("Rating"),
    "Redemption": _l("Voucher claim"), "Reimbursement": _l("Payout statement"),
    "ResearchGroup": _l("Research group"), "RewardPool": _l("Reward pool"),
    "SubsidyPolicy": _l("Voucher policy"), "TrainingRequest": _l("Training request"),
    "UsageSession": _l("Usage session"), "User": _l("Account"), "Voucher": _l("Voucher"),
    "WaitlistEntry": _l("Waiting-list entry"),
}

FIELD_LABELS = {
    "amount_fen": _l("Amount"), "amount_due_fen": _l("Amount due"), "deducted_fen": _l("Deducted"),
    "budget_fen": _l("Budget"), "face_value_fen": _l("Face value"), "fee_fen": _l("Fee"),
    "hourly_fen": _l("Hourly rate"), "limit_fen": _l("Limit"), "before_fen": _l("Limit before"),
    "outstanding_fen": _l("Outstanding"), "remaining_fen": _l("Remaining"),
    "threshold_fen": _l("Threshold"), "total_fen": _l("Total"),
    "asset_number": _l("Asset number"), "booking": _l("Booking"), "booking_id": _l("Booking"),
    "bookings": _l("Bookings"), "category": _l("Category"), "categories": _l("Categories"),
    "changes": _l("Changes"), "changed": _l("Changed fields"), "to": _l("New address"),
    "checked": _l("Accounts checked"), "claim_id": _l("Voucher claim"),
    "code": _l("Error code"), "corrects": _l("Corrects"), "created": _l("Number created"),
    "credits": _l("Credits invoice"), "customer_class": _l("Customer class"),
    "day": _l("Date"), "deactivated": _l("Deactivated"), "email": _l("E-mail"),
    "declared_at": _l("Declared at"),
    "start": _l("Start"), "end": _l("End"), "before_start": _l("Start before"),
    "before_end": _l("End before"), "enterprise_class": _l("Enterprise class"),
    "enterprise_id": _l("Enterprise"), "event_id": _l("Payment event"),
    "external_id": _l("External reference"), "facts": _l("Usage records"),
    "reference": _l("Payment reference"), "requested_at": _l("Requested at"),
    "approved_at": _l("Approved at"), "approved_by": _l("Approved by"),
    "flagged": _l("Claims drawn"), "hours": _l("Opening hours"),
    "institution_id": _l("Institution"), "instrument_id": _l("Instrument"),
    "invoice": _l("Invoice"), "invoice_id": _l("Invoice"), "invoices": _l("Invoices"),
    "kind": _l("Kind"),
    "late": _l("Late cancellation"), "message": _l("Message"), "method": _l("Method"),
    "minutes": _l("Minutes"), "planned_minutes": _l("Planned minutes"), "mode": _l("Mode"),
    "month": _l("Month"), "months": _l("Months"), "name": _l("Name"), "note": _l("Note"),
    "order_id": _l("Test order"), "org_id": _l("Organisation"),
    "organisation_id": _l("Organisation"), "overrun": _l("Overrun"),
    "payment_intent": _l("Online payment"), "period": _l("Period covered"),
    "photo": _l("Photo"), "pi": _l("PI"), "policy_version": _l("Policy version"),
    "population": _l("Claims in the window"), "project": _l("Project"),
    "provider": _l("Provider"), "provider_id": _l("Sign-on provider"),
    "quarter": _l("Quarter"), "reason": _l("Reason"), "refused": _l("Refused"),
    "release_on": _l("Results released on"), "role": _l("Role"), "roles": _l("Roles"),
    "rows": _l("Rows"), "rule": _l("Repeat rule"), "samples": _l("Samples"),
    "series": _l("Booking series"), "since": _l("From"), "size": _l("Size (bytes)"),
    "skipped": _l("Skipped"), "source": _l("Source"), "stage": _l("Reminder stage"),
    "stars": _l("Stars"), "statements": _l("Statements"), "subject": _l("Campus ID"),
    "surcharge": _l("Urgent surcharge (%)"), "tokens_revoked": _l("API tokens revoked"),
    "unchanged": _l("Unchanged"),
    "units": _l("Institutions"), "until": _l("Until"), "updated": _l("Updated"),
    "user": _l("Account"), "user_id": _l("Account"), "valid_from": _l("Valid from"),
    "version": _l("Version"), "via": _l("Via"), "void": _l("Voided"),
    "voided": _l("Voided invoice"),
    "voucher_id": _l("Voucher"), "year": _l("Year"), "active": _l("Active"),
}


def _form_labels(*forms) -> dict:
    """Field name -> the label its form shows (a record names the fields it changed)."""
    return {name: field.args[0] for form in forms for name, field in vars(form).items()
            if hasattr(field, "field_class") and field.args}


def field_label(name: str) -> str:
    """A recorded field's name as its form shows it (an instrument's, an organisation's)."""
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    if not _FORM_LABELS:  # read off the forms once (imported late: they import this area)
        from booking.admin.forms import OrganisationForm
        from booking.instruments.forms import InstrumentForm

        _FORM_LABELS.update(_form_labels(InstrumentForm, OrganisationForm))
    return str(_FORM_LABELS.get(name, name))


_FORM_LABELS: dict = {}
#: recorded codes read by name, by the key they are recorded under (a free-text reason keeps
#: its words; the reasons the system records are codes)
VALUE_LABELS = {
    "method": PAYMENT_METHOD_LABELS, "enterprise_class": ENTERPRISE_CLASS_LABELS,
    "customer_class": CUSTOMER_CLASS_LABELS, "booking_state": BOOKING_STATE_LABELS,
    "mode": MODE_LABELS,
    "order_state": ORDER_STATE_LABELS,
    "reason": {"invoice refunded": _l("invoice refunded"),
               "invoice voided": _l("invoice voided"),
               "invoice voided or refunded": _l("invoice voided or refunded"),
               "inactive": _l("account deactivated"),
               "organisation deactivated": _l("organisation deactivated")},
    "source": {"default": _l("the default policy file")},
    "kind": KIND_LABELS,
    "stage": {"due": _l("due date"), "d14": _l("14 days overdue"),
              "d30": _l("30 days overdue"), "manual": _l("by hand")},
    "via": {"sso": _l("campus sign-on"), "sso_link": _l("linking a campus account"),
            "deactivation": _l("account or organisation deactivated"),
            "reset": _l("password reset by e-mail"), "profile": _l("the profile page"),
            "import": _l("a list import"), "web": _l("the web page"),
            "cli": _l("the command line")},
}
#: what a before/after that is not a mapping holds, by action (a booking's or an order's
#: "before" is the state it left)
SCALAR_KEYS = {"user.roles_changed": "roles", "ranking.reward_pool_set": "pool_fen"}
SCALAR_PREFIXES = {"booking.": "booking_state", "order.": "order_state"}

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def object_label(object_type: str | None) -> str:
    return str(OBJECT_LABELS.get(object_type or "", object_type or ""))


def object_choices(chosen: str | None = None) -> list[tuple[str, str]]:
    """(object type, label) by label, for the filter; a type asked for without a label (an
    older version's) is kept as one."""
    choices = sorted(((code, str(label)) for code, label in OBJECT_LABELS.items()),
                     key=lambda choice: choice[1])
    return choices if not chosen or chosen in OBJECT_LABELS else [*choices, (chosen, chosen)]


def scalar_key(action: str) -> str:
    if action in SCALAR_KEYS:
        return SCALAR_KEYS[action]
    return next((key for prefix, key in SCALAR_PREFIXES.items() if action.startswith(prefix)),
                "")


def local_moments(value, tz_name: str):
    """`value` (an event's data) with its UTC times (ISO 8601 with an offset, as recorded) on
    the reader's wall clock, like the page's own time column. Text that only looks like a
    time (a reason typed as "2026-02-30T10:00Z") stays as it is."""
    if isinstance(value, dict):
        return {key: local_moments(item, tz_name) for key, item in value.items()}
    if isinstance(value, list):
        return [local_moments(item, tz_name) for item in value]
    if isinstance(value, str) and _MOMENT.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return to_local(moment, tz_name).strftime("%Y-%m-%d %H:%M")
    return value


def as_json(value) -> str:
    return "" if value in (None, {}, []) else json.dumps(value, ensure_ascii=False, default=str)


#: keys whose value is the id of something a reader knows by name (audit_view.name_of)
NAMED_IDS = {"organisation_id": "organisation", "org": "organisation",
             "enterprise_id": "organisation", "institution_id": "organisation",
             "project_id": "project", "instrument_id": "instrument", "user_id": "user",
             "approved_by": "user"}


def value_text(key: str, value, tz_name: str, name_of=None) -> str:
    """One recorded value as a reader wants it: fen as yuan, codes and roles by name, times
    local, a week's opening hours by day; `name_of(kind, id)`: names for NAMED_IDS."""
    if value is None or value == "":
        return "—"
    if name_of is not None and key in NAMED_IDS and isinstance(value, int):
        name = name_of(NAMED_IDS[key], value)
        return f"{name} (#{value})" if name else str(value)
    if key == "hours" and isinstance(value, dict):
        return _week_text(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key.endswith("_fen") and isinstance(value, int):
        return format_cny(value)
    if isinstance(value, str) and value in VALUE_LABELS.get(key, {}):
        label = VALUE_LABELS[key][value]
        return _(label) if isinstance(label, Msgid) else str(label)  # the orders' are msgids
    if key in ("role", "roles"):
        return _(LIST_SEPARATOR).join(
            role_label(r) for r in ([value] if isinstance(value, str) else value))
    if key == "changed" and isinstance(value, list):
        return _(LIST_SEPARATOR).join(field_label(str(name)) for name in value)
    value = local_moments(value, tz_name)
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return _(LIST_SEPARATOR).join(map(str, value))
    return as_json(value) if isinstance(value, dict | list) else str(value)


def policy_changes_text(changes) -> str:
    """A subsidy policy edit's (path, old, new) rows as the policy page names them."""
    separator, colon = ("；", "：") if current_locale() == "zh_CN" else ("; ", ": ")
    return separator.join(f"{label}{colon}{old} → {new}"
                          for label, old, new in described_changes(changes))


def _week_text(hours: dict) -> str:
    """{"0": ["08:30-17:30"], ...} (Monday 0) as "Mon 08:30–17:30; Tue ..." in the reader's
    language."""
    names = get_day_names("abbreviated", locale=current_locale())
    separator = "；" if current_locale() == "zh_CN" else "; "
    return separator.join(
        f"{names[int(day)]} {_(LIST_SEPARATOR).join(r.replace('-', '–') for r in spans)}"
        for day, spans in sorted(hours.items(), key=lambda item: int(item[0]))
        if str(day).isdigit() and 0 <= int(day) <= 6 and isinstance(spans, list))


def described(data, tz_name: str, action: str = "", name_of=None) -> list[tuple[str, str]]:
    """(label, text) for each recorded value; a value that is not a mapping (the state an
    object left, say) is one pair with no label, read as scalar_key(action) says.
    `name_of`: see value_text."""
    if not isinstance(data, dict):
        return [("", value_text(scalar_key(action), data, tz_name))]
    return [(field_label(key), policy_changes_text(value)
             if action == "subsidy_policy.edited" and key == "changes" and isinstance(value, list)
             else value_text(key, value, tz_name, name_of)) for key, value in data.items()]
